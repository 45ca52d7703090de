# Exercise 2: write your code in this file. Replace each
#     raise NotImplementedError("Exercise 2: ...")
# below with your own code; keep every function's name and signature, as the tests
# and the grader call them. You may add helper functions.
# Check your work:   python -m tt check 2
#            (or:    python -m pytest exercises/tests/test_ex02_linear.py)
"""Exercise 2: backward through a linear layer and through the output projection.

Seed: Part 2 "Backward Through Output Projection", question 8, and the FFN's linear
layers in Part 3, Step 3.2.

The forward passes (given, tt.linear_forward and tt.output_forward):

    y      = x @ W + b            x: (..., in), e.g. (B, in) or (B, T, in)
                                  W: (in, out);  b: (out,) or None;  y: (..., out)
    logits = x[:, -1] @ W_out + b_out
                                  x: (B, T, C);  W_out: (C, V);  b_out: (V,);  logits: (B, V)

Every matrix in the model is one of these: W_q, W_k, W_v, W_o (no bias), W1 and W2
(with a bias), and W_out, which reads only the last of the T positions.
Check your work:  python -m pytest exercises -m ex02   (or: tt check 2)
"""
import numpy as np

import tt
from tt.layers import LinearCache, linear_forward  # noqa: F401  (the forward is given)
from tt.model import OutputCache, output_forward  # noqa: F401  (the forward is given)


def linear_backward(dout, cache):
    """Backward of y = x @ W + b; mirrors tt.linear_backward.

    dout:  (..., out)  dL/dy, e.g. (B, out) or (B, T, out)
    cache: LinearCache(x (..., in), W (in, out), b (out,) or None) from the forward
    Returns (dx, dW, db): (..., in), (in, out), (out,), of the dtype of x. db is
    None when the layer has no bias (b is None).

    Hint: start from ONE row, y[j] = sum_i x[i] W[i, j] + b[j] (the seed's Part 2
    writes it out for final_repr). W and b are shared by every row of a batch, so
    each row adds its own contribution to dW and db.
    """
    raise NotImplementedError("Exercise 2: linear_backward")


def output_backward(dlogits, cache, ops=None):
    """Backward of logits = x[:, -1] @ W_out + b_out; mirrors tt.output_backward.

    dlogits: (B, V)  dL/dlogits, where the backward pass starts (exercise 1)
    cache:   OutputCache(T, linear): T the number of positions of x, and the
             LinearCache of x[:, -1] (B, C) @ W_out (C, V) + b_out (V,)
    ops:     where to find the pieces: call ops.linear_backward(...). The tests pass
             finite-difference versions of the pieces, so this exercise does not
             depend on your linear_backward; exercise 15 passes your own.
    Returns (dx, dW_out, db_out): (B, T, C), (C, V), (V,), of the dtype of x.

    Hint: dx must have the shape of the WHOLE input x, (B, T, C), though the forward
    read only one of its T positions. What is the gradient of a value never read?
    """
    raise NotImplementedError("Exercise 2: output_backward")
