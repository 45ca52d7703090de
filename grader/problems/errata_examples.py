"""Errata checks of the seed's worked examples: the output gradients, the SGD step, the
gradient check, the softmax probabilities, gradient clipping, and the values that agree."""
from __future__ import annotations

import re
from math import ceil

import sympy as sp

from grader.problems import (q07_logit_gradient, q08_output_column, q09_relu_backward,
                             q12_numerical_gradient, q18_sgd_steps, q33_gradient_clipping)
from grader.problems.core import fmt, fmt_vec
from grader.problems.errata_seed import (NUMBER, Finding, Seed, num, places_of, printed_agrees,
                                         round_to, ulps_away)


def output_column(seed: Seed) -> list[Finding]:
    """Part 2: ∂loss/∂W_output[i, 8] = final_repr[i] × (−0.3075), five lines."""
    out, rows, parsed = [], [], []
    for i in range(5):
        line_no, line = seed.find(f"∂loss/∂W_output[{i}, 8] = ")
        m = re.search(rf"= ({NUMBER}) × \(({NUMBER})\) = ({NUMBER})", line)
        rows.append((line_no, line.strip(), m.group(3)))
        parsed.append((num(m.group(1)), num(m.group(2))))
    params = {"x": [a for a, _ in parsed], "g": parsed[0][1], "j": 8, "V": 20}
    column = q08_output_column.solve(params)[0].answer
    for (line_no, quote, printed), exact in zip(rows, column):
        ok = printed_agrees(printed, exact)
        out.append(Finding("Part 2, a column of ∂loss/∂W_output", [line_no], quote, printed,
                           fmt(exact), ok, "" if ok else
                           f"{fmt(exact)} rounds to {round_to(exact, printed)} at "
                           f"{places_of(printed)} decimals, not {printed}: {printed} is "
                           f"{fmt(ulps_away(printed, exact))} units of the last decimal away, "
                           "and a correct rounding is at most 0.5 away (not a tie, so no "
                           "rounding rule gives it)"))
    return out


def gradient_check(seed: Seed) -> list[Finding]:
    """"Gradient Checking": (0.450012 − 0.449988) / (2 × 1e-5)."""
    start, _ = seed.find("### Gradient Checking")
    eps_line, line = seed.find("ε = ", start)
    eps = num(seed.numbers(line)[0])
    plus_line, line = seed.find("loss_plus = compute_loss()", start)
    loss_plus = num(seed.numbers(line.split("#")[1])[0])
    minus_line, line = seed.find("loss_minus = compute_loss()", start)
    loss_minus = num(seed.numbers(line.split("#")[1])[0])
    quot_line, quot = seed.find("= 0.", minus_line + 2)
    claimed_diff, claimed_denom = seed.numbers(quot)[:2]
    grad_line, grad = seed.find("=", quot_line + 1)
    claimed_grad = seed.numbers(grad)[0]
    ana_line, ana = seed.find("analytical_gradient = ", start)
    analytical = num(seed.numbers(ana)[0])
    parts = q12_numerical_gradient.solve({"loss_plus": loss_plus, "loss_minus": loss_minus,
                                          "eps": eps})
    diff, denom, numeric = (p.answer for p in parts)
    out = [
        Finding("Gradient check: the difference of the two losses", [plus_line, minus_line,
                quot_line], quot.strip(), claimed_diff, fmt(diff), num(claimed_diff) == diff,
                f"{fmt(loss_plus)} − {fmt(loss_minus)} = {fmt(diff)}; the seed's "
                f"{claimed_diff} is {fmt(num(claimed_diff) / diff)} times too large"),
        Finding("Gradient check: the denominator 2ε", [eps_line, quot_line], quot.strip(),
                claimed_denom, fmt(denom), num(claimed_denom) == denom),
        Finding("Gradient check: the numerical gradient", [grad_line], grad.strip(),
                claimed_grad, fmt(numeric), num(claimed_grad) == numeric,
                f"{fmt(diff)} / {fmt(denom)} = {fmt(numeric)}"),
    ]
    rel = abs(numeric - analytical) / (abs(numeric) + abs(analytical))
    consistent = 2 * eps * analytical
    out.append(Finding(
        "Gradient check: numerical vs analytical gradient", [ana_line], ana.strip(),
        f"{fmt(analytical)} should match the numerical gradient", fmt(numeric),
        rel <= sp.Rational(1, 10**5),
        f"even with the arithmetic fixed, the example's losses give {fmt(numeric)}, which "
        f"differs from the analytical {fmt(analytical)} in sign and size (relative error "
        f"{sp.N(rel, 3)}), so the example as written would report a bug; losses consistent "
        f"with {fmt(analytical)} would differ by 2ε·({fmt(analytical)}) = {fmt(consistent)}"))
    return out


def sgd_update(seed: Seed) -> list[Finding]:
    """Part 6: W = 0.234 − 0.001 × (−0.0719)."""
    start, _ = seed.find("### Simple Gradient Descent")
    w_line, line = seed.find("W_output[10, 8] = ", start)
    W = num(seed.numbers(line.split("=")[1])[0])
    g_line, line = seed.find("∂loss/∂W_output[10, 8] = ", start)
    g = num(seed.numbers(line.split("=")[1])[0])
    lr_line, line = seed.find("learning_rate = ", start)
    lr = num(seed.numbers(line)[0])
    step_line, step = seed.find("= 0.234 + ", start)
    after_line, after = seed.find("(after update)", start)
    new_w = q18_sgd_steps.solve({"W": W, "g": g, "lr": lr, "target": W + 1})[0].answer
    claimed_step, claimed_new = seed.numbers(step)[1], seed.numbers(after)[0]
    return [Finding("Part 6: the size of one SGD step", [step_line], step.strip(), claimed_step,
                    fmt(new_w - W), printed_agrees(claimed_step, new_w - W)),
            Finding("Part 6: W after one SGD step", [after_line], after.strip(), claimed_new,
                    fmt(new_w), printed_agrees(claimed_new, new_w))]


def probabilities(seed: Seed) -> list[Finding]:
    """Part 1: softmax ratios p_i / p_j = exp(l_i − l_j) hold whatever the unlisted logits."""
    l_line, l_text = seed.find("Logits:")
    p_line, p_text = seed.find("Probabilities:")
    logits = [num(x) for x in seed.numbers(l_text)]
    probs = [x for x in seed.numbers(p_text)]
    target = 8
    p_t = num(probs[2])                     # the listed 0.6925 is p[8] (the '...' hide 2..7)
    out = []
    for i in (0, 1):
        implied = p_t * sp.exp(logits[i] - logits[target])
        shown = f"{sp.N(implied, 6)} (rounds to {round_to(sp.N(implied, 30), probs[i])})"
        out.append(Finding(f"Part 1: probability of token {i}", [l_line, p_line], p_text.strip(),
                           probs[i], shown, printed_agrees(probs[i], sp.N(implied, 30)),
                           f"with p[8] = {probs[2]}, softmax requires p[{i}] = p[8]·exp({fmt(logits[i])}"
                           f" − {fmt(logits[target])}) = {sp.N(implied, 4)}"))
    g_line, g_text = seed.find("∂loss/∂logits = [")
    claimed = [x for x in seed.numbers(g_text)][2]
    out.append(Finding("Part 1: ∂loss/∂logits[8] = p[8] − 1", [g_line], g_text.strip(), claimed,
                       fmt(p_t - 1), num(claimed) == p_t - 1))
    return out


def clipping(seed: Seed) -> list[Finding]:
    line_no, line = seed.find("Gradient clipping: `gradient = min(gradient, max_norm)`")
    p = q33_gradient_clipping.seed_params()
    key = q33_gradient_clipping.solve(p)[2].answer
    clamped = [min(x, p["max_norm"]) for x in p["g"]]
    norm = sp.sqrt(sum(x * x for x in clamped))
    return [Finding("Pathologies: the gradient-clipping formula", [line_no], line.strip(),
                    f"min(g, max_norm) = {fmt_vec(clamped)}", f"{fmt_vec(key)}", False,
                    f"on question 33's g = {fmt_vec(p['g'])} with max_norm = {fmt(p['max_norm'])}, "
                    f"min(g, max_norm) gives {fmt_vec(clamped)} of norm {sp.N(norm, 4)}, not "
                    f"{fmt(p['max_norm'])}; clipping by norm is g·min(1, max_norm/‖g‖)")]


def agreements(seed: Seed) -> list[Finding]:
    """Worked numbers that are right, checked the same way (so the list is complete)."""
    from tt.data import encode
    out = []
    t_line, t_text = seed.find("→ tokens [")
    claimed = [int(x) for x in re.search(r"tokens \[([^\]]+)\]", t_text).group(1).split(",")]
    text = re.search(r"`([^`]+)`", t_text).group(1)
    out.append(Finding("Part 5: the tokens of Max(1,6,2)", [t_line], t_text.strip(),
                       str(claimed), str(encode(text)), claimed == encode(text)))
    start, _ = seed.find("**Backward through ReLU:**")
    z_line, z_text = seed.find("z = [", start)
    g_line, g_text = seed.find("∂loss/∂ReLU = [", start)
    d_line, d_text = seed.find("∂loss/∂z = [", start)
    vec = lambda s: [num(x) for x in re.search(r"\[([^\]]+)\]", s).group(1).split(",")]
    dz = q09_relu_backward.solve({"z": vec(z_text), "upstream": vec(g_text)})[0].answer
    out.append(Finding("Part 3.2: the ReLU backward example", [d_line], d_text.strip(),
                       fmt_vec(vec(d_text)), fmt_vec(dz), list(dz) == vec(d_text)))
    q_line, _ = seed.find("probabilities = [0.12")
    p = q07_logit_gradient.seed_params()
    rounded = q07_logit_gradient.rounded_softmax(p["logits"])
    out.append(Finding("Question 7: the probabilities are softmax(logits)", [q_line],
                       seed.lines[q_line - 1].strip(), fmt_vec(p["probs"]), fmt_vec(rounded),
                       rounded == p["probs"], "rounded to two decimals"))
    u_line, u_text = seed.find("updates per epoch", seed.find("With batching")[0])
    ok = int(seed.numbers(u_text)[0]) == ceil(10_000 / 32)
    out.append(Finding("Batching: updates per epoch at batch size 32", [u_line], u_text.strip(),
                       seed.numbers(u_text)[0], str(ceil(10_000 / 32)), ok, "⌈10,000 / 32⌉"))
    return out
