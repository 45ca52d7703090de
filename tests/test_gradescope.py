"""`tt export gradescope`: the autograder zip, unpacked into a root laid out like Gradescope's.

    $AUTOGRADER_ROOT/source/        the zip's contents (setup.sh, run_autograder, the grader)
    $AUTOGRADER_ROOT/submission/    what the student uploaded
    $AUTOGRADER_ROOT/results/       where results.json must appear

setup.sh's pip install is not run here (this machine already has what it installs); its
syntax is checked. run_autograder runs as Gradescope runs it, on the bundled samples.
"""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.export.gradescope import export
from grader.export.nbgrader import hidden_tests

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = {"solutions": ROOT / "solutions", "stubs": ROOT / "exercises",
           "bugs": ROOT / "grader" / "samples" / "typical_bugs"}


def hidden_points() -> float:
    """The points of every hidden test, from their markers."""
    return sum(points for n in range(1, 16) for *_, points in hidden_tests(n))


@pytest.fixture(scope="module")
def autograder(tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "autograder.zip"
    export(out)
    return out


def unpack(zip_path: Path, root: Path, submission: Path) -> Path:
    (root / "source").mkdir(parents=True)
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            zf.extract(info, root / "source")
            mode = info.external_attr >> 16
            if mode:
                os.chmod(root / "source" / info.filename, mode & 0o777)
    shutil.copytree(submission, root / "submission", ignore=shutil.ignore_patterns("__pycache__", "tests"))
    (root / "results").mkdir()
    (root / "submission_metadata.json").write_text(json.dumps({"id": 1, "users": [{"email": "ada@example.edu"}]}))
    return root


def run_autograder(root: Path) -> dict:
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "TT_PYTHON": sys.executable}
    r = subprocess.run([str(root / "source" / "run_autograder")], env=env, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    return json.loads((root / "results" / "results.json").read_text())


def test_the_zip_holds_the_grader_and_never_the_solutions(autograder):
    with zipfile.ZipFile(autograder) as zf:
        names = zf.namelist()
        modes = {i.filename: i.external_attr >> 16 for i in zf.infolist()}
    assert {"setup.sh", "run_autograder", "gradescope.json", "pyproject.toml"} <= set(names)
    assert any(n.startswith("grader/hidden/test_ex04") for n in names)
    assert "grader/hidden/pytest.ini" in names and any(n.startswith("grader/sandbox/") for n in names)
    assert not any(n.startswith(("solutions/", "grader/samples/")) for n in names)
    assert not any("__pycache__" in n for n in names)
    for script in ("setup.sh", "run_autograder"):
        assert modes[script] & stat.S_IXUSR
    with zipfile.ZipFile(autograder) as zf:
        setup = zf.read("setup.sh").decode()
    r = subprocess.run(["bash", "-n"], input=setup, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "pip install" in setup and ".[grader]" in setup


@pytest.mark.parametrize("sample", ["solutions", "stubs", "bugs"])
def test_run_autograder_grades_a_sample(autograder, tmp_path, sample):
    results = run_autograder(unpack(autograder, tmp_path / "autograder", SAMPLES[sample]))
    top = sum(t["max_score"] for t in results["tests"])
    assert top == hidden_points()
    if sample == "solutions":
        assert results["score"] == top
    elif sample == "stubs":
        assert results["score"] == 0
    else:
        from grader.grading import grade_submission
        assert 0 < results["score"] < top
        assert results["score"] == grade_submission(SAMPLES["bugs"], student="ada@example.edu").score
    assert {t["visibility"] for t in results["tests"]} == {"visible"}
    assert "isolated worker" in results["output"]


def test_hidden_until_published(tmp_path):
    zip_path = export(tmp_path / "ag.zip", hidden_until_published=True)
    results = run_autograder(unpack(zip_path, tmp_path / "autograder", SAMPLES["solutions"]))
    assert results["visibility"] == "after_published"
    assert {t["visibility"] for t in results["tests"]} == {"after_published"}


def test_a_default_visibility_and_a_bad_one(tmp_path):
    zip_path = export(tmp_path / "ag.zip", visibility="after_due_date")
    with zipfile.ZipFile(zip_path) as zf:
        assert json.loads(zf.read("gradescope.json"))["visibility"] == "after_due_date"
    with pytest.raises(ValueError, match="visibility"):
        export(tmp_path / "bad.zip", visibility="sometimes")
    assert not (tmp_path / "bad.zip").exists()


def test_an_empty_submission_still_gets_results(autograder, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    results = run_autograder(unpack(autograder, tmp_path / "autograder", empty))
    assert results["score"] == 0 and "not submitted" in results["output"]
