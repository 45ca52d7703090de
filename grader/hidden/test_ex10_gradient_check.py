"""Hidden checks of exercise 10: rel_error, numerical_gradient, check_gradient,
quadratic_derivative and check_op.

numerical_gradient and check_op take functions. They get functions of THIS process,
as callbacks (grader.sandbox.Callback), and nothing the student's code says about
itself is taken on trust:

- numerical_gradient(f, x, eps) gets an f() that runs here on the worker's x as the
  student's code has nudged it (Callback("f", bind=(1,))). f is
  sum(w * sin(x)) + (sum(u * x))^2 / 2 with w and u kept here, so its gradient can only
  be found by calling it. This process counts the calls, sees every x they were made
  at, and gets x back after the call (echo) to see that it was restored.
- check_op(forward, backward, inputs, wrt, seed, eps) gets tt's forward pass and a
  backward pass (the reference, or a deliberately wrong one) that run here. Every test
  asks for both verdicts: a backward wrong in exactly one gradient must be reported
  there AND pass everywhere else (or a right backward must pass beside a wrong one), so
  a check_op that always says 0, or always says wrong, earns nothing.
"""
import numpy as np
import pytest

import tt
import tt.gradcheck
from grader.checks import GradeFailure, expect
from grader.hidden.support import call, call_echo, expect_equal, expect_number
from grader.sandbox import Callback

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
            ("that uses L2 norms; rel_error uses maxima", np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b))),
            ("the absolute value of a - b is missing: the largest gap is max|a - b|, whichever sign it has",
             np.max(a - b) / (np.abs(a) + np.abs(b)).max())]


@pytest.mark.points(2)
def test_rel_error_random(student, rng):
    """rel_error of random arrays of shape (3, 4, 5): a pair that nearly agrees and a pair that does not."""
    a = rng.standard_normal((3, 4, 5)) * rng.uniform(0.1, 3.0, (3, 4, 5))
    near = a * (1 + 1e-6 * rng.standard_normal(a.shape))
    i = np.unravel_index(np.argmax(np.abs(a - near)), a.shape)
    if a[i] - near[i] > 0:            # the largest gap negative: max(a - b) without |.| is then told apart
        near[i] = 2 * a[i] - near[i]
    for b, what in ((near, "a pair that nearly agrees"), (rng.standard_normal(a.shape), "an unrelated pair")):
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
    """f(x) = sum(w * sin(x)) + (sum(u * x))^2 / 2."""
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


def not_restored(x, w, u, eps):
    """The central difference with every entry left at x - eps after its turn (never put back)."""
    x, grad = x.copy(), np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        up = f_of(x, w, u)
        x[i] = old - eps
        grad[i] = (up - f_of(x, w, u)) / (2 * eps)
    return grad


NOT_RESTORED = ("each entry is left nudged (at x - eps) after its turn, so the later entries are differentiated "
                "at a shifted x: put every entry back (x[i] = saved) before nudging the next")


def central(x, w, u, eps):
    x = x.copy()
    return tt.gradcheck.numerical_gradient(lambda: f_of(x, w, u), x, eps)


class Planted(Exception):
    """What f raises on purpose, in the check that numerical_gradient lets it through."""


class SecretF:
    """f for the worker's numerical_gradient, run here on the x it has nudged: w and u
    never leave this process. Every call is counted and the x it saw is kept."""

    def __init__(self, x, w, u, raise_at=0, token=""):
        self.x0, self.w, self.u, self.raise_at, self.token = x.copy(), w, u, raise_at, token
        self.seen = []

    def __call__(self, x_now):
        if not (isinstance(x_now, np.ndarray) and x_now.shape == self.x0.shape):
            raise TypeError("f reads the x numerical_gradient was given: nudge that array in place")
        if len(self.seen) >= 4 * self.x0.size + 8:
            raise RuntimeError(f"f was called more than {len(self.seen)} times for {self.x0.size} entries")
        self.seen.append(np.array(x_now, dtype=np.float64))
        if len(self.seen) == self.raise_at:
            raise Planted(self.token)
        return f_of(x_now, self.w, self.u)


def numerical_gradient(student, x, w, u, eps, raise_at=0, token=""):
    """(gradient, x afterwards, the error it raised or None, the SecretF) of the student's
    numerical_gradient(f, x, eps)."""
    f = SecretF(x, w, u, raise_at, token)
    grad, (after,), error = call_echo(student, MODULE, "numerical_gradient", Callback("f", bind=(1,)), x, eps,
                                      callbacks={"f": f}, echo=(1,))
    if error is not None and not raise_at:
        raise GradeFailure(f"{MODULE}.numerical_gradient: " + error.describe())
    return grad, after, error, f


def nudges(f):
    """For each call of f, the entries of x that differed from the x given."""
    return [tuple(np.flatnonzero(seen.reshape(-1) != f.x0.reshape(-1))) for seen in f.seen]


@pytest.mark.points(3)
def test_numerical_gradient_random(student, rng):
    """The central-difference gradient of a non-separable f(x) = sum(w * sin(x)) + (sum(u * x))^2 / 2 (w and u kept by the grader) at a random (2, 3, 4) array, against its closed form."""
    x, w, u = probe_case(rng)
    grad, _, _, _ = numerical_gradient(student, x, w, u, 1e-4)
    exact = w * np.cos(x) + np.sum(u * x) * u
    expect(grad, exact, ("the gradient",), function="numerical_gradient", rtol=1e-7,
           variants=[("that is a one-sided difference (f(x + eps) - f(x)) / eps; use the central "
                      "difference (f(x + eps) - f(x - eps)) / (2 eps)", {"the gradient": one_sided(x, w, u, 1e-4)}),
                     ("it is twice the gradient: divide by 2 eps, the distance between x - eps and x + eps",
                      {"the gradient": 2 * exact}),
                     (NOT_RESTORED, {"the gradient": not_restored(x, w, u, 1e-4)})])


@pytest.mark.points(1)
def test_numerical_gradient_uses_eps(student, rng):
    """With eps = 1e-2 the result is the central difference at that eps (not at the default 1e-5)."""
    x, w, u = probe_case(rng, (3, 5))
    grad, _, _, _ = numerical_gradient(student, x, w, u, 1e-2)
    expect(grad, central(x, w, u, 1e-2), ("the gradient",), function="numerical_gradient", rtol=1e-8,
           variants=[("eps is ignored: nudge by the eps you are given",
                      {"the gradient": central(x, w, u, 1e-5)}),
                     ("that is a one-sided difference; use the central one",
                      {"the gradient": one_sided(x, w, u, 1e-2)}),
                     ("it is twice the central difference: divide by 2 eps",
                      {"the gradient": 2 * central(x, w, u, 1e-2)}),
                     (NOT_RESTORED, {"the gradient": not_restored(x, w, u, 1e-2)})])


@pytest.mark.points(1)
def test_numerical_gradient_restores_x(student, rng):
    """x is nudged one entry at a time, f is called twice per entry, and every entry is put back exactly (seen by the grader at each call of f and afterwards)."""
    x, w, u = probe_case(rng, (4, 3))
    _, after, _, f = numerical_gradient(student, x, w, u, 1e-5)
    changed = nudges(f)
    if any(len(c) != 1 for c in changed):
        bad = next(c for c in changed if len(c) != 1)
        raise GradeFailure(f"numerical_gradient: f was called with {len(bad)} entries of x changed at once",
                           "nudge one entry, call f, and put that entry back (exactly: save it first) before "
                           "nudging the next" if len(bad) > 1 else
                           "every call of f should see one entry nudged: f(x) itself is not needed")
    per_entry = np.bincount([c[0] for c in changed], minlength=x.size)
    if not np.all(per_entry == 2):
        raise GradeFailure(f"numerical_gradient: f was called {len(changed)} times for an x of {x.size} entries, "
                           f"not twice with each entry nudged",
                           "a central difference takes two calls of f per entry, f(x + eps e_i) and f(x - eps e_i)")
    if not (isinstance(after, np.ndarray) and after.shape == x.shape and np.array_equal(after, x)):
        raise GradeFailure("numerical_gradient: x is not exactly as it was afterwards",
                           "save x[i] before nudging it and write the saved value back; x[i] + eps - eps "
                           "is not always x[i] in floating point")


@pytest.mark.points(1)
def test_numerical_gradient_restores_x_when_f_raises(student, rng):
    """When f raises in the middle of the loop, the exception propagates and x is still restored."""
    x, w, u = probe_case(rng, (3, 4))
    token = f"f failed on purpose ({int(rng.integers(1 << 30))})"
    grad, after, error, _ = numerical_gradient(student, x, w, u, 1e-5, int(rng.integers(3, 2 * x.size)), token)
    if error is None or token not in error.message:
        raise GradeFailure("numerical_gradient: f raised an exception, but numerical_gradient "
                           + ("returned a result" if error is None else "raised another one"),
                           "let f's exception propagate (restore x in a `finally:`, but do not swallow the error)")
    if not (isinstance(after, np.ndarray) and np.array_equal(after, x)):
        raise GradeFailure("numerical_gradient: after f raised, x was left nudged",
                           "restore x[i] in a `finally:` block, so that it happens even when f raises")


# ------------------------------------------------------------------------- check_op
def _shapes(value):
    if isinstance(value, dict):
        return {k: _shapes(v) for k, v in value.items()}
    return np.shape(value) if isinstance(value, np.ndarray) else type(value).__name__


class Forward:
    """tt.<name> for the worker's check_op, run here: on inputs shaped like the ones check_op
    was given (nothing larger reaches this process); it notes the float dtypes it saw."""

    def __init__(self, name, inputs):
        self.fn, self.name, self.shapes = getattr(tt, name), name, _shapes(inputs)
        self.calls, self.dtypes = 0, set()

    def __call__(self, *args, **kwargs):
        if args or _shapes(kwargs) != self.shapes:
            raise TypeError(f"call forward(**inputs) with the inputs check_op was given (tt.{self.name} got others)")
        self.calls += 1
        if self.calls > 20_000:
            raise RuntimeError("forward was called far more often than a gradient check needs")

        def floats(v):
            if isinstance(v, dict):
                for x in v.values():
                    floats(x)
            elif isinstance(v, np.ndarray) and v.dtype.kind == "f":
                self.dtypes.add(str(v.dtype))
        floats(kwargs)
        return self.fn(**kwargs)


def check_op(student, forward, inputs, wrt, backward, seed, eps=1e-5):
    """(errors, inputs afterwards, Forward) of the student's check_op on tt.<forward> (run
    here) with `backward` (a function of this process) as the backward pass."""
    fwd = Forward(forward, inputs)
    errors, (after,), error = call_echo(student, MODULE, "check_op", Callback("forward"), Callback("backward"),
                                        inputs, list(wrt), seed, eps,
                                        callbacks={"forward": fwd, "backward": backward}, echo=(2,),
                                        checked="check_op", timeout=30)
    if error is not None:
        raise GradeFailure(f"{MODULE}.check_op: " + error.describe())
    if not isinstance(errors, dict):
        raise GradeFailure(f"check_op should return a dict {{label: relative error}}, not a {type(errors).__name__}")
    for label, err in errors.items():
        if isinstance(err, (bool, np.bool_)) or not isinstance(err, (int, float, np.integer, np.floating)):
            raise GradeFailure(f"check_op: the error for {label!r} should be a number, not a {type(err).__name__}")
    return {k: float(v) for k, v in errors.items()}, after, fwd


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
        grad, _, _, _ = numerical_gradient(student, x, w, u, 1e-4)
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


def check_pair(student, rng, forward, inputs, wrt, wrong, wrong_label, what, caught_hint="", seed=None):
    """The points unit of a check_op test: `wrong`, a backward wrong in the gradient for
    `wrong_label` only, is reported there and passes on every other label. Returns the
    errors, the inputs afterwards and the Forward."""
    seed = int(rng.integers(1000)) if seed is None else seed
    errors, after, fwd = check_op(student, forward, inputs, wrt, wrong, seed)
    assert_labels(errors, inputs, wrt, f"tt.{forward}")
    assert_caught(errors, wrong_label, what, caught_hint)
    assert_correct({k: v for k, v in errors.items() if k != wrong_label},
                   f"tt.{forward} (only d{wrong_label} is wrong, the others are right)", student=student)
    return errors, after, fwd


U64 = np.finfo(np.float64).eps


def well_conditioned(forward, backward, inputs, wrt, seed, eps=1e-5):
    """Whether a correct check_op on this case lands far inside TOL, by the mathematics of
    a central difference: its truncation error, O(eps^2) times a third derivative, measured
    here (the exercise's own difference of tt's forward against tt's backward, 100x inside
    TOL), and the round-off of any summation order of f = sum(dout * out), a few
    u * sum|dout * out| / eps, 100x below TOL times the smallest checked gradient. A case
    failing either (a gradient that is nearly zero, a LayerNorm of nearly equal entries)
    is drawn again: there a correct check could report anything."""
    out, cache = getattr(tt, forward)(**inputs)
    dout = np.random.default_rng(seed).standard_normal(np.shape(out))
    roundoff = 8 * U64 * float(np.sum(np.abs(dout * out))) / eps
    grads = backward(dout, cache)
    grads = grads if isinstance(grads, tuple) else (grads,)
    for g in grads:
        for h in (g.values() if isinstance(g, dict) else (g,)):
            if roundoff > TOL / 100 * 2 * float(np.max(np.abs(h))):
                return False
    errors = tt.gradcheck.check_op(getattr(tt, forward), backward, inputs, wrt, seed=seed, eps=eps)
    return max(errors.values()) <= TOL / 100


def layernorm_case(rng, dtype=np.float64):
    return {"x": (2 * rng.standard_normal((2, 3, 8)) + 0.5).astype(dtype),
            "gamma": (1 + 0.5 * rng.standard_normal(8)).astype(dtype),
            "beta": (0.3 * rng.standard_normal(8)).astype(dtype)}


def linear_case(rng):
    return {"x": rng.standard_normal((2, 3, 4)), "W": rng.standard_normal((4, 5)), "b": rng.standard_normal(5)}


def direct_only(dout, cache):
    """LayerNorm backward without its correction terms (dx is wrong, dgamma and dbeta right)."""
    _, dgamma, dbeta = tt.layernorm_backward(dout, cache)
    return dout * cache.gamma * cache.rstd, dgamma, dbeta


@pytest.mark.points(2)
def test_check_op_layernorm(student, rng):
    """check_op of tt's LayerNorm forward: the correct backward passes (every input labelled, every error <= 1e-7) and one without its correction terms is reported at x, and only there."""
    inputs = layernorm_case(rng)
    errors, _, _ = check_op(student, "layernorm_forward", inputs, ("x", "gamma", "beta"), tt.layernorm_backward,
                            int(rng.integers(1000)))
    assert_labels(errors, inputs, ("x", "gamma", "beta"), "tt.layernorm_forward")
    assert_correct(errors, "tt.layernorm_forward", student=student)
    check_pair(student, rng, "layernorm_forward", inputs, ("x", "gamma", "beta"), direct_only, "x",
               "tt.layernorm_forward with a wrong dx")


@pytest.mark.points(2)
def test_check_op_linear(student, rng):
    """check_op of tt's linear forward: a backward whose dW is 0.1% too large is reported at W, and its right dx and db pass."""
    def dW_too_large(dout, cache):
        dx, dW, db = tt.linear_backward(dout, cache)
        return dx, dW * 1.001, db

    check_pair(student, rng, "linear_forward", linear_case(rng), ("x", "W", "b"), dW_too_large, "W",
               "tt.linear_forward with a dW 0.1% too large")


@pytest.mark.points(1)
def test_check_op_random_upstream_gradient(student, rng):
    """check_op uses a random upstream gradient: it passes a correct softmax backward and catches a linear backward that ignores dout (right only for dout = ones)."""
    errors, _, _ = check_op(student, "softmax_forward", {"x": rng.standard_normal((4, 7))}, ("x",),
                            tt.softmax_backward, int(rng.integers(1000)))
    ones = ("use a random upstream gradient dout, not ones: softmax rows sum to 1, so with dout = ones "
            "the true gradient is zero and the check measures nothing but round-off")
    assert_correct(errors, "tt.softmax_forward", ones, student=student)

    def ignores_dout(dout, cache):          # the gradients for dout = ones, whatever dout is
        return tt.linear_backward(np.ones_like(dout), cache)

    errors, _, _ = check_op(student, "linear_forward", linear_case(rng), ("x", "W", "b"), ignores_dout,
                            int(rng.integers(1000)))
    assert_caught(errors, "x", "tt.linear_forward with a backward that ignores dout",
                  "use a random upstream gradient dout: with dout = ones, a backward that ignores dout looks right")


@pytest.mark.points(1)
def test_check_op_dict_input(student, rng):
    """check_op of tt.block_forward (a small block): a dict of parameters is checked key by key and the int H passes through; a backward whose dW1 is 0.1% off is reported at p.W1, and every other gradient passes."""
    C, F = 3, 3
    shapes = {"W_q": (C, C), "W_k": (C, C), "W_v": (C, C), "W_o": (C, C), "ln1.gamma": (C,), "ln1.beta": (C,),
              "W1": (C, F), "b1": (F,), "W2": (F, C), "b2": (C,), "ln2.gamma": (C,), "ln2.beta": (C,)}
    while True:         # every ReLU input away from its kink, where differences break down, and
        p = {k: (1 + 0.3 * rng.standard_normal(s)) if k.endswith("gamma") else 0.7 * rng.standard_normal(s)
             for k, s in shapes.items()}                           # some of them on: dW1 is not 0
        x = rng.standard_normal((1, 2, C))
        z = tt.block_forward(x, p, 1)[1].ffn.relu.x
        seed = int(rng.integers(1000))      # and a case a central difference gets right to TOL / 100
        if np.min(np.abs(z)) > 1e-2 and 0.25 <= np.mean(z > 0) <= 0.75 and \
                well_conditioned("block_forward", tt.block_backward, {"x": x, "p": p, "H": 1}, ("x", "p"), seed):
            break

    def dW1_off(dout, cache):
        dx, grads = tt.block_backward(dout, cache)
        return dx, dict(grads, W1=grads["W1"] * 1.001)

    check_pair(student, rng, "block_forward", {"x": x, "p": p, "H": 1}, ("x", "p"), dW1_off, "p.W1",
               "tt.block_forward with a dW1 0.1% off", seed=seed)


@pytest.mark.points(1)
def test_check_op_float32_inputs(student, rng):
    """float32 inputs are checked on float64 copies (the forward pass sees float64; right gradients pass to 1e-7, a wrong dx is caught) and the caller's arrays are left unchanged."""
    inputs = layernorm_case(rng, np.float32)
    errors, after, fwd = check_op(student, "layernorm_forward", inputs, ("x", "gamma", "beta"), direct_only,
                                  int(rng.integers(1000)))
    assert_labels(errors, inputs, ("x", "gamma", "beta"), "float32 LayerNorm inputs")
    copies = "convert the float inputs to float64 copies first: a central difference in float32 is good to 1e-3 at best"
    if fwd.dtypes != {"float64"}:
        raise GradeFailure(f"check_op on float32 LayerNorm inputs: the forward pass was run on {sorted(fwd.dtypes)} "
                           f"arrays", copies)
    assert_correct({k: v for k, v in errors.items() if k != "x"}, "float32 LayerNorm inputs (dgamma, dbeta)", copies,
                   student=student)
    assert_caught(errors, "x", "float32 LayerNorm inputs with a wrong dx")
    for name, value in inputs.items():
        a = after.get(name) if isinstance(after, dict) else None
        if not (isinstance(a, np.ndarray) and a.dtype == value.dtype and np.array_equal(a, value)):
            raise GradeFailure(f"check_op changed the caller's input {name!r}",
                               "work on float64 copies (value.astype(np.float64) makes one); never nudge or "
                               "convert the caller's arrays")


@pytest.mark.points(1)
def test_check_op_wrong_shape(student, rng):
    """A gradient with the right numbers in the wrong shape ((1, n) for an (n,) input) is reported, not hidden by broadcasting, while the right dx and dbeta beside it pass."""
    def keeps_row_axis(dout, cache):
        dx, dgamma, dbeta = tt.layernorm_backward(dout, cache)
        return dx, dgamma[None, :], dbeta

    check_pair(student, rng, "layernorm_forward", layernorm_case(rng), ("x", "gamma", "beta"),
               keeps_row_axis, "gamma", "a dgamma of shape (1, 8) for gamma of shape (8,)",
               "compare the shapes before the values and report inf for a mismatch: broadcasting "
               "(1, 8) against (8,) hides the wrong shape")
