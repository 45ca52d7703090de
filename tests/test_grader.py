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
from grader.sandbox.supervisor import children_of
from processes import processes_naming

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
    shutil.copytree(ROOT / "solutions", folder / "alice", ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "-q").mkdir()                                    # an id that looks like an option
    shutil.copyfile(ROOT / "solutions" / "ex04_layernorm.py", folder / "-q" / "ex04_layernorm.py")
    (folder / "bob").mkdir()
    shutil.copyfile(ROOT / "exercises" / "ex04_layernorm.py", folder / "bob" / "ex04_layernorm.py")
    with zipfile.ZipFile(folder / "carol.zip", "w") as zf:
        zf.write(ROOT / "solutions" / "ex04_layernorm.py", "exercises/ex04_layernorm.py")
    (folder / "dave.zip").write_bytes(b"this is not a zip")
    shutil.copytree(folder / "bob", folder / "erin")
    shutil.copyfile(folder / "carol.zip", folder / "erin.zip")  # a second submission for erin
    (folder / "notes.txt").write_text("not a submission")


def read_csv(path):
    import csv
    with open(path, newline="") as f:
        return {row["student"]: row for row in csv.DictReader(f)}


def by_exercise(points):
    """{exNN: points} of every exercise, from the markers."""
    out = {}
    for name, p in points.items():
        out[name[:4]] = out.get(name[:4], 0.0) + p
    return out


def test_grade_all_resumes_and_survives_broken_submissions(tmp_path, points):
    klass, out = tmp_path / "class", tmp_path / "graded"
    make_class(klass)
    r = run_tt("grade-all", str(klass), "-j", "2", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "erin.zip: a second submission for 'erin' (graded: erin)" in r.stderr and "notes.txt" in r.stderr
    book = read_csv(out / "gradebook.csv")
    assert set(book) == {"alice", "bob", "carol", "dave", "erin", "'-q"}     # ' : not a formula
    full, per_exercise = sum(points.values()), by_exercise(points)
    # a complete submission: every column full, and the columns add up to the total
    alice = book["alice"]
    assert float(alice["total"]) == float(alice["max"]) == full
    assert {e: float(alice[e]) for e in per_exercise} == per_exercise
    assert sum(float(alice[e]) for e in per_exercise) == float(alice["total"])
    assert float(book["bob"]["total"]) == 0 and float(book["bob"]["ex04"]) == 0
    assert float(book["carol"]["ex04"]) == per_exercise["ex04"]   # a zip with a sub-folder
    assert float(book["erin"]["ex04"]) == 0                    # the folder, not the second zip
    assert float(book["'-q"]["ex04"]) == per_exercise["ex04"] == float(book["'-q"]["total"])
    # unreadable: zeros in every cell and the real maximum, with a note that says why
    dave = book["dave"]
    assert "unreadable" in dave["note"] and float(dave["total"]) == 0 and float(dave["max"]) == full
    assert all(dave[e] == "0" for e in per_exercise)
    assert set(book["alice"]) >= {f"ex{n:02d}" for n in range(1, 16)}
    assert not list(out.rglob("*.tmp"))
    # a second run grades nothing; a changed submission is the only one regraded
    r = run_tt("grade-all", str(klass), "-j", "2", "--out", str(out))
    assert "6 unchanged since last graded, 0 to grade" in r.stdout
    (klass / "bob" / "ex04_layernorm.py").write_text((ROOT / "solutions" / "ex04_layernorm.py").read_text())
    r = run_tt("grade-all", str(klass), "-j", "2", "--out", str(out))
    assert "5 unchanged since last graded, 1 to grade" in r.stdout
    assert float(read_csv(out / "gradebook.csv")["bob"]["ex04"]) == per_exercise["ex04"]


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


def test_grade_command_and_unreadable_submission(tmp_path, points):
    r = run_tt("grade", str(ROOT / "solutions"), "--out", str(tmp_path / "g"), "-k", "ex04")
    assert r.returncode == 0 and "8 / 8" in r.stdout and (tmp_path / "g" / "feedback.html").exists()
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"PK\x03\x04 broken")
    r = run_tt("grade", str(junk), "--out", str(tmp_path / "j"))
    assert r.returncode == 0 and "unreadable" in r.stdout
    data = json.loads((tmp_path / "j" / "results.json").read_text())
    assert data["score"] == 0 and "unreadable" in data["output"]
    assert {t["name"] for t in data["tests"]} == set(points)           # every test, each at 0
    assert all(t["score"] == 0 and "unreadable" in t["output"] for t in data["tests"])


def test_a_path_and_an_id_that_look_like_options(tmp_path):
    (tmp_path / "-k").mkdir()
    shutil.copyfile(ROOT / "solutions" / "ex04_layernorm.py", tmp_path / "-k" / "ex04_layernorm.py")
    r = subprocess.run([sys.executable, "-m", "tt", "grade", "--student=-x", "--out=g", "-k", "ex04", "--", "-k"],
                       capture_output=True, text=True, timeout=300, cwd=tmp_path,
                       env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("-x: 8 / 8")
    assert json.loads((tmp_path / "g" / "results.json").read_text())["score"] == 8


def test_the_score_table_shows_whole_titles(graded):
    from grader.grading import exercise_titles, score_table
    table = score_table(graded[0]["solutions"])
    for title in exercise_titles().values():
        assert f"  {title} " in table, title


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


# ------------------------------------------------------- interruption, stale results
SLOW_EX04 = (ROOT / "solutions" / "ex04_layernorm.py").read_text() + '''

import time as _time
_honest = layernorm_backward


def layernorm_backward(dout, cache):
    _time.sleep(0.7)
    return _honest(dout, cache)
'''


def test_ctrl_c_stops_grade_all_cleanly_and_a_rerun_resumes(tmp_path):
    klass, out, tmp = tmp_path / "class", tmp_path / "graded", tmp_path / "tmp"
    klass.mkdir()
    tmp.mkdir()
    for name in ("s1", "s2", "s3", "s4", "s5"):
        (klass / name).mkdir()
        (klass / name / "ex04_layernorm.py").write_text(SLOW_EX04)
    env = dict(os.environ, TMPDIR=str(tmp))
    proc = subprocess.Popen([sys.executable, "-m", "tt", "grade-all", str(klass), "-j", "2", "--out", str(out)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and len(children_of(proc.pid)) < 2:     # two students being graded
            time.sleep(0.05)
        graders = children_of(proc.pid)
        assert len(graders) == 2, "grade-all did not start two children"
        time.sleep(1.0)                           # the children are inside their sandboxes by now
        proc.send_signal(signal.SIGINT)           # Ctrl-C, to grade-all only (what a terminal sends first)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "Run the same command again to resume" in stderr
    assert not any(os.path.exists(f"/proc/{pid}") and processes_naming(str(klass)) for pid in graders)
    assert processes_naming(str(tmp)) == [] and processes_naming(str(klass)) == []   # no sandbox, no child
    assert os.listdir(tmp) == []                       # every temporary copy is gone
    assert not (out / "gradebook.csv").exists()        # no half-done gradebook
    assert not list(out.rglob("*.tmp"))
    done = {p.parent.name for p in out.glob("*/.digest")}
    assert len(done) < 5                               # the queued students never started
    for results in out.glob("*/results.json"):
        assert json.loads(results.read_text())["score"] == 8
    r = run_tt("grade-all", str(klass), "-j", "2", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert f"{len(done)} unchanged since last graded, {5 - len(done)} to grade" in r.stdout
    book = read_csv(out / "gradebook.csv")
    assert all(float(book[s]["ex04"]) == 8 for s in ("s1", "s2", "s3", "s4", "s5"))


def test_a_failed_regrade_replaces_the_old_results(tmp_path, points):
    klass, out, tmp = tmp_path / "class", tmp_path / "graded", tmp_path / "tmp"
    klass.mkdir()
    tmp.mkdir()
    (klass / "alice").mkdir()
    shutil.copyfile(ROOT / "solutions" / "ex04_layernorm.py", klass / "alice" / "ex04_layernorm.py")
    r = run_tt("grade-all", str(klass), "--out", str(out))
    assert r.returncode == 0 and read_csv(out / "gradebook.csv")["alice"]["total"] == "8"
    # the new version hangs at import for longer than the whole submission may take
    (klass / "alice" / "ex04_layernorm.py").write_text("import time\ntime.sleep(60)\n")
    # what a grade-all killed by SIGKILL leaves behind is removed; a live one's is not
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (tmp / f"tt-grade-all-{gone.stdout.strip()}-dead" / "child-x").mkdir(parents=True)
    (tmp / f"tt-grade-all-{os.getpid()}-alive").mkdir()
    r = subprocess.run([sys.executable, "-m", "tt", "grade-all", str(klass), "--out", str(out), "--timeout", "4"],
                       capture_output=True, text=True, timeout=300, cwd=ROOT, env=dict(os.environ, TMPDIR=str(tmp)))
    assert r.returncode == 0, r.stderr
    row = read_csv(out / "gradebook.csv")["alice"]
    assert row["total"] == "" and row["ex04"] == "" and float(row["max"]) == sum(points.values())
    assert "took longer than 4 s" in row["note"]
    data = json.loads((out / "alice" / "results.json").read_text())
    assert data["score"] == 0 and data["tests"] == [] and "took longer than 4 s" in data["not_graded"]
    assert "NOT GRADED" in (out / "alice" / "feedback.html").read_text()
    assert not (out / "alice" / ".digest").exists()
    assert os.listdir(tmp) == [f"tt-grade-all-{os.getpid()}-alive"]   # the killed child's copies were removed
    r = run_tt("grade-all", str(klass), "--out", str(out), "--timeout", "4")
    assert "0 unchanged since last graded, 1 to grade" in r.stdout


def test_partial_regrades_options_and_suites_are_part_of_the_digest(tmp_path, monkeypatch):
    klass, out = tmp_path / "class", tmp_path / "graded"
    klass.mkdir()
    (klass / "alice").mkdir()
    shutil.copyfile(ROOT / "solutions" / "ex04_layernorm.py", klass / "alice" / "ex04_layernorm.py")
    assert run_tt("grade-all", str(klass), "--out", str(out)).returncode == 0
    r = run_tt("grade", str(klass / "alice"), "-k", "ex04 and float32", "--out", str(out / "alice"))
    assert r.returncode == 0
    r = run_tt("grade-all", str(klass), "--out", str(out))           # the partial results are not hers
    assert "0 unchanged since last graded, 1 to grade" in r.stdout
    assert read_csv(out / "gradebook.csv")["alice"]["total"] == "8"
    r = run_tt("grade-all", str(klass), "--out", str(out), "--call-timeout", "7")
    assert "0 unchanged since last graded, 1 to grade" in r.stdout
    # the suites' content: a copy of the hidden suites with one byte changed digests differently
    from grader import grading
    copy = tmp_path / "hidden"
    shutil.copytree(HIDDEN, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert grading.suite_digest(copy) == grading.suite_digest()
    (copy / "test_ex04_layernorm.py").write_text((copy / "test_ex04_layernorm.py").read_text() + "\n")
    assert grading.suite_digest(copy) != grading.suite_digest()
    before = grading.grading_digest("x", {"student": "alice"})
    monkeypatch.setattr(grading, "suite_digest", lambda: "another version")
    assert grading.grading_digest("x", {"student": "alice"}) != before


# ------------------------------------------------------------------ the sandbox's part
UNCONFINED = [f"--disable-protection={p}" for p in ("mount-namespace", "landlock", "seccomp", "pid-namespace",
                                                     "uid-drop")]


def test_grade_all_refuses_an_unconfined_worker_unless_insecure(tmp_path):
    """Protections switched off as on a machine without them: the worker would keep the
    grader's uid, unconfined. (The submission is honest: nothing here signals anything.)"""
    klass, out = tmp_path / "class", tmp_path / "graded"
    klass.mkdir()
    (klass / "alice").mkdir()
    shutil.copyfile(ROOT / "solutions" / "ex04_layernorm.py", klass / "alice" / "ex04_layernorm.py")
    r = run_tt("grade-all", str(klass), "--out", str(out), *UNCONFINED)
    assert r.returncode == 3 and "refusing to run student code" in r.stderr and "--insecure" in r.stderr
    assert not out.exists() or not list(out.iterdir())           # nobody graded, nothing written
    r = run_tt("grade-all", str(klass), "--out", str(out), *UNCONFINED, "--insecure")
    assert r.returncode == 0, r.stderr
    assert "WARNING: INSECURE" in r.stderr
    row = read_csv(out / "gradebook.csv")["alice"]
    assert row["total"] == "8" and row["note"].startswith("WARNING: INSECURE")
    data = json.loads((out / "alice" / "results.json").read_text())
    assert "WARNING: INSECURE GRADING" in data["output"] and "kill(-1)" in data["output"]
    assert "WARNING: INSECURE GRADING" in (out / "alice" / "feedback.html").read_text()


def test_tt_grade_refuses_and_says_so_in_the_results(tmp_path):
    r = run_tt("grade", str(ROOT / "solutions"), "-k", "ex04", "--out", str(tmp_path / "g"), *UNCONFINED)
    assert r.returncode == 3 and "refusing to run student code" in r.stderr.splitlines()[-1]
    data = json.loads((tmp_path / "g" / "results.json").read_text())
    assert data["tests"] == [] and "refusing to run student code" in data["not_graded"]


def test_one_worker_per_grading_and_its_protections_recorded_while_it_ran(monkeypatch):
    from grader.sandbox import proxy
    spawned = []
    real = proxy.Sandbox._spawn

    def counting(self):
        spawned.append(self)
        return real(self)
    monkeypatch.setattr(proxy.Sandbox, "_spawn", counting)
    report = grade_submission(ROOT / "solutions", student="once", select="ex04")
    assert len(spawned) == 1                       # not a second one to read the protections
    assert spawned[0]._closed and spawned[0]._w is None
    assert any(n.startswith("student code ran in an isolated worker with: process, timeout")
               for n in report.instructor_notes)


# ------------------------------------------------------------------------- small parts
def test_an_explicit_visibility_wins_over_the_exports_default(tmp_path, monkeypatch):
    from grader import grading
    from grader.export import gradescope
    from grader.report import Report, TestResult
    tests = [TestResult("ex01 shown", 1, 1, "passed", visibility="visible"),
             TestResult("ex01 unset", 1, 1, "passed"),
             TestResult("ex01 later", 1, 1, "passed", visibility="after_due_date")]
    monkeypatch.setattr(grading, "grade_submission", lambda *a, **k: Report("s", "t", tests))
    (tmp_path / "source").mkdir()
    (tmp_path / "submission").mkdir()
    (tmp_path / "source" / "gradescope.json").write_text(json.dumps({"visibility": "hidden"}))
    assert gradescope.run(tmp_path) == 0                       # graded: exit status 0
    data = json.loads((tmp_path / "results" / "results.json").read_text())
    assert {t["name"]: t["visibility"] for t in data["tests"]} == {
        "ex01 shown": "visible", "ex01 unset": "hidden", "ex01 later": "after_due_date"}


def test_an_unset_visibility_is_written_as_visible(graded):
    report = graded[0]["solutions"]
    assert all(t.visibility is None for t in report.tests)     # no hidden test sets one
    _, out = graded
    data = json.loads((out / "solutions" / "results.json").read_text())
    assert {t["visibility"] for t in data["tests"]} == {"visible"}


def test_the_progress_bar_draws_at_zero():
    import io
    from tt.progress import Progress
    stream = io.StringIO()
    bar = Progress(4, desc="grading", stream=stream, force=True)
    bar.refresh()
    assert "0/4" in stream.getvalue()
    bar.close()


def test_sigterm_stops_tt_grade_cleanly(tmp_path):
    """A `tt grade` stopped by SIGTERM (what `timeout` sends) writes nothing and leaves no
    temporary copy of the student's code behind."""
    sub, out, tmp = tmp_path / "slow", tmp_path / "out", tmp_path / "tmp"
    sub.mkdir()
    tmp.mkdir()
    (sub / "ex04_layernorm.py").write_text(SLOW_EX04)
    proc = subprocess.Popen([sys.executable, "-m", "tt", "grade", str(sub), "--out", str(out), "-k", "ex04"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, TMPDIR=str(tmp)))
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not list(tmp.glob("tt-sandbox-*/run-*")):    # its worker is up
            time.sleep(0.05)
        assert list(tmp.glob("tt-sandbox-*")), "the grading never started its sandbox"
        time.sleep(0.5)
        proc.terminate()                              # SIGTERM to our own child
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130 and "interrupted: nothing was written" in stderr, stderr
    assert not out.exists()
    assert os.listdir(tmp) == []
    deadline = time.time() + 10        # a SIGKILLed worker may take a moment to be gone on a loaded machine
    while processes_naming(str(tmp)) and time.time() < deadline:
        time.sleep(0.1)
    assert processes_naming(str(tmp)) == []
