"""`tt grade`, `tt grade-all` and `tt demo`.

    tt grade SUBMISSION [--out DIR]          one folder or zip: a score table, results.json,
                                             feedback.html
    tt grade-all SUBMISSIONS_DIR -j N        a class: one sub-folder or zip per student;
                                             resumable; gradebook.csv
    tt demo                                  the bundled samples: solutions, stubs, typical bugs

grade-all grades each student in a child process of its own (which starts its own
sandbox worker), up to N at a time. A student whose submission has not changed since it
was last graded (same content hash) is skipped, so an interrupted run picks up where it
stopped. Every file is written atomically, and the hash last, after the results.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import subprocess
import sys
from pathlib import Path

from tt.io import atomic_write_text
from tt.progress import Progress

DIGEST = ".digest"


def main_grade(argv=None) -> int:
    """`tt grade SUBMISSION`: grade one submission in isolation."""
    from grader.grading import grade_submission, score_table, write_outputs

    ap = argparse.ArgumentParser(prog="tt grade", description=main_grade.__doc__)
    ap.add_argument("submission", help="a folder or .zip holding exNN_*.py files")
    ap.add_argument("--out", help="folder for results.json and feedback.html "
                                  "(default: graded/<submission name>)")
    ap.add_argument("--student", help="student id (default: the submission's name)")
    ap.add_argument("--seed", type=int, help="seed for the random inputs (default: from the student id)")
    ap.add_argument("-k", dest="select", help="only the hidden tests matching this pytest -k expression")
    ap.add_argument("--call-timeout", type=float, default=10.0,
                    help="seconds each call of a student's function may take (default %(default)s)")
    ap.add_argument("--quiet", action="store_true", help="no score table")
    args = ap.parse_args(argv)
    sub = Path(args.submission)
    student = args.student or sub.name.removesuffix(".zip")
    out = Path(args.out or Path("graded") / student)
    report = grade_submission(sub, student=student, seed=args.seed, select=args.select,
                              call_timeout=args.call_timeout)
    results, feedback = write_outputs(report, out)
    if not args.quiet:
        print(score_table(report))
        print(f"wrote {results} and {feedback} ({report.execution_time:.1f} s)")
    return 0


# ------------------------------------------------------------------------ a whole class
def _entries(folder: Path):
    """(student id, path) of every sub-folder and zip, and what was skipped."""
    entries, skipped, seen = [], [], {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        if path.is_dir() or path.suffix == ".zip":
            sid = path.name.removesuffix(".zip")
            if sid in seen:
                skipped.append(f"{path.name}: a second submission for {sid!r} (graded: {seen[sid].name})")
                continue
            seen[sid] = path
            entries.append((sid, path))
        else:
            skipped.append(f"{path.name}: neither a folder nor a .zip")
    return entries, skipped


def _digest(path: Path) -> str:
    from grader.grading import exercise_names
    from grader.intake import IntakeError, read_submission
    try:
        return read_submission(path, exercise_names()).digest
    except IntakeError:        # unreadable: its raw bytes still tell whether it changed
        h = hashlib.sha256()
        if path.is_file():
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
        return "raw:" + h.hexdigest()


def _grade_one(sid: str, path: Path, out: Path, timeout: float, call_timeout: float) -> str:
    """Grade in a child process; '' on success, else what went wrong."""
    cmd = [sys.executable, "-m", "tt", "grade", str(path), "--student", sid, "--out", str(out), "--quiet",
           "--call-timeout", str(call_timeout)]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"grading took longer than {timeout:.0f} s and was stopped"
    if r.returncode != 0 or not (out / "results.json").exists():
        tail = (r.stderr or r.stdout).strip().splitlines()[-1:] or ["no output"]
        return f"grading failed (exit {r.returncode}): {tail[0][:300]}"
    return ""


def _row(sid: str, out: Path, exercises: list[str], problem: str) -> dict:
    row = {"student": sid, "total": 0.0, "max": 0.0, "note": problem}
    try:
        results = json.loads((out / "results.json").read_text())
    except (OSError, ValueError):
        return {**row, "note": problem or "no results"}
    if results.get("tests"):
        row.update({e: 0.0 for e in exercises})
    for test in results.get("tests", []):
        ex = next((e for e in exercises if any(t.startswith(f"Exercise {int(e[2:])}:") for t in test.get("tags", []))), None)
        if ex:
            row[ex] = row.get(ex, 0.0) + float(test["score"])
    row["total"] = float(results.get("score", 0.0))
    row["max"] = sum(float(t["max_score"]) for t in results.get("tests", []))
    if not problem and not results.get("tests"):
        row["note"] = results.get("output", "").splitlines()[-1][:300] if results.get("output") else ""
    return row


def main_grade_all(argv=None) -> int:
    """`tt grade-all SUBMISSIONS_DIR -j N`: grade a class."""
    from grader.grading import exercise_names
    from grader.report import write_class_csv

    ap = argparse.ArgumentParser(prog="tt grade-all", description=main_grade_all.__doc__)
    ap.add_argument("submissions", help="a folder with one sub-folder or .zip per student")
    ap.add_argument("-j", "--jobs", type=int, default=1, help="submissions graded at once")
    ap.add_argument("--out", default="graded", help="output folder (default %(default)s)")
    ap.add_argument("--force", action="store_true", help="regrade even unchanged submissions")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per submission")
    ap.add_argument("--call-timeout", type=float, default=10.0,
                    help="seconds each call of a student's function may take (default %(default)s)")
    args = ap.parse_args(argv)
    folder, out = Path(args.submissions), Path(args.out)
    if not folder.is_dir():
        print(f"tt grade-all: {folder} is not a folder", file=sys.stderr)
        return 2
    entries, skipped = _entries(folder)
    for note in skipped:
        print(f"skipped {note}", file=sys.stderr)
    exercises = [n[:4] for n in exercise_names()]
    todo, problems = [], {}
    for sid, path in entries:
        digest = _digest(path)
        done = out / sid / DIGEST
        if not args.force and done.exists() and done.read_text() == digest:
            continue
        todo.append((sid, path, digest))
    print(f"{len(entries)} submissions, {len(entries) - len(todo)} unchanged since last graded, "
          f"{len(todo)} to grade with {args.jobs} job(s)")
    with Progress(len(todo), desc="grading") as bar, \
            concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = {pool.submit(_grade_one, sid, path, out / sid, args.timeout, args.call_timeout): (sid, digest)
                   for sid, path, digest in todo}
        for fut in concurrent.futures.as_completed(futures):
            sid, digest = futures[fut]
            try:
                problems[sid] = fut.result()
            except Exception as exc:      # never let one student stop the class
                problems[sid] = f"grading failed: {type(exc).__name__}: {exc}"
            if not problems[sid]:
                atomic_write_text(out / sid / DIGEST, digest)
            bar.set_postfix(sid)
            bar.update()
    rows = [_row(sid, out / sid, exercises, problems.get(sid, "")) for sid, _ in entries]
    csv_path = write_class_csv(rows, ["student", *exercises, "total", "max", "note"], out / "gradebook.csv")
    failed = [sid for sid, p in problems.items() if p]
    print(f"wrote {csv_path}" + (f"; {len(failed)} could not be graded: {', '.join(failed)}" if failed else ""))
    return 0


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
