"""Grading one submission: intake, the hidden suites in pytest, and a Report.

    report = grade_submission("submissions/alice.zip", seed=1234)
    write_outputs(report, "graded/alice")      # results.json (Gradescope) + feedback.html

The hidden suites run in THIS process, which holds the reference and the expected
values; the submission's code runs only in the sandbox worker the suites start. A
submission is first reduced to its exercise files (grader.intake), so a conftest.py,
pytest.ini or sitecustomize.py in it is never seen by anything.
"""
from __future__ import annotations

import atexit
import gc
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
import traceback
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from grader.build import ROOT, exercise_sources, student_tt
from grader.checks import GradeFailure
from grader.intake import IntakeError, NotASubmission, read_submission
from grader.report import (Report, TestResult, render_feedback_html, results_json, terminal, readable_title,
                           write_feedback_html, write_results_json)
from grader.sandbox import InsecureSandboxError, SandboxError
from tt.io import atomic_write_json, atomic_write_text

HIDDEN = Path(__file__).resolve().parent / "hidden"
TITLE = "Stage 10: backpropagation exercises"
_EXERCISE = re.compile(r"test_ex(\d\d)_(\w+)\.py")


EXERCISES = ROOT / "exercises"      # the stubs: grading never needs solutions/


def exercise_names() -> list[str]:
    """The file names a submission may contain: exercises/exNN_<topic>.py."""
    return [p.name for p in exercise_sources(EXERCISES)]


def exercise_titles() -> dict[str, str]:
    """{"ex04": "Exercise 4: LayerNorm backward, ..."} from the exercises' docstrings."""
    titles = {}
    for path in exercise_sources(EXERCISES):
        first = path.read_text(encoding="utf-8").split('"""')[1].strip().splitlines()[0]
        titles[path.stem[:4]] = first.rstrip(".")
    return titles


_LIBRARY: Path | None = None


LIBRARY_ENV = "TT_STUDENT_LIBRARY"   # grade-all builds the student edition once for its children


def student_library() -> Path:
    """The student edition of tt, built once per process into a temporary folder
    that is removed when the process exits (or the one grade-all built, named by
    $TT_STUDENT_LIBRARY, which grade-all removes)."""
    global _LIBRARY
    shared = os.environ.get(LIBRARY_ENV)
    if shared and (Path(shared) / "tt" / "__init__.py").is_file():
        return Path(shared)
    if _LIBRARY is None or not (_LIBRARY / "tt" / "__init__.py").exists():
        _LIBRARY = Path(tempfile.mkdtemp(prefix="tt-student-lib-"))
        atexit.register(shutil.rmtree, _LIBRARY, True)
        student_tt(_LIBRARY)
    return _LIBRARY


def seed_for(student: str) -> int:
    """A fixed seed per student id, so a regrade draws the same inputs."""
    return zlib.crc32(student.encode("utf-8")) & 0x7FFFFFFF


# ------------------------------------------------------------------ the pytest plugin
def _resident_bytes() -> int:
    """This process's resident memory now (0 where /proc is missing)."""
    from grader.sandbox.callbacks import own_memory
    return own_memory()[1]


@dataclass(eq=False)          # pytest keeps plugins in sets: hash by identity
class Collector:
    """Turns each hidden test into a TestResult: points from its `points` marker."""
    titles: dict
    results: list = field(default_factory=list)
    internal: list = field(default_factory=list)       # tests that broke on our side
    protections: list = field(default_factory=list)
    exposure: list = field(default_factory=list)       # what an --insecure worker could do
    sandbox_error: Exception | None = None             # the sandbox refused or did not start
    listing: list = field(default_factory=list)        # collect_only: a TestResult per test
    interrupted: bool = False                          # Ctrl-C or SIGTERM, not a collection error
    resident_after_gc: int = field(default_factory=_resident_bytes)

    def pytest_keyboard_interrupt(self, excinfo):
        # pytest's own Interrupted (errors during collection) is a KeyboardInterrupt too
        self.interrupted = not isinstance(excinfo.value, pytest.Session.Interrupted)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        if report.when == "call" or (report.when == "setup" and not report.passed):
            self._record(item, call, report)

    def pytest_collection_modifyitems(self, items):
        self.listing = [self._result(item, "failed") for item in items]

    def pytest_sessionfinish(self, session):
        # what the worker reported while it was up: asking a closed sandbox would need a new one
        from grader.hidden.conftest import PROTECTIONS_KEY, SANDBOX_ERROR_KEY
        protections, exposure = session.config.stash.get(PROTECTIONS_KEY, ([], []))
        self.protections, self.exposure = list(protections), list(exposure)
        self.sandbox_error = session.config.stash.get(SANDBOX_ERROR_KEY, None)

    def _result(self, item, status, output="", diagnosis=""):
        marker = item.get_closest_marker("points")
        if marker is None:
            raise pytest.UsageError(f"{item.nodeid} has no @pytest.mark.points(n)")
        vis = item.get_closest_marker("visibility")
        m = _EXERCISE.match(Path(str(item.fspath)).name)
        group = self.titles.get(f"ex{m.group(1)}", f"Exercise {int(m.group(1))}") if m else ""
        name = f"ex{m.group(1)} {item.name}" if m else item.name      # unique across suites
        title = readable_title(int(m.group(1)), m.group(2), item.name) if m else ""
        doc = (getattr(item.function, "__doc__", None) or "").strip()
        return TestResult(
            name=name, score=float(marker.args[0]) if status == "passed" else 0.0,
            max_score=float(marker.args[0]), status=status, output=output,
            visibility=vis.args[0] if vis else None,          # None: unset, an exporter's default applies
            checked=" ".join(doc.split()), diagnosis=diagnosis, group=group, title=title)

    def _record(self, item, call, report):
        output, diagnosis = "", ""
        if report.passed:
            status = "passed"
        else:
            status = "failed"
            exc = call.excinfo.value if call.excinfo else None
            if isinstance(exc, GradeFailure):
                output, diagnosis = exc.message, exc.diagnosis
            elif isinstance(exc, AssertionError):
                output = str(exc)
            else:   # a bug in the hidden test itself, not the student's doing
                output = "The grader could not run this check (not your fault): it has been reported."
                self.internal.append(f"{item.name} raised {type(exc).__name__}")
                print(terminal(f"grader error in {item.nodeid}: {type(exc).__name__}: {exc}"), file=sys.stderr)
            if call.excinfo is not None:
                # The report is text by now. The traceback's frames still hold what the test
                # held (the student's result, up to a message of 64 MiB), in cycles that only
                # a full collection frees: a class of failures kept several such results alive.
                traceback.clear_frames(call.excinfo.tb)
        self.results.append(self._result(item, status, output, diagnosis))
        # What a failed test held can also sit in other reference cycles until a full
        # collection: run one whenever the process has grown by 16 MiB since the
        # last (a few per hostile submission, none for an honest one).
        if _resident_bytes() > self.resident_after_gc + (16 << 20):
            gc.collect()
            self.resident_after_gc = _resident_bytes()


def _pytest_args(submission_dir, seed, select, call_timeout, insecure, disable, library=True):
    args = [str(HIDDEN), "-c", str(HIDDEN / "pytest.ini"), "--rootdir", str(HIDDEN),
            "-p", "no:terminal", "-p", "no:cacheprovider",
            "--submission", str(submission_dir), "--seed", str(seed), "--call-timeout", str(call_timeout)]
    if library:
        args += ["--library", str(student_library())]
    if insecure:
        args.append("--insecure")
    for name in disable:
        args.append(f"--disable-protection={name}")
    if select:
        args += ["-k", select]
    return args


def run_hidden_suites(submission_dir: Path, seed: int, select: str | None = None,
                      call_timeout: float = 10.0, *, insecure: bool = False, disable=()) -> Collector:
    """pytest on grader/hidden against an intake folder; returns the filled Collector.

    Raises SandboxError (InsecureSandboxError: refused) if the sandbox did not start, and
    KeyboardInterrupt if the run was interrupted: in neither case is anything graded."""
    collector = Collector(exercise_titles())
    code = pytest.main(_pytest_args(submission_dir, seed, select, call_timeout, insecure, disable),
                       plugins=[collector])
    if collector.sandbox_error is not None:
        raise collector.sandbox_error
    if code == pytest.ExitCode.INTERRUPTED and collector.interrupted:
        raise KeyboardInterrupt
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        raise ValueError(f"no hidden test matches -k {select!r}" if select else "there are no hidden tests")
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        raise RuntimeError(f"the hidden suites did not run (pytest exit code {int(code)})")
    return collector


def hidden_tests(select: str | None = None) -> list[TestResult]:
    """Every hidden test (matching -k `select`) as a failed TestResult worth its points,
    collected without running anything: the full list an unreadable submission scores 0 on."""
    collector = Collector(exercise_titles())
    args = _pytest_args("/nonexistent", 0, select, 10.0, False, (), library=False) + ["--collect-only"]
    code = pytest.main(args, plugins=[collector])
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        raise RuntimeError(f"the hidden suites could not be collected (pytest exit code {int(code)})")
    return collector.listing


def check_sandbox(insecure: bool = False, disable=()) -> list[str]:
    """Start one sandbox worker on an empty submission, as grading would: its exposure
    ([] when confined). Raises InsecureSandboxError (refused) or SandboxError (it does not
    start at all), so a batch stops before anyone is graded."""
    from grader.sandbox import Sandbox
    with tempfile.TemporaryDirectory(prefix="tt-check-") as empty:
        box = Sandbox(empty, None, insecure=insecure, disable=disable)
        try:
            box.start()
            return box.exposure
        finally:
            box.close()


class NotGraded(RuntimeError):
    """The grader, not the student, failed: no score may be posted for this submission."""


def check_grader_errors(collector, select=None) -> None:
    """NotGraded when most checks that ran failed for the grader's own reasons (a hidden
    test that broke, a sandbox that could not run the student's code): such a score says
    nothing about the student. One or two among passing checks still grade the rest."""
    broken, ran = len(collector.internal), len(collector.results)
    if broken and broken * 2 > ran:
        shown = "; ".join(collector.internal[:3]) + ("; ..." if broken > 3 else "")
        raise NotGraded(f"{broken} of the {ran} checks{f' selected by -k {select!r}' if select else ''} failed "
                        f"for the grader's own reasons, not the student's ({shown}): see the grader's "
                        f"errors on stderr")


def insecure_warning(exposure) -> str:
    return ("WARNING: INSECURE GRADING (--insecure): student code ran in a worker with the grader's own "
            "uid that could " + ", and could ".join(exposure) + ". Nothing stopped it from changing this "
            "machine, the grader or other students' results: do not trust this grade without checking.")


def grade_submission(submission, *, student: str | None = None, seed: int | None = None,
                     select: str | None = None, call_timeout: float = 10.0, insecure: bool = False,
                     disable=()) -> Report:
    """Grade one submission folder or zip. Never raises for a bad submission: an
    unreadable one gets every hidden test at 0, with a note that says why. Raises
    NotASubmission for a path that is no submission at all (missing, a PDF). Raises
    NotGraded when most checks failed for the grader's own reasons (check_grader_errors).

    insecure: grade even if the worker would keep the grader's uid without filesystem or
    process confinement (the report then starts with a loud warning); otherwise such a
    machine raises InsecureSandboxError and nothing is graded. disable: sandbox
    protections not to attempt (to test that refusal)."""
    start = time.perf_counter()
    submission = Path(submission)
    student = student or submission.name.removesuffix(".zip")
    seed = seed_for(student) if seed is None else seed
    try:
        intake = read_submission(submission, exercise_names())
    except NotASubmission:
        raise                   # a wrong path, not a student's 0: the caller says so
    except IntakeError as exc:
        why = f"unreadable submission (every check scores 0): {exc}"
        tests = hidden_tests(select)
        for t in tests:
            t.output = why
        return Report(student, TITLE, tests, time.perf_counter() - start, notes=[why])
    work = Path(tempfile.mkdtemp(prefix="tt-grade-"))
    try:
        folder = intake.write(work / "submission")
        collector = run_hidden_suites(folder, seed, select, call_timeout, insecure=insecure, disable=disable)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    check_grader_errors(collector, select)
    notes, details = list(intake.notes), []
    if collector.exposure:
        notes.insert(0, insecure_warning(collector.exposure))
    if collector.protections:            # the instructor's: never at the top of a student's page
        details.append("student code ran in an isolated worker with: " + ", ".join(collector.protections))
    for problem in collector.internal:
        notes.append(f"grader error (for the instructor): {problem}")
    return Report(student, TITLE, collector.results, time.perf_counter() - start, notes=notes,
                  instructor_notes=details)


def write_outputs(report: Report, out_dir) -> tuple[Path, Path]:
    """results.json and feedback.html in out_dir, each written atomically."""
    out_dir = Path(out_dir)
    return (write_results_json(report, out_dir / "results.json"),
            write_feedback_html(report, out_dir / "feedback.html"))


NOT_GRADED = "not_graded"          # the key of results.json that marks a grading that failed


def write_not_graded(out_dir, student: str, reason: str) -> tuple[Path, Path]:
    """Replace out_dir's results with ones that say the grading FAILED and why: score 0,
    no tests, and `"not_graded": reason`, so no older result can pass for this one."""
    out_dir = Path(out_dir)
    report = Report(student, TITLE, [], 0.0, notes=[f"NOT GRADED: {reason}"])
    data = dict(results_json(report), **{NOT_GRADED: reason})
    return (atomic_write_json(out_dir / "results.json", data),
            atomic_write_text(out_dir / "feedback.html", render_feedback_html(report)))


def suite_digest(hidden: Path = HIDDEN) -> str:
    """sha256 of what decides a grade besides the submission: the hidden suites, the
    grader's checks and sandbox, the exercise stubs (which files are taken) and tt (the
    reference and the student edition built from it). Another version of any of them
    regrades everyone."""
    grader = Path(__file__).resolve().parent
    parts = [(hidden, [*hidden.rglob("*.py"), hidden / "pytest.ini"]),
             (grader, [grader / "checks.py", grader / "build.py", *(grader / "sandbox").glob("*.py")]),
             (EXERCISES, exercise_sources(EXERCISES)), (ROOT / "tt", list((ROOT / "tt").rglob("*.py")))]
    h = hashlib.sha256()
    for base, files in parts:
        for path in sorted({p for p in files if p.is_file() and "__pycache__" not in p.parts}):
            h.update(f"{base.name}/{path.relative_to(base)}\0".encode())
            h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def grading_digest(submission_digest: str, options: dict) -> str:
    """What grade-all's resume compares: the submission's content, the suites' and the options."""
    text = json.dumps({"submission": submission_digest, "suites": suite_digest(), "options": options},
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def score_table(report: Report) -> str:
    """Points per exercise, for the terminal: every title in full."""
    lines = [f"{terminal(report.student)}: {report.score:g} / {report.max_score:g}"]
    groups = report.groups()
    groups = [(terminal(g), tests) for g, tests in groups]
    width = max((len(g) for g, _ in groups), default=0)
    for group, tests in groups:
        got = sum(t.score for t in tests)
        top = sum(t.max_score for t in tests)
        passed = sum(t.status == "passed" for t in tests)
        lines.append(f"  {group:<{width}} {got:5g} / {top:<4g} ({passed}/{len(tests)} checks)")
    for note in [*report.notes, *report.instructor_notes]:
        lines.append(f"  note: {terminal(note)}")
    return "\n".join(lines)


def sample_submissions() -> dict[str, Path]:
    """The bundled samples of `tt demo`: the solutions, the stubs, one with typical bugs."""
    return {"solutions": ROOT / "solutions", "stubs": ROOT / "exercises",
            "typical-bugs": Path(__file__).resolve().parent / "samples" / "typical_bugs"}
