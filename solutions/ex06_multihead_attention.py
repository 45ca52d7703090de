"""Exercise 6: multi-head self-attention backward: split and merge heads, four weights.

Seed: Part 3, Step 3.4 "Backward Through Multi-Head Attention" (from the output
projection to the Q, K, V projections), questions 13 and 15.

The forward pass (given, tt.mha_forward), with hs = C // H and no biases:

    q = x @ W_q;   [k | v] = x @ [W_k | W_v]     x: (B, T, C);  q, k, v: (B, T, C)
    Q_h, K_h, V_h = columns h*hs .. h*hs + hs - 1 of q, k, v      (B, T, hs) per head
    head_h = softmax(Q_h @ K_h^T / sqrt(hs)) @ V_h                  (B, T, hs)
    concat = [head_0 | head_1 | ... | head_{H-1}]                   (B, T, C)
    out    = concat @ W_o                                           (B, T, C)

In the model C = 64, H = 4, hs = 16, T = 8. tt computes every head at once: the
cache's attention part holds Q, K, V as (B, H, T, hs) arrays, head h at [:, h].
Check your work:  python -m pytest exercises -m ex06   (or: tt check 6)
"""
import numpy as np

import tt
from tt.attention import MHACache, mha_forward  # noqa: F401  (the forward is given)


def mha_backward(dout, cache, ops=None):
    """Backward of multi-head self-attention; mirrors tt.mha_backward.

    dout:  (B, T, C)  dL/dout
    cache: MHACache with fields
             q     LinearCache of q = x @ W_q              (x (B, T, C), W_q (C, C), no bias)
             kv    LinearCache of [k | v] = x @ [W_k | W_v]  (x (B, T, C), (C, 2C), no bias)
             attn  AttentionCache of all heads at once, leading dims (B, H):
                   Q, K, V (B, H, T, hs) and the softmax of att (B, H, T, T)
             proj  LinearCache of out = concat @ W_o        (concat (B, T, C), W_o (C, C))
             H     the number of heads;  T  the number of positions of x
    ops:   where to find the pieces: call ops.linear_backward(...) and
           ops.attention_backward(..., ops). The tests pass finite-difference versions
           of the pieces, so this exercise does not depend on your earlier ones;
           exercise 15 passes your own.
    Returns (dx, dW_q, dW_k, dW_v, dW_o): (B, T, C) and four (C, C).

    tt's counterparts: tt.mha_backward and tt.attention.last_query_mha_backward (the
    model's last block, where one query attends in input space).

    Hint: splitting into heads and concatenating them only move numbers around, so
    their backward passes only move gradients back to where the numbers came from.
    Then ask: along how many paths did x reach the output?
    """
    ### BEGIN SOLUTION
    ops = ops or tt.reference()
    B, Tq, C = dout.shape              # Tq = T: queries come from every position
    H, T = cache.H, cache.T
    hs = C // H
    # out = concat @ W_o
    dconcat, dW_o, _ = ops.linear_backward(dout, cache.proj)        # (B, Tq, C), (C, C)
    # concat[..., h*hs:(h+1)*hs] = head_h: hand each head back its own columns
    dheads = np.empty((B, H, Tq, hs), dtype=dconcat.dtype)
    for h in range(H):
        dheads[:, h] = dconcat[:, :, h * hs:(h + 1) * hs]          # (B, Tq, hs)
    # head_h = attention(Q_h, K_h, V_h), all heads in one call (leading dims (B, H))
    dQ, dK, dV = ops.attention_backward(dheads, cache.attn, ops)  # (B, H, Tq|T, hs)
    # Q_h, K_h, V_h were columns of q, k, v: put each head's gradient back in them.
    # k and v sit side by side, [k | v] = x @ [W_k | W_v], so dv starts at column C.
    dq = np.empty((B, Tq, C), dtype=dQ.dtype)
    dkv = np.empty((B, T, 2 * C), dtype=dK.dtype)
    for h in range(H):
        cols = slice(h * hs, (h + 1) * hs)
        dq[:, :, cols] = dQ[:, h]
        dkv[:, :, cols] = dK[:, h]
        dkv[:, :, C + h * hs:C + (h + 1) * hs] = dV[:, h]
    # [k | v] = x @ [W_k | W_v]: the K and V paths into x, already summed by the product
    dx, dW_kv, _ = ops.linear_backward(dkv, cache.kv)             # (B, T, C), (C, 2C)
    # q = x @ W_q: the third path into x (its query rows: all T of them here)
    dx_q, dW_q, _ = ops.linear_backward(dq, cache.q)              # (B, Tq, C), (C, C)
    dx[:, T - Tq:] += dx_q
    dW_k, dW_v = dW_kv[:, :C], dW_kv[:, C:]                       # (C, C) each
    return dx, dW_q, dW_k, dW_v, dW_o
    ### END SOLUTION
