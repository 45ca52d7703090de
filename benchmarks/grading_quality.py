"""How good the hidden suites' grades are, over the whole mutation corpus (tests/mutants/).

    nice python benchmarks/grading_quality.py -j 2              # every mutant and correct variant
    nice python benchmarks/grading_quality.py --only ex0 -j 2    # exercises 1-9 only

Each entry is graded with `tt grade` as tests/test_grader_mutations.py does, then:
  kill rate       mutants that lose points in the exercise that holds the bug
  share named     of those, the ones whose first failed check in that exercise has a
                  diagnosis (a "Diagnosis:" line), and the one written next to the mutant
  false failures  correct variants that lose any point
  exact           entries that lose exactly the tests written next to them
"""
import argparse
import concurrent.futures
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]

from mutants import corpus  # noqa: E402
from test_grader_mutations import build, grade  # noqa: E402


def in_process(folder, select):
    """{"tests": [{name, status, output}]} of every hidden test, the solutions in folder called here."""
    from grader import sweep
    failures, _ = sweep.sweep(["student"], select=select, folder=folder)
    names = _all_tests(select)
    bad = {test: rows[0][1] for test, rows in failures.items()}
    return {"tests": [{"name": n, "status": "failed" if n in bad else "passed", "output": bad.get(n, "")}
                      for n in names]}


_NAMES = {}


def _all_tests(select):
    if select not in _NAMES:
        from grader import sweep
        import grader.export.inprocess as ip
        import pytest

        class Names:
            def __init__(self):
                self.names = []

            def pytest_collection_modifyitems(self, items):
                self.names = [f"{Path(str(i.fspath)).name[5:9]} {i.originalname}" for i in items]
        plugin = Names()
        args = [str(ip.HIDDEN), "-c", str(ip.HIDDEN / "pytest.ini"), "--rootdir", str(ip.HIDDEN),
                "-p", "no:cacheprovider", "--collect-only", "-p", "no:terminal", "--submission", "x"]
        if select:
            args += ["-k", select]
        pytest.main(args, plugins=[plugin])
        _NAMES[select] = list(dict.fromkeys(plugin.names))
        del sweep
    return _NAMES[select]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("-j", "--jobs", type=int, default=2)
    p.add_argument("--only", default="", help="entries whose file starts with this (ex05, ex0, ex1)")
    p.add_argument("--in-process", action="store_true",
                   help="grade in this process (grader/sweep.py, one id), not with tt grade: minutes instead of "
                        "an hour on a loaded machine; the full tt stands in for the student edition")
    a = p.parse_args(argv)
    mutants, equivalents = corpus()
    mutants = [m for m in mutants if m.file.startswith(a.only)]
    equivalents = [m for m in equivalents if m.file.startswith(a.only)]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if a.in_process:
            results = {m.name: in_process(build(m, tmp / "subs"), m.select) for m in mutants + equivalents}
        else:
            with concurrent.futures.ThreadPoolExecutor(a.jobs) as pool:
                futures = {m.name: pool.submit(grade, build(m, tmp / "subs"), tmp / "out" / m.name, m.select)
                           for m in mutants + equivalents}
                results = {name: f.result() for name, f in futures.items()}
    killed = named = right_name = exact = 0
    for m in mutants:
        tests = results[m.name]["tests"]
        failed = [t for t in tests if t["status"] != "passed"]
        own = [t for t in failed if t["name"].startswith(m.file[:4])]
        exact += {t["name"] for t in failed} == set(m.lost)
        if not own:
            print(f"  NOT CAUGHT in its exercise: {m.name}")
            continue
        killed += 1
        if "Diagnosis:" in own[0]["output"]:
            named += 1
            right_name += bool(m.diagnosis) and m.diagnosis in own[0]["output"]
        else:
            print(f"  caught, no diagnosis: {m.name}: {own[0]['name']}: {own[0]['output'].splitlines()[0][:120]}")
        if {t["name"] for t in failed} != set(m.lost):
            print(f"  {m.name}: lost {sorted(t['name'] for t in failed)}, written {sorted(m.lost)}")
    false = [m.name for m in equivalents if any(t["status"] != "passed" for t in results[m.name]["tests"])]
    for name in false:
        print(f"  FALSE FAILURE: {name}")
    n = len(mutants)
    print(f"mutants {n}: killed in their exercise {killed} ({killed / max(n, 1):.0%}); with a diagnosis "
          f"{named} ({named / max(killed, 1):.0%} of caught; the written one: {right_name}); "
          f"exactly their tests: {exact}")
    print(f"correct variants {len(equivalents)}: false failures {len(false)} "
          f"({len(false) / max(len(equivalents), 1):.0%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
