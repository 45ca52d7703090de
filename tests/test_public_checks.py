"""Every public test checks the type, shape and dtype of every output it gets, first.

A mutant is a correct solution with ONE output spoiled: its dtype flipped (float64 <->
float32, or a list's Python floats turned into numpy.float32) or its shape changed (an
extra leading axis, or one value too many in a list). Each mutant runs against the
public tests of its exercise. Every test that received a spoiled output must fail, and
its message must say what is wrong ("dtype", "shape", ...): a test that lets a wrong
dtype through, or blames the values for a wrong shape, is a gap. So this finds, e.g.,
exercise 4's float32 test that never looked at dbeta.

All mutants run in one subprocess, one pytest session each (about a minute in all).
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from junit import outcomes

ROOT = Path(__file__).resolve().parents[1]

# (exercise module, function, where in its result): None is the result itself, an int
# an entry of a tuple, a str a key of a dict ("*" its first key), a list a path of those.
OUTPUTS = [
    ("ex01_softmax_cross_entropy", "cross_entropy_grad_one", None),
    ("ex01_softmax_cross_entropy", "softmax_cross_entropy_backward", None),
    *[("ex02_linear", "linear_backward", i) for i in range(3)],
    *[("ex02_linear", "output_backward", i) for i in range(3)],
    ("ex03_relu_ffn", "relu_backward", None),
    *[("ex03_relu_ffn", "ffn_backward", i) for i in range(5)],
    *[("ex04_layernorm", "layernorm_backward", i) for i in range(3)],
    ("ex05_attention", "softmax_backward", None),
    *[("ex05_attention", "attention_backward", i) for i in range(3)],
    *[("ex06_multihead_attention", "mha_backward", i) for i in range(5)],
    *[("ex07_block", "add_norm_backward", i) for i in range(4)],
    ("ex07_block", "block_backward", 0),
    ("ex07_block", "block_backward", [1, "W1"]),
    ("ex07_block", "block_backward", [1, "ln1.beta"]),
    ("ex08_embedding", "embedding_backward", None),
    ("ex09_model", "model_backward", "embedding"),
    ("ex09_model", "model_backward", "blocks.0.W_q"),
    ("ex09_model", "model_backward", "b_out"),
    ("ex10_gradient_check", "numerical_gradient", None),
    ("ex10_gradient_check", "quadratic_derivative", None),
    *[("ex11_tiny_network", "tiny_backward", i) for i in range(6)],
    ("ex12_optimizers", "sgd", 0),
    ("ex12_optimizers", "sgd_momentum", 0),
    ("ex12_optimizers", "adam", 0),
    ("ex12_optimizers", "exercise4_trajectories", "sgd"),
    ("ex12_optimizers", "exercise4_trajectories", "adam"),
    ("ex13_learning_rate", "gradient_descent", None),
    ("ex14_clipping_gradflow", "clip_by_global_norm", [0, "*"]),
    ("ex14_clipping_gradflow", "chain_gradients", None),
]
KINDS = ("dtype", "shape")
# what the failure message must say, for an array and for a list of floats
SAYS = {("dtype", "array"): "dtype", ("shape", "array"): "shape",
        ("dtype", "list"): "not a Python float", ("shape", "list"): "values, but it must have"}

MUTANT_MODULE = '''\
import os
import numpy as _np
from solutions.{module} import *            # noqa: F401,F403  everything else as it is
import solutions.{module} as _solution

_WHERE, _KIND, _LOG = {where!r}, {kind!r}, {log!r}


def _spoil(value):
    """(spoiled value, "array" or "list"), or (value, None) if there is nothing to spoil."""
    if isinstance(value, _np.ndarray) and value.dtype.kind == "f":
        if _KIND == "dtype":
            return value.astype(_np.float32 if value.dtype == _np.float64 else _np.float64), "array"
        return value[None], "array"
    if isinstance(value, list) and value and all(isinstance(v, float) for v in value):
        if _KIND == "dtype":
            return [_np.float32(v) for v in value], "list"
        return value + [value[-1]], "list"
    return value, None


def _at(value, path):
    if not path:
        return _spoil(value)
    key, rest = path[0], path[1:]
    if isinstance(value, dict) and value:
        key = next(iter(value)) if key == "*" else key
        if key not in value:
            return value, None
        new, what = _at(value[key], rest)
        return {{**value, key: new}}, what
    if isinstance(value, tuple) and isinstance(key, int) and key < len(value):
        new, what = _at(value[key], rest)
        items = list(value)
        items[key] = new
        return (type(value)._make(items) if hasattr(value, "_make") else tuple(items)), what
    return value, None


def {function}(*args, **kwargs):
    result = _solution.{function}(*args, **kwargs)
    path = [] if _WHERE is None else (_WHERE if isinstance(_WHERE, list) else [_WHERE])
    spoiled, what = _at(result, path)
    if what is not None:
        test = os.environ.get("PYTEST_CURRENT_TEST", "?").rsplit(" (", 1)[0]
        with open(_LOG, "a") as f:
            f.write(test + "\\t" + what + "\\n")
    return spoiled
'''

DRIVER = '''\
import json, sys
import pytest
runs = json.load(open(sys.argv[1]))
for run in runs:
    pytest.main(["exercises/tests", "-q", "-p", "no:cacheprovider", "--impl", run["package"],
                 "-m", run["marker"], "--junitxml=" + run["junit"]])
'''


def mutant_id(module, function, where, kind):
    return f"{module[:4]}.{function}[{json.dumps(where)}]-{kind}"


MUTANTS = [(m, f, w, k) for m, f, w in OUTPUTS for k in KINDS]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """{mutant id: (junit results {test id: (outcome, message)}, {test id: what was spoiled})}."""
    tmp = tmp_path_factory.mktemp("mutants")
    exercises = sorted(p.stem for p in (ROOT / "solutions").glob("ex*.py"))
    runs = []
    for n, (module, function, where, kind) in enumerate(MUTANTS):
        package = tmp / f"mutant{n}"
        package.mkdir()
        (package / "__init__.py").write_text("")
        log = tmp / f"mutant{n}.log"
        log.write_text("")
        for name in exercises:
            text = (MUTANT_MODULE.format(module=name, function=function, where=where, kind=kind, log=str(log))
                    if name == module else f"from solutions.{name} import *  # noqa: F401,F403\n")
            (package / f"{name}.py").write_text(text)
        runs.append({"package": package.name, "marker": module[:4], "junit": str(tmp / f"mutant{n}.xml"),
                     "log": str(log), "id": mutant_id(module, function, where, kind)})
    (tmp / "runs.json").write_text(json.dumps(runs))
    (tmp / "driver.py").write_text(DRIVER)
    env_path = f"{tmp}:{ROOT}"
    r = subprocess.run([sys.executable, str(tmp / "driver.py"), str(tmp / "runs.json")], cwd=ROOT,
                       capture_output=True, text=True, timeout=1800,
                       env={**__import__("os").environ, "PYTHONPATH": env_path})
    out = {}
    for run in runs:
        junit = Path(run["junit"])
        assert junit.exists(), f"{run['id']}: no report\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
        cases = outcomes(junit, key=lambda case: f"{case.get('classname').replace('.', '/')}.py::{case.get('name')}")
        spoiled = {}
        for line in Path(run["log"]).read_text().splitlines():
            test, what = line.split("\t")
            spoiled[test] = what
        out[run["id"]] = (cases, spoiled)
    return out


@pytest.mark.parametrize("module,function,where,kind", MUTANTS,
                         ids=[mutant_id(*m) for m in MUTANTS])
def test_every_test_that_gets_a_spoiled_output_says_so(results, module, function, where, kind):
    cases, spoiled = results[mutant_id(module, function, where, kind)]
    assert spoiled, f"no public test of {module} received a spoiled output of {function} at {where!r}"
    gaps = []
    for test, what in sorted(spoiled.items()):
        assert test in cases, f"{test} is not among the results: {sorted(cases)[:5]}"
        outcome, message = cases[test]
        says = SAYS[kind, what]
        if outcome != "failure" or says not in message:
            gaps.append(f"{test}: {outcome}, but the {kind} of {function}'s output at {where!r} was wrong "
                        f"(expected a failure saying {says!r})\n    {message.strip()[:300]}")
    assert not gaps, "\n".join(gaps)


# ------------------------------------------- exercise 10 never pays for exercises 1 and 4
def run_public(tmp, marker, overrides):
    """The public tests of `marker` against solutions/, with some modules replaced by source.

    Returns {test name: (outcome, message)}.
    """
    package = tmp / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for path in sorted((ROOT / "solutions").glob("ex*.py")):
        text = overrides.get(path.stem, f"from solutions.{path.stem} import *  # noqa: F401,F403\n")
        (package / path.name).write_text(text)
    junit = tmp / "report.xml"
    r = subprocess.run([sys.executable, "-m", "pytest", "exercises/tests", "-q", "-p", "no:cacheprovider",
                        "--impl", "pkg", "-m", marker, f"--junitxml={junit}"], cwd=ROOT, capture_output=True,
                       text=True, timeout=600, env={**__import__("os").environ, "PYTHONPATH": f"{tmp}:{ROOT}"})
    assert junit.exists(), r.stdout[-2000:] + r.stderr[-2000:]
    return outcomes(junit)


WRONG_LAYERNORM = '''\
from solutions.ex04_layernorm import *  # noqa: F401,F403


def layernorm_backward(dout, cache):          # the direct term only: no mean or variance correction
    dx = dout * cache.gamma * cache.rstd
    C = dout.shape[-1]
    return dx, (dout * cache.xhat).reshape(-1, C).sum(0), dout.reshape(-1, C).sum(0)
'''
NO_LAYERNORM_RESULT = '''\
from solutions.ex04_layernorm import *  # noqa: F401,F403


def layernorm_backward(dout, cache):          # forgot to return
    dx = dout * cache.gamma * cache.rstd
'''
WRONG_CROSS_ENTROPY = '''\
from solutions.ex01_softmax_cross_entropy import *  # noqa: F401,F403
import solutions.ex01_softmax_cross_entropy as _s


def softmax_cross_entropy_backward(dloss, cache):      # forgot the 1/B of the mean
    return _s.softmax_cross_entropy_backward(dloss, cache) * cache.probs.shape[0]
'''
PESSIMISTIC_CHECK_OP = '''\
from solutions.ex10_gradient_check import *  # noqa: F401,F403
import solutions.ex10_gradient_check as _s


def check_op(forward, backward, inputs, wrt, seed=0, eps=1e-5):    # calls everything wrong
    return {label: 1.0 for label in _s.check_op(forward, backward, inputs, wrt, seed, eps)}
'''
OWN = ("test_check_op_on_your_layernorm_backward", "test_check_op_on_your_cross_entropy_backward")


@pytest.mark.parametrize("overrides,skipped,says", [
    ({"ex04_layernorm": WRONG_LAYERNORM}, OWN[0], "fix exercise 4 first"),
    ({"ex04_layernorm": NO_LAYERNORM_RESULT}, OWN[0], "fix exercise 4 first"),
    ({"ex01_softmax_cross_entropy": WRONG_CROSS_ENTROPY}, OWN[1], "fix exercise 1 first"),
], ids=["wrong-layernorm", "layernorm-returns-None", "wrong-cross-entropy"])
def test_a_bug_in_exercise_1_or_4_never_costs_exercise_10(tmp_path, overrides, skipped, says):
    cases = run_public(tmp_path, "ex10", overrides)
    assert cases and OWN[0] in cases and OWN[1] in cases, sorted(cases)
    for name, (outcome, message) in cases.items():
        if name == skipped:
            assert outcome == "skipped" and says in message, f"{name}: {outcome}\n{message[:600]}"
        else:
            assert outcome == "passed", f"{name}: {outcome}\n{message[:600]}"


def test_a_wrong_check_op_still_fails_on_your_own_correct_layers(tmp_path):
    cases = run_public(tmp_path, "ex10", {"ex10_gradient_check": PESSIMISTIC_CHECK_OP})
    for name in OWN:
        outcome, message = cases[name]
        assert outcome == "failure" and "but that backward pass is correct" in message, f"{name}: {outcome}"
