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
    ### BEGIN SOLUTION
    ops = ops or tt.reference()
    # y = LayerNorm(s)
    ds, dgamma, dbeta = ops.layernorm_backward(dout, cache.ln)   # (B, T, C), (C,), (C,)
    # s = x + sub: ds/dx = ds/dsub = 1, so both receive ds unchanged (the residual's
    # "gradient highway"). Two arrays, not one twice: a caller that adds into one
    # of them in place must not change the other.
    dx = ds                                                       # (B, T, C)
    dsub = ds.copy()                                              # (B, T, C)
    return dx, dsub, dgamma, dbeta
    ### END SOLUTION


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
    ### BEGIN SOLUTION
    ops = ops or tt.reference()
    mha, norm1, ffn, norm2 = cache
    grads = {}
    # x2 = LN2(x1 + f): split into the residual path and the FFN path
    dx1_residual, df, grads["ln2.gamma"], grads["ln2.beta"] = ops.add_norm_backward(dout, norm2, ops)
    # f = FFN(x1)
    dx1_ffn, grads["W1"], grads["b1"], grads["W2"], grads["b2"] = ops.ffn_backward(df, ffn, ops)
    # x1 fed both the FFN and the residual: merge
    dx1 = dx1_residual + dx1_ffn                                  # (B, T, C)
    # x1 = LN1(x + a): split again, into the residual path and the attention path
    dx_residual, da, grads["ln1.gamma"], grads["ln1.beta"] = ops.add_norm_backward(dx1, norm1, ops)
    # a = MHA(x)
    dx_mha, grads["W_q"], grads["W_k"], grads["W_v"], grads["W_o"] = ops.mha_backward(da, mha, ops)
    # x fed both the attention and the residual: merge. (A block asked for its output
    # at its last Tq positions only has a residual there; here Tq = T.)
    T, Tq = dx_mha.shape[1], dx_residual.shape[1]
    dx = dx_mha.copy()                                            # (B, T, C)
    dx[:, T - Tq:] += dx_residual
    return dx, grads
    ### END SOLUTION
