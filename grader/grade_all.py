"""`tt grade-all SUBMISSIONS_DIR -j N`: grade a class, resumably, in parallel.

grade-all grades each student in a child process of its own (`tt grade`, which starts its
own sandbox worker), up to N at a time. A student is skipped when the digest of their
accepted files, of the hidden suites (and what else decides a grade: grader.grading.
suite_digest) and of the options is the one recorded when they were last graded, so an
interrupted run picks up where it stopped. Every file is written atomically, the digest
last, after the results. A grading that fails or times out replaces the student's
results with a results.json that says so ("not_graded"), and their row gets no total.

Ctrl-C (or SIGTERM) stops grade-all: no queued student starts, the running children are
stopped (SIGTERM to each one's process group, SIGKILL after a grace period), nothing is
left half-written and the gradebook is not rewritten; the same command resumes (after
--force, the same command without it: --force forgets the digests of everyone it is to
grade before it starts, so a run without it regrades exactly the students not reached).
"""
from __future__ import annotations

import argparse
import concurrent.futures
import functools
import hashlib
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from grader.cli import (DIGEST, EXIT_INTERRUPTED, EXIT_REFUSED, EXIT_USAGE, GRACE, _forget_digest, _sandbox_options,
                        _signals_interrupt, _uninterrupted)
from grader.report import shorten, terminal
from tt.io import atomic_write_text
from tt.progress import Progress

_TEST_NAME = re.compile(r"(ex\d\d) ")
NOTE_CAP = 300           # characters of a gradebook row's note (cut at a word; results.json has all)


def _entries(folder: Path):
    """(student id, path) of every sub-folder and zip, and what was skipped: hidden entries,
    symbolic links (to another student's folder, or anywhere), anything that is not a
    regular folder or file, a second submission of one id."""
    entries, skipped, seen = [], [], {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        try:
            mode = path.lstat().st_mode
        except OSError as exc:
            skipped.append(f"{path.name}: unreadable ({exc.strerror})")
            continue
        if stat.S_ISLNK(mode):
            skipped.append(f"{path.name}: a symbolic link (submit a real folder or zip)")
        elif stat.S_ISDIR(mode) or (stat.S_ISREG(mode) and path.suffix == ".zip"):
            sid = path.name.removesuffix(".zip")
            if sid in seen:
                skipped.append(f"{path.name}: a second submission for {sid!r} (graded: {seen[sid].name})")
                continue
            seen[sid] = path
            entries.append((sid, path))
        elif stat.S_ISREG(mode):
            skipped.append(f"{path.name}: neither a folder nor a .zip")
        else:
            skipped.append(f"{path.name}: not a regular folder or file")
    return entries, skipped


def _submission_digest(path: Path) -> str:
    """The accepted files and the intake's notes; for an unreadable one, its raw bytes."""
    from grader.grading import exercise_names
    from grader.intake import IntakeError, read_submission
    try:
        intake = read_submission(path, exercise_names())
        return hashlib.sha256(json.dumps([intake.digest, intake.notes]).encode()).hexdigest()
    except IntakeError:        # unreadable: its raw bytes still tell whether it changed
        h = hashlib.sha256()
        if path.is_file():
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
        return "raw:" + h.hexdigest()


def _child_env(tmp: str, library: str) -> dict:
    env = dict(os.environ, TMPDIR=tmp, TT_GRADE_ALL_PARENT=str(os.getpid()), TT_STUDENT_LIBRARY=library)
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(name, "1")           # N children on N cores: no BLAS threads on top
    return env


WORK_PREFIX = "tt-grade-all-"


def _work_root() -> Path:
    """grade-all's own temporary folder, tt-grade-all-<pid>-*, private (the workers' group
    may enter it): the student edition of tt and each child's TMPDIR live in it, and it is
    removed at the end. Those of grade-alls that died (SIGKILL) are removed first."""
    from grader.sandbox.files import make_passable, rmtree
    base = Path(tempfile.gettempdir())
    for old in base.glob(WORK_PREFIX + "*-*"):
        pid = old.name[len(WORK_PREFIX):].split("-", 1)[0]
        try:
            mine = old.is_dir() and not old.is_symlink() and old.stat().st_uid == os.geteuid()
        except OSError:
            continue
        if mine and pid.isdigit() and sys.platform.startswith("linux") and not Path(f"/proc/{pid}").exists():
            rmtree(str(old))
    root = Path(tempfile.mkdtemp(prefix=f"{WORK_PREFIX}{os.getpid()}-"))
    make_passable(root)                   # the workers' private directories live below
    return root


class _Batch:
    """Runs `tt grade` children, each in a process group and a TMPDIR of its own, and stops
    them all on request."""

    def __init__(self, timeout: float, call_timeout: float, flags: list[str], root: Path, library: str):
        self.timeout, self.call_timeout, self.flags = timeout, call_timeout, flags
        self.root, self.library = root, library
        self.lock = threading.Lock()
        self.running: dict[str, subprocess.Popen] = {}
        self.stopping = False

    def grade(self, sid: str, path: Path, out: Path) -> str | None:
        """'' on success, what went wrong, or None if stopped (or never started)."""
        from grader.sandbox.files import make_passable
        tmp = tempfile.mkdtemp(prefix="child-", dir=self.root)
        make_passable(tmp)                # the worker's private directory lives below
        cmd = [sys.executable, "-m", "tt", "grade", f"--student={sid}", f"--out={out.resolve()}", "--quiet",
               f"--call-timeout={self.call_timeout}", *self.flags, "--", str(path.resolve())]
        try:
            with self.lock:
                if self.stopping:
                    return None
                proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        stdin=subprocess.DEVNULL, env=_child_env(tmp, self.library),
                                        start_new_session=True)
                self.running[sid] = proc
            try:
                stdout, stderr = proc.communicate(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                self.stop(proc)
                proc.communicate()
                return None if self.stopping else \
                    f"grading took longer than {self.timeout:.0f} s and was stopped"
            finally:
                with self.lock:
                    self.running.pop(sid, None)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)          # whatever a killed child left there
        if self.stopping:
            return None
        if proc.returncode != 0 or not (out / "results.json").exists():
            tail = (stderr or stdout).strip().splitlines()[-1:] or ["no output"]
            return f"grading failed (exit {proc.returncode}): {tail[0][:300]}"
        return ""

    @staticmethod
    def stop(proc: subprocess.Popen) -> None:
        """SIGTERM to the child's own process group, SIGKILL after GRACE seconds."""
        for sig, wait in ((signal.SIGTERM, GRACE), (signal.SIGKILL, None)):
            if proc.poll() is not None:             # reaped: its pid may belong to another now
                return
            try:
                os.killpg(proc.pid, sig)            # the group of a child we started: only it
            except ProcessLookupError:
                return
            try:
                proc.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def stop_all(self) -> None:
        with self.lock:
            self.stopping = True
            procs = list(self.running.values())
        threads = [threading.Thread(target=self.stop, args=(p,)) for p in procs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


@functools.lru_cache(maxsize=1)
def _full_max() -> float:
    """The points of all hidden tests (a failed grading's row still shows what it is out of)."""
    from grader.grading import hidden_tests
    return sum(t.max_score for t in hidden_tests())


def _row(sid: str, out: Path, exercises: list[str], problem: str) -> dict:
    """A gradebook row: points per exercise (by the 'exNN ' of each test's name), the total
    and the maximum; no points at all, only a note, when the grading failed."""
    failed = {"student": sid, "total": None, "max": None, "note": problem}
    try:
        results = json.loads((out / "results.json").read_text())
    except (OSError, ValueError):
        results = None
    if problem or results is None or results.get("not_graded"):
        try:
            failed["max"] = _full_max()
        except Exception:                       # noqa: BLE001  the note says enough
            pass
        if not problem:
            failed["note"] = "NOT GRADED: " + (results.get("not_graded") if results else "no results")
        return failed
    row = {"student": sid, **{e: 0.0 for e in exercises}}
    for test in results.get("tests", []):
        m = _TEST_NAME.match(str(test.get("name", "")))
        if m and m.group(1) in row:
            row[m.group(1)] += float(test["score"])
    row["total"] = float(results.get("score", 0.0))
    row["max"] = sum(float(t["max_score"]) for t in results.get("tests", []))
    notes = str(results.get("output", "")).splitlines()[1:]          # the first line is the total
    row["note"] = shorten("; ".join(n for n in notes if not n.startswith("student code ran in an isolated worker")),
                          NOTE_CAP)
    return row


def main_grade_all(argv=None) -> int:
    """`tt grade-all SUBMISSIONS_DIR -j N`: grade a class."""
    from grader.grading import check_sandbox, exercise_names, grading_digest, insecure_warning
    from grader.sandbox import SandboxError

    ap = argparse.ArgumentParser(prog="tt grade-all", description=main_grade_all.__doc__)
    ap.add_argument("submissions", help="a folder with one sub-folder or .zip per student")
    ap.add_argument("-j", "--jobs", type=int, default=1, help="submissions graded at once")
    ap.add_argument("--out", default="graded", help="output folder (default %(default)s)")
    ap.add_argument("--force", action="store_true", help="regrade even unchanged submissions")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per submission")
    ap.add_argument("--call-timeout", type=float, default=10.0,
                    help="seconds each call of a student's function may take (default %(default)s)")
    ap.add_argument("--report", action="store_true",
                    help="then write the class report, with the similarity of the submissions (tt report)")
    _sandbox_options(ap)
    args = ap.parse_args(argv)
    _signals_interrupt()
    folder, out = Path(args.submissions), Path(args.out)
    if not folder.is_dir():
        print(terminal(f"tt grade-all: nothing graded: {folder} " + ("is not a folder" if folder.exists()
                       else "does not exist")), file=sys.stderr)
        return EXIT_USAGE
    entries, skipped = _entries(folder)
    if not entries:               # a wrong folder, not a class of zeros: nothing written
        print(terminal(f"tt grade-all: nothing graded: {folder} holds no submission (a sub-folder or a .zip "
                       f"per student)" + (f"; skipped: {'; '.join(skipped)}" if skipped else "")), file=sys.stderr)
        return EXIT_USAGE
    try:                          # refuse before anyone is graded, not once per student
        exposure = check_sandbox(args.insecure, args.disable_protection)
    except SandboxError as exc:
        print(f"tt grade-all: nothing graded: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except KeyboardInterrupt:
        print("tt grade-all: interrupted before grading anyone", file=sys.stderr)
        return EXIT_INTERRUPTED
    if exposure:
        print(insecure_warning(exposure), file=sys.stderr)
    for note in skipped:
        print(terminal(f"skipped {note}"), file=sys.stderr)
    exercises = [n[:4] for n in exercise_names()]
    flags = (["--insecure"] if args.insecure else []) + [f"--disable-protection={p}" for p in args.disable_protection]
    options = {"call_timeout": args.call_timeout, "timeout": args.timeout, "flags": flags}
    todo = []
    for sid, path in entries:
        digest = grading_digest(_submission_digest(path), dict(options, student=sid))
        done = out / sid / DIGEST
        if not args.force and done.exists() and done.read_text() == digest:
            continue
        todo.append((sid, path, digest))
    if args.force:                # so that a run without --force resumes an interrupted one
        for sid, _, _ in todo:
            _forget_digest(out / sid)
    print(f"{len(entries)} submissions, {len(entries) - len(todo)} unchanged since last graded, "
          f"{len(todo)} to grade with {args.jobs} job(s)", flush=True)
    root = _work_root()
    try:
        return _grade_batch(args, out, entries, exercises, todo, flags, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _grade_batch(args, out, entries, exercises, todo, flags, root) -> int:
    from grader.build import student_tt
    from grader.grading import write_not_graded
    from grader.report import write_class_csv
    problems = {}
    if todo:
        student_tt(root / "lib")                     # the student edition, built once for every child
    batch = _Batch(args.timeout, args.call_timeout, flags, root, str(root / "lib"))
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs))
    bar = Progress(len(todo), desc="grading")
    graded = 0
    try:
        bar.refresh()                          # 0/N at once, not after the first student
        futures = {pool.submit(batch.grade, sid, path, out / sid): (sid, digest) for sid, path, digest in todo}
        for fut in concurrent.futures.as_completed(futures):
            sid, digest = futures[fut]
            try:
                problem = fut.result()
            except Exception as exc:      # never let one student stop the class
                problem = f"grading failed: {type(exc).__name__}: {exc}"
            if problem is None:
                continue
            problems[sid] = problem
            with _uninterrupted():
                if problem:               # no older result may pass for this one
                    _forget_digest(out / sid)
                    write_not_graded(out / sid, sid, problem)
                else:
                    atomic_write_text(out / sid / DIGEST, digest)
            graded += not problem
            bar.set_postfix(terminal(sid))
            bar.update()
    except KeyboardInterrupt:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)          # a second Ctrl-C must not cut the clean-up short
        bar.close()
        print(f"\ntt grade-all: interrupted: stopping {len(batch.running)} running grading(s)...",
              file=sys.stderr, flush=True)
        batch.stop_all()
        pool.shutdown(wait=True, cancel_futures=True)
        print(f"tt grade-all: interrupted: of the {len(todo)} to grade, {graded} were graded and "
              f"{len(problems) - graded} failed before the stop; the other {len(todo) - len(problems)} were not "
              f"graded. Nothing was half-written and the gradebook was not updated. {_resume_advice(args)}",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    pool.shutdown(wait=True)
    bar.close()
    rows = [_row(sid, out / sid, exercises, problems.get(sid, "")) for sid, _ in entries]
    with _uninterrupted():
        csv_path = write_class_csv(rows, ["student", *exercises, "total", "max", "note"], out / "gradebook.csv")
    failed = [sid for sid, p in problems.items() if p]
    print(terminal(f"wrote {csv_path}" + (f"; {len(failed)} could not be graded: {', '.join(failed)}" if failed else "")))
    if args.report:
        _class_report(args, out)
    return 0


def _resume_advice(args) -> str:
    """How to pick up after an interruption: --force again would regrade everyone."""
    if args.force:
        return ("To resume, run the same command without --force: the students graded in this run are "
                "skipped, and everyone it had not reached yet is graded.")
    return "Run the same command again to resume: the students graded are skipped."


def _class_report(args, out: Path) -> None:
    """--report: the class report (grader.classreport), after the gradebook; its failure is
    reported, never a failure of the grading."""
    from grader.classreport import write_report
    try:
        path = write_report(out, args.submissions, jobs=args.jobs, show_progress=True)
    except KeyboardInterrupt:
        print("tt grade-all: the class report was interrupted; `tt report` writes it", file=sys.stderr)
    except Exception as exc:        # noqa: BLE001
        hint = " (pip install -e '.[report]')" if isinstance(exc, ImportError) else ""
        print(f"tt grade-all: the class report could not be written: {type(exc).__name__}: {exc}{hint}",
              file=sys.stderr)
    else:
        print(f"wrote {path}")
