"""The sandbox wire format: a JSON header plus raw array buffers. Never pickle.

This file is copied into each worker's private directory and imported there, so it
uses the standard library and NumPy only and imports nothing from `grader`.

A message (frame) is

    [4-byte big-endian header length L][L bytes of UTF-8 JSON header][buffers]

and the header is {"v": 1, "b": [[dtype, shape], ...], "m": value}. The buffers are
the arrays' bytes, C order, little-endian, concatenated in the order of "b"; their total
length follows from the header, so a receiver knows the frame size before it reads the
body. The value "m" is JSON, with these tagged objects for what JSON lacks:

    {"__nd__": i}                    array i of "b"
    {"__scalar__": i}                a NumPy scalar: array i, whose shape is []
    {"__float__": "nan"}             also "inf" and "-inf" (JSON has no such numbers)
    {"__tuple__": [...]}             a tuple (a plain JSON list is a list)
    {"__record__": name, "fields": {...}}   a NamedTuple, e.g. a forward-pass cache
    {"__callbacks__": [names]}       a callback namespace (see Callbacks)
    {"__callback__": name, "bind": [i, ...]}   one callback function (see Callback)
    {"__dict__": {...}}              a dict that has a key spelled like one of these tags
    {"__pairs__": [[key, value], ...]}   a dict with keys other than str: None, bool,
                                     int or float keys (a dict keyed by learning rates)

Allowed values: None, bool, int (|i| < 2**64), float, str, list, tuple, dict (keys: str,
or None, bool, int, float), NamedTuples, Callbacks, Callback, and ndarrays / NumPy
scalars of the dtypes in DTYPES.
An ndarray subclass travels as its plain data; nothing else of it survives.

Receivers rebuild every array with np.frombuffer(...).copy() from the raw bytes and
every record through an explicit lookup of its class (`records`), so no object of the
sender is ever trusted or constructed by name. Anything malformed, oversized or of a
disallowed type raises WireError saying what was wrong.
"""
from __future__ import annotations

import json
import math
import os
import struct
from dataclasses import dataclass

import numpy as np

VERSION = 1
# Whitelisted dtypes by wire name. Data always travels little-endian.
DTYPES = {name: np.dtype(name).newbyteorder("<") for name in (
    "bool", "int8", "int16", "int32", "int64",
    "uint8", "uint16", "uint32", "uint64", "float32", "float64")}
_WIRE_NAME = {(dt.kind, dt.itemsize): name for name, dt in DTYPES.items()}
TAGS = frozenset(["__nd__", "__scalar__", "__float__", "__tuple__", "__record__", "fields",
                  "__callbacks__", "__callback__", "bind", "__dict__", "__pairs__"])
KEY_TYPES = (type(None), bool, int, float, str)      # exact types of dict keys that may travel
_PREFIX = struct.Struct(">I")


class WireError(ValueError):
    """A value that cannot be sent, or bytes that are not a valid message."""


@dataclass(frozen=True)
class Limits:
    """Caps on one message. Both sides check them; the receiver before allocating."""
    max_message_bytes: int = 64 << 20     # header + buffers
    max_header_bytes: int = 8 << 20
    max_array_elements: int = 1 << 24     # per array (16 Mi; 128 MiB of float64 > message cap)
    max_depth: int = 32                   # nesting of lists, tuples, dicts and records
    max_string: int = 1 << 20             # characters per str
    max_nodes: int = 1 << 20              # values in one message, all levels together


LIMITS = Limits()


class Callbacks:
    """Placeholder for a namespace of callback functions, e.g. Callbacks(["linear_backward"]).

    In the worker it becomes an object whose attributes are those functions; calling one
    asks the parent to run it (see grader.sandbox.proxy). Instances accept attributes,
    so that namespace can be a Callbacks too and travel back as one.
    """

    def __init__(self, names):
        names = tuple(names)
        for n in names:
            if type(n) is not str or not n.isidentifier() or n.startswith("_") or len(n) > 100:
                raise WireError(f"callback name {n!r} is not a public identifier")
        self.names = names

    def __repr__(self):
        return f"Callbacks({list(self.names)!r})"


def _callback_name(n):
    if type(n) is not str or not n.isidentifier() or n.startswith("_") or len(n) > 100:
        raise WireError(f"callback name {n!r} is not a public identifier")
    return n


class Callback:
    """Placeholder for ONE callback function, e.g. Callback("f", bind=(1,)).

    Passed among a call's top-level arguments, it becomes in the worker a function that
    asks the parent to run its callback `name` with, first, the CURRENT values of the
    call's positional arguments at the indices in `bind` (the worker's own copies, as
    the student's code has left them at that moment), then its own arguments. So
    numerical_gradient(f, x) can be handed an f() that the parent evaluates on the x
    being nudged in the worker, counting every call. Elsewhere it stays inert.
    """

    def __init__(self, name, bind=()):
        self.name = _callback_name(name)
        self.bind = tuple(bind)
        if len(self.bind) > 32 or not all(type(i) is int and 0 <= i < 256 for i in self.bind):
            raise WireError(f"Callback {name!r}: bind must be at most 32 argument indices")

    def resolve(self, args, run):
        """The function this placeholder stands for: run(*bound args, *its own args)."""
        bound = [args[i] for i in self.bind]

        def callback(*a, **k):
            return run(*bound, *a, **k)
        callback.__name__ = callback.__qualname__ = self.name
        return callback

    def __repr__(self):
        return f"Callback({self.name!r}, bind={list(self.bind)!r})"


def _describe(x) -> str:
    t = type(x)
    if isinstance(x, np.ndarray):
        return f"an ndarray of dtype {x.dtype}"
    return f"a value of type {t.__module__}.{t.__qualname__}" if t.__module__ != "builtins" \
        else f"a value of type {t.__qualname__}"


# ------------------------------------------------------------------------------ encode
class _Encoder:
    def __init__(self, limits: Limits):
        self.limits = limits
        self.specs = []       # [[wire dtype name, shape], ...]
        self.buffers = []     # uint8 views of contiguous little-endian data
        self.nbytes = 0
        self.nodes = 0

    def array(self, a) -> int:
        a = np.ndarray.view(a, np.ndarray)     # unbound: a subclass cannot intercept it
        dt = a.dtype
        name = _WIRE_NAME.get((dt.kind, dt.itemsize)) if dt.fields is None else None
        if name is None or dt.subdtype is not None:
            raise WireError(f"arrays of dtype {dt} cannot be sent; allowed: {', '.join(DTYPES)}")
        if a.size > self.limits.max_array_elements:
            raise WireError(f"an array of {a.size} elements exceeds the limit of "
                            f"{self.limits.max_array_elements}")
        data = np.asarray(a, dtype=DTYPES[name], order="C")          # copies only if needed
        self.nbytes += data.nbytes
        if self.nbytes > self.limits.max_message_bytes:
            raise WireError(f"the arrays of this message exceed {self.limits.max_message_bytes} bytes")
        self.specs.append([name, list(data.shape)])
        self.buffers.append(data.reshape(-1).view(np.uint8))
        return len(self.specs) - 1

    def walk(self, x, depth: int):
        lim = self.limits
        self.nodes += 1
        if self.nodes > lim.max_nodes:
            raise WireError(f"the message has more than {lim.max_nodes} values")
        if x is None or x is True or x is False:
            return x
        if isinstance(x, np.ndarray):
            return {"__nd__": self.array(x)}
        if isinstance(x, np.generic):
            return {"__scalar__": self.array(np.asarray(x))}
        if isinstance(x, int):                   # bool was handled above
            v = int.__int__(x)                   # unbound: a subclass cannot intercept it
            if not -(1 << 64) < v < (1 << 64):
                raise WireError(f"the int {v:.3e} is out of range (|i| < 2**64)")
            return v
        if isinstance(x, float):
            v = float.__float__(x)
            return v if math.isfinite(v) else {"__float__": repr(v)}   # 'nan', 'inf', '-inf'
        if isinstance(x, str):
            v = str.__str__(x)
            if len(v) > lim.max_string:
                raise WireError(f"a str of {len(v)} characters exceeds the limit of {lim.max_string}")
            return v
        if isinstance(x, Callbacks):
            return {"__callbacks__": list(x.names)}
        if isinstance(x, Callback):
            return {"__callback__": x.name, "bind": list(x.bind)}
        if depth >= lim.max_depth:
            raise WireError(f"the value is nested more than {lim.max_depth} levels deep")
        if isinstance(x, tuple):
            fields = getattr(type(x), "_fields", None)
            items = [self.walk(v, depth + 1) for v in tuple.__iter__(x)]
            if fields is None:
                return {"__tuple__": items}
            name = type(x).__name__
            if (type(fields) is not tuple or len(fields) != len(items) or type(name) is not str
                    or not all(type(f) is str and f.isidentifier() for f in fields)
                    or not name.isidentifier() or len(name) > 100):
                raise WireError(f"the NamedTuple {name!r} has malformed fields")
            return {"__record__": name, "fields": dict(zip(fields, items))}
        if isinstance(x, list):
            return [self.walk(v, depth + 1) for v in list.__iter__(x)]
        if isinstance(x, dict):
            items = list(dict.items(x))
            if any(type(k) is not str for k, _ in items):
                bad = next((k for k, _ in items if type(k) not in KEY_TYPES), None)
                if bad is not None:
                    raise WireError(f"dict keys must be str, None, bool, int or float, "
                                    f"not {type(bad).__name__}")
                return {"__pairs__": [[self.walk(k, depth + 1), self.walk(v, depth + 1)]
                                      for k, v in items]}
            out = {}
            for k, v in items:
                if len(k) > lim.max_string:
                    raise WireError("a dict key is too long")
                out[k] = self.walk(v, depth + 1)
            return {"__dict__": out} if TAGS.intersection(out) else out
        raise WireError(f"{_describe(x)} cannot be sent; allowed: None, bool, int, float, "
                        "str, list, tuple, dict, NamedTuple and numeric ndarrays")


def encode(value, limits: Limits = LIMITS) -> list:
    """The frame for `value` as a list of bytes-like chunks (header first)."""
    enc = _Encoder(limits)
    tree = enc.walk(value, 0)
    header = json.dumps({"v": VERSION, "b": enc.specs, "m": tree}, separators=(",", ":"),
                        allow_nan=False).encode("ascii")
    if len(header) > limits.max_header_bytes:
        raise WireError(f"the message header ({len(header)} bytes) exceeds "
                        f"{limits.max_header_bytes} bytes")
    if 4 + len(header) + enc.nbytes > limits.max_message_bytes:
        raise WireError(f"the message exceeds {limits.max_message_bytes} bytes")
    return [_PREFIX.pack(len(header)) + header, *enc.buffers]


def encode_bytes(value, limits: Limits = LIMITS) -> bytes:
    """The whole frame for `value` as one bytes object."""
    return b"".join(bytes(c) if not isinstance(c, bytes) else c for c in encode(value, limits))


def write_frame(fd: int, value, limits: Limits = LIMITS) -> None:
    """Encode `value` and write it to a blocking file descriptor."""
    chunks = encode(value, limits)
    if sum(c.nbytes if isinstance(c, np.ndarray) else len(c) for c in chunks) < (256 << 10):
        chunks = [b"".join(bytes(c) for c in chunks)]      # one syscall for small frames
    for c in chunks:
        mv = memoryview(c).cast("B")
        while mv:
            mv = mv[os.write(fd, mv):]


# ------------------------------------------------------------------------------ decode
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

    def feed(self, data) -> None:
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
        body = bytes(memoryview(self.buf)[4 + self.hlen:self.need])
        del self.buf[:self.need]
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


class Records:
    """An explicit registry of the NamedTuple classes a receiver may rebuild, by name.

    Records(tt.layers.LayerNormCache, tt.blocks) takes classes and modules; a module
    contributes every NamedTuple class defined in it. Two different classes with one
    name are an error. Call it with a name to get the class or None.
    """

    def __init__(self, *items):
        self.classes = {}
        for item in items:
            if isinstance(item, type):
                self.add(item)
            elif hasattr(item, "__dict__") and hasattr(item, "__name__"):   # a module
                for obj in vars(item).values():
                    if isinstance(obj, type) and issubclass(obj, tuple) \
                            and hasattr(obj, "_fields") and obj.__module__ == item.__name__:
                        self.add(obj)
            else:
                raise TypeError(f"Records takes NamedTuple classes and modules, not {item!r}")

    def add(self, cls) -> None:
        if not (issubclass(cls, tuple) and isinstance(getattr(cls, "_fields", None), tuple)):
            raise TypeError(f"{cls!r} is not a NamedTuple class")
        old = self.classes.setdefault(cls.__name__, cls)
        if old is not cls:
            raise ValueError(f"two record classes are named {cls.__name__}: {old!r}, {cls!r}")

    def __call__(self, name, fields=()):
        return self.classes.get(name)

    def __repr__(self):
        return f"Records({', '.join(sorted(self.classes))})"
