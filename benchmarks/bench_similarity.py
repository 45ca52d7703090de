"""How long `tt similarity` takes on a class of 500 (issue 14: "reasonable time on 2 cores").

    python benchmarks/bench_similarity.py [--students 500] [--rounds 3] [--brute 60]

A synthetic class, written to a temporary folder as tt grade-all would find it: each
student's exercise files are the release's stubs with code of their own in every function
body. That code is built from the reference solutions' lines, each line kept with
probability 1/2 and otherwise replaced by a line drawn from all the solutions (so files
share short passages at random, as honest work does), and one student in 20 hands in a copy
of another's files with names changed. Timed as a user runs it (find_similar: reading,
fingerprinting, comparing), medians of rounds that alternate -j 1 and -j 2.

Side by side, on the first --brute students: comparing every pair of files with
copydetect.compare_files, as copydetect's own CopyDetector does, against the candidate
pairs that share an uncommon fingerprint (grader.similarity.detect), fingerprints made once.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def build_class(folder: Path, n: int, seed: int = 0) -> int:
    from grader.similarity.sources import own_code, shared_lines, boilerplate
    rng = random.Random(seed)
    given = boilerplate()
    names = sorted(given)
    pool = []
    bodies = {}
    for name in names:
        text = (ROOT / "solutions" / name).read_text(encoding="utf-8")
        own = [line for line in own_code(text, shared_lines(given[name])).splitlines() if line.strip()]
        pool += [line.strip() for line in own]
        bodies[name] = own
    copies = 0
    for i in range(n):
        sid = f"s{i:04d}"
        out = folder / sid
        out.mkdir(parents=True)
        if i >= 20 and i % 20 == 0:              # a copy of an earlier student, names changed
            source = folder / f"s{rng.randrange(i):04d}"
            for p in source.iterdir():
                (out / p.name).write_text(re.sub(r"\bgrad\b|\bdx\b", "g_new", p.read_text()))
            copies += 1
            continue
        for name in names:
            stub = given[name][0]
            lines = []
            for line in bodies[name]:
                indent = line[:len(line) - len(line.lstrip())]
                lines.append(line if rng.random() < 0.5 else indent + rng.choice(pool))
            # the student's code goes where the stub's first raise was; the stub stays around it
            code = "\n".join("    " + ln.strip() for ln in lines)
            text = re.sub(r'    raise NotImplementedError\("Exercise \d+: \w+"\)', lambda m: code, stub, count=1)
            (out / name).write_text(text)
    return copies


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def cpu_seconds() -> float:
    """CPU time of this process and of its children that have ended (the fork pool's)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--students", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--brute", type=int, default=60, help="students for the all-pairs comparison")
    args = ap.parse_args()
    from grader.similarity import compare_class, find_similar
    from grader.similarity.sources import read_submissions
    tmp = Path(tempfile.mkdtemp(prefix="tt-bench-similarity-"))
    try:
        copies = build_class(tmp / "class", args.students)
        print(f"{args.students} students ({copies} of them copies), 15 exercise files each, on "
              f"{__import__('os').cpu_count()} CPUs")
        times, cpu = {1: [], 2: []}, {1: [], 2: []}
        listed = None
        for r in range(args.rounds):
            for jobs in ((1, 2) if r % 2 == 0 else (2, 1)):
                c0 = cpu_seconds()
                t, found = timed(lambda: find_similar(tmp / "class", jobs=jobs, show_progress=False))
                times[jobs].append(t)
                cpu[jobs].append(cpu_seconds() - c0)
                listed = len(found.pairs)
                print(f"  round {r + 1}, -j {jobs}: {t:6.1f} s wall, {cpu[jobs][-1]:6.1f} s CPU ({found.compared:,} of {found.possible:,} "
                      f"pairs of files compared in full, {listed} pairs listed)", flush=True)
        m1, m2 = statistics.median(times[1]), statistics.median(times[2])
        print(f"median -j 1: {m1:.1f} s, -j 2: {m2:.1f} s wall ({m1 / m2:.2f}x); CPU {statistics.median(cpu[1]):.1f} s "
              f"and {statistics.median(cpu[2]):.1f} s; {1000 * m2 / args.students:.0f} ms per student at -j 2; "
              f"load average {os.getloadavg()[0]:.1f} (other jobs share the CPUs)")

        # side by side, on the same fingerprints: every pair (copydetect's CopyDetector) against
        # the candidate pairs that share an uncommon fingerprint
        import copydetect
        import grader.similarity.detect as detect
        subs = read_submissions(tmp / "class")[0][:args.brute]
        found = compare_class(subs, jobs=1, show_progress=False)         # sets the stubs' fingerprints
        tasks = [(n, s.sid, s.files[n]) for s in subs for n in sorted(s.files)]
        by_ex = {}
        for (n, _, _), (_, fp) in zip(tasks, detect._fingerprints(tasks, 1, _Null())):
            if not isinstance(fp, str) and fp.token_coverage > 0:
                by_ex.setdefault(n, []).append(fp)

        def brute():
            k = 0
            for fps in by_ex.values():
                for i in range(len(fps)):
                    for j in range(i + 1, len(fps)):
                        copydetect.compare_files(fps[i], fps[j])
                        k += 1
            return k
        t_brute, k = timed(brute)
        t_ours = found.seconds["comparing"]
        print(f"{args.brute} students, fingerprints made ({found.seconds['fingerprinting']:.1f} s): comparing all "
              f"{k:,} pairs of files {t_brute:.2f} s, the {found.compared:,} candidate pairs {t_ours:.2f} s "
              f"({t_brute / t_ours:.1f}x); all pairs of {args.students} students would take "
              f"~{t_brute * (args.students / args.brute) ** 2:.0f} s to compare")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class _Null:
    def update(self, n=1):
        pass


if __name__ == "__main__":
    main()
