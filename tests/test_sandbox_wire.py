"""The sandbox wire format: round trips, caps, and garbage that must raise WireError."""
import json
import random
import struct
from collections import namedtuple
from typing import NamedTuple

import numpy as np
import pytest

from grader.sandbox import wire
from grader.sandbox.wire import Callbacks, Limits, Records, WireError


class LNCache(NamedTuple):
    x: np.ndarray
    gamma: np.ndarray
    eps: float


class Outer(NamedTuple):
    ln: LNCache
    H: int
    has_bias: bool


RECORDS = Records(LNCache, Outer)


def roundtrip(value, **options):
    return wire.decode(wire.encode_bytes(value), records=RECORDS, **options)


def frame(header: dict, body: bytes = b"") -> bytes:
    h = json.dumps(header).encode()
    return struct.pack(">I", len(h)) + h + body


# ------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("dtype", list(wire.DTYPES))
def test_every_whitelisted_dtype_round_trips(dtype):
    a = (np.arange(24) % 7).astype(dtype).reshape(2, 3, 4)
    b = roundtrip(a)
    assert type(b) is np.ndarray and b.dtype == a.dtype and b.shape == a.shape
    assert np.array_equal(a, b) and b.flags.c_contiguous and b.flags.writeable


def test_python_values_round_trip_exactly():
    value = {"none": None, "t": True, "f": False, "i": -(2 ** 63), "u": 2 ** 64 - 1,
             "x": 0.1, "tiny": 5e-324, "nan": float("nan"), "inf": float("inf"),
             "ninf": float("-inf"), "s": "ünïcode \x00 \ud800", "list": [1, [2, [3]]],
             "tuple": (1, (2.5, "a")), "empty": ((), [], {})}
    out = roundtrip(value)
    assert out.keys() == value.keys()
    assert np.isnan(out["nan"]) and out["inf"] == float("inf") and out["ninf"] == float("-inf")
    for k in value:
        if k != "nan":
            assert out[k] == value[k] and type(out[k]) is type(value[k]), k
    assert type(out["tuple"][1]) is tuple and type(out["list"][1]) is list


def test_arrays_come_back_as_plain_owned_copies():
    base = np.arange(12.0).reshape(3, 4)
    for a in (base.T, base[:, ::2], base[::-1], np.asfortranarray(base), base.astype(">f8")):
        b = roundtrip(a)
        assert np.array_equal(a, b) and b.flags.c_contiguous and b.flags.owndata
        assert b.dtype == np.float64 and b.dtype.isnative
    ro = np.arange(3.0)
    ro.flags.writeable = False
    assert roundtrip(ro).flags.writeable


def test_zero_size_0d_arrays_and_numpy_scalars():
    assert roundtrip(np.zeros((0, 5))).shape == (0, 5)
    z = roundtrip(np.array(3.5, dtype=np.float32))
    assert type(z) is np.ndarray and z.shape == () and z.dtype == np.float32
    s = roundtrip(np.float32(2.5))
    assert type(s) is np.float32 and s == 2.5
    assert type(roundtrip(np.int64(7))) is np.int64 and type(roundtrip(np.bool_(True))) is np.bool_


def test_bool_arrays_are_normalised():
    f = bytearray(wire.encode_bytes(np.array([True, False, True])))
    f[-3] = 7                                   # a "bool" byte that is neither 0 nor 1
    out = wire.decode(bytes(f))
    assert out.dtype == bool and out.view(np.uint8).tolist() == [1, 0, 1]


def test_records_are_rebuilt_only_from_the_registry():
    c = Outer(LNCache(np.ones((2, 3)), np.full(3, 2.0), 1e-5), 4, True)
    out = roundtrip(c)
    assert type(out) is Outer and type(out.ln) is LNCache and out.H == 4 and out.has_bias is True
    assert np.array_equal(out.ln.gamma, c.ln.gamma)
    Stranger = namedtuple("Stranger", "a b")
    with pytest.raises(WireError, match="Stranger"):
        roundtrip(Stranger(1, 2))
    assert roundtrip(Stranger(1, 2), unknown_record="dict") == {"a": 1, "b": 2}
    Fake = namedtuple("LNCache", "x gamma")           # the right name, the wrong fields
    with pytest.raises(WireError, match="do not match"):
        roundtrip(Fake(1, 2))


def test_records_registry_accepts_modules_and_refuses_clashes():
    import types
    mod = types.ModuleType("fake_mod")
    mod.LNCache = type("LNCache", (tuple,), {"_fields": ("a",), "__module__": "fake_mod"})
    mod.other = 3
    assert set(Records(mod).classes) == {"LNCache"}
    with pytest.raises(ValueError, match="two record classes"):
        Records(LNCache, mod)
    with pytest.raises(TypeError):
        Records(int)


def test_dicts_that_look_like_tags_survive():
    for d in ({"__nd__": 0}, {"fields": 1, "x": 2}, {"__record__": "LNCache", "fields": {}},
              {"__callbacks__": ["a"]}, {"__dict__": {"__nd__": 1}}):
        assert roundtrip(d) == d


def test_callbacks_placeholder_needs_a_factory():
    data = wire.encode_bytes([Callbacks(["linear_backward", "relu_backward"])])
    with pytest.raises(WireError, match="callback"):
        wire.decode(data)
    out = wire.decode(data, callbacks=lambda names: ("ns", names))
    assert out == [("ns", ("linear_backward", "relu_backward"))]
    for bad in (["_private"], ["not an identifier"], [1]):
        with pytest.raises(WireError):
            Callbacks(bad)


def test_ndarray_subclasses_travel_as_their_data():
    class Evil(np.ndarray):
        def __eq__(self, other):
            return True

        def __array__(self, *a, **k):
            return np.zeros(3)

    out = roundtrip(np.arange(3.0).view(Evil))
    assert type(out) is np.ndarray and out.tolist() == [0.0, 1.0, 2.0]


def test_dicts_with_number_keys_round_trip_in_order():
    value = {0.1: ([0.3, 0.57], "converges"), 2.1: "diverges", -3: None, True: 1, None: {"in": 2.5}}
    out = roundtrip(value)
    assert list(out) == list(value) and [type(k) for k in out] == [type(k) for k in value]
    assert out == value
    tagged = {"__pairs__": 1, 2: 3}                 # a str key spelled like a tag, beside a number
    assert roundtrip(tagged) == tagged


@pytest.mark.parametrize("pairs, why", [
    ([[1, 2], [1, 3]], "repeated"), ([[[1], 2]], "key must be"), ([[{"__tuple__": [1]}, 2]], "key must be"),
    ([[1]], "pair"), ("nope", "malformed")])
def test_malformed_pairs_are_refused(pairs, why):
    with pytest.raises(WireError, match=why):
        wire.decode(frame({"v": 1, "b": [], "m": {"__pairs__": pairs}}))


def test_a_callback_placeholder_travels_only_where_allowed():
    f = wire.Callback("f", bind=(1, 2))
    data = wire.encode_bytes([f, 1.0])
    with pytest.raises(WireError, match="not allowed"):
        wire.decode(data)
    got = wire.decode(data, callback=lambda c: c)
    assert type(got[0]) is wire.Callback and got[0].name == "f" and got[0].bind == (1, 2)
    fn = got[0].resolve(["fn", np.arange(2.0), "y"], lambda *a, **k: (a, k))
    assert fn(7, z=1)[0][1:] == ("y", 7) and fn(7, z=1)[1] == {"z": 1}
    for bad in (["_private", ()], ["f", [-1]], ["f", ["0"]], ["f", list(range(40))]):
        with pytest.raises(WireError):
            wire.decode(frame({"v": 1, "b": [], "m": {"__callback__": bad[0], "bind": bad[1]}}),
                        callback=lambda c: c)


# --------------------------------------------------------------------- refused values
@pytest.mark.parametrize("value", [
    np.array([1, "a"], dtype=object), np.ones(2, dtype=complex), np.zeros(2, dtype="V8"),
    np.zeros(2, dtype=[("a", "f8")]), np.zeros(2, dtype="U3"), np.zeros(2, dtype="M8[s]"),
    np.zeros(2, dtype=np.float16), np.zeros(2, dtype=np.longdouble), {1, 2}, b"bytes",
    object(), lambda: 0, {(1, 2): "tuple key"}, {np.float64(1.0): "NumPy key"}, {b"k": 1},
    {1: np.zeros(2, dtype=complex)}, 2 ** 64, -(2 ** 64), "x" * (1 << 20 + 1)])
def test_disallowed_values_raise_wire_error(value):
    with pytest.raises(WireError):
        wire.encode(value)


def test_caps_are_enforced_when_encoding():
    small = Limits(max_message_bytes=1000, max_array_elements=100, max_depth=3, max_string=10,
                   max_nodes=50)
    for value in (np.zeros(101), np.zeros(2 * 100, dtype=np.int8), [[[[1]]]], "x" * 11,
                  list(range(60)), [np.zeros(100)] * 2):
        with pytest.raises(WireError):
            wire.encode(value, small)
    deep = []
    for _ in range(100):
        deep = [deep]
    with pytest.raises(WireError, match="nested"):
        wire.encode(deep)
    loop = []
    loop.append(loop)
    with pytest.raises(WireError):
        wire.encode(loop)


# --------------------------------------------------------------------- garbage frames
def test_a_huge_shape_claim_is_refused_before_any_allocation():
    f = frame({"v": 1, "b": [["float64", [10 ** 9]]], "m": {"__nd__": 0}})
    with pytest.raises(WireError, match="1000000000 elements"):
        wire.decode(f)
    reader = wire.FrameReader()
    reader.feed(f)
    with pytest.raises(WireError, match="elements"):
        reader.next()
    many = frame({"v": 1, "b": [["float64", [1 << 23]]] * 9, "m": [{"__nd__": i} for i in range(9)]})
    with pytest.raises(WireError, match="exceed"):
        wire.decode(many)


@pytest.mark.parametrize("header, why", [
    ({"v": 2, "b": [], "m": 1}, "version"),
    ({"v": 1, "b": [], "m": 1, "extra": 0}, "exactly the keys"),
    ({"v": 1, "b": [["object", [1]]], "m": {"__nd__": 0}}, "not allowed"),
    ({"v": 1, "b": [["complex128", [1]]], "m": {"__nd__": 0}}, "not allowed"),
    ({"v": 1, "b": [["V8", [1]]], "m": {"__nd__": 0}}, "not allowed"),
    ({"v": 1, "b": [["float64", [-1]]], "m": {"__nd__": 0}}, "non-negative"),
    ({"v": 1, "b": [["float64", [1.5]]], "m": {"__nd__": 0}}, "non-negative"),
    ({"v": 1, "b": [["float64", [1] * 33]], "m": {"__nd__": 0}}, "32"),
    ({"v": 1, "b": "nope", "m": 1}, "not a list"),
    ({"v": 1, "b": [], "m": {"__nd__": 0}}, "reference"),
    ({"v": 1, "b": [["int8", [1]]], "m": [{"__nd__": 0}, {"__nd__": 0}]}, "repeated"),
    ({"v": 1, "b": [["int8", [1]]], "m": 5}, "no value refers"),
    ({"v": 1, "b": [["int8", [2]]], "m": {"__scalar__": 0}}, "shape"),
    ({"v": 1, "b": [], "m": {"__float__": "1e9"}}, "__float__"),
    ({"v": 1, "b": [], "m": {"__record__": "os.system", "fields": {}}}, "record name"),
    ({"v": 1, "b": [], "m": {"__record__": "Unknown", "fields": {}}}, "Unknown"),
    ({"v": 1, "b": [], "m": {"__nd__": 0, "x": 1}}, "malformed"),
    ({"v": 1, "b": [], "m": {"__tuple__": 5}}, "malformed"),
    ({"v": 1, "b": [], "m": 2 ** 70}, "range"),
])
def test_malformed_headers_raise_wire_error(header, why):
    specs = header["b"] if isinstance(header["b"], list) else []
    body = b"\0" * sum(int(np.prod(s)) * wire.DTYPES[d].itemsize for d, s in specs
                       if d in wire.DTYPES and len(s) <= 32
                       and all(type(n) is int and n >= 0 for n in s))
    with pytest.raises(WireError, match=why):
        wire.decode(frame(header, body), records=RECORDS)


@pytest.mark.parametrize("data, why", [
    (b"", "shorter"), (b"\0\0", "shorter"), (b"\xff\xff\xff\xff", "claims"),
    (struct.pack(">I", 10) + b"{}", "truncated"), (struct.pack(">I", 3) + b"{{{", "JSON"),
    (struct.pack(">I", 3) + b"NaN", "JSON"), (struct.pack(">I", 2) + b"\xff\xfe", "JSON"),
    (struct.pack(">I", 2) + b"[]", "object"),
])
def test_garbage_bytes_raise_wire_error(data, why):
    with pytest.raises(WireError, match=why):
        wire.decode(data)


def test_wrong_body_lengths_raise_wire_error():
    good = wire.encode_bytes({"a": np.arange(4.0)})
    with pytest.raises(WireError, match="body"):
        wire.decode(good[:-1])
    with pytest.raises(WireError, match="body"):
        wire.decode(good + b"\0")


def test_deep_json_raises_wire_error_not_recursion_error():
    deep = b"[" * 200_000 + b"]" * 200_000
    with pytest.raises(WireError):
        wire.decode(struct.pack(">I", len(deep)) + deep)
    nested = {"v": 1, "b": [], "m": 0}
    for _ in range(40):
        nested["m"] = [nested["m"]]
    with pytest.raises(WireError, match="nested"):
        wire.decode(frame(nested))


def test_fuzz_mutated_frames_decode_or_raise_wire_error_only():
    rng = random.Random(1234)
    values = [{"op": "result", "id": 3, "ok": True,
               "value": (np.arange(6.0).reshape(2, 3), LNCache(np.ones(2), np.ones(2), 1e-5))},
              [np.int8(3), float("nan"), "s", None, {"__nd__": 1}], np.arange(10, dtype=np.uint16)]
    for value in values:
        good = wire.encode_bytes(value)
        for _ in range(400):
            data = bytearray(good)
            for _ in range(rng.randint(1, 4)):
                op = rng.random()
                i = rng.randrange(len(data))
                if op < 0.5:
                    data[i] = rng.randrange(256)
                elif op < 0.75:
                    del data[i:i + rng.randint(1, 8)]
                else:
                    data[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
            try:
                wire.decode(bytes(data), records=RECORDS)
            except WireError:
                pass
        for cut in range(len(good)):              # every truncation
            with pytest.raises(WireError):
                wire.decode(good[:cut], records=RECORDS)


def test_frame_reader_splits_a_stream_fed_byte_by_byte():
    frames = [wire.encode_bytes(v) for v in ({"a": np.arange(3.0)}, "x", [np.ones((2, 2), np.float32)])]
    reader = wire.FrameReader()
    out = []
    for byte in b"".join(frames):
        reader.feed(bytes([byte]))
        part = reader.next()
        if part is not None:
            out.append(wire.decode_parts(*part))
    assert len(out) == 3 and out[1] == "x" and np.array_equal(out[0]["a"], np.arange(3.0))
    assert reader.pending() == 0


def test_frame_reader_holds_at_most_one_message_and_one_read():
    """Bytes the reader was fed but not asked to split are capped at one message of the
    limits' size and 2 MiB more; the next byte is a WireError, not the parent's memory."""
    limits = wire.Limits(max_message_bytes=1 << 20, max_header_bytes=1 << 10)
    reader = wire.FrameReader(limits)
    cap = 4 + (1 << 10) + (1 << 20) + (2 << 20)
    reader.feed(bytes(cap))
    with pytest.raises(WireError, match="not read as messages"):
        reader.feed(b"x")
    reader = wire.FrameReader(limits)          # a frame asked for as it arrives is no problem
    f = wire.encode_bytes(np.arange(100_000.0), limits)
    for _ in range(20):
        reader.feed(f)
        header, body = reader.next()
        assert np.array_equal(wire.decode_parts(header, body, limits), np.arange(100_000.0))
    assert reader.pending() == 0


def test_write_and_read_frame_over_a_pipe():
    import os
    r, w = os.pipe()
    try:
        wire.write_frame(w, {"a": np.arange(5, dtype=np.int32)})
        assert wire.read_frame(r)["a"].tolist() == [0, 1, 2, 3, 4]
        os.write(w, b"\0\0")
        os.close(w)
        w = None
        with pytest.raises(EOFError):
            wire.read_frame(r)
    finally:
        os.close(r)
        if w is not None:
            os.close(w)
