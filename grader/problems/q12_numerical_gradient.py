"""Question 12: a numerical gradient from two losses (central differences).

    ∂loss/∂W ≈ (loss(W + ε) - loss(W - ε)) / (2ε)          (seed, "Gradient Checking")

The student gives the difference of the losses, the denominator and the quotient: the
seed's own worked example slips exactly there (0.024 for 0.000024, see the errata).

Generated variants come from a quadratic loss around W, loss(w) = L0 + g (w - W) +
(c/2)(w - W)^2, whose central difference is exactly g however large ε is. The second
derivation evaluates that loss symbolically at W ± ε: the difference of the two values,
the distance between the two points, their central difference and sympy.diff at W
must equal the key's three parts.
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from grader.problems.core import (NUMBER, RELATIVE, STANDARD, DerivationMismatch, Part, Problem,
                                  R, agree)
from grader.problems.variants import Dice

w = sp.Symbol("w")


def seed_params() -> dict:
    # The seed gives only the two losses; its loss function is unknown, so the
    # symbolic check of variant 0 uses the quadratic through the two points (c = 0).
    return {"index": "W[2,3]", "W": R("0.5"), "eps": R("0.00001"),
            "loss_plus": R("0.450015"), "loss_minus": R("0.449985"),
            "L0": R("0.45"), "g": R("1.5"), "c": R(0)}


def generate(dice: Dice) -> dict:
    W = dice.decimal(-1, 1, 2, nonzero=True)
    eps = dice.choice([R("0.00001"), R("0.0001"), R("0.001")])
    g = dice.sign() * dice.decimal("0.1", 3, 2)
    L0 = dice.decimal("0.1", "2.5", 4)
    # A curvature term shows that it cancels in the central difference; with a small ε
    # it would only add unreadable digits at 1e-11, so only the largest ε gets one.
    c = dice.decimal(0, 2, 1) if eps == R("0.001") else R(0)
    loss = L0 + g * (w - W) + c / 2 * (w - W) ** 2
    i, j = dice.below(4), dice.below(4)
    return {"index": f"W[{i},{j}]", "W": W, "eps": eps,
            "loss_plus": loss.xreplace({w: W + eps}), "loss_minus": loss.xreplace({w: W - eps}),
            "L0": L0, "g": g, "c": c}


def check(p: dict) -> list[str]:
    reasons = []
    if p["eps"] <= 0:
        reasons.append("ε must be positive (division by 2ε)")
    if p["loss_plus"] == p["loss_minus"]:
        reasons.append("the two losses are equal: the gradient is 0")
    if min(p["loss_plus"], p["loss_minus"]) <= 0:
        reasons.append("a cross-entropy loss must be positive")
    return reasons


def solve(p: dict) -> list[Part]:
    diff = p["loss_plus"] - p["loss_minus"]
    denom = 2 * p["eps"]
    # The difference and 2ε are tiny numbers: judged relative to their own size.
    return [Part("difference", "loss(W + ε) − loss(W − ε)", NUMBER, diff, 2, RELATIVE),
            Part("denominator", "2ε", NUMBER, denom, 1, RELATIVE),
            Part("gradient", "the numerical gradient", NUMBER, diff / denom, 3, STANDARD)]


_L0, _g, _c, _W = sp.symbols("L0 g c W")


@lru_cache(maxsize=None)
def _loss():
    """The quadratic loss around W with symbolic coefficients, and its derivative in w."""
    loss = _L0 + _g * (w - _W) + _c / 2 * (w - _W) ** 2
    return loss, sp.diff(loss, w)


def verify(p: dict, parts: list[Part]) -> None:
    loss, slope = _loss()
    coef = {_L0: p["L0"], _g: p["g"], _c: p["c"], _W: p["W"]}
    plus = loss.xreplace({**coef, w: p["W"] + p["eps"]})
    minus = loss.xreplace({**coef, w: p["W"] - p["eps"]})
    if (plus, minus) != (p["loss_plus"], p["loss_minus"]):
        raise DerivationMismatch("q12: the stated losses do not come from the loss function")
    key = {part.name: part.answer for part in parts}
    agree("q12 difference of the losses", key["difference"], plus - minus)
    # The denominator is the distance between the two points the loss was evaluated at.
    agree("q12 denominator", key["denominator"], (p["W"] + p["eps"]) - (p["W"] - p["eps"]))
    agree("q12 central difference", key["gradient"], (plus - minus) / (2 * p["eps"]))
    agree("q12 sympy.diff", key["gradient"], slope.xreplace({**coef, w: p["W"]}))
    agree("q12 quotient of the parts", key["gradient"] * key["denominator"], key["difference"])


PROBLEM = Problem("q12", "A numerical gradient", "Question 12", "q12.md.j2",
                  seed_params, generate, check, solve, verify)
