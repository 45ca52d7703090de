"""The input-mutation check: a call that changes an array it was given, in place, is the
student's error (kind "mutated-input"), and the message names the input; reading, copying
and views never raise it. Through the sandbox and through the in-process path (nbgrader)."""
import importlib.util
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from grader.export.inprocess import InProcess
from grader.sandbox import CALLBACKS, Callback, Sandbox, StudentError
from grader.sandbox import inputs

HERE = Path(__file__).resolve().parent
FIX = HERE / "fixtures" / "sandbox"
SUB, LIB = FIX / "submission", FIX / "library"

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the sandbox targets Linux")


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


L = _load("mutation_fixture_layers", LIB / "tt" / "layers.py")
M = _load("mutation_fixture_module", SUB / "mutating.py")


def cases(rng, dtype=np.float64):
    x = rng.standard_normal((4, 6)).astype(dtype)
    cache = L.LayerNormCache(x, rng.uniform(0.5, 1.5, 6).astype(dtype), 1e-5,
                             rng.standard_normal((4, 6)).astype(dtype), np.ones((4, 1), dtype))
    dout = rng.standard_normal((4, 6)).astype(dtype)
    grads = {"W1": rng.standard_normal((3, 3)).astype(dtype), "b1": rng.standard_normal(3).astype(dtype)}
    return dout, cache, grads


@pytest.fixture(scope="module")
def sb():
    box = Sandbox(SUB, LIB, records=[L], timeout=5, memory_limit=1 << 30)
    with box:
        yield box


@pytest.fixture(params=["sandbox", "in-process"])
def caller(request, sb):
    """call(function, *args, **options) through the sandbox or the in-process stand-in."""
    if request.param == "sandbox":
        return lambda function, *args, **kw: sb.call("mutating", function, *args, **kw)
    box = InProcess(vars(M))
    return lambda function, *args, **kw: box.call("mutating", function, *args, **kw)


def mutation(call, *args, **kw) -> StudentError:
    with pytest.raises(StudentError) as info:
        call(*args, **kw)
    assert info.value.kind == "mutated-input", info.value.describe()
    return info.value


def test_changing_dout_is_named(caller):
    dout, cache, _ = cases(np.random.default_rng(1))
    e = mutation(caller, "relu_backward", dout, cache)
    assert "relu_backward changed its input `dout` in place" in e.message
    assert "a backward pass must not modify its inputs" in e.message


def test_changing_a_cache_field_is_named(caller):
    dout, cache, _ = cases(np.random.default_rng(2))
    e = mutation(caller, "layernorm_backward", dout, cache)
    assert "layernorm_backward changed its input `cache.xhat` in place" in e.message
    assert "`dout`" not in e.message                            # only what really changed


def test_changing_a_dict_of_grads_is_named(caller):
    _, _, grads = cases(np.random.default_rng(3))
    e = mutation(caller, "clip_grads", grads, 1e-3)
    assert "clip_grads changed its inputs `grads['W1']`, `grads['b1']` in place" in e.message
    assert "a function must not modify" in e.message


def test_a_plain_tuple_member_is_named_by_position(caller):
    e = mutation(caller, "resizes_tuple_member", (np.ones(2), np.ones(3)))
    assert "`pair[1]`" in e.message


def test_a_then_step_that_changes_its_input_is_named(sb):
    dout = np.ones((2, 3))
    with pytest.raises(StudentError) as info:
        sb.call("mutating", "student_ops", then=[("relu_backward", (dout, None), {})])
    assert info.value.kind == "mutated-input"
    assert "relu_backward (of student_ops()) changed its input `dout`" in info.value.message
    assert "a backward pass must not" in info.value.message


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_reading_copying_and_views_are_no_false_alarm(caller, dtype):
    rng = np.random.default_rng(4)
    dout, cache, grads = cases(rng, dtype)
    wide = rng.standard_normal((4, 12)).astype(dtype)
    cache = cache._replace(xhat=wide[:, ::2])                  # a non-contiguous view as a cache field
    pairs = (rng.standard_normal((3, 5)).astype(dtype).T, np.asfortranarray(wide))
    before = [a.copy() for a in (dout, cache.xhat, grads["W1"], pairs[0], pairs[1])]
    got = caller("reads_only", dout[:, ::-1], cache, grads, pairs)
    assert np.isfinite(got)
    for a, b in zip(before, (dout, cache.xhat, grads["W1"], pairs[0], pairs[1])):
        assert np.array_equal(a, b)                            # the caller's own arrays never move
    assert caller("clip_grads_copy", grads, 1e-3).keys() == grads.keys()
    x = rng.standard_normal((3, 2)).astype(dtype)
    assert caller("restores", x) == pytest.approx(float(x.sum()), rel=1e-6)


def test_nan_and_negative_zero_inputs_are_no_false_alarm(caller):
    x = np.array([np.nan, -0.0, 0.0, np.inf, -np.inf, 1e-310])
    caller("restores", x)


def test_arguments_bound_to_a_callback_or_echoed_are_the_tests_to_check(sb):
    x = np.zeros(3)
    value = sb.call("mutating", "nudges", Callback("f", bind=(1,)), x,
                    callbacks={"f": lambda x_now: float(x_now.sum())})
    assert value == 3.0                                        # x changed, but the test asked to see it live
    dout, cache, _ = cases(np.random.default_rng(5))
    value, (after,) = sb.call("mutating", "relu_backward", dout, cache, echo=(0,))
    assert np.array_equal(after, np.where(cache.x <= 0, 0, dout))


def test_a_forged_report_is_bad_output_not_a_grader_error(sb):
    """The report comes from the worker: a path that leads nowhere in our inputs is refused."""
    assert inputs.resolve([-1, 5], [np.ones(2)], {}) is None
    assert inputs.resolve([-1, 0, 0], [np.ones(2)], {}) is None
    assert inputs.resolve([-1, "x"], [], {"x": 3}) is None
    assert inputs.resolve(["-1", 0], [np.ones(2)], {}) is None
    assert inputs.resolve([-1, 0, 1], [(np.ones(1), np.ones(2))], {})[2] == "[1]"


def test_the_digest_sees_dtype_shape_and_every_byte():
    a = np.arange(6.0)
    assert inputs.digest(a) == inputs.digest(a.copy())
    assert inputs.digest(a) != inputs.digest(a.astype(np.float32))
    assert inputs.digest(a) != inputs.digest(a.reshape(2, 3))
    b = a.copy()
    b[5] = np.nextafter(b[5], 10)
    assert inputs.digest(a) != inputs.digest(b)
    assert inputs.digest(np.array([0.0])) != inputs.digest(np.array([-0.0]))
    assert inputs.digest(a[::2]) == inputs.digest(np.ascontiguousarray(a[::2]))


# ------------------------------------------------ what comes back, and what callbacks cost
@pytest.mark.parametrize("to_set, words", [(True, "cannot be sent back"), (False, "changed into something else")])
def test_an_echo_that_is_not_what_was_sent_is_the_students_error(sb, to_set, words):
    with pytest.raises(StudentError) as info:
        sb.call("mutating", "spoil_dict", {"x": np.ones(2)}, to_set, echo=(0,))
    assert info.value.kind == "bad-output" and words in info.value.message, info.value.message


def test_a_callback_handed_a_broadcast_bomb_is_not_run(sb):
    calls = []
    with pytest.raises(StudentError) as info:
        sb.call("mutating", "broadcast_bomb", CALLBACKS, callbacks={"add": lambda a, b: calls.append(1) or a + b})
    assert calls == [] and "would broadcast to 1e+08 elements" in info.value.message, info.value.message


@pytest.mark.parametrize("function", ["slow_callbacks", "pipelined_callbacks"])
def test_time_in_callbacks_counts_against_the_call(sb, function):
    calls = []

    def slow():
        calls.append(1)
        time.sleep(0.05)
    t = time.monotonic()
    args = (CALLBACKS, 200) if function == "slow_callbacks" else (200,)
    with pytest.raises(StudentError) as info:
        sb.call("mutating", function, *args, callbacks={"slow": slow}, timeout=1.0)
    assert info.value.kind == "timeout", info.value.describe()
    assert time.monotonic() - t < 3 and len(calls) < 40, len(calls)
