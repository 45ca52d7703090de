"""Correct work gets full marks whatever the student id (issue 11 point 2).

The reference solutions are graded in-process (grader/sweep.py) under 320 student ids
for exercises 1-8 and 320 other ids for 9-15 (without exercise 15's training runs, which
draw from --seed, not from the id): a check that failed correct code for 1% of ids would
fail here with probability 1 - 0.99**320 = 96%. Then a few ids go through `tt grade`, the
sandboxed path, so the sweep's inputs are the ones a real grading draws.
benchmarks/bench_seed_sweep.py runs the large sweep (2,000 ids, every exercise).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from grader import sweep

ROOT = Path(__file__).resolve().parents[1]
EX1_8 = " or ".join(f"ex0{n}" for n in range(1, 9))      # pytest -k: the suites' file names


def _report(failures):
    return "; ".join(f"{test}: {len(rows)} ids, e.g. {rows[0][0]}: {rows[0][1][:200]}"
                     for test, rows in sorted(failures.items()))


def test_exercises_1_to_8_over_320_ids():
    failures, ran = sweep.sweep(sweep.ids(320), select=EX1_8)
    assert ran >= 320 * 40, ran                 # every drawn test of 1-8, once per id
    assert not failures, _report(failures)


def test_exercises_9_to_15_over_320_ids():
    failures, ran = sweep.sweep(sweep.ids(320, start=5001), select=f"not ({EX1_8}) and not ({sweep.SLOW})")
    assert ran >= 320 * 40, ran
    assert not failures, _report(failures)


def test_the_sweep_sees_a_failure():
    """A sweep of a broken solution reports it, per test and id (the sweep can fail)."""
    import numpy as np
    modules = sweep.solution_modules()
    module = modules["ex08_embedding"]
    right = module.embedding_backward

    def wrong(dout, cache):              # a repeated token's last write wins
        dE = np.zeros_like(cache.E, dtype=dout.dtype)
        dE[cache.tokens.reshape(-1)] += dout.reshape(-1, dE.shape[1])
        return dE
    module.embedding_backward = wrong
    try:
        failures, _ = sweep.sweep(sweep.ids(3), select="ex08 and test_random_batch_with_repeats")
    finally:
        module.embedding_backward = right
    assert {sid for sid, _ in failures["ex08 test_random_batch_with_repeats"]} == set(sweep.ids(3))


@pytest.mark.parametrize("student", ["student0007", "student0123", "student0311"])
def test_sandboxed_ids_get_full_marks(tmp_path, student):
    """The same ids through `tt grade` (the sandbox): full marks, exercises 1-8."""
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "tt", "grade", str(ROOT / "solutions"), "--student", student,
                        "--out", str(out), "--quiet", "-k", EX1_8],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    results = json.loads((out / "results.json").read_text())
    assert results["tests"] and all(t["status"] == "passed" for t in results["tests"]), results["tests"]
    assert results["score"] == sum(t["max_score"] for t in results["tests"])
