# Exercise 3: write your code in this file. Replace each
#     raise NotImplementedError("Exercise 3: ...")
# below with your own code; keep every function's name and signature, as the tests
# and the grader call them. You may add helper functions.
# Check your work:   python -m tt check 3
#            (or:    python -m pytest exercises/tests/test_ex03_relu_ffn.py)
"""Exercise 3: ReLU backward (sparse gradients) and the feed-forward network's backward.

Seed: Part 3, Step 3.2 "Backward Through FFN", questions 9 and 10.

The forward passes (given, tt.relu_forward and tt.ffn_forward):

    h   = ReLU(z) = max(z, 0)          elementwise, any shape, e.g. (B, T, F)
    z   = x @ W1 + b1                   x: (B, T, C);  W1: (C, F);  b1: (F,);  z: (B, T, F)
    h   = ReLU(z)                       h: (B, T, F)
    out = h @ W2 + b2                   W2: (F, C);  b2: (C,);  out: (B, T, C)

With C = 64 and F = 256, the FFN holds 33,088 of each block's 49,728 parameters.
Check your work:  python -m pytest exercises -m ex03   (or: tt check 3)
"""
import tt
from tt.blocks import FFNCache, ffn_forward  # noqa: F401  (the forward is given)
from tt.layers import ReluCache, relu_forward  # noqa: F401  (the forward is given)


def relu_backward(dout, cache):
    """Backward of h = ReLU(z) = max(z, 0); mirrors tt.relu_backward.

    dout:  dL/dh, any shape, e.g. (B, T, F)
    cache: ReluCache(x): x is z, the forward's input, of the shape of dout
    Returns dz: the shape and dtype of dout. Do not change dout itself: the caller
    may still need it.

    Hint: ReLU is two functions glued at 0: the identity where z > 0 and the
    constant 0 elsewhere. Where exactly z == 0 use the seed's rule (1 only if z > 0).
    """
    raise NotImplementedError("Exercise 3: relu_backward")


def ffn_backward(dout, cache, ops=None):
    """Backward of out = ReLU(x @ W1 + b1) @ W2 + b2; mirrors tt.ffn_backward.

    dout:  (B, T, C)  dL/dout
    cache: FFNCache(lin1, relu, lin2): the LinearCache of z = x @ W1 + b1, the
           ReluCache of h = ReLU(z), and the LinearCache of out = h @ W2 + b2
    ops:   where to find the pieces: call ops.linear_backward(...) and
           ops.relu_backward(...). The tests pass finite-difference versions of the
           pieces, so this exercise does not depend on your earlier ones; exercise 15
           passes your own.
    Returns (dx, dW1, db1, dW2, db2): (B, T, C), (C, F), (F,), (F, C), (C,).

    Hint: undo the three forward lines in reverse order; each piece's backward hands
    the next one the gradient of its input.
    """
    raise NotImplementedError("Exercise 3: ffn_backward")
