"""Free-text answers, graded by a person (issue 13): the sheet, and merging it back.

`tt problems grade` writes, beside the auto-graded results,

    OUT/manual_grading.csv     one row per (student, free-text part) with an answer:
                               student_id, name, item, prompt, max_points, rubric,
                               model_answer, answer, answer_id, points, comment
    OUT/manual_grading.html    the same as a page to read (rubric beside each answer)
    OUT/.manual-grades.json    every grade merged so far (the store)

Fill in `points` (and optionally `comment`) and run the same command again with
`--manual OUT/manual_grading.csv` (a copy anywhere works). Rows with points are merged
into the store, then into each student's results.json, feedback.html and class.csv.
A row with an empty points cell is skipped, so a half-filled sheet merges what it
holds; a bad row (points not a number, negative or above max_points, an unknown
student or item, an answer changed since the sheet was written) is reported with its
row number and skipped, and every other row is merged. Nothing merged before is lost:
the store keeps it, later runs without --manual apply it, and the next sheet shows it
filled in. A grade belongs to the answer it was given for (answer_id, a hash of the
text): if the student hands in a changed answer, the old grade no longer applies and
the row comes back empty. The sheet and the store are written atomically.
"""
from __future__ import annotations

import csv
import hashlib
import html
import io
import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from grader.problems.textfile import csv_records, utf8_text
from grader.report import _cell
from tt.io import atomic_write_text

SHEET_CSV = "manual_grading.csv"
SHEET_HTML = "manual_grading.html"
STORE = ".manual-grades.json"
COLUMNS = ["student_id", "name", "item", "prompt", "max_points", "rubric", "model_answer",
           "answer", "answer_id", "points", "comment"]
REQUIRED = ("student_id", "item", "answer_id", "points")
MAX_SHEET_BYTES = 32 * 1024 * 1024
MAX_TEXT = 20_000          # characters of one answer shown on the sheet


class SheetError(ValueError):
    """The sheet as a whole cannot be read (not found, not CSV, columns missing)."""


def answer_id(text: str) -> str:
    return hashlib.sha256(text.strip().encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Slot:
    """One free-text answer to grade: what the sheet shows."""
    student_id: str
    name: str
    item: str
    prompt: str
    max_points: int
    rubric: tuple[tuple[str, int], ...]
    model: str
    answer: str

    @property
    def id(self) -> str:
        return answer_id(self.answer)


def rubric_text(rubric) -> str:
    return "; ".join(f"{c} ({n} pt{'s' * (n != 1)})" for c, n in rubric)


# ----------------------------------------------------------------------------- store
def read_store(out: Path) -> dict:
    """{student_id: {item: {"points", "comment", "answer_id"}}}; {} when there is none.
    A store that cannot be read is an error: silently starting afresh would lose grades."""
    path = out / STORE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SheetError(f"{path}: the merged manual grades cannot be read ({exc}); "
                         "restore it or remove it to start again") from None
    return data if isinstance(data, dict) else {}


def write_store(out: Path, store: dict) -> None:
    atomic_write_text(out / STORE, json.dumps(store, indent=1, sort_keys=True) + "\n")


def applicable(store: dict, slots: dict[tuple[str, str], Slot]) -> dict[str, dict]:
    """The stored grades whose answer is still the one handed in: {sid: {item: grade}}."""
    out: dict[str, dict] = {}
    for (sid, item), slot in slots.items():
        g = store.get(sid, {}).get(item)
        if isinstance(g, dict) and g.get("answer_id") == slot.id:
            out.setdefault(sid, {})[item] = {"points": g["points"], "comment": g.get("comment", "")}
    return out


# ----------------------------------------------------------------------------- sheet
def _points(text: str) -> Fraction:
    t = text.strip().replace(" ", "")
    if t.count(",") == 1 and "." not in t:
        t = t.replace(",", ".")            # a decimal comma, as spreadsheets write it
    return Fraction(t)


def read_sheet(path: str | Path, slots: dict[tuple[str, str], Slot]) -> tuple[dict, list[str]]:
    """The filled rows of a sheet: ({(sid, item): grade}, errors naming their rows)."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_SHEET_BYTES:
            raise SheetError(f"{path}: larger than {MAX_SHEET_BYTES:,} bytes")
        text = utf8_text(path.read_bytes(), str(path))
    except FileNotFoundError:
        raise SheetError(f"{path}: no such manual grading sheet") from None
    except OSError as exc:
        raise SheetError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise SheetError(f"{exc}; save it as UTF-8 CSV") from None
    records = csv_records(text)
    first = next(records, None)
    if first is None:
        raise SheetError(f"{path}: the sheet is empty")
    _, header, broken = first
    if broken:
        raise SheetError(f"{path}:1: the header cannot be read as CSV: {broken}")
    cols = {h.strip().lower(): i for i, h in enumerate(header)}
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        raise SheetError(f"{path}:1: the sheet has no column {', '.join(missing)} "
                         f"(expected the columns of {SHEET_CSV})")
    grades: dict[tuple[str, str], dict] = {}
    first_row: dict[tuple[str, str], int] = {}
    errors: list[str] = []
    row_no = 1
    for line, row, broken in records:
        if broken:
            errors.append(f"{path}:{line}: this row cannot be read as CSV ({broken}); "
                          "the rest of the sheet was not read")
            break
        row_no += 1
        where = f"{path}: row {row_no}"

        def cell(name: str) -> str:
            i = cols.get(name)
            return row[i].strip() if i is not None and i < len(row) else ""

        if not any(x.strip() for x in row):
            continue
        sid, item, points = cell("student_id"), cell("item"), cell("points")
        if not points:
            continue                       # not graded yet: nothing to merge
        slot = slots.get((sid, item))
        if slot is None:
            errors.append(f"{where}: no free-text answer {item[:40]!r} of student {sid[:64]!r} "
                          "in this grading run; row skipped")
            continue
        if cell("answer_id") != slot.id:
            errors.append(f"{where}: {sid} {item}: the answer changed since this sheet was "
                          "written (answer_id differs); grade it again in the new sheet; row skipped")
            continue
        try:
            value = _points(points)
        except (ValueError, ZeroDivisionError):
            errors.append(f"{where}: {sid} {item}: points {points[:20]!r} is not a number; row skipped")
            continue
        if not 0 <= value <= slot.max_points:
            errors.append(f"{where}: {sid} {item}: points {points[:20]} is outside 0 to "
                          f"{slot.max_points}; row skipped")
            continue
        if (sid, item) in first_row:
            errors.append(f"{where}: {sid} {item} is graded twice (first in row "
                          f"{first_row[(sid, item)]}); the later row is used")
        first_row[(sid, item)] = row_no
        grades[(sid, item)] = {"points": float(value), "comment": cell("comment")[:2000],
                               "answer_id": slot.id}
    return grades, errors


def merge(store: dict, grades: dict) -> int:
    for (sid, item), g in grades.items():
        store.setdefault(sid, {})[item] = g
    return len(grades)


def write_sheet(out: Path, slots: dict[tuple[str, str], Slot], done: dict[str, dict]) -> None:
    """The CSV and HTML sheets, filled in where a grade already applies."""
    ordered = sorted(slots.values(), key=lambda s: (s.student_id, s.item))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for s in ordered:
        g = done.get(s.student_id, {}).get(s.item)
        writer.writerow([_cell(v) for v in (
            s.student_id, s.name, s.item, s.prompt, s.max_points, rubric_text(s.rubric), s.model,
            s.answer, s.id, "" if g is None else g["points"], "" if g is None else g["comment"])])
    atomic_write_text(out / SHEET_CSV, buf.getvalue())
    atomic_write_text(out / SHEET_HTML, _html(ordered, done))


def _html(slots: list[Slot], done: dict[str, dict]) -> str:
    e = html.escape
    graded = sum(1 for s in slots if s.item in done.get(s.student_id, {}))
    rows = []
    for s in slots:
        g = done.get(s.student_id, {}).get(s.item)
        rubric = "".join(f"<li>{e(c)} <b>({n})</b></li>" for c, n in s.rubric)
        pts = "" if g is None else f"{g['points']:g}"
        rows.append(
            f"<tr><td><code>{e(s.student_id)}</code><br>{e(s.name)}</td>"
            f"<td><code>{e(s.item)}</code><br>{e(s.prompt)}</td>"
            f"<td class=answer>{e(s.answer)}</td>"
            f"<td><ul>{rubric}</ul><details><summary>model answer</summary>{e(s.model)}</details></td>"
            f"<td class=pts>{e(pts)} / {s.max_points}<br><small>{e(g['comment'] if g else '')}</small></td></tr>")
    return ("<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8><title>Manual grading"
            "</title><style>body{font-family:system-ui,sans-serif;margin:1.5rem}"
            "table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:.4rem;"
            "vertical-align:top;text-align:left}.answer{white-space:pre-wrap;max-width:36rem;"
            "overflow-wrap:anywhere}.pts{white-space:nowrap}</style></head><body>"
            f"<h1>Free-text answers to grade</h1><p>{len(slots)} answers, {graded} graded. Enter "
            f"points in the <code>points</code> column of <code>{SHEET_CSV}</code>, then run "
            "<code>tt problems grade ... --manual " + SHEET_CSV + "</code> again.</p>"
            "<table><tr><th>student</th><th>item</th><th>answer</th><th>rubric</th>"
            "<th>points</th></tr>" + "\n".join(rows) + "</table></body></html>\n")
