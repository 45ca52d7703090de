# Exercise 10: write your code in this file. Replace each
#     raise NotImplementedError("Exercise 10: ...")
# below with your own code; keep every function's name and signature, as the tests
# and the grader call them. You may add helper functions.
# Check your work:   python -m tt check 10
#            (or:    python -m pytest exercises/tests/test_ex10_gradient_check.py)
"""Exercise 10: numerical gradients, and a gradient check of a backward pass.

Seed: "Deep Dive: Mathematical Details / Gradient Checking", Exercise 2 "Gradient
Verification", question 12 and question 23.

How do you know a backward pass is right? Nudge one input and watch the output:

    df/dx_i  ~  (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)        eps = 1e-5

(a central difference: e_i is 1 at index i and 0 elsewhere). Then compare the two
gradients with a relative error, which does not care about their scale:

    rel_error(a, b) = max|a - b| / max(|a| + |b|)      0 if equal, about 1 if unrelated

In float64 a central difference is good to about 1e-9 (truncation O(eps^2) ~ 1e-10,
round-off O(1e-16 / eps) ~ 1e-11): a correct backward pass agrees to 1e-7 or better
(the seed's tolerance), a wrong one is off by 1e-2 or more.

A layer out = forward(x, ...) has an array output, so the check differentiates the
scalar sum(dout * out) for a RANDOM upstream gradient dout: its gradient with respect
to x is exactly what backward(dout, cache) must return. An all-ones dout proves
nothing for softmax or LayerNorm, whose outputs have a fixed sum.

Check your work:  python -m pytest exercises -m ex10      (or: tt check 10)
"""
from __future__ import annotations   # so that `-> float` reads exactly as in tt.gradcheck

import numpy as np

import tt  # noqa: F401  (the forward passes you check are tt's: tt.linear_forward, ...)


def rel_error(a, b) -> float:
    """The relative error max|a - b| / max(|a| + |b|); mirrors tt.gradcheck.rel_error.

    a, b: arrays of the same shape (or numbers). Returns a Python float: 0.0 when a
    and b are equal, including when both are all zeros; NaN if either holds a NaN.

    Hint: both maxima run over every entry; guard the division for the all-zeros
    case with a tiny floor such as 1e-300, not by adding a constant.
    """
    raise NotImplementedError("Exercise 10: rel_error")


def numerical_gradient(f, x, eps=1e-5):
    """Central differences of a scalar function; mirrors tt.gradcheck.numerical_gradient.

    f:   a function of no arguments returning a number; it reads the array x
    x:   a float64 array; it is changed IN PLACE, one entry at a time, and every
         entry is put back exactly as it was, even if f raises
    eps: the nudge
    Returns a float64 array shaped like x: entry i is (f(x + eps e_i) - f(x - eps e_i)) / (2 eps).

    Hint: np.ndindex(x.shape) visits every index of an array of any shape.

    tt's counterpart: tt.gradcheck.check_model (a stub in your edition of tt), which
    nudges the model's parameters the same way.
    """
    raise NotImplementedError("Exercise 10: numerical_gradient")


def check_gradient(analytical_grad, numerical_grad, tolerance=1e-7):
    """The seed's Exercise 2: True when the two gradients agree.

    analytical_grad, numerical_grad: arrays (or numbers)
    tolerance: the largest relative error accepted (the seed's 1e-7)
    Returns a bool: whether the two agree within the tolerance, as measured by your
    rel_error. Gradients of different shapes do not agree, and neither does a NaN
    anywhere (a gradient check that lets a NaN through is worse than none).

    Hint: every comparison with NaN is False. Try your function on a NaN before you
    trust it, and pick the comparison for which False means "they do not agree".
    """
    raise NotImplementedError("Exercise 10: check_gradient")


def quadratic(x):
    """The seed's test function f(x) = x^2 + 3x + 2 (given)."""
    return x ** 2 + 3 * x + 2


def quadratic_derivative(x):
    """f'(x) for f(x) = x^2 + 3x + 2, by hand, elementwise.

    x: a number or an array. Returns f'(x), of the same shape (and dtype, for arrays).

    Hint: the power rule, term by term.
    """
    raise NotImplementedError("Exercise 10: quadratic_derivative")


def check_op(forward, backward, inputs, wrt, seed=0, eps=1e-5):
    """Check backward against finite differences of forward; mirrors tt.gradcheck.check_op.

    forward:  out, cache = forward(**inputs), e.g. tt.layernorm_forward
    backward: grads = backward(dout, cache), the function under test; it returns one
              gradient per name in `wrt`, in that order (a bare array if wrt has one name)
    inputs:   {name: value} keyword arguments of forward. Float arrays are checked;
              a dict of float arrays (a block's parameters) is checked key by key and
              its gradient is a dict with the same keys; other values are passed as is.
    wrt:      the names of the inputs that backward returns gradients for
    seed:     seeds the random upstream gradient dout, shaped like out
    Returns {label: relative error}, one entry per checked array, labelled by its
    name ("x") or, inside a dict input, by name and key ("p.W1"); a gradient of the
    wrong shape gets an error of inf.

    Work on float64 copies of the float inputs, so that the check is accurate and
    never changes the caller's arrays.

    Hint: with f() = sum(dout * forward(**inputs)[0]), the numerical gradient of f with
    respect to an input is what backward(dout, cache) returns for it.
    """
    raise NotImplementedError("Exercise 10: check_op")
