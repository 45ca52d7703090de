"""`tt grade` and `tt demo`, and what `tt grade-all` (grader.grade_all) shares with them.

    tt grade SUBMISSION [--out DIR]          one folder or zip: a score table, results.json,
                                             feedback.html
    tt demo                                  the bundled samples: solutions, stubs, typical bugs

Ctrl-C (or SIGTERM) never leaves a pair of files half-written: _uninterrupted() takes the
signal at the end of the block that writes them. `tt grade` into a student's folder forgets
grade-all's digest, so the next grade-all regrades that student.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from pathlib import Path

DIGEST = ".digest"
GRACE = 5.0              # seconds a stopped child has to clean up before SIGKILL
# `tt grade`'s exit status, the contract run_autograder and grade-all rely on (docs/sandbox.md):
#   0  graded: results.json holds the score and every test;
#   1  NOT graded, the grader failed: results.json holds "not_graded": <why>, score 0, no tests;
#   3  NOT graded, the sandbox refused to run student code: the same results.json;
#   2  the command line was wrong, 130 interrupted: nothing written.
EXIT_GRADER_FAILED = 1
EXIT_USAGE = 2           # argparse's own status for a wrong command line
EXIT_REFUSED = 3         # the sandbox refused to run student code (see --insecure)
EXIT_INTERRUPTED = 130


class _Interrupts:
    """Ctrl-C and SIGTERM raise KeyboardInterrupt (so that clean-up code runs), except
    inside _uninterrupted(), which takes them at its end: a pair of files is written
    whole or not at all. (Python runs signal handlers in the main thread, whichever
    thread the signal reached, so this holds with the grading threads of grade-all.)"""
    critical = 0
    pending = False

    @classmethod
    def handler(cls, signum, frame):
        if cls.critical:
            cls.pending = True
            return
        raise KeyboardInterrupt


def _signals_interrupt() -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _Interrupts.handler)


@contextlib.contextmanager
def _uninterrupted():
    _Interrupts.critical += 1
    try:
        yield
    finally:
        _Interrupts.critical -= 1
        if not _Interrupts.critical and _Interrupts.pending:
            _Interrupts.pending = False
            raise KeyboardInterrupt


def _sandbox_options(ap) -> None:
    ap.add_argument("--insecure", action="store_true",
                    help="grade even where the sandbox worker would keep this user's uid without "
                         "filesystem or process confinement (refused otherwise); every report then "
                         "starts with a warning")
    ap.add_argument("--disable-protection", action="append", default=[], metavar="NAME",
                    help="a sandbox protection not to attempt (to test the refusal), e.g. seccomp")


def _die_with_grade_all() -> None:
    """A child of grade-all gets SIGTERM (and so cleans up) if grade-all itself dies, even
    by SIGKILL: no orphan goes on grading and writing."""
    parent = os.environ.get("TT_GRADE_ALL_PARENT")
    if not parent or not sys.platform.startswith("linux"):
        return
    try:
        from grader.sandbox.confine import PR_SET_PDEATHSIG, prctl
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, ImportError, AttributeError):
        return
    if str(os.getppid()) != parent:         # it died before the prctl took effect
        raise KeyboardInterrupt


def _forget_digest(out: Path) -> None:
    try:
        (out / DIGEST).unlink()
    except FileNotFoundError:
        pass


NBGRADER_FOLDERS = ("submitted", "autograded")   # <course>/submitted/<student>/<assignment>


def default_student(sub: Path) -> str:
    """The student id a submission's path gives: its name (without .zip), or, for
    nbgrader's <course>/submitted/<student>/<assignment>, the student's folder."""
    path = Path(os.path.abspath(sub))
    if path.parent.parent.name in NBGRADER_FOLDERS and path.is_dir():
        return path.parent.name
    return path.name.removesuffix(".zip")


def main_grade(argv=None) -> int:
    """`tt grade SUBMISSION`: grade one submission in isolation."""
    from grader.grading import grade_submission, score_table, write_not_graded, write_outputs
    from grader.intake import NotASubmission
    from grader.report import terminal
    from grader.sandbox import InsecureSandboxError

    ap = argparse.ArgumentParser(prog="tt grade", description=main_grade.__doc__)
    ap.add_argument("submission", help="a folder or .zip holding exNN_*.py files")
    ap.add_argument("--out", help="folder for results.json and feedback.html "
                                  "(default: graded/<submission name>)")
    ap.add_argument("--student", help="student id (default: the submission's name; for nbgrader's "
                                      "COURSE/submitted/STUDENT/ASSIGNMENT, STUDENT)")
    ap.add_argument("--seed", type=int, help="seed for the random inputs (default: from the student id)")
    ap.add_argument("-k", dest="select", help="only the hidden tests matching this pytest -k expression")
    ap.add_argument("--call-timeout", type=float, default=10.0,
                    help="seconds each call of a student's function may take (default %(default)s)")
    ap.add_argument("--quiet", action="store_true", help="no score table")
    _sandbox_options(ap)
    args = ap.parse_args(argv)
    _signals_interrupt()
    sub = Path(args.submission)
    student = args.student or default_student(sub)
    out = Path(args.out or Path("graded") / student)
    try:
        _die_with_grade_all()
        report = grade_submission(sub, student=student, seed=args.seed, select=args.select,
                                  call_timeout=args.call_timeout, insecure=args.insecure,
                                  disable=args.disable_protection)
    except KeyboardInterrupt:
        print("tt grade: interrupted: nothing was written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except NotASubmission as exc:           # a typo is not a student's 0: nothing written
        print(terminal(f"tt grade: nothing graded: {exc}"), file=sys.stderr)
        return EXIT_USAGE
    except InsecureSandboxError as exc:
        reason, code = str(exc), EXIT_REFUSED
    except Exception as exc:                # the grader's failure, not the student's
        reason, code = f"the grader failed: {type(exc).__name__}: {exc}", EXIT_GRADER_FAILED
    else:
        with _uninterrupted():             # both files, or (interrupted before) neither
            _forget_digest(out)            # these results are no longer grade-all's
            results, feedback = write_outputs(report, out)
        if not args.quiet:
            print(score_table(report))
            print(terminal(f"wrote {results} and {feedback} ({report.execution_time:.1f} s)"))
        return 0
    with _uninterrupted():
        _forget_digest(out)
        write_not_graded(out, student, reason)
    print(terminal(f"tt grade: NOT GRADED ({out / 'results.json'} says so): {reason}"), file=sys.stderr)
    return code



# ----------------------------------------------------------------------------- demo
def main_demo(argv=None) -> int:
    """`tt demo`: grade the bundled samples and show where the feedback is."""
    from grader.grading import grade_submission, sample_submissions, score_table, write_outputs

    ap = argparse.ArgumentParser(prog="tt demo", description=main_demo.__doc__)
    ap.add_argument("--out", default="demo-graded", help="output folder (default %(default)s)")
    args = ap.parse_args(argv)
    print("Grading the bundled sample submissions with the hidden suites; student code runs "
          "only in the sandboxed worker.\n")
    pages = []
    for name, path in sample_submissions().items():
        report = grade_submission(path, student=name)
        _, feedback = write_outputs(report, Path(args.out) / name)
        print(score_table(report) + "\n")
        pages.append(feedback)
    print("Feedback pages (open in a browser):")
    for page in pages:
        print(f"  {page.resolve()}")
    return 0
