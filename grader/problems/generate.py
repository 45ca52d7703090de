"""`tt problems generate`: every student's set, and the instructor's key.

    OUT/students/<student_id>/problem_set.md      the set, Markdown
    OUT/students/<student_id>/problem_set.html    the set, one self-contained page
    OUT/students/<student_id>/problem_set.ipynb   the set as a notebook, scratch cells
    OUT/students/<student_id>/answers.txt         the blank answers file to fill in
    OUT/key/answer_key.json                       every student's exact answers
    OUT/key/answer_key.csv                        the same, one row per answer

Every file is written atomically, so an interrupted run leaves whole files; running the
same command again skips students whose four files are already there for the same
variant (`force=True` rewrites them) and always rewrites the key. Outputs are a pure
function of (secret, assignment, roster): a second run gives the same bytes.
Students are built in parallel processes (`jobs`); the order of the outputs does not
depend on it.
"""
from __future__ import annotations

import multiprocessing
import os
from dataclasses import dataclass
from pathlib import Path

from grader.problems import build_set
from grader.problems.render import key_rows, render_all
from grader.problems.roster import Student
from grader.problems.variants import student_seed, variant_id
from grader.report import write_class_csv
from tt.io import atomic_write_json, atomic_write_text
from tt.progress import Progress

FILES = ("problem_set.md", "problem_set.html", "problem_set.ipynb", "answers.txt")
KEY_COLUMNS = ["student_id", "variant", "answer_key", "kind", "points", "tolerance", "answer",
               "exact", "decimal"]


@dataclass
class Summary:
    students: int
    written: int
    skipped: int
    out: Path


def student_dir(out: Path, student_id: str) -> Path:
    return Path(out) / "students" / student_id


def _already_done(folder: Path, variant: str) -> bool:
    """All four files exist and the answers file names this variant."""
    if not all((folder / f).is_file() for f in FILES):
        return False
    try:
        head = (folder / "answers.txt").read_text(encoding="utf-8")[:4096]
    except (OSError, UnicodeDecodeError):
        return False
    return f"\nvariant = {variant}\n" in head


def build_student(student: Student, seed: bytes | None, assignment: str, out: Path,
                  force: bool) -> tuple[list[dict], dict, bool]:
    """Build one student's set, write its files, return (key rows, key entry, written)."""
    variant = variant_id(seed) if seed is not None else "0"
    instances = build_set(seed)
    folder = student_dir(out, student.student_id)
    written = False
    if force or not _already_done(folder, variant):
        for name, text in render_all(student, variant, assignment, instances).items():
            atomic_write_text(folder / name, text)
        written = True
    rows = key_rows(student, variant, instances)
    entry = {"student_id": student.student_id, "name": student.name, "variant": variant,
             "points": sum(i.points for i in instances),
             "problems": [{"key": i.problem.key, "title": i.problem.title,
                           "source": i.problem.source, "points": i.points,
                           "parts": [{k: r[k] for k in KEY_COLUMNS[2:]} for r in rows
                                     if r["answer_key"].startswith(i.problem.key + ".")]}
                          for i in instances]}
    return rows, entry, written


def _work(task):
    student, seed, assignment, out, force = task
    return build_student(student, seed, assignment, out, force)


def generate(students: list[Student], secret: str, assignment: str, out: str | Path,
             jobs: int | None = None, force: bool = False, show_progress: bool = True,
             variant0: bool = False) -> Summary:
    """Generate every student's set and the key. `variant0=True` gives everyone the
    seed's own numbers (for checking the bank against the seed document)."""
    out = Path(out)
    tasks = [(s, None if variant0 else student_seed(secret, assignment, s.student_id),
              assignment, out, force) for s in students]
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(tasks)))
    results = []
    bar = Progress(len(tasks), desc="problem sets", force=None if show_progress else False)
    try:
        if jobs == 1:
            for task in tasks:
                results.append(_work(task))
                bar.update()
        else:
            fork = "fork" in multiprocessing.get_all_start_methods()
            if fork:
                # Fill the symbolic caches once here; forked workers inherit them.
                build_set(None)
            ctx = multiprocessing.get_context("fork" if fork else None)
            with ctx.Pool(jobs) as pool:
                # imap keeps the roster order whatever finishes first.
                for result in pool.imap(_work, tasks, chunksize=4):
                    results.append(result)
                    bar.update()
    finally:
        if show_progress:
            bar.close()
    all_rows = [row for rows, _, _ in results for row in rows]
    write_class_csv(all_rows, KEY_COLUMNS, out / "key" / "answer_key.csv")
    atomic_write_json(out / "key" / "answer_key.json",
                      {"assignment": assignment, "generator": "tt problems generate",
                       "students": [entry for _, entry, _ in results]})
    written = sum(1 for _, _, w in results if w)
    return Summary(len(tasks), written, len(tasks) - written, out)
