"""Model-level facts from a configuration: parameters, FLOPs, and training memory.

Parameters (the tt model contract, tt.model.param_shapes):
    embedding V×C; per block W_q, W_k, W_v, W_o (C×C, no biases), two LayerNorms
    (γ, β: C each), W1 C×F, b1 F, W2 F×C, b2 C; output W_out C×V, b_out V.
    N = V·C + L·(4C² + 4C + 2CF + F + C) + C·V + V          (= tt.config.n_params)

FLOPs of one forward pass of one example (T positions). Only matrix products count, a
multiply-add is 2 FLOPs, and an (m×k)@(k×n) product costs 2mkn:
    per block  Q, K, V, O projections  4 · 2·T·C·C
               scores Q@Kᵀ, all heads  2·T·T·C      (H heads of 2·T·T·hs)
               attention @ V           2·T·T·C
               FFN, both matmuls       2 · 2·T·C·F
    output     last position only      2·C·V       (the model reads x[:, -1])
    FLOPs = L·(8TC² + 4T²C + 4TCF) + 2CV

Memory in bytes, b bytes per number (4 for float32, 8 for float64):
    parameters N·b; gradients N·b; Adam state 2N·b (m and v);
    activations B·A·b, where A counts, per example, every tensor the backward pass
    reads, once, as stored (even where it could be recomputed):
      per block: block input x (T×C); Q, K, V (3·T×C); attention weights (H×T×T);
                 concatenated head outputs (T×C); LN1 x̂ (T×C) and 1/σ (T);
                 LN1 output = FFN input (T×C); FFN pre-activation z (T×F) and
                 h = ReLU(z) (T×F); LN2 x̂ (T×C) and 1/σ (T)
                 → 8TC + HT² + 2TF + 2T
      once: the last position's final representation (C) and the probabilities (V)
    A = L·(8TC + HT² + 2TF + 2T) + C + V

The key is built from explicit lists (every parameter tensor, every matmul, every
stored activation); the second derivation is the closed-form polynomials above in
sympy symbols, tt's own parameter count and shapes, numpy's size of the dtype, and the
number of moments the bank's Adam (Exercise 4) keeps.
"""
from __future__ import annotations

from math import prod

import numpy as np
import sympy as sp

from grader.problems import ex4_optimizers
from grader.problems.core import EXACT, INTEGER, Part, Problem, agree
from grader.problems.variants import Dice
from tt.config import Config, n_params
from tt.model import param_shapes

BYTES = {"float32": 4, "float64": 8}


def seed_params() -> dict:
    return {"cfg": Config(), "B": 32, "dtype": "float32", "bytes": 4}  # the seed's batch, 4 bytes


def generate(dice: Dice) -> dict:
    C = dice.choice([32, 48, 64, 96, 128])
    cfg = Config(V=dice.choice([16, 20, 24, 32]), T=dice.choice([6, 8, 10, 12]), C=C,
                 H=C // 16, F=dice.choice([2, 4]) * C, n_blocks=dice.integer(1, 4))
    dtype = dice.choice(["float32", "float64"])
    return {"cfg": cfg, "B": dice.choice([1, 8, 16, 32, 64]), "dtype": dtype,
            "bytes": BYTES[dtype]}


def check(p: dict) -> list[str]:
    cfg = p["cfg"]
    reasons = []
    if cfg.C % cfg.H or cfg.C // cfg.H != 16:
        reasons.append("the tt contract fixes the head size at 16")
    if p["B"] < 1:
        reasons.append("the batch must hold at least one example")
    return reasons


def parameter_tensors(cfg: Config) -> list[tuple[str, tuple[int, ...]]]:
    C, F, V = cfg.C, cfg.F, cfg.V
    block = [("W_q", (C, C)), ("W_k", (C, C)), ("W_v", (C, C)), ("W_o", (C, C)),
             ("ln1.gamma", (C,)), ("ln1.beta", (C,)), ("W1", (C, F)), ("b1", (F,)),
             ("W2", (F, C)), ("b2", (C,)), ("ln2.gamma", (C,)), ("ln2.beta", (C,))]
    tensors = [("embedding", (V, C))]
    for i in range(cfg.n_blocks):
        tensors += [(f"blocks.{i}.{name}", shape) for name, shape in block]
    return tensors + [("W_out", (C, V)), ("b_out", (V,))]


def matmuls(cfg: Config) -> list[tuple[str, int, int, int, int]]:
    """(what, m, k, n, how many) for every matrix product of one forward pass."""
    T, C, F, V, H, hs = cfg.T, cfg.C, cfg.F, cfg.V, cfg.H, cfg.hs
    per_block = [("Q, K, V projections", T, C, C, 3), ("scores Q@Kᵀ per head", T, hs, T, H),
                 ("attention @ V per head", T, T, hs, H), ("output projection W_o", T, C, C, 1),
                 ("FFN first matmul", T, C, F, 1), ("FFN second matmul", T, F, C, 1)]
    return ([(what, m, k, n, count * cfg.n_blocks) for what, m, k, n, count in per_block]
            + [("output projection, last position", 1, C, V, 1)])


def activations(cfg: Config) -> list[tuple[str, int]]:
    """(what, how many numbers) stored for the backward pass of one example."""
    T, C, F, V, H = cfg.T, cfg.C, cfg.F, cfg.V, cfg.H
    per_block = [("block input x", T * C), ("Q, K, V", 3 * T * C), ("attention weights", H * T * T),
                 ("concatenated heads", T * C), ("LN1 x̂ and 1/σ", T * C + T),
                 ("LN1 output (FFN input)", T * C), ("FFN pre-activation z", T * F),
                 ("FFN hidden h", T * F), ("LN2 x̂ and 1/σ", T * C + T)]
    return ([(what, n * cfg.n_blocks) for what, n in per_block]
            + [("last position's final representation", C), ("probabilities", V)])


def facts(p: dict) -> dict[str, int]:
    cfg, b = p["cfg"], BYTES[p["dtype"]]
    N = sum(prod(shape) for _, shape in parameter_tensors(cfg))
    flops = sum(2 * m * k * n * count for _, m, k, n, count in matmuls(cfg))
    A = sum(n for _, n in activations(cfg))
    out = {"n_params": N, "flops": flops, "param_bytes": N * b, "grad_bytes": N * b,
           "adam_bytes": 2 * N * b, "activation_bytes": p["B"] * A * b}
    out["total_bytes"] = sum(out[k] for k in ("param_bytes", "grad_bytes", "adam_bytes",
                                               "activation_bytes"))
    return out


PROMPTS = {"n_params": ("the number of parameters", 2),
           "flops": ("FLOPs of one forward pass of one example", 3),
           "param_bytes": ("bytes for the parameters", 1),
           "grad_bytes": ("bytes for the gradients", 1),
           "adam_bytes": ("bytes for Adam's state (m and v)", 1),
           "activation_bytes": ("bytes for the stored activations of the whole batch", 2),
           "total_bytes": ("the total of the four", 1)}


def solve(p: dict) -> list[Part]:
    f = facts(p)
    return [Part(name, prompt, INTEGER, sp.Integer(f[name]), points, EXACT, unit=UNITS[name])
            for name, (prompt, points) in PROMPTS.items()]


UNITS = {"n_params": "parameters", "flops": "FLOPs", **{k: "bytes" for k in PROMPTS
                                                        if k.endswith("_bytes")}}


_V, _T, _C, _H, _F, _L, _B, _b = sp.symbols("V T C H F L B b", positive=True, integer=True)
CLOSED = {"n_params": _V * _C + _L * (4 * _C**2 + 4 * _C + 2 * _C * _F + _F + _C) + _C * _V + _V,
          "flops": _L * (8 * _T * _C**2 + 4 * _T**2 * _C + 4 * _T * _C * _F) + 2 * _C * _V,
          "activations": _L * (8 * _T * _C + _H * _T**2 + 2 * _T * _F + 2 * _T) + _C + _V}


def verify(p: dict, parts: list[Part]) -> None:
    cfg, b = p["cfg"], BYTES[p["dtype"]]
    key = {part.name: part.answer for part in parts}
    values = {_V: cfg.V, _T: cfg.T, _C: cfg.C, _H: cfg.H, _F: cfg.F, _L: cfg.n_blocks}
    N = CLOSED["n_params"].xreplace(values)
    agree("model n_params closed form", key["n_params"], N)
    agree("model n_params tt.config.n_params", key["n_params"], n_params(cfg))
    agree("model n_params tt.model.param_shapes", key["n_params"],
          sum(prod(s) for s in param_shapes(cfg).values()))
    agree("model flops closed form", key["flops"], CLOSED["flops"].xreplace(values))
    A = CLOSED["activations"].xreplace(values)
    agree("model activation bytes", key["activation_bytes"], p["B"] * A * b)
    agree("model total bytes", key["total_bytes"], 4 * N * b + p["B"] * A * b)
    # Bytes from numpy's size of the dtype (not the BYTES table), the parameter count
    # from tt.config, one gradient per tt.model parameter tensor, and as many moments per
    # parameter as the bank's own Adam (Exercise 4) keeps.
    size = np.dtype(p["dtype"]).itemsize
    agree("model param_bytes: tt.config.n_params × itemsize", key["param_bytes"],
          n_params(cfg) * size)
    agree("model grad_bytes: a gradient per tt.model tensor", key["grad_bytes"],
          sum(prod(s) * size for s in param_shapes(cfg).values()))
    moments = len(ex4_optimizers.adam_moments({"grads": [sp.Integer(1)]})[0])
    agree("model adam_bytes: Adam's moments per parameter", key["adam_bytes"],
          moments * n_params(cfg) * size)


PROBLEM = Problem("model", "Parameters, FLOPs and memory of the model", "Practical Insights",
                  "model.md.j2", seed_params, generate, check, solve, verify)
