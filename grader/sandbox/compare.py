"""Compare a student's answer with the expected one, in the parent, without leaking it.

    c = compare(dx, dx_expected, rtol=1e-6, name="dx")
    if not c:
        pytest.fail(c.message)      # e.g. "dx: largest error 3.1e-02 at index (1, 0, 5) ..."

The checks run in this order, and the first that fails is the message:

    1. it is an array at all (None, a list or a dict is named as such);
    2. exact shape (broadcasting would hide a wrong one);
    3. dtype kind: float for float, integer for integer, bool for bool; with
       exact_dtype=True the exact dtype (a backward pass returns its input's dtype);
    4. every value finite;
    5. err = max|a - e| / max(max|e|, tiny) written as `err <= rtol`, so NaN fails.

The scale is the largest *expected* magnitude, not |a| + |e| as in tt.gradcheck: here
one side is trusted and the other is not, and an answer must not set its own scale.
An all-zero expected value therefore needs an (almost) exactly zero answer, unless the
caller passes `scale`. Integer and bool arrays must match exactly.

Messages give the shape, the dtype, the size of the largest error and where it is,
never an expected value or a student value next to it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TINY = np.finfo(np.float64).tiny
_KIND = {"f": "a floating-point array", "i": "an integer array", "u": "an integer array",
         "b": "a bool array"}


@dataclass(frozen=True)
class Comparison:
    """The verdict on one value. Truthy when it passed."""
    ok: bool
    name: str
    message: str
    error: float | None = None             # the relative error, when it got that far
    index: tuple | None = None             # where the largest error (or first bad entry) is

    def __bool__(self) -> bool:
        return self.ok


def _what(x) -> str:
    if x is None:
        return "None"
    if isinstance(x, np.ndarray):
        return f"an array of dtype {x.dtype}"
    return f"a {type(x).__name__}"


def compare(actual, expected, *, rtol: float = 1e-6, name: str = "value",
            exact_dtype: bool = False, scale: float | None = None) -> Comparison:
    """Check `actual` (untrusted) against `expected` (trusted); see the module docstring."""
    expected = np.asarray(expected)
    if expected.dtype.kind not in _KIND:
        raise TypeError(f"compare: expected values of dtype {expected.dtype} are not supported")
    fail = lambda msg, **kw: Comparison(False, name, f"{name}: {msg}", **kw)
    scalar_ok = expected.ndim == 0 and isinstance(actual, (int, float, np.number, np.bool_))
    if scalar_ok:
        actual = np.asarray(actual)
    if actual is None:
        return fail("got None (is a return statement missing?)")
    if not isinstance(actual, np.ndarray):
        hint = "; convert it with np.array(...)" if isinstance(actual, (list, tuple)) else ""
        return fail(f"expected a NumPy array of shape {expected.shape}, got {_what(actual)}{hint}")
    if actual.shape != expected.shape:             # before the copy: a wrong shape costs nothing
        return fail(f"has shape {actual.shape} but should have shape {expected.shape}")
    actual = np.array(actual, copy=True, subok=False)             # a plain ndarray, ours
    if actual.dtype.kind not in _KIND:
        return fail(f"has dtype {actual.dtype}, which is not numeric")
    ekind, akind = expected.dtype.kind, actual.dtype.kind
    same_kind = akind == ekind or {akind, ekind} <= {"i", "u"}
    if not same_kind:
        return fail(f"has dtype {actual.dtype} but should be {_KIND[ekind]} ({expected.dtype})")
    if exact_dtype and actual.dtype != expected.dtype:
        return fail(f"has dtype {actual.dtype} but should have dtype {expected.dtype}")
    if ekind != "f":
        wrong = actual != expected
        if wrong.any():
            idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(wrong)), wrong.shape))
            return fail(f"{int(wrong.sum())} of {wrong.size} entries differ from the expected "
                        f"values (the first at index {idx})", index=idx)
        return Comparison(True, name, f"{name}: exactly right", 0.0)
    if not np.isfinite(expected).all():
        raise ValueError(f"compare: the expected {name} is not finite")
    bad = ~np.isfinite(actual)
    if bad.any():
        idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(bad)), bad.shape))
        n_nan = int(np.isnan(actual).sum())
        return fail(f"contains {n_nan} NaN and {int(bad.sum()) - n_nan} infinite values "
                    f"(the first at index {idx})", index=idx)
    if actual.size == 0:
        return Comparison(True, name, f"{name}: OK (empty)", 0.0)
    diff = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
    denom = float(scale) if scale is not None else max(float(np.abs(expected).max()), TINY)
    flat = int(np.argmax(diff))
    err = float(diff.reshape(-1)[flat]) / denom
    idx = tuple(int(i) for i in np.unravel_index(flat, diff.shape))
    if err <= rtol:                      # written this way round so that NaN fails
        return Comparison(True, name, f"{name}: OK (relative error {err:.1e} <= {rtol:.0e})",
                          err, idx)
    n_off = int((diff > rtol * denom).sum())
    return fail(f"largest error {err:.2e} (relative to the largest expected magnitude) at "
                f"index {idx}; the tolerance is {rtol:.0e}; {n_off} of {diff.size} entries "
                "are off by more than that", error=err, index=idx)


def compare_all(actual, expected, names, **options) -> list[Comparison]:
    """Compare a returned tuple such as (dx, dgamma, dbeta) entry by entry.

    A value that is not a tuple or list of the right length gives one failed
    Comparison named after all of `names`.
    """
    names = list(names)
    if len(names) != len(expected):
        raise ValueError("compare_all: one name per expected value")
    if not isinstance(actual, (tuple, list)) or len(actual) != len(expected):
        got = f"{len(actual)} values" if isinstance(actual, (tuple, list)) else _what(actual)
        label = ", ".join(names)
        return [Comparison(False, label, f"({label}): expected a tuple of {len(expected)} values, "
                                         f"got {got}")]
    return [compare(a, e, name=n, **options) for a, e, n in zip(actual, expected, names)]
