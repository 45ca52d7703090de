"""How long `tt problems generate` takes for a class of 500 (issue 5: at most 60 s).

    python benchmarks/bench_problems.py [--students 500] [--runs 3] [--jobs N]

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


def one_run(n: int, jobs: int | None) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of generating n students' sets and the key."""
    students = [Student(f"s{i:04d}", f"Student {i}") for i in range(n)]
    with tempfile.TemporaryDirectory() as tmp:
        cpu0, start = cpu_seconds(), time.perf_counter()
        summary = generate(students, "benchmark-secret", "stage10", Path(tmp) / "out",
                           jobs=jobs, show_progress=False)
        elapsed, cpu = time.perf_counter() - start, cpu_seconds() - cpu0
        assert summary.written == n, summary
    return elapsed, cpu


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--students", type=int, default=500)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--jobs", type=int, default=None, help="default: all CPUs")
    args = p.parse_args(argv)
    times = []
    for r in range(args.runs):
        wall, cpu = one_run(args.students, args.jobs)
        times.append(wall)
        print(f"run {r + 1}: {args.students} students in {wall:.1f} s wall, {cpu:.1f} s CPU")
    median = statistics.median(times)
    verdict = "within" if median <= LIMIT_S else "OVER"
    print(f"median of {len(times)}: {median:.1f} s for {args.students} students "
          f"({os.cpu_count()} CPUs, jobs={args.jobs or os.cpu_count()}); "
          f"{verdict} the {LIMIT_S:.0f} s budget")
    # Wall time depends on what else the machine runs; CPU time / CPUs does not.
    return 0 if median <= LIMIT_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
