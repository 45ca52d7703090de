"""Exercise 5: gradient descent on loss = 0.5 (W - c)² at four learning rates.

    ∂loss/∂W = W - c,  so  W_{k+1} = W_k - lr (W_k - c)
    ⇒ W_k - c = (1 - lr)^k (W_0 - c)

Everything depends on r = 1 - lr. The classification, defined for lr > 0:
    converges   |r| < 1, i.e. 0 < lr < 2: W_k → c (monotonically for lr < 1, in one
                step for lr = 1, with the error changing sign every step for 1 < lr < 2)
    oscillates  r = -1, i.e. lr = 2: W bounces between W_0 and 2c - W_0 forever
    diverges    |r| > 1, i.e. lr > 2: |W_k - c| grows like |1 - lr|^k
The critical learning rate is 2 (= 2 / curvature; the curvature of this loss is 1).
Every set of rates straddles it: at least one converges and at least one diverges.

The second derivation computes the iterates from the closed form, and classifies each
run from its own iterates (does |W_10 - c| shrink, stay, or grow?).
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from grader.problems.core import (CHOICE, NUMBER, STANDARD, TRAJECTORY, VECTOR,
                                  DerivationMismatch, Part, Problem, R, agree, fmt)
from grader.problems.variants import Dice

STEPS = 10
CRITICAL = sp.Integer(2)
CLASSES = ("converges", "oscillates", "diverges")
RATES = [R(s) for s in ("0.05", "0.1", "0.2", "0.25", "0.4", "0.5", "0.8", "1.0", "1.2",
                        "1.5", "1.8", "2.0", "2.05", "2.1", "2.2", "2.5")]


def seed_params() -> dict:
    return {"c": R(3), "W0": R(0), "rates": [R("0.1"), R("0.5"), R("1.0"), R("2.1")]}


def generate(dice: Dice) -> dict:
    return {"c": dice.decimal(-5, 5, 0, nonzero=True) + dice.choice([0, R("0.5")]),
            "W0": dice.decimal(-2, 2, 0),
            "rates": sorted(dice.sample(RATES, 4))}


def classify(lr) -> str:
    r = abs(1 - lr)
    return CLASSES[0] if r < 1 else CLASSES[1] if r == 1 else CLASSES[2]


def check(p: dict) -> list[str]:
    reasons = []
    rates = p["rates"]
    if p["W0"] == p["c"]:
        reasons.append("W0 = c: already at the minimum")
    if any(lr <= 0 for lr in rates):
        reasons.append("a learning rate is not positive")
    if len(set(rates)) != len(rates):
        reasons.append("two learning rates are equal")
    if not any(lr < CRITICAL for lr in rates) or not any(lr > CRITICAL for lr in rates):
        reasons.append("the learning rates do not straddle the critical value 2")
    return reasons


def iterates(p: dict, lr) -> tuple:
    W, out = p["W0"], []
    for _ in range(STEPS):
        W = W - lr * (W - p["c"])
        out.append(W)
    return tuple(out)


def solve(p: dict) -> list[Part]:
    parts = []
    for i, lr in enumerate(p["rates"], start=1):
        parts.append(Part(f"lr{i}.iterates", f"W_1 … W_{STEPS} at lr = {fmt(lr)}", VECTOR,
                          iterates(p, lr), 2, TRAJECTORY))
        parts.append(Part(f"lr{i}.behaviour", f"the behaviour at lr = {fmt(lr)}", CHOICE,
                          classify(lr), 1, choices=CLASSES))
    parts.append(Part("critical_lr", "the critical learning rate", NUMBER, CRITICAL, 2, STANDARD))
    return parts


def verify(p: dict, parts: list[Part]) -> None:
    key = {part.name: part.answer for part in parts}
    c, W0 = p["c"], p["W0"]
    for i, lr in enumerate(p["rates"], start=1):
        closed = tuple(c + (1 - lr) ** k * (W0 - c) for k in range(1, STEPS + 1))
        agree(f"ex5 lr={lr} closed form", key[f"lr{i}.iterates"], closed)
        start, end = abs(W0 - c), abs(closed[-1] - c)
        seen = CLASSES[0] if end < start else CLASSES[1] if end == start else CLASSES[2]
        if seen != key[f"lr{i}.behaviour"]:
            raise DerivationMismatch(f"ex5 lr={lr}: {key[f'lr{i}.behaviour']} vs iterates {seen}")
    agree("ex5 critical", key["critical_lr"], _critical_rate().xreplace({_c: c}))


_c = sp.Symbol("c")


@lru_cache(maxsize=None)
def _critical_rate():
    """The iteration map W -> W - lr·loss'(W) has slope 1 - lr·h, with h the curvature
    loss''(W); it stops being a contraction where 1 - lr·h = -1. Solved once, for any c."""
    W, lr = sp.symbols("W lr")
    h = sp.diff(sp.Rational(1, 2) * (W - _c) ** 2, W, 2)
    return sp.solve(sp.Eq(1 - lr * h, -1), lr)[0]


PROBLEM = Problem("ex5", "Learning-rate experiment", "Exercise 5", "ex5.md.j2",
                  seed_params, generate, check, solve, verify)
