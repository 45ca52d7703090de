"""`tt problems grade` on a small class: one pathological answer or file costs only its own
student; outputs are written as students finish and a re-run resumes; a wrong secret
is refused; files in other cases and formats and mistyped keys are reported."""
from __future__ import annotations

import csv
import json
import re
import time
from pathlib import Path

import pytest

import grader.problems.grading as grading
from grader.problems.cli import main
from grader.problems.generate import generate
from grader.problems.grading import WrongSecret, grade
from grader.problems.roster import Student

SECRET = "grading-tests-course-secret"
ASSIGNMENT = "hw10"
STUDENTS = [Student(f"s00{i}", f"Student {i}") for i in range(1, 5)]


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    out = tmp_path_factory.mktemp("sets")
    generate(STUDENTS, SECRET, ASSIGNMENT, out, jobs=1, show_progress=False)
    key = json.loads((out / "key" / "answer_key.json").read_text(encoding="utf-8"))
    answers = {s["student_id"]: {p["answer_key"]: p["answer"] for prob in s["problems"]
                                 for p in prob["parts"]} for s in key["students"]}
    blanks = {s.student_id: (out / "students" / s.student_id / "answers.txt")
              .read_text(encoding="utf-8") for s in STUDENTS}
    return out, answers, blanks


def filled(sets, sid: str, **changes: str) -> str:
    """The student's blank file with every key's answer filled in; `changes` replace
    answers (keys written with __ for the dot: ex2__derivative)."""
    _, answers, blanks = sets
    values = dict(answers[sid])
    values.update({k.replace("__", "."): v for k, v in changes.items()})
    return re.sub(r"^([A-Za-z0-9_.]+) =$", lambda m: f"{m.group(1)} = {values[m.group(1)]}",
                  blanks[sid], flags=re.M)


def write_class(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def rows(out: Path) -> dict[str, dict]:
    with (out / "class.csv").open(encoding="utf-8") as f:
        return {r["student_id"]: r for r in csv.DictReader(f)}


def results_of(out: Path, sid: str) -> dict[str, dict]:
    r = json.loads((out / sid / "results.json").read_text(encoding="utf-8"))
    return {t["name"].split(":")[0]: t for t in r["tests"]}


def manual_points() -> int:
    """The free-text parts' points: 0 until a person grades them (grading_manual.py)."""
    from grader.problems import build_set
    return sum(p.points for i in build_set(None) for p in i.parts if p.manual)


def full(row) -> bool:
    """Every auto-graded part right (free-text parts wait for a person)."""
    return float(row["score"]) == float(row["max_score"]) - manual_points() > 100


def run(answers: Path, out: Path, **kw):
    kw.setdefault("show_progress", False)
    return grade(answers, STUDENTS, kw.pop("secret", SECRET), ASSIGNMENT, out, **kw)


# ------------------------------------------------- one answer or file costs only itself
def test_the_answer_that_hung_the_class_costs_only_its_own_part(sets, tmp_path):
    bomb = "(exp(x)+x+1)**64*(exp(x)+x+2)**64"
    answers = write_class(tmp_path / "in", {
        "s001.txt": filled(sets, "s001", ex2__derivative=bomb),
        "s002.txt": filled(sets, "s002"), "s003.txt": filled(sets, "s003")})
    start = time.perf_counter()
    run(answers, tmp_path / "out")
    assert time.perf_counter() - start < 60          # it hung for 180 s before
    r = rows(tmp_path / "out")
    assert r["s001"]["status"] == "graded"
    assert float(r["s001"]["score"]) == float(r["s001"]["max_score"]) - manual_points() - 3   # 3 points
    t = results_of(tmp_path / "out", "s001")["ex2.derivative"]
    assert t["score"] == 0 and "could not read the answer" in t["output"]
    assert full(r["s002"]) and full(r["s003"]) and r["s004"]["status"] == "missing"


def slow_mark(real):
    """A mark() that hangs (pure Python, or ignoring the per-answer alarm) or asks for
    4 GiB on three magic answers, and marks every other answer normally."""
    def fake(part, text, reveal=False):
        if text.startswith("SLEEPY "):               # slow by the clock, quick in CPU time,
            time.sleep(1.2)                          # as on a loaded machine: never timed out
            return real(part, text[len("SLEEPY "):], reveal)
        if text == "HANG":
            while True:
                pass
        if text == "STUBBORN":                       # survives the per-answer limit
            while True:
                try:
                    time.sleep(60)
                except grading.AnswerTimeout:
                    pass
        if text == "GREEDY":
            bytearray(4 << 30)
        return real(part, text, reveal)
    return fake


def test_per_answer_and_per_student_limits(sets, tmp_path, monkeypatch):
    # The workers are forked, so they see the patched mark().
    monkeypatch.setattr(grading, "mark", slow_mark(grading.mark))
    answers = write_class(tmp_path / "in", {
        "s001.txt": filled(sets, "s001", q12__gradient="HANG"),
        "s002.txt": filled(sets, "s002", q33__norm="STUBBORN"),
        "s003.txt": filled(sets, "s003", q08__rows="GREEDY"),
        "s004.txt": filled(sets, "s004", q12__gradient="SLEEPY " + sets[1]["s004"]["q12.gradient"])})
    start = time.perf_counter()
    summary = run(answers, tmp_path / "out", jobs=2, answer_timeout=0.5, student_timeout=8,
                  memory_limit=512 << 20)
    assert time.perf_counter() - start < 60
    out = tmp_path / "out"
    r = rows(out)
    # s001: the hanging answer is stopped after 0.5 s and scores 0 as unreadable.
    t = results_of(out, "s001")["q12.gradient"]
    assert "could not read the answer: checking it took longer than 0.5 s" in t["output"]
    assert r["s001"]["status"] == "graded"
    assert float(r["s001"]["score"]) == float(r["s001"]["max_score"]) - manual_points() - t["max_score"]
    # s002: still running at the student limit: stopped, status error, scored 0.
    assert r["s002"]["status"] == "error" and float(r["s002"]["score"]) == 0
    assert "took longer than 8 s" in json.loads((out / "s002" / "results.json")
                                                 .read_text(encoding="utf-8"))["output"]
    # s003: the memory limit turns the 4 GiB request into an unreadable answer.
    assert "needs too much memory" in results_of(out, "s003")["q08.rows"]["output"]
    assert r["s003"]["status"] == "graded"
    # s004: its answer waits 1.2 s of wall time but uses no CPU: the limit counts CPU time.
    assert full(r["s004"])
    errors = (out / "grading_errors.txt").read_text(encoding="utf-8")
    assert "s001: q12.gradient (line" in errors and "s002: grading stopped" in errors
    assert "s003: q08.rows (line" in errors
    assert [o.status for o in summary.outcomes] == ["graded", "error", "graded", "graded"]


def test_an_interrupted_run_keeps_what_is_done_and_resumes(sets, tmp_path, monkeypatch):
    answers = write_class(tmp_path / "in", {f"{s.student_id}.txt": filled(sets, s.student_id)
                                            for s in STUDENTS})
    out = tmp_path / "out"
    # Interrupted in the parent as it records the third student (the workers write each
    # student's two files; the journal line, written after them, is what counts).
    real = grading._journal_entry
    recorded = []

    def interrupt_third(outcome, fingerprint):
        if len(recorded) == 2:
            raise KeyboardInterrupt
        recorded.append(outcome.student)
        return real(outcome, fingerprint)

    monkeypatch.setattr(grading, "_journal_entry", interrupt_third)
    monkeypatch.setattr(grading, "PROGRESS_EVERY", 0.0)
    with pytest.raises(KeyboardInterrupt):
        run(answers, out, jobs=1)
    # What was done is on disk: two students' files, the journal, a partial gradebook.
    r = rows(out)
    assert [r[s]["status"] for s in ("s001", "s002", "s003", "s004")] == [
        "graded", "graded", "pending", "pending"]
    assert full(r["s001"]) and r["s003"]["score"] == ""
    assert "grading in progress: 2 of 4" in (out / "grading_errors.txt").read_text("utf-8")
    monkeypatch.setattr(grading, "_journal_entry", real)
    again = run(answers, out, jobs=1)
    assert again.reused == 2 and [o.reused for o in again.outcomes] == [True, True, False, False]
    assert all(full(row) for row in rows(out).values())
    # A changed file is regraded; the unchanged ones are reused; --force regrades all.
    (answers / "s002.txt").write_text(filled(sets, "s002", q08__rows="99"), "utf-8")
    third = run(answers, out, jobs=1)
    assert [o.reused for o in third.outcomes] == [True, False, True, True]
    assert results_of(out, "s002")["q08.rows"]["score"] == 0
    assert run(answers, out, jobs=1, force=True).reused == 0
    fresh = tmp_path / "fresh"
    run(answers, fresh, jobs=1)
    assert (fresh / "class.csv").read_bytes() == (out / "class.csv").read_bytes()


# ------------------------------------------------------------------ wrong secret
def test_a_wrong_secret_or_assignment_is_refused(sets, tmp_path, capsys):
    answers = write_class(tmp_path / "in", {f"{s.student_id}.txt": filled(sets, s.student_id)
                                            for s in STUDENTS})
    with pytest.raises(WrongSecret, match=r"4 of 4 answers files .* wrong --secret/--assignment"):
        run(answers, tmp_path / "out", secret="not-the-course-secret")
    assert not (tmp_path / "out").exists()                     # nothing graded, nothing written
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,name\n" + "".join(f"{s.student_id},{s.name}\n" for s in STUDENTS),
                      encoding="utf-8")
    rc = main(["grade", str(answers), "--roster", str(roster), "--secret", SECRET,
               "--assignment", "hw11", "--out", str(tmp_path / "out"), "--quiet"])
    assert rc == 2 and "wrong --secret/--assignment?" in capsys.readouterr().err


def test_a_file_naming_another_variant_is_reported_and_exits_nonzero(sets, tmp_path, capsys):
    files = {f"{s.student_id}.txt": filled(sets, s.student_id) for s in STUDENTS}
    files["s003.txt"] = re.sub(r"^variant = .*$", "variant = 0123456789ab", files["s003.txt"],
                               flags=re.M)
    answers = write_class(tmp_path / "in", files)
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id\ns001\ns002\ns003\ns004\n", encoding="utf-8")
    rc = main(["grade", str(answers), "--roster", str(roster), "--secret", SECRET,
               "--assignment", ASSIGNMENT, "--out", str(tmp_path / "out"), "--quiet"])
    assert rc == 1
    errors = (tmp_path / "out" / "grading_errors.txt").read_text(encoding="utf-8")
    assert re.search(r"s003: .*s003\.txt says variant 0123456789ab, but .* the student's "
                     r"variant is [0-9a-f]{12}", errors)
    assert errors.count("says variant") == 1
    assert full(rows(tmp_path / "out")["s003"])              # graded against their own set


# ------------------------------------------------------------ files and keys
def test_answers_files_in_any_case_and_other_files_are_listed(sets, tmp_path):
    answers = write_class(tmp_path / "in", {
        "s001.TXT": filled(sets, "s001"), "sub/s002.Txt": filled(sets, "s002"),
        "s004.md": filled(sets, "s004"), "notes.pdf": "not answers",
        ".hidden/s003.txt": filled(sets, "s003")})
    summary = run(answers, tmp_path / "out")
    r = rows(tmp_path / "out")
    assert full(r["s001"]) and full(r["s002"])
    assert r["s003"]["status"] == r["s004"]["status"] == "missing"
    errors = (tmp_path / "out" / "grading_errors.txt").read_text(encoding="utf-8")
    assert re.search(r"s004\.md: not an answers file .*matches roster student s004", errors)
    assert "notes.pdf: not an answers file" in errors
    assert ".hidden" not in errors and len(summary.errors) == 2


def test_a_mistyped_key_costs_only_its_own_part(sets, tmp_path):
    good = filled(sets, "s001")
    typo = good.replace("\nq08.rows =", "\nq08.row =")
    assert typo != good
    answers = write_class(tmp_path / "in", {"s001.txt": typo})
    run(answers, tmp_path / "out")
    r = rows(tmp_path / "out")["s001"]
    t = results_of(tmp_path / "out", "s001")
    assert r["status"] == "graded"
    assert float(r["score"]) == float(r["max_score"]) - manual_points() - t["q08.rows"]["max_score"]
    assert t["q08.rows"]["score"] == 0 and "No answer given" in t["q08.rows"]["output"]
    feedback = json.loads((tmp_path / "out" / "s001" / "results.json").read_text("utf-8"))
    assert "unknown key 'q08.row', not graded (did you mean 'q08.rows'?)" in feedback["output"]
    errors = (tmp_path / "out" / "grading_errors.txt").read_text(encoding="utf-8")
    assert "did you mean 'q08.rows'?" in errors


def test_a_malformed_file_reports_every_problem_in_one_pass(sets, tmp_path):
    text = filled(sets, "s001").replace("\nq08.rows =", "\nq08.row =")
    text = text.replace("\nq12.gradient =", "\nq12.gradient is")
    answers = write_class(tmp_path / "in", {"s001.txt": text})
    run(answers, tmp_path / "out")
    assert rows(tmp_path / "out")["s001"]["status"] == "malformed"
    output = json.loads((tmp_path / "out" / "s001" / "results.json").read_text("utf-8"))["output"]
    assert "expected 'key = value'" in output                      # the structural problem
    assert "did you mean 'q08.rows'?" in output                    # and the typo, at once
