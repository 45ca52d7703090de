# Generated from solutions/ex11_tiny_network.py by `tt build-exercises`. Do not edit: change the
# solution and rebuild. Replace each `raise NotImplementedError(...)` with your code.
"""Exercise 11: a complete backward pass through a tiny network, every gradient.

Seed: Practical Exercises, Exercise 1 "Hand Calculation - Complete Backward Pass".

The whole transformer in miniature: a linear layer, a ReLU, a linear layer and a loss.
One example, row vectors, matrices stored (in, out) as everywhere in tt:

    z      = x @ W1 + b1              x: (D,)   W1: (D, Hd)  b1: (Hd,)   z: (Hd,)
    hidden = ReLU(z)                                                     hidden: (Hd,)
    output = hidden @ W2 + b2         W2: (Hd, K)  b2: (K,)              output: (K,)
    loss   = 0.5 * sum((output - target)^2)                              target: (K,)

The seed's network has D = 2 inputs, Hd = 2 hidden units and K = 1 output:

    x = [2, 1]   W1 = [[0.5, -0.3], [0.2, 0.4]]   b1 = [0.1, -0.1]
    W2 = [[0.6], [0.3]]   b2 = [0.2]   target = [1.5]

Do it by hand first (the forward pass gives z = [1.3, -0.3]); then write the code,
which works for any D, Hd and K. The backward pass undoes the forward one line at a
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
    x: np.ndarray         # (D,)     the input, for dW1
    W2: np.ndarray        # (Hd, K)  for dhidden
    z: np.ndarray         # (Hd,)    the pre-activation: its sign gates the gradient
    hidden: np.ndarray    # (Hd,)    for dW2
    output: np.ndarray    # (K,)
    target: np.ndarray    # (K,)


class TinyGrads(NamedTuple):
    """Every gradient of the loss, each shaped like its variable."""
    doutput: np.ndarray   # (K,)
    dW2: np.ndarray       # (Hd, K)
    db2: np.ndarray       # (K,)
    dhidden: np.ndarray   # (Hd,)
    dW1: np.ndarray       # (D, Hd)
    db1: np.ndarray       # (Hd,)


def tiny_forward(x, W1, b1, W2, b2, target):
    """The forward pass of the 2 -> 2 -> 1 network (any sizes D -> Hd -> K).

    x: (D,); W1: (D, Hd); b1: (Hd,); W2: (Hd, K); b2: (K,); target: (K,).
    Returns (loss, cache): loss a Python float, cache a TinyCache.

    Hint: four lines, one per line of the forward pass in the module docstring.
    """
    raise NotImplementedError("Exercise 11: tiny_forward")


def tiny_backward(dloss, cache):
    """Every gradient of the loss, from the output back to the first layer.

    dloss: float, dL/dloss (1.0 when the loss is the final one)
    cache: the TinyCache of tiny_forward
    Returns TinyGrads(doutput, dW2, db2, dhidden, dW1, db1), each with the shape and
    dtype of its variable: (K,), (Hd, K), (K,), (Hd,), (D, Hd), (Hd,).

    Hint: a weight's gradient is the outer product of what came INTO its layer and
    the gradient that comes OUT of it (np.outer); ReLU lets a gradient through only
    where its input was positive.
    """
    raise NotImplementedError("Exercise 11: tiny_backward")
