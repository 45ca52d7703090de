"""exercises/ is generated from solutions/, and the public tests tell them apart.

- regenerating produces no diff, no marker is left, every stub imports;
- solutions/ passes every public test; on exercises/ every test fails, and only with
  NotImplementedError;
- every exercise function has the signature of the tt function it mirrors.
"""
import importlib
import inspect
import subprocess
import sys
from pathlib import Path

import pytest
from junit import outcomes

import tt
import tt.gradcheck
import tt.optim
from grader.build import (BEGIN, END, BuildError, build_exercises, exercise_sources,
                          render_exercise, solution_regions, stub_source)

ROOT = Path(__file__).resolve().parents[1]
SOURCES = exercise_sources()
NAMES = [p.stem for p in SOURCES]


def run_public_tests(impl, tmp_path, cwd=ROOT, tests="exercises/tests", extra=()):
    """Run the public tests against `impl` in a fresh interpreter: {test id: (outcome, message)}."""
    report = tmp_path / f"junit-{impl}.xml"
    r = subprocess.run([sys.executable, "-m", "pytest", tests, "--impl", impl, "-q",
                        "-p", "no:cacheprovider", f"--junitxml={report}", *extra],
                       cwd=cwd, capture_output=True, text=True, timeout=1800)
    assert report.exists(), r.stdout[-3000:] + r.stderr[-3000:]
    results = outcomes(report, key=lambda case: f"{case.get('classname')}::{case.get('name')}")
    return results, r


def test_there_are_fifteen_exercises():
    assert [int(n[2:4]) for n in NAMES] == list(range(1, 16)), NAMES


def test_regenerating_gives_no_diff():
    assert build_exercises(check=True) == [], "run `tt build-exercises` and commit exercises/"


@pytest.mark.parametrize("name", NAMES)
def test_stub_matches_its_solution(name):
    assert (ROOT / "exercises" / f"{name}.py").read_text() == render_exercise(ROOT / "solutions" / f"{name}.py")


def test_no_marker_is_left_in_exercises():
    for path in (ROOT / "exercises").rglob("*.py"):
        text = path.read_text()
        assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text, path


@pytest.mark.parametrize("name", NAMES)
def test_every_stub_imports_and_raises_not_implemented(name):
    module = importlib.import_module(f"exercises.{name}")
    regions = solution_regions((ROOT / "solutions" / f"{name}.py").read_text())
    for fn in {r.function for r in regions}:
        assert callable(getattr(module, fn, None)), f"{name}.{fn} is missing from the stub"


def mirrored():
    """(exercise, function, tt function) for every exercise function that tt also has."""
    places = (tt, tt.optim, tt.gradcheck)
    for name in NAMES:
        module = importlib.import_module(f"solutions.{name}")
        for fn_name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ != module.__name__:
                continue
            for place in places:
                if callable(getattr(place, fn_name, None)):
                    yield name, fn_name, getattr(place, fn_name)
                    break


@pytest.mark.parametrize("name,fn_name,tt_fn", list(mirrored()), ids=lambda v: getattr(v, "__name__", str(v)))
def test_signature_mirrors_tt(name, fn_name, tt_fn):
    ours = inspect.signature(getattr(importlib.import_module(f"solutions.{name}"), fn_name))
    assert ours == inspect.signature(tt_fn), f"{name}.{fn_name}{ours} != tt's {fn_name}{inspect.signature(tt_fn)}"
    stub = inspect.signature(getattr(importlib.import_module(f"exercises.{name}"), fn_name))
    assert stub == ours


def test_solutions_pass_and_stubs_fail_with_not_implemented_only(tmp_path):
    passed, r = run_public_tests("solutions", tmp_path)
    assert passed, r.stdout[-2000:]
    bad = {k: v for k, v in passed.items() if v[0] != "passed"}
    assert not bad, "solutions fail public tests:\n" + "\n".join(f"{k}: {v[1][:600]}" for k, v in bad.items())
    stubs, _ = run_public_tests("exercises", tmp_path)
    assert set(stubs) == set(passed)
    for test, (outcome, message) in stubs.items():
        assert outcome == "failure", f"{test} did not fail on the stubs ({outcome})"
        assert "NotImplementedError" in message, f"{test} failed on the stubs for another reason:\n{message[:800]}"
    markers = {t.split("test_ex")[1][:2] for t in passed}
    assert markers == {f"{n:02d}" for n in range(1, 16)}, "every exercise needs public tests"


# ---------------------------------------------------------------- the stubbing tool
def test_stub_source_keeps_everything_but_the_region():
    src = ('def f(x):\n    """Doc."""\n    y = 1\n    ### BEGIN SOLUTION\n    return x + y\n'
           '    ### END SOLUTION\n\n\nclass A:\n    def g(self):\n        ### BEGIN SOLUTION\n'
           '        pass\n        ### END SOLUTION\n        return 2\n')
    out = stub_source(src, lambda fn: f"Exercise 3: {fn}")
    assert out == ('def f(x):\n    """Doc."""\n    y = 1\n    raise NotImplementedError("Exercise 3: f")\n\n\n'
                   'class A:\n    def g(self):\n        raise NotImplementedError("Exercise 3: g")\n        return 2\n')


def test_stub_source_can_replace_the_docstrings_of_stubbed_functions():
    src = ('def f(x):\n    """The answer: x + 1.\n\n    Really.\n    """\n    ### BEGIN SOLUTION\n'
           '    return x + 1\n    ### END SOLUTION\n\n\ndef g():\n    """Given."""\n    return 2\n')
    out = stub_source(src, lambda fn: f"Exercise 3: {fn}", docstring=lambda fn: f"Exercise 3: {fn}.\n\nSee there.\n")
    assert out == ('def f(x):\n    """Exercise 3: f.\n\n    See there.\n    """\n'
                   '    raise NotImplementedError("Exercise 3: f")\n\n\ndef g():\n    """Given."""\n    return 2\n')
    one_line = stub_source(src, str, docstring=lambda fn: "Not here.")
    assert one_line.startswith('def f(x):\n    """Not here."""\n    raise NotImplementedError("f")\n')


@pytest.mark.parametrize("src,problem", [
    (f"def f():\n    {BEGIN}\n    pass\n", "never closed"),
    (f"def f():\n    pass\n    {END}\n", "without a"),
    (f"def f():\n    {BEGIN}\n    {BEGIN}\n    pass\n    {END}\n", "inside another region"),
    (f"{BEGIN}\nx = 1\n{END}\n", "outside a function"),
    ("def f():\n    ### BEGIN SOLUTIONS\n    pass\n", "malformed marker"),
    (f"def f():\n    {BEGIN}\n    pass\n  {END}\n", "not indented like"),
    ("def f(:\n    pass\n", "syntax error"),
])
def test_malformed_solution_files_get_clear_errors(src, problem):
    with pytest.raises(BuildError, match=problem) as info:
        stub_source(src, str, filename="solutions/ex99_bad.py")
    assert "solutions/ex99_bad.py:" in str(info.value)


def test_build_reports_stale_and_missing_files(tmp_path):
    sol, ex = tmp_path / "solutions", tmp_path / "exercises"
    sol.mkdir(), ex.mkdir()
    (sol / "ex01_a.py").write_text(f"def f():\n    {BEGIN}\n    return 1\n    {END}\n")
    (ex / "ex02_gone.py").write_text("old")
    assert sorted(p.name for p in build_exercises(sol, ex, check=True)) == ["ex01_a.py", "ex02_gone.py"]
    assert not (ex / "ex01_a.py").exists()             # --check writes nothing
    build_exercises(sol, ex)
    assert 'raise NotImplementedError("Exercise 1: f")' in (ex / "ex01_a.py").read_text()
    assert not (ex / "ex02_gone.py").exists()
    assert build_exercises(sol, ex, check=True) == []


# -------------------------------------------------------------- docstrings that teach
def exercise_docstrings():
    """(exercise, function, docstring) for every function an exercise asks for, from the stubs."""
    import ast

    for name in NAMES:
        asked = {r.function for r in solution_regions((ROOT / "solutions" / f"{name}.py").read_text())}
        tree = ast.parse((ROOT / "exercises" / f"{name}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name in asked:
                yield name, node.name, ast.get_docstring(node) or ""


def test_every_exercise_function_has_a_docstring_with_one_hint():
    found = list(exercise_docstrings())
    assert len(found) >= 40
    for name, fn, doc in found:
        assert doc.count("Hint:") == 1, f"{name}.{fn}: {doc.count('Hint:')} hints in its docstring"


# What the stubs once said (an audit of issue 3): each gives an exercise's answer away.
ANSWERS = {
    "ex10_gradient_check": ["rel_error(analytical_grad, numerical_grad) <= tolerance", "not err > tol"],
    "ex12_optimizers": ["round up", "ceil"],
    "ex13_learning_rate": ["critical learning rate is 2", "2 / h", "|1 - lr * curvature| < 1",
                           "|1 - lr * curvature| = 1", "(1 - lr h)^k", "r = 1 - lr h"],
    "ex14_clipping_gradflow": ["(1 + a)^n", "1 + f'(x)", "ops.output_backward, ops.block_backward",
                               "ops.block_backward for each block"],
}


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_stubs_do_not_give_the_answer_away(name):
    text = (ROOT / "exercises" / f"{name}.py").read_text()
    for phrase in ANSWERS[name]:
        assert phrase not in text, f"exercises/{name}.py says {phrase!r}: that is the answer"


def test_exercise_11_uses_the_shape_vocabulary():
    import re

    for folder in ("solutions", "exercises", "exercises/tests"):
        for path in (ROOT / folder).glob("*ex11_tiny_network.py"):
            text = path.read_text()
            assert not re.search(r"\bHd\b|\(D,|, K\)|\(K,\)", text), f"{path}: D, Hd, K instead of C, F, V"
    doc = importlib.import_module("exercises.ex11_tiny_network").__doc__
    assert "C = 2, F = 2 and V = 1" in doc
