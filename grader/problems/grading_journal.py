"""What one student's grading came to (Outcome), and the journal that lets an interrupted
or repeated `tt problems grade` reuse the students whose inputs did not change."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from grader.problems.roster import Student
from grader.report import Report

JOURNAL = ".grading-journal.jsonl"
STATUSES = ("graded", "missing", "malformed", "duplicate", "error", "pending")


@dataclass
class Outcome:
    student: Student
    status: str                  # one of STATUSES
    variant: str
    file: str = ""
    score: float = 0.0
    max_score: float = 0.0
    problems: dict = field(default_factory=dict)     # problem key -> points scored
    errors: list[str] = field(default_factory=list)  # this student's grading_errors lines
    report: Report | None = None                     # None when reused from an earlier run
    reused: bool = False
    written: bool = False        # results.json and feedback.html already written (by the worker)

    def row(self) -> dict:
        s = self.student
        pending = self.status == "pending"
        return {"student_id": s.student_id, "name": s.name, "email": s.email,
                "status": self.status, "variant": self.variant,
                "score": "" if pending else self.score,
                "max_score": "" if pending else self.max_score,
                **({} if pending else self.problems), "file": self.file}


@dataclass
class GradeSummary:
    outcomes: list[Outcome]
    errors: list[str] = field(default_factory=list)
    # Free-text answers: (handed in, graded by a person so far, merged from --manual now).
    manual: tuple[int, int, int] = (0, 0, 0)

    @property
    def reused(self) -> int:
        return sum(1 for o in self.outcomes if o.reused)


def _read_journal(path: Path) -> dict[str, dict]:
    entries: dict[str, dict] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return entries
    for line in lines:
        try:
            entry = json.loads(line)
            entries[entry["student_id"]] = entry
        except (ValueError, KeyError, TypeError):
            continue                    # a line cut short by an interruption
    return entries


def _journal_entry(o: Outcome, fingerprint: str) -> dict:
    return {"student_id": o.student.student_id, "fingerprint": fingerprint,
            "status": o.status, "variant": o.variant, "file": o.file, "score": o.score,
            "max_score": o.max_score, "problems": o.problems, "errors": o.errors}


def _from_journal(student: Student, entry: dict) -> Outcome:
    return Outcome(student, entry["status"], entry["variant"], entry["file"], entry["score"],
                   entry["max_score"], dict(entry["problems"]), list(entry["errors"]),
                   None, reused=True)
