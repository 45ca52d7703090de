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
    ### BEGIN SOLUTION
    grad = np.array(probs)       # a copy, of the same dtype: the j != t entries are p_j
    grad[target] -= 1.0          # d(-log p_t)/dz_j = p_j - [j == t]
    return grad
    ### END SOLUTION


def softmax_cross_entropy_backward(dloss, cache):
    """dloss/dlogits for the batch-mean loss; mirrors tt.softmax_cross_entropy_backward.

    dloss: float, the gradient flowing into the loss (1.0 when it is the final loss)
    cache: CrossEntropyCache(probs (B, V), targets (B,) int) from the forward pass
    Returns dlogits: (B, V), of the dtype of probs.

    Hint: the loss is a MEAN over the batch, so each example's share of it is 1/B of
    the single-example gradient above.
    """
    ### BEGIN SOLUTION
    probs, targets = cache
    B = probs.shape[0]
    dlogits = np.empty_like(probs)
    for b in range(B):                                     # one example at a time ...
        dlogits[b] = cross_entropy_grad_one(probs[b], int(targets[b]))
    return dlogits * (dloss / B)                           # ... then the mean's 1/B
    ### END SOLUTION
