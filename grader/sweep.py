"""The seed sweep: the reference solutions graded under many student ids, in-process.

    python -m grader.sweep --ids 2000 -j 2          # or benchmarks/bench_seed_sweep.py
    failures, n = sweep(ids(300), select="ex05")    # {test name: [failing ids]}, tests run

Correct work must get full marks whatever the id (issue 11 point 2). Each id's seed
(grader.grading.seed_for) draws its own hidden inputs; the hidden suites run once per
chunk of ids with `--seeds` (grader/hidden/conftest.py), every test once per seed with
exactly the inputs `tt grade --student=<id>` draws, and the solutions called in this
process (grader/export/inprocess.py's InProcess, as for nbgrader): no worker, no copy
over a pipe, so thousands of ids take minutes. The sandboxed path (`tt grade`) is the
same suites with the same inputs; tests/test_seed_sweep.py grades a few ids through it
too.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import importlib.util
import os
import sys
import time
from pathlib import Path

import pytest

from grader.export.inprocess import HIDDEN, InProcess
from grader.grading import seed_for

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"
SLOW = "test_training_"   # exercise 15's training runs (each check runs the capstone's loop)


def ids(n, start=1):
    """student0001, student0002, ...: the ids of a sweep."""
    return [f"student{i:04d}" for i in range(start, start + n)]


def solution_modules(folder=SOLUTIONS) -> dict:
    """{module name: module} of every exNN_*.py in folder, imported with folder on sys.path."""
    folder = str(Path(folder).resolve())
    if folder not in sys.path:
        sys.path.insert(0, folder)
    out = {}
    for path in sorted(Path(folder).glob("ex[0-9][0-9]_*.py")):
        name = path.stem
        if name in sys.modules and getattr(sys.modules[name], "__file__", None) == str(path):
            out[name] = sys.modules[name]
            continue
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        out[name] = module
    return out


class _Sweep:
    """The in-process 'sandbox' and a record of every failed call."""

    def __init__(self, namespace, seed_to_id):
        self.in_process_sandbox = InProcess(namespace)
        self.seed_to_id = seed_to_id
        self.failures: dict[str, list] = {}
        self.ran = 0

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = (yield).get_result()
        if report.when == "call" or (report.when in ("setup", "teardown") and not report.passed):
            self.ran += report.when == "call"
            if not report.passed:
                seed = getattr(item, "callspec", None) and item.callspec.params.get("sweep_seed")
                test = f"{Path(str(item.fspath)).name[5:9]} {item.originalname}"
                message = str(call.excinfo.value)[:4000] if call.excinfo else report.when   # whole diagnoses
                self.failures.setdefault(test, []).append((self.seed_to_id.get(seed, str(seed)), message))


def sweep(student_ids, select=None, folder=SOLUTIONS, quiet=True):
    """Run the hidden suites for every id in one process: ({test: [(id, message)]}, checks run)."""
    seed_to_id = {seed_for(s): s for s in student_ids}
    plugin = _Sweep(solution_modules(folder), seed_to_id)
    args = [str(HIDDEN), "-c", str(HIDDEN / "pytest.ini"), "--rootdir", str(HIDDEN),
            "-p", "no:cacheprovider", "--seeds", ",".join(str(s) for s in seed_to_id)]
    if quiet:
        args += ["-p", "no:terminal"]
    if select:
        args += ["-k", select]
    code = pytest.main(args, plugins=[plugin])
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        raise RuntimeError(f"the hidden suites did not run (pytest exit code {int(code)})")
    return plugin.failures, plugin.ran


def _chunk(args):
    student_ids, select = args
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    return sweep(student_ids, select)


def parallel_sweep(student_ids, select=None, jobs=2, chunk=100, progress=None):
    """sweep() over chunks of ids in `jobs` processes; the merged result. progress(ids done,
    failures so far) after each chunk."""
    chunks = [(student_ids[i:i + chunk], select) for i in range(0, len(student_ids), chunk)]
    failures, ran, done = {}, 0, 0
    with concurrent.futures.ProcessPoolExecutor(jobs) as pool:
        for (ids_, _), (part, n) in zip(chunks, pool.map(_chunk, chunks)):
            ran += n
            done += len(ids_)
            for test, rows in part.items():
                failures.setdefault(test, []).extend(rows)
            if progress:
                progress(done, failures)
    return failures, ran


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m grader.sweep", description=__doc__.split("\n")[0])
    p.add_argument("--ids", type=int, default=2000, help="how many student ids (student0001 ...)")
    p.add_argument("--start", type=int, default=1)
    p.add_argument("-k", dest="select", default=f"not ({SLOW})",
                   help="pytest -k over the hidden tests (default: all but exercise 15's two training runs)")
    p.add_argument("-j", "--jobs", type=int, default=2)
    p.add_argument("--chunk", type=int, default=100)
    a = p.parse_args(argv)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    students = ids(a.ids, a.start)
    t0 = time.perf_counter()
    def progress(done, failures):
        bad = len({sid for rows in failures.values() for sid, _ in rows})
        print(f"  {done}/{len(students)} ids graded, {bad} lost points so far "
              f"({time.perf_counter() - t0:.0f} s)", flush=True)
    failures, ran = parallel_sweep(students, a.select or None, a.jobs, a.chunk, progress)
    wall = time.perf_counter() - t0
    bad_ids = {sid for rows in failures.values() for sid, _ in rows}
    print(f"{len(students)} ids, {ran} checks run, {wall:.0f} s")
    for test, rows in sorted(failures.items()):
        print(f"  {test}: fails for {len({r[0] for r in rows})} ids ({len({r[0] for r in rows}) / len(students):.2%}), "
              f"e.g. {rows[0][0]}: {rows[0][1].splitlines()[0][:160]}")
    print(f"false-failure rate: {len(bad_ids)}/{len(students)} ids = {len(bad_ids) / len(students):.2%} "
          f"lose points with the reference solutions")
    return 1 if bad_ids else 0


if __name__ == "__main__":
    sys.exit(main())
