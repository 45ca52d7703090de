# Exercise 13: write your code in this file. Replace each
#     raise NotImplementedError("Exercise 13: ...")
# below with your own code; keep every function's name and signature, as the tests
# and the grader call them. You may add helper functions.
# Check your work:   python -m tt check 13
#            (or:    python -m pytest exercises/tests/test_ex13_learning_rate.py)
"""Exercise 13: the learning-rate experiment: converging, oscillating, diverging.

Seed: Practical Exercises, Exercise 5 "Learning Rate Experiment", question 19, and
Part 8 "Why tiny steps?".

Gradient descent on one parameter with the loss

    loss(W) = 0.5 * h * (W - c)^2        dloss/dW = h * (W - c)        (h: the curvature)

    W_{k+1} = W_k - lr * h * (W_k - c)   from W_0

The seed's Exercise 5 has h = 1, c = 3, W_0 = 0 and tries lr = 0.1, 0.5, 1.0 and 2.1
for 10 steps; at 2.1 it says "critical!". Every quantity here is a Python float.

A run does one of three things, judged by its distance |W_k - c| to the minimum:

    converges    the distance shrinks towards 0 (it may overshoot c on the way)
    oscillates   the distance stays the same: W bounces between two points forever
    diverges     the distance grows, until W overflows to inf or nan

You will find the learning rate where runs stop converging twice: from a formula you
derive for classify_lr, and by experiment, bisecting on what runs actually do.

Hint: subtract c from both sides of the update. What does one step do to W_k - c,
and what does that make of W_k - c after k steps?

The names "converges", "oscillates" and "diverges" are the ones the problem sets use.
Check your work:  python -m pytest exercises -m ex13      (or: tt check 13)
"""
import math

CLASSES = ("converges", "oscillates", "diverges")
SEED_RATES = (0.1, 0.5, 1.0, 2.1)


def gradient_descent(lr, steps=10, w0=0.0, c=3.0, curvature=1.0):
    """Run gradient descent on loss = 0.5 * curvature * (W - c)^2.

    lr: the learning rate; steps: how many updates; w0: the start; c: the minimum;
    curvature: h, the loss's second derivative.
    Returns the list of W after each update, W_1 ... W_steps (w0 not included), as
    Python floats. Keep going if W overflows: inf and nan are results too.

    Hint: each step computes the gradient at the current W, then takes one step
    against it (no closed form: this is the experiment).
    """
    raise NotImplementedError("Exercise 13: gradient_descent")


def classify_run(trajectory, w0=0.0, c=3.0, rtol=1e-9):
    """What a run did: "converges", "oscillates" or "diverges".

    trajectory: W_1 ... W_n from gradient_descent; w0 and c as there.
    Compare the last distance |W_n - c| with the first, |w0 - c|:
        smaller -> "converges";  the same (within a relative rtol) -> "oscillates";
        larger, or not finite (inf, nan) -> "diverges".

    Hint: test for "not finite" first: every comparison with nan is False.
    """
    raise NotImplementedError("Exercise 13: classify_run")


def classify_lr(lr, curvature=1.0):
    """The same three classes as classify_run, from a formula, without running anything.

    lr: the learning rate; curvature: h. Returns "converges", "oscillates" or
    "diverges": what every run at this learning rate does (for any w0 != c).

    Hint: the module docstring's hint gives a number each step multiplies the distance
    to c by; the three classes are three cases of its size.
    """
    raise NotImplementedError("Exercise 13: classify_lr")


def critical_learning_rate(curvature=1.0):
    """The smallest learning rate at which gradient descent no longer converges.

    curvature: h. Returns a float, from the formula (no runs).

    Hint: it is where classify_lr's answer stops being "converges"; write that
    condition as an equation in lr and solve it.
    """
    raise NotImplementedError("Exercise 13: critical_learning_rate")


def find_critical_lr(curvature=1.0, steps=100, tol=1e-6):
    """The critical learning rate by experiment: bisection on classify_run.

    Run gradient_descent (from w0 = 0 to c = 3, `steps` updates) at trial learning
    rates. Keep two: `lo`, where runs converge, and `hi`, where they do not
    (oscillate or diverge). Start from lo = 0 and hi = 1, doubling hi while runs at
    hi still converge; then halve the interval until hi - lo <= tol.
    Returns (lo + hi) / 2, a float.

    Hint: each trial is one call of gradient_descent and one of classify_run; the
    formula of critical_learning_rate must not appear here.
    """
    raise NotImplementedError("Exercise 13: find_critical_lr")


def exercise5(rates=SEED_RATES, steps=10, w0=0.0, c=3.0):
    """The seed's Exercise 5: {lr: (W_1 ... W_steps, what the run did)} for each rate.

    Returns a dict keyed by the learning rates, in their order; each value is a pair
    (list of `steps` floats, one of "converges", "oscillates", "diverges").

    Hint: two functions above do all the work.
    """
    raise NotImplementedError("Exercise 13: exercise5")
