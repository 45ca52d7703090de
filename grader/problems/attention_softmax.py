"""A worked attention row: scaled scores, softmax, and the softmax backward.

One query q attends over three keys k_j in a head of size d = 4 (so √d = 2):
    s_j = q · k_j / √d                      scaled scores
    p   = softmax(s)                        attention weights
Backward, from an upstream gradient ∂loss/∂p:
    ∂loss/∂s = p ⊙ (∂loss/∂p − Σ_k ∂loss/∂p_k · p_k)     (STYLE: never build a Jacobian)
    ∂loss/∂q = Σ_j ∂loss/∂s_j · k_j / √d                  (seed Part 3.4, question 27)

Softmax needs a calculator, so the statement gives p rounded to two decimals for the
backward parts, as the seed does in question 7; the key uses the stated numbers.
The seed gives no numbers for this; variant 0 is our own example.

Second derivations: ∂loss/∂s through the full Jacobian p_k(δ_jk − p_j) of seed Part
3.4; p as 1/Σ_k exp(s_k − s_j); ∂loss/∂q by sympy.diff of Σ_j ∂loss/∂s_j · s_j(q).
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from grader.problems.core import STANDARD, VECTOR, Part, Problem, R, agree
from grader.problems.q07_logit_gradient import rounded_softmax
from grader.problems.variants import Dice

D, N_KEYS = 4, 3
SQRT_D = sp.Integer(2)


def seed_params() -> dict:
    q = [R(1), R(0), R(2), R(-1)]
    keys = [[R(1), R(1), R(0), R(1)], [R(0), R(1), R(1), R(0)], [R(2), R(0), R(1), R(1)]]
    return with_probs({"q": q, "keys": keys, "dp": [R("0.5"), R("-0.4"), R("0.2")]})


def generate(dice: Dice) -> dict:
    return with_probs({"q": [sp.Integer(dice.integer(-2, 2)) for _ in range(D)],
                       "keys": [[sp.Integer(dice.integer(-2, 2)) for _ in range(D)]
                                for _ in range(N_KEYS)],
                       "dp": [dice.decimal("-1", "1", 1) for _ in range(N_KEYS)]})


def scores(p: dict) -> list:
    return [sum(qi * ki for qi, ki in zip(p["q"], k)) / SQRT_D for k in p["keys"]]


def with_probs(p: dict) -> dict:
    return {**p, "probs": rounded_softmax(scores(p))}


def check(p: dict) -> list[str]:
    reasons = []
    s = scores(p)
    if len(set(s)) < len(s):
        reasons.append("two scores are equal")
    if sum(p["probs"]) != 1:
        reasons.append(f"the rounded probabilities sum to {sum(p['probs'])}, not 1")
    if min(p["probs"]) <= 0:
        reasons.append("a probability rounds to 0")
    if len(set(p["dp"])) == 1:
        reasons.append("a constant upstream gradient: softmax backward gives exactly 0")
    if all(v == 0 for v in p["q"]):
        reasons.append("q = 0")
    return reasons


def solve(p: dict) -> list[Part]:
    s = scores(p)
    total = sum(sp.exp(v) for v in s)
    exact = tuple(sp.exp(v) / total for v in s)
    pr, dp = p["probs"], p["dp"]
    inner = sum(a * b for a, b in zip(dp, pr))
    ds = tuple(pj * (gj - inner) for pj, gj in zip(pr, dp))
    dq = tuple(sum(ds[j] * p["keys"][j][i] for j in range(N_KEYS)) / SQRT_D for i in range(D))
    return [Part("scores", "the scaled scores s", VECTOR, tuple(s), 2, STANDARD),
            Part("probs", "softmax(s), exactly (not the rounded values)", VECTOR, exact, 2,
                 STANDARD),
            Part("dscores", "∂loss/∂s (with the rounded probabilities)", VECTOR, ds, 3, STANDARD),
            Part("dq", "∂loss/∂q (from step 3's ∂loss/∂s, the rounded probabilities)",
                 VECTOR, dq, 3, STANDARD)]


@lru_cache(maxsize=None)
def _symbolic():
    q = sp.symbols(f"q0:{D}")
    k = [sp.symbols(f"k{j}_0:{D}") for j in range(N_KEYS)]
    ds = sp.symbols(f"ds0:{N_KEYS}")
    s = [sum(qi * ki for qi, ki in zip(q, kj)) / SQRT_D for kj in k]
    loss = sum(d * sj for d, sj in zip(ds, s))   # a loss whose ∂loss/∂s is ds
    return q, k, ds, [sp.diff(loss, qi) for qi in q]


def verify(p: dict, parts: list[Part]) -> None:
    key = {part.name: part.answer for part in parts}
    s, pr, dp = key["scores"], p["probs"], p["dp"]
    agree("attention probs: 1/Σ exp(s_k − s_j)", key["probs"],
          tuple(1 / sum(sp.exp(sk - sj) for sk in s) for sj in s))
    jacobian = [[pr[k] * ((1 if j == k else 0) - pr[j]) for k in range(N_KEYS)]
                for j in range(N_KEYS)]
    agree("attention dscores: Jacobian vs row formula", key["dscores"],
          tuple(sum(dp[k] * jacobian[j][k] for k in range(N_KEYS)) for j in range(N_KEYS)))
    q, k, ds, dq = _symbolic()
    values = {**dict(zip(q, p["q"])), **dict(zip(ds, key["dscores"]))}
    for j in range(N_KEYS):
        values.update(zip(k[j], p["keys"][j]))
    agree("attention dq: sympy.diff", key["dq"], tuple(e.xreplace(values) for e in dq))


PROBLEM = Problem("attention", "One attention row, forward and backward", "Questions 27, 34 (worked)",
                  "attention.md.j2", seed_params, generate, check, solve, verify)
