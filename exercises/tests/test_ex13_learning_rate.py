"""Exercise 13: gradient descent on 0.5 (W - 3)^2 at lr 0.1, 0.5, 1.0 and 2.1, and the critical rate.

The tests check what runs DO (land on 3, bounce between 0 and 6, grow 1.1x a step),
with expected trajectories from the same updates done in exact fractions (every number
read as the decimal it is written as), and recorded classes and critical rates.
"""
import math
from fractions import Fraction

import pytest

from exercises.tests import harness as h

pytestmark = pytest.mark.ex13

C = 3.0


def exact_run(lr, steps, w0=0.0, c=C, curvature=1.0):
    """The run in exact fractions, rounded to floats only at the end."""
    lr, w, c, h_ = (Fraction(str(v)) for v in (lr, w0, c, curvature))
    out = []
    while len(out) < steps:
        w = w - lr * h_ * (w - c)
        out.append(float(w))
    return out


def assert_path(function, got, expected, tol=1e-12):
    """A list of Python floats W_1, W_2, ... (index 0 is W_1) matching `expected` (harness.check_list)."""
    h.check_list(function, "the list W_1, W_2, ... (index 0 is W_1)", got, expected, tol=tol)


# ------------------------------------------------------------------- the seed's runs
@pytest.mark.parametrize("lr,first_two", [
    (0.1, [0.3, 0.57]),        # 0 - 0.1(0 - 3) = 0.3;   0.3 - 0.1(0.3 - 3) = 0.57
    (0.5, [1.5, 2.25]),        # halfway each time
    (1.0, [3.0, 3.0]),         # lands on the minimum in one step
    (2.1, [6.3, -0.63]),       # 0 + 2.1 x 3 = 6.3;   6.3 - 2.1 x 3.3 = -0.63
])
def test_seed_runs(impl, lr, first_two):
    ex = impl("ex13_learning_rate")
    path = ex.gradient_descent(lr)
    assert_path(f"gradient_descent({lr})", path, exact_run(lr, 10))
    assert_path(f"gradient_descent({lr})", path[:2], first_two)


def test_exercise5(impl):
    ex = impl("ex13_learning_rate")
    runs = ex.exercise5()
    assert isinstance(runs, dict) and list(runs) == [0.1, 0.5, 1.0, 2.1], \
        f"exercise5() should be a dict keyed by 0.1, 0.5, 1.0, 2.1, got {runs!r}"
    expected = {0.1: "converges", 0.5: "converges", 1.0: "converges", 2.1: "diverges"}
    for lr, (path, behaviour) in runs.items():
        assert_path(f"exercise5()[{lr}]", path, exact_run(lr, 10))
        assert behaviour == expected[lr], f"exercise5(): lr = {lr} {expected[lr]}, not {behaviour!r}"


def test_lr_1_lands_on_the_minimum_in_one_step(impl):
    ex = impl("ex13_learning_rate")
    path = ex.gradient_descent(1.0)
    assert_path("gradient_descent(1.0)", path, [3.0] * 10, tol=0)   # W_1 = 0 - 1.0 (0 - 3) = 3, and it stays


def test_lr_2_oscillates_forever(impl):
    """W bounces 6, 0, 6, 0, ... exactly, for as long as you like."""
    ex = impl("ex13_learning_rate")
    path = ex.gradient_descent(2.0, steps=1000)
    assert_path("gradient_descent(2.0, steps=1000)", path, [6.0 if k % 2 else 0.0 for k in range(1, 1001)], tol=0)
    assert ex.classify_run(path) == "oscillates"


def test_lr_2_1_diverges(impl):
    """The distance to 3 grows 1.1x a step, changing sign each time, and is 10x its start
    within 25 steps."""
    ex = impl("ex13_learning_rate")
    path = ex.gradient_descent(2.1, steps=25)
    assert_path("gradient_descent(2.1, steps=25)", path, exact_run(2.1, 25))
    distances = [abs(w - C) for w in [0.0, *path]]
    for k in range(25):
        ratio = distances[k + 1] / distances[k]
        assert abs(ratio - 1.1) <= 1e-9, f"at lr 2.1, |W_{k + 1} - 3| / |W_{k} - 3| should be 1.1, got {ratio!r}"
    signs = [math.copysign(1, w - C) for w in path]
    assert all(a != b for a, b in zip(signs, signs[1:])), "at lr 2.1, W should overshoot 3 at every step"
    last = distances[-1]
    assert not math.isfinite(last) or last >= 10 * distances[0], \
        f"at lr 2.1, |W - 3| should be 10x larger within 25 steps; it is {last!r} (from 3)"
    assert ex.classify_run(path) == "diverges"


def test_a_huge_lr_overflows_and_still_counts_as_diverging(impl):
    ex = impl("ex13_learning_rate")
    path = ex.gradient_descent(1e10, steps=40)        # |r| = 1e10: past 1e308 within 40 steps
    h.check_list("gradient_descent(1e10, steps=40)", "the list W_1, W_2, ...", path, n=40)
    assert not math.isfinite(path[-1]), \
        "gradient_descent should keep going after an overflow (W becomes inf, then nan)"
    assert ex.classify_run(path) == "diverges", "a run that ends in inf or nan diverges"


@pytest.mark.parametrize("trajectory,w0,c,expected", [
    ([1.0, 2.9], 0.0, 3.0, "converges"),
    ([6.0], 0.0, 3.0, "oscillates"),
    ([6.1], 0.0, 3.0, "diverges"),
    ([-3.0], 3.0, 0.0, "oscillates"),
    ([0.5, float("nan")], 0.0, 3.0, "diverges"),
    ([float("inf")], 0.0, 3.0, "diverges"),
    ([3.0], 0.0, 3.0, "converges"),
])
def test_classify_run(impl, trajectory, w0, c, expected):
    ex = impl("ex13_learning_rate")
    got = ex.classify_run(trajectory, w0, c)
    assert got == expected, f"classify_run({trajectory}, w0={w0}, c={c}): expected {expected!r}, got {got!r}"


# The learning rates the problem sets draw from, with curvature 1, and what runs at them
# do (recorded).
RATES = {0.05: "converges", 0.1: "converges", 0.2: "converges", 0.25: "converges", 0.4: "converges",
         0.5: "converges", 0.8: "converges", 1.0: "converges", 1.2: "converges", 1.5: "converges",
         1.8: "converges", 2.0: "oscillates", 2.05: "diverges", 2.1: "diverges", 2.2: "diverges",
         2.5: "diverges"}


@pytest.mark.parametrize("lr", RATES)
def test_formula_and_experiment_agree(impl, lr):
    ex = impl("ex13_learning_rate")
    expected = RATES[lr]
    assert ex.classify_lr(lr) == expected, f"classify_lr({lr}) should be {expected!r}"
    path = ex.gradient_descent(lr, steps=50)
    assert_path(f"gradient_descent({lr}, steps=50)", path, exact_run(lr, 50))
    seen = ex.classify_run(path)
    assert seen == expected, f"a 50-step run at lr {lr} {seen}, but classify_lr says it {expected}"


@pytest.mark.parametrize("curvature,lr,expected", [(4.0, 0.5, "oscillates"), (4.0, 0.4, "converges"),
                                                   (4.0, 0.6, "diverges"), (30.0, 0.1, "diverges")])
def test_classify_lr_with_curvature(impl, curvature, lr, expected):
    ex = impl("ex13_learning_rate")
    assert ex.classify_lr(lr, curvature) == expected, f"classify_lr({lr}, curvature={curvature}) should be {expected!r}"


@pytest.mark.parametrize("curvature,expected", [(1.0, 2.0), (4.0, 0.5), (30.0, 0.06666666666666667)])
def test_critical_learning_rate_by_formula_and_by_experiment(impl, curvature, expected):
    ex = impl("ex13_learning_rate")
    h.check_number(f"critical_learning_rate({curvature})", "the critical rate",
                   ex.critical_learning_rate(curvature), expected, tol=1e-15)
    h.check_number(f"find_critical_lr({curvature})", "the critical rate found by bisection",
                   ex.find_critical_lr(curvature), expected, tol=1e-5)


def test_question_19_too_large_too_small_just_right(impl):
    """A direction of curvature 30 (a sharp valley, as the transformer's loss has): lr 0.1
    is too large, 0.001 converges, 0.00001 is too small (ten steps barely move W)."""
    ex = impl("ex13_learning_rate")
    for lr, behaviour in ((0.1, "diverges"), (0.001, "converges")):
        path = ex.gradient_descent(lr, steps=50, curvature=30.0)
        assert_path(f"gradient_descent({lr}, steps=50, curvature=30)", path, exact_run(lr, 50, curvature=30.0))
        assert ex.classify_run(path) == behaviour, f"at lr {lr} with curvature 30 the run {behaviour}"
    slow = ex.gradient_descent(0.00001, steps=10, curvature=30.0)
    assert_path("gradient_descent(1e-5, curvature=30)", slow, exact_run(0.00001, 10, curvature=30.0))
    assert abs(slow[-1] - C) > 0.99 * C, "at lr 1e-5, ten steps barely move W"
