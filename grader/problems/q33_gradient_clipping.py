"""Question 33: gradient clipping by norm.

    scale   = min(1, max_norm / ||g||)
    clipped = scale · g            so ||clipped|| = min(||g||, max_norm)

The direction is kept and only the length changes. (The seed's Part 7 writes
`gradient = min(gradient, max_norm)`, which clamps entries instead; see the errata.)

The seed gives only ||g|| = 2.5 and max_norm = 1.0; variant 0 adds the vector
[1.5, -2.0], which has that norm.

Generated numbers are all terminating decimals, by construction: g = (norm / L) · e for
an integer vector e of integer length L, where L has no prime factors but 2 and 5 (so
dividing by it terminates), and the norm is a one-decimal number whose numerator has no
prime factors but 2 and 5 (so max_norm / norm terminates too). Then g, ||g||, the scale
and the clipped vector (max_norm · e / L) are all exact decimals of at most five places;
the check rejects anything else.

The second derivation recomputes the norm as sympy.sqrt of the sum of squares, checks
that the clipped vector has norm max_norm and is a positive multiple of g, and that the
scale is that multiple.
"""
from __future__ import annotations

import sympy as sp

from grader.problems.core import (NUMBER, STANDARD, VECTOR, DerivationMismatch, Part, Problem, R,
                                  agree, decimals)
from grader.problems.variants import Dice

# Integer vectors whose length is an integer with no prime factors but 2 and 5:
# (entries..., length).
PYTHAGOREAN = [(3, 4, 5), (7, 24, 25), (9, 12, 20, 25), (12, 15, 16, 25), (1, 1, 1, 1, 2),
               (1, 2, 2, 4, 5), (1, 1, 7, 7, 10), (1, 3, 3, 9, 10), (1, 5, 5, 7, 10)]
# Norms whose numerator has no prime factors but 2 and 5 (1.6 = 8/5, 2.5 = 5/2, ...).
NORMS = [R(v) for v in ("1.6", "2", "2.5", "3.2", "4", "5")]
MAX_NORMS = [R("0.5"), R("1.0"), R("1.5"), R("2.0")]
MAX_DECIMALS = 5


def seed_params() -> dict:
    return {"g": [R("1.5"), R("-2.0")], "max_norm": R("1.0")}


def generate(dice: Dice) -> dict:
    *entries, length = dice.choice(PYTHAGOREAN)
    norm = dice.choice(NORMS)
    g = [dice.sign() * sp.Rational(e, length) * norm for e in dice.shuffle(entries)]
    return {"g": g, "max_norm": dice.choice(MAX_NORMS)}


def norm(g) -> sp.Expr:
    return sp.sqrt(sum(x**2 for x in g))


def check(p: dict) -> list[str]:
    reasons = []
    n = norm(p["g"])
    if not n.is_Rational:
        reasons.append("the norm is not an exact decimal")
    if p["max_norm"] <= 0:
        reasons.append("max_norm must be positive")
    elif not n > p["max_norm"]:
        reasons.append("the gradient is already short enough: nothing to clip")
    if any(x == 0 for x in p["g"]):
        reasons.append("a zero entry")
    if not reasons:
        scale = p["max_norm"] / n
        values = [*p["g"], n, scale, *(scale * x for x in p["g"])]
        if any(decimals(v) is None or decimals(v) > MAX_DECIMALS for v in values):
            reasons.append(f"not every number is a decimal of at most {MAX_DECIMALS} places")
    return reasons


def solve(p: dict) -> list[Part]:
    n = norm(p["g"])
    scale = min(sp.Integer(1), p["max_norm"] / n)
    return [Part("norm", "||g||", NUMBER, n, 2, STANDARD),
            Part("scale", "the factor g is multiplied by", NUMBER, scale, 2, STANDARD),
            Part("clipped", "the clipped gradient", VECTOR, tuple(scale * x for x in p["g"]),
                 4, STANDARD)]


def verify(p: dict, parts: list[Part]) -> None:
    clipped = parts[2].answer
    agree("q33 norm", parts[0].answer, sp.sqrt(sp.Add(*[x * x for x in p["g"]])))
    agree("q33 clipped norm", norm(clipped), p["max_norm"])
    ratios = {c / x for c, x in zip(clipped, p["g"])}
    if len(ratios) != 1 or not next(iter(ratios)) > 0:
        raise DerivationMismatch("q33: the clipped vector is not a positive multiple of g")
    # The factor is what g was multiplied by: clipped / g, entry by entry.
    agree("q33 scale = clipped / g", parts[1].answer, next(iter(ratios)))


PROBLEM = Problem("q33", "Gradient clipping", "Question 33", "q33.md.j2",
                  seed_params, generate, check, solve, verify)
