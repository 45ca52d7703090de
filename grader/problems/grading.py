"""`tt problems grade`: mark every answers file against the student's own exact key.

    OUT/<student_id>/results.json     Gradescope format (grader/report.py)
    OUT/<student_id>/feedback.html    the same, as a page for the student
    OUT/class.csv                     the gradebook: one row per roster student
    OUT/grading_errors.txt            every file that could not be matched or read

Which student a file belongs to: its `student_id = ...` line. Files are found
recursively under ANSWERS_DIR (every *.txt, hidden files skipped), so both
`answers/s001.txt` and `answers/s001/answers.txt` work. When a file cannot be read at
all, its name (`s001.txt`, or the folder `s001/`) tells whose it is, if it names a
roster student.

One bad file never stops the class: an unknown student or an unreadable file is
reported (on stderr and in grading_errors.txt), and everyone else is graded. A student
with an unreadable file gets a report that lists the problems and scores 0; a student
with no file is listed as missing.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from grader.problems import build_set
from grader.problems.answers import AnswersError, AnswersFile, read_answers
from grader.problems.core import CHOICE, EXPRESSION, Instance
from grader.problems.marking import mark
from grader.problems.roster import Student
from grader.problems.variants import student_seed, variant_id
from grader.report import Report, TestResult, write_class_csv, write_feedback_html, write_results_json
from tt.io import atomic_write_text
from tt.progress import Progress


@dataclass
class Outcome:
    student: Student
    status: str                  # graded | missing | malformed | duplicate
    report: Report
    variant: str
    file: str = ""


@dataclass
class GradeSummary:
    outcomes: list[Outcome]
    errors: list[str] = field(default_factory=list)


def _title(assignment: str) -> str:
    return f"Stage 10 problem set ({assignment})"


def _checked(part) -> str:
    tol = "exact" if part.kind in (CHOICE, EXPRESSION) else part.tol.describe()
    return f"{part.prompt}: {part.form()}; tolerance: {tol}"


def grade_file(student: Student, instances: list[Instance], answers: AnswersFile,
               variant: str, assignment: str, reveal: bool = False,
               visibility: str = "visible") -> Report:
    """Mark every part of a student's set from their (validated) answers file."""
    start = time.perf_counter()
    tests, notes = [], []
    if answers.variant and answers.variant != variant:
        notes.append(f"This answers file says variant {answers.variant}, but your variant is "
                     f"{variant}: your answers were graded against your own set ({variant}).")
    for n, inst in enumerate(instances, start=1):
        group = f"{n}. {inst.problem.title} ({inst.problem.source})"
        for part in inst.parts:
            key = inst.answer_key(part)
            text, line = answers.values.get(key, ("", 0))
            m = mark(part, text, reveal)
            shown = (f"Your answer (line {line}): {text}" if text.strip() else "No answer given.")
            tests.append(TestResult(name=f"{key}: {part.prompt}", score=m.score,
                                    max_score=part.points,
                                    status="passed" if m.passed else "failed",
                                    output=shown, visibility=visibility,
                                    checked=_checked(part), diagnosis=m.diagnosis, group=group))
    return Report(student.student_id, _title(assignment), tests,
                  time.perf_counter() - start, notes, visibility=visibility)


def ungraded_report(student: Student, instances: list[Instance], assignment: str,
                    notes: list[str], visibility: str = "visible") -> Report:
    """Score 0 on every part, with the reason in the notes (missing or unreadable file)."""
    tests = []
    for n, inst in enumerate(instances, start=1):
        group = f"{n}. {inst.problem.title} ({inst.problem.source})"
        for part in inst.parts:
            tests.append(TestResult(name=f"{inst.answer_key(part)}: {part.prompt}", score=0.0,
                                    max_score=part.points, status="failed",
                                    output="Not graded.", visibility=visibility,
                                    checked=_checked(part), diagnosis=notes[0], group=group))
    return Report(student.student_id, _title(assignment), tests, 0.0, notes,
                  visibility=visibility)


def _owner_from_name(path: Path, ids: set[str]) -> str | None:
    for guess in (path.stem, path.parent.name):
        if guess in ids:
            return guess
    return None


def collect(answers_dir: Path, students: list[Student]) -> tuple[dict, dict, list[str]]:
    """Find each roster student's file. Returns (ok: id -> AnswersFile,
    bad: id -> (status, notes, path), errors for files that match nobody)."""
    ids = {s.student_id for s in students}
    found: dict[str, list[tuple[Path, AnswersFile | AnswersError]]] = {}
    errors: list[str] = []
    paths = sorted(p for p in answers_dir.rglob("*.txt")
                   if p.is_file() and not any(part.startswith(".")
                                              for part in p.relative_to(answers_dir).parts))
    for path in paths:
        try:
            parsed: AnswersFile | AnswersError = read_answers(path)
            owner = parsed.student_id
        except AnswersError as exc:
            parsed, owner = exc, _owner_from_name(path, ids)
            if owner is None:
                errors.append(f"{path}: cannot be read, and its name matches no roster "
                              "student:\n    " + "\n    ".join(exc.problems))
                continue
        if owner not in ids:
            errors.append(f"{path}: student_id {owner[:64]!r} is not on the roster; "
                          "the file was not graded")
            continue
        found.setdefault(owner, []).append((path, parsed))
    ok, bad = {}, {}
    for sid, files in found.items():
        if len(files) > 1:
            names = ", ".join(str(p) for p, _ in files)
            msg = f"{sid}: more than one answers file ({names}); none was graded"
            errors.append(msg)
            bad[sid] = ("duplicate", [msg], names)
            continue
        path, parsed = files[0]
        if isinstance(parsed, AnswersError):
            bad[sid] = ("malformed", ["The answers file could not be read:", *parsed.problems],
                        str(path))
        else:
            ok[sid] = parsed
    return ok, bad, errors


def grade(answers_dir: str | Path, students: list[Student], secret: str, assignment: str,
          out: str | Path, reveal: bool = False, visibility: str = "visible",
          show_progress: bool = True, variant0: bool = False) -> GradeSummary:
    answers_dir, out = Path(answers_dir), Path(out)
    if not answers_dir.is_dir():
        raise FileNotFoundError(f"{answers_dir}: no such folder of answers files")
    ok, bad, errors = collect(answers_dir, students)
    outcomes: list[Outcome] = []
    bar = Progress(len(students), desc="grading", force=None if show_progress else False)
    for student in students:
        seed = None if variant0 else student_seed(secret, assignment, student.student_id)
        variant = "0" if seed is None else variant_id(seed)
        instances = build_set(seed)
        if student.student_id in ok:
            answers = ok[student.student_id]
            keys = {i.answer_key(p) for i in instances for p in i.parts}
            try:   # the full check, now that this student's keys are known
                answers = read_answers(answers.path, keys)
                report = grade_file(student, instances, answers, variant, assignment, reveal,
                                    visibility)
                outcome = Outcome(student, "graded", report, variant, answers.path)
            except AnswersError as exc:
                notes = ["The answers file could not be read:", *exc.problems]
                outcome = Outcome(student, "malformed",
                                  ungraded_report(student, instances, assignment, notes,
                                                  visibility), variant, answers.path)
                errors.append("\n    ".join([f"{student.student_id}: malformed answers file",
                                             *exc.problems]))
        elif student.student_id in bad:
            status, notes, path = bad[student.student_id]
            if status == "malformed":
                errors.append("\n    ".join([f"{student.student_id}: malformed answers file",
                                             *notes[1:]]))
            outcome = Outcome(student, status, ungraded_report(student, instances, assignment,
                                                               notes, visibility), variant, path)
        else:
            notes = [f"No answers file was found for {student.student_id}."]
            outcome = Outcome(student, "missing", ungraded_report(student, instances, assignment,
                                                                  notes, visibility), variant)
        folder = out / student.student_id
        write_results_json(outcome.report, folder / "results.json")
        write_feedback_html(outcome.report, folder / "feedback.html")
        outcomes.append(outcome)
        bar.update()
    if show_progress:
        bar.close()
    _write_gradebook(outcomes, out / "class.csv")
    atomic_write_text(out / "grading_errors.txt",
                      ("\n".join(errors) + "\n") if errors else "no problems\n")
    return GradeSummary(outcomes, errors)


def _write_gradebook(outcomes: list[Outcome], path: Path) -> None:
    problem_keys: list[str] = []
    rows = []
    for o in outcomes:
        row = {"student_id": o.student.student_id, "name": o.student.name,
               "email": o.student.email, "status": o.status, "variant": o.variant,
               "score": o.report.score, "max_score": o.report.max_score, "file": o.file}
        for t in o.report.tests:
            problem = t.name.split(".", 1)[0]
            if problem not in problem_keys:
                problem_keys.append(problem)
            row[problem] = round(row.get(problem, 0) + t.score, 4)
        rows.append(row)
    columns = ["student_id", "name", "email", "status", "variant", "score", "max_score",
               *problem_keys, "file"]
    write_class_csv(rows, columns, path)
