"""The same model in PyTorch eager, for side-by-side benchmarks only.

Not a dependency of tt, the grader or the tests: the benchmarks import it only when
PyTorch is installed. It reads and writes tt's parameter dict, so both frameworks run
from identical weights, and a cross-check compares their losses and gradients.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch

from tt.model import block_params, n_blocks, n_heads, positional_encoding


def to_torch(params, requires_grad=True):
    return {k: torch.tensor(v, requires_grad=requires_grad) for k, v in params.items()}


@lru_cache(maxsize=None)
def _positional_encoding(T, C, dtype):
    """tt's encodings as a tensor, built once per shape, as a registered buffer would be."""
    return torch.tensor(positional_encoding(T, C), dtype=dtype)


def forward(tp, tokens):
    """logits (B, V) from torch parameters tp and a LongTensor of tokens (B, T)."""
    E = tp["embedding"]
    B, T = tokens.shape
    C = E.shape[1]
    H = C // 16
    hs = C // H
    x = E[tokens] + _positional_encoding(T, C, E.dtype)
    nb = sum(1 for k in tp if k.endswith(".W_q"))
    for i in range(nb):
        p = {k: tp[f"blocks.{i}.{k}"] for k in ("W_q", "W_k", "W_v", "W_o", "ln1.gamma", "ln1.beta",
                                                 "W1", "b1", "W2", "b2", "ln2.gamma", "ln2.beta")}
        q = (x @ p["W_q"]).view(B, T, H, hs).transpose(1, 2)
        k = (x @ p["W_k"]).view(B, T, H, hs).transpose(1, 2)
        v = (x @ p["W_v"]).view(B, T, H, hs).transpose(1, 2)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hs), dim=-1)
        a = (att @ v).transpose(1, 2).reshape(B, T, C) @ p["W_o"]
        x = torch.nn.functional.layer_norm(x + a, (C,), p["ln1.gamma"], p["ln1.beta"], 1e-5)
        f = torch.relu(x @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]
        x = torch.nn.functional.layer_norm(x + f, (C,), p["ln2.gamma"], p["ln2.beta"], 1e-5)
    return x[:, -1] @ tp["W_out"] + tp["b_out"]


def loss_and_grads(tp, tokens, targets):
    for v in tp.values():
        v.grad = None
    loss = torch.nn.functional.cross_entropy(forward(tp, tokens), targets)
    loss.backward()
    return float(loss.detach()), {k: v.grad for k, v in tp.items()}
