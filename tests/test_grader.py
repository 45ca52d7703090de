"""The grading pipeline end to end: `tt grade`, `tt grade-all`, `tt demo`.

CI's check of issue 4: the hidden suites give solutions/ full marks and the stubs
exactly zero. Expected totals come from the suites' own @pytest.mark.points markers,
collected here without running anything, not from the grader's arithmetic.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from grader.grading import HIDDEN, grade_submission, write_outputs

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_STATUSES = {"passed", "failed"}
SCHEMA_VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}


class _Points:
    def __init__(self):
        self.points = {}

    def pytest_collection_modifyitems(self, items):
        for item in items:
            ex = Path(str(item.fspath)).name[5:9]                  # test_ex04_... -> ex04
            self.points[f"{ex} {item.name}"] = float(item.get_closest_marker("points").args[0])


@pytest.fixture(scope="module")
def points():
    """{test name: points} of every hidden test, read from the markers."""
    import pytest as _pytest
    collector = _Points()
    code = _pytest.main([str(HIDDEN), "-c", str(HIDDEN / "pytest.ini"), "--rootdir", str(HIDDEN),
                         "--collect-only", "-p", "no:terminal", "--submission", "/nonexistent"],
                        plugins=[collector])
    assert code == 0 and collector.points
    return collector.points


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    out = tmp_path_factory.mktemp("graded")
    reports = {name: grade_submission(ROOT / folder, student=name)
               for name, folder in (("solutions", "solutions"), ("stubs", "exercises"))}
    for name, report in reports.items():
        write_outputs(report, out / name)
    return reports, out


def test_solutions_get_full_marks(graded, points):
    report = graded[0]["solutions"]
    failed = [f"{t.name}: {t.output[:300]} {t.diagnosis}" for t in report.tests if t.status != "passed"]
    assert not failed, "\n".join(failed)
    assert {t.name for t in report.tests} == set(points)
    assert report.score == report.max_score == sum(points.values())


def test_stubs_get_exactly_zero(graded, points):
    report = graded[0]["stubs"]
    assert report.score == 0 and report.max_score == sum(points.values())
    for t in report.tests:
        assert t.status == "failed"
        assert "NotImplementedError" in t.output or "stub" in t.diagnosis, f"{t.name}: {t.output[:300]}"


def test_results_json_follows_gradescope_schema(graded):
    _, out = graded
    for name in ("solutions", "stubs"):
        data = json.loads((out / name / "results.json").read_text())
        assert isinstance(data["score"], (int, float)) and isinstance(data["execution_time"], (int, float))
        assert data["visibility"] in SCHEMA_VISIBILITY and data["stdout_visibility"] in SCHEMA_VISIBILITY
        assert data["tests"]
        for test in data["tests"]:
            assert {"name", "score", "max_score", "status", "output", "visibility"} <= set(test)
            assert test["status"] in SCHEMA_STATUSES and test["visibility"] in SCHEMA_VISIBILITY
            assert 0 <= test["score"] <= test["max_score"]
        assert data["score"] == pytest.approx(sum(t["score"] for t in data["tests"]))


def test_regrading_gives_the_same_result(graded, tmp_path):
    again = grade_submission(ROOT / "solutions", student="solutions", select="ex04 or ex12")
    first = {t.name: (t.score, t.output) for t in graded[0]["solutions"].tests}
    for t in again.tests:
        assert first[t.name] == (t.score, t.output)
    other = grade_submission(ROOT / "solutions", student="someone-else", select="ex12")
    assert all(t.status == "passed" for t in other.tests)


HOSTILE = '''
import sys
def layernorm_backward(dout, cache):
    print("<script>alert('print')</script>" * 3)
    raise ValueError("<img src=x onerror=alert(1)>")
'''


def test_feedback_escapes_and_never_shows_expected_values(tmp_path):
    sub = tmp_path / "mallory"
    sub.mkdir()
    (sub / "ex04_layernorm.py").write_text(HOSTILE)
    (sub / "ex09_model.py").write_text(        # one gradient 1% off
        (ROOT / "solutions" / "ex09_model.py").read_text().replace(
            '    return grads', '    grads["W_out"] = 1.01 * grads["W_out"]\n    return grads', 1))
    report = grade_submission(sub, select="ex04 or ex09")
    _, page = write_outputs(report, tmp_path / "out")
    html = page.read_text()
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;" in html and "&lt;img src=x" in html
    wrong = [t for t in report.tests if t.group.startswith("Exercise 9") and t.status == "failed"]
    assert wrong, "a 1% error in dW_out must fail"
    for t in wrong:
        # messages give the size and place of the error, never the reference's numbers
        numbers = re.findall(r"-?\d+\.\d{3,}", t.output)
        assert not numbers, f"{t.name} shows numbers that may be expected values: {numbers}"


def run_tt(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "tt", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def make_class(folder):
    folder.mkdir()
    shutil.copytree(ROOT / "solutions", folder / "alice")
    (folder / "bob").mkdir()
    shutil.copyfile(ROOT / "exercises" / "ex04_layernorm.py", folder / "bob" / "ex04_layernorm.py")
    with zipfile.ZipFile(folder / "carol.zip", "w") as zf:
        zf.write(ROOT / "solutions" / "ex04_layernorm.py", "exercises/ex04_layernorm.py")
    (folder / "dave.zip").write_bytes(b"this is not a zip")
    shutil.copytree(folder / "bob", folder / "erin")
    shutil.copyfile(folder / "carol.zip", folder / "erin.zip")  # a second submission for erin
    (folder / "notes.txt").write_text("not a submission")


def read_csv(path):
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    return {row.split(",")[0]: dict(zip(header, row.split(","))) for row in lines[1:]}


def test_grade_all_resumes_and_survives_broken_submissions(tmp_path):
    klass, out = tmp_path / "class", tmp_path / "graded"
    make_class(klass)
    r = run_tt("grade-all", str(klass), "-j", "2", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "erin.zip: a second submission for 'erin' (graded: erin)" in r.stderr and "notes.txt" in r.stderr
    book = read_csv(out / "gradebook.csv")
    assert set(book) == {"alice", "bob", "carol", "dave", "erin"}
    assert float(book["alice"]["total"]) == float(book["alice"]["max"]) > 0
    assert float(book["bob"]["total"]) == 0 and float(book["bob"]["ex04"]) == 0
    assert float(book["carol"]["ex04"]) > 0                    # a zip with a sub-folder
    assert float(book["erin"]["ex04"]) == 0                    # the folder, not the second zip
    assert "not graded" in book["dave"]["note"]
    assert set(book["alice"]) >= {f"ex{n:02d}" for n in range(1, 16)}
    assert not list(out.rglob("*.tmp"))
    # a second run grades nothing; a changed submission is the only one regraded
    r = run_tt("grade-all", str(klass), "-j", "2", "--out", str(out))
    assert "5 unchanged since last graded, 0 to grade" in r.stdout
    (klass / "bob" / "ex04_layernorm.py").write_text((ROOT / "solutions" / "ex04_layernorm.py").read_text())
    r = run_tt("grade-all", str(klass), "-j", "2", "--out", str(out))
    assert "4 unchanged since last graded, 1 to grade" in r.stdout
    assert float(read_csv(out / "gradebook.csv")["bob"]["ex04"]) > 0


def test_grade_all_interrupted_then_resumed(tmp_path):
    klass, out = tmp_path / "class", tmp_path / "graded"
    klass.mkdir()
    for name in ("s1", "s2", "s3", "s4"):
        (klass / name).mkdir()
        shutil.copyfile(ROOT / "solutions" / "ex04_layernorm.py", klass / name / "ex04_layernorm.py")
    proc = subprocess.Popen([sys.executable, "-m", "tt", "grade-all", str(klass), "-j", "1", "--out", str(out)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and not list(out.glob("*/.digest")):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)                        # interrupt after the first student
    proc.wait()
    done = {p.parent.name for p in out.glob("*/.digest")}
    assert done and len(done) < 4
    for results in out.glob("*/results.json"):                 # nothing half-written
        json.loads(results.read_text())
    r = run_tt("grade-all", str(klass), "-j", "2", "--out", str(out))
    assert r.returncode == 0
    assert f"{len(done)} unchanged since last graded" in r.stdout
    book = read_csv(out / "gradebook.csv")
    assert all(float(book[s]["ex04"]) > 0 for s in ("s1", "s2", "s3", "s4"))


def test_grade_command_and_unreadable_submission(tmp_path):
    r = run_tt("grade", str(ROOT / "solutions"), "--out", str(tmp_path / "g"), "-k", "ex04")
    assert r.returncode == 0 and "8 / 8" in r.stdout and (tmp_path / "g" / "feedback.html").exists()
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"PK\x03\x04 broken")
    r = run_tt("grade", str(junk), "--out", str(tmp_path / "j"))
    assert r.returncode == 0 and "not graded" in r.stdout
    data = json.loads((tmp_path / "j" / "results.json").read_text())
    assert data["score"] == 0 and "not graded" in data["output"]


def test_demo_grades_the_three_samples(tmp_path):
    if not (ROOT / "grader" / "samples" / "typical_bugs").is_dir():
        pytest.skip("grader/samples/typical_bugs does not exist yet")
    r = subprocess.run([sys.executable, "-m", "tt", "demo", "--out", str(tmp_path)], capture_output=True,
                       text=True, timeout=600, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    totals = dict(re.findall(r"^(solutions|stubs|typical-bugs): ([\d.]+) /", r.stdout, re.M))
    assert set(totals) == {"solutions", "stubs", "typical-bugs"}
    assert float(totals["stubs"]) == 0 < float(totals["typical-bugs"]) < float(totals["solutions"])
    assert r.stdout.count("feedback.html") == 3
