"""Exercise 3: where the gradient is smallest, and how much it attenuates.

    attenuation ratio = |∂loss/∂(last layer reached)| / |∂loss/∂(first)|
                      = ∂loss/∂embeddings / ∂loss/∂logits        (seed Exercise 3)

"Last" and "first" follow the backward pass: the gradient starts at the logits and
ends at the embeddings. The second derivation computes the ratio through logarithms,
exp(log(last) - log(first)), and the smallest layer by sorting.
"""
from __future__ import annotations

import sympy as sp

from grader.problems.core import CHOICE, NUMBER, STANDARD, DerivationMismatch, Part, Problem, R, agree
from grader.problems.variants import Dice

LAYERS = ("logits", "Block2_out", "Block2_FFN", "Block2_attn",
          "Block1_out", "Block1_FFN", "Block1_attn", "embeddings")


def seed_params() -> dict:
    values = ["0.3", "0.15", "0.08", "0.12", "0.04", "0.02", "0.03", "0.01"]
    return {"layers": LAYERS, "magnitudes": [R(v) for v in values]}


def generate(dice: Dice) -> dict:
    # Each layer shrinks the gradient by a factor in [0.3, 1.1], rounded to two
    # significant digits, which gives the same mild, bumpy decay as the seed's table.
    m = [dice.decimal("0.1", "0.9", 2)]
    for _ in LAYERS[1:]:
        m.append(round_sig(m[-1] * dice.decimal("0.3", "1.1", 2), 2))
    return {"layers": LAYERS, "magnitudes": m}


def round_sig(q: sp.Rational, sig: int) -> sp.Rational:
    """q rounded half-up to `sig` significant digits (exact, for positive q)."""
    k = 0
    while q * 10**k < 10 ** (sig - 1):
        k += 1
    return sp.Rational(int(sp.floor(q * 10**k + sp.Rational(1, 2))), 10**k)


def check(p: dict) -> list[str]:
    m = p["magnitudes"]
    reasons = []
    if min(m) <= 0:
        reasons.append("a gradient magnitude is 0")
    elif m.count(min(m)) > 1:
        reasons.append("two layers share the smallest magnitude")
    return reasons


def solve(p: dict) -> list[Part]:
    m = p["magnitudes"]
    smallest = LAYERS[m.index(min(m))]
    return [Part("smallest", "the layer with the smallest gradient", CHOICE, smallest, 2,
                 choices=LAYERS),
            Part("ratio", "the attenuation ratio ∂loss/∂embeddings ÷ ∂loss/∂logits", NUMBER,
                 m[-1] / m[0], 3, STANDARD)]


def verify(p: dict, parts: list[Part]) -> None:
    m = p["magnitudes"]
    agree("ex3 ratio via logs", parts[1].answer, sp.exp(sp.log(m[-1]) - sp.log(m[0])))
    ranked = sorted(zip(m, LAYERS))
    if ranked[0][1] != parts[0].answer:
        raise DerivationMismatch(f"ex3: smallest {parts[0].answer} vs sorted {ranked[0][1]}")


PROBLEM = Problem("ex3", "Gradient flow analysis", "Exercise 3", "ex3.md.j2",
                  seed_params, generate, check, solve, verify)
