"""Question 17: gradient flow through n layers, with and without residual connections.

The model, stated to the student: every layer is a scalar map whose branch has local
derivative a (the seed's "each layer has gradient 0.8").

    plain layer     y = f(x),       f'(x) = a     ⇒  ∂y_n/∂x_0 = a^n
    residual layer  y = x + f(x)                  ⇒  ∂y_n/∂x_0 = (1 + a)^n

Expanding (1 + a)^n = Σ_k C(n, k) a^k sums the 2^n paths through the network: a path
that passes through k of the branches carries a^k, and the C(n, k) paths through
exactly k branches carry C(n, k)·a^k together. The path that skips every branch (k = 0)
carries 1 whatever a and n are: the "gradient highway" of seed Part 7 and question 32.
The statement says so; the student computes the share of the paths through exactly k
branches, with k drawn per student (the identity path's 1 was the same for everyone).

The second derivation composes the layers as sympy functions and differentiates the
composition with sympy.diff, and reads the k-branch share as the coefficient of a^k in
that derivative with a symbolic (sympy.Poly), not from the binomial formula.
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from grader.problems.core import STANDARD, NUMBER, Part, Problem, R, agree
from grader.problems.variants import Dice

x = sp.Symbol("x")
_a = sp.Symbol("a")


def seed_params() -> dict:
    # The seed's ten layers at 0.8; k = 2 (the seed asks nothing about paths) is ours.
    return {"a": R("0.8"), "n": 10, "k": 2}


def generate(dice: Dice) -> dict:
    return {"a": dice.choice([R("0.5"), R("0.6"), R("0.7"), R("0.75"), R("0.8"), R("0.9")]),
            "n": dice.integer(5, 12), "k": dice.integer(1, 3)}


def check(p: dict) -> list[str]:
    reasons = []
    if not 0 < p["a"] < 1:
        reasons.append("the layer gradient must be in (0, 1) for the plain network to vanish")
    if p["n"] < 2:
        reasons.append("at least two layers")
    if not 1 <= p["k"] < p["n"]:
        reasons.append("k must be between 1 and n - 1")
    return reasons


def solve(p: dict) -> list[Part]:
    a, n = p["a"], p["n"]
    return [Part("plain", "the gradient reaching the first layer, no residuals", NUMBER,
                 a**n, 3, STANDARD),
            Part("residual", "the gradient reaching the first layer, with residuals", NUMBER,
                 (1 + a) ** n, 3, STANDARD),
            Part("k_paths", f"the total carried by the paths through exactly {p['k']} of the "
                 f"{n} branches", NUMBER, sp.binomial(n, p["k"]) * a ** p["k"], 2, STANDARD)]


def verify(p: dict, parts: list[Part]) -> None:
    a, n = p["a"], p["n"]
    plain, residual = x, x
    for _ in range(n):
        plain = a * plain                   # f(x) = a x has f' = a everywhere
        residual = residual + a * residual  # x + f(x)
    agree("q17 plain", parts[0].answer, sp.diff(plain, x))
    agree("q17 residual", parts[1].answer, sp.diff(residual, x))
    # The paths through exactly k branches: the coefficient of a^k in the derivative of
    # the composition with a symbolic, times a^k.
    agree("q17 k-branch paths: coefficient of a^k", parts[2].answer,
          _path_polynomial(n).coeff_monomial(_a ** p["k"]) * a ** p["k"])


@lru_cache(maxsize=None)
def _path_polynomial(n: int) -> sp.Poly:
    """∂x_n/∂x_0 of n residual layers x + a·x, as a polynomial in a symbolic a."""
    residual = x
    for _ in range(n):
        # Expanded after each layer: unexpanded, the n-fold composition is a tree of
        # 2^n terms that sympy.diff and Poly walk in full (0.1 s for n = 12).
        residual = sp.expand(residual + _a * residual)
    return sp.Poly(sp.diff(residual, x), _a)


def warm() -> None:
    """Fill the cache for every n that generate draws (run before forking workers)."""
    for n in range(5, 13):
        _path_polynomial(n)


PROBLEM = Problem("q17", "Residual connections and vanishing gradients", "Question 17",
                  "q17.md.j2", seed_params, generate, check, solve, verify)
