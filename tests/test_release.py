"""The student release: what it holds, what it must not, and that it works on its own."""
import ast
import importlib
import os
import re
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from junit import outcomes

import tt
from grader.build import BEGIN, END, TWINS, build_release, solution_regions

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    folder, zip_path = build_release(out)
    unpacked = tmp_path_factory.mktemp("unpacked")
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(unpacked)
    return folder, zip_path, unpacked / "tt-exercises"


def normalize(line):
    line = line.split("#", 1)[0] if not line.lstrip().startswith(("'", '"')) else line
    return re.sub(r"\s+", " ", line).strip()


def source_files():
    for folder in ("tt", "solutions"):
        yield from sorted((ROOT / folder).glob("*.py"))


# Lines of solution code that tell nothing about an answer: a keyword alone, unpacking a
# cache (its fields are in the NamedTuple, given), an empty start, an import, a return
# of one name, a call without arguments, a loop over a collection, a shape.
NAME = r"[A-Za-z_][\w.]*"
STRUCTURAL = [
    r"(try|else|finally|break|continue|pass|return)( None| True| False| 0| 0\.0)?:?",
    rf"{NAME}(, {NAME})* = (cache|{NAME}\.shape(\[-?\d\])?)",
    rf"{NAME} = (\{{\}}|\[\]|None|True|False|-?\d+(\.\d+)?)",
    rf"(from {NAME} )?import {NAME}( as {NAME})?",
    rf"return {NAME}",
    rf"{NAME}\(\)",
    rf"for {NAME}(, {NAME})* in {NAME}(\.(items|keys|values)\(\))?:",
    rf"def {NAME}\(\):",                    # a closure's header (def f():, def loss():)
]
# Lines of solution code that the release holds by design, each with the reason.
GIVEN = {
    "dlogits = ops.softmax_cross_entropy_backward(1.0, ce_cache)":
        "tt.loss_and_grads (given): how the model's backward pass starts",
    "logits, cache = model_forward(params, tokens, last_only=last_only)": "tt.loss_and_grads (given)",
    "last_only = ops is None": "tt.loss_and_grads (given)",
    "ops = ops or reference()": "tt.loss_and_grads (given): None means the reference",
    "logits, cache = tt.model_forward(params, tokens, last_only=False)":
        "the forward call exercise 14's docstring prescribes; exercise 9's tests make it too",
    "hs = C // H": "tt.mha_forward (given): the head size",
    "g = grads[name]": "a lookup; the tests and tt.optim.step (given) do it",
    "rng = np.random.default_rng(seed)": "seeding, everywhere",
    "path = Path(path)": "tt.io (given)",
    "plt.close(fig)": "plotting in tt.train (given)",
}


def non_distinctive(text):
    return text in GIVEN or any(re.fullmatch(pattern, text) for pattern in STRUCTURAL)


def solution_lines():
    """{line of code inside a solution region, normalized: where it comes from}, for every
    line that tells something: not structural (STRUCTURAL) and not given on purpose (GIVEN).

    Unlike a check that exempts every line also found outside the regions, this one sees
    an unmarked copy of a solution anywhere, in tt as in the exercises.
    """
    inside = {}
    for path in source_files():
        lines = path.read_text().splitlines()
        for r in solution_regions("\n".join(lines), str(path)):
            for i in range(r.begin + 1, r.end):
                text = normalize(lines[i])
                if text and not non_distinctive(text):
                    inside.setdefault(text, f"{path.relative_to(ROOT)}:{i + 1}")
    return inside


def test_release_layout(release):
    folder, zip_path, unpacked = release
    names = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert {"README.md", "requirements.txt", "tt/__init__.py", "tt/layers.py",
            "exercises/ex04_layernorm.py", "exercises/tests/harness.py",
            "exercises/tests/conftest.py"} <= names
    assert not any(n.startswith(("solutions/", "grader/", "tests/")) for n in names)
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    with zipfile.ZipFile(zip_path) as zf:
        assert sorted(zf.namelist()) == sorted(f"tt-exercises/{n}" for n in names)


def test_release_is_reproducible(release, tmp_path):
    _, zip_path, _ = release
    _, again = build_release(tmp_path)
    assert again.read_bytes() == zip_path.read_bytes()


def test_no_solution_body_appears_in_the_release(release):
    """Neither from solutions/ nor from tt's marked bodies, whole or line by line."""
    folder, _, _ = release
    distinctive = solution_lines()
    assert len(distinctive) > 400          # the check has something to look for
    found = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        assert BEGIN not in text and END not in text, path
        for n, line in enumerate(text.splitlines(), start=1):
            code = normalize(line)
            if code in distinctive:
                found.append(f"{path.relative_to(folder)}:{n} holds {distinctive[code]}: {code!r}")
    assert not found, "solution code in the release:\n" + "\n".join(found)


def test_every_given_line_is_needed(release):
    """GIVEN lists only lines that are both solution code and in the release: no stale excuses."""
    folder, _, _ = release
    released = {normalize(line) for path in folder.rglob("*") if path.is_file()
                for line in path.read_text(errors="replace").splitlines()}
    inside = set()
    for path in source_files():
        lines = path.read_text().splitlines()
        for r in solution_regions("\n".join(lines), str(path)):
            inside.update(normalize(lines[i]) for i in range(r.begin + 1, r.end))
    stale = [line for line in GIVEN if line not in released or line not in inside]
    assert not stale, f"GIVEN excuses lines that are no longer solution code in the release: {stale}"


def test_the_line_check_sees_unmarked_copies(tmp_path):
    """What the old check missed: tt.gradflow's walk, unmarked, is exercise 14's answer."""
    distinctive = solution_lines()
    walk = ["dx, dW_out, _ = ops.output_backward(dlogits, cache.output, ops)",
            "dx, g = ops.block_backward(dx, cache.blocks[i], ops)",          # tt.gradflow's own
            "if len(wrt) == 1 and not isinstance(analytic, tuple):"]         # tt.gradcheck.check_op's
    assert all(line in distinctive for line in walk), [line for line in walk if line not in distinctive]
    for line in ("return grads", "B, T, C = dout.shape", "for name in params:", "grads = {}"):
        assert line not in distinctive, line


# ------------------------------------------------------------------ tt's twins, stubbed
def exercise_functions():
    """(exercise stub path, function name, docstring) for every function an exercise asks for."""
    for path in sorted((ROOT / "exercises").glob("ex*.py")):
        asked = {r.function for r in solution_regions((ROOT / "solutions" / path.name).read_text())}
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and node.name in asked:
                yield path, node.name, ast.get_docstring(node) or ""


def declared_twins(doc):
    """tt functions an exercise docstring says it mirrors, or names as tt's counterparts."""
    names = re.findall(r"mirrors (tt(?:\.\w+)+)", doc)
    for sentence in re.findall(r"tt's counterparts?: ([^\n]*(?:\n[^\n.]*)?)", doc):
        names += re.findall(r"tt(?:\.\w+)+", sentence)
    return names


def tt_function(dotted):
    """(module file name, function name) of tt.<...>, resolved in the real tt."""
    module, _, name = dotted.rpartition(".")
    fn = getattr(importlib.import_module(module), name)
    return fn.__module__.split(".")[-1] + ".py", fn.__name__


def twins():
    """{(tt module file, function): the exercise function it answers}: same name, or declared."""
    defined = {}
    for path in sorted((ROOT / "tt").glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef):
                defined.setdefault(node.name, []).append(path.name)
    table = {}
    for path, fn, doc in exercise_functions():
        for module in defined.get(fn, []):
            table[module, fn] = f"{path.stem}.{fn}"
        for dotted in declared_twins(doc):
            table[tt_function(dotted)] = f"{path.stem}.{fn}"
    return table


def is_stub(node):
    """A function whose body is a docstring at most, then `raise NotImplementedError(...)`."""
    body = node.body[1:] if ast.get_docstring(node) is not None else node.body
    return (len(body) == 1 and isinstance(body[0], ast.Raise)
            and isinstance(body[0].exc, ast.Call) and getattr(body[0].exc.func, "id", "") == "NotImplementedError")


def test_every_tt_twin_of_an_exercise_is_stubbed_in_the_release(release):
    folder, _, _ = release
    table = twins()
    # the twins the audit found unmarked, and a few that always were
    for known in [("gradcheck.py", "check_op"), ("gradflow.py", "stage_gradients"), ("gradflow.py", "stage_norms"),
                  ("train.py", "train"), ("optim.py", "adam_step_inplace"), ("layers.py", "layernorm_backward"),
                  ("gradcheck.py", "rel_error"), ("optim.py", "global_norm"), ("model.py", "model_backward")]:
        assert known in table, f"tt/{known[0]}'s {known[1]} is not found as a twin of an exercise function"
    not_stubbed = []
    for (module, fn), exercise in sorted(table.items()):
        nodes = [n for n in ast.parse((folder / "tt" / module).read_text()).body
                 if isinstance(n, ast.FunctionDef) and n.name == fn]
        assert nodes, f"tt/{module} of the release has no {fn}"
        if not is_stub(nodes[0]):
            not_stubbed.append(f"tt/{module}: {fn} answers {exercise} but is not stubbed")
    assert not not_stubbed, "\n".join(not_stubbed)


def test_build_knows_every_declared_twin():
    """grader.build.TWINS (what the stubs' messages point to) is what the docstrings declare."""
    declared = {f"{module[:-3]}.{fn}": exercise.split(".")[1] for (module, fn), exercise in twins().items()
                if fn != exercise.split(".")[1]}
    assert declared == TWINS


# --------------------------------------------------------------- the stubs' docstrings
def stubbed_functions(tt_dir):
    """{(module file, function): docstring} of every stubbed function in a tt folder."""
    out = {}
    for path in sorted(tt_dir.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and is_stub(node):
                out[path.name, node.name] = ast.get_docstring(node) or ""
    return out


def test_stubbed_functions_point_to_their_exercise_and_give_nothing_away(release):
    folder, _, _ = release
    stubs = stubbed_functions(folder / "tt")
    assert len(stubs) >= 25 and ("layers.py", "softmax_backward") in stubs and ("train.py", "train") in stubs
    real = {}
    for path in sorted((ROOT / "tt").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and (path.name, node.name) in stubs:
                real[path.name, node.name] = ast.get_docstring(node) or ""
    released_tt = "\n".join(normalize(line) for path in sorted((folder / "tt").glob("*.py"))
                            for line in path.read_text().splitlines())
    for key, doc in stubs.items():
        where = f"tt/{key[0]} {key[1]}"
        assert len(doc.splitlines()) <= 4 and "student edition" in doc, f"{where}: {doc!r}"
        if not key[1].startswith("_"):           # tt.ops._marked_bodies_are_here answers nothing
            assert re.search(r"[Ee]xercise \d+", doc), f"{where} does not name its exercise: {doc!r}"
        # nothing of the real docstring is left, in this function or anywhere in the released tt
        for line in real[key].splitlines():
            text = normalize(line)
            if len(text) > 24:
                assert text not in released_tt, f"{where}: the released tt still says {text!r}"
    # the answers the audit found in the released docstrings
    for answer in ("y * (dout - sum(dout * y))", "(probs - one_hot", "np.add.at", "rstd * (g - mean(g)",
                   "dscores k / sqrt(hs)", "(p - onehot) / B", "y * (g - sum(g * y))"):
        assert answer not in released_tt, f"the released tt says {answer!r}"
    assert "grader/build.py" not in released_tt


def test_the_real_tt_keeps_its_full_docstrings():
    assert "y * (dout - sum(dout * y))" in tt.softmax_backward.__doc__
    assert "(probs - one_hot(targets)) / B" in tt.softmax_cross_entropy_backward.__doc__
    assert "np.add.at" in tt.embedding_backward.__doc__
    assert "mean(g * xhat)" in tt.layernorm_backward.__doc__
    assert not tt.ops.student_edition()


def test_student_tt_is_stubbed_but_forward_works(release):
    folder, _, unpacked = release
    code = ("import numpy as np, tt\n"
            "p = tt.init_params(); toks = np.array([tt.encode('Max(1,6,2)')])\n"
            "assert tt.forward(p, toks).shape == (1, 20)\n"
            "try:\n    tt.loss_and_grads(p, toks, np.array([8]))\nexcept NotImplementedError as e:\n"
            "    print('stub:', e)\n")
    r = run_isolated(unpacked, ["-c", code])
    assert r.returncode == 0, r.stderr
    assert "stub: Exercise 1: softmax_cross_entropy_backward" in r.stdout
    text = (folder / "tt" / "layers.py").read_text()
    assert 'raise NotImplementedError("Exercise 4: layernorm_backward (write it in exercises/ex04_layernorm.py)")' in text


def run_tt(unpacked, *args):
    """`python -m tt ARGS` in the unpacked release, isolated from this repository."""
    code = f"import runpy; sys.argv = ['tt', *{list(args)!r}]; runpy.run_module('tt', run_name='__main__')"
    return run_isolated(unpacked, ["-c", code])


def test_the_student_edition_knows_it_is_one(release):
    _, _, unpacked = release
    r = run_isolated(unpacked, ["-c", "import tt.ops; print(tt.ops.student_edition())"])
    assert r.returncode == 0 and r.stdout.strip() == "True", r.stdout + r.stderr


def test_tt_lists_only_what_runs_in_the_student_edition(release):
    _, _, unpacked = release
    r = run_tt(unpacked)
    assert r.returncode == 0, r.stderr
    commands = re.findall(r"^  (\S+) ", r.stdout, flags=re.M)
    assert commands == ["check"], r.stdout
    assert "student edition" in r.stdout


@pytest.mark.parametrize("command,exercise,instead", [
    ("train", "exercise 15", "python -m tt check 15"),
    ("gradflow", "exercise 14", "python -m tt check 14"),
    ("gradcheck", "exercise 10", "python -m tt check 9 10 15"),
])
def test_the_model_commands_say_what_to_run_instead(release, command, exercise, instead):
    """They run tt's reference backward passes, stubs here: a message, not a traceback."""
    _, _, unpacked = release
    for args in ([command], [command, "--help"]):
        r = run_tt(unpacked, *args)
        assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr and "NotImplementedError" not in r.stderr, r.stderr
        assert r.stderr.startswith(f"tt {command}: not in the student edition of tt"), r.stderr
        assert exercise in r.stderr and instead in r.stderr, r.stderr


def test_check_still_runs_in_the_student_edition(release):
    _, _, unpacked = release
    r = run_tt(unpacked, "check", "13", "-q")
    assert r.returncode == 1 and "NotImplementedError: Exercise 13: gradient_descent" in r.stdout, \
        r.stdout[-2000:] + r.stderr[-2000:]


def run_isolated(cwd, args):
    """Python in `cwd` that sees the release, NumPy and pytest, but not this repository.

    -S skips site.py, so the editable install's import hook for tt, grader and
    solutions is never loaded; site-packages goes on the path after the release.
    """
    paths = [p for p in site.getsitepackages() if os.path.isdir(p)]
    boot = (f"import sys; sys.path[:0] = ['']; sys.path += {paths!r}\n"
            "import importlib.util as u\n"
            "leaks = [m for m in ('solutions', 'grader') if u.find_spec(m)]\n"
            "assert not leaks, f'the repository is importable: {leaks}'\n")
    if args[0] == "-c":
        cmd = [sys.executable, "-S", "-c", boot + args[1]]
    else:   # pytest
        cmd = [sys.executable, "-S", "-c", boot + f"import pytest; sys.exit(pytest.main({args!r}))"]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=1800, env=env)


def test_public_tests_run_from_the_unpacked_release(release, tmp_path):
    _, _, unpacked = release
    # as released: every test fails, and only because the stubs are not written yet
    r = run_isolated(unpacked, ["exercises", "-q", "-p", "no:cacheprovider", f"--junitxml={tmp_path / 'a.xml'}"])
    results = outcomes(tmp_path / "a.xml")
    assert results, r.stdout[-2000:] + r.stderr[-2000:]
    for name, (outcome, message) in results.items():
        assert outcome in ("failure", "error") and "NotImplementedError" in message, f"{name}: {outcome}\n{message[:600]}"
    # a student who has done everything: copy the solutions over the stubs
    done = tmp_path / "done"
    shutil.copytree(unpacked, done)
    for path in (ROOT / "solutions").glob("ex*.py"):
        shutil.copyfile(path, done / "exercises" / path.name)
    r = run_isolated(done, ["exercises", "-q", "-p", "no:cacheprovider", f"--junitxml={tmp_path / 'b.xml'}"])
    results = outcomes(tmp_path / "b.xml")
    failing = {k: v for k, v in results.items() if v[0] != "passed"}
    assert results and not failing, "\n".join(f"{k}: {v[1][:800]}" for k, v in failing.items())


# Phrases the public tests of exercises 10 to 14 used to hold (issue 11): complete update
# rules, the derivation of the critical rate, the residual walk's answer. Whitespace is
# normalised, so a reflowed copy is caught too.
LEAKED = ("def adam_path", "def momentum_path", "def sgd_path", "m_hat = -0.1", "v = 0.9 v + g",
          "|1 - lr h| = 1 at lr = 2 / h", "2 / curvature", "|1 - lr| says", "(1 - lr)^k",
          "r = 1 - 2", "W_k = c + (1 - lr", "1 + 0.8 = 1.8", "1.8 ** k", "critical rate is 2/30",
          "each layer passes 1 +", "lr * g / (|g| + eps)",
          # and, later (issue 11 point 8, exercises 10 to 14): the runs of exercise 13 in code
          # and worked out in comments, the derivative of exercise 10's quadratic, exercise
          # 11's backward rules worked on the seed, question 18's update and its division,
          # question 33's scale, the clipping factor and the plain chain in code
          "def exact_run", "w = w - lr * h_ * (w - c)", "0 - 0.1(0 - 3)", "0 - 1.0 (0 - 3)", "|r| = 1e10",
          "6.3 - 2.1 x 3.3", "grows 1.1x", "2 * x + 3", "2x + 3", "2*2 + 3", "hidden^T doutput",
          "dz = dhidden where z > 0", "x^T dz", "doutput W2^T", "doutput * W2[1]", "0.234 - 0.001 x (-0.05)",
          "0.016 / 0.00005", "scale = 1.0 / 2.5", "(2.0 / norm)", "sqrt(1 + 4 + 4 + 16)", "3.0 * 0.1 * 2.0",
          "0.01 / 0.3")


def test_public_tests_do_not_give_answers_away(release):
    folder, _, _ = release
    tests = sorted((folder / "exercises" / "tests").glob("*.py"))
    assert any(p.name.startswith("test_ex12") for p in tests)
    for path in tests:
        text = re.sub(r"\s+", " ", path.read_text(encoding="utf-8"))
        for phrase in LEAKED:
            assert phrase not in text, f"{path.name} holds {phrase!r}, which gives an answer away"
