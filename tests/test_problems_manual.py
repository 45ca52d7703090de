"""The manual grading workflow (issue 13 point 2): grade writes a sheet of the free-text
answers; --manual merges filled-in points into results.json, feedback and class.csv;
partial sheets merge what they hold; bad rows are named and skipped; nothing merged is
lost; a changed answer needs grading again."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from grader.problems.grading import grade
from grader.problems.grading_manual import SHEET_CSV, SHEET_HTML, SheetError
from grader.problems.roster import Student

STUDENTS = [Student("s001", "Ada"), Student("s002", "Alan")]


def write(folder: Path, sid: str, explain: str, extra: str = "") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{sid}.txt").write_text(
        f"student_id = {sid}\nvariant = 0\nq01.explain = {explain}\n"
        "# ---- next\nq09.why_zeroed = where z <= 0 (ReLU is off)\n" + extra, encoding="utf-8")


def run(tmp: Path, **kw):
    return grade(tmp / "answers", STUDENTS, "", "stage10", tmp / "out", show_progress=False,
                 variant0=True, jobs=1, **kw)


def results_of(tmp: Path, sid: str) -> dict:
    data = json.loads((tmp / "out" / sid / "results.json").read_text(encoding="utf-8"))
    return {t["name"].split(":")[0]: t for t in data["tests"]} | {"_score": data["score"]}


def sheet(tmp: Path) -> list[dict]:
    with open(tmp / "out" / SHEET_CSV, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def save(path: Path, rows: list[dict]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def gradebook(tmp: Path) -> dict:
    with open(tmp / "out" / "class.csv", encoding="utf-8", newline="") as f:
        return {r["student_id"]: r for r in csv.DictReader(f)}


def test_sheet_merge_partial_bad_rows_and_nothing_lost(tmp_path):
    write(tmp_path / "answers", "s001", "the gradient flows back,\n(from the loss # to the input")
    write(tmp_path / "answers", "s002", "the loss")
    run(tmp_path)
    rows = sheet(tmp_path)
    assert [(r["student_id"], r["item"]) for r in rows] == [
        ("s001", "q01.explain"), ("s001", "q09.why_zeroed"),
        ("s002", "q01.explain"), ("s002", "q09.why_zeroed")]
    assert rows[0]["answer"] == "the gradient flows back,\n(from the loss # to the input"
    assert rows[0]["max_points"] == "4" and "(2 pts)" in rows[0]["rubric"] and rows[0]["points"] == ""
    page = (tmp_path / "out" / SHEET_HTML).read_text(encoding="utf-8")
    assert "(from the loss # to the input" in page and "model answer" in page
    before = results_of(tmp_path, "s001")
    assert before["q01.explain"]["score"] == 0 and "awaiting manual grading" in json.dumps(before["q01.explain"])
    base = float(gradebook(tmp_path)["s001"]["score"])

    # Fill in: one good row, one not a number, one above the maximum, one left empty,
    # one unknown student.
    rows[0]["points"], rows[0]["comment"] = "3", "good, but no chain rule"
    rows[1]["points"] = "abc"
    rows[2]["points"] = "5"
    rows.append({**rows[3], "student_id": "s999", "points": "1"})
    summary = run(tmp_path, manual=save(tmp_path / "filled.csv", rows))
    errors = "\n".join(summary.errors)
    assert "filled.csv: row 3: s001 q09.why_zeroed: points 'abc' is not a number" in errors
    assert "filled.csv: row 4: s002 q01.explain: points 5 is outside 0 to 4" in errors
    assert "row 6: no free-text answer 'q09.why_zeroed' of student 's999'" in errors
    after = results_of(tmp_path, "s001")
    assert after["q01.explain"]["score"] == 3 and "no chain rule" in json.dumps(after["q01.explain"])
    assert after["_score"] == before["_score"] + 3
    assert float(gradebook(tmp_path)["s001"]["score"]) == base + 3
    assert float(gradebook(tmp_path)["s001"]["q01"]) == float(gradebook(tmp_path)["s002"]["q01"]) + 3
    assert summary.manual == (4, 1, 1)

    # A run without --manual keeps it; the new sheet shows it filled in.
    run(tmp_path)
    assert results_of(tmp_path, "s001")["q01.explain"]["score"] == 3
    assert sheet(tmp_path)[0]["points"] == "3"
    # A sheet with that row empty does not erase it; another row is added.
    rows = sheet(tmp_path)
    rows[0]["points"], rows[3]["points"] = "", "1.5"
    summary = run(tmp_path, manual=save(tmp_path / "second.csv", rows))
    assert not summary.errors
    assert results_of(tmp_path, "s001")["q01.explain"]["score"] == 3
    assert results_of(tmp_path, "s002")["q09.why_zeroed"]["score"] == 1.5

    # A changed answer: the old grade no longer applies, and an old sheet says why.
    write(tmp_path / "answers", "s001", "a new answer")
    summary = run(tmp_path, manual=tmp_path / "filled.csv")
    assert "s001 q01.explain: the answer changed since this sheet was written" in "\n".join(summary.errors)
    assert results_of(tmp_path, "s001")["q01.explain"]["score"] == 0
    assert sheet(tmp_path)[0]["points"] == "" and sheet(tmp_path)[0]["answer"] == "a new answer"
    assert results_of(tmp_path, "s002")["q09.why_zeroed"]["score"] == 1.5


def test_a_sheet_that_cannot_be_read_stops_before_grading(tmp_path):
    write(tmp_path / "answers", "s001", "x")
    bad = tmp_path / "bad.csv"
    bad.write_text("student,points\ns001,1\n", encoding="utf-8")
    with pytest.raises(SheetError, match="no column student_id, item, answer_id"):
        run(tmp_path, manual=bad)
    with pytest.raises(SheetError, match="no such manual grading sheet"):
        run(tmp_path, manual=tmp_path / "missing.csv")
    assert not (tmp_path / "out" / "class.csv").exists()
