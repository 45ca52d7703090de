"""Mutation check of the hidden suites: one injected bug costs exactly the tests it affects.

Each mutant is solutions/ with ONE bug (tests/mutants/); each equivalent is solutions/ with
one function written another correct way, and must lose nothing. It is graded like a student's
submission (`tt grade`, in its own process), and the set of hidden tests it fails must
be exactly the set written next to it here, worked out by reading the bug and the
tests, not by running them. A suite that misses a bug, or a test that fails for a bug
it does not check, shows up as a difference between the two sets.

The capstone's two training checks (exercise 15) are left out for mutants of the
other exercises: whether a short training run still learns with, say, an Adam without
bias correction is an empirical fact about that run, not a property of the bug. Its
gradient check is kept: any wrong backward piece the model uses must fail it. The
capstone's own mutants are graded on everything.
"""
from __future__ import annotations

import concurrent.futures
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mutants import SOLUTIONS, WITHOUT_TRAINING, Mutant, corpus

MUTANTS, EQUIVALENTS = corpus()


def build(mutant: Mutant, folder: Path) -> Path:
    """solutions/ copied into folder/<name>/ with the mutant's one line changed."""
    sub = folder / mutant.name
    sub.mkdir(parents=True)
    for path in sorted(SOLUTIONS.glob("ex[0-9][0-9]_*.py")):
        shutil.copy(path, sub / path.name)
    target = sub / mutant.file
    text = target.read_text(encoding="utf-8")
    assert text.count(mutant.old) == 1, f"{mutant.name}: {mutant.old!r} must occur once in {mutant.file}"
    target.write_text(text.replace(mutant.old, mutant.new), encoding="utf-8")
    return sub


def grade(sub: Path, out: Path, select: str | None) -> dict:
    """`tt grade` in a child process; its results.json."""
    cmd = [sys.executable, "-m", "tt", "grade", str(sub), "--out", str(out), "--quiet"]
    if select:
        cmd += ["-k", select]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads((out / "results.json").read_text())


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Every mutant and the unchanged solutions, graded two at a time."""
    folder = tmp_path_factory.mktemp("mutants")
    jobs = {m.name: (build(m, folder / "subs"), m.select) for m in MUTANTS + EQUIVALENTS}
    clean = folder / "subs" / "clean"
    shutil.copytree(SOLUTIONS, clean, ignore=shutil.ignore_patterns("__pycache__"))
    jobs["clean"] = (clean, WITHOUT_TRAINING)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        futures = {name: pool.submit(grade, sub, folder / "out" / name, select)
                   for name, (sub, select) in jobs.items()}
        return {name: f.result() for name, f in futures.items()}


def test_mutants_are_distinct_and_cover_every_exercise():
    names = [m.name for m in MUTANTS + EQUIVALENTS]
    assert len(set(names)) == len(names)
    assert all(m.lost for m in MUTANTS) and not any(m.lost for m in EQUIVALENTS)
    covered = {m.file[:4] for m in MUTANTS}
    assert covered == {f"ex{n:02d}" for n in range(1, 16)}


def test_unchanged_solutions_lose_nothing(graded):
    results = graded["clean"]
    failed = [t["name"] for t in results["tests"] if t["status"] != "passed"]
    assert failed == [] and results["score"] == sum(t["max_score"] for t in results["tests"])


@pytest.mark.parametrize("mutant", MUTANTS + EQUIVALENTS, ids=[m.name for m in MUTANTS + EQUIVALENTS])
def test_mutant_loses_exactly_its_tests(graded, mutant):
    results = graded[mutant.name]
    tests = {t["name"]: t for t in results["tests"]}
    assert mutant.lost <= set(tests), f"unknown test names: {sorted(mutant.lost - set(tests))}"
    failed = {name for name, t in tests.items() if t["status"] != "passed"}
    assert failed == mutant.lost, (f"missed: {sorted(mutant.lost - failed)}; "
                                   f"failed but not affected: {sorted(failed - mutant.lost)}")
    top = sum(t["max_score"] for t in tests.values())
    assert results["score"] == top - sum(tests[name]["max_score"] for name in mutant.lost)
    if mutant.diagnosis:
        first = next(t for name, t in tests.items() if name in mutant.lost)
        assert mutant.diagnosis in first["output"], first["output"]
