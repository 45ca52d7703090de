"""Scaled dot-product attention and multi-head attention (seed Part 3.4).

Shapes: B batch, T positions, C width, H heads, hs = C // H head size.
Head h uses columns h*hs .. h*hs + hs - 1 of Q, K, V and of the concatenated output.
Attention is non-causal: every position attends to all T positions.

The model's last block needs one query, the last position's, and computes it with
last_query_mha_forward/backward: the same numbers, without the keys and values of
every position (see there).

Composite backward passes take `ops`, the set of backward functions to use for their
pieces (see tt.ops). Pass `None` for the reference. This is how a student's
`softmax_backward` can be plugged into the reference attention, and the grader can
swap in exactly one piece.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from tt.layers import LinearCache, SoftmaxCache, linear_forward, softmax_forward
from tt.ops import reference


# ------------------------------------------------------- scaled dot-product attention
class AttentionCache(NamedTuple):
    q: np.ndarray         # (..., T, hs)
    k: np.ndarray         # (..., T, hs)
    v: np.ndarray         # (..., T, hs)
    softmax: SoftmaxCache  # holds att: (..., T, T)


def attention_forward(q, k, v):
    """out = softmax(q @ k^T / sqrt(hs)) @ v, for any leading dims (e.g. (B, H)).

    q, k, v: (..., T, hs). Returns out: (..., T, hs).
    """
    hs = q.shape[-1]
    scores = q @ k.swapaxes(-1, -2)                             # (..., T, T)
    scores *= hs ** -0.5
    att, sm_cache = softmax_forward(scores)                     # (..., T, T)
    return att @ v, AttentionCache(q, k, v, sm_cache)           # (..., T, hs)


def attention_backward(dout, cache, ops=None):
    """Backward of scaled dot-product attention: returns (dq, dk, dv).

    In the forward pass:  scores = q k^T / sqrt(hs);  att = softmax(scores);  out = att v
      dv      = att^T dout                      (..., T, hs)
      datt    = dout v^T                        (..., T, T)
      dscores = softmax backward of datt        (..., T, T)
      dq      = dscores k / sqrt(hs),   dk = dscores^T q / sqrt(hs)
    """
    ### BEGIN SOLUTION
    ops = ops or reference()
    q, k, v, sm_cache = cache
    att = sm_cache.y                                            # (..., T, T)
    scale = q.shape[-1] ** -0.5
    dv = att.swapaxes(-1, -2) @ dout                            # (..., T, hs)
    datt = dout @ v.swapaxes(-1, -2)                            # (..., T, T)
    datt *= scale                    # the scale, before the softmax: its backward is linear
    dscores = ops.softmax_backward(datt, sm_cache)              # (..., T, T)
    dq = dscores @ k                                            # (..., T, hs)
    dk = dscores.swapaxes(-1, -2) @ q                           # (..., T, hs)
    return dq, dk, dv
    ### END SOLUTION


# ------------------------------------------------------------ multi-head attention
class MHACache(NamedTuple):
    q: LinearCache         # x[:, -Tq:] @ W_q
    kv: LinearCache        # x @ [W_k | W_v]
    attn: AttentionCache   # all heads at once, leading dims (B, H)
    proj: LinearCache      # concat @ W_o
    H: int
    T: int                 # positions of x (keys and values)


def mha_forward(x, W_q, W_k, W_v, W_o, H, n_queries=None):
    """Multi-head self-attention without biases.

    x: (B, T, C); W_q, W_k, W_v, W_o: (C, C). Returns (B, Tq, C).
    Queries come from the last Tq = n_queries positions (all T by default), keys and
    values from all of them. The model's last block asks for Tq = 1: the logits read
    only the last position, so nothing else of that block is ever needed.
    """
    B, T, C = x.shape
    Tq = T if n_queries is None else n_queries
    hs = C // H
    q, q_cache = linear_forward(x[:, T - Tq:], W_q)                      # (B, Tq, C)
    kv, kv_cache = linear_forward(x, np.concatenate([W_k, W_v], axis=1))  # (B, T, 2C)
    # split the heads: column h*hs + j of Q, K and V belongs to head h
    q = q.reshape(B, Tq, H, hs).transpose(0, 2, 1, 3)                   # (B, H, Tq, hs)
    kv = kv.reshape(B, T, 2, H, hs).transpose(2, 0, 3, 1, 4)            # (2, B, H, T, hs)
    heads, attn_cache = attention_forward(q, kv[0], kv[1])              # (B, H, Tq, hs)
    concat = heads.transpose(0, 2, 1, 3).reshape(B, Tq, C)              # (B, Tq, C)
    out, proj_cache = linear_forward(concat, W_o)                       # (B, Tq, C)
    return out, MHACache(q_cache, kv_cache, attn_cache, proj_cache, H, T)


def mha_backward(dout, cache, ops=None):
    """Backward of multi-head attention: returns (dx, dW_q, dW_k, dW_v, dW_o).

    Undo the forward in reverse: the output projection, the concatenation of heads
    (a reshape, so its backward is the inverse reshape), attention in every head,
    the split into heads, and the projections. x fed Q, K and V, so dx is the sum
    of the three paths (seed Part 3.4); the Q path reaches only the query rows.
    """
    ### BEGIN SOLUTION
    ops = ops or reference()
    B, Tq, C = dout.shape
    H, T = cache.H, cache.T
    hs = C // H
    dconcat, dW_o, _ = ops.linear_backward(dout, cache.proj)       # (B, Tq, C)
    dheads = dconcat.reshape(B, Tq, H, hs).transpose(0, 2, 1, 3)    # (B, H, Tq, hs)
    dq, dk, dv = ops.attention_backward(dheads, cache.attn, ops)    # (B, H, Tq|T, hs)
    dq = dq.transpose(0, 2, 1, 3).reshape(B, Tq, C)                  # merge the heads
    dkv = np.empty((B, T, 2, H, hs), dtype=dk.dtype)                 # [dK | dV] columns
    dkv[:, :, 0] = dk.transpose(0, 2, 1, 3)
    dkv[:, :, 1] = dv.transpose(0, 2, 1, 3)
    dkv = dkv.reshape(B, T, 2 * C)                                   # (B, T, 2C)
    dx, dW_kv, _ = ops.linear_backward(dkv, cache.kv)               # (B, T, C)
    dxq, dW_q, _ = ops.linear_backward(dq, cache.q)                 # (B, Tq, C)
    dx[:, T - Tq:] += dxq                                           # the Q path
    dW_k, dW_v = dW_kv[:, :C], dW_kv[:, C:]                         # 2 x (C, C)
    return dx, dW_q, dW_k, dW_v, dW_o
    ### END SOLUTION


# ------------------------------------------- one query: attention in input space
class LastQueryCache(NamedTuple):
    x: np.ndarray          # (B, T, C) every position: keys and values are read from it
    q: np.ndarray          # (B, H, hs) the query, split into heads
    q_proj: LinearCache    # x[:, -1] @ W_q
    u: np.ndarray          # (B, H, C) the query carried into input space, q_h W_k^h^T
    softmax: SoftmaxCache  # holds att: (B, H, T)
    c: np.ndarray          # (B, H, C) the attended input, att_h x
    W_k: np.ndarray        # (C, C)
    W_v: np.ndarray        # (C, C)
    proj: LinearCache      # concat @ W_o


def _heads_of(W, H):
    """(C, C) -> (H, C, hs): W^h, the columns h*hs .. h*hs + hs - 1 of head h."""
    C = W.shape[0]
    return W.reshape(C, H, C // H).transpose(1, 0, 2)


def last_query_mha_forward(x, W_q, W_k, W_v, W_o, H):
    """mha_forward(x, W_q, W_k, W_v, W_o, H, n_queries=1), without keys or values.

    The logits read only the last position, so the model's last block needs one query.
    Projecting the keys and values of all T positions would then cost more than the
    attention itself. Move the projections to the query's side instead; for head h,
        scores_h = q_h (x W_k^h)^T = (q_h W_k^h^T) x^T = u_h x^T
        out_h    = att_h (x W_v^h) = (att_h x) W_v^h   = c_h W_v^h
    The same numbers up to round-off, for a quarter of the multiply-adds (at T = 8).
    x: (B, T, C). Returns (B, 1, C).
    """
    B, T, C = x.shape
    hs = C // H
    q, q_proj = linear_forward(x[:, -1], W_q)                                   # (B, C)
    q = q.reshape(B, H, hs)                                                     # (B, H, hs)
    u = (q.transpose(1, 0, 2) @ _heads_of(W_k, H).swapaxes(-1, -2)).transpose(1, 0, 2)  # (B, H, C)
    scores = u @ x.swapaxes(-1, -2)                                             # (B, H, T)
    scores *= hs ** -0.5
    att, sm_cache = softmax_forward(scores)                                     # (B, H, T)
    c = att @ x                                                                 # (B, H, C)
    heads = c.transpose(1, 0, 2) @ _heads_of(W_v, H)                            # (H, B, hs)
    concat = heads.transpose(1, 0, 2).reshape(B, 1, C)                          # (B, 1, C)
    out, proj = linear_forward(concat, W_o)                                     # (B, 1, C)
    return out, LastQueryCache(x, q, q_proj, u, sm_cache, c, W_k, W_v, proj)


def last_query_mha_backward(dout, cache, ops=None):
    """Backward of last_query_mha_forward: returns (dx, dW_q, dW_k, dW_v, dW_o).

    x appears twice, in scores = u x^T and in c = att x, so every position gets the
    gradient of both; the last position also gets the query's.
    """
    ### BEGIN SOLUTION
    ops = ops or reference()
    x, q, q_proj, u, sm_cache, c, W_k, W_v, proj = cache
    att = sm_cache.y                                                            # (B, H, T)
    B, H, hs = q.shape
    C = H * hs
    dconcat, dW_o, _ = ops.linear_backward(dout, proj)                          # (B, 1, C)
    dheads = dconcat.reshape(B, H, hs).transpose(1, 0, 2)                       # (H, B, hs)
    dW_v = (c.transpose(1, 2, 0) @ dheads).transpose(1, 0, 2).reshape(C, C)     # c_h^T dout_h
    dc = (dheads @ _heads_of(W_v, H).swapaxes(-1, -2)).transpose(1, 0, 2)       # (B, H, C)
    dx = att.swapaxes(-1, -2) @ dc                                              # (B, T, C): via c
    datt = dc @ x.swapaxes(-1, -2)                                              # (B, H, T)
    datt *= hs ** -0.5               # the scale, before the softmax: its backward is linear
    dscores = ops.softmax_backward(datt, sm_cache)                              # (B, H, T)
    dx += dscores.swapaxes(-1, -2) @ u                                          # via scores
    du = (dscores @ x).transpose(1, 0, 2)                                       # (H, B, C)
    dW_k = (du.swapaxes(-1, -2) @ q.transpose(1, 0, 2)).transpose(1, 0, 2).reshape(C, C)
    dq = (du @ _heads_of(W_k, H)).transpose(1, 0, 2).reshape(B, C)              # (B, C)
    dxq, dW_q, _ = ops.linear_backward(dq, q_proj)                              # (B, C)
    dx[:, -1] += dxq                                                            # the query
    return dx, dW_q, dW_k, dW_v, dW_o
    ### END SOLUTION
