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


def dtype_diagnosis(actual, wanted) -> str:
    """Why a float answer has the wrong float dtype: the usual cause, named."""
    actual, wanted = np.dtype(actual), np.dtype(wanted)
    if actual.kind != "f" or wanted.kind != "f" or actual == wanted:
        return ""
    if actual.itemsize > wanted.itemsize:
        return (f"the answer was promoted to {actual}: an array made without dtype= (np.zeros(shape), "
                f"np.ones, np.array(..., dtype=np.float64)) is float64, and mixing it in promotes "
                f"{wanted} to {actual}; make new arrays with dtype=dout.dtype, or np.zeros_like(...)")
    return (f"the answer was cast down to {actual}: it should keep the dtype of its inputs ({wanted}); an "
            f".astype({actual}) or an array made with dtype={actual} inside does this")


def _diagnosis(got, failed, variants, rtols):
    """The one mistake the outputs match, or "".

    A variant that explains every output it names comes first (a mistake is named even when
    several outputs are wrong), the one explaining the most wrong outputs among those (dW_k and
    dW_v swapped explains two; [dv | dk] in the wrong order explains them and dx); failing that,
    one that explains the first failing output. A diagnosis is given only when exactly one
    distinct mistake matches.
    """
    def fits(arrays, names):
        return all(n in got and matches(got[n], arrays[n], rtols[n]) for n in names)
    whole = {}
    for label, arrays in variants:
        if (arrays and any(n in arrays for n in failed) and all(n in got for n in arrays)
                and fits(arrays, arrays)):
            whole[label] = max(whole.get(label, 0), sum(n in arrays for n in failed))
    if whole:          # the most complete explanation of the wrong outputs, if only one mistake gives it
        top = max(whole.values())
        best = [label for label, n in whole.items() if n == top]
        return best[0] if len(best) == 1 else ""
    first = failed[0]
    part = {label for label, arrays in variants if first in arrays and fits(arrays, (first,))}
    return part.pop() if len(part) == 1 else ""


def expect(got, expected, names, *, function, rtol=1e-6, variants=(), exact_dtype=True, dtype=None):
    """Assert the student's output(s) `got` match the reference `expected`.

    rtol: one number, or {name: rtol} (see tolerance()). exact_dtype: a backward pass returns
    the dtype of its input, so float32 in means float32 out; pass False where only the kind
    (float, int) matters. dtype: the dtype every float answer must have when `expected` is a
    float64 reference of a float32 computation (the answer is then compared in float64).
    Every output is compared before a failure is raised, so that a variant explaining all the
    wrong outputs is named.
    """
    names = tuple(names)
    got = _arity(got, names, function)
    expected = (expected,) if len(names) == 1 else tuple(expected)
    want = dict(zip(names, expected))
    rtols = {n: (rtol.get(n, 1e-6) if isinstance(rtol, dict) else rtol) for n in names}
    all_variants = list(variants) + standard_variants(want)
    failures = []
    for name, actual, exp in zip(names, got, expected):
        if exp is None:                      # e.g. db of a linear layer without a bias
            if actual is not None:
                raise GradeFailure(f"{function}: {name} should be None here (there is no bias), "
                                   f"but it is {type(actual).__name__}")
            continue
        label = f"{function}: {name}"
        if (dtype is not None and isinstance(actual, np.ndarray) and np.asarray(exp).dtype.kind == "f"
                and actual.dtype.kind == "f" and actual.dtype != np.dtype(dtype)):
            raise GradeFailure(f"{label}: has dtype {actual.dtype} but should have dtype "
                               f"{np.dtype(dtype)}, the dtype of its inputs", dtype_diagnosis(actual.dtype, dtype))
        result = compare(actual, exp, rtol=rtols[name], name=label,
                         exact_dtype=exact_dtype and dtype is None)
        if not result:
            if result.error is None:          # a shape, a dtype, a NaN: say so first
                diagnosis = _diagnosis(dict(zip(names, got)), [name], all_variants, rtols)
                if (not diagnosis and exact_dtype and isinstance(actual, np.ndarray) and isinstance(exp, np.ndarray)
                        and actual.shape == exp.shape):      # then the dtype is what compare() failed
                    diagnosis = dtype_diagnosis(actual.dtype, exp.dtype)
                raise GradeFailure(result.message, diagnosis)
            failures.append((name, result))
    if failures:
        diagnosis = _diagnosis(dict(zip(names, got)), [n for n, _ in failures], all_variants, rtols)
        raise GradeFailure(failures[0][1].message, diagnosis)


# ------------------------------------------------------------------ tolerances
SAFETY = 8.0


def tolerance(dtype, *, terms, depth=1, magnitude=None, expected=None, safety=SAFETY) -> float:
    """The rtol for compare() of a correct answer of `dtype` against an exact (float64) reference.

    The rule every hidden check follows (issue 11 point 1): the round-off a correct answer can
    carry comes from the mathematics, never from how close the reference is to itself.

      - `terms`: the longest sum behind one entry (summed in ANY order, loops, einsum, BLAS:
        the error of a sum of n products is at most about n * eps * sum|products|).
      - `depth`: how many more roundings follow (a scale, a subtraction, a cast back).
      - `magnitude`: that sum of absolute values per entry (an array, or its largest value):
        the same computation on |inputs| (grader/hidden/magnitude.py has one per piece).
      - `expected`: the exact answer; compare() measures the error relative to its largest
        entry, so the rtol is the bound divided by max|expected| (the conditioning).

        rtol = safety * (terms + depth) * eps(dtype) * max|magnitude| / max|expected|

    `dtype` is the answer's (float32 for float32 inputs): compute `expected` in float64 from
    the same inputs (in_float64) and pass dtype= to expect(), so the reference's own float32
    round-off never enters. Without magnitude/expected the conditioning is taken as 1.
    """
    eps = float(np.finfo(np.dtype(dtype)).eps)
    condition = 1.0
    if magnitude is not None and expected is not None:
        top = float(np.max(np.abs(expected))) if np.size(expected) else 0.0
        mag = float(np.max(np.abs(magnitude))) if np.size(magnitude) else 0.0
        condition = max(mag / top, 1.0) if top > 0 else 1.0
    return safety * (terms + depth) * eps * condition


def in_float64(value):
    """`value` with every floating array (in NamedTuples, tuples, lists, dicts) cast to float64:
    the same inputs, exactly, for a float64 reference of a float32 computation."""
    if isinstance(value, np.ndarray):
        return value.astype(np.float64) if value.dtype.kind == "f" else value
    if isinstance(value, np.floating):
        return np.float64(value)
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(in_float64(v) for v in value))
    if isinstance(value, (tuple, list)):
        return type(value)(in_float64(v) for v in value)
    if isinstance(value, dict):
        return {k: in_float64(v) for k, v in value.items()}
    return value


def tolerances(dtype, names, expected, magnitudes, *, terms, depth=1, safety=SAFETY) -> dict:
    """{name: tolerance(...)} for a tuple of outputs (None entries, e.g. a missing bias, skipped).

    `terms` may be one number or {name: number}."""
    if len(names) == 1:
        expected, magnitudes = (expected,), (magnitudes,)
    out = {}
    for name, exp, mag in zip(names, expected, magnitudes):
        if exp is None:
            continue
        n = terms[name] if isinstance(terms, dict) else terms
        out[name] = tolerance(dtype, terms=n, depth=depth, magnitude=mag, expected=exp, safety=safety)
    return out
