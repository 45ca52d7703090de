"""Exercise 4: five steps of SGD, SGD with momentum, and Adam on one parameter.

    SGD       W ← W - lr·g
    momentum  v ← β·v + g;  W ← W - lr·v                  (v0 = 0; as tt.optim.sgd_momentum)
    Adam      m ← β1·m + (1-β1)·g;  v ← β2·v + (1-β2)·g²
              m̂ = m/(1-β1^t);  v̂ = v/(1-β2^t);  W ← W - lr·m̂/(√v̂ + ε)
              t = 1, 2, ...; ε = 1e-8                     (seed Part 6; tt.optim.adam)

Every value is exact: m and v are rationals, and W carries square roots of rationals,
kept as sympy expressions (the key also gives them to 30 digits).

The second derivation uses the closed forms instead of the recurrences (for Adam, W is
rebuilt from the closed-form moments and must be the same exact expression):
    SGD       W_t = W_0 - lr Σ_{s≤t} g_s
    momentum  v_t = Σ_{s≤t} β^{t-s} g_s,   W_t = W_0 - lr Σ_{s≤t} v_s
    Adam      m_t = (1-β1) Σ_{s≤t} β1^{t-s} g_s,   v_t = (1-β2) Σ_{s≤t} β2^{t-s} g_s²
"""
from __future__ import annotations

import sympy as sp

from grader.problems.core import TRAJECTORY, VECTOR, Part, Problem, R, agree, named_mistakes
from grader.problems.variants import Dice

BETA, BETA1, BETA2, EPS = R("0.9"), R("0.9"), R("0.999"), R("1e-8")


def seed_params() -> dict:
    return {"W0": R("0.5"), "lr": R("0.01"),
            "grads": [R("-0.1"), R("-0.08"), R("-0.12"), R("-0.09"), R("-0.11")]}


def generate(dice: Dice) -> dict:
    return {"W0": dice.decimal(-1, 1, 1), "lr": dice.choice([R("0.01"), R("0.001"), R("0.1")]),
            "grads": [dice.decimal("-0.2", "0.2", 2, nonzero=True) for _ in range(5)]}


def check(p: dict) -> list[str]:
    reasons = []
    if any(g == 0 for g in p["grads"]):
        reasons.append("a zero gradient (Adam's first step would divide 0 by ε)")
    if p["lr"] <= 0:
        reasons.append("the learning rate must be positive")
    return reasons


def sgd(p, sign=1):
    """sign=-1: the update added instead of subtracted (a named mistake)."""
    W, out = p["W0"], []
    for g in p["grads"]:
        W = W - sign * p["lr"] * g
        out.append(W)
    return tuple(out)


def momentum(p, sign=1, dampen=False):
    """sign=-1: the update added; dampen: v ← β·v + (1-β)·g, the velocity as a running
    mean (Adam's first moment) instead of tt.optim.sgd_momentum's sum (named mistakes)."""
    W, v, out = p["W0"], sp.Integer(0), []
    for g in p["grads"]:
        v = BETA * v + ((1 - BETA) * g if dampen else g)
        W = W - sign * p["lr"] * v
        out.append(W)
    return tuple(out)


def root(x):
    """√x kept exact but unevaluated: sympy would otherwise factor large integers."""
    return sp.Pow(x, sp.Rational(1, 2), evaluate=False)


def adam_moments(p):
    """(m_t, v_t) after each step, by the recurrences (rationals)."""
    m, v, out = sp.Integer(0), sp.Integer(0), []
    for g in p["grads"]:
        m = BETA1 * m + (1 - BETA1) * g
        v = BETA2 * v + (1 - BETA2) * g**2
        out.append((m, v))
    return out


def adam(p, correct_m=True, correct_v=True, sign=1):
    """The W trajectory, exact: W_t = W_{t-1} - lr·m̂_t/(√v̂_t + ε).

    The named mistakes use the same recurrences with one slip: correct_m / correct_v
    False leaves m (or v) without its bias correction 1/(1-β^t); sign=-1 adds the update.
    """
    W, out = p["W0"], []
    for t, (m, v) in enumerate(adam_moments(p), start=1):
        m_hat = m / (1 - BETA1**t) if correct_m else m
        v_hat = v / (1 - BETA2**t) if correct_v else v
        W = W - sign * p["lr"] * m_hat / (root(v_hat) + EPS)
        out.append(W)
    return tuple(out)


def solve(p: dict) -> list[Part]:
    key_sgd, key_momentum, key_adam = sgd(p), momentum(p), adam(p)
    return [Part("sgd", "W after each of the 5 SGD steps", VECTOR, key_sgd, 3, TRAJECTORY,
                 mistakes=named_mistakes(key_sgd, ("the update added (W + lr·g)", sgd(p, sign=-1)))),
            Part("momentum", "W after each of the 5 momentum steps", VECTOR, key_momentum, 3,
                 TRAJECTORY,
                 mistakes=named_mistakes(
                     key_momentum,
                     ("the velocity as a running mean (v ← β·v + (1-β)·g)", momentum(p, dampen=True)),
                     ("the update added (W + lr·v)", momentum(p, sign=-1)))),
            Part("adam", "W after each of the 5 Adam steps", VECTOR, key_adam, 4, TRAJECTORY,
                 mistakes=named_mistakes(
                     key_adam,
                     ("no bias correction (m and v not divided by 1-β^t)",
                      adam(p, correct_m=False, correct_v=False)),
                     ("the bias correction of m only (v not divided by 1-β₂^t)", adam(p, correct_v=False)),
                     ("the bias correction of v only (m not divided by 1-β₁^t)", adam(p, correct_m=False)),
                     ("the update added (W + lr·m̂/(√v̂ + ε))", adam(p, sign=-1))))]


def verify(p: dict, parts: list[Part]) -> None:
    g, lr, W0 = p["grads"], p["lr"], p["W0"]
    n = len(g)
    agree("ex4 sgd closed form", parts[0].answer,
          tuple(W0 - lr * sum(g[: t + 1]) for t in range(n)))
    vs = [sum(BETA ** (t - s) * g[s] for s in range(t + 1)) for t in range(n)]
    agree("ex4 momentum closed form", parts[1].answer,
          tuple(W0 - lr * sum(vs[: t + 1]) for t in range(n)))
    # Adam: the moments in closed form must equal the recurrences exactly, and W rebuilt
    # from the closed-form moments must be the same exact expression as the key.
    moments = adam_moments(p)
    W, closed = W0, []
    for t in range(1, n + 1):
        m = (1 - BETA1) * sum(BETA1 ** (t - s) * g[s - 1] for s in range(1, t + 1))
        v = (1 - BETA2) * sum(BETA2 ** (t - s) * g[s - 1] ** 2 for s in range(1, t + 1))
        agree(f"ex4 adam moments at t={t}", moments[t - 1], (m, v))
        W = W - lr * (m / (1 - BETA1**t)) / (root(v / (1 - BETA2**t)) + EPS)
        closed.append(W)
    for t, (key, value) in enumerate(zip(parts[2].answer, closed), start=1):
        if key != value:        # not the same expression: then they must agree in value
            agree(f"ex4 adam W at t={t}", key, value)


PROBLEM = Problem("ex4", "Optimizer comparison", "Exercise 4", "ex4.md.j2",
                  seed_params, generate, check, solve, verify)
