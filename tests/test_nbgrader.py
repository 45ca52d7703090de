"""`tt export nbgrader` graded by real nbgrader, and the same notebooks regraded by `tt grade`.

A temporary course: the exported source notebooks, `nbgrader generate_assignment`,
three submissions made from the released notebooks (the solutions filled in, the stubs
left as released, the typical bugs of grader/samples), `nbgrader autograde`, and the
scores read back from nbgrader's gradebook. The partial score is worked out here from
the hidden tests the six bugs fail (the same bugs as the mutation check's reasoning).
"""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbgrader")

from grader.export.nbgrader import NOTEBOOK_EXERCISES, export, hidden_tests  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BUGS = ROOT / "grader" / "samples" / "typical_bugs"
ASSIGNMENT = "stage10"
# The hidden tests the typical bugs fail (grader/samples/README.md lists the bugs).
LOST = {
    1: ["test_batch_mean", "test_batch_scaled_dloss", "test_batch_large_logits_float32"],   # 1/B left out
    2: ["test_linear_batch", "test_linear_positions", "test_linear_without_bias",
        "test_linear_float32_batch_of_one"],                                                # dW transposed
    5: ["test_attention_all_heads", "test_attention_fewer_queries", "test_attention_float32"],  # no 1/sqrt(hs)
    8: ["test_seed_example_repeated_comma", "test_random_batch_with_repeats",
        "test_one_token_everywhere_float32"],                                               # last write wins
    12: ["test_adam", "test_float32_keeps_dtype", "test_exercise4_trajectories"],         # no bias correction
    14: ["test_clip_scales_every_array_by_one_factor"],                                   # clipped one by one
}


def points(number, names=None):
    return sum(p for _, test, _, p in hidden_tests(number) if names is None or test in names)


FULL = sum(points(n) for n in NOTEBOOK_EXERCISES)
PARTIAL = FULL - sum(points(n, set(names)) for n, names in LOST.items())


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


def nbgrader(course: Path, *args):
    r = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, capture_output=True, text=True,
                       timeout=1800)
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
    assert [p.name[:4] for p in written] == [f"ex{n:02d}" for n in NOTEBOOK_EXERCISES]
    again = export(tmp_path / "again", "a1")
    ids = set()
    for first, second in zip(written, again):
        assert first.read_text() == second.read_text()                  # stable: same ids, same text
        nb = nbformat.read(first, as_version=4)
        nbformat.validate(nb)
        kinds = {"markdown": 0, "solution": 0, "graded": 0}
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
            elif md["grade"]:
                assert md["locked"] and md["points"] > 0
                assert "### BEGIN HIDDEN TESTS" in cell.source and "### END HIDDEN TESTS" in cell.source
                kinds["graded"] += 1
            else:
                assert md["locked"]
        assert kinds["markdown"] == 2 and kinds["solution"] >= 1 and kinds["graded"] >= 3, first.name
    seed = nbformat.read(written[0], as_version=4).cells[1].source
    assert "From the seed text" in seed and "∂loss/∂logits" in seed          # the seed's text and math


def test_released_notebooks_have_stubs_and_no_hidden_tests(course):
    for path in (course / "release" / ASSIGNMENT).glob("*.ipynb"):
        text = path.read_text()
        assert "BEGIN SOLUTION" not in text and "hidden_test(" not in text and "HIDDEN TESTS" not in text
        assert "raise NotImplementedError" in text


def scores(course: Path) -> dict[str, float]:
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {s: gb.find_submission(ASSIGNMENT, s).score for s in ("full", "stubs", "bugs")}


def test_autograde_scores(course):
    got = scores(course)
    assert got == {"full": FULL, "stubs": 0.0, "bugs": PARTIAL}, got
    assert PARTIAL == FULL - 31                                                # 4 + 6 + 6 + 5 + 7 + 3 lost


def test_tt_grade_regrades_the_same_notebooks_isolated(course, tmp_path):
    """The instructor's second opinion: the submitted notebooks through the sandbox."""
    for student, expected in (("full", FULL), ("stubs", 0.0), ("bugs", PARTIAL)):
        out = tmp_path / student
        r = subprocess.run([sys.executable, "-m", "tt", "grade", str(course / "submitted" / student / ASSIGNMENT),
                            "--out", str(out), "--quiet", "--seed", "0", "-k", "not ex15"],
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr[-3000:]
        results = json.loads((out / "results.json").read_text())
        assert results["score"] == expected, (student, results["output"])
        assert "isolated worker" in results["output"]



def test_a_hidden_cell_reruns_the_suite_after_a_fix():
    """In one kernel: the stub fails, the redefined function passes (no stale result)."""
    import runpy

    from grader.export.inprocess import hidden_test
    ns = runpy.run_path(str(ROOT / "exercises" / "ex04_layernorm.py"))
    with pytest.raises(AssertionError, match="NotImplementedError"):
        hidden_test("test_ex04_layernorm.py::test_random_batch", ns)
    ns["layernorm_backward"] = runpy.run_path(str(ROOT / "solutions" / "ex04_layernorm.py"))["layernorm_backward"]
    hidden_test("test_ex04_layernorm.py::test_random_batch", ns)
    with pytest.raises(RuntimeError, match="no hidden test"):
        hidden_test("test_ex04_layernorm.py::test_nothing", ns)
