"""The primitive operations, each a forward/backward pair built around a cache.

    op_forward(inputs...)  -> (out, cache)
    op_backward(dout, cache) -> (dinput, dparams...)

`dX` always means dL/dX and has the shape of `X`. A cache is a small NamedTuple: the
forward's inputs first, then what it computed that the backward pass reuses. Every backward returns arrays of the dtype
of the forward's input: float64 for checking, float32 for speed.

No Jacobian is ever built (softmax_backward says how).

The backward passes answer exercises: in the student edition of `tt`, which students
receive, each is a stub that names the exercise asking for it.
"""
from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np


# NumPy reduces slowly along a short last axis (our rows have 8 or 64 entries): its
# inner loop runs along the row. These give the same results 3-6x faster here, as
# matrix-vector products with a constant vector and as a running maximum.
@lru_cache(maxsize=64)
def _filled(n, value, dtype):
    v = np.full(n, value, dtype=dtype)
    v.flags.writeable = False
    return v


def row_sum(x):
    """x.sum(axis=-1, keepdims=True) for a contiguous float array."""
    n = x.shape[-1]
    return x.reshape(-1, n).dot(_filled(n, 1.0, x.dtype)).reshape(*x.shape[:-1], 1)


def row_mean(x):
    """x.mean(axis=-1, keepdims=True) for a contiguous float array."""
    n = x.shape[-1]
    return x.reshape(-1, n).dot(_filled(n, 1.0 / n, x.dtype)).reshape(*x.shape[:-1], 1)


def col_sum(x2):
    """x2.sum(axis=0) of a 2-D float array (a sum over rows)."""
    return _filled(x2.shape[0], 1.0, x2.dtype).dot(x2)


def row_max(x):
    """x.max(axis=-1, keepdims=True); a running maximum over columns for large x."""
    if x.size <= 2048:                  # small: NumPy's own reduction is cheaper
        return x.max(axis=-1, keepdims=True)
    m = x[..., :1].copy()
    for j in range(1, x.shape[-1]):
        np.maximum(m, x[..., j:j + 1], out=m)
    return m


# ----------------------------------------------------------------------------- linear
class LinearCache(NamedTuple):
    x: np.ndarray         # (..., in)   the input, needed for dW
    W: np.ndarray         # (in, out)   the weight, needed for dx
    b: np.ndarray | None  # (out,)      the bias, or None; only whether there is one matters


def linear_forward(x, W, b=None):
    """y = x @ W + b  (seed Part 2: logits = final_repr @ W_output + b_output).

    x: (..., in), e.g. (B, T, C) or (B, C);  W: (in, out);  b: (out,) or None.
    Returns y: (..., out) and a LinearCache.
    """
    # one (rows, in) x (in, out) product: a 3-D x @ W would be B separate small ones;
    # .dot of 2-D arrays also costs less per call than @ (1 us instead of 3 for tiny ones)
    y = x.reshape(-1, W.shape[0]).dot(W).reshape(*x.shape[:-1], W.shape[1])  # (..., out)
    if b is not None:
        y += b
    return y, LinearCache(x, W, b)


def linear_backward(dout, cache):
    """Backward of y = x @ W + b.

    dout: (..., out). Returns (dx, dW, db):
      dx = dout @ W.T                    (..., in)   each input feeds every output
      dW = sum over rows of x^T dout     (in, out)   an outer product per row, summed
      db = sum of dout over rows          (out,)     or None if there was no bias
    """
    ### BEGIN SOLUTION
    x, W, b = cache
    d_in, d_out = W.shape
    x2 = x.reshape(-1, d_in)                                    # (N, in)  N = rows
    g2 = dout.reshape(-1, d_out)                                # (N, out)
    dx = g2.dot(W.T).reshape(x.shape)                           # (..., in)
    dW = x2.T.dot(g2)                                           # (in, out)
    db = None if b is None else col_sum(g2)                     # (out,)
    return dx, dW, db
    ### END SOLUTION


# ----------------------------------------------------------------------------- ReLU
class ReluCache(NamedTuple):
    x: np.ndarray         # the pre-activation; its sign decides where gradient flows


def relu_forward(x):
    """y = max(x, 0), elementwise (seed Part 3.2)."""
    return np.maximum(x, 0), ReluCache(x)


def relu_backward(dout, cache):
    """dx = dout where x > 0, else 0: ReLU passes or blocks, it never scales.

    At x == 0 exactly we use the subgradient 0, as the seed does (1 if z > 0).
    """
    ### BEGIN SOLUTION
    dx = (cache.x > 0).astype(dout.dtype)                       # 1 where x > 0, else 0
    dx *= dout
    return dx
    ### END SOLUTION


# ----------------------------------------------------------------------------- softmax
class SoftmaxCache(NamedTuple):
    y: np.ndarray         # (..., n) the probabilities; backward needs only these


def softmax_forward(x):
    """Row-wise softmax over the last axis, shifted by the row max for stability."""
    y = x - row_max(x)
    np.exp(y, out=y)
    y /= row_sum(y)
    return y, SoftmaxCache(y)


def softmax_backward(dout, cache):
    """Row-wise softmax backward without a Jacobian.

    The Jacobian of one row is diag(y) - y y^T, so
        dx = y * dout - y * (dout . y) = y * (dout - sum(dout * y))
    (seed question 34: it is not diagonal, but it never has to be built).
    """
    ### BEGIN SOLUTION
    (y,) = cache
    return y * (dout - row_sum(dout * y))
    ### END SOLUTION


# ----------------------------------------------------------- softmax + cross-entropy
class CrossEntropyCache(NamedTuple):
    probs: np.ndarray     # (B, V)
    targets: np.ndarray   # (B,) int


def softmax_cross_entropy_forward(logits, targets):
    """loss = mean over the batch of -log softmax(logits)[target] (seed Part 1).

    logits: (B, V); targets: (B,) int. Returns (loss: float, cache).
    Uses log-sum-exp so that large logits neither overflow nor give log(0).
    """
    z = logits - logits.max(axis=-1, keepdims=True)                 # (B, V), max 0
    e = np.exp(z)                                                   # (B, V)
    total = e.sum(axis=-1, keepdims=True)                           # (B, 1), >= 1
    B = logits.shape[0]
    loss = float(np.log(total).sum() - z[np.arange(B), targets].sum()) / B  # mean -log p[target]
    e /= total                                                      # the probabilities
    return loss, CrossEntropyCache(e, targets)


def softmax_cross_entropy_backward(dloss, cache):
    """dlogits = dloss * (probs - one_hot(targets)) / B.

    For one example (B = 1) this is the seed's p - one_hot; the 1/B is there because
    the loss is a mean over the batch. `dloss` is 1.0 when this is the final loss.
    """
    ### BEGIN SOLUTION
    probs, targets = cache
    B = probs.shape[0]
    dlogits = probs.copy()                                          # (B, V)
    dlogits[np.arange(B), targets] -= 1
    dlogits *= dloss / B
    return dlogits
    ### END SOLUTION


# ----------------------------------------------------------------------------- LayerNorm
class LayerNormCache(NamedTuple):
    x: np.ndarray         # (..., C) the input
    gamma: np.ndarray     # (C,)
    eps: float
    xhat: np.ndarray      # (..., C) the normalized input (x - mean) * rstd
    rstd: np.ndarray      # (..., 1) 1 / sqrt(var + eps)


def layernorm_forward(x, gamma, beta, eps=1e-5):
    """y = gamma * (x - mean) / sqrt(var + eps) + beta over the last axis.

    The variance is the biased one (divide by C), and eps sits inside the square root.
    x: (..., C); gamma, beta: (C,).
    """
    xmu = x - row_mean(x)                                           # (..., C)
    rstd = 1.0 / np.sqrt(row_mean(xmu * xmu) + eps)                 # (..., 1)
    xhat = xmu
    xhat *= rstd                                                    # (..., C)
    y = xhat * gamma
    y += beta
    return y, LayerNormCache(x, gamma, eps, xhat, rstd)


def layernorm_backward(dout, cache):
    """LayerNorm backward with the mean and variance correction terms (seed Part 3.1).

    With g = dout * gamma, every x_i moves the mean and the variance, so besides the
    direct term g * rstd there are two corrections, one per statistic:
        dx = rstd * (g - mean(g) - xhat * mean(g * xhat))
        dgamma = sum over rows of dout * xhat,   dbeta = sum over rows of dout
    """
    ### BEGIN SOLUTION
    _, gamma, _, xhat, rstd = cache
    C = xhat.shape[-1]
    g = dout * gamma                                                # (..., C)
    dx = g - row_mean(g)                                            # (..., C)
    dx -= xhat * row_mean(g * xhat)
    dx *= rstd
    dgamma = col_sum((dout * xhat).reshape(-1, C))                  # (C,)
    dbeta = col_sum(dout.reshape(-1, C))                            # (C,)
    return dx, dgamma, dbeta
    ### END SOLUTION
