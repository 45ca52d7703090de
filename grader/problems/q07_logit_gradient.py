"""Question 7: the gradient of cross-entropy with respect to the logits.

    loss = -log p[target],  p = softmax(logits)
    ∂loss/∂logits = p - one_hot(target)                      (seed Part 1; question 7)

The statement gives the probabilities rounded to two decimals, as the seed does, and the
key uses the stated numbers: the answer is exact for what the student reads. The
second derivation differentiates the symbolic loss with sympy and checks that the key
is within the rounding of the stated probabilities (0.005) of the exact gradient.
"""
from __future__ import annotations

from functools import lru_cache

import mpmath
import sympy as sp

from grader.problems.core import (STANDARD, VECTOR, DerivationMismatch, Part, Problem, R,
                                  named_mistakes)
from grader.problems.variants import Dice

HALF_CENT = sp.Rational(1, 200)


def seed_params() -> dict:
    return {"logits": [R("0.5"), R("1.2"), R("-0.3"), R("2.1")],
            "probs": [R("0.12"), R("0.24"), R("0.05"), R("0.59")],
            "target": 3}


def rounded_softmax(logits, places: int = 2) -> list[sp.Rational]:
    """softmax(logits) rounded half-up to `places` decimals.

    Computed with mpmath at 30 digits, which gives the same digits on every machine
    (a float exp from the C library may differ in its last bit between platforms).
    """
    with mpmath.workdps(30):
        exps = [mpmath.exp(mpmath.mpf(int(z.p)) / int(z.q)) for z in logits]
        total = mpmath.fsum(exps)
        scale = 10**places
        return [sp.Rational(int(mpmath.floor(e / total * scale + mpmath.mpf(1) / 2)), scale)
                for e in exps]


def generate(dice: Dice) -> dict:
    n = dice.choice([4, 5])
    logits = [dice.decimal(-3, 3, 1) for _ in range(n)]
    return {"logits": logits, "probs": rounded_softmax(logits), "target": dice.below(n)}


def check(p: dict) -> list[str]:
    reasons = []
    if sum(p["probs"]) != 1:
        reasons.append(f"the rounded probabilities sum to {sum(p['probs'])}, not 1")
    if min(p["probs"]) <= 0:
        reasons.append("a probability rounds to 0")
    if len(set(p["logits"])) < len(p["logits"]):
        reasons.append("two logits are equal")
    return reasons


def solve(p: dict) -> list[Part]:
    t = p["target"]
    grad = tuple(q - (1 if i == t else 0) for i, q in enumerate(p["probs"]))
    # Named mistakes: the one-hot never subtracted (p itself), and ∂loss/∂p, the gradient
    # with respect to the probabilities (-1/p[target] at the target, 0 elsewhere).
    no_one_hot = tuple(p["probs"])
    wrt_p = tuple(-1 / q if i == t else sp.Integer(0) for i, q in enumerate(p["probs"]))
    return [Part("dlogits", "∂loss/∂logits", VECTOR, grad, 4, STANDARD,
                 mistakes=named_mistakes(grad, ("p without subtracting the one-hot", no_one_hot),
                                         ("∂loss/∂p instead of ∂loss/∂logits", wrt_p)))]


@lru_cache(maxsize=None)
def _symbolic_gradient(n: int, t: int):
    z = sp.symbols(f"z0:{n}")
    loss = -sp.log(sp.exp(z[t]) / sum(sp.exp(zi) for zi in z))
    return z, [sp.diff(loss, zi) for zi in z]


def warm() -> None:
    """Fill the cache for every (n, target) that generate draws (before forking workers)."""
    for n in (4, 5):
        for t in range(n):
            _symbolic_gradient(n, t)


def verify(p: dict, parts: list[Part]) -> None:
    key = parts[0].answer
    if sum(key) != 0:
        raise DerivationMismatch(f"q07: the gradient sums to {sum(key)}, not 0")
    z, grads = _symbolic_gradient(len(p["logits"]), p["target"])
    # The logits go in as 30-digit Floats, so every exp() evaluates as it is built.
    values = {zi: sp.Float(v, 30) for zi, v in zip(z, p["logits"])}
    for i, g in enumerate(grads):
        exact = g.xreplace(values)
        if not abs(exact - key[i]) <= HALF_CENT + sp.Rational(1, 10**15):
            raise DerivationMismatch(f"q07: entry {i}: key {key[i]} vs sympy.diff {exact}")


PROBLEM = Problem("q07", "∂loss/∂logits by hand", "Question 7", "q07.md.j2",
                  seed_params, generate, check, solve, verify)
