"""How long grading takes: one complete submission, and a class with `grade-all -j N`.

    python benchmarks/bench_grader.py                 # 5 rounds, a class of 8
    python benchmarks/bench_grader.py --rounds 3 --students 12 --jobs 1 2 4

Everything runs as a user would run it, `python -m tt grade ...` in a child process,
so the times include Python's start, building the student edition of tt and the
sandbox worker. The target is <= 10 s for one complete submission on a 2-core machine.

grade-all is timed for each -j in one run, the values of -j taking turns round after
round (shared machines drift), and the speed-ups are ratios of medians measured side
by side. A class is a mix of the bundled samples: complete solutions, typical bugs and
untouched stubs, in equal numbers.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = {"solutions": ROOT / "solutions", "bugs": ROOT / "grader" / "samples" / "typical_bugs",
           "stubs": ROOT / "exercises"}


def timed(cmd) -> float:
    start = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{r.stderr[-2000:]}")
    return time.perf_counter() - start


def make_class(folder: Path, n: int) -> Path:
    """n students, cycling through the samples (only their exercise files)."""
    klass = folder / "class"
    kinds = list(SAMPLES)
    for i in range(n):
        sub = klass / f"student{i:03d}-{kinds[i % 3]}"
        sub.mkdir(parents=True)
        for path in SAMPLES[kinds[i % 3]].glob("ex[0-9][0-9]_*.py"):
            shutil.copy(path, sub / path.name)
    return klass


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--students", type=int, default=8)
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args(argv)
    tt = [sys.executable, "-m", "tt"]
    work = Path(tempfile.mkdtemp(prefix="tt-bench-grader-"))
    try:
        one = {kind: [] for kind in SAMPLES}
        klass = make_class(work, args.students)
        many = {j: [] for j in args.jobs}
        for r in range(args.rounds):
            for kind, path in SAMPLES.items():
                one[kind].append(timed([*tt, "grade", str(path), "--quiet", "--out", str(work / f"one-{kind}-{r}")]))
            for j in args.jobs:
                many[j].append(timed([*tt, "grade-all", str(klass), "-j", str(j), "--out", str(work / f"all-{j}-{r}")]))
            print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
        print(f"tt grade, one submission (median of {args.rounds}, wall clock, including Python's start):")
        for kind, times in one.items():
            print(f"  {kind:<10} {statistics.median(times):6.2f} s   (min {min(times):.2f}, max {max(times):.2f})")
        worst = max(statistics.median(t) for t in one.values())
        print(f"  target <= 10 s per complete submission: {'met' if worst <= 10 else 'NOT met'} "
              f"(slowest median {worst:.2f} s)")
        base = statistics.median(many[args.jobs[0]])
        print(f"tt grade-all, a class of {args.students} (median of {args.rounds}):")
        for j, times in many.items():
            med = statistics.median(times)
            print(f"  -j {j:<3} {med:6.2f} s   {med / args.students:5.2f} s per student   "
                  f"speed-up vs -j {args.jobs[0]}: {base / med:4.2f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
