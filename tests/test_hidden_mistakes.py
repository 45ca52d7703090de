"""The pieces that name a mistake from what a call did (grader/hidden/mistakes.py) and the
choice among matching variants (grader.checks): on NumPy's own messages and small arrays."""
import numpy as np
import pytest

from grader.checks import GradeFailure, dtype_diagnosis, expect
from grader.hidden.mistakes import lost_axis, matmul_mismatch


def message_of(f, *args):
    with pytest.raises(ValueError) as e:
        f(*args)
    return str(e.value)


@pytest.mark.parametrize("product", [np.matmul, np.dot])
@pytest.mark.parametrize("left,right", [((5, 7), (13, 7)), ((2, 4, 8, 16), (2, 4, 8, 16)), ((1, 3, 5), (1, 7, 5))])
def test_matmul_mismatch_reads_both_sizes(product, left, right):
    """(rows of the right operand, columns of the left), from NumPy's message for either product."""
    message = message_of(product, np.ones(left), np.ones(right))
    assert matmul_mismatch(message) == (right[-2] if len(right) > 1 else right[0], left[-1])


def test_matmul_mismatch_ignores_other_errors():
    assert matmul_mismatch(message_of(np.add, np.ones((2, 3)), np.ones((4, 5)))) is None
    assert matmul_mismatch("ValueError: something else") is None


def test_lost_axis_only_for_a_shape_without_its_last_axis():
    lost = message_of(np.subtract, np.ones((4, 8, 64)), np.ones((4, 8)))
    other = message_of(np.subtract, np.ones((2, 8, 64)), np.ones((2, 8, 256)))
    assert lost_axis(lost) and not lost_axis(other)
    assert lost_axis(message_of(np.subtract, np.ones((5, 3000)), np.ones(5)))
    assert not lost_axis(message_of(np.matmul, np.ones((5, 7)), np.ones((13, 7))))


def test_dtype_diagnosis_names_the_direction():
    assert "promoted to float64" in dtype_diagnosis(np.float64, np.float32)
    assert "cast down to float32" in dtype_diagnosis(np.float32, np.float64)
    assert dtype_diagnosis(np.float32, np.float32) == "" and dtype_diagnosis(np.int64, np.float32) == ""


def test_the_most_complete_explanation_is_named():
    """Two variants explain every output they name; the one that explains more wrong outputs wins,
    and two that explain equally many give no diagnosis."""
    right = {"a": np.arange(4.0), "b": np.arange(4.0) + 10, "c": np.arange(4.0) + 20}
    got = (right["a"] + 1, right["c"], right["b"])       # a wrong, b and c swapped
    two = ("b and c swapped", {"b": right["c"], "c": right["b"]})
    three = ("a off by one, b and c swapped", {"a": right["a"] + 1, "b": right["c"], "c": right["b"]})
    with pytest.raises(GradeFailure) as e:
        expect(got, tuple(right.values()), tuple(right), function="f", variants=[two, three])
    assert e.value.diagnosis == three[0]
    tie = ("b and c swapped, said otherwise", two[1])
    with pytest.raises(GradeFailure) as e:
        expect((right["a"], right["c"], right["b"]), tuple(right.values()), tuple(right), function="f",
               variants=[two, tie])
    assert e.value.diagnosis == ""
