"""`tt export nbgrader` graded by real nbgrader, and the same notebooks regraded by `tt grade`.

A temporary course: the exported source notebooks, `nbgrader generate_assignment`,
three submissions made from the released notebooks (the solutions filled in, the stubs
left as released, the typical bugs of grader/samples), `nbgrader autograde`, and the
scores of every notebook read back from nbgrader's gradebook. The partial score is
worked out here from the hidden tests the six bugs fail (the same bugs as the mutation
check's reasoning). The autograded notebooks also hold the output of each public-checks
cell, run in a real kernel with the other notebooks beside it; `nbgrader validate` must
report the failing ones; `tt grade-all` must give the same scores, exercise by exercise.

nbgrader is in the test extra, so a missing nbgrader fails these tests; set
TT_SKIP_NBGRADER=1 to skip them instead.
"""
from __future__ import annotations

import ast
import csv
import json
import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

if os.environ.get("TT_SKIP_NBGRADER") == "1":
    pytest.skip("TT_SKIP_NBGRADER=1", allow_module_level=True)
MISSING = ""
try:
    import nbformat
    import nbgrader  # noqa: F401

    from grader.export.nbgrader import NOTEBOOK_EXERCISES, export, hidden_tests
except ImportError as exc:          # every test below fails with this, the others still run
    MISSING = (f"tests/test_nbgrader.py needs nbgrader and nbformat (the test extra: "
               f"python -m pip install -e '.[test]'), or TT_SKIP_NBGRADER=1 to skip it: {exc}")
    NOTEBOOK_EXERCISES = range(1, 16)

from exercises.tests.notebook import notebook_cells, run_public  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def _nbgrader_is_installed():
    """Before any other fixture of this module (the course): fail, not skip, without nbgrader."""
    if MISSING:
        pytest.fail(MISSING, pytrace=False)

ROOT = Path(__file__).resolve().parents[1]
BUGS = ROOT / "grader" / "samples" / "typical_bugs"
ASSIGNMENT = "stage10"
STUDENTS = ("full", "stubs", "bugs")
# The hidden tests the typical bugs fail (grader/samples/README.md lists the bugs).
LOST = {
    1: ["test_batch_mean", "test_batch_scaled_dloss", "test_batch_large_logits_float32"],   # 1/B left out
    2: ["test_linear_batch", "test_linear_positions", "test_linear_without_bias",
        "test_linear_float32_batch_of_one"],                                                # dW transposed
    5: ["test_attention_all_heads", "test_attention_fewer_queries", "test_attention_float32",
        "test_attention_follows_ops"],                                                      # no 1/sqrt(hs)
    8: ["test_seed_example_repeated_comma", "test_random_batch_with_repeats",
        "test_one_token_everywhere_float32"],                                               # last write wins
    12: ["test_adam", "test_float32_keeps_dtype", "test_exercise4_trajectories"],         # no bias correction
    14: ["test_clip_scales_every_array_by_one_factor"],                                   # clipped one by one
    # the capstone's own code is the solution, but it runs the buggy exercises 1, 2, 5, 8 and 12:
    # its gradients are wrong, and its training run (which needs W1's gradient in W1's shape,
    # not transposed) fails, so both checks of that run fail; student_ops() is still right
    15: ["test_your_gradients_are_the_models", "test_training_uses_the_given_lr", "test_training_carries_adams_state",
         "test_training_uses_the_batch_size", "test_training_visits_every_example", "test_training_learns",
         "test_training_reports_honestly"],
}
# The public checks the typical bugs fail: the buggy exercises', and those that run them
# (exercise 9 runs 2 to 8, exercise 15 runs 1 to 9 and 12). Exercise 10 runs 1 and 4 too,
# but skips those checks while they are wrong: a bug there never costs exercise 10.
PUBLIC_FAILS_WITH_BUGS = {1, 2, 5, 8, 12, 14} | {9, 15}


def points(number, names=None):
    return sum(p for _, test, _, p in hidden_tests(number) if names is None or test in names)


def expected(student: str) -> dict[int, float]:
    """Each notebook's score, from the hidden tests' points and the bugs' lost tests."""
    if student == "stubs":
        return {n: 0.0 for n in NOTEBOOK_EXERCISES}
    lost = LOST if student == "bugs" else {}
    return {n: points(n) - points(n, set(lost.get(n, ()))) for n in NOTEBOOK_EXERCISES}


FULL = sum(expected("full").values()) if not MISSING else None
PARTIAL = sum(expected("bugs").values()) if not MISSING else None


def functions(path: Path) -> dict[str, str]:
    """Each top-level function's source, without solution markers."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    out = {}
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef):
            body = [l for l in lines[node.lineno - 1:node.end_lineno] if "### BEGIN SOLUTION" not in l
                    and "### END SOLUTION" not in l]
            out[node.name] = "\n".join(body)
    return out


def fill(release: Path, target: Path, sources: dict[int, Path]):
    """Copies of the released notebooks with the solution cells of some exercises filled in."""
    target.mkdir(parents=True)
    for nb_path in sorted(release.glob("*.ipynb")):
        nb = nbformat.read(nb_path, as_version=4)
        number = int(nb_path.stem[2:4])
        if number in sources:
            code = functions(sources[number])
            for cell in nb.cells:
                md = cell.metadata.get("nbgrader", {})
                if md.get("solution") and cell.cell_type == "code":
                    name = md["grade_id"].removeprefix(nb_path.stem + "_")
                    cell.source = code[name]
        nbformat.write(nb, target / nb_path.name)


def nbgrader(course: Path, *args, check=True):
    r = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, capture_output=True, text=True,
                       timeout=1800)
    if check:
        assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    return r


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    (course / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.root = {str(course)!r}\nc.CourseDirectory.course_id = 'tt'\n"
        f"c.ExecutePreprocessor.timeout = 300\n")
    export(course, ASSIGNMENT)
    nbgrader(course, "generate_assignment", ASSIGNMENT, "--create", "--force")
    release = course / "release" / ASSIGNMENT
    solutions = {n: p for n in NOTEBOOK_EXERCISES for p in (ROOT / "solutions").glob(f"ex{n:02d}_*.py")}
    bugs = {**solutions, **{int(p.stem[2:4]): p for p in BUGS.glob("ex*.py")}}
    submitted = course / "submitted"
    fill(release, submitted / "full" / ASSIGNMENT, solutions)
    fill(release, submitted / "stubs" / ASSIGNMENT, {})
    fill(release, submitted / "bugs" / ASSIGNMENT, bugs)
    nbgrader(course, "autograde", ASSIGNMENT, "--create", "--force")
    return course


def test_source_notebooks_carry_nbgrader_metadata(tmp_path):
    written = export(tmp_path, "a1")
    assert [p.name[:4] for p in written] == [f"ex{n:02d}" for n in range(1, 16)]
    again = export(tmp_path / "again", "a1")
    ids = set()
    for first, second in zip(written, again):
        assert first.read_text() == second.read_text()                  # stable: same ids, same text
        nb = nbformat.read(first, as_version=4)
        nbformat.validate(nb)
        kinds = {"markdown": 0, "solution": 0, "graded": 0, "public": 0}
        for cell in nb.cells:
            md = cell.metadata["nbgrader"]
            assert md["schema_version"] == 3 and md["grade_id"] not in ids
            ids.add(md["grade_id"])
            if cell.cell_type == "markdown":
                assert md["locked"] and not md["grade"] and not md["solution"]
                kinds["markdown"] += 1
            elif md["solution"]:
                assert not md["locked"] and "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source
                kinds["solution"] += 1
            elif md["grade_id"].endswith("_public"):                  # graded, worth nothing: Validate sees it
                assert md["grade"] and md["locked"] and md["points"] == 0 and "run_public(" in cell.source
                kinds["public"] += 1
            elif md["grade"]:
                assert md["locked"] and md["points"] > 0
                assert "### BEGIN HIDDEN TESTS" in cell.source and "### END HIDDEN TESTS" in cell.source
                kinds["graded"] += 1
            else:
                assert md["locked"]
        assert kinds["markdown"] == 2 and kinds["solution"] >= 1 and kinds["graded"] >= 3, first.name
        assert kinds["public"] == 1, first.name
        first_code = next(c for c in nb.cells if c.cell_type == "code")
        assert first_code.metadata["nbgrader"]["grade_id"].endswith("_setup") and "_find_the_release" in first_code.source
    seed = nbformat.read(written[0], as_version=4).cells[1].source
    assert "From the seed text" in seed and "∂loss/∂logits" in seed          # the seed's text and math


def cells_of(path: Path) -> dict:
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nbformat.read(path, as_version=4).cells}


def test_notebook_text_is_true_in_a_notebook(tmp_path):
    """What the .py files say that is not so in a notebook is not in the notebooks."""
    for path in export(tmp_path):
        nb = nbformat.read(path, as_version=4)
        text = "\n".join(c.source for c in nb.cells)
        intro = nb.cells[0].source
        assert "tt check" not in intro and "python -m pytest exercises -m" in intro, path.name
        assert re.search(r"\n\n\*\*Check your work:\*\* run the public-checks cell", intro), path.name
        assert "docs/errata.md" not in text and "module docstring" not in text, path.name
        assert "The autograder runs your code" not in text, path.name
        for cell in nb.cells:
            md = cell.metadata["nbgrader"]
            if md["solution"]:       # a solution cell is one function: nothing given after it
                assert cell.source.rstrip().endswith("### END SOLUTION"), (path.name, md["grade_id"])
                assert "for the autograder" not in cell.source, (path.name, md["grade_id"])
    for path in export(tmp_path / "again"):               # any given block "for the autograder": with its helpers
        for cell in nbformat.read(path, as_version=4).cells:
            if "for the autograder" in cell.source and cell.cell_type == "code":
                assert cell.source.startswith("# ---") and re.search(r"^(def|class) ", cell.source, re.M), path.name


SOURCE = '''"""Exercise 99: a test.

Hint: the module docstring says so.
Check your work:  python -m pytest exercises -m ex99      (or: tt check 99)
"""
from __future__ import annotations

import numpy as np


def mine(x):
    """Hint: four lines, one per line of the forward pass in the module docstring."""
    ### BEGIN SOLUTION
    return x
    ### END SOLUTION


# ---------------------------------------------------------- for the autograder (given)
# The autograder runs your code in a process of its own and can send it arrays, not
# functions: this helper calls yours there.
def _helper(x):
    return mine(x)
'''


def test_cells_of_a_solution_file(tmp_path):
    """The cells of a small solution file: the comments after a function go with the helper
    they describe, not into the student's cell; the future import moves to the first cell;
    wording that is false in a notebook is replaced."""
    from grader.export.nbgrader import _code_cells, _intro
    cells = _code_cells(SOURCE, "ex99_test")
    assert [c.metadata["nbgrader"]["grade_id"] for c in cells] == [
        "ex99_test_setup", "ex99_test_given_1", "ex99_test_mine", "ex99_test_given_2"]
    setup, given, mine, helper = (c.source for c in cells)
    assert setup.startswith("from __future__ import annotations\n") and "__future__" not in given
    assert given == "import numpy as np"
    assert mine.startswith("def mine(x):") and mine.endswith("    ### END SOLUTION")
    assert "introduction at the top of this notebook" in mine and "module docstring" not in mine
    assert helper.startswith("# ------") and helper.rstrip().endswith("return mine(x)")
    assert "`tt grade` runs your code in a process of its own" in helper and "The autograder runs" not in helper
    compile("\n\n".join([setup, given, mine, helper]), "ex99", "exec")   # as tt grade joins them: valid
    intro = _intro(ast.get_docstring(ast.parse(SOURCE)), 99)
    assert "tt check" not in intro and "module docstring" not in intro
    assert intro.endswith("nbgrader's *Validate* reports it.")
    assert "says so.\n\n**Check your work:** run the public-checks cell below" in intro


def test_released_notebooks_have_stubs_and_no_hidden_tests(course):
    released = sorted((course / "release" / ASSIGNMENT).glob("*.ipynb"))
    assert len(released) == 15
    for path in released:
        text = path.read_text()
        assert "BEGIN SOLUTION" not in text and "hidden_test(" not in text and "HIDDEN TESTS" not in text
        assert "raise NotImplementedError" in text and "run_public(" in text


def notebook_scores(course: Path) -> dict[str, dict[int, float]]:
    """{student: {exercise: score}} from nbgrader's gradebook, one entry per notebook."""
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {s: {int(nb.name[2:4]): nb.score for nb in gb.find_submission(ASSIGNMENT, s).notebooks}
                for s in STUDENTS}


def test_autograde_scores_each_notebook(course):
    got = notebook_scores(course)
    for student in STUDENTS:
        assert got[student] == expected(student), (student, got[student])
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        totals = {s: gb.find_submission(ASSIGNMENT, s).score for s in STUDENTS}
    assert totals == {"full": FULL, "stubs": 0.0, "bugs": PARTIAL}, totals
    assert FULL == 176 and PARTIAL == FULL - 46            # 4 + 6 + 7 + 5 + 7 + 3 lost, and 14 of the capstone's 16


def public_cells(course: Path, student: str) -> dict:
    folder = course / "autograded" / student / ASSIGNMENT
    return {int(p.stem[2:4]): cells_of(p)[f"{p.stem}_public"] for p in sorted(folder.glob("*.ipynb"))}


def errors(cell) -> list:
    return [o for o in cell.outputs if o.output_type == "error"]


def stdout(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")


def test_public_checks_pass_in_the_kernel_with_the_solutions(course):
    """Every notebook's public-checks cell, run by autograde in a real kernel: all pass,
    exercises 9, 10 and 15 with the other exercises taken from the notebooks beside them."""
    cells = public_cells(course, "full")
    assert sorted(cells) == list(NOTEBOOK_EXERCISES)
    for n, cell in cells.items():
        assert not errors(cell), (n, [e.evalue for e in errors(cell)])
        out = stdout(cell)
        assert re.search(r"\d+ passed", out) and "failed" not in out and "skipped" not in out, (n, out[-1500:])
    assert "these checks used your exercise 4 from ex04_layernorm.ipynb beside this notebook" in stdout(cells[10])
    assert "these checks used your exercise 8 from ex08_embedding.ipynb beside this notebook" in stdout(cells[9])
    assert "these checks used your exercise 9 from the module this notebook loaded" in stdout(cells[15])


def test_public_checks_report_failures(course):
    """The stubs fail every notebook's public checks, the bugs those of the exercises they touch;
    the cell ends with an AssertionError that sums them up (autograde went on: the scores above)."""
    for student, failing in (("stubs", set(NOTEBOOK_EXERCISES)), ("bugs", PUBLIC_FAILS_WITH_BUGS)):
        cells = public_cells(course, student)
        failed = {n for n, cell in cells.items() if errors(cell)}
        assert failed == failing, (student, sorted(failed))
        for n in failed:
            (err,) = errors(cells[n])
            assert err.ename == "AssertionError" and f"exercise {n}: " in err.evalue, (student, n, err.evalue)
            assert "of the public checks failed" in err.evalue


def validate(course: Path, notebook: Path) -> str:
    r = nbgrader(course, "validate", str(notebook), check=False)
    return r.stdout + r.stderr


def test_validate_reports_failing_public_checks(course):
    """nbgrader validate (the notebook's Validate button): an untouched or buggy notebook fails,
    a correct one passes, exercise 9 with its siblings loaded from the notebooks beside it."""
    submitted = course / "submitted"
    untouched = validate(course, submitted / "stubs" / ASSIGNMENT / "ex04_layernorm.ipynb")
    assert "VALIDATION FAILED" in untouched and "public checks failed" in untouched, untouched[-3000:]
    buggy = validate(course, submitted / "bugs" / ASSIGNMENT / "ex01_softmax_cross_entropy.ipynb")
    assert "VALIDATION FAILED" in buggy and "exercise 1: " in buggy, buggy[-3000:]
    for name in ("ex04_layernorm", "ex09_model"):
        correct = validate(course, submitted / "full" / ASSIGNMENT / f"{name}.ipynb")
        assert "Success! Your notebook passes all the tests." in correct, (name, correct[-3000:])


def test_tt_grade_regrades_the_same_notebooks_isolated(course, tmp_path):
    """The instructor's second opinion: the submitted notebooks through the sandbox, the
    capstone included (its notebook imports the other exercises' files there)."""
    for student in STUDENTS:
        out = tmp_path / student
        r = subprocess.run([sys.executable, "-m", "tt", "grade", str(course / "submitted" / student / ASSIGNMENT),
                            "--out", str(out), "--quiet", "--seed", "0"],
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr[-3000:]
        results = json.loads((out / "results.json").read_text())
        assert results["score"] == sum(expected(student).values()), (student, results["output"])
        assert "isolated worker" in results["output"]


def test_tt_grade_all_gives_nbgrader_scores_exercise_by_exercise(course, tmp_path):
    out = tmp_path / "graded"
    r = subprocess.run([sys.executable, "-m", "tt", "grade-all", str(course / "submitted"), "-j", "2", "--out", str(out)],
                       capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    with open(out / "gradebook.csv", newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    nb = notebook_scores(course)
    assert set(rows) == set(STUDENTS)
    for student in STUDENTS:
        row = rows[student]
        assert {n: float(row[f"ex{n:02d}"]) for n in NOTEBOOK_EXERCISES} == nb[student], (student, row)
        assert float(row["total"]) == sum(nb[student].values()) and float(row["max"]) == FULL, row


# ---------------------------------------------------------- in this process, no kernel
def run_notebook_code(path: Path) -> dict:
    """A notebook's code cells (not the graded ones) run as a notebook runs them."""
    ns = {"__name__": "__main__"}
    for source in notebook_cells(path):
        exec(compile(source, path.name, "exec"), ns)
    return ns


def test_public_checks_take_other_exercises_from_notebooks_files_or_skip(tmp_path, monkeypatch, capsys):
    """Exercise 10's checks of your exercises 1 and 4: from the notebooks beside it, else from
    the files beside it, else the release's stubs (skipped: not written), else skipped."""
    (notebook,) = export(tmp_path / "course")[9:10]
    folder = notebook.parent
    monkeypatch.chdir(folder)
    ns = run_notebook_code(notebook)
    assert run_public(10, ns) == 0                                   # the notebooks beside it
    out = capsys.readouterr().out
    assert "exercise 1 from ex01_softmax_cross_entropy.ipynb beside" in out and "skipped" not in out
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / notebook.name).write_bytes(notebook.read_bytes())
    monkeypatch.chdir(alone)
    with open(alone / "ex04_layernorm.py", "w") as f:                # a .py beside it: the solution
        f.write((ROOT / "solutions" / "ex04_layernorm.py").read_text())
    assert run_public(10, ns) == 0                                   # exercise 1: the release's stub
    out = capsys.readouterr().out
    assert "exercise 4 from ex04_layernorm.py beside this notebook" in out
    assert "exercise 1 from exercises/ex01_softmax_cross_entropy.py" in out and "1 skipped" in out
    import exercises.tests.notebook as nbmod
    monkeypatch.setattr(nbmod, "find_exercise", lambda name, folder, as_name: (None, f"no {name} here"))
    assert run_public(10, ns) == 0
    out = capsys.readouterr().out
    assert "2 skipped" in out and "exercise 1 from nowhere (no ex01_softmax_cross_entropy here)" in out


def test_public_checks_raise_on_stubs_and_on_a_bug(tmp_path, capsys):
    stub = runpy.run_path(str(ROOT / "exercises" / "ex04_layernorm.py"))
    with pytest.raises(AssertionError, match=r"exercise 4: \d+ of the public checks failed \(0 passed"):
        run_public(4, stub, folder=tmp_path)
    buggy = runpy.run_path(str(BUGS / "ex14_clipping_gradflow.py"))
    with pytest.raises(AssertionError, match=r"exercise 14: 1 of the public checks failed .*clip"):
        run_public(14, buggy, folder=tmp_path)
    assert "NotImplementedError" in capsys.readouterr().out


def test_the_capstone_notebook_loads_the_notebooks_beside_it(tmp_path, monkeypatch):
    """Exercise 15's given code in a notebook: the other exercises from their notebooks, as
    modules named as the files are (so student_ops() sees its functions as defined there)."""
    written = export(tmp_path)
    monkeypatch.chdir(written[0].parent)
    ns = run_notebook_code(written[14])
    assert ns["ex04_layernorm"].__file__ == str(written[3])
    ops = ns["student_ops"]()
    assert ops.layernorm_backward is ns["ex04_layernorm"].layernorm_backward
    assert ops.layernorm_backward.__module__ == "ex04_layernorm"                 # as under tt grade
    from grader.export.inprocess import run_suite
    assert set(run_suite("test_ex15_capstone.py", ns).values()) == {""}          # all 16 points
    (written[3]).unlink()                                                         # exercise 4's notebook gone
    ns = run_notebook_code(written[14])
    assert ns["ex04_layernorm"].__file__.endswith("exercises/ex04_layernorm.py")  # the release's stub instead
    assert run_suite("test_ex15_capstone.py", ns)["test_ex15_capstone.py::test_your_gradients_are_the_models"]


SETUP_PROBE = """
import sys
from importlib.util import find_spec
{setup}
_find_the_release()
spec = find_spec("tt")
print("FOUND", spec.origin if spec else None)
"""


@pytest.mark.parametrize("layout", ["inside", "beside", "env", "nowhere"])
def test_the_setup_cell_finds_the_release(tmp_path, layout):
    """In a kernel that cannot import tt (python -S: no site-packages), the setup cell finds
    the release from the notebook's folder: a folder of it, a tt-exercises/ beside, TT_EXERCISES."""
    from grader.export.nbgrader import SETUP
    release = tmp_path / "course" / "tt-exercises"
    (release / "tt").mkdir(parents=True)
    (release / "tt" / "__init__.py").write_text("")
    (release / "exercises" / "tests").mkdir(parents=True)
    (release / "exercises" / "__init__.py").write_text("")
    (release / "exercises" / "tests" / "notebook.py").write_text("")
    where = {"inside": release / "stage10", "beside": tmp_path / "course", "env": tmp_path / "elsewhere",
             "nowhere": tmp_path / "elsewhere"}[layout]
    where.mkdir(parents=True, exist_ok=True)
    env = {"PATH": os.environ["PATH"]}
    if layout == "env":
        env["TT_EXERCISES"] = str(release)
    r = subprocess.run([sys.executable, "-S", "-c", SETUP_PROBE.format(setup=SETUP)], cwd=where, env=env,
                       capture_output=True, text=True, timeout=60)
    if layout == "nowhere":
        assert r.returncode != 0 and "cannot find the student release" in r.stderr and "TT_EXERCISES" in r.stderr
    else:
        assert r.returncode == 0, r.stderr
        assert f"FOUND {release / 'tt' / '__init__.py'}" in r.stdout, r.stdout


def test_a_hidden_cell_reruns_the_suite_after_a_fix():
    """In one kernel: the stub fails, the redefined function passes (no stale result)."""
    from grader.export.inprocess import hidden_test
    ns = runpy.run_path(str(ROOT / "exercises" / "ex04_layernorm.py"))
    with pytest.raises(AssertionError, match="NotImplementedError"):
        hidden_test("test_ex04_layernorm.py::test_random_batch", ns)
    ns["layernorm_backward"] = runpy.run_path(str(ROOT / "solutions" / "ex04_layernorm.py"))["layernorm_backward"]
    hidden_test("test_ex04_layernorm.py::test_random_batch", ns)
    with pytest.raises(RuntimeError, match="no hidden test"):
        hidden_test("test_ex04_layernorm.py::test_nothing", ns)


def test_a_hidden_cell_refuses_tts_own_function():
    """The autograding kernel has the reference tt: `from tt import layernorm_backward` scores nothing."""
    import tt
    from grader.export.inprocess import hidden_test
    ns = runpy.run_path(str(ROOT / "exercises" / "ex04_layernorm.py"))
    ns["layernorm_backward"] = tt.layernorm_backward
    with pytest.raises(AssertionError, match="tt's own tt.layers.layernorm_backward"):
        hidden_test("test_ex04_layernorm.py::test_random_batch", ns)


def test_a_hidden_cell_says_so_in_a_kernel_with_the_student_edition(monkeypatch):
    import tt.ops
    from grader.export.inprocess import hidden_test
    monkeypatch.setattr(tt.ops, "student_edition", lambda: True)
    ns = runpy.run_path(str(ROOT / "solutions" / "ex04_layernorm.py"))
    with pytest.raises(RuntimeError, match="student edition of tt"):
        hidden_test("test_ex04_layernorm.py::test_float32_keeps_dtype", ns)
