"""`tt check N`: run the public tests of exercise N (or of all of them).

    tt check 4          the same as  python -m pytest exercises/tests -m ex04
    tt check            every exercise
    tt check 4 7 -v     several, verbosely (extra options go to pytest)
    tt check 4 --tb=long  whole test functions in the failures (the default is --tb=short)

It looks for exercises/tests in the current folder and its parents, so it works in
the repository and in the unpacked student release alike.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def find_tests(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / "exercises" / "tests"
        if (candidate / "conftest.py").is_file():
            return candidate
    return None


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    numbers = []
    while argv and argv[0].isdigit():
        numbers.append(int(argv.pop(0)))
    bad = [n for n in numbers if not 1 <= n <= 15]
    if bad:
        print(f"tt check: there is no exercise {bad[0]}; they are numbered 1 to 15", file=sys.stderr)
        return 2
    tests = find_tests(Path.cwd())
    if tests is None:
        print("tt check: no exercises/tests folder here or above; run it from the project "
              "or the unpacked release", file=sys.stderr)
        return 2
    cmd = [sys.executable, "-m", "pytest", str(tests), "-q", "-p", "no:cacheprovider"]
    if numbers:
        cmd += ["-m", " or ".join(f"ex{n:02d}" for n in numbers)]
    if not any(a.startswith("--tb") for a in argv):
        # a few lines per failure: the test's line and the message (the harness's own
        # frames are hidden); `tt check 4 --tb=long` shows whole functions again
        cmd.append("--tb=short")
    cmd += argv
    print("running:", " ".join(cmd[2:]), flush=True)
    return subprocess.call(cmd, cwd=tests.parents[1])


if __name__ == "__main__":
    sys.exit(main())
