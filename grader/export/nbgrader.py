"""`tt export nbgrader DIR`: the exercises as nbgrader source notebooks.

    tt export nbgrader course/ [--assignment stage10]
    # -> course/source/stage10/ex01_softmax_cross_entropy.ipynb ... ex15_capstone.ipynb

One notebook per exercise, built with nbformat from solutions/exNN_*.py:

    markdown, locked      the exercise's docstring: what to compute, formulas, shapes
    markdown, locked      "From the seed text": the sections of the seed it covers, math and all
    code, locked          setup: finds the student release, so that `import tt` and the
                          public checks work wherever the notebook sits (see SETUP)
    code, locked          the given code (imports, forward passes, helpers), in file order
    code, solution        each function to write, its body between ### BEGIN SOLUTION and
                          ### END SOLUTION (nbgrader replaces it when it releases the notebook)
    code, graded, 0 pts   the public checks (the same as `pytest exercises -m exNN`): a grade
                          cell worth nothing, so that nbgrader's Validate reports a failure
                          (run_public raises) while the score stays the hidden tests'
    code, graded          one cell per hidden test, with its points: a comment says what it
                          checks, and the call sits between ### BEGIN HIDDEN TESTS and
                          ### END HIDDEN TESTS, so the released notebook shows what is checked
                          but not how

Every cell carries schema-v3 nbgrader metadata. Grade ids (and cell ids) are built from
the exercise and the function or test name, so they stay the same from one export to
the next, and nbgrader's gradebook keeps matching them.

The hidden cells run the grader's own hidden suites (grader/hidden) against the
notebook's functions, in the kernel: nbgrader's trust model is that tests run with the
student's code. The kernel that autogrades needs this package installed (the whole
project, with grader/); students need only the student release, and must not have the
whole project (the reference tt answers every exercise).

Exercise 15 (the capstone) uses exercises 1-9 and 12 as modules. In its notebook the
given code loads them from the notebooks beside it (exercises.tests.notebook.load_exercises);
run as a file by `tt grade`, the same code imports the exercise files beside it.
"""
from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader.build import ROOT, exercise_sources
from tt.io import atomic_write_text

SOLUTIONS = ROOT / "solutions"
HIDDEN = ROOT / "grader" / "hidden"
SEED = ROOT / "docs" / "seed" / "stage10_backpropagation.md"
NOTEBOOK_EXERCISES = range(1, 16)
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"

# The seed's sections each exercise covers (headings as they stand in the seed).
SEED_SECTIONS = {
    1: ["### Starting Point: Loss Gradient"],
    2: ["### Computing ∂loss/∂b_output", "### Computing ∂loss/∂W_output", "### Computing ∂loss/∂final_repr"],
    3: ["### Step 3.2: Backward Through FFN"],
    4: ["### Step 3.1: Backward Through Final Add & Norm"],
    5: ["### Step 3.4: Backward Through Multi-Head Attention"],
    6: ["### Step 3.4: Backward Through Multi-Head Attention"],
    7: ["### Block Architecture (Recap)", "### Step 3.3: Backward Through First Add & Norm"],
    8: ["## PART 5: Backward Through Embeddings"],
    9: ["### The Complete Backward Pass"],
    10: ["### Gradient Checking", "### Exercise 2: Gradient Verification"],
    11: ["### Exercise 1: Hand Calculation - Complete Backward Pass"],
    12: ["### Simple Gradient Descent (SGD)", "### Adam Optimizer (Advanced)", "### Exercise 4: Optimizer Comparison"],
    13: ["### Exercise 5: Learning Rate Experiment"],
    14: ["### Exercise 3: Gradient Flow Analysis", "### Gradient Magnitudes at Different Stages"],
    15: ["## PART 8: Why Training Works - The Big Picture", "### Training Strategies at Scale"],
}


def meta(grade_id, *, grade=False, solution=False, locked=True, points=None) -> dict:
    """A cell's nbgrader metadata, schema version 3."""
    md = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
          "solution": solution, "task": False}
    if grade:
        md["points"] = points
    return {"nbgrader": md}


def seed_section(heading: str, text: str) -> str:
    """The seed's section under `heading`, up to the next heading of its level or above
    (a `#` inside a code fence is not a heading)."""
    lines = text.splitlines()
    try:
        start = lines.index(heading)
    except ValueError:
        raise ValueError(f"{SEED}: no heading {heading!r}") from None
    level = len(heading) - len(heading.lstrip("#"))
    out, fenced = [lines[start]], False
    for line in lines[start + 1:]:
        if line.startswith("```"):
            fenced = not fenced
        m = re.match(r"(#+) ", line)
        if m and not fenced and len(m.group(1)) <= level:
            break
        out.append(line)
    return "\n".join(out).strip()


def hidden_tests(number: int) -> list[tuple[str, str, str, float]]:
    """(suite file, test name, docstring, points) of exercise `number`'s hidden suite."""
    (suite,) = HIDDEN.glob(f"test_ex{number:02d}_*.py")
    tree = ast.parse(suite.read_text(encoding="utf-8"))
    tests = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            points = next(d.args[0].value for d in node.decorator_list
                          if isinstance(d, ast.Call) and getattr(d.func, "attr", "") == "points")
            doc = " ".join((ast.get_docstring(node) or "").split())
            tests.append((suite.name, node.name, doc, float(points)))
    return tests


# The first code cell of every notebook. It must work before anything of the release is
# importable, so it is self-contained; run as a file (tt grade) it does nothing.
SETUP = """\
# Setup (given): makes `tt` and `exercises` (the public checks) importable. They come with
# the student release (tt-exercises.zip). If this kernel cannot import them already, this
# cell looks for the release where the TT_EXERCISES environment variable points, then in
# this notebook's folder and every folder above it, each also with a tt-exercises/ inside.
def _find_the_release():
    import os
    import sys
    from importlib.util import find_spec
    from pathlib import Path

    def is_release(folder):
        return (folder / "tt" / "__init__.py").is_file() and (folder / "exercises" / "tests" / "notebook.py").is_file()

    def importable():
        spec = find_spec("exercises")
        return bool(find_spec("tt") and spec and any(
            (Path(p) / "tests" / "notebook.py").is_file() for p in spec.submodule_search_locations or ()))

    wanted = os.environ.get("TT_EXERCISES")
    if not wanted and importable():
        return
    here = Path.cwd().resolve()
    candidates = [Path(wanted).expanduser().resolve()] if wanted else []
    candidates += [f for folder in (here, *here.parents) for f in (folder, folder / "tt-exercises")]
    for folder in candidates:
        if is_release(folder):
            if str(folder) not in sys.path:
                sys.path.insert(0, str(folder))
            return
    raise ImportError("cannot find the student release (the folder holding tt/ and exercises/): unzip "
                      "tt-exercises.zip and put this notebook (or its folder) inside it, or set the "
                      "environment variable TT_EXERCISES to the release's folder")


if __name__ == "__main__":      # in the notebook (under `tt grade` this is a module: nothing to do)
    _find_the_release()"""

# Sentences of the .py files that are not true in a notebook, and what the notebook says.
NOTEBOOK_WORDING = [
    ("in the module docstring", "in the introduction at the top of this notebook"),
    ("the module docstring", "the introduction at the top of this notebook"),
    ("The autograder runs your code in a process of its own", "`tt grade` runs your code in a process of its own"),
    ("the autograder's messages", "`tt grade`'s messages"),
]


def notebook_wording(text: str) -> str:
    for old, new in NOTEBOOK_WORDING:
        text = text.replace(old, new)
    return text


def _is_docstring(node) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _imports_beside(node) -> list[str] | None:
    """The modules of exercise 15's `if __package__: from . import ... else: import ...`."""
    if not (isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "__package__"):
        return None
    return [alias.name for stmt in node.orelse if isinstance(stmt, ast.Import) for alias in stmt.names]


def _notebook_imports(names: list[str]) -> str:
    """Exercise 15's imports of the other exercises, for a notebook."""
    listed = ", ".join(names)
    quoted = ", ".join(f'"{n}"' for n in names)
    imports = "\n".join(f"    import {n}" for n in names)
    return textwrap.dedent("""\
        # Your other exercises, as modules. In this notebook: the code of their notebooks, which
        # must be in this notebook's folder (exNN_<topic>.ipynb, as they came). `tt grade` and
        # Gradescope run this notebook as a file, beside your other exercises: it imports them.
        if __name__ == "__main__":
            from exercises.tests.notebook import load_exercises
            ({listed}) = load_exercises(
                {quoted})
        else:
        """).format(listed=textwrap.fill(listed, 88, subsequent_indent="     ").lstrip(),
                    quoted=textwrap.fill(quoted, 84, subsequent_indent="        ").lstrip()) + imports


def _segments(source: str):
    """(node, its text) for each top-level statement after the docstring. A statement's
    text runs from the end of the one before (so the comments above it are its own) to its
    last line and the indented comments right after it (a function's ### END SOLUTION)."""
    tree = ast.parse(source)
    lines = source.splitlines()
    body, begin = tree.body, 0
    if body and _is_docstring(body[0]):
        body, begin = body[1:], body[0].end_lineno
    for i, node in enumerate(body):
        end = node.end_lineno
        while end < len(lines) and lines[end][:1].isspace() and lines[end].strip().startswith("#"):
            end += 1
        if i == len(body) - 1:
            end = len(lines)
        yield node, "\n".join(lines[begin:end])         # with the blank lines around it
        begin = end


def _code_cells(source: str, stem: str) -> list:
    """The module's code after its docstring: the setup cell, given code (locked) and one
    solution cell per function that holds a solution, in file order."""
    cells, given, future, k = [], [], [], 0

    def flush():
        nonlocal k
        text = "\n".join(given).strip()
        if text:
            k += 1
            cells.append(new_code_cell(text, metadata=meta(f"{stem}_given_{k}"), id=f"{stem}-given-{k}"))
        given.clear()

    for node, segment in _segments(source):
        beside = _imports_beside(node)
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            future.append(segment.strip())          # first in the first cell, as Python requires
        elif beside is not None:
            given.append("\n" + _notebook_imports(beside) + "\n")
        elif isinstance(node, ast.FunctionDef) and BEGIN in segment:
            flush()
            cells.append(new_code_cell(notebook_wording(segment.strip("\n").rstrip()), metadata=meta(f"{stem}_{node.name}", solution=True,
                                                                               locked=False),
                                       id=f"{stem}-{node.name}".replace("_", "-")[:64]))
        else:
            given.append(notebook_wording(segment))
    flush()
    setup = "\n".join(future + [SETUP])
    return [new_code_cell(setup, metadata=meta(f"{stem}_setup"), id=f"{stem}-setup".replace("_", "-")), *cells]


def _intro(doc: str, number: int) -> str:
    """The exercise's docstring as markdown: the title, the text, and a "Check your work"
    paragraph of its own that points at the public-checks cell."""
    title, _, rest = doc.partition("\n")
    check = re.compile(r"^Check your work:.*$", re.M)
    rest = check.sub("", rest)
    rest = notebook_wording(rest.strip())
    return (f"# {title}\n\n{rest}\n\n"            # the formula lines are indented: code blocks
            f"**Check your work:** run the public-checks cell below the functions (the same tests as "
            f"`python -m pytest exercises -m ex{number:02d}` on the .py file, here on this notebook's code). "
            f"It ends with an error if a check fails, and nbgrader's *Validate* reports it.")


def notebook(path: Path, seed_text: str):
    """The source notebook of one exercise file of solutions/."""
    source = path.read_text(encoding="utf-8")
    number, stem = int(path.stem[2:4]), path.stem
    doc = ast.get_docstring(ast.parse(source)) or ""
    seed = "\n\n".join(seed_section(h, seed_text) for h in dict.fromkeys(SEED_SECTIONS[number]))
    seed = ("## From the seed text\n\n*Stage 10: Backpropagation.* (Its worked numbers are not always "
            "right: where the tests and the seed disagree, the tests have the checked values.)\n\n" + seed)
    cells = [new_markdown_cell(_intro(doc, number), metadata=meta(f"{stem}_intro"), id=f"ex{number:02d}-intro"),
             new_markdown_cell(seed, metadata=meta(f"{stem}_seed"), id=f"ex{number:02d}-seed"),
             *_code_cells(source, stem),
             new_code_cell(f"# Public checks (0 points): the same tests as `python -m pytest exercises -m ex{number:02d}`,\n"
                           f"# run on this notebook's functions. A failure ends this cell with an error.\n"
                           f"from exercises.tests.notebook import run_public\n"
                           f"run_public({number}, globals())",
                           metadata=meta(f"{stem}_public", grade=True, points=0), id=f"ex{number:02d}-public")]
    for suite, test, doc, points in hidden_tests(number):
        gid = f"ex{number:02d}_{test}"
        cells.append(new_code_cell(
            f"# Hidden test, {points:g} point{'s' if points != 1 else ''}: {doc}\n"
            f"### BEGIN HIDDEN TESTS\n"
            f"from grader.export.inprocess import hidden_test\n"
            f"hidden_test({f'{suite}::{test}'!r}, globals())\n"
            f"### END HIDDEN TESTS",
            metadata=meta(gid, grade=True, points=points), id=gid.replace("_", "-")[:64]))
    nb = new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}})
    nbformat.validate(nb)
    return nb


def export(out_dir, assignment: str = "stage10") -> list[Path]:
    """Write DIR/source/<assignment>/exNN_*.ipynb; returns their paths."""
    folder = Path(out_dir) / "source" / assignment
    folder.mkdir(parents=True, exist_ok=True)
    seed_text = SEED.read_text(encoding="utf-8")
    written = []
    for path in exercise_sources(SOLUTIONS):
        if int(path.stem[2:4]) in NOTEBOOK_EXERCISES:
            target = folder / f"{path.stem}.ipynb"
            atomic_write_text(target, nbformat.writes(notebook(path, seed_text)))
            written.append(target)
    return written
