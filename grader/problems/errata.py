"""`tt problems errata`: check the seed's own worked numbers against exact answers.

Nothing here is typed in from the seed. Each check finds its passage in the committed
copy (docs/seed/stage10_backpropagation.md) by a short quote, reads the seed's numbers
from that line with a regular expression, and recomputes the value exactly, with the
problem bank's own `solve` functions where a problem covers it. If the seed changes and
a quote is no longer there, the check fails loudly instead of reporting stale numbers.

When does a seed value agree?
    a number printed with d decimals:   it is a correct rounding of the exact value to d
                                        decimals, i.e. within half a unit of its last
                                        decimal: |printed - exact| <= 0.5·10^-d. At an
                                        exact tie both neighbours are correct roundings
                                        (half-up, half-down and half-even all exist), so
                                        a value is an erratum only when no rounding rule
                                        gives the printed number. 0.071955 to 4 decimals:
                                        0.0720 (0.45 units away) agrees, 0.0719 (0.55
                                        units away) does not; 0.00125 agrees with both
                                        0.0012 and 0.0013.
    a value marked "~" (approximate):   within APPROX = 10% of the exact value
Memory uses decimal units as the seed does: 1 KB = 1,000 bytes, 1 MB = 1,000,000 bytes.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from math import ceil
from pathlib import Path

import sympy as sp

from grader.problems import (model_facts, q07_logit_gradient, q08_output_column,
                             q09_relu_backward, q12_numerical_gradient, q18_sgd_steps,
                             q33_gradient_clipping)
from grader.problems.core import R, fmt, fmt_vec

REPO = Path(__file__).resolve().parents[2]
SEED = REPO / "docs" / "seed" / "stage10_backpropagation.md"
ERRATA = REPO / "docs" / "errata.md"
APPROX = sp.Rational(1, 10)
NUMBER = r"-?\d[\d,]*(?:\.\d+)?(?:e-?\d+)?"


@dataclass
class Finding:
    title: str
    lines: list[int]
    quote: str
    seed: str
    exact: str
    agrees: bool
    why: str = ""


class Seed:
    """The seed text, with lookups that fail loudly when a passage has moved."""

    def __init__(self, path: Path):
        self.path = path
        self.text = path.read_text(encoding="utf-8")
        self.lines = self.text.split("\n")

    def find(self, needle: str, after: int = 0) -> tuple[int, str]:
        """(line number, line) of the first line at or after `after` containing needle."""
        for i in range(max(after - 1, 0), len(self.lines)):
            if needle in self.lines[i]:
                return i + 1, self.lines[i]
        raise LookupError(f"{self.path}: the passage {needle!r} is not in the seed any more")

    def find_all(self, needle: str) -> list[int]:
        return [i + 1 for i, line in enumerate(self.lines) if needle in line]

    def numbers(self, line: str) -> list[str]:
        return re.findall(NUMBER, line)


def num(text: str) -> sp.Rational:
    return R(text.replace(",", ""))


def places_of(printed: str) -> int:
    return len(printed.split(".")[1]) if "." in printed else 0


def ulps_away(printed: str, exact):
    """|printed - exact| in units of the printed number's last decimal."""
    return abs(num(printed) - exact) * 10 ** places_of(printed)


def printed_agrees(printed: str, exact) -> bool:
    """The printed number is a correct rounding of `exact` to its own number of decimals:
    at most half a unit of its last decimal away (so at an exact tie, both neighbours)."""
    return bool(2 * ulps_away(printed, exact) <= 1)


def approx_agrees(claimed, exact) -> bool:
    return abs(claimed - exact) <= APPROX * abs(exact)


def thousands(n) -> str:
    return f"{int(n):,}"


def sci(x, digits: int = 4) -> str:
    """4.825 × 10^12: mantissa and exponent from exact integer arithmetic."""
    x = sp.Rational(x)
    exp = len(str(abs(int(x)))) - 1 if abs(x) >= 1 else 0
    mantissa = sp.N(x / sp.Integer(10) ** exp, digits)
    return f"{mantissa} × 10^{exp}"


# ------------------------------------------------------------------------- the checks
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


def round_to(exact, printed: str) -> str:
    """The nearest number with as many decimals as `printed` (for the text; at a tie, the
    one away from zero, though printed_agrees accepts both)."""
    places = places_of(printed)
    units = str(int(sp.floor(abs(exact) * 10**places + sp.Rational(1, 2)))).rjust(places + 1, "0")
    text = units[:-places] + "." + units[-places:] if places else units
    return ("-" if exact < 0 else "") + text


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


def parameter_count(seed: Seed, facts: dict) -> list[Finding]:
    lines = seed.find_all("102,016")
    quote = seed.lines[lines[0] - 1].strip()
    exact = facts["n_params"]
    return [Finding("The number of parameters", lines, quote[:90] + "…", "102,016",
                    thousands(exact), exact == 102016,
                    f"V·C + 2·(4C² + 4C + 2CF + F + C) + C·V + V = {thousands(exact)} "
                    f"(tt.config.n_params); the seed's count is {thousands(exact - 102016)} "
                    "short: the 20 output biases b_out")]


def flops(seed: Seed, cfg) -> list[Finding]:
    """"Computational Cost": the forward FLOPs and everything derived from them."""
    mm = model_facts.matmuls(cfg)
    cost = {what: 2 * m * k * n * count for what, m, k, n, count in mm}
    total = sum(cost.values())
    per_block = {what: c // cfg.n_blocks for what, c in cost.items() if "last position" not in what}
    att_line, att = seed.find("Attention (per head):")
    ffn_line, ffn = seed.find("FFN:", att_line)
    out_line, outp = seed.find("Output:", att_line)
    tot_line, tot = seed.find("Total per example:", att_line)
    seed_att, seed_ffn = num(seed.numbers(att)[-1]), num(seed.numbers(ffn)[-1])
    seed_out, seed_total = num(seed.numbers(outp)[-1]), num(seed.numbers(tot)[0])
    missing = ["Q, K, V projections", "output projection W_o", "attention @ V per head",
               "FFN second matmul"]
    left_out = ", ".join(f"{w} ({thousands(per_block[w])})" for w in missing)
    findings = [
        Finding("Forward FLOPs: attention", [att_line], att.strip(), thousands(seed_att),
                thousands(per_block["scores Q@Kᵀ per head"]),
                seed_att == per_block["scores Q@Kᵀ per head"],
                "the arithmetic is right, but it is only the scores Q@Kᵀ of one block"),
        Finding("Forward FLOPs: FFN", [ffn_line], ffn.strip(), thousands(seed_ffn),
                thousands(per_block["FFN first matmul"]),
                seed_ffn == per_block["FFN first matmul"],
                "the arithmetic is right, but it is only the first of the FFN's two matmuls"),
        Finding("Forward FLOPs: output projection", [out_line], outp.strip(), thousands(seed_out),
                thousands(cost["output projection, last position"]),
                seed_out == cost["output projection, last position"],
                "only the last position feeds the output (2·C·V = 2·64·20); the seed counts "
                "all 8 positions and drops the factor 2 it uses on the other lines"),
        Finding("Forward FLOPs per example: total", [tot_line], tot.strip(),
                "~" + thousands(seed_total), thousands(total), approx_agrees(seed_total, total),
                f"the count leaves out, per block: {left_out}; and it counts one of the "
                f"{cfg.n_blocks} blocks. All matmuls: L·(8TC² + 4T²C + 4TCF) + 2CV = "
                f"{thousands(total)}")]
    bwd_line, bwd = seed.find("Approximately 2× forward pass")
    seed_bwd = num(seed.numbers(bwd)[-1])
    findings.append(Finding("Backward FLOPs (2× forward)", [bwd_line], bwd.strip(),
                            "~" + thousands(seed_bwd), thousands(2 * total),
                            approx_agrees(seed_bwd, 2 * total), "follows from the forward count"))
    train_line, train = seed.find("FLOPs × 100 × 10,000 =")
    m = re.search(r"= (\d+) × 10([⁰¹²³⁴⁵⁶⁷⁸⁹]+)", train)
    sup = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")
    seed_train = int(m.group(1)) * 10 ** int(m.group(2).translate(sup))
    epochs, examples = 100, 10_000
    exact_train = 3 * total * epochs * examples
    findings.append(Finding("Training FLOPs (100 epochs × 10,000 examples, forward + backward)",
                            [train_line], train.strip(), f"{m.group(1)} × 10^{m.group(2).translate(sup)}",
                            sci(exact_train), approx_agrees(seed_train, exact_train),
                            f"3 × {thousands(total)} × {epochs} × {thousands(examples)}"))
    for label, rate in (("CPU (~100 GFLOPS)", 10**11), ("GPU (~10 TFLOPS)", 10**13)):
        line_no, line = seed.find(f"On a modern {label.split()[0]}")
        claimed = num(re.findall(NUMBER, line.split(":")[1])[0])
        exact = sp.Rational(exact_train, rate)
        findings.append(Finding(f"Training time on a {label}", [line_no], line.strip(),
                                f"~{fmt(claimed)} s", f"{sp.N(exact, 3)} s",
                                approx_agrees(claimed, exact), "follows from the training FLOPs"))
    return findings


def memory(seed: Seed) -> list[Finding]:
    """"Memory Efficiency", at the seed's float32 (4 bytes) and batch sizes 1 and 32."""
    one = model_facts.facts({**model_facts.seed_params(), "B": 1})
    b32 = model_facts.facts({**model_facts.seed_params(), "B": 32})
    kb = 1000
    act_line, act = seed.find("Total: ~20 KB per training example")
    desc_line, _ = seed.find("~8 tensors of size")
    cfg = model_facts.seed_params()["cfg"]
    seed_desc = 8 * cfg.T * cfg.C + cfg.T * cfg.T * cfg.H
    out = [Finding("Activation memory per example", [act_line], act.strip(), "~20 KB",
                   f"{thousands(one['activation_bytes'])} bytes",
                   approx_agrees(20 * kb, one["activation_bytes"]),
                   f"the seed's own list (line {desc_line}: 8 tensors of 8×64 and 8×8×4 "
                   f"attention weights) is {thousands(seed_desc)} numbers = "
                   f"{thousands(4 * seed_desc)} bytes, consistent with its 20 KB, but it leaves "
                   f"out the FFN activations (2 × 8×256 per block, the largest), Q, K, V and "
                   f"the LayerNorm caches, and counts one block; model_facts lists every "
                   f"stored tensor")]
    for needle, key, claimed in (("Gradients (temporary):", "grad_bytes", 400 * kb),
                                 ("Parameters (persistent):", "param_bytes", 400 * kb),
                                 ("Optimizer state (Adam):", "adam_bytes", 800 * kb)):
        line_no, line = seed.find(needle)
        out.append(Finding(f"Memory: {needle.rstrip(':')}", [line_no], line.strip(),
                           f"~{claimed // kb} KB", f"{thousands(one[key])} bytes",
                           approx_agrees(claimed, one[key])))
    tot_line, tot = seed.find("~1.6 MB (for batch_size=1)")
    out.append(Finding("Memory: total at batch size 1", [tot_line], tot.strip(), "~1.6 MB",
                       f"{thousands(one['total_bytes'])} bytes",
                       approx_agrees(1_600_000, one["total_bytes"])))
    b_line, b = seed.find("For batch_size=32:")
    out.append(Finding("Memory: total at batch size 32", [b_line], b.strip(), "~2.2 MB",
                       f"{thousands(b32['total_bytes'])} bytes",
                       approx_agrees(2_200_000, b32["total_bytes"]),
                       f"32 examples of {thousands(one['activation_bytes'])} bytes of "
                       f"activations, plus {thousands(4 * one['param_bytes'])} bytes for "
                       "parameters, gradients and Adam's two moments"))
    return out


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


def run(seed_path: Path = SEED) -> tuple[list[Finding], list[str], list[str], Seed]:
    seed = Seed(seed_path)
    cfg = model_facts.seed_params()["cfg"]
    facts = model_facts.facts(model_facts.seed_params())
    findings = (probabilities(seed) + output_column(seed) + sgd_update(seed)
                + gradient_check(seed) + clipping(seed) + parameter_count(seed, facts)
                + memory(seed) + flops(seed, cfg) + agreements(seed))
    notes = well_posedness(seed)
    tt_notes = tt_differences(seed)
    return findings, notes, tt_notes, seed


def well_posedness(seed: Seed) -> list[str]:
    """Run question 9's generator check on the seed's own numbers."""
    line_no, _ = seed.find("Forward: z = [-1.5")
    params = {**q09_relu_backward.seed_params(), "zero_convention": False}
    reasons = q09_relu_backward.check(params)
    return [f"Question 9 (line {line_no}): {r.replace(chr(39), '')}. ReLU has no derivative at 0; the seed's own "
            "convention (Part 3.2: 0 for z ≤ 0) gives 0, and variant 0 states it. Generated "
            "variants keep every input at least 0.1 away from 0." for r in reasons]


def tt_differences(seed: Seed) -> list[str]:
    from tt.data import all_examples
    n = len(all_examples())
    lines = seed.find_all("10,000")
    if n == 10_000:
        return []
    return [f"Lines {', '.join(map(str, lines))} speak of 10,000 training examples; the task "
            f"in tt.data has {thousands(n)} distinct examples (5 operations × 1,000 digit "
            "triples), so an epoch at batch size 32 is "
            f"{ceil(n / 32)} updates there, not {ceil(10_000 / 32)}."]


def render(findings, notes, tt_notes, seed: Seed) -> str:
    digest = hashlib.sha256(seed.text.encode("utf-8")).hexdigest()[:16]
    wrong = [f for f in findings if not f.agrees]
    right = [f for f in findings if f.agrees]
    rel = seed.path.relative_to(REPO) if seed.path.is_relative_to(REPO) else seed.path
    out = ["# Errata: Stage 10, Backpropagation", "",
           f"Generated by `tt problems errata` from `{rel}` (sha256 {digest}…).",
           "Do not edit by hand: run `tt problems errata` to regenerate it.", "",
           "Each entry quotes the seed's line, reads the seed's numbers from it, and recomputes",
           "the value exactly with sympy (using the problem bank's own solvers where a problem",
           "covers the passage). A printed number agrees when it is a correct rounding of the",
           "exact value at its own number of decimals: at most half a unit of its last decimal",
           "away, so at an exact tie both neighbours agree, whatever the rounding rule. A value",
           "is an erratum only when no rounding rule gives the printed number. A value marked",
           "`~` agrees when it is within 10%.",
           "Memory is in decimal units (1 KB = 1,000 bytes), float32 as in the seed.", "",
           f"**{len(wrong)} disagreements**, {len(right)} checked values that agree.", "",
           "## Disagreements", ""]
    for n, f in enumerate(wrong, start=1):
        where = ", ".join(str(x) for x in f.lines)
        out += [f"### E{n}. {f.title} (line{'s' if len(f.lines) > 1 else ''} {where})", "",
                f"> `{f.quote}`", "", f"- seed: {f.seed}", f"- exact: {f.exact}"]
        if f.why:
            out.append(f"- why: {f.why}")
        out.append("")
    out += ["## Notes on well-posedness", ""] + [f"- {n}" for n in notes] + [""]
    out += ["## Differences from the tt implementation", ""] + [f"- {n}" for n in tt_notes] + [""]
    out += ["## Checked and agreed", "", "| line | passage | seed | exact | note |",
            "|---|---|---|---|---|"]
    for f in right:
        cell = lambda s: s.replace("|", "\\|")
        out.append(f"| {', '.join(map(str, f.lines))} | {cell(f.title)} | {cell(f.seed)} | "
                   f"{cell(f.exact)} | {cell(f.why)} |")
    return "\n".join(out) + "\n"


def errata_text(seed_path: Path = SEED) -> str:
    return render(*run(seed_path))
