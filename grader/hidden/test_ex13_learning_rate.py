"""Hidden checks of exercise 13: gradient descent on 0.5 h (W - c)^2, what runs do, the critical rate.

Expected trajectories come from the closed form W_k = c + (1 - lr h)^k (W_0 - c), the
classes from the definitions in the exercise (the last distance to c against the first;
|1 - lr h| against 1), the critical rate from 2 / h. exercise5's dict, keyed by the
learning rates, comes back as it is (the wire carries dicts with float keys).
"""
import math

import numpy as np
import pytest

from grader.checks import GradeFailure
from grader.hidden.support import call, expect_equal, expect_floats, expect_number

MODULE = "ex13_learning_rate"


def closed_form(lr, steps, w0, c, h):
    r = 1 - lr * h
    return [c + r ** k * (w0 - c) for k in range(1, steps + 1)]


def descent_variants(lr, steps, w0, c, h):
    return [("W moves up the slope: the update is W - lr * gradient", closed_form(-lr, steps, w0, c, h)),
            ("the curvature is left out of the gradient: dloss/dW = h (W - c)", closed_form(lr, steps, w0, c, 1.0)),
            ("the gradient is h (W - c): the minimum c is left out",
             [(1 - lr * h) ** k * w0 for k in range(1, steps + 1)]),
            ("the list starts with w0; it should hold W_1 ... W_steps",
             [w0] + closed_form(lr, steps - 1, w0, c, h))]


def classify(trajectory, w0, c, rtol=1e-9):
    """The exercise's definition: the last distance to c against the first."""
    start, end = abs(w0 - c), abs(trajectory[-1] - c)
    if not math.isfinite(end) or end > start * (1 + rtol):
        return "diverges"
    return "oscillates" if end >= start * (1 - rtol) else "converges"


def descend(student, lr, steps, w0, c, h):
    return call(student, MODULE, "gradient_descent", lr, steps, w0, c, h)


@pytest.mark.points(3)
def test_gradient_descent_random(student, rng):
    """gradient_descent from a random start to a random minimum, with a random curvature, at a converging rate and at a slowly diverging one."""
    h = float(rng.uniform(0.5, 8.0))
    w0, c = float(rng.uniform(-5, 5)), float(rng.uniform(-5, 5))
    for lr, steps in ((float(rng.uniform(0.05, 1.9)) / h, int(rng.integers(8, 20))),
                      (float(rng.uniform(2.05, 2.4)) / h, int(rng.integers(8, 20)))):
        got = descend(student, lr, steps, w0, c, h)
        expect_floats(got, closed_form(lr, steps, w0, c, h), f"gradient_descent(lr={lr:.4g}, {steps} steps)",
                      function="gradient_descent", rtol=1e-9, variants=descent_variants(lr, steps, w0, c, h))


@pytest.mark.points(1)
def test_gradient_descent_overflow(student, rng):
    """At a huge learning rate the run keeps going after W overflows: 40 values, the last one inf or nan."""
    h = float(rng.uniform(0.5, 2.0))
    got = descend(student, 1e10, 40, 0.0, 3.0, h)
    if not isinstance(got, list) or len(got) != 40:
        raise GradeFailure(f"gradient_descent(1e10, steps=40) should return a list of 40 values, but it returned "
                           f"{type(got).__name__}" + (f" of length {len(got)}" if isinstance(got, list) else ""),
                           "keep going after an overflow: inf and nan are results too")
    if not all(isinstance(v, float) for v in got) or math.isfinite(got[-1]):
        raise GradeFailure("gradient_descent(1e10, steps=40): the values should be floats, the last one inf or nan",
                           "do not stop or clip when W gets large")
    expect_floats(got[:5], closed_form(1e10, 5, 0.0, 3.0, h), "the first five values",
                  function="gradient_descent", rtol=1e-9,
                  variants=descent_variants(1e10, 5, 0.0, 3.0, h))


@pytest.mark.points(1)
def test_critical_rate_oscillates_exactly(student, rng):
    """At lr = 2 / h (h a power of two) W bounces between W_0 and 2c - W_0 exactly, for 100 steps."""
    h = float(2.0 ** rng.integers(-2, 4))
    w0, c = float(rng.integers(-9, 10)), float(rng.integers(-9, 10))
    want = [2 * c - w0 if k % 2 else w0 for k in range(1, 101)]
    expect_floats(descend(student, 2 / h, 100, w0, c, h), want, "gradient_descent at lr = 2 / h",
                  function="gradient_descent", rtol=1e-12, variants=descent_variants(2 / h, 100, w0, c, h))


@pytest.mark.points(2)
def test_classify_run(student, rng):
    """classify_run on runs that shrink, bounce exactly, grow, end in nan or inf, land on c, or end within rtol of their start distance."""
    w0, c = float(rng.uniform(-5, 5)), float(rng.uniform(-5, 5))
    d = w0 - c
    cases = [([c + 0.5 * d, c + float(rng.uniform(0.01, 0.9)) * d], "a run whose distance to c shrinks"),
             ([c - d, c + d], "a run that bounces between w0 and 2c - w0"),
             ([c + 1.2 * d, c - float(rng.uniform(1.01, 3)) * d], "a run whose distance to c grows"),
             ([c + 2 * d, float("nan")], "a run that ends in nan"),
             ([float("inf")], "a run that ends in inf"),
             ([c + 0.1 * d, c], "a run that lands on c"),
             ([c - d * (1 + 1e-12)], "a run whose last distance is 1 + 1e-12 times the first (within rtol)")]
    for trajectory, what in cases:
        got = call(student, MODULE, "classify_run", trajectory, w0, c)
        expect_equal(got, classify(trajectory, w0, c), "classify_run", function="classify_run", what=what,
                     variants=[("test for 'not finite' first (math.isfinite): every comparison with nan is False",
                                "converges")] if "nan" in what else [])


def by_factor(r):
    return "converges" if r < 1 else "oscillates" if r == 1 else "diverges"


# classify_lr's usual mistakes, each as the class it gives for (lr, h); a diagnosis is given
# only when one of them explains every answer of the test (all six cases are asked first)
CLASSIFY_MISTAKES = [
    ("the absolute value is missing: a factor below -1 grows the distance too (the run overshoots "
     "further at every step), so compare |1 - lr h| with 1", lambda lr, h: by_factor(1 - lr * h)),
    ("the curvature is left out: the factor is 1 - lr * curvature", lambda lr, h: by_factor(abs(1 - lr))),
    ("at lr = 2 / h exactly |1 - lr h| = 1: the distance stays the same, the run oscillates (it neither "
     "shrinks nor grows), so only |1 - lr h| < 1 converges",
     lambda lr, h: "converges" if abs(1 - lr * h) <= 1 else "diverges"),
    ("at lr = 2 / h exactly |1 - lr h| = 1: the run oscillates, it does not diverge; only |1 - lr h| > 1 "
     "diverges", lambda lr, h: "converges" if abs(1 - lr * h) < 1 else "diverges"),
]


@pytest.mark.points(1)
def test_classify_lr(student, rng):
    """classify_lr for random curvatures: below, at (exactly) and above the critical rate 2 / h."""
    cases = []
    for _ in range(2):
        h = float(2.0 ** rng.integers(-2, 4))         # a power of 2: lr = 2 / h is exactly lr h = 2
        cases += [(float(rng.uniform(0.01, 1.99)) / h, h, "a rate below 2 / h"), (2 / h, h, "lr = 2 / h exactly"),
                  (float(rng.uniform(2.01, 4)) / h, h, "a rate above 2 / h")]
    answers = [call(student, MODULE, "classify_lr", lr, h) for lr, h, _ in cases]
    wants = [by_factor(abs(1 - lr * h)) for lr, h, _ in cases]
    explained = [label for label, rule in CLASSIFY_MISTAKES
                 if [rule(lr, h) for lr, h, _ in cases] == answers and answers != wants]
    diagnosis = explained[0] if len(explained) == 1 else ""
    for (lr, h, what), got, want in zip(cases, answers, wants):
        expect_equal(got, want, "classify_lr", function="classify_lr", what=f"{what} (h = {h:g})",
                     variants=[(diagnosis, got)] if diagnosis else [])


@pytest.mark.points(1)
def test_critical_learning_rate(student, rng):
    """critical_learning_rate for a random curvature: the positive root of |1 - lr h| = 1 other than 0."""
    h = float(rng.uniform(0.2, 40))
    expect_number(call(student, MODULE, "critical_learning_rate", h), 2 / h, "the critical rate",
                  function="critical_learning_rate", rtol=1e-12,
                  variants=[("that is 1 / h, where one step lands exactly on the minimum; runs still converge "
                             "up to 2 / h", 1 / h), ("the curvature is left out", 2.0)])


def good_descent(student, h=1.5):
    """Whether the student's gradient_descent is right on a small fixed case (for a diagnosis)."""
    try:
        path = call(student, MODULE, "gradient_descent", 0.7 / h, 5, 0.0, 3.0, h)
    except GradeFailure:
        return False
    return isinstance(path, list) and len(path) == 5 and all(isinstance(v, float) for v in path) and \
        np.allclose(path, closed_form(0.7 / h, 5, 0.0, 3.0, h), rtol=1e-9)


def relies_on(student, h):
    """A diagnosis if find_critical_lr's building blocks are wrong (else "")."""
    try:
        good = good_descent(student, h)
        for trajectory in ([1.0, 2.5], [6.0], [6.5], [float("nan")]):
            good = good and call(student, MODULE, "classify_run", trajectory, 0.0, 3.0) == classify(trajectory, 0.0, 3.0)
    except GradeFailure:
        good = False
    return "" if good else ("find_critical_lr runs your gradient_descent and classify_run, and one of them fails "
                            "its own checks: fix that first")


def critical_curvature(rng, tol):
    """A curvature h (two decimals) at which no trial rate of the bisection lies within 1e-6
    (relative) of 2 / h: there |1 - lr h| is so close to 1 that 100 steps in floats cannot
    tell converging from oscillating, and the two valid answers differ by a step of the
    bracket."""
    while True:
        h = round(float(rng.uniform(0.3, 30)), 2)
        if all(abs(abs(1 - lr * h) - 1) > 1e-6 for lr in bisection(h, tol, trials=True)):
            return h


def bisection(h, tol, trials=False):
    """The exercise's bisection, with the closed form deciding whether a rate converges."""
    def converges(lr):
        return abs(1 - lr * h) < 1

    lo, hi, tried = 0.0, 1.0, [1.0]
    while converges(hi):
        lo, hi = hi, 2 * hi
        tried.append(hi)
    while hi - lo > tol:
        mid = (lo + hi) / 2
        tried.append(mid)
        lo, hi = (mid, hi) if converges(mid) else (lo, mid)
    return tried if trials else (lo + hi) / 2


@pytest.mark.points(2)
def test_find_critical_lr(student, rng):
    """find_critical_lr for a random curvature lands within the bisection tolerance 1e-6 of 2 / h."""
    h = critical_curvature(rng, 1e-6)
    got = call(student, MODULE, "find_critical_lr", h, timeout=30)
    try:
        expect_number(got, 2 / h, "the critical rate found", function="find_critical_lr", rtol=1e-6 / (2 / h),
                      variants=[("that is 1 / h, where one step lands on the minimum; the threshold is where "
                                 "runs stop converging", 1 / h)])
    except GradeFailure as failure:
        raise GradeFailure(failure.message, failure.diagnosis or relies_on(student, h)) from None


@pytest.mark.points(1)
def test_find_critical_lr_by_experiment(student, rng):
    """With a coarse tolerance (1e-3) the result is the midpoint of the final bracket of the bisection the exercise describes."""
    h = critical_curvature(rng, 1e-3)
    got = call(student, MODULE, "find_critical_lr", h, 100, 1e-3, timeout=30)
    try:
        expect_number(got, bisection(h, 1e-3), "the critical rate found with tol = 1e-3",
                      function="find_critical_lr", rtol=1e-12,
                      variants=[("it equals 2 / h: find the threshold by experiment (bisection on "
                                 "classify_run), not from the formula", 2 / h)])
    except GradeFailure as failure:
        raise GradeFailure(failure.message, failure.diagnosis or relies_on(student, h)) from None


@pytest.mark.points(2)
def test_exercise5(student, rng):
    """exercise5 for random rates, start, minimum and number of steps: each rate's trajectory and what it did, in the rates' order."""
    rates = [round(float(v), 3) for v in rng.uniform(0.05, 2.3, 4)]
    while len(set(rates)) < 4:          # four different rates: equal ones would be one key of the dict
        rates = [round(float(v), 3) for v in rng.uniform(0.05, 2.3, 4)]
    steps, w0, c = int(rng.integers(5, 15)), float(rng.integers(-5, 5)), float(rng.integers(-5, 5) + 0.5)
    got = call(student, MODULE, "exercise5", rates, steps, w0, c)
    if not isinstance(got, dict) or list(got) != rates:
        raise GradeFailure("exercise5 should return a dict keyed by the learning rates, in their order",
                           "runs[lr] = (path, what it did) for each lr in rates")
    for lr, value in got.items():
        if not (isinstance(value, tuple) and len(value) == 2):
            raise GradeFailure(f"exercise5: runs[{lr}] should be a pair (trajectory, class)")
        path, behaviour = value
        want = closed_form(lr, steps, w0, c, 1.0)
        try:
            expect_floats(path, want, f"runs[{lr}]'s trajectory", function="exercise5", rtol=1e-9,
                          variants=[("pass steps, w0 and c on to gradient_descent", closed_form(lr, 10, 0.0, 3.0, 1.0))])
        except GradeFailure as failure:
            defaults = closed_form(lr, 10, 0.0, 3.0, 1.0)
            if (not failure.diagnosis and isinstance(path, list) and len(path) == len(defaults)
                    and all(isinstance(v, float) for v in path) and np.allclose(path, defaults, rtol=1e-9)):
                raise GradeFailure(failure.message, "pass steps, w0 and c on to gradient_descent: this is the run "
                                                    "with its defaults (10 steps from 0 towards 3)") from None
            raise GradeFailure(failure.message, failure.diagnosis or (
                "" if good_descent(student) else "exercise5 runs your gradient_descent, which fails its own "
                                                 "checks: fix that first")) from None
        expect_equal(behaviour, classify(want, w0, c), f"runs[{lr}]'s class", function="exercise5",
                     what=f"the run at lr = {lr}",
                     variants=[("pass w0 and c on to classify_run", classify(want, 0.0, 3.0))])
