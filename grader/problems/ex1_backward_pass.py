"""Exercise 1: every gradient of a 2 → 2 → 1 ReLU network, by hand.

Forward (row vectors, matrices stored (in, out) as in tt):
    z      = x @ W1 + b1              (2,)
    h      = ReLU(z)                  (2,)
    out    = h @ W2 + b2              (1,)
    loss   = 0.5 (out - target)^2
Backward, undoing one line at a time:
    ∂loss/∂out = out - target
    ∂loss/∂W2  = h^T ∂loss/∂out       (2, 1)      ∂loss/∂b2 = ∂loss/∂out
    ∂loss/∂h   = ∂loss/∂out W2^T      (2,)
    ∂loss/∂z   = ∂loss/∂h · 1[z > 0]  (2,)
    ∂loss/∂W1  = x^T ∂loss/∂z         (2, 2)      ∂loss/∂b1 = ∂loss/∂z

The second derivation writes the loss as one sympy expression in all nine parameters
(ReLU as a Piecewise), evaluates it (the output and the loss) and takes sympy.diff with
respect to each parameter; the well-posedness check keeps every z away from 0, where
ReLU has no derivative.
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from grader.problems.core import (MATRIX, NUMBER, STANDARD, VECTOR, Compiled, Part, Problem, R,
                                  agree, named_mistakes)
from grader.problems.variants import Dice

MARGIN = sp.Rational(1, 20)


def seed_params() -> dict:
    return {"x": [R(2), R(1)],
            "W1": [[R("0.5"), R("-0.3")], [R("0.2"), R("0.4")]],
            "b1": [R("0.1"), R("-0.1")],
            "W2": [[R("0.6")], [R("0.3")]],
            "b2": R("0.2"),
            "target": R("1.5")}


def generate(dice: Dice) -> dict:
    return {"x": [dice.choice([-2, -1, 1, 2, 3]) * sp.Integer(1) for _ in range(2)],
            "W1": [[dice.decimal(-1, 1, 1, nonzero=True) for _ in range(2)] for _ in range(2)],
            "b1": [dice.decimal("-0.5", "0.5", 1) for _ in range(2)],
            "W2": [[dice.decimal(-1, 1, 1, nonzero=True)] for _ in range(2)],
            "b2": dice.decimal("-0.5", "0.5", 1),
            "target": dice.decimal(-2, 2, 1)}


def forward(p: dict) -> dict:
    x, W1, b1, W2 = p["x"], p["W1"], p["b1"], p["W2"]
    z = [x[0] * W1[0][j] + x[1] * W1[1][j] + b1[j] for j in range(2)]
    h = [max(zj, sp.Integer(0)) for zj in z]
    out = h[0] * W2[0][0] + h[1] * W2[1][0] + p["b2"]
    return {"z": z, "h": h, "out": out, "loss": (out - p["target"]) ** 2 / 2}


def check(p: dict) -> list[str]:
    f = forward(p)
    reasons = []
    if any(abs(zj) < MARGIN for zj in f["z"]):
        reasons.append(f"a pre-activation is at or next to 0: z = {f['z']}")
    if all(zj <= 0 for zj in f["z"]):
        reasons.append("both hidden units are off: every W1 gradient is 0")
    if f["out"] == p["target"]:
        reasons.append("the output equals the target: every gradient is 0")
    return reasons


def solve(p: dict) -> list[Part]:
    f = forward(p)
    x, W2 = p["x"], p["W2"]
    dout = f["out"] - p["target"]
    dW2 = tuple((hj * dout,) for hj in f["h"])
    dh = tuple(dout * W2[j][0] for j in range(2))
    dz = tuple(dh[j] * (1 if f["z"][j] > 0 else 0) for j in range(2))
    dW1 = tuple(tuple(x[i] * dz[j] for j in range(2)) for i in range(2))
    # Named mistakes, each the same computation with one slip (named only where it gives
    # another value: with every unit on, skipping the ReLU changes nothing).
    z = f["z"]
    out_no_relu = z[0] * W2[0][0] + z[1] * W2[1][0] + p["b2"]
    loss_no_half = (f["out"] - p["target"]) ** 2
    dW2_z = tuple((zj * dout,) for zj in z)
    dW1_no_mask = tuple(tuple(x[i] * dh[j] for j in range(2)) for i in range(2))
    return [Part("output", "the output (forward pass)", NUMBER, f["out"], 1, STANDARD,
                 mistakes=named_mistakes(f["out"], ("the ReLU skipped (z @ W₂ + b₂)", out_no_relu))),
            Part("loss", "the loss (forward pass)", NUMBER, f["loss"], 1, STANDARD,
                 mistakes=named_mistakes(f["loss"], ("without the ½ ((out - target)²)", loss_no_half))),
            Part("dout", "∂loss/∂output", NUMBER, dout, 1, STANDARD),
            Part("dW2", "∂loss/∂W₂", MATRIX, dW2, 2, STANDARD,
                 mistakes=named_mistakes(dW2, ("z in place of h = ReLU(z)", dW2_z))),
            Part("db2", "∂loss/∂b₂", NUMBER, dout, 1, STANDARD),
            Part("dhidden", "∂loss/∂hidden", VECTOR, dh, 2, STANDARD),
            Part("dW1", "∂loss/∂W₁", MATRIX, dW1, 3, STANDARD,
                 mistakes=named_mistakes(dW1, ("without the ReLU mask (xᵀ ∂loss/∂hidden)", dW1_no_mask))),
            Part("db1", "∂loss/∂b₁", VECTOR, dz, 2, STANDARD)]


@lru_cache(maxsize=None)
def _symbolic():
    """The loss as one expression, and its derivative with respect to every parameter."""
    x = sp.symbols("x0:2")
    W1 = sp.Matrix(2, 2, lambda i, j: sp.Symbol(f"W1_{i}{j}"))
    b1 = sp.symbols("b1_0:2")
    W2 = sp.symbols("W2_0:2")
    b2, target = sp.symbols("b2 target")
    h = [sp.Piecewise((zj, zj > 0), (0, True))
         for zj in (x[0] * W1[0, j] + x[1] * W1[1, j] + b1[j] for j in range(2))]
    out = sp.Symbol("out_")  # differentiate through `out` explicitly for ∂loss/∂hidden
    out_expr = h[0] * W2[0] + h[1] * W2[1] + b2
    loss = (out_expr - target) ** 2 / 2
    hs = sp.symbols("h0:2")
    loss_of_h = ((hs[0] * W2[0] + hs[1] * W2[1] + b2) - target) ** 2 / 2
    grads = {"dout": [sp.diff((out - target) ** 2 / 2, out).subs(out, out_expr)],
             "dW2": [sp.diff(loss, W2[i]) for i in range(2)],
             "db2": [sp.diff(loss, b2)],
             "dhidden": [sp.diff(loss_of_h, hs[j]).subs(dict(zip(hs, h))) for j in range(2)],
             "dW1": [sp.diff(loss, W1[i, j]) for i in range(2) for j in range(2)],
             "db1": [sp.diff(loss, b1[j]) for j in range(2)]}
    # The forward pass itself, from the same expression: output and loss are checked too.
    grads.update(output=[out_expr], loss=[loss])
    names = list(grads)
    sizes = [len(grads[n]) for n in names]
    return (x, W1, b1, W2, b2, target), names, sizes, Compiled([e for n in names for e in grads[n]])


def verify(p: dict, parts: list[Part]) -> None:
    (x, W1, b1, W2, b2, target), names, sizes, compiled = _symbolic()
    values = {x[0]: p["x"][0], x[1]: p["x"][1], b2: p["b2"], target: p["target"],
              b1[0]: p["b1"][0], b1[1]: p["b1"][1], W2[0]: p["W2"][0][0], W2[1]: p["W2"][1][0]}
    values.update({W1[i, j]: p["W1"][i][j] for i in range(2) for j in range(2)})
    flat = list(compiled.at(values))
    key = {part.name: part.answer for part in parts}
    shapes = {"dW2": (2, 1), "dW1": (2, 2)}
    for name, size in zip(names, sizes):
        got, flat = flat[:size], flat[size:]
        if name in shapes:
            r, c = shapes[name]
            got = tuple(tuple(got[i * c:(i + 1) * c]) for i in range(r))
        elif size == 1:
            got = got[0]
        else:
            got = tuple(got)
        what = "forward" if name in ("output", "loss") else "chain rule vs sympy.diff"
        agree(f"ex1 {name}: {what} vs the symbolic loss", key[name], got)


PROBLEM = Problem("ex1", "A complete backward pass by hand", "Exercise 1", "ex1.md.j2",
                  seed_params, generate, check, solve, verify)
