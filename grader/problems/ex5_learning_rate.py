"""Exercise 5: gradient descent on loss = 0.5 h (W - c)² at four learning rates.

    ∂loss/∂W = h (W - c),  so  W_{k+1} = W_k - lr h (W_k - c)
    ⇒ W_k - c = (1 - lr h)^k (W_0 - c)

h is the curvature (loss'' = h). Everything depends on r = 1 - lr h. The
classification, defined for lr > 0:
    converges   |r| < 1, i.e. 0 < lr < 2/h: W_k → c (monotonically for lr < 1/h, in one
                step for lr = 1/h, with the error changing sign every step for
                1/h < lr < 2/h)
    oscillates  r = -1, i.e. lr = 2/h: W bounces between W_0 and 2c - W_0 forever
    diverges    |r| > 1, i.e. lr > 2/h: |W_k - c| grows like |1 - lr h|^k
The critical learning rate is 2/h. The seed's loss 0.5 (W - 3)² has h = 1 (variant 0:
critical rate 2, and lr = 2.1 diverges); generated variants draw h, so the critical rate
differs between students. Every set of rates straddles it: at least one converges and
at least one diverges. Rates are drawn as lr·h from a list, so every rate is a short
decimal.

The second derivation computes the iterates from the closed form, classifies each run
from its own iterates (does |W_10 - c| shrink, stay, or grow?), and finds the critical
rate with sympy.solve where the update's slope 1 - lr·loss''(W) reaches -1.
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from grader.problems.core import (CHOICE, NUMBER, STANDARD, TRAJECTORY, VECTOR,
                                  DerivationMismatch, Part, Problem, R, agree, fmt)
from grader.problems.variants import Dice

STEPS = 10
CLASSES = ("converges", "oscillates", "diverges")
# Values of lr·h (the rate in units of 1/h): the critical one is 2.
SCALED_RATES = [R(s) for s in ("0.05", "0.1", "0.2", "0.25", "0.4", "0.5", "0.8", "1.0", "1.2",
                               "1.5", "1.8", "2.0", "2.05", "2.1", "2.2", "2.5")]
# Curvatures whose numerators have only the factors 2 and 5, so lr = (lr·h) / h is a
# terminating decimal: critical rates 4, 2, 1, 0.8, 0.5, 0.4.
CURVATURES = [R(s) for s in ("0.5", "1", "2", "2.5", "4", "5")]


def seed_params() -> dict:
    return {"c": R(3), "W0": R(0), "h": R(1), "rates": [R("0.1"), R("0.5"), R("1.0"), R("2.1")]}


def generate(dice: Dice) -> dict:
    h = dice.choice(CURVATURES)
    return {"c": dice.decimal(-5, 5, 0, nonzero=True) + dice.choice([0, R("0.5")]),
            "W0": dice.decimal(-2, 2, 0), "h": h,
            "rates": sorted(m / h for m in dice.sample(SCALED_RATES, 4))}


def critical(p: dict):
    return 2 / p["h"]


def classify(lr, h=1) -> str:
    r = abs(1 - lr * h)
    return CLASSES[0] if r < 1 else CLASSES[1] if r == 1 else CLASSES[2]


def check(p: dict) -> list[str]:
    reasons = []
    rates = p["rates"]
    if p["W0"] == p["c"]:
        reasons.append("W0 = c: already at the minimum")
    if not p["h"] > 0:
        reasons.append("the curvature must be positive (a minimum to converge to)")
        return reasons
    if any(lr <= 0 for lr in rates):
        reasons.append("a learning rate is not positive")
    if len(set(rates)) != len(rates):
        reasons.append("two learning rates are equal")
    lr_c = critical(p)
    if not any(lr < lr_c for lr in rates) or not any(lr > lr_c for lr in rates):
        reasons.append(f"the learning rates do not straddle the critical value {fmt(lr_c)}")
    return reasons


def iterates(p: dict, lr) -> tuple:
    W, out = p["W0"], []
    for _ in range(STEPS):
        W = W - lr * p["h"] * (W - p["c"])
        out.append(W)
    return tuple(out)


def solve(p: dict) -> list[Part]:
    parts = []
    for i, lr in enumerate(p["rates"], start=1):
        parts.append(Part(f"lr{i}.iterates", f"W_1 … W_{STEPS} at lr = {fmt(lr)}", VECTOR,
                          iterates(p, lr), 2, TRAJECTORY))
        parts.append(Part(f"lr{i}.behaviour", f"the behaviour at lr = {fmt(lr)}", CHOICE,
                          classify(lr, p["h"]), 1, choices=CLASSES))
    parts.append(Part("critical_lr", "the critical learning rate", NUMBER, critical(p), 2,
                      STANDARD))
    return parts


def verify(p: dict, parts: list[Part]) -> None:
    key = {part.name: part.answer for part in parts}
    c, W0, h = p["c"], p["W0"], p["h"]
    for i, lr in enumerate(p["rates"], start=1):
        closed = tuple(c + (1 - lr * h) ** k * (W0 - c) for k in range(1, STEPS + 1))
        agree(f"ex5 lr={lr} closed form", key[f"lr{i}.iterates"], closed)
        start, end = abs(W0 - c), abs(closed[-1] - c)
        seen = CLASSES[0] if end < start else CLASSES[1] if end == start else CLASSES[2]
        if seen != key[f"lr{i}.behaviour"]:
            raise DerivationMismatch(f"ex5 lr={lr}: {key[f'lr{i}.behaviour']} vs iterates {seen}")
    agree("ex5 critical", key["critical_lr"], _critical_rate().xreplace({_c: c, _h: h}))


_c, _h = sp.symbols("c h", positive=True)


@lru_cache(maxsize=None)
def _critical_rate():
    """The iteration map W -> W - lr·loss'(W) has slope 1 - lr·loss''(W); it stops being
    a contraction where that slope is -1. Solved once, for any c and curvature h."""
    W, lr = sp.symbols("W lr")
    curvature = sp.diff(_h / 2 * (W - _c) ** 2, W, 2)
    return sp.solve(sp.Eq(1 - lr * curvature, -1), lr)[0]


PROBLEM = Problem("ex5", "Learning-rate experiment", "Exercise 5", "ex5.md.j2",
                  seed_params, generate, check, solve, verify)
