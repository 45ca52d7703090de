"""Question 9: the backward pass through ReLU.

    ReLU(z) = max(0, z);   ∂ReLU/∂z = 1 if z > 0, 0 if z <= 0     (seed Part 3.2)
    ∂loss/∂z = ∂loss/∂ReLU · 1[z > 0]

ReLU has no derivative at z = 0, so generated variants never put an input there. The
seed's own question puts one at exactly 0.0; variant 0 keeps it and says which
convention to use (the seed's, 0), and the errata list it. The second derivation is
sympy.diff of Σ upstream_i · Piecewise(z_i > 0) at the given z.
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from grader.problems.core import STANDARD, VECTOR, Part, Problem, R, agree
from grader.problems.variants import Dice

# Keep inputs this far from the kink: a student who rounds z still reads the same side.
MARGIN = sp.Rational(1, 10)


def seed_params() -> dict:
    return {"z": [R("-1.5"), R("2.3"), R("0.0"), R("-0.7"), R("1.8")],
            "upstream": [R("0.5"), R("-0.3"), R("0.2"), R("-0.4"), R("0.6")],
            # The seed asks about z = 0.0; the statement then fixes ReLU'(0) = 0.
            "zero_convention": True}


def generate(dice: Dice) -> dict:
    n = dice.choice([5, 6])
    return {"z": [dice.decimal(-3, 3, 1) for _ in range(n)],
            "upstream": [dice.decimal(-1, 1, 1, nonzero=True) for _ in range(n)],
            "zero_convention": False}


def check(p: dict) -> list[str]:
    reasons = []
    if not p.get("zero_convention"):
        near = [str(z) for z in p["z"] if abs(z) < MARGIN]
        if near:
            reasons.append(f"ReLU inputs at or next to the kink at 0: {near}")
    if all(z > 0 for z in p["z"]) or all(z <= 0 for z in p["z"]):
        reasons.append("all inputs on one side of 0: nothing to learn about the mask")
    if any(g == 0 for g in p["upstream"]):
        reasons.append("an upstream gradient is 0")
    return reasons


def solve(p: dict) -> list[Part]:
    mask = tuple(sp.Integer(1 if z > 0 else 0) for z in p["z"])
    dz = tuple(g * m for g, m in zip(p["upstream"], mask))
    return [Part("dz", "∂loss/∂z", VECTOR, dz, 4, STANDARD),
            Part("mask", "∂ReLU(z)/∂z, entry by entry (0 or 1)", VECTOR, mask, 2, STANDARD)]


@lru_cache(maxsize=None)
def _symbolic(n: int):
    z = sp.symbols(f"z0:{n}")
    g = sp.symbols(f"g0:{n}")
    relu = [sp.Piecewise((zi, zi > 0), (0, True)) for zi in z]
    loss = sum(gi * ri for gi, ri in zip(g, relu))
    return z, g, [sp.diff(loss, zi) for zi in z], [sp.diff(r, zi) for r, zi in zip(relu, z)]


def verify(p: dict, parts: list[Part]) -> None:
    z, g, dz, mask = _symbolic(len(p["z"]))
    values = {**dict(zip(z, p["z"])), **dict(zip(g, p["upstream"]))}
    agree("q09 dz", parts[0].answer, tuple(d.xreplace(values) for d in dz))
    agree("q09 mask", parts[1].answer, tuple(m.xreplace(values) for m in mask))


PROBLEM = Problem("q09", "ReLU backward", "Question 9", "q09.md.j2",
                  seed_params, generate, check, solve, verify)
