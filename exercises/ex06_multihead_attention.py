# Exercise 6: write your code in this file. Replace each
#     raise NotImplementedError("Exercise 6: ...")
# below with your own code; keep every function's name and signature, as the tests
# and the grader call them. You may add helper functions.
# Check your work:   python -m tt check 6
#            (or:    python -m pytest exercises/tests/test_ex06_multihead_attention.py)
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
    raise NotImplementedError("Exercise 6: mha_backward")
