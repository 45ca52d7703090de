"""What the hidden suites share beyond conftest.py and expect().

    got = call(student, "ex12_optimizers", "adam", w, dw, None)             # student.call, with
                                                                             # sharper stub diagnoses
    got = call_with(student, MODULE, "ffn_backward", ..., CALLBACKS,         # our own callbacks
                    callbacks={"linear_backward": wrong_backward})
    grad, (x_after,), error = call_echo(student, MODULE, "numerical_gradient",  # f() runs here, on
                                        Callback("f", bind=(1,)), x, eps,       # the worker's x
                                        callbacks={"f": f}, echo=(1,))
    expect_number(got, 5.0, "the norm", function="global_norm", variants=[...])
    expect_floats(got, [0.501, ...], "the trajectory", function="gradient_descent")
    expect_dict(got, grads, "grads", function="model_backward", variants=[...])
    expect_exact(got, ("dx", "dW", "db"), function="linear_backward",       # float64 reference,
                 reference=tt.linear_backward, args=(dout, cache),          # tolerance from the
                 magnitude=magnitude.linear, terms=N, variants=linear_variants)  # mathematics

expect() (grader.checks) compares arrays and tuples of arrays. These exercises also
return numbers, lists of numbers, dicts and strings; the checks here give those the
same treatment: the type first, then finiteness, then a relative error `err <= tol`,
messages that say where and how much but never the expected value, and a diagnosis
when the answer matches a known wrong variant.

Every function here sets __tracebackhide__: a GradeFailure's message is the whole story,
and pytest formatting these frames (with their array arguments) for each failed check
costs tens of milliseconds.
"""
from __future__ import annotations

import math
import re

import numpy as np

import tt
from grader.checks import GradeFailure, expect, in_float64, matches, tolerances
from grader.hidden.mistakes import IN_PLACE, KEEPDIMS, lost_axis
from grader.sandbox import StudentError

STUB = "this function is still the stub: it raises NotImplementedError"
_STUB_MESSAGE = re.compile(r"NotImplementedError: Exercise (\d+): (\w+)")
_NO_MODULE = re.compile(r"No module named '(ex\d\d_\w+)'")


def _sharpen(function, failure):
    """A GradeFailure whose diagnosis names the stub that was reached, if it is another one."""
    __tracebackhide__ = True
    m = _STUB_MESSAGE.search(failure.message)
    if m and m.group(2) != function:
        return GradeFailure(failure.message, f"it calls {m.group(2)} (exercise {int(m.group(1))}), "
                                             f"which is still the stub: it raises NotImplementedError")
    if m:
        return GradeFailure(failure.message, STUB)
    missing = _NO_MODULE.search(failure.message)
    if missing and not failure.diagnosis:
        name = missing.group(1)
        if failure.message.startswith(f"{name}."):
            return GradeFailure(failure.message, f"{name}.py is not in the submission")
        return GradeFailure(failure.message, f"this exercise imports your {name}.py, which is not in the "
                                             f"submission: hand it in too")
    if not failure.diagnosis and lost_axis(failure.message):
        return GradeFailure(failure.message, KEEPDIMS)
    if not failure.diagnosis and " in place; " in failure.message and "must not modify its inputs" in failure.message:
        return GradeFailure(failure.message, IN_PLACE)
    if function.startswith("_") and "has no function" in failure.message:
        return GradeFailure(failure.message, f"{function} is a helper that came with the exercise file, "
                                             f"for the autograder: put it back as it was")
    return failure


def call(student, module, function, *args, pieces=(), timeout=None, checked=None, **kwargs):
    """student.call(...), with keyword arguments too, and a diagnosis that names the stub
    actually reached.

    checked: the student's function that `function` relies on, for the diagnosis when it is
    still the stub.
    """
    __tracebackhide__ = True
    if kwargs and not pieces:
        return call_with(student, module, function, *args, callbacks=None, timeout=timeout,
                         checked=checked, kwargs=kwargs)
    try:
        return student.call(module, function, *args, pieces=pieces, timeout=timeout)
    except GradeFailure as failure:
        raise _sharpen(checked or function, failure) from None


def call_with(student, module, function, *args, callbacks, timeout=None, checked=None, kwargs=None):
    """module.function(*args, **kwargs) in the worker, where the CALLBACKS placeholder among
    args becomes a namespace of `callbacks`: functions of this process (for example a
    deliberately wrong backward pass) that the student's code calls back."""
    __tracebackhide__ = True
    try:
        return student.sandbox.call(module, function, *args, callbacks=callbacks, timeout=timeout,
                                    kwargs=kwargs)
    except StudentError as e:
        failure = GradeFailure(f"{module}.{function}: " + e.describe(),
                               STUB if e.type == "NotImplementedError" else "")
        raise _sharpen(checked or function, failure) from None


def call_echo(student, module, function, *args, callbacks, echo, timeout=None, checked=None):
    """module.function(*args) in the worker, with `echo` (indices of positional arguments)
    sent back as the student's code left them. Returns (value, echoed, None), or (None,
    echoed, the StudentError) when the function raised: the caller decides whether that
    exception was the right outcome. Timeouts, crashes and the rest are GradeFailures."""
    __tracebackhide__ = True
    try:
        value, echoed = student.sandbox.call(module, function, *args, callbacks=callbacks, timeout=timeout,
                                             echo=echo)
        return value, echoed, None
    except StudentError as e:
        if e.kind == "exception" and e.type != "NotImplementedError" and e.echo is not None:
            return None, e.echo, e
        failure = GradeFailure(f"{module}.{function}: " + e.describe(),
                               STUB if e.type == "NotImplementedError" else "")
        raise _sharpen(checked or function, failure) from None


def call_then(student, module, function, *args, then, callbacks=None, timeout=None, checked=None):
    """module.function(*args), then methods of its value, all in the worker (no helper of
    the student's in between): call_then(s, "ex15_capstone", "student_ops", then=[(name,
    (dout, cache), {})]) is student_ops().<name>(dout, cache)."""
    __tracebackhide__ = True
    try:
        return student.sandbox.call(module, function, *args, callbacks=callbacks, timeout=timeout, then=then)
    except StudentError as e:
        failure = GradeFailure(f"{module}.{function}: " + e.describe(),
                               STUB if e.type == "NotImplementedError" else "")
        raise _sharpen(checked or function, failure) from None


def expect_exact(got, names, *, function, reference, args, magnitude, terms, depth=2, variants=None,
                 dtype=None):
    """Check a backward pass against its exact answer, at the tolerance the mathematics allows.

    The expected values are reference(*args) computed in float64 from exactly the same inputs
    (grader.checks.in_float64), so a float32 answer is judged against the exact answer, not the
    reference's own float32 round-off. The tolerance of each output is grader.checks.tolerance:
    safety x (terms + depth) x eps(dtype) x magnitude / |expected|, where magnitude(|args[0]|,
    *args[1:]) (grader/hidden/magnitude.py, in float64) gives the sum of |terms| behind every
    entry. variants(*args64) returns the known mistakes, computed in float64 too. dtype: the
    answer's (default: args[0]'s, or float64 for a number).
    """
    __tracebackhide__ = True
    args64 = in_float64(tuple(args))
    if dtype is None:
        dtype = args[0].dtype if isinstance(args[0], np.ndarray) else np.float64
    exact = reference(*args64)
    names = tuple(names)
    first = np.abs(np.asarray(args64[0], dtype=np.float64))
    bound = magnitude(first if first.ndim else float(first), *args64[1:])
    rtol = tolerances(dtype, names, exact, bound, terms=terms, depth=depth)
    expect(got, exact, names, function=function, rtol=rtol, dtype=dtype,
           variants=variants(*args64) if variants else ())
    return exact


FACTORS = (1.5, 0.5, 2.0, 0.25, 3.0, 0.75)


def altered_pieces(names):
    """Reference pieces that are observably different: output i of each is scaled by
    FACTORS[i], and the pieces record the calls they get: (callbacks, calls).

    A composite that uses ops follows them; one that calls its own pieces (or tt's) does not.
    The callbacks take ops too (ops.attention_backward(..., ops)), and ignore it.
    """
    calls = []

    def piece(name):
        ref = getattr(tt, name)

        def fn(dout, cache, ops=None):
            calls.append(name)
            out = ref(dout, cache)
            if isinstance(out, tuple):
                return tuple(None if o is None else o * f for o, f in zip(out, FACTORS))
            return out * FACTORS[0]
        return fn
    return {name: piece(name) for name in names}, calls


def expect_follows_ops(student, module, function, dout, cache, names, pieces, rtol=1e-9):
    """The composite `function`, given altered pieces as ops, returns what the reference
    composite returns with those same pieces (a float64 case: rtol far above its round-off).

    Its own pieces instead of ops would charge a mistake of theirs twice (and in exercise
    15 hide the student's own): the diagnosis names the piece it did not call.
    """
    __tracebackhide__ = True
    from grader.sandbox import CALLBACKS
    import types
    callbacks, calls = altered_pieces(pieces)
    got = call_with(student, module, function, dout, cache, CALLBACKS, callbacks=callbacks)
    unused = [p for p in pieces if p not in calls]
    expected = getattr(tt, function)(dout, cache, types.SimpleNamespace(**altered_pieces(pieces)[0]))
    ignored = ("it does not use the pieces it is given in ops: " +
               (f"ops.{unused[0]} was never called; " if unused else "") +
               "call ops.<piece>(...) for every piece (exercise 15 passes your own pieces through ops, and a "
               "mistake in a piece must not be charged twice)")
    reference = getattr(tt, function)(dout, cache)
    if unused:
        raise GradeFailure(f"{function}: ops.{unused[0]} was not called", ignored)
    if isinstance(expected, tuple) and len(expected) == 2 and isinstance(expected[1], dict):
        expect(got[0] if isinstance(got, tuple) else got, expected[0], ("dx",), function=function, rtol=rtol,
               variants=[(ignored, {"dx": reference[0]})])
        expect_dict(got[1], expected[1], "grads", function=function, rtol=rtol,
                    variants=[(ignored, reference[1])])
        return
    expect(got, expected, names, function=function, rtol=rtol,
           variants=[(ignored, dict(zip(names, reference)) if len(names) > 1 else {names[0]: reference})])


def ops_recorder(names):
    """Reference pieces as callbacks that note which of them were called without `ops`.

    Returns (callbacks, missed): pass callbacks to call_with, then require_ops(function, missed).
    """
    missed = []

    def piece(name):
        ref = getattr(tt, name)

        def fn(dout, cache, ops=None):
            if ops is None:
                missed.append(name)
            return ref(dout, cache)
        return fn
    return {name: piece(name) for name in names}, missed


def require_ops(function, missed):
    """GradeFailure if a composite piece was called without handing `ops` on."""
    __tracebackhide__ = True
    if missed:
        raise GradeFailure(f"{function}: ops.{missed[0]} was called without ops",
                           f"pass ops on, as in ops.{missed[0]}(..., ops): with your own pieces (exercise 15) "
                           f"the pieces inside would otherwise fall back to tt's, which you do not have")


def raised(student, module, function, *args):
    """The exception type name of a call that should raise, or "" if it returned."""
    __tracebackhide__ = True
    try:
        student.sandbox.call(module, function, *args)
    except StudentError as e:
        if e.type == "NotImplementedError":
            raise GradeFailure(f"{module}.{function}: " + e.describe(), STUB) from None
        if e.kind != "exception":
            raise GradeFailure(f"{module}.{function}: " + e.describe()) from None
        return e.type or "BaseException"
    return ""


def upstream(rng, shape, dtype=np.float64):
    """A random upstream gradient: normal entries with uneven scales, so a gradient
    that ignores dout, or sums it the wrong way, cannot pass by symmetry."""
    return (rng.standard_normal(shape) * rng.uniform(0.5, 1.5, shape)).astype(dtype)


# ------------------------------------------------------------------------- checks
def _kind(x) -> str:
    __tracebackhide__ = True
    if isinstance(x, np.ndarray):
        return f"an array of shape {x.shape}"
    return "None" if x is None else f"a {type(x).__name__}"


def number(got, name, function):
    """`got` as a float, or GradeFailure if it is not a real number (a bool is not)."""
    __tracebackhide__ = True
    if isinstance(got, np.ndarray) and got.shape == () and got.dtype.kind in "iuf":
        got = got[()]
    if isinstance(got, (bool, np.bool_)) or not isinstance(got, (int, float, np.integer, np.floating)):
        raise GradeFailure(f"{function}: {name} should be a number, but it is {_kind(got)}")
    return float(got)


def _close(a, b, rtol):
    __tracebackhide__ = True
    return math.isfinite(a) and abs(a - b) <= rtol * max(abs(b), 1e-300)


def expect_number(got, expected, name, *, function, rtol=1e-9, variants=(), python_float=False):
    """One number against the expected one: a real number, finite, then |err| <= rtol.

    variants: (diagnosis, wrong value) pairs. python_float: a float is required (not an
    int, not a NumPy float32).
    """
    __tracebackhide__ = True
    value = number(got, name, function)
    if python_float and not isinstance(got, float):
        raise GradeFailure(f"{function}: {name} should be a Python float, but it is {_kind(got)}",
                           "convert with float(...)")
    if not math.isfinite(value):
        raise GradeFailure(f"{function}: {name} is {value}, not a finite number")
    err = abs(value - expected) / max(abs(expected), 1e-300)
    if err <= rtol:
        return
    loose = max(rtol, 1e-6)         # a variant computed in float64 matches a float32 version of it
    diagnosis = next((label for label, wrong in variants if _close(value, wrong, loose)), "")
    raise GradeFailure(f"{function}: {name} is wrong: relative error {err:.2e} (tolerance {rtol:.0e})",
                       diagnosis)


def floats(got, name, function, length=None):
    """A list (or tuple) of real numbers as a float64 array, or GradeFailure."""
    __tracebackhide__ = True
    if not isinstance(got, (list, tuple)):
        raise GradeFailure(f"{function}: {name} should be a list of numbers, but it is {_kind(got)}")
    if length is not None and len(got) != length:
        raise GradeFailure(f"{function}: {name} should have {length} entries, but it has {len(got)}")
    return np.array([number(v, f"{name}[{i}]", function) for i, v in enumerate(got)], dtype=np.float64)


def expect_floats(got, expected, name, *, function, rtol=1e-9, variants=()):
    """A list of numbers against the expected list: length, numbers, finite, relative error.

    variants: (diagnosis, wrong list) pairs.
    """
    __tracebackhide__ = True
    expected = np.asarray(expected, dtype=np.float64)
    values = floats(got, name, function, len(expected))
    expect(values, expected, (name,), function=function, rtol=rtol, exact_dtype=False,
           variants=[(label, {name: np.asarray(wrong, dtype=np.float64)}) for label, wrong in variants
                     if np.shape(wrong) == expected.shape])


def expect_keys(got, expected_keys, name, function, ordered=False, order_hint=""):
    """`got` is a dict with exactly these keys (in this order, if `ordered`; `order_hint`
    is the diagnosis when only the order is wrong)."""
    __tracebackhide__ = True
    if not isinstance(got, dict):
        raise GradeFailure(f"{function}: {name} should be a dict, but it is {_kind(got)}")
    keys = list(expected_keys)
    missing = [k for k in keys if k not in got]
    extra = [k for k in got if k not in keys]
    if missing or extra:
        what = f"the keys {keys}" if len(keys) <= 8 else f"{len(keys)} keys"
        raise GradeFailure(f"{function}: {name} should have exactly {what}; "
                           f"missing {missing[:10]}, unexpected {extra[:10]}")
    if ordered and list(got) != keys:
        raise GradeFailure(f"{function}: {name} has the right keys in the wrong order: {list(got)}", order_hint)


def expect_dict(got, expected, name, *, function, rtol=1e-6, variants=(), exact_dtype=True, ordered=False,
                dtype=None):
    """A dict of arrays against the expected dict, key by key, in the expected order.

    variants: (diagnosis, {key: wrong array}) pairs. rtol: a number or {key: rtol}. dtype: as
    for expect() (a float64 reference of a float32 computation).
    """
    __tracebackhide__ = True
    tol = (lambda key: rtol[key]) if isinstance(rtol, dict) else (lambda key: rtol)
    expect_keys(got, expected, name, function, ordered)
    # a variant that explains every key it names is the diagnosis, and only those: two mistakes can
    # agree on one key (an array below max_norm is left alone by per-array clipping and by clamping)
    whole = [(diag, wrong) for diag, wrong in variants
             if all(k in got and matches(got[k], v, max(tol(k), 1e-6)) for k, v in wrong.items())]
    for key, want in expected.items():
        label = f"{name}[{key!r}]"
        expect(got[key], want, (label,), function=function, rtol=tol(key), exact_dtype=exact_dtype, dtype=dtype,
               variants=[(diag, {label: wrong[key]}) for diag, wrong in (whole or list(variants)) if key in wrong])


def expect_number_dict(got, expected, name, *, function, rtol=1e-9, variants=(), ordered=True, order_hint=""):
    """A dict of numbers against the expected dict (keys, then each value).

    variants: (diagnosis, {key: wrong number}) pairs.
    """
    __tracebackhide__ = True
    expect_keys(got, expected, name, function, ordered, order_hint)
    for key, want in expected.items():
        expect_number(got[key], want, f"{name}[{key!r}]", function=function, rtol=rtol,
                      variants=[(diag, wrong[key]) for diag, wrong in variants if key in wrong])


def expect_equal(got, expected, name, *, function, what, variants=()):
    """An exact answer (a str, an int, a bool): `what` describes the case, never the answer."""
    __tracebackhide__ = True
    if type(got) is type(expected) and got == expected:
        return
    if isinstance(expected, str) and not isinstance(got, str):
        raise GradeFailure(f"{function}: {name} should be a str, but it is {_kind(got)}")
    diagnosis = next((label for label, wrong in variants if got == wrong), "")
    raise GradeFailure(f"{function}: {name} is wrong for {what} (it returned {str(got)[:60]!r})", diagnosis)
