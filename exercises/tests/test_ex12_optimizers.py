"""Exercise 12: SGD, momentum and Adam; Exercise 4's trajectories and plot; question 18.

The expected trajectories are numbers recorded from an exact computation of the seed's
rules (fractions for SGD and momentum, 50-digit arithmetic for Adam's square roots), so
they hold no rounding of their own. Arrays are checked entry by entry against your own
rule applied to each entry alone.
"""
import numpy as np
import pytest

import tt.optim
from exercises.tests import harness as h

pytestmark = pytest.mark.ex12

W0, GRADS, LR = 0.5, (-0.1, -0.08, -0.12, -0.09, -0.11), 0.01
OTHER = (-1.0, (0.3, -0.2, 0.05), 0.1)                 # w0, grads, lr of a second case

# W after each step, recorded (exact to the last digit of a float)
RECORDED = {
    (W0, GRADS, LR): {
        "sgd": [0.501, 0.5018, 0.503, 0.5039, 0.505],
        "momentum": [0.501, 0.5027, 0.50543, 0.508787, 0.5129083],
        "adam": [0.5099999990000001, 0.5198812559499686, 0.529822655632148, 0.5397211217604946,
                 0.5496853680772074]},
    OTHER: {
        "sgd": [-1.03, -1.01, -1.015],
        "momentum": [-1.03, -1.037, -1.0483],
        "adam": [-1.0999999966666667, -1.1144520490714034, -1.1342995273355918]},
}
RULE = {"sgd": "sgd", "momentum": "sgd_momentum", "adam": "adam"}


def run(rule, w, grads, **hyper):
    state, out = None, []
    for g in grads:
        w, state = h.returned(rule.__name__, rule(w, g, state, **hyper), 2)
        out.append(w)
    return out


def assert_close(function, got, expected, output="W after each step"):
    """A list of Python floats, one per step, each as recorded (harness.check_list)."""
    h.check_list(function, output, got, expected, tol=1e-12)


def scalar_path(fn, w, grads, lr):
    """Your rule on one number at a time (its own checks are the recorded trajectories)."""
    return [float(x) for x in run(fn, w, grads, lr=lr)]


# ----------------------------------------------------------------------- the rules
def test_sgd_exercise_4(impl):
    ex = impl("ex12_optimizers")
    assert_close("sgd", run(ex.sgd, W0, GRADS, lr=LR), RECORDED[W0, GRADS, LR]["sgd"])


def test_momentum_exercise_4(impl):
    ex = impl("ex12_optimizers")
    got = run(ex.sgd_momentum, W0, GRADS, lr=LR, beta=0.9)
    assert_close("sgd_momentum", got, RECORDED[W0, GRADS, LR]["momentum"])


def test_adam_exercise_4(impl):
    ex = impl("ex12_optimizers")
    got = run(ex.adam, W0, GRADS, lr=LR, beta1=0.9, beta2=0.999, eps=1e-8)
    assert_close("adam", got, RECORDED[W0, GRADS, LR]["adam"])


@pytest.mark.parametrize("g,expected", [(-1e-3, 0.509999900001), (-0.1, 0.5099999990000001),
                                        (-10.0, 0.50999999999)])
def test_adams_first_step_is_about_lr_whatever_the_gradient(impl, g, expected):
    """One step from 0.5 at lr 0.01, for a small, a middling and a large gradient."""
    ex = impl("ex12_optimizers")
    w, _ = h.returned("adam", ex.adam(0.5, g, None, lr=0.01), 2)
    h.check_number("adam", f"W after one step from 0.5 with gradient {g}", w, expected, tol=1e-15,
                   hint="compare the size of this step with lr")


@pytest.mark.parametrize("rule", ["sgd", "sgd_momentum", "adam"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_arrays_elementwise_dtype_and_no_mutation(impl, rule, dtype):
    """Every entry of an array follows its own recurrence (your rule on that entry alone);
    w and dw are not changed."""
    ex = impl("ex12_optimizers")
    fn = getattr(ex, rule)
    r = h.rng(1)
    w = r.standard_normal((3, 4)).astype(dtype)
    grads = [r.standard_normal((3, 4)).astype(dtype) for _ in range(4)]
    w_before, g_before = w.copy(), [g.copy() for g in grads]
    expected = np.empty((4, 3, 4))
    for i in range(3):
        for j in range(4):
            expected[:, i, j] = scalar_path(fn, float(w[i, j]), [float(g[i, j]) for g in grads], 0.05)
    state, current = None, w
    for k, g in enumerate(grads):
        current, state = h.returned(rule, fn(current, g, state, lr=0.05), 2)
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
    name = next(k for k, v in RULE.items() if v == rule)
    assert_close(rule, [w1, w2], RECORDED[W0, GRADS, LR][name][:2])      # the first two gradients are GRADS'


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
            expected[i] = scalar_path(ex.adam, float(start[name][i]), [float(g[name][i]) for g in grads], 0.01)[-1]
        h.check("adam", f"params[{name!r}] after 3 steps of tt.optim.step", params[name], expected,
                like=start[name], tol=1e-12)


# ------------------------------------------------------------ Exercise 4 and its plot
def check_trajectories(traj, w0, grads, lr):
    """exercise4_trajectories(...) against the recorded trajectories; returns it."""
    assert isinstance(traj, dict) and set(traj) == {"sgd", "momentum", "adam"}, \
        f"exercise4_trajectories: expected a dict with keys sgd, momentum, adam, got {traj!r}"
    for name in ("sgd", "momentum", "adam"):
        assert_close("exercise4_trajectories", traj[name], RECORDED[w0, tuple(grads), lr][name],
                     output=f"the {name} trajectory")
    return traj


def test_exercise4_trajectories(impl):
    ex = impl("ex12_optimizers")
    traj = check_trajectories(ex.exercise4_trajectories(), W0, GRADS, LR)
    assert traj["sgd"][-1] < traj["momentum"][-1] < traj["adam"][-1]


def test_exercise4_other_inputs(impl):
    ex = impl("ex12_optimizers")
    w0, grads, lr = OTHER
    check_trajectories(ex.exercise4_trajectories(w0=w0, grads=grads, lr=lr), w0, grads, lr)


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
    """Question 18's one update: from W = 0.234 with gradient -0.05 at lr 0.001 (recorded)."""
    ex = impl("ex12_optimizers")
    w, _ = h.returned("sgd", ex.sgd(0.234, -0.05, None, lr=0.001), 2)
    h.check_number("sgd", "W after one update", w, 0.23405, tol=1e-15)


@pytest.mark.parametrize("w,grad,lr,target,expected", [
    # recorded from exact fractions; a loop in floats counts one update too many on the first two
    (0.234, -0.05, 0.001, 0.25, 320),
    (0.0, -1.0, 0.1, 1.0, 10),
    (1.0, 0.5, 0.1, 0.5, 10),            # downwards
    (0.234, -0.05, 0.001, 0.2341, 2),
    (0.234, -0.05, 0.001, 0.23401, 1),   # short of a whole step
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
