"""The errata page lists the five errors of issue 13, each checked here by a computation
of the test's own (float64 simulation or the seed's text read directly), not by the
errata code's arithmetic."""
from __future__ import annotations

import re

import numpy as np
import pytest

from grader.problems.errata import SEED, run

SEED_TEXT = SEED.read_text(encoding="utf-8").split("\n")


@pytest.fixture(scope="module")
def findings():
    return {f.title: f for f in run()[0]}


def _adam_steps(grads, lr=0.001, b1=0.9, b2=0.999, eps=1e-8):
    m = v = 0.0
    steps = []
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        steps.append(lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps))
    return np.abs(steps)


def test_adam_changes_above_the_largest_possible_step(findings):
    rng = np.random.default_rng(0)
    largest = max(_adam_steps(rng.standard_normal(3000) * rng.uniform(0.01, 10)).max()
                  for _ in range(20))
    # The extremal sequence: gradients growing by b2/b1 per step, for 3000 steps.
    worst = _adam_steps((0.999 / 0.9) ** np.arange(3000), eps=0).max()
    assert largest < worst
    from grader.problems.errata_claims import adam_bound
    import sympy as sp
    formula = float(adam_bound(*(sp.Float(x, 50) for x in ("0.001", "0.9", "0.999")), 3000))
    assert abs(worst - formula) < 1e-12 * formula          # the closed form is attained
    assert worst < 0.00727 < 0.01
    emb = findings["Adam's typical change per update: Embedding parameters"]
    out = findings["Adam's typical change per update: Output weights"]
    assert not emb.agrees and not out.agrees
    assert "0.007270" in emb.exact and "exceeds the largest Adam step" in emb.why
    assert "0.005" in out.seed and "step 641" in out.why
    # Step 641 from the simulation: the worst sequence ending at t first reaches 0.005.
    first = next(t for t in range(500, 800)
                 if _adam_steps((0.999 / 0.9) ** np.arange(t), eps=0)[-1] >= 0.005)
    assert first == 641


def test_the_critical_rate_is_2_and_2_1_diverges(findings):
    f = findings["Exercise 5: the critical learning rate"]
    W, errs = 0.0, []
    for _ in range(10):
        W -= 2.1 * (W - 3)                      # loss = 0.5 (W - 3)²
        errs.append(abs(W - 3))
    assert errs[-1] > errs[0] > 3               # |1 - 2.1| = 1.1 > 1
    assert not f.agrees and "critical rate is 2;" in f.exact and "2.1 diverges" in f.exact


def test_the_wrong_probabilities_recur_on_more_lines(findings):
    f = findings["Part 1's probabilities 0.0016 and 0.0034, copied further on"]
    expected = [i + 1 for i, ln in enumerate(SEED_TEXT)
                if ("0.0016, 0.0034" in ln or "0.0016×" in ln) and "Probabilities:" not in ln]
    assert len(expected) >= 3 and f.lines == expected and not f.agrees
    logits = np.array([-2.3, -1.5, 3.7])
    p0, p1 = 0.6925 * np.exp(logits[:2] - logits[2])
    assert f"{p0:.4f}" == "0.0017" and f"{p1:.4f}" == "0.0038"
    assert "0.001717" in f.exact and "0.003820" in f.exact


def test_the_updated_element_is_row_0(findings):
    f = findings["Part 6: the element of W_output that is updated"]
    row0 = next(ln for ln in SEED_TEXT if ln.startswith("∂loss/∂W_output[0, 8] = "))
    assert row0.endswith("= -0.0719") and "0.234 ×" in row0
    assert not f.agrees and "row 0" in f.exact


def test_the_output_gradient_range_contradicts_question_5_and_0_274(findings):
    f = findings["The range of ∂loss/∂W_output"]
    table = next(ln for ln in SEED_TEXT if ln.startswith("∂loss/∂W_output   "))
    q5 = next(ln for ln in SEED_TEXT if "Compare the gradient magnitudes" in ln)
    assert "0.001 - 0.1" in table and "~0.01-0.1" in q5
    worked = [abs(float(re.search(r"= (-?[\d.]+)$", ln).group(1))) for ln in SEED_TEXT
              if ln.startswith("∂loss/∂W_output[") and ", 8] = " in ln and "×" in ln]
    assert max(worked) == 0.274 > 0.1
    assert not f.agrees and "0.274" in f.exact
