"""Embedding backward: gradients of a repeated token accumulate.

    forward   x[t] = E[tokens[t]] + PE[t]
    backward  ∂loss/∂E[v] = Σ_{t : tokens[t] = v} ∂loss/∂x[t]     (seed Part 5: `+=`)

A token that occurs twice, like the comma of `Max(1,6,2)` at positions 3 and 5, collects
both positions' gradients; a token that does not occur gets a zero row; the fixed
positional encodings get nothing. Variant 0 uses the seed's `Max(1,6,2)` →
[15, 17, 3, 19, 8, 19, 4, 18] (tt.data.encode) with our own upstream gradient. The
second derivation is sympy.diff of Σ_t ∂loss/∂x[t] · E[tokens[t]] with E symbolic.
"""
from __future__ import annotations

import sympy as sp

from grader.problems.core import EXACT, INTEGER, STANDARD, VECTOR, Part, Problem, R, agree
from grader.problems.variants import Dice
from tt.data import DIGIT0, OPERATIONS, VOCAB, encode

C = 3          # a narrow embedding, so the sums stay hand-sized
COMMA = VOCAB[","]


def seed_params() -> dict:
    rows = [["0.1", "-0.2", "0.3"], ["0.0", "0.4", "-0.1"], ["0.2", "0.1", "0.0"],
            ["-0.3", "0.2", "0.5"], ["0.4", "-0.1", "0.2"], ["0.1", "0.3", "-0.2"],
            ["-0.2", "0.0", "0.1"], ["0.3", "0.2", "0.4"]]
    return with_tokens({"text": "Max(1,6,2)", "dx": [[R(v) for v in r] for r in rows],
                        "other": VOCAB["Max"], "absent": DIGIT0 + 5})


def generate(dice: Dice) -> dict:
    digits = [dice.integer(0, 9) for _ in range(3)]
    if dice.below(2):                       # half the variants repeat a digit too
        digits[dice.below(3)] = digits[dice.below(3)]
    text = f"{dice.choice(OPERATIONS)}({digits[0]},{digits[1]},{digits[2]})"
    tokens = encode(text)
    repeated = [t for t in tokens if t != COMMA and tokens.count(t) > 1]
    other = repeated[0] if repeated else dice.choice([t for t in tokens if t != COMMA])
    absent = dice.choice([DIGIT0 + d for d in range(10) if DIGIT0 + d not in tokens])
    dx = [[dice.decimal("-0.5", "0.5", 1) for _ in range(C)] for _ in tokens]
    return with_tokens({"text": text, "dx": dx, "other": other, "absent": absent})


def with_tokens(p: dict) -> dict:
    return {**p, "tokens": encode(p["text"]), "comma": COMMA}


def dE_row(p: dict, v: int) -> tuple:
    row = [sp.Integer(0)] * C
    for t, tok in enumerate(p["tokens"]):
        if tok == v:
            row = [a + b for a, b in zip(row, p["dx"][t])]   # +=, not =
    return tuple(row)


def check(p: dict) -> list[str]:
    reasons = []
    if p["tokens"].count(COMMA) != 2:
        reasons.append("the comma must occur exactly twice")
    if p["absent"] in p["tokens"]:
        reasons.append("the 'absent' token occurs")
    for v in sorted(set(p["tokens"])):
        if all(x == 0 for x in dE_row(p, v)):
            reasons.append(f"token {v} gets an all-zero gradient row: the count would mislead")
    return reasons


def solve(p: dict) -> list[Part]:
    return [Part("comma_row", f"∂loss/∂E[{COMMA}] (the comma)", VECTOR, dE_row(p, COMMA), 3, STANDARD),
            Part("other_row", f"∂loss/∂E[{p['other']}]", VECTOR, dE_row(p, p["other"]), 2, STANDARD),
            Part("absent_row", f"∂loss/∂E[{p['absent']}]", VECTOR, dE_row(p, p["absent"]), 1,
                 STANDARD),
            Part("nonzero_rows", "the number of rows of ∂loss/∂E that are not zero", INTEGER,
                 sp.Integer(len(set(p["tokens"]))), 2, EXACT, unit="rows")]


E = {v: sp.symbols(f"E{v}_0:{C}") for v in range(len(VOCAB))}


def _loss(tokens, dx):
    """A loss whose gradient with respect to x[t] is dx[t]; PE[t] is a constant."""
    return sp.Add(*[dx[t][c] * E[v][c] for t, v in enumerate(tokens) for c in range(C)])


def verify(p: dict, parts: list[Part]) -> None:
    # With the numbers in, the loss is a linear form in E whose zero terms sympy drops:
    # a row of ∂loss/∂E is nonzero exactly when one of its symbols is still there.
    linear = _loss(p["tokens"], p["dx"])
    key = {part.name: part.answer for part in parts}
    for name, v in (("comma_row", COMMA), ("other_row", p["other"]), ("absent_row", p["absent"])):
        # Differentiate only the terms that mention e: the others have derivative 0.
        grads = tuple(sp.diff(sp.Add(*[t for t in linear.args if t.has(e)]), e) for e in E[v])
        agree(f"embedding {name}", key[name], grads)
    alive = linear.free_symbols
    nonzero = sum(1 for v in E if any(e in alive for e in E[v]))
    agree("embedding nonzero rows", key["nonzero_rows"], nonzero)


PROBLEM = Problem("embedding", "Embedding gradients accumulate", "Question 16 (worked)",
                  "embedding.md.j2", seed_params, generate, check, solve, verify)
