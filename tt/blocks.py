"""The feed-forward network, residual add & norm, and the transformer block.

A block is post-LayerNorm, as in the seed:
    x = LN1(x + MHA(x))
    x = LN2(x + FFN(x))
Block parameters are passed as a dict with the block-local names of the model
contract: W_q, W_k, W_v, W_o, ln1.gamma, ln1.beta, W1, b1, W2, b2, ln2.gamma, ln2.beta.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from tt.attention import (LastQueryCache, MHACache, last_query_mha_backward,
                          last_query_mha_forward, mha_forward)
from tt.layers import (LayerNormCache, LinearCache, ReluCache, layernorm_forward,
                       linear_forward, relu_forward)
from tt.ops import reference


# ----------------------------------------------------------------------------- FFN
class FFNCache(NamedTuple):
    lin1: LinearCache
    relu: ReluCache
    lin2: LinearCache


def ffn_forward(x, W1, b1, W2, b2):
    """FFN(x) = ReLU(x @ W1 + b1) @ W2 + b2  (seed Part 3.2).

    x: (B, T, C); W1: (C, F); b1: (F,); W2: (F, C); b2: (C,). Returns (B, T, C).
    """
    z, lin1 = linear_forward(x, W1, b1)                         # (B, T, F)
    h, relu = relu_forward(z)                                   # (B, T, F)
    out, lin2 = linear_forward(h, W2, b2)                       # (B, T, C)
    return out, FFNCache(lin1, relu, lin2)


def ffn_backward(dout, cache, ops=None):
    """Backward of the FFN: returns (dx, dW1, db1, dW2, db2).

    The second linear layer, then ReLU (zero where z <= 0: sparse gradients),
    then the first linear layer; the seed's Part 3.2, line for line.
    """
    ### BEGIN SOLUTION
    ops = ops or reference()
    dh, dW2, db2 = ops.linear_backward(dout, cache.lin2)        # (B, T, F)
    dz = ops.relu_backward(dh, cache.relu)                      # (B, T, F)
    dx, dW1, db1 = ops.linear_backward(dz, cache.lin1)          # (B, T, C)
    return dx, dW1, db1, dW2, db2
    ### END SOLUTION


# --------------------------------------------------------------- residual add & norm
class AddNormCache(NamedTuple):
    ln: LayerNormCache


def add_norm_forward(x, sub, gamma, beta, eps=1e-5):
    """y = LayerNorm(x + sub): the residual connection, then normalization.

    x: (B, T, C) the block's input to this stage; sub: (B, T, C) the sublayer output.
    """
    y, ln = layernorm_forward(x + sub, gamma, beta, eps)
    return y, AddNormCache(ln)


def add_norm_backward(dout, cache, ops=None):
    """Backward of y = LN(x + sub): returns (dx, dsub, dgamma, dbeta).

    The derivative of a sum with respect to each term is 1, so the gradient of the
    sum goes unchanged down BOTH paths: this is where the gradient splits (seed 3.1).
    """
    ### BEGIN SOLUTION
    ops = ops or reference()
    ds, dgamma, dbeta = ops.layernorm_backward(dout, cache.ln)  # (B, T, C)
    return ds, ds, dgamma, dbeta
    ### END SOLUTION


# ---------------------------------------------------------------------------- block
class BlockCache(NamedTuple):
    mha: MHACache | LastQueryCache
    norm1: AddNormCache
    ffn: FFNCache
    norm2: AddNormCache


def block_forward(x, p, H, eps=1e-5, n_queries=None):
    """One post-LN transformer block. x: (B, T, C); p: block-local parameter dict.

    Returns (B, Tq, C): the block's output at the last Tq = n_queries positions (all T
    by default; the model's last block needs only Tq = 1, and then attends in input space).
    """
    T = x.shape[1]
    Tq = T if n_queries is None else n_queries
    W = p["W_q"], p["W_k"], p["W_v"], p["W_o"]
    if Tq == 1:
        a, mha = last_query_mha_forward(x, *W, H)                                   # (B, 1, C)
    else:
        a, mha = mha_forward(x, *W, H, Tq)                                          # (B, Tq, C)
    x1, norm1 = add_norm_forward(x[:, T - Tq:], a, p["ln1.gamma"], p["ln1.beta"], eps)  # (B, Tq, C)
    f, ffn = ffn_forward(x1, p["W1"], p["b1"], p["W2"], p["b2"])                    # (B, Tq, C)
    x2, norm2 = add_norm_forward(x1, f, p["ln2.gamma"], p["ln2.beta"], eps)          # (B, Tq, C)
    return x2, BlockCache(mha, norm1, ffn, norm2)


def block_backward(dout, cache, ops=None):
    """Backward of one block: returns (dx, grads) with grads keyed like `p`.

    Follow the seed's Part 7 diagram upwards: LN2 splits the gradient into the FFN
    branch and the residual; they merge at x1; LN1 splits it again into the attention
    branch and the residual; they merge at the block input x.
    """
    ### BEGIN SOLUTION
    ops = ops or reference()
    g = {}
    dx1, df, g["ln2.gamma"], g["ln2.beta"] = ops.add_norm_backward(dout, cache.norm2, ops)
    dx1_ffn, g["W1"], g["b1"], g["W2"], g["b2"] = ops.ffn_backward(df, cache.ffn, ops)
    dx1 = dx1 + dx1_ffn                                         # merge at x1
    dx, da, g["ln1.gamma"], g["ln1.beta"] = ops.add_norm_backward(dx1, cache.norm1, ops)
    mha_backward = (last_query_mha_backward if isinstance(cache.mha, LastQueryCache)
                    else ops.mha_backward)                  # the forward chose by Tq
    dx_mha, g["W_q"], g["W_k"], g["W_v"], g["W_o"] = mha_backward(da, cache.mha, ops)
    T, Tq = dx_mha.shape[1], dx.shape[1]
    dx_mha[:, T - Tq:] += dx                                    # merge at x (its last Tq rows)
    return dx_mha, g
    ### END SOLUTION
