"""What a graded class got wrong: score statistics, pass rates and the named mistakes.

    summary = analyse(read_class("graded/"))

A *mistake* is a diagnosis the hidden suites gave (grader/checks.py: the student's output
matched a known wrong variant). Diagnoses that differ only in their numbers or indices
("at index (5, 5)", "3 of 8 rows") are one mistake: `mistake_key` replaces every number
by "#". A student counts once per mistake however many tests it failed. A diagnosis that
says the work is not there (the stub left as it was, a file not handed in) is not a
mistake but "not attempted", counted apart so it never crowds out the real ones.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from grader.classreport.collect import ClassResults, Student

_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
NOT_ATTEMPTED = ("this function is still the stub", "which is still the stub", "is not in the submission")
_INTAKE_REFUSED = "ignored "
_SANDBOX_NOTE = "student code ran in an isolated worker"


def mistake_key(diagnosis: str) -> str:
    """The diagnosis with every number replaced by '#' and whitespace collapsed."""
    return " ".join(_NUMBER.sub("#", diagnosis).split()).rstrip(".")


def not_attempted(diagnosis: str) -> bool:
    return any(p in diagnosis for p in NOT_ATTEMPTED)


@lru_cache(maxsize=1)
def exercise_hints() -> dict[str, str]:
    """{function: the 'Hint:' paragraph of its docstring} for every exercise function,
    read from the release's stubs (exercises/)."""
    from grader.build import exercise_sources
    from grader.grading import EXERCISES
    hints = {}
    for path in exercise_sources(EXERCISES):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef):
                doc = ast.get_docstring(node) or ""
                m = re.search(r"^Hint:\s*(.*?)(?=\n\s*\n|\Z)", doc, re.S | re.M)
                if m:
                    hints[node.name] = " ".join(m.group(1).split())
    return hints


def quartiles(values) -> dict:
    """Median, quartiles (linear interpolation, numpy's default), minimum and maximum."""
    if not len(values):
        return {"n": 0, "median": None, "q1": None, "q3": None, "min": None, "max": None}
    a = np.asarray(values, dtype=float)
    q1, med, q3 = np.percentile(a, [25, 50, 75])
    return {"n": int(a.size), "median": float(med), "q1": float(q1), "q3": float(q3),
            "min": float(a.min()), "max": float(a.max())}


@dataclass
class Mistake:
    exercise: str
    key: str                                      # mistake_key of the diagnosis
    label: str                                    # its most frequent wording
    students: list[str] = field(default_factory=list)
    failures: int = 0                             # failed tests that gave it
    functions: list[str] = field(default_factory=list)
    wordings: set = field(default_factory=set)

    @property
    def numbers_vary(self) -> bool:
        return len(self.wordings) > 1

    @property
    def hint(self) -> str:
        hints = exercise_hints()
        return " ".join(dict.fromkeys(hints[f] for f in self.functions if f in hints))


@dataclass
class TestStat:
    name: str
    exercise: str
    max_score: float
    checked: str
    passed: int = 0
    total: int = 0

    @property
    def rate(self) -> float:
        return self.passed / self.total if self.total else 0.0


@dataclass
class ExerciseSummary:
    exercise: str
    title: str
    max_score: float
    scores: list[float]
    stats: dict
    tests: list[TestStat]
    mistakes: list[Mistake]
    unfinished: list[Mistake]                     # not attempted
    undiagnosed_failures: int
    undiagnosed_students: list[str]
    failures: int


@dataclass
class ClassSummary:
    results: ClassResults
    size: int
    graded: list[Student]
    totals: list[float]
    total_stats: dict
    max_total: float
    exercises: list[ExerciseSummary]
    top_mistakes: list[Mistake]
    not_graded: list[tuple[str, str]]
    refused: list[tuple[str, str]]
    intake_notes: list[tuple[str, str]]
    insecure: list[str]
    grader_errors: list[tuple[str, str]]


def _counted(pairs: dict) -> list:
    return sorted(pairs.values(), key=lambda m: (-len(m.students), -m.failures, m.key))


def analyse(results: ClassResults) -> ClassSummary:
    graded = results.graded
    per_ex_tests: dict[str, dict[str, TestStat]] = {ex: {} for ex in results.maxima}
    mistakes: dict[str, dict[str, Mistake]] = {ex: {} for ex in results.maxima}
    wording_counts: dict[tuple[str, str], dict[str, int]] = {}
    undiagnosed: dict[str, list[str]] = {ex: [] for ex in results.maxima}
    undiagnosed_n = dict.fromkeys(results.maxima, 0)
    failures = dict.fromkeys(results.maxima, 0)
    for s in graded:
        for t in s.tests:
            stats = per_ex_tests.setdefault(t.exercise, {})
            stat = stats.setdefault(t.name, TestStat(t.name, t.exercise, t.max_score, t.checked))
            stat.total += 1
            stat.passed += t.passed
            stat.checked = stat.checked or t.checked
            if t.passed:
                continue
            failures[t.exercise] = failures.get(t.exercise, 0) + 1
            if not t.diagnosis:
                undiagnosed_n[t.exercise] = undiagnosed_n.get(t.exercise, 0) + 1
                if s.sid not in undiagnosed.setdefault(t.exercise, []):
                    undiagnosed[t.exercise].append(s.sid)
                continue
            key = mistake_key(t.diagnosis)
            m = mistakes.setdefault(t.exercise, {}).setdefault(key, Mistake(t.exercise, key, t.diagnosis))
            m.failures += 1
            m.wordings.add(t.diagnosis)
            counts = wording_counts.setdefault((t.exercise, key), {})
            counts[t.diagnosis] = counts.get(t.diagnosis, 0) + 1
            if s.sid not in m.students:
                m.students.append(s.sid)
            if t.function and t.function not in m.functions:
                m.functions.append(t.function)
    for (ex, key), counts in wording_counts.items():
        mistakes[ex][key].label = max(sorted(counts), key=counts.get)

    exercises = []
    for ex, top in results.maxima.items():
        scores = [s.exercise_scores().get(ex, 0.0) for s in graded]
        found = _counted(mistakes.get(ex, {}))
        tests = sorted(per_ex_tests.get(ex, {}).values(), key=lambda t: (t.rate, t.name))
        exercises.append(ExerciseSummary(
            ex, results.titles.get(ex, ex), top, scores, quartiles(scores), tests,
            [m for m in found if not not_attempted(m.label)], [m for m in found if not_attempted(m.label)],
            undiagnosed_n.get(ex, 0), undiagnosed.get(ex, []), failures.get(ex, 0)))
    every = [m for e in exercises for m in e.mistakes]
    top = sorted(every, key=lambda m: (-len(m.students), -m.failures, m.exercise, m.key))[:3]

    not_graded, refused, notes, insecure, errors = [], [], [], [], []
    for s in results.students:
        if not s.graded:
            not_graded.append((s.sid, s.not_graded))
        for note in s.notes:
            if note.startswith(_SANDBOX_NOTE) or note.startswith("NOT GRADED: "):
                continue
            if note.startswith("WARNING: INSECURE GRADING"):
                insecure.append(s.sid)
            elif note.startswith(_INTAKE_REFUSED):
                refused.append((s.sid, note[len(_INTAKE_REFUSED):]))
            elif note.startswith("grader error"):
                errors.append((s.sid, note))
            elif note.startswith("unreadable submission"):
                not_graded.append((s.sid, note))
            else:
                notes.append((s.sid, note))
    totals = [s.score for s in graded]
    return ClassSummary(results, len(results.students), graded, totals, quartiles(totals),
                        sum(results.maxima.values()), exercises, top, not_graded, refused, notes,
                        insecure, errors)
