"""Question 33: gradient clipping by norm.

    scale   = min(1, max_norm / ||g||)
    clipped = scale · g            so ||clipped|| = min(||g||, max_norm)

The direction is kept and only the length changes. (The seed's Part 7 writes
`gradient = min(gradient, max_norm)`, which clamps entries instead; see the errata.)

The seed gives only ||g|| = 2.5 and max_norm = 1.0; variant 0 adds the vector
[1.5, -2.0], which has that norm. Generated vectors are scaled Pythagorean tuples, so
every norm is an exact decimal. The second derivation recomputes the norm as
sympy.sqrt of the sum of squares and checks that the clipped vector has norm max_norm
and is parallel to g.
"""
from __future__ import annotations

import sympy as sp

from grader.problems.core import NUMBER, STANDARD, VECTOR, DerivationMismatch, Part, Problem, R, agree
from grader.problems.variants import Dice

# Integer vectors whose length is an integer: (entries..., length).
PYTHAGOREAN = [(3, 4, 5), (5, 12, 13), (8, 15, 17), (7, 24, 25), (20, 21, 29),
               (1, 2, 2, 3), (2, 3, 6, 7), (1, 4, 8, 9), (4, 4, 7, 9), (2, 6, 9, 11)]


def seed_params() -> dict:
    return {"g": [R("1.5"), R("-2.0")], "max_norm": R("1.0")}


def generate(dice: Dice) -> dict:
    *entries, length = dice.choice(PYTHAGOREAN)
    norm = dice.decimal("1.5", 6, 1)
    g = [dice.sign() * sp.Rational(e, length) * norm for e in dice.shuffle(entries)]
    return {"g": g, "max_norm": dice.choice([R("0.5"), R("1.0"), R("1.5"), R("2.0")])}


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
