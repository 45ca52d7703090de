"""The Gradescope autograder in real containers (issue 12 point 2): scripts/gradescope-container-test.

It builds the image the way Gradescope does (a debootstrapped Debian bookworm root,
python3 and python3-venv from apt, the exported zip in /autograder/source, setup.sh at
build time with the network), then runs /autograder/run_autograder per submission under
Docker's default confinement, --cap-drop ALL, --network none, a read-only root and a
non-root user. Every score must be the one `tt grade` gives on this machine, for the
solutions (full marks), the stubs (0), the typical-bugs sample, the solutions as notebooks
and hostile submissions of the corpus.

Skipped, saying why, where Docker or debootstrap is missing, the Docker daemon is not
running, or not root; wherever Docker runs, it runs (and `.ci/run` installs Docker as root).
"""
import json
import subprocess
import sys
from importlib.machinery import SourceFileLoader
from pathlib import Path

import pytest

from grader.export.nbgrader import hidden_tests

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "gradescope-container-test"

pytestmark = [pytest.mark.container, pytest.mark.slow]


def script():
    return SourceFileLoader("gradescope_container_test", str(SCRIPT)).load_module()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    reason = script().why_not()
    if reason:
        pytest.skip(f"no container test here: {reason}")
    out = tmp_path_factory.mktemp("container") / "runs.json"
    r = subprocess.run([sys.executable, str(SCRIPT), "--json", str(out)], capture_output=True, text=True,
                       timeout=3600, cwd=ROOT)
    assert out.exists(), (r.stdout + r.stderr)[-4000:]
    return json.loads(out.read_text()), r


def test_every_runtime_grades_every_submission_as_tt_grade_does(runs):
    data, r = runs
    bad = [f"{x['runtime']} {x['submission']}: {x['score']} (tt grade {x['expected']}), exit {x['exit']} "
           f"{x['not_graded']}" for x in data["runs"] if not x["ok"]]
    assert not bad and r.returncode == 0, "\n".join(bad) + r.stdout[-2000:]
    got = {(x["runtime"], x["submission"]): x for x in data["runs"]}
    runtimes = set(script().RUNTIMES)
    assert {rt for rt, _ in got} == runtimes
    full = sum(points for n in range(1, 16) for *_, points in hidden_tests(n))   # from the markers
    for rt in runtimes:
        assert got[rt, "solutions"]["score"] == full and got[rt, "notebooks"]["score"] == full
        assert got[rt, "stubs"]["score"] == 0
        assert 0 < got[rt, "typical-bugs"]["score"] < full
        assert sum(1 for (r2, s) in got if r2 == rt and s.startswith("hostile:")) == len(script().HOSTILE)


def test_each_run_says_first_what_ran(runs):
    data, _ = runs
    for x in data["runs"]:
        assert x["head"][0].startswith("run_autograder: image: Debian GNU/Linux 12 (bookworm)"), x["head"]
        assert x["head"][1].startswith("run_autograder: python: /autograder/venv/bin/python: Python 3.11"), x["head"]
        assert x["head"][2].startswith("run_autograder: protections: process, timeout, rlimits"), x["head"]
        assert "seccomp" in x["protections"] and "landlock-fs" in x["protections"], x
    setup = [line for line in data["setup_log"].splitlines() if line.startswith("setup.sh: ")]
    assert setup[0].startswith("setup.sh: image: Debian GNU/Linux 12 (bookworm)"), setup
    assert setup[1].startswith("setup.sh: python3: /usr/bin/python3 Python 3.11"), setup
    assert setup[-1].startswith("setup.sh: ready: /autograder/venv (Python 3.11"), setup
