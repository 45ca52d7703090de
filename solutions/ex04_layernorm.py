"""Exercise 4: LayerNorm backward, with its mean and variance correction terms.

Seed: Part 3, Step 3.1 "Backward Through Final Add & Norm", and question 11.

The forward pass (given, tt.layernorm_forward) normalizes each row of C = 64 numbers:

    mean = sum(x) / C                    var  = sum((x - mean)^2) / C   (biased)
    rstd = 1 / sqrt(var + eps)           xhat = (x - mean) * rstd
    y    = gamma * xhat + beta           x, y: (B, T, C);  gamma, beta: (C,)

The seed only sketches the backward pass: "dy * gamma / sigma - [correction terms
for mean and variance]". You derive those terms. Go backwards through the lines
above one at a time, as in "becoming a backprop ninja": a gradient for each
intermediate (dxhat, drstd, dvar, dxmu, dmean), each the shape of its variable.
Check your work:  python -m pytest exercises -m ex04
"""
import numpy as np

from tt.layers import LayerNormCache, layernorm_forward  # noqa: F401  (the forward is given)


def layernorm_backward(dout, cache):
    """Backward of LayerNorm over the last axis; mirrors tt.layernorm_backward.

    dout:  (..., C)  dL/dy, e.g. (B, T, C)
    cache: LayerNormCache from tt.layernorm_forward, with fields
           x (..., C), gamma (C,), eps (float), xhat (..., C), rstd (..., 1)
    Returns (dx, dgamma, dbeta): (..., C), (C,), (C,), of the dtype of dout.

    Hint: every x_i reaches the loss three ways: directly through xhat_i, through
    the mean, and through the variance. Its gradient is the sum of the three, and
    the last two are the "correction terms".
    """
    ### BEGIN SOLUTION
    x, gamma, eps, xhat, rstd = cache
    C = x.shape[-1]
    rows = dout.reshape(-1, C)
    # y = gamma * xhat + beta: beta and gamma are shared by every row, so sum over rows
    dbeta = rows.sum(axis=0)                                          # (C,)
    dgamma = (rows * xhat.reshape(-1, C)).sum(axis=0)                 # (C,)
    dxhat = dout * gamma                                              # (..., C)
    # xhat = xmu * rstd
    xmu = x - x.mean(axis=-1, keepdims=True)                          # (..., C)
    dxmu = dxhat * rstd                                               # (..., C) first path
    drstd = (dxhat * xmu).sum(axis=-1, keepdims=True)                 # (..., 1)
    # rstd = (var + eps) ** -0.5
    dvar = drstd * -0.5 * rstd ** 3                                   # (..., 1)
    # var = sum(xmu ** 2) / C
    dxmu = dxmu + dvar * 2.0 * xmu / C                                # second path
    # xmu = x - mean,  mean = sum(x) / C
    dmean = -dxmu.sum(axis=-1, keepdims=True)                         # (..., 1)
    dx = dxmu + dmean / C                                             # third path
    return dx, dgamma, dbeta
    ### END SOLUTION
