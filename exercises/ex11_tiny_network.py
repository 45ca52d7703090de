# Exercise 11: write your code in this file. Replace each
#     raise NotImplementedError("Exercise 11: ...")
# below with your own code; keep every function's name and signature, as the tests
# and the grader call them. You may add helper functions.
# Check your work:   python -m tt check 11
#            (or:    python -m pytest exercises/tests/test_ex11_tiny_network.py)
"""Exercise 11: a complete backward pass through a tiny network, every gradient.

Seed: Practical Exercises, Exercise 1 "Hand Calculation - Complete Backward Pass".

The whole transformer in miniature: a linear layer, a ReLU, a linear layer and a loss.
It is the feed-forward network of a block, for one position, with a squared loss. So
its sizes take the names they have in the model: C inputs (the width), F hidden units
(the FFN's width) and V outputs (like the logits, which the loss reads). The seed's
network is 2 -> 2 -> 1: C = 2, F = 2 and V = 1. One example, row vectors, matrices
stored (in, out) as everywhere in tt:

    z      = x @ W1 + b1              x: (C,)   W1: (C, F)  b1: (F,)     z: (F,)
    hidden = ReLU(z)                                                     hidden: (F,)
    output = hidden @ W2 + b2         W2: (F, V)  b2: (V,)               output: (V,)
    loss   = 0.5 * sum((output - target)^2)                              target: (V,)

The seed's numbers:

    x = [2, 1]   W1 = [[0.5, -0.3], [0.2, 0.4]]   b1 = [0.1, -0.1]
    W2 = [[0.6], [0.3]]   b2 = [0.2]   target = [1.5]

Do it by hand first (the forward pass gives z = [1.3, -0.3]); then write the code,
which works for any C, F and V. The backward pass undoes the forward one line at a
time, last line first: the gradient of each variable has the shape of that variable.

Check your work:  python -m pytest exercises -m ex11      (or: tt check 11)
"""
from typing import NamedTuple

import numpy as np

# The seed's numbers, as float64 arrays.
SEED = {
    "x": np.array([2.0, 1.0]),
    "W1": np.array([[0.5, -0.3], [0.2, 0.4]]),
    "b1": np.array([0.1, -0.1]),
    "W2": np.array([[0.6], [0.3]]),
    "b2": np.array([0.2]),
    "target": np.array([1.5]),
}


class TinyCache(NamedTuple):
    """What the backward pass needs from the forward pass."""
    x: np.ndarray         # (C,)     the input, for dW1
    W2: np.ndarray        # (F, V)   for dhidden
    z: np.ndarray         # (F,)     the pre-activation: its sign gates the gradient
    hidden: np.ndarray    # (F,)     for dW2
    output: np.ndarray    # (V,)
    target: np.ndarray    # (V,)


class TinyGrads(NamedTuple):
    """Every gradient of the loss, each shaped like its variable."""
    doutput: np.ndarray   # (V,)
    dW2: np.ndarray       # (F, V)
    db2: np.ndarray       # (V,)
    dhidden: np.ndarray   # (F,)
    dW1: np.ndarray       # (C, F)
    db1: np.ndarray       # (F,)


def tiny_forward(x, W1, b1, W2, b2, target):
    """The forward pass of the 2 -> 2 -> 1 network (any sizes C -> F -> V).

    x: (C,); W1: (C, F); b1: (F,); W2: (F, V); b2: (V,); target: (V,).
    Returns (loss, cache): loss a Python float, cache a TinyCache.

    Hint: four lines, one per line of the forward pass in the module docstring.
    """
    raise NotImplementedError("Exercise 11: tiny_forward")


def tiny_backward(dloss, cache):
    """Every gradient of the loss, from the output back to the first layer.

    dloss: float, dL/dloss (1.0 when the loss is the final one)
    cache: the TinyCache of tiny_forward
    Returns TinyGrads(doutput, dW2, db2, dhidden, dW1, db1), each with the shape and
    dtype of its variable: (V,), (F, V), (V,), (F,), (C, F), (F,).

    Hint: a weight's gradient is the outer product of what came INTO its layer and
    the gradient that comes OUT of it (np.outer); ReLU lets a gradient through only
    where its input was positive.
    """
    raise NotImplementedError("Exercise 11: tiny_backward")
