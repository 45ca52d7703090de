"""Mutation check of the hidden suites: one injected bug costs exactly the tests it affects.

Each mutant is solutions/ with ONE line changed. It is graded like a student's
submission (`tt grade`, in its own process), and the set of hidden tests it fails must
be exactly the set written next to it here, worked out by reading the bug and the
tests, not by running them. A suite that misses a bug, or a test that fails for a bug
it does not check, shows up as a difference between the two sets.

The capstone's two training checks (exercise 15) are left out for mutants of the
other exercises: whether a short training run still learns with, say, an Adam without
bias correction is an empirical fact about that run, not a property of the bug. Its
gradient check is kept: any wrong backward piece the model uses must fail it. The
capstone's own mutants are graded on everything.
"""
from __future__ import annotations

import concurrent.futures
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
TRAINING = ("ex15 test_training_learns", "ex15 test_training_reports_honestly")
WITHOUT_TRAINING = "not test_training_learns and not test_training_reports_honestly"
GRADIENTS = "ex15 test_your_gradients_are_the_models"     # the model with all of the student's pieces


@dataclass(frozen=True)
class Mutant:
    name: str
    file: str                 # solutions/<file>
    old: str                  # one line's text, which must occur exactly once
    new: str
    lost: frozenset           # the hidden tests the bug must fail, and no others
    diagnosis: str = ""       # a fragment the feedback of the first lost test must hold

    @property
    def select(self):
        return None if self.file.startswith("ex15") else WITHOUT_TRAINING


def lost(*names):
    return frozenset(names)


MUTANTS = [
    # --- exercise 1: the batch mean, and a helper whose bug reaches its caller
    Mutant("ex01-no-mean", "ex01_softmax_cross_entropy.py",
           "return dlogits * (dloss / B)", "return dlogits * dloss",
           lost("ex01 test_batch_mean", "ex01 test_batch_scaled_dloss", "ex01 test_batch_large_logits_float32",
                GRADIENTS),                  # a batch of 1 is still right
           "B times too large"),
    Mutant("ex01-no-minus-one", "ex01_softmax_cross_entropy.py",
           "grad[target] -= 1.0", "pass",
           lost("ex01 test_one_example", "ex01 test_one_example_confident_and_float32", "ex01 test_batch_mean",
                "ex01 test_batch_scaled_dloss", "ex01 test_batch_large_logits_float32", "ex01 test_batch_of_one",
                GRADIENTS),                  # the batch version calls the one-example helper
           "it equals probs itself"),
    # --- exercise 2
    Mutant("ex02-dW-transposed", "ex02_linear.py",
           "dW = xs.T @ gs", "dW = gs.T @ xs",
           lost("ex02 test_linear_batch", "ex02 test_linear_positions", "ex02 test_linear_without_bias",
                "ex02 test_linear_float32_batch_of_one", GRADIENTS),   # output_backward gets tt's linear
           "transposed"),
    Mutant("ex02-first-position", "ex02_linear.py",
           "dx[:, T - 1, :] = dx_last", "dx[:, 0, :] = dx_last",
           lost("ex02 test_output_projection", "ex02 test_output_projection_float32_small", GRADIENTS),
           "position 0"),
    # --- exercise 3
    Mutant("ex03-relu-kink", "ex03_relu_ffn.py",
           "dz[z <= 0] = 0", "dz[z < 0] = 0",
           lost("ex03 test_relu_at_the_kink_float32"),     # no pre-activation is exactly 0 anywhere else
           "1 only if z > 0"),
    Mutant("ex03-ffn-no-relu", "ex03_relu_ffn.py",
           "dz = ops.relu_backward(dh, relu)", "dz = dh",
           lost("ex03 test_ffn", "ex03 test_ffn_square_float32", "ex03 test_ffn_uses_ops", GRADIENTS),
           "the ReLU is skipped"),
    # --- exercise 4
    Mutant("ex04-no-variance-term", "ex04_layernorm.py",
           "dxmu = dxmu + dvar * 2.0 * xmu / C", "dxmu = dxmu",
           lost("ex04 test_random_batch", "ex04 test_float32_keeps_dtype", "ex04 test_two_dimensional_input",
                "ex04 test_large_and_offset_inputs", GRADIENTS),
           "mean's correction but not the variance's"),
    Mutant("ex04-float64-out", "ex04_layernorm.py",
           "return dx, dgamma, dbeta", "return dx.astype(np.float64), dgamma, dbeta",
           lost("ex04 test_float32_keeps_dtype")),         # the capstone's gradient check is float64
    # --- exercise 5
    Mutant("ex05-no-scale", "ex05_attention.py",
           "draw = dscores / math.sqrt(hs)", "draw = dscores",
           lost("ex05 test_attention_all_heads", "ex05 test_attention_fewer_queries", "ex05 test_attention_float32",
                GRADIENTS),
           "sqrt(hs) times too large"),
    Mutant("ex05-softmax-diagonal", "ex05_attention.py",
           "return y * (dout - weighted_mean)", "return y * dout",
           lost("ex05 test_softmax_attention_shaped", "ex05 test_softmax_long_rows", "ex05 test_softmax_peaked_float32",
                GRADIENTS),                  # attention_backward is checked with tt's softmax backward
           "only the diagonal of the Jacobian"),
    # --- exercise 6
    Mutant("ex06-k-v-swapped", "ex06_multihead_attention.py",
           "dW_k, dW_v = dW_kv[:, :C], dW_kv[:, C:]", "dW_v, dW_k = dW_kv[:, :C], dW_kv[:, C:]",
           lost("ex06 test_model_sizes", "ex06 test_two_heads_of_three", "ex06 test_one_head", "ex06 test_float32",
                GRADIENTS),
           "dW_k and dW_v are swapped"),
    # --- exercise 7
    Mutant("ex07-dsub-zero", "ex07_block.py",
           "dsub = ds.copy()", "dsub = ds * 0",
           lost("ex07 test_add_norm", "ex07 test_add_norm_float32", GRADIENTS),   # blocks get tt's add & norm
           "dsub is 0"),
    Mutant("ex07-no-residual-at-x", "ex07_block.py",
           "dx[:, T - Tq:] += dx_residual", "pass",
           lost("ex07 test_block_model_sizes", "ex07 test_block_small_float32", "ex07 test_block_passes_ops_on",
                GRADIENTS),
           "the residual's share is missing"),
    # --- exercise 8
    Mutant("ex08-last-write-wins", "ex08_embedding.py",
           "np.add.at(dE, tokens.reshape(-1), dout.reshape(-1, C))", "dE[tokens.reshape(-1)] += dout.reshape(-1, C)",
           lost("ex08 test_seed_example_repeated_comma", "ex08 test_random_batch_with_repeats",
                "ex08 test_one_token_everywhere_float32", GRADIENTS),         # no repeats: still right
           "the last write wins"),
    # --- exercise 9
    Mutant("ex09-forward-order", "ex09_model.py",
           "for i in range(len(cache.blocks) - 1, -1, -1):", "for i in range(len(cache.blocks)):",
           lost("ex09 test_full_model_float64", "ex09 test_float32_keeps_dtype", "ex09 test_three_blocks_and_a_batch_of_one",
                "ex09 test_ops_is_passed_on", GRADIENTS),
           "forward order"),
    # --- exercise 10
    Mutant("ex10-no-shape-check", "ex10_gradient_check.py",
           "if np.shape(analytical_grad) != np.shape(numerical_grad):", "if False:",
           lost("ex10 test_check_gradient_nan_and_shapes")),
    # --- exercise 11
    Mutant("ex11-dloss-dropped", "ex11_tiny_network.py",
           "doutput = dloss * (output - target)", "doutput = output - target",
           lost("ex11 test_backward_random_sizes")),        # every other check uses dloss = 1
    # --- exercise 12
    Mutant("ex12-momentum-as-average", "ex12_optimizers.py",
           "velocity = beta * velocity + dw", "velocity = beta * velocity + (1 - beta) * dw",
           lost("ex12 test_momentum", "ex12 test_momentum_changing_lr", "ex12 test_float32_keeps_dtype",
                "ex12 test_exercise4_trajectories")),
    Mutant("ex12-no-first-moment-correction", "ex12_optimizers.py",
           "m_hat = m / (1 - beta1 ** t)", "m_hat = m",
           lost("ex12 test_adam", "ex12 test_float32_keeps_dtype", "ex12 test_exercise4_trajectories")),  # state ok
    # --- exercise 13
    Mutant("ex13-critical-rate-converges", "ex13_learning_rate.py",
           "if r < 1:", "if r <= 1:",
           lost("ex13 test_classify_lr")),
    # --- exercise 14
    Mutant("ex14-no-identity-path", "ex14_clipping_gradflow.py",
           "local = 1.0 + a if residual else a", "local = a",
           lost("ex14 test_chain_gradients")),
    # --- exercise 15, graded with its training checks
    Mutant("ex15-student-ops-missing-one", "ex15_capstone.py",
           "if callable(fn) and fn.__module__ == module.__name__:",
           "if callable(fn) and fn.__module__ == module.__name__ and name != 'layernorm_backward':",
           lost("ex15 test_student_ops_are_all_yours", GRADIENTS, *TRAINING)),   # student_ops raises
]


def build(mutant: Mutant, folder: Path) -> Path:
    """solutions/ copied into folder/<name>/ with the mutant's one line changed."""
    sub = folder / mutant.name
    sub.mkdir(parents=True)
    for path in sorted(SOLUTIONS.glob("ex[0-9][0-9]_*.py")):
        shutil.copy(path, sub / path.name)
    target = sub / mutant.file
    text = target.read_text(encoding="utf-8")
    assert text.count(mutant.old) == 1, f"{mutant.name}: {mutant.old!r} must occur once in {mutant.file}"
    target.write_text(text.replace(mutant.old, mutant.new), encoding="utf-8")
    return sub


def grade(sub: Path, out: Path, select: str | None) -> dict:
    """`tt grade` in a child process; its results.json."""
    cmd = [sys.executable, "-m", "tt", "grade", str(sub), "--out", str(out), "--quiet"]
    if select:
        cmd += ["-k", select]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads((out / "results.json").read_text())


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Every mutant and the unchanged solutions, graded two at a time."""
    folder = tmp_path_factory.mktemp("mutants")
    jobs = {m.name: (build(m, folder / "subs"), m.select) for m in MUTANTS}
    clean = folder / "subs" / "clean"
    shutil.copytree(SOLUTIONS, clean, ignore=shutil.ignore_patterns("__pycache__"))
    jobs["clean"] = (clean, WITHOUT_TRAINING)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        futures = {name: pool.submit(grade, sub, folder / "out" / name, select)
                   for name, (sub, select) in jobs.items()}
        return {name: f.result() for name, f in futures.items()}


def test_mutants_are_distinct_and_cover_every_exercise():
    assert len({m.name for m in MUTANTS}) == len(MUTANTS)
    covered = {m.file[:4] for m in MUTANTS}
    assert covered == {f"ex{n:02d}" for n in range(1, 16)}


def test_unchanged_solutions_lose_nothing(graded):
    results = graded["clean"]
    failed = [t["name"] for t in results["tests"] if t["status"] != "passed"]
    assert failed == [] and results["score"] == sum(t["max_score"] for t in results["tests"])


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_mutant_loses_exactly_its_tests(graded, mutant):
    results = graded[mutant.name]
    tests = {t["name"]: t for t in results["tests"]}
    assert mutant.lost <= set(tests), f"unknown test names: {sorted(mutant.lost - set(tests))}"
    failed = {name for name, t in tests.items() if t["status"] != "passed"}
    assert failed == mutant.lost, (f"missed: {sorted(mutant.lost - failed)}; "
                                   f"failed but not affected: {sorted(failed - mutant.lost)}")
    top = sum(t["max_score"] for t in tests.values())
    assert results["score"] == top - sum(tests[name]["max_score"] for name in mutant.lost)
    if mutant.diagnosis:
        first = next(t for name, t in tests.items() if name in mutant.lost)
        assert mutant.diagnosis in first["output"], first["output"]
