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
"""
from __future__ import annotations

import json
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from grader.problems import BANK, build_set
from grader.problems.answers import (HEADER_KEYS, MAX_FILE_BYTES, AnswersError, AnswersFile,
                                     read_answers, unknown_key_warning)
from grader.problems.core import CHOICE, EXPRESSION, Instance
from grader.problems.fingerprint import grade_inputs, grader_version
from grader.problems.marking import Mark, mark
from grader.problems.roster import Student
from grader.problems.variants import student_seed, variant_id
from grader.report import Report, TestResult, write_class_csv, write_feedback_html, write_results_json
from tt.io import atomic_write_text
from tt.progress import Progress

ANSWER_TIMEOUT = 10.0        # seconds to read and mark one answer
STUDENT_TIMEOUT = 120.0      # seconds for one student's whole grading (a backstop)
MEMORY_LIMIT = 1 << 30       # bytes of address space one student's grading may add
PROGRESS_EVERY = 1.0         # seconds between rewrites of class.csv while grading
WORKER_TASKS = 50            # students one worker process grades before it is replaced
JOURNAL = ".grading-journal.jsonl"
STATUSES = ("graded", "missing", "malformed", "duplicate", "error", "pending")


class WrongSecret(ValueError):
    """Most answers files name other variants than the secret and assignment give."""


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

    @property
    def reused(self) -> int:
        return sum(1 for o in self.outcomes if o.reused)


def _title(assignment: str) -> str:
    return f"Stage 10 problem set ({assignment})"


def _checked(part) -> str:
    tol = "exact" if part.kind in (CHOICE, EXPRESSION) else part.tol.describe()
    return f"{part.prompt}: {part.form()}; tolerance: {tol}"


@lru_cache(maxsize=None)
def answer_keys() -> frozenset[str]:
    """The answer keys of a set (the same for every variant: names never depend on numbers)."""
    return frozenset(i.answer_key(p) for i in build_set(None) for p in i.parts)


PROBLEM_KEYS = [p.key for p in BANK]


# ------------------------------------------------------------------ one answer, timed
class AnswerTimeout(Exception):
    pass


def _can_time() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def timed_mark(part, text: str, reveal: bool, limit: float) -> tuple[Mark, str]:
    """mark(), stopped after `limit` seconds. Returns (mark, problem for the instructor:
    '' when none). Too slow, too much memory or a failure of our own: the answer scores
    0 as unreadable and the student is told why."""
    armed = False

    def alarm(signum, frame):
        if armed:
            raise AnswerTimeout()

    old = None
    timed = limit and limit > 0 and _can_time()
    try:
        if timed:
            old = signal.signal(signal.SIGALRM, alarm)
            armed = True
            signal.setitimer(signal.ITIMER_REAL, limit)
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
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
    return Mark(0.0, part.points, f"could not read the answer: {why}"), why


# ---------------------------------------------------------------------- one student
def grade_file(student: Student, instances: list[Instance], answers: AnswersFile,
               variant: str, assignment: str, reveal: bool = False,
               visibility: str = "visible", answer_timeout: float = ANSWER_TIMEOUT
               ) -> tuple[Report, list[str]]:
    """Mark every part of a student's set from their (validated) answers file.
    Returns the report and the problems to list in grading_errors.txt."""
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
                                  task.answer_timeout)
        return _finish(task, "graded", report, errors + more)
    return _finish(task, task.state, ungraded_report(task.student, instances, task.assignment,
                                                     task.notes, task.visibility), errors)


def failed_outcome(task: Task, why: str) -> Outcome:
    """The student whose grading was stopped or crashed: 0, status error, the reason."""
    notes = [f"Your answers file could not be graded: {why}. Your instructor has been told."]
    report = ungraded_report(task.student, build_set(task.seed), task.assignment, notes,
                             task.visibility)
    errors = [*task.errors, f"{task.student.student_id}: grading stopped: {why}; "
                            "status error, scored 0"]
    return _finish(task, "error", report, errors)


# ------------------------------------------------------------- isolated worker processes
def _limit_memory(extra: int) -> None:
    """Let this process grow by at most `extra` bytes of address space (Linux)."""
    try:
        import resource
        with open("/proc/self/statm") as f:
            size = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = size + extra
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, OSError, ValueError):
        pass


def _serve(conn, memory: int) -> None:
    """A worker: grade the tasks the parent sends, one at a time, until told to stop."""
    if memory:
        _limit_memory(memory)
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            break
        if task is None:
            break
        try:
            result = ("ok", grade_student(task))
        except BaseException as exc:   # noqa: BLE001 - reported to the parent
            result = ("failed", f"{type(exc).__name__}: {str(exc)[:200]}")
        try:
            conn.send(result)
        except Exception as exc:       # e.g. MemoryError while pickling
            conn.send(("failed", f"the result could not be returned ({type(exc).__name__})"))
    conn.close()


class _Worker:
    """One forked grading process and the task it is working on."""

    def __init__(self, ctx, memory: int):
        self.conn, theirs = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(theirs, memory), daemon=True)
        self.proc.start()
        theirs.close()
        self.task: Task | None = None
        self.deadline = 0.0
        self.graded = 0

    def start(self, task: Task, timeout: float) -> None:
        self.task, self.deadline = task, time.monotonic() + timeout
        self.conn.send(task)

    def stop(self) -> None:
        try:
            self.conn.send(None)
            self.proc.join(5)
        except (OSError, ValueError):
            pass
        self.kill()

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join()
        self.conn.close()


def _run_isolated(tasks: list[Task], jobs: int, timeout: float, memory: int, done) -> None:
    """Grade the tasks in `jobs` forked worker processes. A worker that is still on one
    student after `timeout` seconds is killed (it is one of ours) and replaced; the
    student gets status error. Workers are replaced after WORKER_TASKS students, so no
    one inherits much of another's memory."""
    ctx = multiprocessing.get_context("fork")
    queue = deque(tasks)
    workers: list[_Worker] = []
    try:
        while queue or any(w.task for w in workers):
            for i, w in enumerate(workers):
                if w.task is None and queue:
                    if w.graded >= WORKER_TASKS:
                        w.stop()
                        workers[i] = w = _Worker(ctx, memory)
                    w.start(queue.popleft(), timeout)
            while queue and len(workers) < jobs:
                workers.append(_Worker(ctx, memory))
                workers[-1].start(queue.popleft(), timeout)
            busy = {w.conn: w for w in workers if w.task is not None}
            wait = max(0.0, min(w.deadline for w in busy.values()) - time.monotonic())
            ready = multiprocessing.connection.wait(list(busy), timeout=wait)
            for conn in ready:
                w = busy[conn]
                task, w.task = w.task, None
                try:
                    kind, value = conn.recv()
                except (EOFError, OSError):
                    w.proc.join(5)
                    kind, value = "failed", (f"the grading process ended without a result "
                                             f"(exit code {w.proc.exitcode})")
                    w.kill()
                    workers.remove(w)
                w.graded += 1
                done(value if kind == "ok" else failed_outcome(task, value))
            now = time.monotonic()
            for conn, w in busy.items():
                if conn not in ready and w.task is not None and now >= w.deadline:
                    task = w.task
                    w.kill()
                    workers.remove(w)
                    done(failed_outcome(task, f"it took longer than {timeout:g} s"))
    finally:
        for w in workers:
            if w.task is None:
                w.stop()
            else:
                w.kill()


# -------------------------------------------------------------------- finding files
def _owner_from_name(path: Path, ids: set[str]) -> str | None:
    for guess in (path.stem, path.parent.name):
        if guess in ids:
            return guess
    return None


def _visible_files(answers_dir: Path) -> list[Path]:
    return sorted(p for p in answers_dir.rglob("*")
                  if p.is_file() and not any(part.startswith(".")
                                             for part in p.relative_to(answers_dir).parts))


def collect(answers_dir: Path, students: list[Student], keys=None
            ) -> tuple[dict, list[str]]:
    """Every roster student's files, and the errors about files that match nobody.

    Returns (found: id -> [(path, AnswersFile | AnswersError)], errors)."""
    keys = answer_keys() if keys is None else keys
    ids = {s.student_id for s in students}
    found: dict[str, list[tuple[Path, AnswersFile | AnswersError]]] = {}
    errors: list[str] = []
    for path in _visible_files(answers_dir):
        if path.suffix.lower() != ".txt":
            owner = _owner_from_name(path, ids)
            whose = f" (its name matches roster student {owner})" if owner else ""
            errors.append(f"{path}: not an answers file (answers files end in .txt){whose}; "
                          "not graded: rename it to .txt if it is one")
            continue
        try:
            parsed: AnswersFile | AnswersError = read_answers(path, keys)
            owner = parsed.student_id
        except AnswersError as exc:
            parsed = exc
            owner = exc.student_id if exc.student_id in ids else _owner_from_name(path, ids)
            if owner is None:
                errors.append(f"{path}: cannot be read, and no roster student is named in it "
                              "or by its name:\n    "
                              + "\n    ".join([*exc.problems, *exc.warnings]))
                continue
        if owner not in ids:
            errors.append(f"{path}: student_id {owner[:64]!r} is not on the roster; "
                          "the file was not graded")
            continue
        found.setdefault(owner, []).append((path, parsed))
    return found, errors


def _variant_of(parsed) -> str:
    return parsed.variant if isinstance(parsed, AnswersFile) else getattr(parsed, "variant", "")


def check_variants(found: dict, expected: dict[str, str], assignment: str) -> list[str]:
    """The mismatches, one line each; WrongSecret when most files mismatch."""
    named, wrong = 0, []
    for sid, files in found.items():
        for path, parsed in files:
            v = _variant_of(parsed)
            if not v:
                continue
            named += 1
            if v != expected[sid]:
                wrong.append((path, v, expected[sid], sid))
    if wrong and 2 * len(wrong) > named:
        path, v, e, _ = wrong[0]
        raise WrongSecret(
            f"{len(wrong)} of {named} answers files name another variant than --secret and "
            f"--assignment {assignment!r} give their students (e.g. {path}: variant {v}, "
            f"expected {e}): wrong --secret/--assignment? Nothing was graded.")
    return [f"{sid}: {path} says variant {v}, but with this secret and assignment the "
            f"student's variant is {e}; graded against the student's own set {e}"
            for path, v, e, sid in wrong]


def _file_bytes(path: Path) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(MAX_FILE_BYTES + 1)
    except OSError:
        return b""


# ------------------------------------------------------------------------- journal
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


# ----------------------------------------------------------------------- the class
def grade(answers_dir: str | Path, students: list[Student], secret: str, assignment: str,
          out: str | Path, reveal: bool = False, visibility: str = "visible",
          show_progress: bool = True, variant0: bool = False, jobs: int | None = None,
          force: bool = False, answer_timeout: float = ANSWER_TIMEOUT,
          student_timeout: float = STUDENT_TIMEOUT, memory_limit: int = MEMORY_LIMIT
          ) -> GradeSummary:
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

    outcomes: dict[str, Outcome] = {}
    tasks: list[Task] = []
    for student in students:
        sid = student.student_id
        files = found.get(sid, [])
        fingerprint = grade_inputs(student, seeds[sid], assignment,
                                   [(str(p), _file_bytes(p)) for p, _ in files], options)
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
                          path, fingerprint, assignment, reveal, visibility, answer_timeout))

    bar = Progress(len(students), desc="grading", force=None if show_progress else False)
    bar.update(len(outcomes))
    fingerprints = {t.student.student_id: t.fingerprint for t in tasks}
    last_write = [time.monotonic()]
    out.mkdir(parents=True, exist_ok=True)
    with open(journal_path, "a", encoding="utf-8") as journal_file:

        def done(outcome: Outcome) -> None:
            sid = outcome.student.student_id
            write_results_json(outcome.report, out / sid / "results.json")
            write_feedback_html(outcome.report, out / sid / "feedback.html")
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
            build_set(None)            # fill the symbolic caches once; workers inherit them
            grader_version()
            jobs = max(1, min(jobs or os.cpu_count() or 1, len(tasks)))
            _run_isolated(tasks, jobs, student_timeout, memory_limit, done)
        else:
            for task in tasks:
                try:
                    done(grade_student(task))
                except Exception as exc:           # noqa: BLE001
                    done(failed_outcome(task, f"{type(exc).__name__}: {exc}"))
    if show_progress:
        bar.close()
    summary = _write_outputs(out, students, outcomes, file_errors, final=True)
    # The journal, compacted: one line per roster student, as graded now.
    lines = [json.dumps(_journal_entry(o, fingerprints.get(sid) or journal[sid]["fingerprint"]))
             for sid, o in ((s.student_id, outcomes[s.student_id]) for s in students)]
    atomic_write_text(journal_path, "\n".join(lines) + "\n")
    return summary


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
