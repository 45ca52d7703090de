"""Question 8: one column of ∂loss/∂W_output.

    logits[j] = Σ_k final_repr[k] · W_output[k, j] + b_output[j]
    ∂loss/∂W_output[i, j] = final_repr[i] · ∂loss/∂logits[j]          (seed Part 2)

so column j is final_repr scaled by the one number ∂loss/∂logits[j]: an outer product.
The second derivation builds loss = Σ_j g_j · logits_j symbolically and asks sympy for
∂loss/∂W[i, j]; the number of rows is the number of rows of W the loss mentions.
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from grader.problems.core import INTEGER, STANDARD, EXACT, VECTOR, Part, Problem, R, agree
from grader.problems.variants import Dice


def seed_params() -> dict:
    return {"x": [R("0.8"), R("-0.4"), R("0.6")], "g": R("-0.25"), "j": 5, "V": 20}


def generate(dice: Dice) -> dict:
    n = dice.choice([3, 4])
    x = [dice.decimal(-1, 1, 1, nonzero=True) for _ in range(n)]
    g = dice.sign() * dice.decimal("0.05", "0.95", 2)
    return {"x": x, "g": g, "j": dice.below(20), "V": 20}


def check(p: dict) -> list[str]:
    reasons = []
    if p["g"] == 0:
        reasons.append("∂loss/∂logits[j] is 0, so the whole column is 0")
    if any(v == 0 for v in p["x"]):
        reasons.append("a feature of final_repr is 0")
    return reasons


def solve(p: dict) -> list[Part]:
    column = tuple(xi * p["g"] for xi in p["x"])
    return [Part("column", f"∂loss/∂W_output[:, {p['j']}]", VECTOR, column, 4, STANDARD),
            Part("rows", "the number of rows of ∂loss/∂W_output", INTEGER,
                 sp.Integer(len(p["x"])), 1, EXACT, unit="rows")]


@lru_cache(maxsize=None)
def _loss(n: int, V: int):
    x = sp.symbols(f"x0:{n}")
    g = sp.symbols(f"g0:{V}")
    W = sp.Matrix(n, V, lambda a, b: sp.Symbol(f"W_{a}_{b}"))
    # A loss whose gradient with respect to the logits is exactly g: loss = g · logits.
    loss = sp.expand(sum(g[b] * sum(x[a] * W[a, b] for a in range(n)) for b in range(V)))
    return x, g, W, loss


@lru_cache(maxsize=None)
def _symbolic(n: int, V: int, j: int):
    x, g, W, loss = _loss(n, V)
    # Differentiate only the terms that mention W[a, j]; the rest have derivative 0.
    return x, g, [sp.diff(sp.Add(*[t for t in loss.args if t.has(W[a, j])]), W[a, j])
                  for a in range(n)]


def verify(p: dict, parts: list[Part]) -> None:
    x, g, column = _symbolic(len(p["x"]), p["V"], p["j"])
    values = {**dict(zip(x, p["x"])), g[p["j"]]: p["g"]}
    agree("q08 column", parts[0].answer, tuple(c.xreplace(values) for c in column))
    agree("q08 rows: the rows of W in the symbolic loss", parts[1].answer,
          _rows_in_loss(len(p["x"]), p["V"]))


@lru_cache(maxsize=None)
def _rows_in_loss(n: int, V: int) -> int:
    """How many rows of W the symbolic loss mentions (W_a_b has row a)."""
    *_, loss = _loss(n, V)
    return len({str(s).split("_")[1] for s in loss.free_symbols if str(s).startswith("W_")})


PROBLEM = Problem("q08", "A column of ∂loss/∂W_output", "Question 8", "q08.md.j2",
                  seed_params, generate, check, solve, verify)
