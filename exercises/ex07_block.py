# Exercise 7: write your code in this file. Replace each
#     raise NotImplementedError("Exercise 7: ...")
# below with your own code; keep every function's name and signature, as the tests
# and the grader call them. You may add helper functions.
# Check your work:   python -m tt check 7
#            (or:    python -m pytest exercises/tests/test_ex07_block.py)
"""Exercise 7: residual add & norm, and a whole transformer block's backward.

Seed: Part 3, Steps 3.1 and 3.3 (the add & norms and their residual connections),
Part 7 "Gradient Flow Visualization", questions 14, 17 and 32.

The forward passes (given, tt.add_norm_forward and tt.block_forward). A block is
post-LayerNorm, as in the seed, with x: (B, T, C) and every line (B, T, C):

    a  = MHA(x)              W_q, W_k, W_v, W_o          (exercise 6)
    x1 = LN1(x + a)          ln1.gamma, ln1.beta         add & norm: residual, then LayerNorm
    f  = FFN(x1)             W1, b1, W2, b2              (exercise 3)
    x2 = LN2(x1 + f)         ln2.gamma, ln2.beta         the block's output

x is used twice (by MHA and by the residual) and so is x1 (by the FFN and by the
residual): the gradient splits at each sum and merges again at each of them.
Check your work:  python -m pytest exercises -m ex07   (or: tt check 7)
"""
import tt
from tt.blocks import AddNormCache, BlockCache, add_norm_forward, block_forward  # noqa: F401  (given)


def add_norm_backward(dout, cache, ops=None):
    """Backward of y = LayerNorm(x + sub); mirrors tt.add_norm_backward.

    dout:  (B, T, C)  dL/dy
    cache: AddNormCache(ln): the LayerNormCache of LayerNorm(x + sub)
    ops:   where to find the pieces: call ops.layernorm_backward(...). The tests pass
           a finite-difference LayerNorm backward, so this exercise does not depend on
           your exercise 4; exercise 15 passes your own.
    Returns (dx, dsub, dgamma, dbeta): (B, T, C), (B, T, C), (C,), (C,).

    Hint: what is the derivative of s = x + sub with respect to x? And to sub?
    """
    raise NotImplementedError("Exercise 7: add_norm_backward")


def block_backward(dout, cache, ops=None):
    """Backward of one transformer block; mirrors tt.block_backward.

    dout:  (B, T, C)  dL/dx2, the gradient of the block's output
    cache: BlockCache(mha, norm1, ffn, norm2), the caches of the four forward lines
    ops:   where to find the pieces: call ops.add_norm_backward(..., ops),
           ops.ffn_backward(..., ops) and ops.mha_backward(..., ops). The tests pass
           finite-difference versions, so this exercise does not depend on your
           earlier ones; exercise 15 passes your own.
    Returns (dx, grads): dx (B, T, C), and grads, a dict with the 12 block-local keys
    W_q, W_k, W_v, W_o, ln1.gamma, ln1.beta, W1, b1, W2, b2, ln2.gamma, ln2.beta,
    each the shape of its parameter.

    Hint: draw the seed's Part 7 diagram for the four lines above. Wherever a value
    was used twice, its gradient is the sum of the gradients of both uses.
    """
    raise NotImplementedError("Exercise 7: block_backward")
