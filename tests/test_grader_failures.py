"""A grader failure is never a grade (issue 12 point 3).

When most checks fail for the grader's own reasons, `tt grade` writes its not-graded
results (results.json with "not_graded": <why>, score 0, no tests) and exits 1, and
`tt grade-all` leaves the student's row without a total; one or two grader errors among
passing checks still grade the rest, and the report names them for the instructor.

The grader's failures are real ones: a hidden suite whose tests raise TypeError, put in
place of grader/hidden by a sitecustomize.py on PYTHONPATH (every `tt grade` child of
grade-all imports it too), beside the real conftest.py and pytest.ini.
"""
import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HIDDEN = ROOT / "grader" / "hidden"

HOOK = '''import os
if os.environ.get("TT_TEST_HIDDEN"):
    from pathlib import Path
    import grader.grading
    grader.grading.HIDDEN = Path(os.environ["TT_TEST_HIDDEN"])
'''
SUITE = '''import pytest  # noqa

@pytest.mark.points(1)
def test_fine_{i}():
    pass
'''
BROKEN = '''
@pytest.mark.points(2)
def test_broken_{i}():
    raise TypeError("a bug in the hidden test itself")
'''


def suite(tmp_path, passing, broken):
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    for name in ("conftest.py", "pytest.ini"):
        shutil.copyfile(HIDDEN / name, hidden / name)
    text = passing if isinstance(passing, str) else \
        "".join(SUITE.format(i=i) for i in range(passing)) + "".join(BROKEN.format(i=i) for i in range(broken))
    (hidden / "test_ex04_layernorm.py").write_text(text)
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(HOOK)
    env = dict(os.environ, TT_TEST_HIDDEN=str(hidden),
               PYTHONPATH=os.pathsep.join([str(hook), str(ROOT), os.environ.get("PYTHONPATH", "")]))
    return env


def tt(env, *args, cwd):
    return subprocess.run([sys.executable, "-m", "tt", *args], capture_output=True, text=True, timeout=300,
                          env=env, cwd=cwd)


def test_most_checks_failing_for_the_grader_is_not_graded(tmp_path):
    env = suite(tmp_path, passing=1, broken=2)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "results.json").write_text(json.dumps({"score": 99, "tests": []}))   # an older grade
    r = tt(env, "grade", str(ROOT / "solutions"), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert r.returncode == 1, (r.stdout, r.stderr)
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    assert data["score"] == 0 and data["tests"] == []
    assert "2 of the 3 checks failed for the grader's own reasons" in data["not_graded"]
    assert "test_broken_0 raised TypeError" in data["not_graded"]
    assert "NOT GRADED" in r.stderr and "a bug in the hidden test itself" in r.stderr


def test_one_grader_error_among_passing_checks_still_grades(tmp_path):
    env = suite(tmp_path, passing=3, broken=1)
    r = tt(env, "grade", str(ROOT / "solutions"), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    assert "not_graded" not in data
    assert data["score"] == 3 and len(data["tests"]) == 4
    assert "grader error (for the instructor): test_broken_0 raised TypeError" in data["output"]
    assert "a bug in the hidden test itself" in r.stderr


def test_grade_all_leaves_a_row_not_graded_by_the_grader_without_a_total(tmp_path):
    env = suite(tmp_path, passing=1, broken=2)
    klass = tmp_path / "class"
    shutil.copytree(ROOT / "solutions", klass / "alice", ignore=shutil.ignore_patterns("__pycache__"))
    r = tt(env, "grade-all", str(klass), "--out", str(tmp_path / "graded"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO((tmp_path / "graded" / "gradebook.csv").read_text())))
    assert len(rows) == 1 and rows[0]["student"] == "alice"
    assert rows[0]["total"] == "" and rows[0]["ex04"] == ""
    assert "grader's own reasons" in rows[0]["note"]
    assert not (tmp_path / "graded" / "alice" / ".digest").exists()        # tried again next time
    assert json.loads((tmp_path / "graded" / "alice" / "results.json").read_text())["not_graded"]


def test_a_hidden_suite_that_does_not_load_is_not_graded_not_interrupted(tmp_path):
    env = suite(tmp_path, passing="import pytest\n\ndef test_x(:\n", broken=0)
    r = tt(env, "grade", str(ROOT / "solutions"), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "did not run" in json.loads((tmp_path / "out" / "results.json").read_text())["not_graded"]
