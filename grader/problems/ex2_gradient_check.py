"""Exercise 2: the derivative of a quadratic, and its numerical check.

    f(x)  = a x² + b x + c
    f'(x) = 2a x + b                                         (the power rule)
    central difference (f(x+ε) - f(x-ε)) / (2ε) = 2a x + b   exactly, for every ε
    forward difference (f(x+ε) - f(x)) / ε      = 2a x + b + a ε

The central difference of a quadratic has no truncation error at all, while the
forward difference is off by exactly a·ε: the reason gradient checks use central
differences (seed, "Gradient Checking").

The seed fixes f(x) = x² + 3x + 2 and ε = 1e-5 but no point; variant 0 checks at x = 2.
The second derivation is sympy.diff against the power rule, and the two difference
quotients expanded symbolically in ε.
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from grader.problems.core import (EXACT, EXPRESSION, NUMBER, RELATIVE, STANDARD, DerivationMismatch,
                                  Part, Problem, R, agree, fmt)
from grader.problems.variants import Dice

x, e = sp.symbols("x epsilon")



def seed_params() -> dict:
    return with_text({"a": R(1), "b": R(3), "c": R(2), "x0": R(2), "eps": R("0.00001")})


def generate(dice: Dice) -> dict:
    return with_text({"a": sp.Integer(dice.choice([-3, -2, -1, 1, 2, 3, 4])),
                      "b": sp.Integer(dice.integer(-6, 6)),
                      "c": sp.Integer(dice.integer(-5, 5)),
                      "x0": dice.decimal(-3, 3, 1),
                      "eps": dice.choice([R("0.001"), R("0.0001"), R("0.00001")])})


def with_text(p: dict) -> dict:
    """Add the statement's spelling of f: 'x² + 3x + 2', '-2x² - x'."""
    terms = []
    for coef, power in ((p["a"], "x²"), (p["b"], "x"), (p["c"], "")):
        if coef == 0:
            continue
        sign = "-" if coef < 0 else "+"
        mag = abs(int(coef))
        body = power if (mag == 1 and power) else f"{mag}{power}"
        terms.append((sign, body))
    text = ("-" if terms[0][0] == "-" else "") + terms[0][1]
    text += "".join(f" {s} {b}" for s, b in terms[1:])
    return {**p, "f_text": text}


def f(p: dict):
    return p["a"] * x**2 + p["b"] * x + p["c"]


def check(p: dict) -> list[str]:
    reasons = []
    if p["a"] == 0:
        reasons.append("a = 0: f is not a quadratic")
    if 2 * p["a"] * p["x0"] + p["b"] == 0:
        reasons.append("f'(x0) = 0: a relative error would divide by zero")
    if p["eps"] <= 0:
        reasons.append("ε must be positive")
    return reasons


def solve(p: dict) -> list[Part]:
    a, b, x0, eps = p["a"], p["b"], p["x0"], p["eps"]
    slope = 2 * a * x0 + b
    fx = f(p)

    def at(v):
        return fx.xreplace({x: v})

    central = (at(x0 + eps) - at(x0 - eps)) / (2 * eps)
    forward_q = (at(x0 + eps) - at(x0)) / eps
    # Exact: the statement says so, and a polynomial is right or it is not.
    return [Part("derivative", "f'(x) as an expression in x", EXPRESSION, 2 * a * x + b, 3,
                 EXACT, symbols=("x",)),
            Part("analytic", f"f'({fmt(x0)}) from your formula", NUMBER, slope, 1, STANDARD),
            Part("central", "the central difference at x0", NUMBER, central, 2, STANDARD),
            # The error a·ε is tiny: only a relative tolerance can tell it apart.
            Part("forward_error", "forward difference minus f'(x0)", NUMBER,
                 forward_q - slope, 2, RELATIVE)]


_a, _b, _c = sp.symbols("a b c")


@lru_cache(maxsize=None)
def _identities():
    """For f = a x² + b x + c with symbolic a, b, c: f', the central and the forward
    difference quotients, and the two facts about them (checked once, for every f)."""
    fx = _a * x**2 + _b * x + _c
    slope = sp.diff(fx, x)
    central = sp.expand((fx.xreplace({x: x + e}) - fx.xreplace({x: x - e})) / (2 * e))
    forward = sp.expand((fx.xreplace({x: x + e}) - fx) / e)
    # No ε is left in the central difference; the forward one is off by exactly a·ε.
    agree("ex2 central difference (symbolic)", 0, sp.expand(central - slope))
    agree("ex2 forward difference (symbolic)", 0, sp.expand(forward - slope - _a * e))
    return slope, central, forward


def verify(p: dict, parts: list[Part]) -> None:
    slope, central, forward = _identities()
    coef = {_a: p["a"], _b: p["b"], _c: p["c"]}
    if sp.expand(parts[0].answer - slope.xreplace(coef)) != 0:
        raise DerivationMismatch(f"ex2: the power rule's {parts[0].answer} is not sympy.diff's "
                                 f"{slope.xreplace(coef)}")
    at = {**coef, x: p["x0"], e: p["eps"]}
    agree("ex2 analytic", parts[1].answer, slope.xreplace(at))
    agree("ex2 central", parts[2].answer, central.xreplace(at))
    agree("ex2 forward error", parts[3].answer, (forward - slope).xreplace(at))


PROBLEM = Problem("ex2", "Gradient verification", "Exercise 2", "ex2.md.j2",
                  seed_params, generate, check, solve, verify)
