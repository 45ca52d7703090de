"""Stubs from solutions: one source of truth for the exercises and the student release.

Solution code lives once, between `### BEGIN SOLUTION` and `### END SOLUTION` (the
nbgrader convention), in solutions/exNN_*.py and in the bodies of tt that answer an
exercise. This module replaces every such region with

    raise NotImplementedError("Exercise N: <function>")

at the region's indentation, keeping signatures, docstrings and scaffolding:

    tt build-exercises [--check]     solutions/ -> exercises/ (committed)
    tt build-exercises --expected    and re-record exercises/tests/expected/ (grader/public_expected.py)
    tt release [--out DIR]           DIR/tt-exercises/ and DIR/tt-exercises.zip

In the student edition of tt the docstring of every stubbed function is replaced too,
by a pointer to its exercise: tt's docstrings state the formulas the exercises ask for.
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tt.io import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
# What a student reads first. The maintainers' rule (edit solutions/, never exercises/;
# `tt build-exercises` regenerates these files) lives in solutions/README.md and here.
HEADER = ("# Exercise {n}: write your code in this file. Replace each\n"
          "#     raise NotImplementedError(\"Exercise {n}: ...\")\n"
          "# below with your own code; keep every function's name and signature, as the tests\n"
          "# and the grader call them. You may add helper functions.\n"
          "# Check your work:   python -m tt check {n}\n"
          "#            (or:    python -m pytest exercises/tests/{test})\n")
EXERCISE_FILE = re.compile(r"ex(\d\d)_\w+\.py$")


class BuildError(ValueError):
    """A malformed solution file; the message names the file and line."""


@dataclass(frozen=True)
class Region:
    begin: int        # 0-based line index of the BEGIN marker
    end: int          # 0-based line index of the END marker
    indent: str
    function: str     # the enclosing function's name


def solution_regions(text: str, filename: str = "<text>") -> list[Region]:
    """Every marked region, checked: paired, not nested, each inside a function."""
    lines = text.splitlines()
    functions = _function_spans(text, filename)
    regions, open_at = [], None
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped == BEGIN:
            if open_at is not None:
                raise BuildError(f"{filename}:{i + 1}: {BEGIN} inside another region "
                                 f"(opened at line {open_at + 1})")
            open_at = i
        elif stripped == END:
            if open_at is None:
                raise BuildError(f"{filename}:{i + 1}: {END} without a {BEGIN}")
            # the END marker is a comment after the last statement, so it may lie
            # past the function's last line: the BEGIN marker decides the owner
            owner = [name for name, a, b in functions if a < open_at <= b]
            if not owner:
                raise BuildError(f"{filename}:{open_at + 1}: solution region outside a function")
            indent = lines[open_at][: len(lines[open_at]) - len(lines[open_at].lstrip())]
            if not line.startswith(indent + END):
                raise BuildError(f"{filename}:{i + 1}: {END} is not indented like its {BEGIN} "
                                 f"(line {open_at + 1})")
            regions.append(Region(open_at, i, indent, owner[-1]))
            open_at = None
        elif stripped.startswith("#") and ("BEGIN SOLUTION" in stripped or "END SOLUTION" in stripped):
            raise BuildError(f"{filename}:{i + 1}: malformed marker {stripped!r}; "
                             f"write exactly {BEGIN!r} or {END!r}")
    if open_at is not None:
        raise BuildError(f"{filename}:{open_at + 1}: {BEGIN} is never closed")
    return regions


def _function_spans(text, filename):
    """(name, first line, last line), 0-based, of every function; innermost last."""
    try:
        tree = ast.parse(text, filename=filename)
    except SyntaxError as exc:
        raise BuildError(f"{filename}:{exc.lineno}: syntax error: {exc.msg}") from None
    spans = [(n.name, n.lineno - 1, n.end_lineno - 1) for n in ast.walk(tree)
             if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    return sorted(spans, key=lambda s: (s[1], -s[2]))


def stub_source(text: str, message, filename: str = "<text>", docstring=None) -> str:
    """`text` with every solution region replaced by `raise NotImplementedError(message(fn))`.

    With `docstring`, the docstring of each function that holds a region becomes
    docstring(fn) as well (the student edition of tt); None keeps it (exercises/).
    """
    lines = text.splitlines(keepends=True)
    edits = []                                   # (first line, last line, new lines), 0-based
    regions = solution_regions(text, filename)
    for r in regions:
        text_literal = json.dumps(message(r.function))   # a double-quoted Python string
        edits.append((r.begin, r.end, [f"{r.indent}raise NotImplementedError({text_literal})\n"]))
    if docstring is not None:
        docs = _docstring_spans(text, filename)
        stubbed = {docs[r.begin] for r in regions if r.begin in docs}   # one per function
        for fn, (a, b, indent) in stubbed:
            first, *rest = docstring(fn).split("\n")
            # indented like the old one; blank lines stay empty; the last holds the closing quotes
            rest = [indent + t if t else "" for t in rest[:-1]] + [indent + t for t in rest[-1:]]
            body = "\n".join([first, *rest])
            edits.append((a, b, [f'{indent}"""{body}"""\n']))
    for a, b, new in sorted(edits, reverse=True):    # bottom up: earlier line numbers stay valid
        lines[a:b + 1] = new
    return "".join(lines)


def _docstring_spans(text, filename):
    """{line of a solution-holding function's body: (name, (first, last, indent)) of its docstring}.

    Keyed by every 0-based line inside each function that has a docstring, innermost
    function last, so a region's BEGIN line finds the function it belongs to.
    """
    tree = ast.parse(text, filename=filename)
    lines = text.splitlines()
    spans = {}
    functions = sorted((n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))),
                       key=lambda n: n.lineno)
    for node in functions:                       # outer first, so inner functions overwrite
        first = node.body[0]
        if not (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)):
            continue
        a, b = first.lineno - 1, first.end_lineno - 1
        indent = lines[a][: len(lines[a]) - len(lines[a].lstrip())]
        for i in range(node.lineno - 1, node.end_lineno):
            spans[i] = (node.name, (a, b, indent))
    return spans


# ------------------------------------------------------------------------- exercises
def exercise_number(path: Path) -> int:
    m = EXERCISE_FILE.match(path.name)
    if not m:
        raise BuildError(f"{path}: exercise files are named exNN_<topic>.py")
    return int(m.group(1))


def exercise_sources(solutions_dir: Path = ROOT / "solutions") -> list[Path]:
    return sorted(p for p in solutions_dir.glob("ex*.py") if EXERCISE_FILE.match(p.name))


def render_exercise(path: Path) -> str:
    """The generated stub module for one solution module."""
    n = exercise_number(path)
    text = path.read_text(encoding="utf-8")
    if not solution_regions(text, str(path)):
        raise BuildError(f"{path}: has no {BEGIN} region, so there is nothing to exercise")
    header = HEADER.format(n=n, test=f"test_{path.name}")
    return header + stub_source(text, lambda fn: f"Exercise {n}: {fn}", str(path))


def build_exercises(solutions_dir: Path = ROOT / "solutions", exercises_dir: Path = ROOT / "exercises",
                    check: bool = False) -> list[Path]:
    """Regenerate exercises/exNN_*.py; return the files that changed (or would change)."""
    changed = []
    for src in exercise_sources(solutions_dir):
        out = exercises_dir / src.name
        new = render_exercise(src)
        if not out.exists() or out.read_text(encoding="utf-8") != new:
            changed.append(out)
            if not check:
                atomic_write_text(out, new)
    stale = {p.name for p in exercises_dir.glob("ex*.py")} - {p.name for p in exercise_sources(solutions_dir)}
    for name in sorted(stale):   # an exercise whose solution was removed
        changed.append(exercises_dir / name)
        if not check:
            (exercises_dir / name).unlink()
    return changed


# ------------------------------------------------------------------- student edition
def exercise_for_function(exercises_dir: Path = ROOT / "exercises") -> dict[str, Path]:
    """{function name: exercise file} for every function an exercise asks for.

    Read from the generated stubs, so grading and the release never need solutions/.
    """
    table = {}
    stub = re.compile(r'raise NotImplementedError\("Exercise \d+: (\w+)"\)')
    for path in exercise_sources(exercises_dir):
        for fn in stub.findall(path.read_text(encoding="utf-8")):
            table.setdefault(fn, path)
    return table


# Marked tt bodies that answer an exercise function of another name (tt.<module>.<fn>:
# the exercise's function). A tt function named like an exercise function needs no entry.
TWINS = {
    "train.train": "train_capstone",                      # exercise 15's training loop
    "gradflow.stage_gradients": "stage_gradient_norms",   # exercise 14's walk
    "gradflow.stage_norms": "stage_gradient_norms",
    "optim.adam_step_inplace": "adam",                    # exercise 12's Adam, in place
    "attention.last_query_mha_backward": "mha_backward",  # exercise 6, at one query
    "gradcheck.check_model": "numerical_gradient",        # exercise 10's central differences
}


def student_tt(out_dir: Path, tt_dir: Path = ROOT / "tt", exercises_dir: Path = ROOT / "exercises") -> Path:
    """Write the student edition of tt: every marked body stubbed. Returns out_dir/tt.

    A stubbed function's docstring becomes a pointer to the exercise that asks for it
    (tt's docstrings give the formulas away); the rest of tt is copied as it is.
    """
    owners = exercise_for_function(exercises_dir)
    dest = Path(out_dir) / "tt"
    dest.mkdir(parents=True, exist_ok=True)
    for src in sorted(tt_dir.glob("*.py")):
        text = src.read_text(encoding="utf-8")

        def exercise(fn, module=src.stem):
            """(exercise file, its function) that tt.<module>.<fn> answers, or None."""
            twin = TWINS.get(f"{module}.{fn}", fn)
            return (owners[twin], twin) if twin in owners else None

        def message(fn, module=src.stem):
            where, found = f"tt.{module}.{fn}", exercise(fn)
            if found is None:
                return f"{where} is not available in the student edition of tt"
            ex, twin = found
            if twin == fn:
                return f"Exercise {exercise_number(ex)}: {fn} (write it in exercises/{ex.name})"
            return (f"{where} is not in the student edition of tt: it would answer exercise "
                    f"{exercise_number(ex)}, {twin} in exercises/{ex.name}")

        def docstring(fn, module=src.stem):
            found = exercise(fn)
            if found is None:
                return "Not available in the student edition of tt."
            ex, twin = found
            if twin == fn:
                return (f"Exercise {exercise_number(ex)}: write {fn} in exercises/{ex.name}.\n\n"
                        f"Its docstring there says what to compute; here, in the student edition\n"
                        f"of tt, this is a stub.\n")
            return (f"Not in the student edition of tt: it would answer exercise {exercise_number(ex)}\n"
                    f"({twin} in exercises/{ex.name}).\n")

        atomic_write_text(dest / src.name, stub_source(text, message, str(src), docstring=docstring))
    return dest


def build_release(out_dir: Path) -> tuple[Path, Path]:
    """The folder and zip a student receives: exercises, public tests, student tt."""
    out_dir = Path(out_dir)
    folder = out_dir / "tt-exercises"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    student_tt(folder)
    ex_src = ROOT / "exercises"
    for path in sorted(ex_src.rglob("*")):
        rel = path.relative_to(ex_src)
        if "__pycache__" in rel.parts or path.is_dir():
            continue
        target = folder / "exercises" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    shutil.copyfile(ROOT / "exercises" / "README.md", folder / "README.md")
    (folder / "requirements.txt").write_text("numpy>=1.24\npytest>=7.4\nmatplotlib>=3.7  # optional, for plots\n"
                                             "jupyterlab>=4.0  # for the notebooks (exNN_*.ipynb) of nbgrader courses\n")
    zip_path = out_dir / "tt-exercises.zip"
    tmp = zip_path.with_name(zip_path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():   # fixed timestamps: the same sources give the same zip
                info = zipfile.ZipInfo(str(path.relative_to(out_dir)), date_time=(2026, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, path.read_bytes())
    os.replace(tmp, zip_path)
    return folder, zip_path


# ------------------------------------------------------------------------------ CLI
def main_build_exercises(argv=None) -> int:
    """`tt build-exercises`: regenerate exercises/ from solutions/."""
    ap = argparse.ArgumentParser(prog="tt build-exercises", description=main_build_exercises.__doc__)
    ap.add_argument("--check", action="store_true", help="only report files that are out of date")
    ap.add_argument("--expected", action="store_true",
                    help="also re-record the public tests' expected gradients (exercises/tests/expected/, "
                         "a few minutes: see grader/public_expected.py); needed after changing a public test "
                         "that uses harness.vjp or numerical_ops, or a forward pass of tt")
    args = ap.parse_args(argv)
    if args.expected and not args.check:
        from grader.public_expected import record

        if record() != 0:
            print("tt build-exercises: recording failed (the public tests must pass against the "
                  "solutions); see above", file=sys.stderr)
            return 1
    try:
        changed = build_exercises(check=args.check)
    except BuildError as exc:
        print(f"tt build-exercises: {exc}", file=sys.stderr)
        return 2
    for path in changed:
        print(f"{'out of date' if args.check else 'wrote'}: {path.relative_to(ROOT)}")
    if not changed:
        print("exercises/ is up to date with solutions/")
    return 1 if (args.check and changed) else 0


def main_release(argv=None) -> int:
    """`tt release`: build the student release folder and zip."""
    ap = argparse.ArgumentParser(prog="tt release", description=main_release.__doc__)
    ap.add_argument("--out", default="dist", help="output folder (default %(default)s)")
    args = ap.parse_args(argv)
    try:
        stale = build_exercises(check=True)
        if stale:
            print("tt release: exercises/ is out of date; run `tt build-exercises` first:\n  "
                  + "\n  ".join(str(p.relative_to(ROOT)) for p in stale), file=sys.stderr)
            return 2
        folder, zip_path = build_release(Path(args.out))
    except BuildError as exc:
        print(f"tt release: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {folder}/ and {zip_path}")
    return 0
