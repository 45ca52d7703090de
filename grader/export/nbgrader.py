"""`tt export nbgrader DIR`: the exercises as nbgrader source notebooks.

    tt export nbgrader course/ [--assignment stage10]
    # -> course/source/stage10/ex01_softmax_cross_entropy.ipynb ... ex14_clipping_gradflow.ipynb

One notebook per exercise, built with nbformat from solutions/exNN_*.py:

    markdown, locked      the exercise's docstring: what to compute, formulas, shapes
    markdown, locked      "From the seed text": the sections of the seed it covers, math and all
    code, locked          the given code (imports, forward passes, helpers), in file order
    code, solution        each function to write, its body between ### BEGIN SOLUTION and
                          ### END SOLUTION (nbgrader replaces it when it releases the notebook)
    code, locked          the public checks (the same as `pytest exercises -m exNN`), ungraded
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
project, with grader/); students need only the student release. Exercise 15 is left
out: it imports the student's other exercises as modules, which notebooks are not;
grade it from the .py files with `tt grade`.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader.build import ROOT, exercise_sources
from tt.io import atomic_write_text

SOLUTIONS = ROOT / "solutions"
HIDDEN = ROOT / "grader" / "hidden"
SEED = ROOT / "docs" / "seed" / "stage10_backpropagation.md"
NOTEBOOK_EXERCISES = range(1, 15)            # 15 (the capstone) imports modules: see above
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


def _code_cells(source: str, stem: str) -> list:
    """The module's code after its docstring: given code (locked) and one solution cell
    per function that holds a solution, in file order."""
    tree = ast.parse(source)
    lines = source.splitlines()
    cells, given, k = [], [], 0

    def flush():
        nonlocal k
        text = "\n".join(given).strip()
        if text:
            k += 1
            cells.append(new_code_cell(text, metadata=meta(f"{stem}_given_{k}"), id=f"{stem}-given-{k}"))
        given.clear()

    body = tree.body[1:] if isinstance(tree.body[0], ast.Expr) else tree.body     # skip the docstring
    starts = [node.lineno - 1 - len(getattr(node, "decorator_list", [])) for node in body] + [len(lines)]
    for node, start, after in zip(body, starts, starts[1:]):
        # up to the next statement: a function's last lines may be comments (### END SOLUTION)
        segment = "\n".join(lines[start:after]).rstrip()
        if isinstance(node, ast.FunctionDef) and BEGIN in segment:
            flush()
            cells.append(new_code_cell(segment, metadata=meta(f"{stem}_{node.name}", solution=True, locked=False),
                                       id=f"{stem}-{node.name}".replace("_", "-")[:64]))
        else:
            given.append(segment + "\n\n")
    flush()
    return cells


def notebook(path: Path, seed_text: str):
    """The source notebook of one exercise file of solutions/."""
    source = path.read_text(encoding="utf-8")
    number, stem = int(path.stem[2:4]), path.stem
    doc = ast.get_docstring(ast.parse(source)) or ""
    title, _, rest = doc.partition("\n")
    rest = rest.replace(f"Check your work:  python -m pytest exercises -m ex{number:02d}",
                        "Check your work: run the public checks cell below")
    intro = f"# {title}\n\n{rest.strip()}"       # the formula lines are indented: code blocks
    seed = "\n\n".join(seed_section(h, seed_text) for h in dict.fromkeys(SEED_SECTIONS[number]))
    seed = ("## From the seed text\n\n*Stage 10: Backpropagation.* (Its worked numbers are not always "
            "right: the tests and `docs/errata.md` have the checked values.)\n\n" + seed)
    cells = [new_markdown_cell(intro, metadata=meta(f"{stem}_intro"), id=f"ex{number:02d}-intro"),
             new_markdown_cell(seed, metadata=meta(f"{stem}_seed"), id=f"ex{number:02d}-seed"),
             *_code_cells(source, stem),
             new_code_cell(f"# Public checks: the same as `python -m pytest exercises -m ex{number:02d}` on the .py file.\n"
                           f"from exercises.tests.notebook import run_public\n"
                           f"run_public({number}, globals())",
                           metadata=meta(f"{stem}_public"), id=f"ex{number:02d}-public")]
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
