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
import re
import shutil
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from grader.build import ROOT, exercise_sources, student_tt
from grader.checks import GradeFailure
from grader.intake import IntakeError, read_submission
from grader.report import Report, TestResult, write_feedback_html, write_results_json

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


def student_library() -> Path:
    """The student edition of tt, built once per process into a temporary folder
    that is removed when the process exits."""
    global _LIBRARY
    if _LIBRARY is None or not (_LIBRARY / "tt" / "__init__.py").exists():
        _LIBRARY = Path(tempfile.mkdtemp(prefix="tt-student-lib-"))
        atexit.register(shutil.rmtree, _LIBRARY, True)
        student_tt(_LIBRARY)
    return _LIBRARY


def seed_for(student: str) -> int:
    """A fixed seed per student id, so a regrade draws the same inputs."""
    return zlib.crc32(student.encode("utf-8")) & 0x7FFFFFFF


# ------------------------------------------------------------------ the pytest plugin
@dataclass(eq=False)          # pytest keeps plugins in sets: hash by identity
class Collector:
    """Turns each hidden test into a TestResult: points from its `points` marker."""
    titles: dict
    results: list = field(default_factory=list)
    internal: list = field(default_factory=list)       # tests that broke on our side
    protections: list = field(default_factory=list)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        if report.when == "call" or (report.when == "setup" and not report.passed):
            self._record(item, call, report)

    def pytest_sessionfinish(self, session):
        from grader.hidden.conftest import SANDBOX_KEY
        sb = session.config.stash.get(SANDBOX_KEY, None)
        if sb is not None:
            self.protections = list(sb.protections)

    def _record(self, item, call, report):
        marker = item.get_closest_marker("points")
        if marker is None:
            raise pytest.UsageError(f"{item.nodeid} has no @pytest.mark.points(n)")
        vis = item.get_closest_marker("visibility")
        m = _EXERCISE.match(Path(str(item.fspath)).name)
        group = self.titles.get(f"ex{m.group(1)}", f"Exercise {int(m.group(1))}") if m else ""
        name = f"ex{m.group(1)} {item.name}" if m else item.name      # unique across suites
        doc = (getattr(item.function, "__doc__", None) or "").strip()
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
                print(f"grader error in {item.nodeid}: {type(exc).__name__}: {exc}", file=sys.stderr)
        self.results.append(TestResult(
            name=name, score=float(marker.args[0]) if status == "passed" else 0.0,
            max_score=float(marker.args[0]), status=status, output=output,
            visibility=vis.args[0] if vis else "visible", checked=" ".join(doc.split()),
            diagnosis=diagnosis, group=group))


def run_hidden_suites(submission_dir: Path, seed: int, select: str | None = None,
                      call_timeout: float = 10.0) -> Collector:
    """pytest on grader/hidden against an intake folder; returns the filled Collector."""
    collector = Collector(exercise_titles())
    args = [str(HIDDEN), "-c", str(HIDDEN / "pytest.ini"), "--rootdir", str(HIDDEN),
            "-p", "no:terminal", "-p", "no:cacheprovider",
            "--submission", str(submission_dir), "--library", str(student_library()),
            "--seed", str(seed), "--call-timeout", str(call_timeout)]
    if select:
        args += ["-k", select]
    code = pytest.main(args, plugins=[collector])
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        raise ValueError(f"no hidden test matches -k {select!r}" if select else "there are no hidden tests")
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        raise RuntimeError(f"the hidden suites did not run (pytest exit code {int(code)})")
    return collector


def grade_submission(submission, *, student: str | None = None, seed: int | None = None,
                     select: str | None = None, call_timeout: float = 10.0) -> Report:
    """Grade one submission folder or zip. Never raises for a bad submission: an
    unreadable one gets a zero report that says why."""
    start = time.perf_counter()
    submission = Path(submission)
    student = student or submission.name.removesuffix(".zip")
    seed = seed_for(student) if seed is None else seed
    try:
        intake = read_submission(submission, exercise_names())
    except IntakeError as exc:
        return Report(student, TITLE, [], time.perf_counter() - start, notes=[f"not graded: {exc}"])
    work = Path(tempfile.mkdtemp(prefix="tt-grade-"))
    try:
        folder = intake.write(work / "submission")
        collector = run_hidden_suites(folder, seed, select, call_timeout)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    notes = list(intake.notes)
    if collector.protections:
        notes.append("student code ran in an isolated worker with: " + ", ".join(collector.protections))
    for problem in collector.internal:
        notes.append(f"grader error (for the instructor): {problem}")
    return Report(student, TITLE, collector.results, time.perf_counter() - start, notes=notes)


def write_outputs(report: Report, out_dir) -> tuple[Path, Path]:
    """results.json and feedback.html in out_dir, each written atomically."""
    out_dir = Path(out_dir)
    return (write_results_json(report, out_dir / "results.json"),
            write_feedback_html(report, out_dir / "feedback.html"))


def score_table(report: Report) -> str:
    """Points per exercise, for the terminal."""
    lines = [f"{report.student}: {report.score:g} / {report.max_score:g}"]
    for group, tests in report.groups():
        got = sum(t.score for t in tests)
        top = sum(t.max_score for t in tests)
        passed = sum(t.status == "passed" for t in tests)
        lines.append(f"  {group[:58]:<58} {got:5g} / {top:<4g} ({passed}/{len(tests)} checks)")
    for note in report.notes:
        lines.append(f"  note: {note}")
    return "\n".join(lines)


def sample_submissions() -> dict[str, Path]:
    """The bundled samples of `tt demo`: the solutions, the stubs, one with typical bugs."""
    return {"solutions": ROOT / "solutions", "stubs": ROOT / "exercises",
            "typical-bugs": Path(__file__).resolve().parent / "samples" / "typical_bugs"}
