"""`tt problems grade`: mark every answers file against the student's own exact key.

    OUT/<student_id>/results.json     Gradescope format (grader/report.py)
    OUT/<student_id>/feedback.html    the same, as a page for the student
    OUT/class.csv                     the gradebook: one row per roster student
    OUT/grading_errors.txt            every file that could not be matched or read, and
                                      every warning (unknown keys, other variants, ...)
    OUT/.grading-journal.jsonl        what each graded student's outputs were made from

Which student a file belongs to: its `student_id = ...` line. Files are found
recursively under ANSWERS_DIR (hidden files and folders skipped); answers files end in
`.txt` in any case (`s001.TXT`); every other file is listed in grading_errors.txt.
When a file cannot be read, its name (`s001.txt`, or the folder `s001/`) tells whose it
is, if it names a roster student.

One bad file never stops the class:
    - an unknown student or an unreadable file is reported, and everyone else graded;
    - students are graded in forked worker processes (where fork exists), each student
      under a time limit (STUDENT_TIMEOUT) in a worker with a memory limit, and each
      answer under its own time limit (ANSWER_TIMEOUT): an answer that takes too long or
      needs too much memory scores 0 as unreadable; a student whose grading still runs
      over has their worker killed and replaced, and is listed with status `error`;
    - results are written as each student finishes: results.json and feedback.html
      atomically, a line in the journal, and class.csv (rows not yet graded say
      `pending`) and grading_errors.txt at least every PROGRESS_EVERY seconds. An
      interrupted run keeps what is done; running the same command again reuses every
      student whose journal line has the same fingerprint (their answers files' bytes,
      their variant, the options and the grader's code: fingerprint.grade_inputs) and
      whose two files are there, and grades the others (`force=True` regrades everyone).

Before anyone is graded, every answers file's `variant = ...` line is compared with the
variant that --secret and --assignment give its student. A mismatch is graded against
the student's own set and reported; when most files mismatch, the secret or the
assignment is wrong, and nothing is graded (WrongSecret).

This module marks answers and runs the class; finding and matching the files is
grading_files.py, the worker processes grading_workers.py, and the outcome of a student
and the journal grading_journal.py.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from grader.problems import BANK, build_set, warm_caches
from grader.problems.answers import HEADER_KEYS, AnswersError, AnswersFile, unknown_key_warning
from grader.problems.core import Instance
from grader.problems.fingerprint import grade_inputs, grader_version
from grader.problems import grading_manual as gm
from grader.problems.grading_files import (WrongSecret, _file_bytes, answer_keys, check_variants,
                                           collect)
from grader.problems.grading_journal import (JOURNAL, STATUSES, GradeSummary, Outcome,
                                             _from_journal, _journal_entry, _read_journal)
from grader.problems.grading_workers import WORKER_TASKS, run_isolated
from grader.problems.marking import Mark, mark
from grader.problems.roster import Student
from grader.problems.variants import student_seed, variant_id
from grader.report import Report, TestResult, write_class_csv, write_feedback_html, write_results_json
from tt.io import atomic_write_text
from tt.progress import Progress

__all__ = ["ANSWER_TIMEOUT", "STUDENT_TIMEOUT", "MEMORY_LIMIT", "WORKER_TASKS", "JOURNAL",
           "STATUSES", "WrongSecret", "Outcome", "GradeSummary", "answer_keys", "collect",
           "check_variants", "grade", "grade_file", "grade_student", "timed_mark"]

ANSWER_TIMEOUT = 10.0        # seconds to read and mark one answer
STUDENT_TIMEOUT = 120.0      # seconds for one student's whole grading (a backstop)
MEMORY_LIMIT = 1 << 30       # bytes of address space one student's grading may add
PROGRESS_EVERY = 1.0         # seconds between rewrites of class.csv while grading


def _title(assignment: str) -> str:
    return f"Stage 10 problem set ({assignment})"


def _checked(part) -> str:
    # Prompts are noun phrases or questions: "What flows backward?: one letter" read oddly.
    return f"{part.prompt} (answer: {part.form()}; tolerance: {part.tolerance_text()})"


PROBLEM_KEYS = [p.key for p in BANK]


# ------------------------------------------------------------------ one answer, timed
class AnswerTimeout(Exception):
    pass


def _can_time() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def timed_mark(part, text: str, reveal: bool, limit: float) -> tuple[Mark, str]:
    """mark(), stopped after `limit` seconds of this process's CPU time (ITIMER_PROF), so
    that a loaded machine never times out an answer that is quick to check; a stalled
    worker is stopped by the per-student wall-clock limit instead. Returns (mark, problem
    for the instructor: '' when none). Too slow, too much memory or a failure of our own: the answer scores
    0 as unreadable and the student is told why."""
    armed = False

    def alarm(signum, frame):
        if armed:
            raise AnswerTimeout()

    old = None
    timed = limit and limit > 0 and _can_time()
    try:
        if timed:
            old = signal.signal(signal.SIGPROF, alarm)
            armed = True
            signal.setitimer(signal.ITIMER_PROF, limit)
        return mark(part, text, reveal), ""
    except AnswerTimeout:
        why = f"checking it took longer than {limit:g} s (write it more simply)"
    except MemoryError:
        why = "checking it needs too much memory (write it more simply)"
    except RecursionError:
        why = "it is nested too deeply to check"
    except Exception as exc:            # a bug of ours must cost only this answer
        why = f"it could not be checked ({type(exc).__name__})"
    finally:
        armed = False
        if timed:
            signal.setitimer(signal.ITIMER_PROF, 0)
            signal.signal(signal.SIGPROF, old)
    return Mark(0.0, part.points, f"could not read the answer: {why}"), why


# ---------------------------------------------------------------------- one student
def grade_file(student: Student, instances: list[Instance], answers: AnswersFile,
               variant: str, assignment: str, reveal: bool = False,
               visibility: str = "visible", answer_timeout: float = ANSWER_TIMEOUT,
               manual: dict | None = None) -> tuple[Report, list[str]]:
    """Mark every part of a student's set from their (validated) answers file; free-text
    parts get the points a person gave them (`manual`: {answer key: {"points",
    "comment"}}, see grading_manual.py), or 0 while they wait for grading.
    Returns the report and the problems to list in grading_errors.txt."""
    manual = manual or {}
    start = time.perf_counter()
    tests, notes, errors = [], [], []
    sid = student.student_id
    if answers.variant and answers.variant != variant:
        notes.append(f"This answers file says variant {answers.variant}, but your variant is "
                     f"{variant}: your answers were graded against your own set ({variant}).")
    keys = {i.answer_key(p) for i in instances for p in i.parts}
    warnings = list(answers.warnings)
    warnings += [unknown_key_warning(answers.path, line, key, {*keys, *HEADER_KEYS})
                 for key, (_, line) in answers.values.items() if key not in keys]
    if warnings:
        notes.append("Some lines were not graded, because their keys are not in the blank "
                     "answers file (everything else was graded):")
        notes += warnings
        errors.append("\n    ".join([f"{sid}: unknown keys, not graded (the rest of the file "
                                     "was)", *warnings]))
    for n, inst in enumerate(instances, start=1):
        group = f"{n}. {inst.problem.title} ({inst.problem.source})"
        for part in inst.parts:
            key = inst.answer_key(part)
            text, line = answers.values.get(key, ("", 0))
            if part.manual:
                m, problem = _manual_mark(part, text, manual.get(key)), ""
            else:
                m, problem = timed_mark(part, text, reveal, answer_timeout)
            if problem:
                errors.append(f"{sid}: {key} (line {line}): the answer could not be read: "
                              f"{problem}; it scored 0")
            shown = (f"Your answer (line {line}): {text}" if text.strip() else "No answer given.")
            tests.append(TestResult(name=f"{key}: {part.prompt}", score=m.score,
                                    max_score=part.points,
                                    status="passed" if m.passed else "failed",
                                    output=shown, visibility=visibility,
                                    checked=_checked(part), diagnosis=m.diagnosis, group=group))
    return (Report(sid, _title(assignment), tests, time.perf_counter() - start, notes,
                   visibility=visibility), errors)


def _manual_mark(part, text: str, grade: dict | None) -> Mark:
    if not text.strip():
        return Mark(0.0, part.points, "no answer given")
    if grade is None:
        return Mark(0.0, part.points, f"{PENDING}: graded by your instructor against a rubric; "
                    "0 points until then")
    comment = f": {grade['comment']}" if grade.get("comment") else ""
    return Mark(float(grade["points"]), part.points, f"graded by your instructor{comment}")


PENDING = "awaiting manual grading"


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


@dataclass
class Task:
    """Everything one student's grading needs (sent to a worker process)."""
    student: Student
    seed: bytes | None
    variant: str
    state: str                   # graded | malformed | duplicate | missing
    answers: AnswersFile | None
    notes: list[str]
    errors: list[str]
    file: str
    fingerprint: str
    assignment: str
    reveal: bool
    visibility: str
    answer_timeout: float
    manual: dict = field(default_factory=dict)   # this student's free-text grades
    out: str = ""                  # when set, the worker writes the student's two files there


def _problem_scores(report: Report) -> dict:
    scores: dict[str, float] = {}
    for t in report.tests:
        problem = t.name.split(".", 1)[0]
        scores[problem] = round(scores.get(problem, 0) + t.score, 4)
    return scores


def _finish(task: Task, status: str, report: Report, errors: list[str]) -> Outcome:
    return Outcome(task.student, status, task.variant, task.file, report.score,
                   report.max_score, _problem_scores(report), errors, report)


def grade_student(task: Task) -> Outcome:
    instances = build_set(task.seed)
    errors = list(task.errors)
    if task.state == "graded":
        report, more = grade_file(task.student, instances, task.answers, task.variant,
                                  task.assignment, task.reveal, task.visibility,
                                  task.answer_timeout, task.manual)
        outcome = _finish(task, "graded", report, errors + more)
    else:
        outcome = _finish(task, task.state, ungraded_report(
            task.student, instances, task.assignment, task.notes, task.visibility), errors)
    if task.out:
        # In the worker, in parallel: the parent only records the journal line after.
        write_files(outcome, Path(task.out))
    return outcome


def write_files(outcome: Outcome, out: Path) -> None:
    """The student's results.json and feedback.html (each atomically)."""
    sid = outcome.student.student_id
    write_results_json(outcome.report, out / sid / "results.json")
    write_feedback_html(outcome.report, out / sid / "feedback.html")
    outcome.written = True


def failed_outcome(task: Task, why: str) -> Outcome:
    """The student whose grading was stopped or crashed: 0, status error, the reason."""
    notes = [f"Your answers file could not be graded: {why}. Your instructor has been told."]
    report = ungraded_report(task.student, build_set(task.seed), task.assignment, notes,
                             task.visibility)
    errors = [*task.errors, f"{task.student.student_id}: grading stopped: {why}; "
                            "status error, scored 0"]
    return _finish(task, "error", report, errors)


# ------------------------------------------------------------- isolated worker processes
# ----------------------------------------------------------------------- the class
def grade(answers_dir: str | Path, students: list[Student], secret: str, assignment: str,
          out: str | Path, reveal: bool = False, visibility: str = "visible",
          show_progress: bool = True, variant0: bool = False, jobs: int | None = None,
          force: bool = False, answer_timeout: float = ANSWER_TIMEOUT,
          student_timeout: float = STUDENT_TIMEOUT, memory_limit: int = MEMORY_LIMIT,
          manual: str | Path | None = None) -> GradeSummary:
    """Grade the class. `manual`: a filled-in manual grading sheet to merge first
    (grading_manual.py); grades merged by earlier runs apply either way."""
    answers_dir, out = Path(answers_dir), Path(out)
    if not answers_dir.is_dir():
        raise FileNotFoundError(f"{answers_dir}: no such folder of answers files")
    found, file_errors = collect(answers_dir, students)
    seeds = {s.student_id: None if variant0 else student_seed(secret, assignment, s.student_id)
             for s in students}
    expected = {sid: "0" if seed is None else variant_id(seed) for sid, seed in seeds.items()}
    mismatches = check_variants(found, expected, assignment)
    mismatch_of = {line.split(":", 1)[0]: line for line in mismatches}
    journal_path = out / JOURNAL
    journal = {} if force else _read_journal(journal_path)
    options = {"reveal": reveal, "visibility": visibility, "variant0": variant0,
               "answer_timeout": answer_timeout}
    slots = manual_slots(students, found)
    store = gm.read_store(out)
    sheet_errors: list[str] = []
    merged = 0
    if manual is not None:
        grades, sheet_errors = gm.read_sheet(manual, slots)
        merged = gm.merge(store, grades)
        out.mkdir(parents=True, exist_ok=True)
        gm.write_store(out, store)          # before grading: an interruption loses nothing
    done_by_hand = gm.applicable(store, slots)
    file_errors = [*file_errors, *sheet_errors]

    outcomes: dict[str, Outcome] = {}
    tasks: list[Task] = []
    for student in students:
        sid = student.student_id
        files = found.get(sid, [])
        fingerprint = grade_inputs(student, seeds[sid], assignment,
                                   [(str(p), _file_bytes(p)) for p, _ in files],
                                   {**options, "manual": done_by_hand.get(sid, {})})
        entry = journal.get(sid)
        folder = out / sid
        if (entry and entry.get("fingerprint") == fingerprint
                and (folder / "results.json").is_file() and (folder / "feedback.html").is_file()):
            try:
                outcomes[sid] = _from_journal(student, entry)
                continue
            except (KeyError, TypeError, ValueError):
                pass
        errors = [mismatch_of[sid]] if sid in mismatch_of else []
        answers, notes, path = None, [], ""
        if len(files) > 1:
            names = ", ".join(str(p) for p, _ in files)
            msg = f"{sid}: more than one answers file ({names}); none was graded"
            state, notes, path, errors = "duplicate", [msg], names, [msg]
        elif files:
            file_path, parsed = files[0]
            path = str(file_path)
            if isinstance(parsed, AnswersError):
                state = "malformed"
                notes = ["The answers file could not be read:", *parsed.problems]
                if parsed.warnings:
                    notes += ["Also, these keys are not in the blank answers file:",
                              *parsed.warnings]
                errors.append("\n    ".join([f"{sid}: malformed answers file",
                                             *parsed.problems, *parsed.warnings]))
            else:
                state, answers = "graded", parsed
        else:
            state, notes = "missing", [f"No answers file was found for {sid}."]
        tasks.append(Task(student, seeds[sid], expected[sid], state, answers, notes, errors,
                          path, fingerprint, assignment, reveal, visibility, answer_timeout,
                          done_by_hand.get(sid, {}), str(out)))

    bar = Progress(len(students), desc="grading", force=None if show_progress else False)
    bar.update(len(outcomes))
    fingerprints = {t.student.student_id: t.fingerprint for t in tasks}
    last_write = [time.monotonic()]
    out.mkdir(parents=True, exist_ok=True)
    with open(journal_path, "a", encoding="utf-8") as journal_file:

        def done(outcome: Outcome) -> None:
            sid = outcome.student.student_id
            if not outcome.written:
                write_files(outcome, out)
            journal_file.write(json.dumps(_journal_entry(outcome, fingerprints[sid])) + "\n")
            journal_file.flush()
            os.fsync(journal_file.fileno())
            outcomes[sid] = outcome
            bar.update()
            if time.monotonic() - last_write[0] >= PROGRESS_EVERY:
                _write_outputs(out, students, outcomes, file_errors, final=False)
                last_write[0] = time.monotonic()

        isolate = "fork" in multiprocessing.get_all_start_methods()
        if tasks and isolate:
            warm_caches()               # filled once here; the workers inherit them
            grader_version()
            jobs = max(1, min(jobs or os.cpu_count() or 1, len(tasks)))
            run_isolated(tasks, jobs, student_timeout, memory_limit, done, grade_student,
                         failed_outcome)
        else:
            for task in tasks:
                try:
                    done(grade_student(task))
                except Exception as exc:           # noqa: BLE001
                    done(failed_outcome(task, f"{type(exc).__name__}: {exc}"))
    if show_progress:
        bar.close()
    summary = _write_outputs(out, students, outcomes, file_errors, final=True)
    gm.write_sheet(out, slots, done_by_hand)
    summary.manual = (len(slots), sum(len(v) for v in done_by_hand.values()), merged)
    # The journal, compacted: one line per roster student, as graded now.
    lines = [json.dumps(_journal_entry(o, fingerprints.get(sid) or journal[sid]["fingerprint"]))
             for sid, o in ((s.student_id, outcomes[s.student_id]) for s in students)]
    atomic_write_text(journal_path, "\n".join(lines) + "\n")
    return summary


def manual_slots(students: list[Student], found: dict) -> dict:
    """Every free-text answer handed in by a student with one readable answers file."""
    reference = {inst.answer_key(p): p for inst in build_set(None) for p in inst.parts
                 if p.manual}
    slots = {}
    for student in students:
        files = found.get(student.student_id, [])
        if len(files) != 1 or not isinstance(files[0][1], AnswersFile):
            continue
        for key, part in reference.items():
            text = files[0][1].values.get(key, ("", 0))[0]
            if text.strip():
                slots[(student.student_id, key)] = gm.Slot(
                    student.student_id, student.name, key, part.prompt, part.points,
                    part.rubric, str(part.answer), text[:gm.MAX_TEXT])
    return slots


def _write_outputs(out: Path, students: list[Student], outcomes: dict[str, Outcome],
                   file_errors: list[str], final: bool) -> GradeSummary:
    ordered = [outcomes.get(s.student_id) or Outcome(s, "pending", "") for s in students]
    errors = list(file_errors)
    for o in ordered:
        errors += o.errors
    _write_gradebook(ordered, out / "class.csv")
    head = "" if final else (f"grading in progress: {sum(o.status != 'pending' for o in ordered)}"
                             f" of {len(ordered)} students done\n")
    atomic_write_text(out / "grading_errors.txt",
                      head + (("\n".join(errors) + "\n") if errors else "no problems\n"))
    return GradeSummary(ordered, errors)


def _write_gradebook(outcomes: list[Outcome], path: Path) -> None:
    columns = ["student_id", "name", "email", "status", "variant", "score", "max_score",
               *PROBLEM_KEYS, "file"]
    write_class_csv([o.row() for o in outcomes], columns, path)
