# Exercise 5: write your code in this file. Replace each
#     raise NotImplementedError("Exercise 5: ...")
# below with your own code; keep every function's name and signature, as the tests
# and the grader call them. You may add helper functions.
# Check your work:   python -m tt check 5
#            (or:    python -m pytest exercises/tests/test_ex05_attention.py)
"""Exercise 5: softmax backward without a Jacobian, and scaled dot-product attention.

Seed: Part 3, Step 3.4 "Backward Through Multi-Head Attention" (the softmax, the
scaling and Q @ K.T), questions 27 and 34.

The forward passes (given, tt.softmax_forward and tt.attention_forward), for one
head or for all heads at once (leading dims such as (B, H)):

    scores = q @ k^T / sqrt(hs)        q: (..., Tq, hs);  k, v: (..., T, hs);  scores: (..., Tq, T)
    att    = softmax(scores)           row-wise over the last axis: each row sums to 1
    out    = att @ v                   out: (..., Tq, hs)

In the model Tq = T = 8 and hs = 16; the row softmax runs over T = 8 scores.
Check your work:  python -m pytest exercises -m ex05   (or: tt check 5)
"""
import math

import numpy as np

import tt
from tt.attention import AttentionCache, attention_forward  # noqa: F401  (the forward is given)
from tt.layers import SoftmaxCache, softmax_forward  # noqa: F401  (the forward is given)


def softmax_backward(dout, cache):
    """Backward of y = softmax(x) over the last axis; mirrors tt.softmax_backward.

    dout:  (..., n)  dL/dy, any leading dims, e.g. (B, H, T, T)
    cache: SoftmaxCache(y): the probabilities y, (..., n)
    Returns dx: (..., n), of the dtype of y.

    The seed writes dx[j] = sum_k dout[k] * y[k] * (delta[j, k] - y[j]): an n x n
    Jacobian per row. Do NOT build it: the tests give you rows of 2000 entries.

    Hint: split the sum over k into its two terms (the delta and the y[j]) and see
    which of them is the same number for every j of a row.
    """
    raise NotImplementedError("Exercise 5: softmax_backward")


def attention_backward(dout, cache, ops=None):
    """Backward of out = softmax(q @ k^T / sqrt(hs)) @ v; mirrors tt.attention_backward.

    dout:  (..., Tq, hs)  dL/dout, e.g. (B, H, T, hs)
    cache: AttentionCache(q (..., Tq, hs), k (..., T, hs), v (..., T, hs),
           softmax: the SoftmaxCache of att (..., Tq, T))
    ops:   where to find the pieces: call ops.softmax_backward(...). The tests pass
           a finite-difference softmax backward, so this exercise does not depend on
           the one above; exercise 15 passes your own.
    Returns (dq, dk, dv): the shapes of q, k, v, of their dtype.

    Hint: undo the three forward lines in reverse. A product a @ b has two inputs,
    so it has two gradients; write down the shapes and let them tell you where each
    transpose goes. Do not forget the constant 1/sqrt(hs).
    """
    raise NotImplementedError("Exercise 5: attention_backward")
