"""The receiving side of the wire format (see wire.py): checked header, arrays rebuilt from
raw bytes, records only through an explicit registry, every cap checked before anything
is allocated. Imported by wire.py, which re-exports these names; copied beside it into
each worker's private directory.
"""
from __future__ import annotations

import json
import math
import os

import numpy as np

try:
    from grader.sandbox.wire import (DTYPES, KEY_TYPES, LIMITS, TAGS, VERSION, Callback, Callbacks,
                                     Limits, WireError, _PREFIX)
except ImportError:                 # in the worker's private copy, beside wire.py
    from wire import DTYPES, KEY_TYPES, LIMITS, TAGS, VERSION, Callback, Callbacks, Limits, WireError, _PREFIX


def _reject_constant(name):
    raise ValueError(f"{name} is not allowed (send non-finite floats as __float__)")


def parse_header(data, limits: Limits = LIMITS):
    """(header, body_length) from the JSON header bytes, after checking every cap."""
    try:
        header = json.loads(bytes(data).decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, RecursionError) as e:
        raise WireError(f"the header is not valid JSON: {str(e)[:200]}") from None
    if type(header) is not dict or set(header) != {"v", "b", "m"}:
        raise WireError("the header must be an object with exactly the keys v, b, m")
    if header["v"] != VERSION:
        raise WireError(f"unknown wire version {header['v']!r}")
    specs = header["b"]
    if type(specs) is not list:
        raise WireError("the header's buffer list 'b' is not a list")
    total = 0
    for i, spec in enumerate(specs):
        if type(spec) is not list or len(spec) != 2 or type(spec[1]) is not list:
            raise WireError(f"buffer {i}: expected [dtype, shape]")
        name, shape = spec
        if type(name) is not str or name not in DTYPES:
            raise WireError(f"buffer {i}: dtype {str(name)[:40]!r} is not allowed; "
                            f"allowed: {', '.join(DTYPES)}")
        if len(shape) > 32 or not all(type(d) is int and d >= 0 for d in shape):
            raise WireError(f"buffer {i}: shape must be at most 32 non-negative ints")
        n = math.prod(shape)
        if n > limits.max_array_elements:
            raise WireError(f"buffer {i}: an array of {n} elements exceeds the limit of "
                            f"{limits.max_array_elements}")
        # an empty array may not claim a huge shape either (0 x 10**12): whatever reads
        # its shape (np.zeros(a.shape[1:]), broadcasting) would pay for the other axes
        if math.prod(max(d, 1) for d in shape) > limits.max_array_elements:
            raise WireError(f"buffer {i}: a shape of {math.prod(max(d, 1) for d in shape):.3g} elements (its "
                            f"axes other than 0 counted as 1) exceeds the limit of {limits.max_array_elements}")
        total += n * DTYPES[name].itemsize
        if total > limits.max_message_bytes:
            raise WireError(f"the message's arrays exceed {limits.max_message_bytes} bytes")
    return header, total


class _Decoder:
    def __init__(self, header, body, limits, records, unknown_record, callbacks, callback=None):
        self.limits, self.records, self.callbacks = limits, records, callbacks
        self.callback = callback
        self.unknown_record = unknown_record
        self.arrays, self.used, offset = [], set(), 0
        body = memoryview(body).cast("B")
        for name, shape in header["b"]:
            dt, n = DTYPES[name], math.prod(shape)
            raw = np.frombuffer(body, dtype=np.uint8, count=n * dt.itemsize, offset=offset)
            offset += n * dt.itemsize
            if name == "bool":        # any nonzero byte is True; never a "bool" of value 2
                a = raw.reshape(shape) != 0
            else:                     # a copy that owns its memory: nothing of the message
                a = raw.view(dt).reshape(shape).astype(dt.newbyteorder("="), copy=True)
            self.arrays.append(a)
        self.nodes = 0

    def array(self, i):
        if type(i) is not int or not 0 <= i < len(self.arrays) or i in self.used:
            raise WireError(f"bad or repeated array reference {str(i)[:40]}")
        self.used.add(i)
        return self.arrays[i]

    def build(self, node, depth):
        lim = self.limits
        self.nodes += 1
        if self.nodes > lim.max_nodes:
            raise WireError(f"the message has more than {lim.max_nodes} values")
        t = type(node)
        if node is None or t is bool or t is float:
            return node
        if t is int:
            if not -(1 << 64) < node < (1 << 64):
                raise WireError("an int is out of range (|i| < 2**64)")
            return node
        if t is str:
            if len(node) > lim.max_string:
                raise WireError(f"a str of {len(node)} characters exceeds {lim.max_string}")
            return node
        if depth >= lim.max_depth:
            raise WireError(f"the value is nested more than {lim.max_depth} levels deep")
        if t is list:
            return [self.build(v, depth + 1) for v in node]
        if t is not dict:
            raise WireError(f"unexpected JSON value of type {t.__name__}")
        tags = TAGS.intersection(node)
        if not tags:
            return {k: self.build(v, depth + 1) for k, v in node.items()}
        keys = set(node)
        if keys == {"__nd__"}:
            return self.array(node["__nd__"])
        if keys == {"__scalar__"}:
            a = self.array(node["__scalar__"])
            if a.shape != ():
                raise WireError("a scalar's buffer must have shape []")
            return a[()]
        if keys == {"__float__"}:
            if node["__float__"] not in ("nan", "inf", "-inf"):
                raise WireError(f"bad __float__ {str(node['__float__'])[:20]!r}")
            return float(node["__float__"])
        if keys == {"__tuple__"} and type(node["__tuple__"]) is list:
            return tuple(self.build(v, depth + 1) for v in node["__tuple__"])
        if keys == {"__dict__"} and type(node["__dict__"]) is dict:
            return {k: self.build(v, depth + 1) for k, v in node["__dict__"].items()}
        if keys == {"__record__", "fields"} and type(node["fields"]) is dict:
            return self.record(node["__record__"], node["fields"], depth)
        if keys == {"__callbacks__"} and type(node["__callbacks__"]) is list:
            if self.callbacks is None:
                raise WireError("a callback namespace is not allowed in this message")
            return self.callbacks(Callbacks(node["__callbacks__"]).names)
        if keys == {"__callback__", "bind"} and type(node["bind"]) is list:
            if self.callback is None:
                raise WireError("a callback is not allowed in this message")
            return self.callback(Callback(node["__callback__"], node["bind"]))
        if keys == {"__pairs__"} and type(node["__pairs__"]) is list:
            out = {}
            for pair in node["__pairs__"]:
                if type(pair) is not list or len(pair) != 2:
                    raise WireError("a __pairs__ entry must be a [key, value] pair")
                k = self.build(pair[0], depth + 1)
                if type(k) not in KEY_TYPES:
                    raise WireError(f"a dict key must be None, bool, int, float or str, not "
                                    f"{type(k).__name__}")
                if k in out:
                    raise WireError(f"the dict key {str(k)[:40]} is repeated")
                out[k] = self.build(pair[1], depth + 1)
            return out
        raise WireError(f"malformed tagged value with keys {sorted(keys)[:6]}")

    def record(self, name, fields, depth):
        if type(name) is not str or not name.isidentifier() or len(name) > 100:
            raise WireError(f"bad record name {str(name)[:40]!r}")
        values = {k: self.build(v, depth + 1) for k, v in fields.items()}
        cls = self.records(name, tuple(values)) if self.records is not None else None
        if cls is None:
            if self.unknown_record == "dict":
                return values
            raise WireError(f"the record type {name!r} is not one the receiver accepts")
        if set(cls._fields) != set(values):
            raise WireError(f"record {name}: fields {sorted(values)} do not match "
                            f"{list(cls._fields)}")
        return cls(**values)


def decode_parts(header, body, limits: Limits = LIMITS, *, records=None,
                 unknown_record: str = "error", callbacks=None, callback=None):
    """The value of a frame whose header was parsed by parse_header.

    records: a callable (name, field_names) -> NamedTuple class or None (e.g. a Records).
    unknown_record: "error" (WireError) or "dict" (the fields as a plain dict) for a
    record whose name `records` does not know.
    callbacks: a callable names -> object for {"__callbacks__": ...}; None refuses them.
    callback: a callable Callback -> object for {"__callback__": ...}; None refuses them.
    """
    dec = _Decoder(header, body, limits, records, unknown_record, callbacks, callback)
    value = dec.build(header["m"], 0)
    if len(dec.used) != len(dec.arrays):
        raise WireError("the message has buffers that no value refers to")
    return value


def decode(frame, limits: Limits = LIMITS, **options):
    """The value of one complete frame (bytes). See decode_parts for the options."""
    frame = memoryview(frame).cast("B")
    if len(frame) < 4:
        raise WireError("the frame is shorter than its 4-byte length prefix")
    (hlen,) = _PREFIX.unpack(frame[:4])
    if hlen > limits.max_header_bytes:
        raise WireError(f"the header claims {hlen} bytes; the limit is {limits.max_header_bytes}")
    if len(frame) < 4 + hlen:
        raise WireError(f"the frame is truncated: header of {hlen} bytes, "
                        f"{len(frame) - 4} present")
    header, blen = parse_header(frame[4:4 + hlen], limits)
    body = frame[4 + hlen:]
    if len(body) != blen:
        raise WireError(f"the body has {len(body)} bytes; the header describes {blen}")
    return decode_parts(header, body, limits, **options)


class FrameReader:
    """Splits a byte stream into frames, checking the caps as soon as each is known.

        reader.feed(data)
        while (part := reader.next()) is not None:
            header, body = part
    """

    def __init__(self, limits: Limits = LIMITS):
        self.limits = limits
        self.buf = bytearray()
        self.header = None      # parsed header of the frame in progress
        self.need = None        # its total size
        self.max_pending = 4 + limits.max_header_bytes + limits.max_message_bytes + (2 << 20)

    def feed(self, data) -> None:
        # A reader that is asked for each frame as soon as it can be complete never holds
        # more than one frame and one read; more is a worker sending what nobody asked for
        # (while its request is still being written, say), and the parent's memory is not
        # its to take.
        if len(self.buf) + len(data) > self.max_pending:
            raise WireError(f"the worker sent more than {self.max_pending} bytes that were not "
                            f"read as messages (at most one message of {self.limits.max_message_bytes} "
                            f"bytes is ever pending)")
        self.buf += data

    def pending(self) -> int:
        return len(self.buf)

    def next(self):
        if self.header is None:
            if len(self.buf) < 4:
                return None
            (hlen,) = _PREFIX.unpack_from(self.buf)
            if hlen > self.limits.max_header_bytes:
                raise WireError(f"the header claims {hlen} bytes; the limit is "
                                f"{self.limits.max_header_bytes}")
            if len(self.buf) < 4 + hlen:
                return None
            self.header, blen = parse_header(memoryview(self.buf)[4:4 + hlen], self.limits)
            self.need, self.hlen = 4 + hlen + blen, hlen
        if len(self.buf) < self.need:
            return None
        # The frame's bytes are handed over, not copied: the buffer becomes the body's
        # owner and a new one keeps what follows (less than one read). The caller's decoded
        # arrays are then the only second copy, and the buffer goes when the body does.
        frame, self.buf = self.buf, bytearray(memoryview(self.buf)[self.need:])
        body = memoryview(frame)[4 + self.hlen:self.need]
        header, self.header = self.header, None
        return header, body


def read_exact(fd: int, n: int) -> bytes:
    """n bytes from a blocking fd; EOFError if it closes first."""
    chunks, left = [], n
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError(f"end of stream with {left} of {n} bytes missing")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int, limits: Limits = LIMITS, **options):
    """Read one frame from a blocking fd and decode it (see decode_parts)."""
    (hlen,) = _PREFIX.unpack(read_exact(fd, 4))
    if hlen > limits.max_header_bytes:
        raise WireError(f"the header claims {hlen} bytes; the limit is {limits.max_header_bytes}")
    header, blen = parse_header(read_exact(fd, hlen), limits)
    return decode_parts(header, read_exact(fd, blen), limits, **options)


