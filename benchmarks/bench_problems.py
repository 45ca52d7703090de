"""How long `tt problems generate` and `tt problems grade` take for a class of 500
(issues 5 and 13: each well under 60 s).

    python benchmarks/bench_problems.py [--students 500] [--runs 3] [--jobs N] [--no-grade]

Grading: every student's answers file filled from their own key (the free-text parts
with a sentence), graded from scratch (--force) in each run.

Each run builds a fresh roster of synthetic students in a temporary folder and times
the whole generation: every student's exact, twice-derived answers, the four files per
student, and the key (JSON and CSV). Runs start from a fresh process pool, so each pays
its own warm-up. Prints every run and the median.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

from grader.problems.generate import generate
from grader.problems.roster import Student

LIMIT_S = 60.0


def cpu_seconds() -> float:
    """User + system time of this process and of its finished worker processes."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def fill_answers(out: Path, answers: Path) -> None:
    """Every student's answers file, filled in from their own key."""
    import json
    key = json.loads((out / "key" / "answer_key.json").read_text(encoding="utf-8"))
    answers.mkdir()
    for s in key["students"]:
        sid = s["student_id"]
        lines = [f"student_id = {sid}", f"variant = {s['variant']}"]
        for prob in s["problems"]:
            for part in prob["parts"]:
                value = ("the gradient flows backward by the chain rule" if part["kind"] == "text"
                         else part["answer"])
                lines.append(f"{part['answer_key']} = {value}")
        (answers / f"{sid}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def one_run(n: int, jobs: int | None, grading: bool = True) -> tuple[float, float, float, float]:
    """(wall, CPU) seconds of generating n students' sets and the key, then (wall, CPU)
    of grading their n answers files (0, 0 without grading)."""
    from grader.problems.grading import grade
    students = [Student(f"s{i:04d}", f"Student {i}") for i in range(n)]
    with tempfile.TemporaryDirectory() as tmp:
        cpu0, start = cpu_seconds(), time.perf_counter()
        summary = generate(students, "benchmark-secret", "stage10", Path(tmp) / "out",
                           jobs=jobs, show_progress=False)
        elapsed, cpu = time.perf_counter() - start, cpu_seconds() - cpu0
        assert summary.written == n, summary
        if not grading:
            return elapsed, cpu, 0.0, 0.0
        fill_answers(Path(tmp) / "out", Path(tmp) / "answers")
        cpu0, start = cpu_seconds(), time.perf_counter()
        graded = grade(Path(tmp) / "answers", students, "benchmark-secret", "stage10",
                       Path(tmp) / "grades", show_progress=False, jobs=jobs, force=True)
        g_wall, g_cpu = time.perf_counter() - start, cpu_seconds() - cpu0
        assert sum(o.status == "graded" for o in graded.outcomes) == n, graded.errors[:3]
    return elapsed, cpu, g_wall, g_cpu


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--students", type=int, default=500)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--jobs", type=int, default=None, help="default: all CPUs")
    p.add_argument("--no-grade", action="store_true", help="time generation only")
    args = p.parse_args(argv)
    times, grading = [], []
    for r in range(args.runs):
        wall, cpu, g_wall, g_cpu = one_run(args.students, args.jobs, not args.no_grade)
        times.append(wall)
        grading.append(g_wall)
        print(f"run {r + 1}: generate {args.students} students in {wall:.1f} s wall, {cpu:.1f} s CPU"
              + ("" if args.no_grade else
                 f"; grade {args.students} answers files in {g_wall:.1f} s wall, {g_cpu:.1f} s CPU"))
    ok = True
    for what, values in (("generate", times), ("grade", grading)):
        if what == "grade" and args.no_grade:
            continue
        median = statistics.median(values)
        ok &= median <= LIMIT_S
        print(f"{what}: median of {len(values)}: {median:.1f} s for {args.students} students "
              f"({os.cpu_count()} CPUs, jobs={args.jobs or os.cpu_count()}); "
              f"{'within' if median <= LIMIT_S else 'OVER'} the {LIMIT_S:.0f} s budget")
    # Wall time depends on what else the machine runs; CPU time / CPUs does not.
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
