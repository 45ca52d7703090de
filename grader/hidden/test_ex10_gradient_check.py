"""Hidden checks of exercise 10: rel_error, numerical_gradient, check_gradient,
quadratic_derivative and check_op.

numerical_gradient and check_op take functions, which cannot travel to the worker.
The exercise file has two given helpers that build them there:
_numerical_gradient_probe(x, w, u, eps, raise_at) differentiates
f() = sum(w * sin(x)) + (sum(u * x))^2 / 2, and _check_op_probe(forward, inputs, wrt, ops,
seed, eps) checks tt.<forward> against ops.backward, a backward pass of this process
(the reference, or a deliberately wrong one) offered as a callback.
"""
import numpy as np
import pytest

import tt
import tt.gradcheck
from grader.checks import GradeFailure, expect
from grader.hidden.support import call, call_with, expect_equal, expect_number
from grader.sandbox import CALLBACKS

MODULE = "ex10_gradient_check"
TOL = 1e-7          # the seed's tolerance: a correct backward pass is well inside it
WRONG = 1e-4        # a wrong backward pass must be reported at least this far off


# ------------------------------------------------------------------------ rel_error
def rel_error_variants(a, b):
    d = np.abs(a - b)
    return [("the denominator is max|a| + max|b|; it should be max(|a| + |b|), the largest "
             "sum over the same entry", d.max() / (np.abs(a).max() + np.abs(b).max())),
            ("the denominator is max|a| alone; it should be max(|a| + |b|)", d.max() / np.abs(a).max()),
            ("the denominator is max|b| alone; it should be max(|a| + |b|)", d.max() / np.abs(b).max()),
            ("that is the mean of |a - b|, not its maximum", d.mean() / (np.abs(a) + np.abs(b)).max()),
            ("that is the largest entrywise ratio |a_i - b_i| / (|a_i| + |b_i|); the two maxima are "
             "taken separately", np.max(d / (np.abs(a) + np.abs(b)))),
            ("that uses L2 norms; rel_error uses maxima", np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b)))]


@pytest.mark.points(2)
def test_rel_error_random(student, rng):
    """rel_error of random arrays of shape (3, 4, 5): a pair that nearly agrees and a pair that does not."""
    a = rng.standard_normal((3, 4, 5)) * rng.uniform(0.1, 3.0, (3, 4, 5))
    for b, what in ((a * (1 + 1e-6 * rng.standard_normal(a.shape)), "a pair that nearly agrees"),
                    (rng.standard_normal(a.shape), "an unrelated pair")):
        got = call(student, MODULE, "rel_error", a, b)
        expect_number(got, tt.gradcheck.rel_error(a, b), f"rel_error of {what}", function="rel_error",
                      rtol=1e-9, variants=rel_error_variants(a, b), python_float=True)


@pytest.mark.points(1)
def test_rel_error_zeros_and_nan(student, rng):
    """rel_error of two all-zero arrays is 0.0 (not a 0/0), and of an array with a NaN is NaN."""
    z = np.zeros((2, 3))
    got = call(student, MODULE, "rel_error", z, z.copy())
    if isinstance(got, (float, np.floating)) and np.isnan(got):
        raise GradeFailure("rel_error of two all-zero arrays is nan, but they are equal: it should be 0.0",
                           "0 / 0 is nan: guard the denominator with a tiny floor, max(scale, 1e-300)")
    expect_number(got, 0.0, "rel_error of two all-zero arrays", function="rel_error",
                  rtol=0.0, python_float=True)
    a = rng.standard_normal(5)
    b = a.copy()
    b[int(rng.integers(5))] = np.nan
    got = call(student, MODULE, "rel_error", a, b)
    if not (isinstance(got, (float, np.floating)) and np.isnan(got)):
        raise GradeFailure(f"rel_error: with a NaN in one array the result should be NaN (so that "
                           f"err <= tol fails), but it is {str(got)[:40]}",
                           "np.max propagates a NaN; np.nanmax or a comparison that drops NaN does not")


# ------------------------------------------------------------------- check_gradient
def check_gradient(student, analytic, numerical, *args):
    got = call(student, MODULE, "check_gradient", analytic, numerical, *args)
    if not isinstance(got, (bool, np.bool_)):
        raise GradeFailure(f"check_gradient should return a bool, but it returned a {type(got).__name__}")
    return bool(got)


@pytest.mark.points(2)
def test_check_gradient_agreement(student, rng):
    """check_gradient is True when the relative error is 10x inside the tolerance and False when 10x outside, for the default 1e-7 and a given tolerance."""
    g = rng.standard_normal((4, 6))
    for tolerance in (None, 10.0 ** rng.integers(-6, -2)):
        tol = TOL if tolerance is None else tolerance
        extra = () if tolerance is None else (tolerance,)
        for factor, want in ((0.1, True), (10.0, False)):
            numerical = g.copy()
            i = tuple(int(rng.integers(n)) for n in g.shape)
            numerical[i] += factor * tol * 2 * np.abs(g).max()      # rel error = factor * tol
            got = check_gradient(student, g, numerical, *extra)
            expect_equal(got, want, "check_gradient", function="check_gradient",
                         what=f"a relative error {factor:g} x the tolerance {tol:g}"
                              + ("" if tolerance is not None else " (the default)"))


@pytest.mark.points(1)
def test_check_gradient_nan_and_shapes(student, rng):
    """check_gradient is False when the numerical gradient holds a NaN, and when the shapes differ (even if broadcasting would make them agree)."""
    g = rng.standard_normal(5)
    bad = g.copy()
    bad[int(rng.integers(5))] = np.nan
    expect_equal(check_gradient(student, g, bad), False, "check_gradient", function="check_gradient",
                 what="a numerical gradient with a NaN",
                 variants=[("write the test as err <= tolerance: `not err > tolerance` passes a NaN", True)])
    expect_equal(check_gradient(student, g[None, :], g.copy()), False, "check_gradient",
                 function="check_gradient", what="gradients of shapes (1, 5) and (5,) with equal values",
                 variants=[("compare the shapes first: broadcasting makes (1, 5) and (5,) look equal", True)])


# -------------------------------------------------------------- quadratic_derivative
@pytest.mark.points(1)
def test_quadratic_derivative(student, rng):
    """f'(x) = 2x + 3 for a float64 array, a float32 array (kept float32) and a Python float."""
    for dtype in (np.float64, np.float32):
        x = (3 * rng.standard_normal(7)).astype(dtype)
        got = call(student, MODULE, "quadratic_derivative", x)
        expect(got, (2 * x + 3).astype(dtype), ("f'(x)",), function="quadratic_derivative", rtol=1e-6,
               variants=[("the constant term's derivative is 3: d(3x)/dx = 3", {"f'(x)": 2 * x}),
                         ("that is f(x) itself, not its derivative", {"f'(x)": x * x + 3 * x + 2})])
    x = float(rng.uniform(-5, 5))
    expect_number(call(student, MODULE, "quadratic_derivative", x), 2 * x + 3, "f'(x) of a float",
                  function="quadratic_derivative", rtol=1e-12)


# --------------------------------------------------------------- numerical_gradient
def f_of(x, w, u):
    """The probe's function, here: f(x) = sum(w * sin(x)) + (sum(u * x))^2 / 2."""
    return float(np.sum(w * np.sin(x)) + 0.5 * np.sum(u * x) ** 2)


def probe_case(rng, shape=(2, 3, 4)):
    return rng.standard_normal(shape), rng.uniform(0.5, 2.0, shape), 0.3 * rng.standard_normal(shape)


def one_sided(x, w, u, eps):
    x = x.copy()
    f0, grad = f_of(x, w, u), np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        grad[i] = (f_of(x, w, u) - f0) / eps
        x[i] = old
    return grad


def central(x, w, u, eps):
    x = x.copy()
    return tt.gradcheck.numerical_gradient(lambda: f_of(x, w, u), x, eps)


def probe(student, x, w, u, eps=1e-5, raise_at=0):
    got = call(student, MODULE, "_numerical_gradient_probe", x, w, u, eps, raise_at, checked="numerical_gradient")
    if not (isinstance(got, tuple) and len(got) == 3):
        raise GradeFailure("_numerical_gradient_probe did not return (gradient, x, calls): restore that "
                           "helper as it came with the exercise file")
    return got


@pytest.mark.points(3)
def test_numerical_gradient_random(student, rng):
    """The central-difference gradient of a non-separable f(x) = sum(w * sin(x)) + (sum(u * x))^2 / 2 at a random (2, 3, 4) array, against its closed form."""
    x, w, u = probe_case(rng)
    grad, _, _ = probe(student, x, w, u, 1e-4)
    exact = w * np.cos(x) + np.sum(u * x) * u
    expect(grad, exact, ("the gradient",), function="numerical_gradient", rtol=1e-7,
           variants=[("that is a one-sided difference (f(x + eps) - f(x)) / eps; use the central "
                      "difference (f(x + eps) - f(x - eps)) / (2 eps)", {"the gradient": one_sided(x, w, u, 1e-4)}),
                     ("it is twice the gradient: divide by 2 eps, the distance between x - eps and x + eps",
                      {"the gradient": 2 * exact})])


@pytest.mark.points(1)
def test_numerical_gradient_uses_eps(student, rng):
    """With eps = 1e-2 the result is the central difference at that eps (not at the default 1e-5)."""
    x, w, u = probe_case(rng, (3, 5))
    grad, _, _ = probe(student, x, w, u, 1e-2)
    expect(grad, central(x, w, u, 1e-2), ("the gradient",), function="numerical_gradient", rtol=1e-8,
           variants=[("eps is ignored: nudge by the eps you are given",
                      {"the gradient": central(x, w, u, 1e-5)}),
                     ("that is a one-sided difference; use the central one",
                      {"the gradient": one_sided(x, w, u, 1e-2)}),
                     ("it is twice the central difference: divide by 2 eps",
                      {"the gradient": 2 * central(x, w, u, 1e-2)})])


@pytest.mark.points(1)
def test_numerical_gradient_restores_x(student, rng):
    """Every entry of x is put back exactly, and f is called twice per entry."""
    x, w, u = probe_case(rng, (4, 3))
    _, after, calls = probe(student, x, w, u)
    if not (isinstance(after, np.ndarray) and after.shape == x.shape and np.array_equal(after, x)):
        raise GradeFailure("numerical_gradient: x is not exactly as it was afterwards",
                           "save x[i] before nudging it and write the saved value back; x[i] + eps - eps "
                           "is not always x[i] in floating point")
    if calls != 2 * x.size:
        raise GradeFailure(f"numerical_gradient: f was called {calls} times for an x of {x.size} entries",
                           "a central difference takes two calls of f per entry, f(x + eps e_i) and f(x - eps e_i)")


@pytest.mark.points(1)
def test_numerical_gradient_restores_x_when_f_raises(student, rng):
    """When f raises in the middle of the loop, the exception propagates and x is still restored."""
    x, w, u = probe_case(rng, (3, 4))
    grad, after, _ = probe(student, x, w, u, 1e-5, int(rng.integers(3, 2 * x.size)))
    if grad is not None:
        raise GradeFailure("numerical_gradient: f raised an exception, but numerical_gradient returned a result",
                           "let f's exception propagate (restore x in a `finally:`, but do not swallow the error)")
    if not (isinstance(after, np.ndarray) and np.array_equal(after, x)):
        raise GradeFailure("numerical_gradient: after f raised, x was left nudged",
                           "restore x[i] in a `finally:` block, so that it happens even when f raises")


# ------------------------------------------------------------------------- check_op
def check_op(student, forward, inputs, wrt, backward, seed, eps=1e-5):
    """(errors, inputs afterwards) of the student's check_op, run in the worker on
    tt.<forward> with `backward` (a function of this process) as the backward pass."""
    got = call_with(student, MODULE, "_check_op_probe", forward, inputs, list(wrt), CALLBACKS, seed, eps,
                    callbacks={"backward": backward}, checked="check_op")
    if not (isinstance(got, tuple) and len(got) == 2):
        raise GradeFailure("_check_op_probe did not return (errors, inputs): restore that helper as it came "
                           "with the exercise file")
    errors, after = got
    if not isinstance(errors, dict):
        raise GradeFailure(f"check_op should return a dict {{label: relative error}}, not a {type(errors).__name__}")
    for label, err in errors.items():
        if isinstance(err, (bool, np.bool_)) or not isinstance(err, (int, float, np.integer, np.floating)):
            raise GradeFailure(f"check_op: the error for {label!r} should be a number, not a {type(err).__name__}")
    return {k: float(v) for k, v in errors.items()}, after


def labels_of(inputs, wrt):
    return {label for n in wrt
            for label in ([f"{n}.{k}" for k in inputs[n]] if isinstance(inputs[n], dict) else [n])}


def assert_labels(errors, inputs, wrt, what):
    want = labels_of(inputs, wrt)
    if set(errors) != want:
        raise GradeFailure(f"check_op on {what}: the labels should be {sorted(want)}, but they are {sorted(errors)[:12]}",
                           "one entry per checked array: its name, or 'name.key' inside a dict input")


def assert_correct(errors, what, diagnosis="", student=None):
    for label, err in errors.items():
        if not err <= TOL:
            if student is not None and not numerical_gradient_works(student):
                diagnosis = ("check_op relies on your numerical_gradient, which fails its own check "
                             "(see test_numerical_gradient_random): fix that first")
            raise GradeFailure(f"check_op on {what}: {label!r} has relative error {err:.2e}, but that backward "
                               f"pass is correct (a right check gives about 1e-9 or less)", diagnosis)


def numerical_gradient_works(student):
    """Whether the student's numerical_gradient is right on a small fixed case (for a diagnosis)."""
    r = np.random.default_rng(7)
    x, w, u = probe_case(r, (2, 3))
    try:
        grad, _, _ = probe(student, x, w, u, 1e-4)
    except GradeFailure:
        return False
    exact = w * np.cos(x) + np.sum(u * x) * u
    return isinstance(grad, np.ndarray) and grad.shape == x.shape and \
        bool(np.max(np.abs(grad - exact)) <= 1e-7 * np.max(np.abs(exact)))


def assert_caught(errors, label, what, diagnosis=""):
    err = errors.get(label)
    if err is None or err <= WRONG:
        raise GradeFailure(f"check_op on {what}: {label!r} has relative error "
                           f"{'(none)' if err is None else f'{err:.2e}'}, but that backward pass is wrong and the "
                           f"check should report it (an error of 1e-4 or more)", diagnosis)


def layernorm_case(rng, dtype=np.float64):
    return {"x": (2 * rng.standard_normal((2, 3, 8)) + 0.5).astype(dtype),
            "gamma": (1 + 0.5 * rng.standard_normal(8)).astype(dtype),
            "beta": (0.3 * rng.standard_normal(8)).astype(dtype)}


def linear_case(rng):
    return {"x": rng.standard_normal((2, 3, 4)), "W": rng.standard_normal((4, 5)), "b": rng.standard_normal(5)}


@pytest.mark.points(2)
def test_check_op_passes_correct_backward(student, rng):
    """check_op of tt's LayerNorm and linear forwards with correct backward passes: every input labelled, every error <= 1e-7."""
    for forward, inputs, wrt, backward in (
            ("layernorm_forward", layernorm_case(rng), ("x", "gamma", "beta"), tt.layernorm_backward),
            ("linear_forward", linear_case(rng), ("x", "W", "b"), tt.linear_backward)):
        errors, _ = check_op(student, forward, inputs, wrt, backward, int(rng.integers(1000)))
        assert_labels(errors, inputs, wrt, f"tt.{forward}")
        assert_correct(errors, f"tt.{forward}", student=student)


@pytest.mark.points(2)
def test_check_op_catches_wrong_backward(student, rng):
    """check_op reports a LayerNorm backward without its correction terms, and a linear backward whose dW is 0.1% too large, and only the wrong gradient."""
    def direct_only(dout, cache):
        _, dgamma, dbeta = tt.layernorm_backward(dout, cache)
        return dout * cache.gamma * cache.rstd, dgamma, dbeta

    def dW_too_large(dout, cache):
        dx, dW, db = tt.linear_backward(dout, cache)
        return dx, dW * 1.001, db

    for forward, inputs, wrt, backward, wrong in (
            ("layernorm_forward", layernorm_case(rng), ("x", "gamma", "beta"), direct_only, "x"),
            ("linear_forward", linear_case(rng), ("x", "W", "b"), dW_too_large, "W")):
        errors, _ = check_op(student, forward, inputs, wrt, backward, int(rng.integers(1000)))
        assert_labels(errors, inputs, wrt, f"tt.{forward}")
        assert_caught(errors, wrong, f"tt.{forward} with a wrong d{wrong}")
        assert_correct({k: v for k, v in errors.items() if k != wrong},
                       f"tt.{forward} (only d{wrong} is wrong)", student=student)


@pytest.mark.points(1)
def test_check_op_random_upstream_gradient(student, rng):
    """check_op uses a random upstream gradient: it passes a correct softmax backward and catches a linear backward that ignores dout (right only for dout = ones)."""
    errors, _ = check_op(student, "softmax_forward", {"x": rng.standard_normal((4, 7))}, ("x",),
                         tt.softmax_backward, int(rng.integers(1000)))
    ones = ("use a random upstream gradient dout, not ones: softmax rows sum to 1, so with dout = ones "
            "the true gradient is zero and the check measures nothing but round-off")
    assert_correct(errors, "tt.softmax_forward", ones, student=student)

    def ignores_dout(dout, cache):          # the gradients for dout = ones, whatever dout is
        return tt.linear_backward(np.ones_like(dout), cache)

    errors, _ = check_op(student, "linear_forward", linear_case(rng), ("x", "W", "b"), ignores_dout,
                         int(rng.integers(1000)))
    assert_caught(errors, "x", "tt.linear_forward with a backward that ignores dout",
                  "use a random upstream gradient dout: with dout = ones, a backward that ignores dout looks right")


@pytest.mark.points(1)
def test_check_op_dict_input(student, rng):
    """check_op of tt.block_forward (a small block): a dict of parameters is checked key by key, and the int H passes through."""
    C, F = 4, 3
    shapes = {"W_q": (C, C), "W_k": (C, C), "W_v": (C, C), "W_o": (C, C), "ln1.gamma": (C,), "ln1.beta": (C,),
              "W1": (C, F), "b1": (F,), "W2": (F, C), "b2": (C,), "ln2.gamma": (C,), "ln2.beta": (C,)}
    while True:         # keep every ReLU input away from its kink, where differences break down
        p = {k: (1 + 0.3 * rng.standard_normal(s)) if k.endswith("gamma") else 0.7 * rng.standard_normal(s)
             for k, s in shapes.items()}
        x = rng.standard_normal((1, 3, C))
        if np.min(np.abs(tt.block_forward(x, p, 1)[1].ffn.relu.x)) > 1e-2:
            break
    inputs = {"x": x, "p": p, "H": 1}
    errors, _ = check_op(student, "block_forward", inputs, ("x", "p"), tt.block_backward, int(rng.integers(1000)))
    assert_labels(errors, inputs, ("x", "p"), "tt.block_forward")
    assert_correct(errors, "tt.block_forward", student=student)


@pytest.mark.points(1)
def test_check_op_float32_inputs(student, rng):
    """float32 inputs are checked on float64 copies (errors <= 1e-7) and the caller's arrays are left unchanged."""
    inputs = layernorm_case(rng, np.float32)
    errors, after = check_op(student, "layernorm_forward", inputs, ("x", "gamma", "beta"), tt.layernorm_backward,
                             int(rng.integers(1000)))
    assert_labels(errors, inputs, ("x", "gamma", "beta"), "float32 LayerNorm inputs")
    assert_correct(errors, "float32 LayerNorm inputs", "convert the float inputs to float64 copies first: a "
                                                      "central difference in float32 is good to 1e-3 at best",
                   student=student)
    for name, value in inputs.items():
        a = after.get(name) if isinstance(after, dict) else None
        if not (isinstance(a, np.ndarray) and a.dtype == value.dtype and np.array_equal(a, value)):
            raise GradeFailure(f"check_op changed the caller's input {name!r}",
                               "work on float64 copies (value.astype(np.float64) makes one); never nudge or "
                               "convert the caller's arrays")


@pytest.mark.points(1)
def test_check_op_wrong_shape(student, rng):
    """A gradient with the right numbers in the wrong shape ((1, n) for an (n,) input) is reported, not hidden by broadcasting."""
    def keeps_row_axis(dout, cache):
        dx, dgamma, dbeta = tt.layernorm_backward(dout, cache)
        return dx, dgamma[None, :], dbeta

    errors, _ = check_op(student, "layernorm_forward", layernorm_case(rng), ("x", "gamma", "beta"),
                         keeps_row_axis, int(rng.integers(1000)))
    assert_caught(errors, "gamma", "a dgamma of shape (1, 8) for gamma of shape (8,)",
                  "compare the shapes before the values and report inf for a mismatch: broadcasting "
                  "(1, 8) against (8,) hides the wrong shape")
