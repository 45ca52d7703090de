"""The public tests' checker (exercises/tests/harness.py): what its failures say.

Every failure must name the function and the output; report a wrong type, shape or
dtype before anything else (broadcasting hides a wrong shape, and a value comparison
would blame the numbers); then a value that is not finite, with its index; then the
worst entry, its index, the expected and the actual value and the error relative to
the largest expected entry.
"""
import re

import numpy as np
import pytest

import tt
from exercises.tests import harness as h


def failure(call):
    """The message of the AssertionError `call` must raise."""
    with pytest.raises(AssertionError) as info:
        call()
    return str(info.value)


# ---------------------------------------------------------------------------- check
def test_a_close_array_passes_and_returns_its_relative_error():
    e = np.array([[1.0, -2.0], [3.0, 4.0]])
    a = e.copy()
    a[1, 0] += 3e-7 * 4                           # max|a - e| = 1.2e-6; max|e| = 4
    err = h.check("f", "dx", a, e, like=e, tol=1e-6)
    assert abs(err - 1.2e-6 / 4) <= 1e-15


def test_shape_is_checked_before_values():
    e = np.arange(6.0).reshape(2, 3)
    message = failure(lambda: h.check("layernorm_backward", "dx", e[None], e, like=e))
    assert message == ("layernorm_backward: dx has shape (1, 2, 3), but it must have shape (2, 3) "
                       "(the shape of the x it is the gradient of)")


def test_a_broadcastable_shape_is_still_wrong():
    e = np.arange(3.0)
    message = failure(lambda: h.check("f", "db", e[None, :], e, like=e))
    assert "has shape (1, 3), but it must have shape (3,)" in message


@pytest.mark.parametrize("output,reason", [
    ("dW", " (the shape of the W it is the gradient of)"),
    ("grads['W1']", " (the shape of the parameter W1, which it is the gradient of)"),
    ("grads['blocks.0.ln1.gamma']", " (the shape of the parameter blocks.0.ln1.gamma, which it is the gradient of)"),
    ("clipped['g']", ""),
    ("w after step 1", ""),
])
def test_the_shape_message_says_whose_shape_it_is(output, reason):
    message = failure(lambda: h.check("f", output, np.zeros(2), np.zeros(3)))
    assert message == f"f: {output} has shape (2,), but it must have shape (3,){reason}"


def test_dtype_is_checked_before_values():
    x = np.ones(4, dtype=np.float32)
    got = np.full(4, 7.0)                        # wrong values AND wrong dtype: dtype first
    message = failure(lambda: h.check("relu_backward", "dx", got, np.ones(4), like=x))
    assert message == ("relu_backward: dx has dtype float64, but the input was float32: "
                       "a backward pass returns the dtype of its input")


def test_not_an_array():
    assert failure(lambda: h.check("f", "dx", None, np.zeros(2))) == \
        "f: dx should be a numpy array, but it is None (did you forget to return it?)"
    assert failure(lambda: h.check("f", "dx", [0.0, 0.0], np.zeros(2))) == \
        "f: dx should be a numpy array, but it is [0.0, 0.0], a list"


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_are_reported_with_their_index(bad):
    got = np.zeros((2, 3))
    got[1, 2] = bad
    message = failure(lambda: h.check("softmax_backward", "dx", got, np.zeros((2, 3)), like=got))
    assert message == f"softmax_backward: dx contains {bad} at index (1, 2)"


def test_a_nan_never_passes_even_with_an_infinite_tolerance():
    got = np.array([1.0, np.nan])
    assert "contains nan" in failure(lambda: h.check("f", "dx", got, np.array([1.0, 2.0]), tol=np.inf))


def test_wrong_values_name_the_worst_index_both_values_and_the_relative_error():
    e = np.array([[0.5, -1.0, 2.0], [0.25, 4.0, -3.0]])
    a = e.copy()
    a[0, 1] = 1.0                                  # off by 2: the worst entry
    a[1, 2] = -3.5                                 # off by 0.5
    message = failure(lambda: h.check("linear_backward", "dW", a, e, like=e))
    # independent: 2 / max|e| = 2 / 4 = 0.5
    assert message == ("linear_backward: dW is wrong. Largest error 2 at index (0, 1) (expected -1, "
                       "got 1); relative to the largest expected entry, 4, that is 5.00e-01 (tolerance 1e-06)")


def test_an_entry_three_times_too_large_reads_as_such():
    """Issue 16: an entry 3x off must not read as a small relative error."""
    e = np.array([[0.2, -3.6], [1.05, 0.4]])
    a = e.copy()
    a[1, 0] = 3.15
    message = failure(lambda: h.check("f", "dx", a, e, like=e))
    assert message == ("f: dx is wrong. Largest error 2.1 at index (1, 0) (expected 1.05, got 3.15); "
                       "relative to the largest expected entry, 3.6, that is 5.83e-01 (tolerance 1e-06)")


def test_all_zero_expectations_use_an_absolute_error():
    message = failure(lambda: h.check("f", "dx", np.array([0.0, 1e-3]), np.zeros(2)))
    assert message.endswith("(expected 0, got 0.001); every expected entry is 0 (tolerance 1e-06, absolute)")
    assert h.check("f", "dx", np.array([0.0, 1e-9]), np.zeros(2)) == 1e-9


def test_float32_gets_the_float32_tolerance_unless_told():
    e = np.ones(3)
    a = (e * (1 + 1e-4)).astype(np.float32)         # relative error 5e-5: fine for float32 only
    h.check("f", "dx", a, e, like=a)
    assert "tolerance 1e-06" in failure(lambda: h.check("f", "dx", a.astype(np.float64), e))
    assert "tolerance 1e-07" in failure(lambda: h.check("f", "dx", a, e, like=a, tol=1e-7))


def test_a_hint_follows_the_message_of_any_kind_of_failure():
    for got in (np.zeros(2), np.zeros(3), np.array([0.0, 0.0, np.nan])):
        message = failure(lambda: h.check("f", "dx", got, np.ones(3), hint="look at the mean"))
        assert message.endswith("\n  hint: look at the mean"), message
    h.check("f", "dx", np.ones(3), np.ones(3), hint="never shown")


def test_check_array_stops_before_values():
    x = np.ones((2, 3))
    assert h.check_array("f", "dx", x, (2, 3), like=x) is x
    assert "has shape (3, 2)" in failure(lambda: h.check_array("f", "dx", x.T.copy(), (2, 3), like=x))
    assert "dtype float32" in failure(lambda: h.check_array("f", "dx", x.astype(np.float32), (2, 3), like=x))
    assert "contains nan at index (0, 0)" in failure(
        lambda: h.check_array("f", "dx", np.full((2, 3), np.nan), (2, 3), like=x))


# ----------------------------------------------------------------------- check_list
def test_check_list():
    assert h.check_list("gradient_descent(0.1)", "the trajectory", [0.3, 0.57], [0.3, 0.57]) == 0.0
    assert failure(lambda: h.check_list("gradient_descent(0.1)", "the trajectory", [0.3, 0.57, 0.813],
                                        [0.3, 0.57])) == \
        "gradient_descent(0.1): the trajectory has 3 values, but it must have 2"
    assert failure(lambda: h.check_list("g", "the path", (0.3, 0.57), [0.3, 0.57])) == \
        "g: the path should be a list of 2 floats, but it is (0.3, 0.57), a tuple"
    assert failure(lambda: h.check_list("g", "the path", np.array([0.3, 0.57]), [0.3, 0.57])) == \
        "g: the path should be a list of 2 floats, but it is a numpy array of shape (2,)"
    assert failure(lambda: h.check_list("g", "the path", [0.3, np.float32(0.57)], [0.3, 0.57])) == \
        "g: the path: the value at index 1 is np.float32(0.57), a numpy.float32, not a Python float"
    assert failure(lambda: h.check_list("g", "the path", [0.3, float("nan")], [0.3, 0.57])) == \
        "g: the path contains nan at index 1"
    # 0.6 instead of 0.57 at index 1; the scale is the largest |e|, at index 2:
    # 0.03 / 0.813 = 3.690e-02
    assert failure(lambda: h.check_list("g", "the path", [0.3, 0.6, 0.813], [0.3, 0.57, 0.813])) == \
        ("g: the path is wrong. Largest error 0.03 at index 1 (expected 0.57, got 0.6); "
         "relative to the largest expected entry, 0.813, that is 3.69e-02 (tolerance 1e-12)")


# ---------------------------------------------------------------------- check_number
def test_check_number():
    assert h.check_number("rel_error", "the result", 0.25, 0.25) == 0.0
    assert h.check_number("rel_error", "the result", np.float64(0.25), 0.25) == 0.0
    assert failure(lambda: h.check_number("rel_error", "the result", np.float32(0.25), 0.25)) == \
        "rel_error: the result should be a Python float, but it is np.float32(0.25), a numpy.float32"
    assert failure(lambda: h.check_number("rel_error", "the result", np.array(0.25), 0.25)) == \
        "rel_error: the result should be a Python float, but it is a numpy array of shape ()"
    assert failure(lambda: h.check_number("rel_error", "the result", 1, 1.0)).endswith("1, an int")
    assert failure(lambda: h.check_number("rel_error", "the result", float("inf"), 0.25)) == \
        "rel_error: the result is inf, which is not finite"
    # |0.3 - 0.25| / 0.25 = 0.2
    assert failure(lambda: h.check_number("rel_error", "the result", 0.3, 0.25)) == \
        ("rel_error: the result is wrong: expected 0.25, got 0.3; off by 0.05, 2.00e-01 of the expected "
         "value (tolerance 1e-12)")


def test_the_messages_have_no_index_placeholder_left():
    for call in (lambda: h.check("f", "dx", np.zeros(3), np.ones(3)),
                 lambda: h.check_list("f", "p", [0.0], [1.0]),
                 lambda: h.check_number("f", "n", 0.0, 1.0)):
        assert not re.search(r"\{|\}|None", failure(call))


# --------------------------------------------------------------- numerical_ops
def test_recorded_add_norm_agrees_with_the_reference(monkeypatch):
    """The add & norm the composite exercises get for their pieces, recorded (a Jacobian
    by central differences of tt's forward) and applied to two upstream gradients,
    against tt's analytical backward: the two paths get their own, equal, gradients."""
    from grader.public_expected import Recorder

    monkeypatch.setattr(h, "RECORDER", Recorder())
    monkeypatch.setattr(h, "_RECORDINGS", {})
    r = h.rng(0)
    x, sub = r.standard_normal((2, 3, 8)), r.standard_normal((2, 3, 8))
    gamma, beta = 1 + 0.3 * r.standard_normal(8), 0.2 * r.standard_normal(8)
    _, cache = tt.add_norm_forward(x, sub, gamma, beta)
    for seed in (1, 2):                 # the second reuses the first's Jacobian
        dout = h.random_dout((2, 3, 8), seed=seed)
        got = h.numerical_ops().add_norm_backward(dout, cache)
        want = tt.add_norm_backward(dout, cache)
        for name, g, w in zip(("dx", "dsub", "dgamma", "dbeta"), got, want):
            h.check("recorded add_norm_backward", name, g, w, like=w)
    [points] = h._RECORDINGS["test_harness"].points.values()
    assert len(points) == 1


def test_ops_at_an_unrecorded_cache_say_so(monkeypatch):
    monkeypatch.setattr(h, "_RECORDINGS", {})
    _, cache = tt.relu_forward(np.ones(3))
    message = failure(lambda: h.numerical_ops().relu_backward(np.ones(3), cache))
    assert message.startswith("ops.relu_backward was given a cache that tt's forward passes did not make")
