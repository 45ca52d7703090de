# Exercise 12: write your code in this file. Replace each
#     raise NotImplementedError("Exercise 12: ...")
# below with your own code; keep every function's name and signature, as the tests
# and the grader call them. You may add helper functions.
# Check your work:   python -m tt check 12
#            (or:    python -m pytest exercises/tests/test_ex12_optimizers.py)
"""Exercise 12: the update rules, SGD, SGD with momentum and Adam, and their trajectories.

Seed: Part 6 "Parameter Updates", Exercise 4 "Optimizer Comparison", question 18 and
question 20.

Backpropagation gives dW = dL/dW; an update rule turns it into a step. Each rule has
the CS231n form, with its state explicit (a dict you return and get back next time;
None at the first step):

    next_w, state = rule(w, dw, state, lr=...)

    SGD        W <- W - lr * dW
    momentum   v <- beta * v + dW;            W <- W - lr * v          (v = 0 at first)
    Adam       m <- beta1 * m + (1 - beta1) * dW
               v <- beta2 * v + (1 - beta2) * dW^2
               m_hat = m / (1 - beta1^t);     v_hat = v / (1 - beta2^t)
               W <- W - lr * m_hat / (sqrt(v_hat) + eps)               t = 1, 2, 3, ...

w and dw are arrays of any shape (every parameter of the model, from the (V, C)
embedding to a (C,) LayerNorm gain) or plain Python floats (the seed's one parameter).
A rule never changes w in place: it returns a new value.

Exercise 15 trains the transformer with your `adam`.
Check your work:  python -m pytest exercises -m ex12      (or: tt check 12)
"""
import math
from fractions import Fraction
from pathlib import Path

import numpy as np

# Exercise 4: one parameter, five gradients.
SEED_W0 = 0.5
SEED_GRADS = (-0.1, -0.08, -0.12, -0.09, -0.11)
SEED_LR = 0.01


def sgd(w, dw, state=None, lr=1e-3):
    """Plain gradient descent; mirrors tt.optim.sgd.

    w, dw: arrays of the same shape (or floats). state: unused (SGD keeps nothing);
    return it unchanged, or {} when it is None.
    Returns (next_w, state), next_w of the shape and dtype of w.

    Hint: the seed's Part 6 gives the whole rule in one line.
    """
    raise NotImplementedError("Exercise 12: sgd")


def sgd_momentum(w, dw, state=None, lr=1e-3, beta=0.9):
    """SGD with momentum; mirrors tt.optim.sgd_momentum.

    v <- beta * v + dw;  W <- W - lr * v, with v = 0 before the first step.
    state: None at the first step, then the dict this function returned, {"v": v}.
    Returns (next_w, {"v": v}).

    Hint: v is a running sum of past gradients, each older one weighted by one more
    factor of beta: steps that agree add up (seed question 20's rolling ball).
    """
    raise NotImplementedError("Exercise 12: sgd_momentum")


def adam(w, dw, state=None, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """Adam exactly as the seed's Part 6 writes it; mirrors tt.optim.adam.

    tt's counterparts: tt.optim.adam and, in place for speed, tt.optim.adam_step_inplace
    (stubs in your edition of tt).

    state: None at the first step, then the dict this function returned,
    {"m": m, "v": v, "t": t}, where t counts the steps taken, so the first step has t = 1.
    Returns (next_w, {"m": m, "v": v, "t": t}).

    Hint: without the bias corrections the first steps would be far too small:
    m and v start at 0, so after one step m is only (1 - beta1) * dw.
    """
    raise NotImplementedError("Exercise 12: adam")


def exercise4_trajectories(w0=SEED_W0, grads=SEED_GRADS, lr=SEED_LR):
    """Exercise 4: W after each step of SGD, momentum (beta 0.9) and Adam (0.9, 0.999).

    w0: the starting value; grads: the gradient at each step; lr: the learning rate.
    Returns {"sgd": [...], "momentum": [...], "adam": [...]}: for each rule, the
    len(grads) values of W AFTER each step (w0 not included), as Python floats.

    Hint: use your three rules; each one's state starts at None and is passed back.
    """
    raise NotImplementedError("Exercise 12: exercise4_trajectories")


def plot_trajectories(trajectories, path, w0=SEED_W0):
    """Exercise 4's plot: W against the step number, one line per rule, to a PNG file.

    trajectories: the dict exercise4_trajectories returns; path: where to write the
    PNG; w0: the starting value, drawn at step 0.
    Returns the Path written, or None if matplotlib is not installed.

    Hint: matplotlib.use("Agg") draws without a screen; fig.savefig(path) writes the file.
    """
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    raise NotImplementedError("Exercise 12: plot_trajectories")


def updates_to_reach(w, grad, lr, target):
    """Question 18: how many SGD updates with a constant gradient until W reaches target.

    Every update moves W by the same step -lr * grad, so after k updates
    W_k = w - k * lr * grad. Returns the smallest k with W_k at or past the target,
    an int. Raises ValueError if the updates never get there (they stand still or
    move away).

    Work in exact arithmetic: read each number as the decimal it was written as,
    Fraction(str(x)). In floats, adding 0.00005 to 0.234 320 times falls just short
    of 0.25 (0.2499999999999...), and a loop would say 321.

    Hint: no loop is needed. W_k is a straight line in k: solve W_k = target for k,
    and remember that k counts whole updates.
    """
    raise NotImplementedError("Exercise 12: updates_to_reach")
