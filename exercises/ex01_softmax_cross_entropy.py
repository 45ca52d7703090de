# Exercise 1: write your code in this file. Replace each
#     raise NotImplementedError("Exercise 1: ...")
# below with your own code; keep every function's name and signature, as the tests
# and the grader call them. You may add helper functions.
# Check your work:   python -m tt check 1
#            (or:    python -m pytest exercises/tests/test_ex01_softmax_cross_entropy.py)
"""Exercise 1: where the backward pass starts, dloss/dlogits = p - one_hot.

Seed: Part 1 "Starting Point: Loss Gradient", question 7 and question 28.

The forward pass (given, tt.softmax_cross_entropy_forward) turns the last position's
logits into probabilities and averages the negative log-probability of the targets:

    p[b]   = softmax(logits[b])                      logits: (B, V), V = 20
    loss   = mean over b of -log p[b, target[b]]     a scalar

Everything the model learns flows out of the (B, V) array you compute here.
Check your work:  python -m pytest exercises -m ex01
"""
import numpy as np

import tt
from tt.layers import CrossEntropyCache, softmax_cross_entropy_forward  # noqa: F401  (given)


def cross_entropy_grad_one(probs, target):
    """dloss/dlogits for ONE example, from its probabilities (seed question 7).

    probs:  (V,)  softmax of the logits, summing to 1
    target: int   index of the correct token
    Returns (V,), of the dtype of probs: the gradient of loss = -log probs[target] with
    respect to the logits. probs itself is left as it was.

    Hint: differentiate -log softmax(z)[t] with respect to z_j; treat j == t and
    j != t separately, then write both cases as one vector expression.
    """
    raise NotImplementedError("Exercise 1: cross_entropy_grad_one")


def softmax_cross_entropy_backward(dloss, cache):
    """dloss/dlogits for the batch-mean loss; mirrors tt.softmax_cross_entropy_backward.

    dloss: float, the gradient flowing into the loss (1.0 when it is the final loss)
    cache: CrossEntropyCache(probs (B, V), targets (B,) int) from the forward pass
    Returns dlogits: (B, V), of the dtype of probs.

    Hint: the loss is a MEAN over the batch, so each example's share of it is 1/B of
    the single-example gradient above.
    """
    raise NotImplementedError("Exercise 1: softmax_cross_entropy_backward")
