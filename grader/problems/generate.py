"""`tt problems generate`: every student's set, and the instructor's key.

    OUT/students/<student_id>/problem_set.md      the set, Markdown
    OUT/students/<student_id>/problem_set.html    the set, one self-contained page
    OUT/students/<student_id>/problem_set.ipynb   the set as a notebook, scratch cells
    OUT/students/<student_id>/answers.txt         the blank answers file to fill in
    OUT/key/answer_key.json                       every student's exact answers (canonical)
    OUT/key/answer_key.csv                        the same, one row per answer
    OUT/key/manifest/<student_id>.json            what the set was made from, and its files' hashes

Every file is written atomically, so an interrupted run leaves whole files. Running the
same command again skips a student only when the manifest says the four files were made
from the same inputs (id, name, assignment, variant, and the bank's code and templates:
fingerprint.set_inputs) and the files are still the ones written; anything else is
rewritten (`force=True` rewrites everyone). The key is always rewritten. Outputs are a
pure function of (secret, assignment, roster, code): a second run gives the same bytes.
Students are built in parallel processes (`jobs`); the order of the outputs does not
depend on it.

The key CSV is for the instructor's scripts, not for a spreadsheet: its cells are
written as they are (a key of -0.25 is `-0.25`, with no formula guard), and it holds no
text from students. answer_key.json is the canonical key.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import multiprocessing
import os
from dataclasses import dataclass
from pathlib import Path

from grader.json_text import dumps
from grader.problems import build_set, warm_caches
from grader.problems.fingerprint import bank_version, set_inputs
from grader.problems.render import key_rows, render_all
from grader.problems.roster import Student
from grader.problems.variants import student_seed, variant_id
from tt.io import atomic_write_json, atomic_write_text
from tt.progress import Progress

FILES = ("problem_set.md", "problem_set.html", "problem_set.ipynb", "answers.txt")
GENERATOR = "tt problems generate"
KEY_COLUMNS = ["student_id", "variant", "answer_key", "kind", "points", "tolerance", "answer",
               "exact", "decimal", "rubric", "options"]


@dataclass
class Summary:
    students: int
    written: int
    skipped: int
    out: Path


def student_dir(out: Path, student_id: str) -> Path:
    return Path(out) / "students" / student_id


def manifest_path(out: Path, student_id: str) -> Path:
    return Path(out) / "key" / "manifest" / f"{student_id}.json"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _already_done(out: Path, student: Student, inputs: str) -> bool:
    """The manifest names these inputs, and the four files are the ones it lists."""
    try:
        manifest = json.loads(manifest_path(out, student.student_id).read_text("utf-8"))
        if manifest.get("inputs") != inputs or sorted(manifest.get("files", {})) != sorted(FILES):
            return False
        folder = student_dir(out, student.student_id)
        return all(_sha256((folder / name).read_bytes()) == digest
                   for name, digest in manifest["files"].items())
    except (OSError, UnicodeDecodeError, ValueError, AttributeError, TypeError):
        return False


def build_student(student: Student, seed: bytes | None, assignment: str, out: Path,
                  force: bool) -> tuple[list[dict], dict, bool]:
    """Build one student's set, write its files, return (key rows, key entry as JSON
    text, written)."""
    variant = variant_id(seed) if seed is not None else "0"
    instances = build_set(seed)
    folder = student_dir(out, student.student_id)
    inputs = set_inputs(student, variant, assignment)
    written = False
    if force or not _already_done(out, student, inputs):
        files = {}
        for name, text in render_all(student, variant, assignment, instances).items():
            data = text.encode("utf-8")
            atomic_write_text(folder / name, text)
            files[name] = _sha256(data)
        # Last: the manifest says the four files are complete and what they were made from.
        atomic_write_json(manifest_path(out, student.student_id),
                          {"student_id": student.student_id, "variant": variant,
                           "inputs": inputs, "files": files})
        written = True
    rows = key_rows(student, variant, instances)
    entry = {"student_id": student.student_id, "name": student.name, "variant": variant,
             "points": sum(i.points for i in instances),
             "problems": [{"key": i.problem.key, "title": i.problem.title,
                           "source": i.problem.source, "points": i.points,
                           "parts": [{k: r[k] for k in KEY_COLUMNS[2:]} for r in rows
                                     if r["answer_key"].startswith(i.problem.key + ".")]}
                          for i in instances]}
    return rows, _entry_json(entry), written


def _entry_json(entry: dict) -> str:
    """One student's entry as it stands inside answer_key.json (indent 2, at depth 2).

    Encoded here, in the worker: the parent then only joins the class's entries, where
    json.dumps(indent=2) of the whole key (pure-Python encoder) took seconds. JSON
    strings hold no raw newlines, so indenting every line is exact."""
    return "\n".join("    " + line for line in dumps(entry, 2).split("\n"))


def key_json(assignment: str, entries: list[str]) -> str:
    """answer_key.json's text from the encoded entries: the same bytes as
    json.dumps({"assignment", "generator", "students": [...]}, indent=2) + newline."""
    head = json.dumps({"assignment": assignment, "generator": GENERATOR}, indent=2)[:-2]
    students = ("[\n" + ",\n".join(entries) + "\n  ]") if entries else "[]"
    return f'{head},\n  "students": {students}\n}}\n'


def _work(task):
    student, seed, assignment, out, force = task
    return build_student(student, seed, assignment, out, force)


def generate(students: list[Student], secret: str, assignment: str, out: str | Path,
             jobs: int | None = None, force: bool = False, show_progress: bool = True,
             variant0: bool = False) -> Summary:
    """Generate every student's set and the key. `variant0=True` gives everyone the
    seed's own numbers (for checking the bank against the seed document)."""
    out = Path(out)
    bank_version()             # hashed once here; forked workers inherit it
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
                warm_caches()
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
    write_key_csv(all_rows, KEY_COLUMNS, out / "key" / "answer_key.csv")
    atomic_write_text(out / "key" / "answer_key.json",
                      key_json(assignment, [entry for _, entry, _ in results]))
    written = sum(1 for _, _, w in results if w)
    return Summary(len(tasks), written, len(tasks) - written, out)


def write_key_csv(rows: list[dict], columns: list[str], path: Path) -> Path:
    """The key as plain CSV: every cell exactly as in the key (no spreadsheet formula
    guard, which would turn -0.25 into '-0.25). Nothing in it comes from a student."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else str(row[c]) for c in columns])
    return atomic_write_text(path, buf.getvalue())
