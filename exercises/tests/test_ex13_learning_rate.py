"""Exercise 13: gradient descent on 0.5 (W - 3)^2 at lr 0.1, 0.5, 1.0 and 2.1, and the critical rate.

The tests check what runs DO (land on 3, bounce between 0 and 6, overshoot and grow), with
W_k recorded from an exact computation of the runs (fractions: every number read as the
decimal it is written as, rounded to a float only at the end), and recorded classes and
critical rates.
"""
import math

import pytest

from exercises.tests import harness as h

pytestmark = pytest.mark.ex13

C = 3.0

# W_k after k updates from W_0 = 0 towards c = 3, for (lr, curvature), recorded from exact
# fractions (the maintainers' tests/test_public_recorded.py recomputes every number)
RECORDED = {
    (0.05, 1.0): {1: 0.15, 2: 0.2925, 3: 0.427875, 50: 2.76916507416986},
    (0.1, 1.0): {1: 0.3, 2: 0.57, 3: 0.813, 4: 1.0317, 5: 1.22853, 6: 1.405677, 7: 1.5651093, 8: 1.70859837, 9: 1.837738533, 10: 1.9539646797, 50: 2.9845386743780398},
    (0.2, 1.0): {1: 0.6, 2: 1.08, 3: 1.464, 50: 2.9999571825692186},
    (0.25, 1.0): {1: 0.75, 2: 1.3125, 3: 1.734375, 50: 2.999998301035031},
    (0.4, 1.0): {1: 1.2, 2: 1.92, 3: 2.352, 50: 2.9999999999757514},
    (0.5, 1.0): {1: 1.5, 2: 2.25, 3: 2.625, 4: 2.8125, 5: 2.90625, 6: 2.953125, 7: 2.9765625, 8: 2.98828125, 9: 2.994140625, 10: 2.9970703125, 50: 2.9999999999999973},
    (0.8, 1.0): {1: 2.4, 2: 2.88, 3: 2.976, 50: 3.0},
    (1.0, 1.0): {1: 3.0, 2: 3.0, 3: 3.0, 4: 3.0, 5: 3.0, 6: 3.0, 7: 3.0, 8: 3.0, 9: 3.0, 10: 3.0, 50: 3.0},
    (1.2, 1.0): {1: 3.6, 2: 2.88, 3: 3.024, 50: 3.0},
    (1.5, 1.0): {1: 4.5, 2: 2.25, 3: 3.375, 50: 2.9999999999999973},
    (1.8, 1.0): {1: 5.4, 2: 1.08, 3: 4.536, 50: 2.9999571825692186},
    (2.0, 1.0): {1: 6.0, 2: 0.0, 3: 6.0, 50: 0.0},
    (2.05, 1.0): {1: 6.15, 2: -0.3075, 3: 6.472875, 50: -31.40219935726103},
    (2.1, 1.0): {1: 6.3, 2: -0.63, 3: 6.993, 4: -1.3923, 5: 7.83153, 6: -2.314683, 7: 8.8461513, 8: -3.43076643, 9: 10.073843073, 10: -4.7812273803, 11: 11.55935011833, 12: -6.415285130163, 13: 13.3568136431793, 14: -8.39249500749723, 15: 15.531744508246954, 16: -10.784918959071648, 17: 18.163410854978814, 18: -13.679751940476695, 19: 21.347727134524362, 20: -17.1824998479768, 21: 25.20074983277448, 22: -21.42082481605193, 23: 29.86290729765712, 24: -26.549198027422833, 25: 35.504117830165114, 50: -349.17255863908593},
    (2.2, 1.0): {1: 6.6, 2: -1.32, 3: 8.184, 50: -27298.314450006448},
    (2.5, 1.0): {1: 7.5, 2: -3.75, 3: 13.125, 50: -1912864497.6421487},
    (1e-05, 30.0): {1: 0.0009, 2: 0.00179973, 3: 0.002699190081, 10: 0.008987859714898837},
    (0.001, 30.0): {1: 0.09, 2: 0.1773, 3: 0.261981, 50: 2.3458038739577773},
    (0.1, 30.0): {1: 9.0, 2: -9.0, 3: 27.0, 50: -3377699720527869.0},
}


def assert_path(function, got, lr, curvature=1.0, steps=None):
    """A list of `steps` Python floats W_1, W_2, ... (index 0 is W_1) whose recorded entries
    match (harness.check_list)."""
    recorded = RECORDED[(lr, curvature)]
    steps = steps or max(recorded)
    h.check_list(function, "the list W_1, W_2, ... (index 0 is W_1)", got, n=steps)
    ks = [k for k in sorted(recorded) if k <= steps]
    h.check_list(function, "W_k at k = " + ", ".join(map(str, ks)), [got[k - 1] for k in ks],
                 [recorded[k] for k in ks], tol=1e-12)


# ------------------------------------------------------------------- the seed's runs
@pytest.mark.parametrize("lr", [0.1, 0.5, 1.0, 2.1])
def test_seed_runs(impl, lr):
    ex = impl("ex13_learning_rate")
    path = ex.gradient_descent(lr)
    assert_path(f"gradient_descent({lr})", path, lr, steps=10)


def test_exercise5(impl):
    ex = impl("ex13_learning_rate")
    runs = ex.exercise5()
    assert isinstance(runs, dict) and list(runs) == [0.1, 0.5, 1.0, 2.1], \
        f"exercise5() should be a dict keyed by 0.1, 0.5, 1.0, 2.1, got {runs!r}"
    expected = {0.1: "converges", 0.5: "converges", 1.0: "converges", 2.1: "diverges"}
    for lr, (path, behaviour) in runs.items():
        assert_path(f"exercise5()[{lr}]", path, lr, steps=10)
        assert behaviour == expected[lr], f"exercise5(): lr = {lr} {expected[lr]}, not {behaviour!r}"


def test_lr_1_lands_on_the_minimum_in_one_step(impl):
    ex = impl("ex13_learning_rate")
    path = ex.gradient_descent(1.0)
    h.check_list("gradient_descent(1.0)", "the list W_1, W_2, ...", path, [3.0] * 10, tol=0)


def test_lr_2_oscillates_forever(impl):
    """W bounces 6, 0, 6, 0, ... exactly, for as long as you like."""
    ex = impl("ex13_learning_rate")
    path = ex.gradient_descent(2.0, steps=1000)
    h.check_list("gradient_descent(2.0, steps=1000)", "the list W_1, W_2, ...", path,
                 [6.0 if k % 2 else 0.0 for k in range(1, 1001)], tol=0)
    assert ex.classify_run(path) == "oscillates"


def test_lr_2_1_diverges(impl):
    """The distance to 3 grows by the same factor at every step, changing sign each time, and
    is 10x its start within 25 steps."""
    ex = impl("ex13_learning_rate")
    path = ex.gradient_descent(2.1, steps=25)
    assert_path("gradient_descent(2.1, steps=25)", path, 2.1, steps=25)
    distances = [abs(w - C) for w in [0.0, *path]]
    ratios = [distances[k + 1] / distances[k] for k in range(25)]
    for k, ratio in enumerate(ratios):
        assert abs(ratio - ratios[0]) <= 1e-9 * ratios[0], \
            f"at lr 2.1, |W_{k + 1} - 3| / |W_{k} - 3| is {ratio!r}, but the first step's is {ratios[0]!r}"
    signs = [math.copysign(1, w - C) for w in path]
    assert all(a != b for a, b in zip(signs, signs[1:])), "at lr 2.1, W should overshoot 3 at every step"
    last = distances[-1]
    assert not math.isfinite(last) or last >= 10 * distances[0], \
        f"at lr 2.1, |W - 3| should be 10x larger within 25 steps; it is {last!r} (from 3)"
    assert ex.classify_run(path) == "diverges"


def test_a_huge_lr_overflows_and_still_counts_as_diverging(impl):
    ex = impl("ex13_learning_rate")
    path = ex.gradient_descent(1e10, steps=40)        # past 1e308 within 40 steps
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
    assert_path(f"gradient_descent({lr}, steps=50)", path, lr, steps=50)
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
        assert_path(f"gradient_descent({lr}, steps=50, curvature=30)", path, lr, 30.0, steps=50)
        assert ex.classify_run(path) == behaviour, f"at lr {lr} with curvature 30 the run {behaviour}"
    slow = ex.gradient_descent(0.00001, steps=10, curvature=30.0)
    assert_path("gradient_descent(1e-5, curvature=30)", slow, 0.00001, 30.0, steps=10)
    assert abs(slow[-1] - C) > 0.99 * C, "at lr 1e-5, ten steps barely move W"
