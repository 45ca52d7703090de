"""A worked LayerNorm, forward and backward, on one row of four numbers.

Forward (biased variance; ε = 0 here so that every number stays exact):
    μ = mean(x);  σ² = mean((x - μ)²);  x̂ = (x - μ)/σ;  y = γ ⊙ x̂ + β
Backward, with g = γ ⊙ ∂loss/∂y:
    ∂loss/∂γ = ∂loss/∂y ⊙ x̂;   ∂loss/∂β = ∂loss/∂y
    ∂loss/∂x = (1/σ) (g - mean(g) - x̂ · mean(g ⊙ x̂))       (seed question 11)
The two subtracted terms are the "corrections for mean and variance" of seed Part 3.1:
the gradient has no component along the all-ones direction or along x̂.

Inputs are x = μ + s·scale for an integer pattern s whose biased variance is a perfect
square, so σ is rational. The seed gives no LayerNorm numbers; variant 0 is our own
example. The second derivation is sympy.diff of Σ ∂loss/∂y ⊙ y(x) with x symbolic (for
y and the gradients); μ as the minimizer of Σ (x − m)² (sympy.solve), σ² as
E[x²] − E[x]², and x̂ by its defining properties (mean 0, mean square 1, a positive
multiple of x − μ).
"""
from __future__ import annotations

import itertools
from functools import lru_cache
from math import gcd, isqrt

import sympy as sp

from grader.problems.core import (NUMBER, STANDARD, VECTOR, Compiled, DerivationMismatch, Part,
                                  Problem, R, agree, named_mistakes)
from grader.problems.variants import Dice

N = 4


def _patterns() -> list[tuple[int, ...]]:
    """Integer rows with mean 0 and a perfect-square biased variance (entries in -9..9)."""
    found = []
    for s in itertools.product(range(-9, 10), repeat=N):
        sq = sum(v * v for v in s)
        if sum(s) or sq == 0 or sq % N or gcd(*s) != 1 or s != tuple(sorted(s)):
            continue
        k = isqrt(sq // N)
        if k * k * N == sq:
            found.append(s)
    return found


PATTERNS = _patterns()


def seed_params() -> dict:
    return {"x": [R("4.5"), R("1.5"), R("0.5"), R("1.5")],
            "gamma": [R("1.5"), R("0.5"), R("-1.0"), R("2.0")],
            "beta": [R("0.1"), R("-0.2"), R("0.0"), R("0.3")],
            "dy": [R("0.4"), R("-0.2"), R("0.1"), R("0.5")]}


def generate(dice: Dice) -> dict:
    s = dice.shuffle(dice.choice(PATTERNS))
    mu, scale = dice.integer(-3, 3), dice.choice([R("0.5"), R(1), R(2)])
    return {"x": [mu + scale * v for v in s],
            "gamma": [dice.decimal("-2", "2", 1, nonzero=True) for _ in range(N)],
            "beta": [dice.decimal("-0.5", "0.5", 1) for _ in range(N)],
            "dy": [dice.decimal("-1", "1", 1, nonzero=True) for _ in range(N)]}


def stats(x):
    mu = sum(x) / len(x)
    var = sum((v - mu) ** 2 for v in x) / len(x)
    return mu, var, sp.sqrt(var)


def check(p: dict) -> list[str]:
    reasons = []
    mu, var, sigma = stats(p["x"])
    if var == 0:
        reasons.append("all inputs equal: σ = 0 and x̂ divides by zero")
    elif not sigma.is_Rational:
        reasons.append("σ is irrational")
    if any(g == 0 for g in p["gamma"]):
        reasons.append("γ has a zero: that feature would get no gradient")
    return reasons


def solve(p: dict) -> list[Part]:
    x, gamma, beta, dy = p["x"], p["gamma"], p["beta"], p["dy"]
    mu, var, sigma = stats(x)
    xhat = [(v - mu) / sigma for v in x]
    y = [gm * xh + bt for gm, xh, bt in zip(gamma, xhat, beta)]
    g = [gm * d for gm, d in zip(gamma, dy)]
    mean_g = sum(g) / N
    mean_gx = sum(gi * xh for gi, xh in zip(g, xhat)) / N
    dx = [(gi - mean_g - xh * mean_gx) / sigma for gi, xh in zip(g, xhat)]
    # Named mistakes, each the same computation with one slip (named only where it gives
    # another value: a mean term that is 0 here changes nothing when it is left out).
    var_unbiased = sum((v - mu) ** 2 for v in x) / (N - 1)
    xhat_unbiased = tuple((v - mu) / sp.sqrt(var_unbiased) for v in x)
    dx_plain = tuple(gi / sigma for gi in g)
    dx_no_g = tuple((gi - xh * mean_gx) / sigma for gi, xh in zip(g, xhat))
    dx_no_gx = tuple((gi - mean_g) / sigma for gi in g)
    mean_dy = sum(dy) / N
    mean_dyx = sum(d * xh for d, xh in zip(dy, xhat)) / N
    dx_no_gamma = tuple((d - mean_dy - xh * mean_dyx) / sigma for d, xh in zip(dy, xhat))
    return [Part("mean", "μ", NUMBER, mu, 1, STANDARD),
            Part("variance", "σ² (biased)", NUMBER, var, 1, STANDARD,
                 mistakes=named_mistakes(var, ("the unbiased variance (÷ N-1)", var_unbiased))),
            Part("xhat", "x̂", VECTOR, tuple(xhat), 2, STANDARD,
                 mistakes=named_mistakes(tuple(xhat), ("σ from the unbiased variance (÷ N-1)",
                                                       xhat_unbiased))),
            Part("y", "y", VECTOR, tuple(y), 2, STANDARD),
            Part("dgamma", "∂loss/∂γ", VECTOR, tuple(d * xh for d, xh in zip(dy, xhat)), 1,
                 STANDARD),
            Part("dbeta", "∂loss/∂β", VECTOR, tuple(dy), 1, STANDARD),
            Part("dx", "∂loss/∂x", VECTOR, tuple(dx), 4, STANDARD,
                 mistakes=named_mistakes(
                     tuple(dx),
                     ("without the mean terms (g/σ)", dx_plain),
                     ("without the mean(g) term", dx_no_g),
                     ("without the x̂·mean(g ⊙ x̂) term", dx_no_gx),
                     ("γ left out (∂loss/∂y in place of γ ⊙ ∂loss/∂y)", dx_no_gamma)))]


@lru_cache(maxsize=None)
def _symbolic():
    x = sp.symbols(f"x0:{N}")
    gamma, beta, dy = (sp.symbols(f"{n}0:{N}") for n in ("gamma", "beta", "dy"))
    mu = sum(x) / N
    sigma = sp.sqrt(sum((v - mu) ** 2 for v in x) / N)
    y = [gamma[i] * (x[i] - mu) / sigma + beta[i] for i in range(N)]
    loss = sum(dy[i] * y[i] for i in range(N))   # a loss whose ∂loss/∂y is dy
    grads = ([sp.diff(loss, v) for v in x] + [sp.diff(loss, v) for v in gamma]
             + [sp.diff(loss, v) for v in beta] + y)
    return (x, gamma, beta, dy), Compiled(grads)


@lru_cache(maxsize=None)
def _moments():
    x = sp.symbols(f"x0:{N}")
    m = sp.Symbol("m")
    mean = sp.solve(sp.diff(sum((v - m) ** 2 for v in x), m), m)[0]
    return x, mean, sum(v * v for v in x) / N - mean**2


def verify(p: dict, parts: list[Part]) -> None:
    (x, gamma, beta, dy), compiled = _symbolic()
    values = {}
    for syms, name in ((x, "x"), (gamma, "gamma"), (beta, "beta"), (dy, "dy")):
        values.update(zip(syms, p[name]))
    out = compiled.at(values)
    dx, dgamma, dbeta, y = out[0:N], out[N:2 * N], out[2 * N:3 * N], out[3 * N:]
    key = {part.name: part.answer for part in parts}
    # μ as the point that minimizes Σ (x - m)², σ² as E[x²] - E[x]² (not the forward's
    # formulas), and x̂ by what defines it: mean 0, mean square 1, parallel to x - μ.
    xs, mean, variance = _moments()
    at = dict(zip(xs, p["x"]))
    agree("layernorm mean: argmin of Σ (x - m)²", key["mean"], mean.xreplace(at))
    agree("layernorm variance: E[x²] - E[x]²", key["variance"], variance.xreplace(at))
    xhat, centred = key["xhat"], [v - key["mean"] for v in p["x"]]
    agree("layernorm x̂ has mean 0", sum(xhat), 0)
    agree("layernorm x̂ has mean square 1", sum(v * v for v in xhat) / N, 1)
    far = max(range(N), key=lambda i: abs(centred[i]))
    if not xhat[far] * centred[far] > 0:
        raise DerivationMismatch("layernorm: x̂ points against x - μ")
    for i in range(N):
        agree(f"layernorm x̂[{i}] parallel to x - μ", xhat[i] * centred[far], xhat[far] * centred[i])
    agree("layernorm y", key["y"], y)
    agree("layernorm dx: formula vs sympy.diff", key["dx"], dx)
    agree("layernorm dgamma", key["dgamma"], dgamma)
    agree("layernorm dbeta", key["dbeta"], dbeta)


PROBLEM = Problem("layernorm", "LayerNorm forward and backward", "Question 11 (worked)",
                  "layernorm.md.j2", seed_params, generate, check, solve, verify)
