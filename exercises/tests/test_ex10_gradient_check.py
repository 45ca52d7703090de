"""Exercise 10: numerical gradients, rel_error, check_gradient and a layer's gradient check.

The backward passes checked here are either written in this file (for functions that
are not exercises), computed by finite differences (harness.numerical_ops, "correct"),
deliberately wrong, or your own from exercises 1 and 4. Those last two tests run your
check_op on your own layer only once that layer is right, as judged here by finite
differences (not by your check_op): until then they are skipped, saying which exercise
to fix first, so a bug in exercise 1 or 4 never costs exercise 10.
"""
import numpy as np
import pytest

import tt
from exercises.tests import harness as h

pytestmark = pytest.mark.ex10

TOL = 1e-7          # the seed's tolerance: a correct backward pass is well inside it
WRONG = 1e-4        # a wrong backward pass must be reported at least this far off


# ------------------------------------------------------------------------ rel_error
@pytest.mark.parametrize("a,b,expected", [
    ([1.0, 2.0], [1.0, 2.0], 0.0),
    ([0.0, 0.0], [0.0, 0.0], 0.0),                  # no 0 / 0
    ([1.0, 2.0], [1.0, 2.2], 0.2 / 4.2),            # max|a-b| = 0.2 at index 1; max(|a|+|b|) = 4.2
    ([3.0, -1.0], [-3.0, 1.0], 1.0),                # opposite signs: 6 / 6
    ([[1e-9, 0.0]], [[2e-9, 0.0]], 1e-9 / 3e-9),    # the scale does not matter
    (1.5, 1.5000015, 1.5e-6 / 3.0000015),
])
def test_rel_error(impl, a, b, expected):
    ex = impl("ex10_gradient_check")
    err = ex.rel_error(np.array(a), np.array(b))
    # 1e-10: 1.5000015 - 1.5 is not exactly 1.5e-6 in floats (a relative 4e-12 off)
    h.check_number(f"rel_error({a}, {b})", "the relative error", err, expected, tol=1e-10)


def test_rel_error_of_a_nan_is_nan(impl):
    ex = impl("ex10_gradient_check")
    err = ex.rel_error(np.array([1.0, np.nan]), np.array([1.0, 2.0]))
    assert np.isnan(err), f"rel_error with a NaN should be NaN (so that err <= tol fails), got {err}"


# --------------------------------------------------------------- numerical_gradient
def test_numerical_gradient_of_the_quadratic(impl):
    """Exercise 2: f(x) = x^2 + 3x + 2 summed over a vector of points; its gradient recorded."""
    ex = impl("ex10_gradient_check")
    x = np.array([-3.0, -1.5, 0.0, 0.5, 2.0, 10.0])
    expected = np.array([-3.0, 0.0, 3.0, 4.0, 7.0, 23.0])       # recorded, exact
    grad = ex.numerical_gradient(lambda: np.sum(x ** 2 + 3 * x + 2), x)
    h.check("numerical_gradient", "the gradient of sum(x^2 + 3x + 2)", grad, expected, like=x, tol=1e-9)


def test_numerical_gradient_is_a_central_difference(impl):
    """For f = x^3 at x = 1 with eps = 1e-3, the central difference is 3 + eps^2.

    (1.001^3 - 0.999^3) / 0.002 = (1.003003001 - 0.997002999) / 0.002 = 3.000001, while
    a forward difference (1.001^3 - 1) / 0.001 would give 3.003001.
    """
    ex = impl("ex10_gradient_check")
    x = np.array([1.0])
    grad = h.check_array("numerical_gradient", "the gradient of x^3", ex.numerical_gradient(
        lambda: float(x[0] ** 3), x, eps=1e-3), (1,), like=x)
    h.check("numerical_gradient", "the gradient of x^3", grad, [3.000001], like=x, tol=1e-9,
            hint="that is a forward difference (f(x + eps) - f(x)) / eps: use x - eps too"
            if abs(grad[0] - 3.003001) < 1e-6 else None)


def test_numerical_gradient_any_shape_and_x_is_restored(impl):
    ex = impl("ex10_gradient_check")
    r = h.rng(3)
    x = r.standard_normal((3, 4))
    w = r.standard_normal((3, 4))
    before = x.copy()
    calls = []

    def f():
        calls.append(1)
        return np.sum(w * np.sin(x))

    grad = ex.numerical_gradient(f, x)
    h.check("numerical_gradient", "the gradient of sum(w * sin(x))", grad, w * np.cos(x), like=x)
    assert np.array_equal(x, before), "numerical_gradient must put every entry of x back exactly"
    assert len(calls) == 2 * x.size, f"expected 2 calls of f per entry ({2 * x.size}), got {len(calls)}"


def test_numerical_gradient_restores_x_even_if_f_raises(impl):
    ex = impl("ex10_gradient_check")
    x = np.array([1.0, 2.0, 3.0])
    calls = []

    def f():
        calls.append(1)
        if len(calls) == 4:
            raise ValueError("boom")
        return float(np.sum(x))

    with pytest.raises(ValueError, match="boom"):
        ex.numerical_gradient(f, x)
    assert np.array_equal(x, [1.0, 2.0, 3.0]), f"x was left nudged after f raised: {x}"


# ------------------------------------------------------------ check_gradient, quadratic
def test_quadratic_derivative(impl):
    ex = impl("ex10_gradient_check")
    assert ex.quadratic_derivative(2.0) == 7.0, "quadratic_derivative(2.0) should be 7.0"
    x = np.array([-1.5, 0.0, 4.0], dtype=np.float32)
    d = ex.quadratic_derivative(x)
    h.check("quadratic_derivative", "f'(x)", d, np.array([0.0, 3.0, 11.0]), like=x, tol=0)


def test_check_gradient_on_the_quadratic(impl):
    """Exercise 2 end to end: your derivative passes your own check at eps = 1e-5."""
    ex = impl("ex10_gradient_check")
    x = np.array([-2.0, -1.0, 0.25, 3.0])
    by_hand = np.array([-1.0, 1.0, 3.5, 9.0])                   # recorded, exact
    numerical = ex.numerical_gradient(lambda: np.sum(ex.quadratic(x)), x)
    h.check("numerical_gradient", "the gradient of sum(x^2 + 3x + 2)", numerical, by_hand, like=x, tol=1e-9)
    analytical = ex.quadratic_derivative(x)
    h.check("quadratic_derivative", "f'(x)", analytical, by_hand, like=x, tol=0)
    assert bool(ex.check_gradient(analytical, numerical)), \
        "check_gradient should return True for your quadratic_derivative against its central difference"


@pytest.mark.parametrize("analytic,numerical,tolerance,expected", [
    ([1.5, -2.0], [1.5, -2.0], 1e-7, True),
    ([1.5, -2.0], [1.5, -2.0 * (1 + 1e-9)], 1e-7, True),
    ([1.5, -2.0], [1.5, -2.0 * (1 + 1e-5)], 1e-7, False),      # rel error 1e-5 / 3.5 ~ 2.9e-6
    ([1.5, -2.0], [1.5, -2.0 * (1 + 1e-5)], 1e-5, True),
    ([1.5, -2.0], [1.5, np.nan], 1e-7, False),                  # a NaN never passes
    ([0.0, 0.0], [0.0, 0.0], 1e-7, True),
    ([1.0, 2.0], [2.0, 1.0], 1e-7, False),
])
def test_check_gradient(impl, analytic, numerical, tolerance, expected):
    ex = impl("ex10_gradient_check")
    got = ex.check_gradient(np.array(analytic), np.array(numerical), tolerance=tolerance)
    assert isinstance(got, (bool, np.bool_)), f"check_gradient should return a bool, not {type(got).__name__}"
    assert bool(got) is expected, f"check_gradient({analytic}, {numerical}, tolerance={tolerance}) should be {expected}"


def test_question_12(impl):
    """loss(W[2,3] = 0.50001) = 0.450015 and loss(W[2,3] = 0.49999) = 0.449985.

    By hand: (0.450015 - 0.449985) / (2 x 0.00001) = 0.00003 / 0.00002 = 1.5. The loss
    below is the straight line through those two points; any loss through them gives
    the same central difference. An analytical gradient of 1.5 should match to ~1e-9.
    """
    ex = impl("ex10_gradient_check")
    W = np.full((4, 4), 0.1)
    W[2, 3] = 0.5

    def loss():
        return 0.45 + 1.5 * (W[2, 3] - 0.5)

    W[2, 3] = 0.50001
    assert abs(loss() - 0.450015) < 1e-12                       # the seed's two losses
    W[2, 3] = 0.49999
    assert abs(loss() - 0.449985) < 1e-12
    W[2, 3] = 0.5
    grad = ex.numerical_gradient(loss, W)
    expected = np.zeros((4, 4))
    expected[2, 3] = 1.5
    h.check("numerical_gradient", "dloss/dW (question 12)", grad, expected, like=W, tol=1e-9)
    assert bool(ex.check_gradient(expected, grad)), "1.5 and the numerical gradient agree to ~1e-11"
    assert not bool(ex.check_gradient(expected * 1.01, grad)), "an analytical 1.515 is 1% off: a bug"


# ------------------------------------------------------------------------- check_op
def tanh_scale_forward(x, w):
    """out = tanh(x) * w: x (B, n), w (n,). Not an exercise, so its backward is written here."""
    t = np.tanh(x)
    return t * w, (t, w)


def tanh_scale_backward(dout, cache):
    t, w = cache
    return dout * w * (1 - t * t), (dout * t).sum(axis=0)           # dx, dw


def assert_correct(errors, labels, what):
    assert isinstance(errors, dict), f"check_op should return a dict, not {type(errors).__name__}"
    assert set(errors) == set(labels), f"check_op on {what}: expected the labels {sorted(labels)}, got {sorted(errors)}"
    for label, err in errors.items():
        assert err <= TOL, f"check_op on {what}: {label} has relative error {err:.2e}, but that backward pass is correct"


def assert_caught(errors, label, what):
    err = errors.get(label) if isinstance(errors, dict) else None
    assert err is not None, f"check_op on {what}: no entry {label!r} in {errors!r}"
    assert not err <= WRONG, (f"check_op on {what}: {label} has relative error {err:.2e}, "
                              f"but that backward pass is wrong and the check should catch it")


def test_check_op_passes_a_correct_backward(impl):
    ex = impl("ex10_gradient_check")
    r = h.rng(1)
    inputs = {"x": r.standard_normal((5, 3)), "w": r.standard_normal(3)}
    errors = ex.check_op(tanh_scale_forward, tanh_scale_backward, inputs, ["x", "w"])
    assert_correct(errors, {"x", "w"}, "tanh(x) * w")


def test_check_op_catches_a_wrong_backward(impl):
    ex = impl("ex10_gradient_check")
    r = h.rng(2)
    inputs = {"x": r.standard_normal((5, 3)), "w": r.standard_normal(3)}

    def forgot_the_chain_rule(dout, cache):          # tanh' left out of dx
        t, w = cache
        return dout * w, (dout * t).sum(axis=0)

    errors = ex.check_op(tanh_scale_forward, forgot_the_chain_rule, inputs, ["x", "w"])
    assert_caught(errors, "x", "tanh(x) * w with tanh' missing")
    assert errors.get("w", 1.0) <= TOL, "dw of that backward is right: only dx should be reported"


def test_check_op_with_tt_forward_passes(impl):
    """tt's forwards against backward passes by finite differences (correct) and broken ones."""
    ex = impl("ex10_gradient_check")
    numerical = h.numerical_ops()
    r = h.rng(4)

    lin = {"x": r.standard_normal((2, 3, 4)), "W": r.standard_normal((4, 5)), "b": r.standard_normal(5)}
    assert_correct(ex.check_op(tt.linear_forward, numerical.linear_backward, lin, ["x", "W", "b"]),
                   {"x", "W", "b"}, "tt.linear_forward")

    def off_by_a_tenth_of_a_percent(dout, cache):
        dx, dW, db = numerical.linear_backward(dout, cache)
        return dx, dW * 1.001, db

    errors = ex.check_op(tt.linear_forward, off_by_a_tenth_of_a_percent, lin, ["x", "W", "b"])
    assert_caught(errors, "W", "tt.linear_forward with dW 0.1% too large")

    ln = {"x": 2 * r.standard_normal((3, 6)) + 0.5, "gamma": 1 + 0.5 * r.standard_normal(6),
          "beta": 0.3 * r.standard_normal(6)}
    assert_correct(ex.check_op(tt.layernorm_forward, numerical.layernorm_backward, ln, ["x", "gamma", "beta"]),
                   {"x", "gamma", "beta"}, "tt.layernorm_forward")

    def direct_term_only(dout, cache):               # the seed's sketch without its corrections
        _, dgamma, dbeta = numerical.layernorm_backward(dout, cache)
        return dout * cache.gamma * cache.rstd, dgamma, dbeta

    errors = ex.check_op(tt.layernorm_forward, direct_term_only, ln, ["x", "gamma", "beta"])
    assert_caught(errors, "x", "tt.layernorm_forward without the mean and variance terms")


def test_check_op_uses_a_random_upstream_gradient(impl):
    """A softmax backward that returns zeros is right for dout = all ones (softmax rows
    sum to 1, so sum(out) never changes). A check with a random dout catches it."""
    ex = impl("ex10_gradient_check")
    x = {"x": h.rng(5).standard_normal((4, 7))}

    def zeros(dout, cache):
        return np.zeros_like(cache.y)

    def diagonal_only(dout, cache):                  # forgot that the Jacobian is not diagonal
        return cache.y * dout

    assert_caught(ex.check_op(tt.softmax_forward, zeros, x, ["x"]), "x", "softmax with a zero backward")
    assert_caught(ex.check_op(tt.softmax_forward, diagonal_only, x, ["x"]), "x", "softmax with y * dout")
    assert_correct(ex.check_op(tt.softmax_forward, h.numerical_ops().softmax_backward, x, ["x"]),
                   {"x"}, "tt.softmax_forward")


def test_check_op_dict_inputs_other_arguments_and_float32(impl):
    """A dict input (like a block's parameters) gives one entry per key; non-array
    arguments pass through; float32 inputs are checked in float64 and left untouched."""
    ex = impl("ex10_gradient_check")
    r = h.rng(6)

    def forward(x, p, scale):
        z = x * p["w"] + p["b"]
        return scale * np.tanh(z), (x, p, scale, np.tanh(z))

    def backward(dout, cache):
        x, p, scale, t = cache
        dz = dout * scale * (1 - t * t)
        return dz * p["w"], {"w": (dz * x).sum(axis=0), "b": dz.sum(axis=0)}

    x = r.standard_normal((4, 3)).astype(np.float32)
    p = {"w": r.standard_normal(3).astype(np.float32), "b": r.standard_normal(3).astype(np.float32)}
    saved = (x.copy(), p["w"].copy(), p["b"].copy())
    errors = ex.check_op(forward, backward, {"x": x, "p": p, "scale": 1.7}, ["x", "p"])
    assert_correct(errors, {"x", "p.w", "p.b"}, "a forward with a dict of parameters")
    assert all(np.array_equal(a, b) for a, b in zip((x, p["w"], p["b"]), saved)), \
        "check_op changed the caller's arrays"


def test_check_op_reports_a_gradient_of_the_wrong_shape(impl):
    """Right numbers, wrong shape: (1, n) instead of (n,). Broadcasting would hide it."""
    ex = impl("ex10_gradient_check")
    r = h.rng(7)
    inputs = {"x": r.standard_normal((5, 3)), "w": r.standard_normal(3)}

    def keeps_the_row_axis(dout, cache):
        dx, dw = tanh_scale_backward(dout, cache)
        return dx, dw[None, :]

    errors = ex.check_op(tanh_scale_forward, keeps_the_row_axis, inputs, ["x", "w"])
    assert_caught(errors, "w", "a dw of shape (1, 3) for w of shape (3,)")


# ------------------------------------------------------------ your own layers (ex 1, 4)
def on_your_own(call, exercise, verify):
    """check_op's errors on your function from another exercise, or a skip.

    `verify()` judges that function independently, by finite differences here: it
    returns None if it is right, else what is wrong. Only a right one tells anything
    about check_op (which must then pass it), so for a wrong or unwritten one the test
    is skipped: a bug in exercise 1 or 4 never costs exercise 10.
    """
    def skip_unless_right(error=None):
        problem = verify()
        if problem is not None:
            pytest.skip(f"this runs your check_op on your exercise {exercise}, which is not right yet, "
                        f"so it would tell nothing about check_op: fix exercise {exercise} first "
                        f"(python -m tt check {exercise}). Exercise 10's other tests use backward passes "
                        f"whose correctness is known. What is wrong: {problem}")
        if error is not None:
            raise error

    try:
        errors = call()
    except NotImplementedError as exc:
        if str(exc).startswith("Exercise 10"):
            raise
        pytest.skip(f"this runs your check_op on your exercise {exercise}: write exercise {exercise} "
                    f"first ({exc})")
    except Exception as exc:            # check_op fell over: blame it only if the layer is right
        skip_unless_right(exc)
    skip_unless_right()
    return errors


def verified(check):
    """None if check() passes, else the AssertionError's message (or the exception raised)."""
    try:
        check()
    except AssertionError as exc:
        return str(exc)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def test_check_op_on_your_layernorm_backward(impl):
    ex = impl("ex10_gradient_check")
    mine = impl("ex04_layernorm").layernorm_backward
    r = h.rng(8)
    ln = {"x": 2 * r.standard_normal((2, 3, 8)) + 0.5, "gamma": 1 + 0.5 * r.standard_normal(8),
          "beta": 0.3 * r.standard_normal(8)}

    def layernorm_is_right():
        out, cache = tt.layernorm_forward(**ln)
        dout = h.random_dout(out.shape, seed=21)
        got = h.returned("layernorm_backward", mine(dout, cache), 3)
        want = h.vjp(tt.layernorm_forward, ln, dout)
        for name, g in zip(("x", "gamma", "beta"), got):
            h.check("layernorm_backward", f"d{name}", g, want[name], like=ln[name], tol=TOL / 10)

    errors = on_your_own(lambda: ex.check_op(tt.layernorm_forward, mine, ln, ["x", "gamma", "beta"], seed=3),
                         4, lambda: verified(layernorm_is_right))
    assert_correct(errors, {"x", "gamma", "beta"}, "tt.layernorm_forward with your exercise 4 (which is right)")


def test_check_op_on_your_cross_entropy_backward(impl):
    ex = impl("ex10_gradient_check")
    mine = impl("ex01_softmax_cross_entropy").softmax_cross_entropy_backward
    r = h.rng(9)
    targets = r.integers(0, 20, 6)
    logits = 2 * r.standard_normal((6, 20))

    def forward(logits):                             # the loss is a scalar: out is 0-d
        loss, cache = tt.softmax_cross_entropy_forward(logits, targets)
        return np.array(loss), cache

    def cross_entropy_is_right():
        _, cache = forward(logits)
        got = mine(0.7, cache)
        h.check("softmax_cross_entropy_backward", "dlogits", got, h.vjp(forward, {"logits": logits}, 0.7)["logits"],
                like=logits, tol=TOL / 10)

    errors = on_your_own(lambda: ex.check_op(forward, lambda d, c: mine(float(d), c), {"logits": logits},
                                             ["logits"]),
                         1, lambda: verified(cross_entropy_is_right))
    assert_correct(errors, {"logits"}, "tt.softmax_cross_entropy_forward with your exercise 1 (which is right)")
