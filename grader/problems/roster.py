"""The class roster: a UTF-8 CSV file with a header row.

    student_id,name,email
    s001,Ada Lovelace,ada@example.org
    s002,Alan Turing,

Columns (matched case-insensitively, in any order; other columns are ignored):
    student_id   required; unique; 1-64 characters of letters, digits and . _ - @,
                 not starting with '.' (it names the student's folder)
    name         optional; shown on the student's set
    email        optional; copied to the gradebook

Every problem is reported with its place, `roster.csv:LINE`, and all of them are
reported at once: an instructor fixes the file in one pass.

The CSV is read in strict mode: a quote that is never closed (`s1,"Ada`) is an error
that names the row where the quoted field starts, instead of a field that swallows
every following row. A student_id, name or email may not contain a line break (a
quoted field can hold one; in a roster it is always a stray quote).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from grader.problems.textfile import csv_records, utf8_text

ID_PATTERN = re.compile(r"[A-Za-z0-9_@-][A-Za-z0-9._@-]{0,63}")
MAX_NAME = 200
MAX_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Student:
    student_id: str
    name: str = ""
    email: str = ""
    line: int = 0


class RosterError(ValueError):
    """The roster cannot be used; `problems` lists every bad row as 'file:line: what'."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def read_roster(path: str | Path) -> list[Student]:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RosterError([f"{path}: cannot read the roster: {exc.strerror or exc}"]) from None
    if len(data) > MAX_BYTES:
        raise RosterError([f"{path}: the roster is larger than {MAX_BYTES // 2**20} MB"])
    try:
        text = utf8_text(data, str(path))
    except ValueError as exc:
        raise RosterError([f"{exc}; save the roster as UTF-8 CSV"]) from None
    return parse_roster(text, str(path))


def parse_roster(text: str, name: str = "roster.csv") -> list[Student]:
    records = csv_records(text)
    problems: list[str] = []
    first = next(records, None)
    if first is None:
        raise RosterError([f"{name}: the roster is empty (it needs a header row with "
                           "student_id)"])
    _, header, broken = first
    if broken:
        raise RosterError([f"{name}:1: the header row cannot be read as CSV: {broken}"])
    columns = [h.strip().lower() for h in header]
    if "student_id" not in columns:
        raise RosterError([f"{name}:1: no student_id column (the header has: "
                           f"{', '.join(h.strip() for h in header) or 'nothing'})"])
    for col in set(columns):
        if col and columns.count(col) > 1 and col in ("student_id", "name", "email"):
            problems.append(f"{name}:1: the column {col} appears twice")
    where = {c: columns.index(c) for c in ("student_id", "name", "email") if c in columns}
    students: list[Student] = []
    first_line: dict[str, int] = {}
    for line, row, broken in records:
        if broken:
            problems.append(f"{name}:{line}: this row cannot be read as CSV: {broken}")
            break
        if not any(cell.strip() for cell in row):
            continue                                   # blank lines are not students
        def cell(col: str) -> str:
            i = where.get(col)
            return row[i] if i is not None and i < len(row) else ""
        broken = [col for col in ("student_id", "name", "email")
                  if "\n" in cell(col) or "\r" in cell(col)]
        if broken:
            problems.append(f"{name}:{line}: the {broken[0]} contains a line break (a quote "
                            "that is not closed on its line?)")
            continue
        sid, student_name, email = (cell(c).strip() for c in ("student_id", "name", "email"))
        if not sid:
            problems.append(f"{name}:{line}: empty student_id")
            continue
        if not ID_PATTERN.fullmatch(sid):
            problems.append(f"{name}:{line}: student_id {sid[:70]!r} may only contain letters, "
                            "digits and . _ - @ (at most 64, not starting with '.')")
            continue
        if sid in first_line:
            problems.append(f"{name}:{line}: duplicate student_id {sid!r} "
                            f"(first on line {first_line[sid]})")
            continue
        if len(student_name) > MAX_NAME:
            problems.append(f"{name}:{line}: the name is longer than {MAX_NAME} characters")
            continue
        first_line[sid] = line
        students.append(Student(sid, student_name, email, line))
    if not students and not problems:
        problems.append(f"{name}: the roster has a header but no students")
    if problems:
        raise RosterError(problems)
    return students

