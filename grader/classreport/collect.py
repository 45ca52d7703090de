"""Reading a graded class: `tt grade-all`'s folder, as untrusted input.

    results = read_class("graded/")        # ClassResults: a Student per results.json

grade-all writes `<out>/<student>/results.json` (Gradescope's schema, grader/report.py) and
`<out>/gradebook.csv`. Every string in results.json may hold text a student chose (a test's
output is their exception message, a note names the files of their zip, an id is the name
of their folder), so nothing here is trusted beyond its type: a file too large, not JSON or
of the wrong shape is reported and the student is listed as not graded, with the reason.

A test's `output` is written by grader/report.py as

    Checked: <what the test checks>          the grader's own text (the test's docstring)
    <the failure message, capped>            what the student's code did (may be anything)
    Diagnosis: <the named mistake>           the grader's own text, when it recognised it

so the diagnosis is the text after the last "Diagnosis: " line. A student's error message can
end in such a line too, on a test the suites did not diagnose; the sandbox reports an error
with its traceback, which ends in the message again, so a "diagnosis" that the message
already holds is the student's and is dropped. (One that is not repeated would pass: a
label of the student's choice in their own row only; docs/report.md says so.)
"""
from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

MAX_RESULTS_BYTES = 16 * 2**20      # a results.json is ~0.1-0.5 MB (96 tests, 4,000 characters each at most)
MAX_TEXT = 4000                     # characters kept of any string read from results.json
MAX_ID = 200
_EXERCISE = re.compile(r"(ex\d\d) ")
_FUNCTION = re.compile(r"(?:ex\d\d_\w+\.)?([A-Za-z_]\w*)")
GRADEBOOK = "gradebook.csv"
RESULTS = "results.json"


@dataclass
class Test:
    """One hidden test of one student."""
    name: str
    exercise: str            # "ex04", from the name ("ex04 test_random_batch")
    group: str               # the exercise's title (the test's tag)
    score: float
    max_score: float
    passed: bool
    checked: str = ""        # grader text
    message: str = ""        # the failure message: student-influenced
    diagnosis: str = ""      # grader text (see the module's docstring)

    @property
    def function(self) -> str:
        """The exercise function the failure message names first ("" if none)."""
        m = _FUNCTION.match(self.message)
        return m.group(1) if m else ""


@dataclass
class Student:
    sid: str
    tests: list[Test] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    not_graded: str = ""     # why this student has no grade ("" when graded)

    @property
    def graded(self) -> bool:
        return not self.not_graded

    @property
    def score(self) -> float:
        return round(sum(t.score for t in self.tests), 4)

    @property
    def max_score(self) -> float:
        return round(sum(t.max_score for t in self.tests), 4)

    def exercise_scores(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for t in self.tests:
            out[t.exercise] = out.get(t.exercise, 0.0) + t.score
        return out


@dataclass
class ClassResults:
    folder: Path
    students: list[Student]
    titles: dict[str, str]                          # "ex04" -> its title
    maxima: dict[str, float]                        # "ex04" -> its points
    skipped: list[str] = field(default_factory=list)   # entries grade-all did not take

    @property
    def graded(self) -> list[Student]:
        return [s for s in self.students if s.graded]


def _text(value, cap: int = MAX_TEXT) -> str:
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    return text if len(text) <= cap else text[:cap] + f"… [{len(text) - cap:,} more characters]"


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def split_output(output: str) -> tuple[str, str, str]:
    """(checked, message, diagnosis) of a test's output as grader/report.py writes it."""
    checked, rest = "", output
    if rest.startswith("Checked: "):
        checked, _, rest = rest[len("Checked: "):].partition("\n")
    diagnosis = ""
    if rest.startswith("Diagnosis: "):
        diagnosis, rest = rest[len("Diagnosis: "):], ""
    else:
        head, sep, tail = rest.rpartition("\nDiagnosis: ")
        if sep:
            rest, diagnosis = head, tail
            if "Diagnosis: " + tail in head:     # the student's own text, said twice (message and
                rest, diagnosis = head + sep + tail, ""   # traceback): not the grader's
    return checked.strip(), rest, diagnosis.strip()


def parse_results(sid: str, data) -> Student:
    """A Student from a results.json object; a malformed one is a student not graded."""
    student = Student(sid)
    if not isinstance(data, dict):
        student.not_graded = "results.json is not a JSON object"
        return student
    if data.get("not_graded"):
        student.not_graded = _text(data["not_graded"], 1000)
    output = data.get("output")
    if isinstance(output, str):
        student.notes = [_text(line, 1000) for line in output.splitlines()[1:] if line.strip()]
    tests = data.get("tests")
    if not isinstance(tests, list):
        student.not_graded = student.not_graded or "results.json has no list of tests"
        return student
    for entry in tests:
        if not isinstance(entry, dict):
            continue
        name = _text(entry.get("name"), MAX_ID)
        score, top = _number(entry.get("score")), _number(entry.get("max_score"))
        m = _EXERCISE.match(name)
        if m is None or score is None or top is None:
            continue                       # not a hidden test of an exercise
        tags = entry.get("tags")
        group = _text(tags[0], MAX_ID) if isinstance(tags, list) and tags else ""
        checked, message, diagnosis = split_output(_text(entry.get("output"), 3 * MAX_TEXT))
        student.tests.append(Test(name, m.group(1), group, score, top, entry.get("status") == "passed",
                                  _text(checked, 1000), message, _text(diagnosis, 1000)))
    if not student.tests and not student.not_graded:
        student.not_graded = "results.json holds no hidden test"
    return student


def read_results(sid: str, path: Path) -> Student:
    try:
        size = path.stat().st_size
        if size > MAX_RESULTS_BYTES:
            return Student(sid, not_graded=f"results.json is {size:,} bytes, more than this report reads")
        data = json.loads(path.read_bytes().decode("utf-8", errors="replace"))
    except FileNotFoundError:
        return Student(sid, not_graded="no results.json: not graded yet (run tt grade-all again)")
    except (OSError, ValueError, RecursionError) as exc:
        return Student(sid, not_graded=f"results.json cannot be read ({type(exc).__name__})")
    return parse_results(sid, data)


def gradebook_ids(path: Path) -> list[str]:
    """The student ids of a gradebook, in its order ("'" that guards a formula removed)."""
    try:
        with open(path, newline="", encoding="utf-8", errors="replace") as f:
            rows = list(csv.reader(f))
    except OSError:
        return []
    ids = []
    for row in rows[1:]:
        if row and row[0]:
            sid = row[0]
            if sid.startswith("'") and sid[1:2] in ("=", "+", "-", "@", "\t", "\r"):
                sid = sid[1:]
            ids.append(sid)
    return ids


def class_ids(folder: Path) -> list[str]:
    """The students of a graded folder: those in its gradebook, then any other sub-folder
    with a results.json (a gradebook not rewritten yet, an interrupted run)."""
    ids = gradebook_ids(folder / GRADEBOOK)
    known = set(ids)
    for sub in sorted(folder.iterdir()):
        if sub.name not in known and not sub.name.startswith(".") and sub.is_dir() \
                and not sub.is_symlink() and (sub / RESULTS).is_file():
            ids.append(sub.name)
            known.add(sub.name)
    if not ids:
        raise FileNotFoundError(f"{folder}: neither a {GRADEBOOK} nor a student folder with a {RESULTS}: "
                                f"is it the --out folder of tt grade-all?")
    return [sid for sid in ids if "/" not in sid and "\\" not in sid and sid not in (".", "..")]


def read_class(folder, progress=None) -> ClassResults:
    """Every student of a graded folder (class_ids), read."""
    from grader.grading import exercise_titles
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder (the --out of tt grade-all)")
    ids = class_ids(folder)
    students = []
    for sid in ids:
        path = folder / sid / RESULTS
        students.append(read_results(_text(sid, MAX_ID), path) if not (folder / sid).is_symlink()
                        else Student(sid, not_graded="its folder is a symbolic link: not read"))
        if progress is not None:
            progress.update()
    titles = dict(exercise_titles())
    maxima: dict[str, float] = {}
    for s in students:              # the points of each exercise, from the fullest record
        for ex, top in _maxima(s).items():
            maxima[ex] = max(maxima.get(ex, 0.0), top)
    for ex in maxima:
        titles.setdefault(ex, f"Exercise {int(ex[2:])}")
    return ClassResults(folder, students, titles, dict(sorted(maxima.items())))


def _maxima(student: Student) -> dict[str, float]:
    out: dict[str, float] = {}
    for t in student.tests:
        out[t.exercise] = out.get(t.exercise, 0.0) + t.max_score
    return out
