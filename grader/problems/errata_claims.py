"""Errata checks of the seed's claims about sizes and rates: Adam's typical changes, the
critical learning rate of Exercise 5, where Part 1's wrong probabilities recur, which
element of W_output Part 6 updates, and the range given for ∂loss/∂W_output.

Every number is read from the seed by its passage and recomputed; nothing is typed in.
"""
from __future__ import annotations

import re

import sympy as sp

from grader.problems import ex5_learning_rate
from grader.problems.core import fmt
from grader.problems.errata_seed import NUMBER, Finding, Seed, num


def adam_bound(alpha, beta1, beta2, t=None):
    """The largest |W step| Adam can take at step t (ε → 0), over every gradient sequence.

    m_t = Σ a_k g_(t−k) with a_k = (1−β₁)β₁ᵏ and v_t = Σ b_k g_(t−k)² with b_k = (1−β₂)β₂ᵏ,
    k = 0..t−1. By Cauchy–Schwarz |m_t| ≤ √(Σ a_k²/b_k) · √v_t, with equality for
    g_(t−k) ∝ a_k/b_k, so the largest |m̂/√v̂| is √(Σ a_k²/b_k) · √(1−β₂ᵗ)/(1−β₁ᵗ), and
    Σ a_k²/b_k = (1−β₁)²/(1−β₂) · (1 − rᵗ)/(1 − r) with r = β₁²/β₂ < 1. t = None gives
    the supremum over all t (the limit t → ∞)."""
    r = beta1**2 / beta2
    scale = alpha * (1 - beta1) / sp.sqrt(1 - beta2)
    if t is None:
        return scale / sp.sqrt(1 - r)
    return scale * sp.sqrt((1 - r**t) / (1 - r)) * sp.sqrt(1 - beta2**t) / (1 - beta1**t)


def first_step_reaching(value, alpha, beta1, beta2, limit=100_000):
    """The first t at which adam_bound(t) reaches value (it grows with t), or None.
    Evaluated with 50-digit floats: the exact βᵗ of a large t has a huge denominator."""
    alpha, beta1, beta2 = (sp.Float(x, 50) for x in (alpha, beta1, beta2))
    lo, hi = 1, limit
    if adam_bound(alpha, beta1, beta2, hi) < value:
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if adam_bound(alpha, beta1, beta2, mid) >= value:
            hi = mid
        else:
            lo = mid + 1
    return lo


def adam_changes(seed: Seed) -> list[Finding]:
    start, _ = seed.find("### Adam Optimizer")
    a_line, a_text = seed.find("α = learning rate", start)
    b1_line, b1_text = seed.find("β₁ = momentum decay", start)
    b2_line, b2_text = seed.find("β₂ = squared gradient decay", start)
    alpha = num(re.search(rf"typically ({NUMBER})", a_text).group(1))
    beta1 = num(re.search(rf"typically ({NUMBER})", b1_text).group(1))
    beta2 = num(re.search(rf"typically ({NUMBER})", b2_text).group(1))
    sup = adam_bound(alpha, beta1, beta2)
    kingma = alpha * (1 - beta1) / sp.sqrt(1 - beta2)
    out = []
    for label in ("Embedding parameters:", "Output weights:"):
        line_no, line = seed.find(label, start)
        top = num(seed.numbers(line)[-1])
        t = first_step_reaching(top, alpha, beta1, beta2)
        if top > sup:
            how = (f"no gradient sequence can give it: the largest step Adam can take at "
                   f"α = {fmt(alpha)}, β₁ = {fmt(beta1)}, β₂ = {fmt(beta2)} is "
                   f"α(1−β₁)/√((1−β₂)(1 − β₁²/β₂)) = {sp.N(sup, 4)}")
        else:
            how = (f"for a steady gradient Adam's step is α = {fmt(alpha)} exactly (m̂ = g, "
                   f"v̂ = g²), and Kingma and Ba's bound α(1−β₁)/√(1−β₂) = {sp.N(kingma, 4)} "
                   f"is below it; the largest step possible at all, {sp.N(sup, 4)}, needs "
                   f"gradients that grow by β₂/β₁ = {sp.N(beta2 / beta1, 4)} every step, "
                   f"and reaches {fmt(top)} only from step {t} on")
        out.append(Finding(f"Adam's typical change per update: {label.rstrip(':')}",
                           [line_no, a_line], line.strip(), f"up to {fmt(top)}",
                           f"at most {sp.N(sup, 4)} (any gradients); {fmt(alpha)} for a "
                           "steady gradient", False,
                           (f"{fmt(top)} exceeds the largest Adam step: {how}" if top > sup
                            else f"{fmt(top)} is no typical change: {how}")))
    return out


def critical_rate(seed: Seed) -> list[Finding]:
    start, _ = seed.find("### Exercise 5: Learning Rate Experiment")
    loss_line, loss = seed.find("loss = ", start)
    m = re.search(rf"loss = ({NUMBER}) × \(W - ({NUMBER})\)²", loss)
    h = 2 * num(m.group(1))
    line_no, line = seed.find("(critical!)", start)
    lr = num(seed.numbers(line)[0])
    crit = ex5_learning_rate.critical({"h": h})
    behaviour = ex5_learning_rate.classify(lr, h)
    return [Finding("Exercise 5: the critical learning rate", [line_no, loss_line], line.strip(),
                    f"{fmt(lr)} is critical", f"the critical rate is {fmt(crit)}; "
                    f"{fmt(lr)} {behaviour}", lr == crit,
                    f"loss = {m.group(1)}(W − {m.group(2)})² has curvature h = {fmt(h)}, so "
                    f"W − c is multiplied by 1 − lr·h each step: |1 − lr·h| = 1 at lr = 2/h "
                    f"= {fmt(crit)}, and at lr = {fmt(lr)}, |1 − {fmt(lr)}·{fmt(h)}| = "
                    f"{fmt(abs(1 - lr * h))} > 1: the run already diverges")]


def recurring_probabilities(seed: Seed) -> list[Finding]:
    """Part 1's 0.0016 and 0.0034 (which should be 0.0017 and 0.0038) are copied into
    ∂loss/∂logits and ∂loss/∂b_output further on."""
    p_line, p_text = seed.find("Probabilities:")
    l_line, l_text = seed.find("Logits:")
    logits = [num(x) for x in seed.numbers(l_text)]
    probs = seed.numbers(p_text)
    p_t = num(probs[2])
    needle = f"[{probs[0]}, {probs[1]},"
    lines = sorted({n for n in seed.find_all(needle) + seed.find_all(f"{probs[0]}×")
                    if n != p_line})
    implied = [sp.N(p_t * sp.exp(logits[i] - logits[8]), 4) for i in (0, 1)]
    return [Finding("Part 1's probabilities 0.0016 and 0.0034, copied further on", lines,
                    seed.lines[lines[0] - 1].strip(), f"{probs[0]}, {probs[1]}",
                    f"{implied[0]}, {implied[1]}", False,
                    f"∂loss/∂logits = p − one_hot is p[i] for i ≠ 8, so the lines that give or "
                    f"use ∂loss/∂logits and ∂loss/∂b_output ({', '.join(map(str, lines))}) "
                    f"repeat Part 1's wrong values; with p[8] = "
                    f"{probs[2]}, p[i] = p[8]·exp(logit_i − logit_8) gives {implied[0]} and "
                    f"{implied[1]}")]


def updated_element(seed: Seed) -> list[Finding]:
    """Part 6 updates 'W_output[10, 8] = 0.234' with the gradient −0.0719 of row 0."""
    r_line, r_text = seed.find("final_repr[0:5] = [")
    first = seed.numbers(r_text.split("=")[1])[0]
    g_line, g_text = seed.find("∂loss/∂W_output[0, 8] = ")
    g0 = seed.numbers(g_text.split("=")[-1])[0]
    start, _ = seed.find("### Simple Gradient Descent")
    w_line, w_text = seed.find("W_output[10, 8] = ", start)
    gw_line, gw_text = seed.find("∂loss/∂W_output[10, 8] = ", start)
    W = seed.numbers(w_text.split("=")[1])[0]
    g = seed.numbers(gw_text.split("=")[1])[0]
    same = num(W) == num(first) and num(g) == num(g0)
    return [Finding("Part 6: the element of W_output that is updated", [w_line, gw_line],
                    w_text.strip(), f"W_output[10, 8] = {W}, gradient {g}",
                    f"row 0: ∂loss/∂W_output[0, 8] = {g0}", not same,
                    f"∂loss/∂W_output[i, 8] = final_repr[i]·∂loss/∂logits[8], and line "
                    f"{g_line} computes {g0} for i = 0 from final_repr[0] = {first} (line "
                    f"{r_line}); the seed then takes that gradient, and final_repr[0]'s value "
                    f"{W} as the weight, for row 10, whose final_repr[10] it never gives")]


def output_gradient_range(seed: Seed) -> list[Finding]:
    t_line, t_text = seed.find("∂loss/∂W_output               |")
    lo, hi = (num(x) for x in seed.numbers(t_text.split("|")[1]))
    q_line, q_text = seed.find("Compare the gradient magnitudes at different stages")
    m = re.search(rf"∂loss/∂W_output \(~({NUMBER})-({NUMBER})\)", q_text)
    q_lo, q_hi = num(m.group(1)), num(m.group(2))
    worked = []
    for i in range(5):
        line_no, line = seed.find(f"∂loss/∂W_output[{i}, 8] = ")
        worked.append((abs(num(seed.numbers(line.split("=")[-1])[0])), line_no))
    biggest, b_line = max(worked)
    agrees = (lo, hi) == (q_lo, q_hi) and lo <= biggest <= hi
    return [Finding("The range of ∂loss/∂W_output", [t_line, q_line, b_line], t_text.strip(),
                    f"{fmt(lo)} – {fmt(hi)}", f"question 5 says {fmt(q_lo)} – {fmt(q_hi)}; "
                    f"the worked example has {fmt(biggest)}", agrees,
                    f"the table (line {t_line}) and question 5 (line {q_line}) give different "
                    f"lower ends, {fmt(lo)} and {fmt(q_lo)}, and the seed's own Part 2 "
                    f"computes |∂loss/∂W_output[2, 8]| = {fmt(biggest)} (line {b_line}), "
                    f"above both upper ends of {fmt(hi)}")]


def claims(seed: Seed) -> list[Finding]:
    return (recurring_probabilities(seed) + updated_element(seed) + adam_changes(seed)
            + output_gradient_range(seed) + critical_rate(seed))
