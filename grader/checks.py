"""What a hidden test asserts, in the parent: comparison, and a diagnosis on failure.

    got = student.call("ex04_layernorm", "layernorm_backward", dout, cache)
    expect(got, tt.layernorm_backward(dout, cache), ("dx", "dgamma", "dbeta"),
           function="layernorm_backward",
           variants=[("you left out the mean's correction term", {"dx": wrong_dx})])

`expect` checks the arity of what came back, then each output: exact shape, dtype
kind, finite values, a scale-aware relative error `err <= tol` (grader.sandbox.compare).
On failure it raises GradeFailure with the size and place of the largest error, never
the expected values, and, when the student's output matches a known wrong variant
(computed here from the reference), a diagnosis that names the mistake.
"""
from __future__ import annotations

import numpy as np
import pytest

from grader.sandbox import compare


class GradeFailure(pytest.fail.Exception):
    """A failed check: `message` says what and where, `diagnosis` the likely mistake.

    It is pytest's own failure outcome with pytrace=False: the message is the whole
    story, and pytest then formats no traceback (that cost ~30 ms per failed check).
    """

    def __init__(self, message, diagnosis=""):
        super().__init__(message if not diagnosis else f"{message}\nDiagnosis: {diagnosis}", pytrace=False)
        self.message, self.diagnosis = message, diagnosis


def _arity(got, names, function):
    if len(names) == 1:
        return (got,)
    if not isinstance(got, tuple) or len(got) != len(names):
        what = type(got).__name__ + (f" of length {len(got)}" if isinstance(got, (tuple, list)) else "")
        raise GradeFailure(f"{function} should return a tuple of {len(names)} values "
                           f"({', '.join(names)}), but it returned a {what}")
    return got


def matches(actual, candidate, rtol=1e-6) -> bool:
    """True if `actual` equals `candidate` (a known wrong answer) to rtol."""
    if not isinstance(actual, np.ndarray) or not isinstance(candidate, np.ndarray):
        return False
    if actual.shape != candidate.shape or not np.all(np.isfinite(actual)):
        return False
    return bool(compare(actual, candidate, rtol=rtol))


def standard_variants(expected: dict) -> list[tuple[str, dict]]:
    """Mistakes any gradient can have: the sign flipped, a matrix transposed."""
    out = [("it equals the correct gradient with the sign flipped: check the direction of a "
            "subtraction (for example p - one_hot, not one_hot - p)",
            {k: -v for k, v in expected.items() if isinstance(v, np.ndarray)})]
    transposed = {k: v.T for k, v in expected.items()
                  if isinstance(v, np.ndarray) and v.ndim == 2 and v.shape[0] > 1 and v.shape[1] > 1}
    if transposed:
        out.append(("it equals the correct gradient transposed: a weight gradient has the shape of "
                    "the weight, (in, out), so it is x^T @ dout, not dout^T @ x", transposed))
    return out


def expect(got, expected, names, *, function, rtol=1e-6, variants=(), exact_dtype=True):
    """Assert the student's output(s) `got` match the reference `expected`.

    exact_dtype: a backward pass returns the dtype of its input, so float32 in means
    float32 out; pass False where only the kind (float, int) matters.
    """
    names = tuple(names)
    got = _arity(got, names, function)
    expected = (expected,) if len(names) == 1 else tuple(expected)
    want = dict(zip(names, expected))
    all_variants = list(variants) + standard_variants(want)
    for name, actual, exp in zip(names, got, expected):
        if exp is None:                      # e.g. db of a linear layer without a bias
            if actual is not None:
                raise GradeFailure(f"{function}: {name} should be None here (there is no bias), "
                                   f"but it is {type(actual).__name__}")
            continue
        result = compare(actual, exp, rtol=rtol, name=f"{function}: {name}", exact_dtype=exact_dtype)
        if result:
            continue
        diagnosis = next((label for label, arrays in all_variants
                          if name in arrays and matches(actual, arrays[name], rtol)), "")
        raise GradeFailure(result.message, diagnosis)
