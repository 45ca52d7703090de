"""Question 17: gradient flow through n layers, with and without residual connections.

The model, stated to the student: every layer is a scalar map whose branch has local
derivative a (the seed's "each layer has gradient 0.8").

    plain layer     y = f(x),       f'(x) = a     ⇒  ∂y_n/∂x_0 = a^n
    residual layer  y = x + f(x)                  ⇒  ∂y_n/∂x_0 = (1 + a)^n

Expanding (1 + a)^n = Σ_k C(n, k) a^k sums the 2^n paths through the network; the path
that skips every branch contributes 1 (a^0): that is the "gradient highway" of seed
Part 7 and question 32. The second derivation composes the layers as sympy functions
and differentiates the composition with sympy.diff.
"""
from __future__ import annotations

import sympy as sp

from grader.problems.core import STANDARD, NUMBER, Part, Problem, R, agree
from grader.problems.variants import Dice

x = sp.Symbol("x")


def seed_params() -> dict:
    return {"a": R("0.8"), "n": 10}


def generate(dice: Dice) -> dict:
    return {"a": dice.choice([R("0.5"), R("0.6"), R("0.7"), R("0.75"), R("0.8"), R("0.9")]),
            "n": dice.integer(5, 12)}


def check(p: dict) -> list[str]:
    reasons = []
    if not 0 < p["a"] < 1:
        reasons.append("the layer gradient must be in (0, 1) for the plain network to vanish")
    if p["n"] < 2:
        reasons.append("at least two layers")
    return reasons


def solve(p: dict) -> list[Part]:
    a, n = p["a"], p["n"]
    return [Part("plain", "the gradient reaching the first layer, no residuals", NUMBER,
                 a**n, 3, STANDARD),
            Part("residual", "the gradient reaching the first layer, with residuals", NUMBER,
                 (1 + a) ** n, 3, STANDARD),
            Part("identity_path", "the share carried by the path that skips every layer",
                 NUMBER, sp.Integer(1), 1, STANDARD)]


def verify(p: dict, parts: list[Part]) -> None:
    a, n = p["a"], p["n"]
    plain, residual = x, x
    for _ in range(n):
        plain = a * plain                   # f(x) = a x has f' = a everywhere
        residual = residual + a * residual  # x + f(x)
    agree("q17 plain", parts[0].answer, sp.diff(plain, x))
    agree("q17 residual", parts[1].answer, sp.diff(residual, x))
    # The path sum: the k-branch paths contribute C(n, k) a^k; k = 0 is the identity path.
    paths = [sp.binomial(n, k) * a**k for k in range(n + 1)]
    agree("q17 path sum", parts[1].answer, sum(paths))
    agree("q17 identity path", parts[2].answer, paths[0])


PROBLEM = Problem("q17", "Residual connections and vanishing gradients", "Question 17",
                  "q17.md.j2", seed_params, generate, check, solve, verify)
