"""compare(): the checks in order, err <= tol, and messages that never leak expected values."""
import re

import numpy as np
import pytest

from grader.sandbox import compare, compare_all

RNG = np.random.default_rng(0)
E = RNG.normal(size=(3, 4)) * 1.7 + 0.3           # "expected": odd values, easy to spot


def numbers_in(message):
    return [float(x) for x in re.findall(r"-?\d+\.\d+(?:e[-+]?\d+)?", message)]


def assert_no_leak(message, expected=E):
    """No number in the message is (close to) any expected entry."""
    for x in numbers_in(message):
        assert not np.isclose(expected, x, rtol=1e-3, atol=1e-9).any(), (x, message)


def test_a_right_answer_passes_in_float64_and_float32():
    assert compare(E.copy(), E, rtol=1e-12)
    c = compare(E.astype(np.float32), E, rtol=1e-6)
    assert c and c.error <= 1e-6 and "OK" in c.message
    assert not compare(E.astype(np.float32), E, rtol=1e-6, exact_dtype=True)


@pytest.mark.parametrize("actual, words", [
    (None, "got None"),
    ([[1.0] * 4] * 3, "got a list; convert it with np.array"),
    ({"dx": 1}, "got a dict"),
    (np.zeros((4, 3)), "has shape (4, 3) but should have shape (3, 4)"),
    (np.zeros((1, 4)), "has shape (1, 4)"),                       # would broadcast
    (np.zeros((3, 4), dtype=np.int64), "should be a floating-point array"),
    (np.zeros((3, 4), dtype=bool), "should be a floating-point array"),
])
def test_each_check_names_what_is_wrong(actual, words):
    c = compare(actual, E, name="dx")
    assert not c and c.message.startswith("dx: ") and words in c.message, c.message


def test_checks_run_in_order_shape_before_dtype_before_finite():
    c = compare(np.full((4, 3), np.nan, dtype=np.float32), E, name="dW")
    assert "shape" in c.message
    c = compare(np.zeros((3, 4), dtype=np.int64), E, name="dW")
    assert "dtype" in c.message


def test_nan_and_inf_fail_with_their_place():
    a = E.copy()
    a[1, 2] = np.nan
    a[2, 0] = np.inf
    c = compare(a, E, rtol=1.0)
    assert not c and "1 NaN and 1 infinite" in c.message and "(1, 2)" in c.message
    assert c.index == (1, 2)


def test_err_is_relative_to_the_largest_expected_magnitude():
    a = E.copy()
    a[2, 3] += 0.01 * np.abs(E).max()
    c = compare(a, E, rtol=1e-3, name="dgamma")
    assert not c and c.index == (2, 3) and c.error == pytest.approx(0.01)
    assert "largest error 1.00e-02" in c.message and "at index (2, 3)" in c.message
    assert "1 of 12 entries" in c.message
    assert_no_leak(c.message)
    assert compare(a, E, rtol=0.02)
    assert compare(E * 1e-30, E * 1e-30 * (1 + 1e-9), rtol=1e-6)      # scale-aware


def test_a_student_cannot_set_the_scale():
    """|a| + |e| would let a huge answer look close; max|e| does not."""
    c = compare(E * 1e12, E, rtol=1e-3)
    assert not c and c.error > 1e9


def test_nan_tolerance_or_error_never_passes():
    assert not compare(E + 1, E, rtol=float("nan"))


def test_all_zero_expected_needs_zero_or_an_explicit_scale():
    z = np.zeros(5)
    assert compare(np.zeros(5), z)
    assert not compare(np.full(5, 1e-20), z, rtol=1e-6)
    assert compare(np.full(5, 1e-20), z, rtol=1e-6, scale=1.0)


def test_integer_and_bool_answers_must_be_exact():
    idx = np.array([3, 1, 4, 1, 5])
    assert compare(idx.astype(np.int32), idx)
    c = compare(np.array([3, 1, 4, 1, 6]), idx, name="tokens")
    assert not c and "1 of 5 entries differ" in c.message and "(4,)" in c.message
    assert not compare(idx.astype(float), idx)
    assert compare(np.array([True, False]), np.array([True, False]))


def test_scalars_and_0d():
    assert compare(2.5, 2.5) and compare(np.float64(2.5), np.array(2.5))
    assert not compare(2.6, 2.5, rtol=1e-3)
    assert not compare([2.5], 2.5)


def test_subclasses_and_object_arrays_are_not_trusted():
    class Liar(np.ndarray):
        def __eq__(self, other):
            return np.ones(np.shape(self), bool)

        def __sub__(self, other):
            return np.zeros(np.shape(self))

    wrong = (E + 1).view(Liar)
    assert not compare(wrong, E)
    assert not compare(np.array(E.tolist(), dtype=object).reshape(3, 4), E)


def test_compare_all_checks_the_tuple_then_each_entry():
    exp = (E, E[0], E[:, 0])
    names = ("dx", "dgamma", "dbeta")
    assert all(compare_all((E, E[0], E[:, 0]), exp, names))
    [c] = compare_all(None, exp, names)
    assert not c and "expected a tuple of 3 values, got None" in c.message
    [c] = compare_all((E, E[0]), exp, names)
    assert "got 2 values" in c.message
    res = compare_all([E, E[0] + 1, E[:, 0]], exp, names)
    assert [bool(r) for r in res] == [True, False, True] and res[1].name == "dgamma"
