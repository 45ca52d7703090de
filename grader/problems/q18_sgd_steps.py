"""Question 18: one SGD update, and how many updates reach a target.

    W_new = W_old - lr · ∂loss/∂W                                (seed Part 6)

With a constant gradient g every update moves W by the same step -lr·g, so after k
updates W_k = W_0 - k·lr·g, and the first k with W_k at or past the target is

    k = ceil((target - W_0) / (-lr·g))

in exact arithmetic (in floats the last step can fall short by rounding; the statement
says "exactly"). The second derivation runs the updates one by one in exact
arithmetic until W reaches the target.
"""
from __future__ import annotations

from fractions import Fraction

import sympy as sp

from grader.problems.core import EXACT, INTEGER, NUMBER, Part, Problem, R, Tolerance, agree
from grader.problems.variants import Dice

MAX_STEPS = 1000


def seed_params() -> dict:
    return {"W": R("0.234"), "g": R("-0.05"), "lr": R("0.001"), "target": R("0.25")}


def generate(dice: Dice) -> dict:
    W = dice.decimal(-1, 1, 3)
    g = dice.sign() * dice.decimal("0.01", "0.2", 2)
    lr = dice.choice([R("0.001"), R("0.01"), R("0.1")])
    distance = dice.decimal("0.005", "0.1", 3)
    return {"W": W, "g": g, "lr": lr, "target": W - sp.sign(g) * distance}


def steps_needed(p: dict) -> int:
    return int(sp.ceiling((p["target"] - p["W"]) / (-p["lr"] * p["g"])))


def check(p: dict) -> list[str]:
    reasons = []
    if p["g"] == 0 or p["lr"] <= 0:
        reasons.append("the update must move W")
    elif (p["target"] - p["W"]) * (-p["g"]) <= 0:
        reasons.append("the updates move W away from the target")
    elif not 10 <= steps_needed(p) <= MAX_STEPS:
        reasons.append(f"{steps_needed(p)} steps: outside 10..{MAX_STEPS}")
    return reasons


def solve(p: dict) -> list[Part]:
    step = -p["lr"] * p["g"]
    # The tolerance is a hundredth of a step: W itself is large next to one update.
    tol = Tolerance("step/100", sp.Integer(0), abs(step) / 100)
    return [Part("new_w", "W after one update", NUMBER, p["W"] + step, 3, tol),
            Part("steps", "the number of updates until W first reaches the target", INTEGER,
                 sp.Integer(steps_needed(p)), 3, EXACT, unit="updates")]


def _fraction(q: sp.Rational) -> Fraction:
    return Fraction(int(q.p), int(q.q))


def verify(p: dict, parts: list[Part]) -> None:
    # Python Fractions: exact like sympy, and fast enough to run thousands of updates.
    W, lr, g, target = (_fraction(p[k]) for k in ("W", "lr", "g", "target"))
    ahead = target > W
    k = 0
    while (target > W) == ahead and target != W and k <= MAX_STEPS:
        W = W - lr * g
        k += 1
        if k == 1:
            agree("q18 first update", parts[0].answer, W)
    agree("q18 steps by simulation", parts[1].answer, sp.Integer(k))


PROBLEM = Problem("q18", "An SGD update and the steps to a target", "Question 18",
                  "q18.md.j2", seed_params, generate, check, solve, verify)
