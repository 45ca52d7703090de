# Exercise 4: write your code in this file. Replace each
#     raise NotImplementedError("Exercise 4: ...")
# below with your own code; keep every function's name and signature, as the tests
# and the grader call them. You may add helper functions.
# Check your work:   python -m tt check 4
#            (or:    python -m pytest exercises/tests/test_ex04_layernorm.py)
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
    raise NotImplementedError("Exercise 4: layernorm_backward")
