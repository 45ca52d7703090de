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


# The receiving side lives in wire_decode.py (it imports the names above).
try:
    from grader.sandbox.wire_decode import (FrameReader, decode, decode_parts, parse_header,  # noqa: E402,F401
                                            read_exact, read_frame)
except ImportError:                 # in the worker's private copy, beside this file
    from wire_decode import FrameReader, decode, decode_parts, parse_header, read_exact, read_frame  # noqa: E402,F401
