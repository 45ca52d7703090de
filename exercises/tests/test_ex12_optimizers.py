"""Exercise 12: SGD, momentum and Adam; Exercise 4's trajectories and plot; question 18.

Every expected value is computed here with plain-Python recurrences written from the
seed's formulas, or by hand.
"""
import math

import numpy as np
import pytest

import tt.optim
from exercises.tests import harness as h

pytestmark = pytest.mark.ex12

W0, GRADS, LR = 0.5, (-0.1, -0.08, -0.12, -0.09, -0.11), 0.01


# --------------------------------------------------------------- the recurrences, here
def sgd_path(w, grads, lr):
    out = []
    for g in grads:
        w = w - lr * g
        out.append(w)
    return out


def momentum_path(w, grads, lr, beta=0.9):
    v, out = 0.0, []
    for g in grads:
        v = beta * v + g
        w = w - lr * v
        out.append(w)
    return out


def adam_path(w, grads, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m = v = 0.0
    out = []
    for t, g in enumerate(grads, start=1):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        w = w - lr * (m / (1 - beta1 ** t)) / (math.sqrt(v / (1 - beta2 ** t)) + eps)
        out.append(w)
    return out


def run(rule, w, grads, **hyper):
    state, out = None, []
    for g in grads:
        w, state = h.returned(rule.__name__, rule(w, g, state, **hyper), 2)
        out.append(w)
    return out


def assert_close(function, got, expected, output="W after each step"):
    """A list of Python floats, one per step, each as the recurrence says (harness.check_list)."""
    h.check_list(function, output, got, expected, tol=1e-12)


# ----------------------------------------------------------------------- the rules
def test_sgd_exercise_4_by_hand(impl):
    """W = 0.5 - 0.01 g at every step: 0.501, 0.5018, 0.503, 0.5039, 0.505."""
    ex = impl("ex12_optimizers")
    assert_close("sgd", run(ex.sgd, W0, GRADS, lr=LR), [0.501, 0.5018, 0.503, 0.5039, 0.505])


def test_momentum_exercise_4_by_hand(impl):
    """v = -0.1, -0.17, -0.273, -0.3357, -0.41213 (v = 0.9 v + g);
    W = 0.5 - 0.01 (running sum of v) = 0.501, 0.5027, 0.50543, 0.508787, 0.5129083."""
    ex = impl("ex12_optimizers")
    got = run(ex.sgd_momentum, W0, GRADS, lr=LR, beta=0.9)
    assert_close("sgd_momentum", got, [0.501, 0.5027, 0.50543, 0.508787, 0.5129083])
    assert_close("sgd_momentum", got, momentum_path(W0, GRADS, LR))


def test_adam_exercise_4(impl):
    ex = impl("ex12_optimizers")
    got = run(ex.adam, W0, GRADS, lr=LR, beta1=0.9, beta2=0.999, eps=1e-8)
    assert_close("adam", got, adam_path(W0, GRADS, LR))
    # by hand, step 1: m_hat = -0.1 and v_hat = 0.01, so W = 0.5 + 0.01 * 0.1 / (0.1 + 1e-8)
    h.check_number("adam", "W after the first step", got[0], 0.5 + 0.01 * 0.1 / (0.1 + 1e-8), tol=1e-15,
                   hint="the first step is lr * m_hat / (sqrt(v_hat) + eps) with t = 1")


@pytest.mark.parametrize("g", [-1e-3, -0.1, -10.0])
def test_adams_first_step_is_about_lr_whatever_the_gradient(impl, g):
    """After the bias corrections m_hat = g and v_hat = g^2: the first step is
    lr * g / (|g| + eps), almost exactly lr, for a tiny or a huge gradient alike."""
    ex = impl("ex12_optimizers")
    w, _ = h.returned("adam", ex.adam(0.5, g, None, lr=0.01), 2)
    h.check_number("adam", f"W after one step from 0.5 with gradient {g}", w,
                   0.5 + 0.01 * abs(g) / (abs(g) + 1e-8), tol=1e-15)


@pytest.mark.parametrize("rule", ["sgd", "sgd_momentum", "adam"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_arrays_elementwise_dtype_and_no_mutation(impl, rule, dtype):
    """Every entry of an array follows its own recurrence; w and dw are not changed."""
    ex = impl("ex12_optimizers")
    r = h.rng(1)
    w = r.standard_normal((3, 4)).astype(dtype)
    grads = [r.standard_normal((3, 4)).astype(dtype) for _ in range(4)]
    w_before, g_before = w.copy(), [g.copy() for g in grads]
    path = {"sgd": sgd_path, "sgd_momentum": momentum_path, "adam": adam_path}[rule]
    expected = np.empty((4, 3, 4))
    for i in range(3):
        for j in range(4):
            expected[:, i, j] = path(float(w[i, j]), [float(g[i, j]) for g in grads], 0.05)
    state, current = None, w
    for k, g in enumerate(grads):
        current, state = h.returned(rule, getattr(ex, rule)(current, g, state, lr=0.05), 2)
        h.check(rule, f"w after step {k + 1}", current, expected[k], like=w,
                tol=1e-12 if dtype == np.float64 else 1e-5)
    assert np.array_equal(w, w_before) and all(np.array_equal(a, b) for a, b in zip(grads, g_before)), \
        f"{rule} changed w or dw in place: return a new array instead"


@pytest.mark.parametrize("rule", ["sgd", "sgd_momentum", "adam"])
def test_state_is_a_dict_and_none_starts_fresh(impl, rule):
    ex = impl("ex12_optimizers")
    fn = getattr(ex, rule)
    w1, s1 = h.returned(rule, fn(0.5, -0.1, None, lr=0.01), 2)
    assert isinstance(s1, dict), f"{rule} should return its state as a dict, got {type(s1).__name__}"
    again, _ = h.returned(rule, fn(0.5, -0.1, None, lr=0.01), 2)
    assert again == w1, f"{rule}: state=None must start fresh every time"
    w2, _ = h.returned(rule, fn(w1, -0.08, s1, lr=0.01), 2)
    expected = {"sgd": sgd_path, "sgd_momentum": momentum_path, "adam": adam_path}[rule](0.5, [-0.1, -0.08], 0.01)
    assert_close(rule, [w1, w2], expected)


def test_your_adam_plugs_into_tt_optim_step(impl):
    """tt.optim.step applies a rule to every parameter of a dict: exercise 15 does this."""
    ex = impl("ex12_optimizers")
    r = h.rng(2)
    params = {"W": r.standard_normal((2, 3)), "b": r.standard_normal(3)}
    start = {k: v.copy() for k, v in params.items()}
    grads = [{k: r.standard_normal(v.shape) for k, v in params.items()} for _ in range(3)]
    states = {}
    for g in grads:
        params, states = tt.optim.step(params, g, states, ex.adam, lr=0.01)
    for name in params:
        expected = np.empty(start[name].shape)
        for i in np.ndindex(expected.shape):
            expected[i] = adam_path(float(start[name][i]), [float(g[name][i]) for g in grads], 0.01)[-1]
        h.check("adam", f"params[{name!r}] after 3 steps of tt.optim.step", params[name], expected,
                like=start[name], tol=1e-12)


# ------------------------------------------------------------ Exercise 4 and its plot
def check_trajectories(traj, w0, grads, lr):
    """exercise4_trajectories(...) against the recurrences; returns it."""
    assert isinstance(traj, dict) and set(traj) == {"sgd", "momentum", "adam"}, \
        f"exercise4_trajectories: expected a dict with keys sgd, momentum, adam, got {traj!r}"
    for name, path in (("sgd", sgd_path), ("momentum", momentum_path), ("adam", adam_path)):
        assert_close("exercise4_trajectories", traj[name], path(w0, grads, lr), output=f"the {name} trajectory")
    return traj


def test_exercise4_trajectories(impl):
    ex = impl("ex12_optimizers")
    traj = check_trajectories(ex.exercise4_trajectories(), W0, GRADS, LR)
    # the lesson: with gradients that agree, momentum runs ahead of SGD, and Adam's
    # steps are about lr each whatever the gradient's size, so it goes furthest
    assert traj["sgd"][-1] < traj["momentum"][-1] < traj["adam"][-1]


def test_exercise4_other_inputs(impl):
    ex = impl("ex12_optimizers")
    grads = (0.3, -0.2, 0.05)
    check_trajectories(ex.exercise4_trajectories(w0=-1.0, grads=grads, lr=0.1), -1.0, grads, 0.1)


def test_plot_trajectories_writes_a_png(impl, tmp_path):
    ex = impl("ex12_optimizers")
    traj = check_trajectories(ex.exercise4_trajectories(), W0, GRADS, LR)
    pytest.importorskip("matplotlib")
    out = ex.plot_trajectories(traj, tmp_path / "exercise4.png")
    target = tmp_path / "exercise4.png"
    assert target.is_file(), "plot_trajectories should write the PNG file it was given"
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", "the file written is not a PNG"
    assert out is not None and str(out) == str(target), f"plot_trajectories should return the path, got {out!r}"


# ----------------------------------------------------------------------- question 18
def test_question_18_one_update(impl):
    """W = 0.234 - 0.001 x (-0.05) = 0.234 + 0.00005 = 0.23405."""
    ex = impl("ex12_optimizers")
    w, _ = h.returned("sgd", ex.sgd(0.234, -0.05, None, lr=0.001), 2)
    h.check_number("sgd", "W after one update", w, 0.23405, tol=1e-15)


@pytest.mark.parametrize("w,grad,lr,target,expected", [
    # (0.25 - 0.234) / 0.00005 = 0.016 / 0.00005 = 320 exactly. In floats, 320 additions
    # of 0.00005 to 0.234 give 0.24999999999999..., and a loop would count 321.
    (0.234, -0.05, 0.001, 0.25, 320),
    (0.0, -1.0, 0.1, 1.0, 10),           # ten steps of 0.1; a float loop says 11
    (1.0, 0.5, 0.1, 0.5, 10),            # downwards: steps of -0.05
    (0.234, -0.05, 0.001, 0.2341, 2),    # 0.0001 / 0.00005 = 2
    (0.234, -0.05, 0.001, 0.23401, 1),   # any distance short of a step takes one update
    (0.3, 1.0, 0.1, 0.3, 0),             # already there
])
def test_question_18_updates_to_reach(impl, w, grad, lr, target, expected):
    ex = impl("ex12_optimizers")
    k = ex.updates_to_reach(w, grad, lr, target)
    assert isinstance(k, int) and k == expected, f"updates_to_reach({w}, {grad}, {lr}, {target}): expected {expected}, got {k!r}"


@pytest.mark.parametrize("w,grad,lr,target", [(0.234, 0.05, 0.001, 0.25), (0.234, 0.0, 0.001, 0.25)])
def test_question_18_never_reached(impl, w, grad, lr, target):
    ex = impl("ex12_optimizers")
    with pytest.raises(ValueError):
        ex.updates_to_reach(w, grad, lr, target)
