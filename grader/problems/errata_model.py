"""Errata checks of the seed's model arithmetic: the parameter count, FLOPs and memory."""
from __future__ import annotations

import re

import sympy as sp

from grader.problems import model_facts
from grader.problems.core import fmt
from grader.problems.errata_seed import (NUMBER, Finding, Seed, approx_agrees, num, sci,
                                         thousands)


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
