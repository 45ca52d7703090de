"""Hidden checks of exercise 15 (capstone): the model trained with the student's own
backward passes and Adam.

Everything of the student's runs in the worker: student_ops() and each of its 13
functions (called as student_ops().<name>(...) by the worker itself, no helper of the
student's in between), the whole model's gradients with those ops (through the given
helper _student_loss_and_grads) and a short training run of train_capstone. Nothing the
student's code reports about itself is trusted: each function student_ops() holds must
behave exactly as the one its exercise defines, on inputs drawn here; the gradients are
compared with tt's reference here, and the trained parameters are evaluated here with
tt's reference forward pass.
"""
from types import SimpleNamespace

import numpy as np
import pytest

import tt
import tt.ops
import tt.optim
from exercises.tests.harness import EXERCISE_OF
from grader.checks import GradeFailure
from grader.hidden.conftest import _reference_piece
from grader.hidden.support import STUB, _sharpen, call, call_with, expect_dict, expect_number, upstream
from grader.sandbox import CALLBACKS, StudentError

MODULE = "ex15_capstone"
# A short run: Adam at a slightly larger rate than the seed's, stopped as soon as the
# validation accuracy reaches 45% (30 to 50 steps, under a second); then the accuracy
# measured here must clearly beat chance (10 digits; the most common answer is 12%).
TRAIN = {"epochs": 1, "batch_size": 32, "lr": 2e-3, "dtype": "float32", "eval_every": 15, "stop_at": 0.45}
PASS_ACC = 0.35
TRAIN_TIMEOUT = 60.0


def op_inputs(rng):
    """(name, positional args) for each of the 13 backward functions: small random inputs with
    caches from tt's forward passes here; composites get the reference pieces as `ops`."""
    B, T, C, H, F, V = 2, 3, 8, 2, 5, 11
    x = rng.standard_normal((B, T, C))
    W, b = rng.standard_normal((C, F)), rng.standard_normal(F)
    cases = {}
    out, c = tt.linear_forward(x, W, b)
    cases["linear_backward"] = (upstream(rng, out.shape), c)
    out, c = tt.relu_forward(rng.standard_normal((B, T, F)))
    cases["relu_backward"] = (upstream(rng, out.shape), c)
    out, c = tt.softmax_forward(rng.standard_normal((B, T, T)))
    cases["softmax_backward"] = (upstream(rng, out.shape), c)
    _, c = tt.softmax_cross_entropy_forward(rng.standard_normal((B, V)), rng.integers(0, V, B))
    cases["softmax_cross_entropy_backward"] = (float(rng.uniform(0.5, 1.5)), c)
    gamma, beta = 1 + 0.3 * rng.standard_normal(C), 0.2 * rng.standard_normal(C)
    out, c = tt.layernorm_forward(x, gamma, beta)
    cases["layernorm_backward"] = (upstream(rng, out.shape), c)
    q, k, v = (rng.standard_normal((B, T, C // H)) for _ in range(3))
    out, c = tt.attention_forward(q, k, v)
    cases["attention_backward"] = (upstream(rng, out.shape), c, CALLBACKS)
    Ws = [rng.standard_normal((C, C)) / np.sqrt(C) for _ in range(4)]
    out, c = tt.mha_forward(x, *Ws, H)
    cases["mha_backward"] = (upstream(rng, out.shape), c, CALLBACKS)
    out, c = tt.ffn_forward(x, W, b, rng.standard_normal((F, C)), rng.standard_normal(C))
    cases["ffn_backward"] = (upstream(rng, out.shape), c, CALLBACKS)
    out, c = tt.add_norm_forward(x, rng.standard_normal((B, T, C)), gamma, beta)
    cases["add_norm_backward"] = (upstream(rng, out.shape), c, CALLBACKS)
    p = {"W_q": Ws[0], "W_k": Ws[1], "W_v": Ws[2], "W_o": Ws[3], "ln1.gamma": gamma, "ln1.beta": beta,
         "W1": W, "b1": b, "W2": rng.standard_normal((F, C)), "b2": rng.standard_normal(C),
         "ln2.gamma": gamma.copy(), "ln2.beta": beta.copy()}
    out, c = tt.block_forward(x, p, H)
    cases["block_backward"] = (upstream(rng, out.shape), c, CALLBACKS)
    E = rng.standard_normal((V, C))
    tokens = rng.integers(0, V, (B, T))
    tokens[0, 1] = tokens[0, 2]                                  # a repeated token
    out, c = tt.embedding_forward(tokens, E)
    cases["embedding_backward"] = (upstream(rng, out.shape), c)
    out, c = tt.output_forward(x, rng.standard_normal((C, V)), rng.standard_normal(V))
    cases["output_backward"] = (upstream(rng, out.shape), c, CALLBACKS)
    params = tt.init_params(seed=int(rng.integers(1 << 30)))
    _, val = tt.train_val_split(seed=0)
    out, c = tt.model_forward(params, val.tokens[:2])
    cases["model_backward"] = (upstream(rng, out.shape), c, CALLBACKS)
    return cases


def outcome(student, module, function, args, then=None):
    """("ok", value) or ("raised", exception type (or the failure's kind), message, the
    whole description) of one call in the worker."""
    callbacks = {n: _reference_piece(n) for n in tt.ops.NAMES} if any(a is CALLBACKS for a in args) else None
    try:
        if then is None:
            return ("ok", student.sandbox.call(module, function, *args, callbacks=callbacks))
        return ("ok", student.sandbox.call(module, function, callbacks=callbacks, then=[(then, args, {})]))
    except StudentError as e:
        return ("raised", e.type or e.kind, e.message.split(": ", 1)[-1][:300], e.describe())


def same(a, b):
    """Exactly the same answer: the same kind of value, every array bit for bit."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return a == b or (a != a and b != b)


@pytest.mark.points(2)
def test_student_ops_are_all_yours(student, rng):
    """Each of the 13 functions of student_ops(), called in the worker on inputs drawn here, behaves exactly as the function of that name that its exercise defines (the same answer, or the same error)."""
    ops = outcome(student, MODULE, "student_ops", ())
    if ops[0] != "ok" and ops[1] != "WireError":                # an Ops cannot travel: that is expected
        raise _sharpen("student_ops", GradeFailure(f"{MODULE}.student_ops: {ops[3]}",
                                                   STUB if ops[1] == "NotImplementedError" else ""))
    for name, args in op_inputs(rng).items():
        module = EXERCISE_OF[name]
        theirs = outcome(student, MODULE, "student_ops", args, then=name)
        own = outcome(student, module, name, args)
        if theirs[:3] == own[:3] if theirs[0] == "raised" else own[0] == "ok" and same(theirs[1], own[1]):
            continue
        if theirs[0] == "raised" and theirs[1] == "NotImplementedError" and own[0] == "ok":
            raise GradeFailure(f"student_ops().{name} is still a stub, but your {module}.{name} works",
                               "tt's own backward functions are stubs in your edition of tt: every one must "
                               "be yours")
        said = lambda o: "an answer" if o[0] == "ok" else f"{o[1]}: {o[2][:100]}"
        raise GradeFailure(f"student_ops().{name} does not behave as the {name} your {module} defines: on the "
                           f"same inputs it gave {said(theirs)}, and {module}.{name} gave {said(own)}",
                           "take each function from the exercise module that DEFINES it (its __module__)")


def reference_order(grads, L):
    order = ["W_out", "b_out"] + [k for i in reversed(range(L)) for k in grads if k.startswith(f"blocks.{i}.")]
    return {k: grads[k] for k in order + ["embedding"]}


def culprit(key, L):
    """Which exercises produce the first wrong gradient met by the backward pass."""
    if key in ("W_out", "b_out"):
        return "the first gradients of the backward pass are wrong: softmax_cross_entropy_backward (exercise 1) " \
               "or output_backward and linear_backward (exercise 2)"
    if key.startswith(f"blocks.{L - 1}."):
        return ("the last block's gradients are wrong while the output's are right: the block's pieces, "
                "exercises 3 to 7 (their own checks say which)")
    if key.startswith("blocks."):
        return ("only the earlier blocks are wrong: look at the dx each block's backward returns (exercise 7) "
                "and at how model_backward chains the blocks (exercise 9)")
    return "only the embedding's gradient is wrong: embedding_backward (exercise 8) or the dx model_backward gives it"


@pytest.mark.points(4)
def test_your_gradients_are_the_models(student, rng):
    """tt.loss_and_grads with student_ops() on the full model (float64, a validation batch of 4) gives the reference loss and all 102,036 gradients."""
    params = tt.init_params(seed=int(rng.integers(1 << 30)))
    for name, p in params.items():
        if name.endswith("gamma"):
            p[...] = 1 + 0.3 * rng.standard_normal(p.shape)
        elif name.endswith("beta") or name.rsplit(".", 1)[-1] in ("b1", "b2", "b_out"):
            p[...] = 0.2 * rng.standard_normal(p.shape)
    _, val = tt.train_val_split(seed=0)
    idx = rng.choice(len(val), 4, replace=False)
    tokens, targets = val.tokens[idx], val.targets[idx]
    got = call(student, MODULE, "_student_loss_and_grads", params, tokens, targets, checked="student_ops")
    if not (isinstance(got, tuple) and len(got) == 2):
        raise GradeFailure("_student_loss_and_grads did not return (loss, grads): restore that helper as it came "
                           "with the exercise file")
    loss, grads = tt.loss_and_grads(params, tokens, targets)
    expect_number(got[0], loss, "the loss", function="tt.loss_and_grads with student_ops()", rtol=1e-10)
    try:
        expect_dict(got[1], reference_order(grads, 2), "grads", function="tt.loss_and_grads with student_ops()")
    except GradeFailure as failure:
        key = failure.message.split("grads['", 1)[-1].split("'", 1)[0] if "grads['" in failure.message else ""
        raise GradeFailure(failure.message, failure.diagnosis or (culprit(key, 2) if key else "")) from None


@pytest.fixture(scope="module")
def trained(sandbox, request):
    """One short training run in the worker, shared by the two checks below: its result, or the GradeFailure."""
    seed = int(np.random.default_rng([request.config.getoption("--seed"), 15]).integers(1000))
    try:
        return call(SimpleNamespace(sandbox=sandbox), MODULE, "train_capstone", timeout=TRAIN_TIMEOUT,
                    seed=seed, log=None, **TRAIN)
    except GradeFailure as failure:
        return failure


def training(trained):
    if isinstance(trained, GradeFailure):
        raise trained
    result = trained
    if not (isinstance(result, dict) and {"params", "val_acc", "steps", "history"} <= set(result)):
        raise GradeFailure("train_capstone should return a dict with params, val_acc, steps, seconds and history, "
                           f"but it returned {type(result).__name__}"
                           + (f" with keys {sorted(result)[:8]}" if isinstance(result, dict) else ""))
    params = result["params"]
    shapes = tt.param_shapes()
    if not isinstance(params, dict) or set(params) != set(shapes) or any(
            not isinstance(params[k], np.ndarray) or params[k].shape != s for k, s in shapes.items()):
        raise GradeFailure("train_capstone: result['params'] should hold the model's parameters, each of its shape")
    return result


_MEASURED = {}


def accuracy(params):
    """The validation accuracy of `params`, by tt's forward pass here (once per run)."""
    if id(params) not in _MEASURED:
        _, val = tt.train_val_split(seed=0)
        _MEASURED[id(params)] = (params, float(np.mean(tt.forward(params, val.tokens).argmax(-1) == val.targets)))
    return _MEASURED[id(params)][1]


@pytest.mark.points(4)
def test_training_learns(trained, sandbox):
    """A short run of train_capstone with your pieces and your Adam (float32, stopped at 45% validation accuracy): the parameters it returns, evaluated here, clearly beat chance (at least 35% against 10%)."""
    result = training(trained)
    acc = accuracy(result["params"])
    if not acc >= PASS_ACC:
        raise GradeFailure(f"after train_capstone's {result['steps']} steps the validation accuracy of the "
                           f"parameters it returned is {acc:.1%}, short of {PASS_ACC:.0%}", why_not_learning(sandbox))


def why_not_learning(sandbox):
    """The likeliest reason a run does not learn, from two quick checks of its parts."""
    student = SimpleNamespace(sandbox=sandbox)
    rng = np.random.default_rng(0)
    w, state, ref_state = rng.standard_normal(5), None, None
    ref_w = w
    try:
        for _ in range(3):
            g = rng.standard_normal(5)
            w, state = call(student, "ex12_optimizers", "adam", w, g, state, lr=0.01)
            ref_w, ref_state = tt.optim.adam(ref_w, g, ref_state, lr=0.01)
        adam_ok = isinstance(w, np.ndarray) and w.shape == ref_w.shape and np.allclose(w, ref_w, rtol=1e-9, atol=0)
    except (GradeFailure, TypeError, ValueError):
        adam_ok = False
    if not adam_ok:
        return "your adam (exercise 12) does not give Adam's updates: fix it first (its own checks say how)"
    params = tt.init_params(seed=1)
    _, val = tt.train_val_split(seed=0)
    try:
        loss, grads = call_with(student, MODULE, "_student_loss_and_grads", params, val.tokens[:2], val.targets[:2],
                                callbacks=None)
        _, ref = tt.loss_and_grads(params, val.tokens[:2], val.targets[:2])
        grads_ok = all(np.allclose(grads[k], ref[k], rtol=1e-6, atol=1e-9) for k in ref)
    except (GradeFailure, TypeError, ValueError, KeyError):
        grads_ok = False
    if not grads_ok:
        return "the gradients of your pieces are wrong (see the check of the model's gradients above)"
    return ("your gradients and your adam are right, so look at the loop: every parameter updated with its own "
            "Adam state, the returned parameters being the updated ones, batches of the shuffled training set")


@pytest.mark.points(1)
def test_training_reports_honestly(trained):
    """train_capstone keeps the parameters float32, counts its steps, and reports as val_acc the accuracy of the parameters it returns."""
    result = training(trained)
    params = result["params"]
    wrong = [k for k, p in params.items() if p.dtype != np.float32]
    if wrong:
        raise GradeFailure(f"train_capstone(dtype='float32'): {wrong[0]} is {params[wrong[0]].dtype}",
                           "keep the dtype: init_params(dtype=...), and backward passes and Adam that return the "
                           "dtype of their input")
    steps = result["steps"]
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 0 < steps <= 4000 // 32:
        raise GradeFailure(f"train_capstone: steps should be the number of updates made (1 to {4000 // 32} in one "
                           f"epoch of batches of 32), but it is {str(steps)[:30]}")
    acc = accuracy(params)
    val_acc = result["val_acc"]
    if isinstance(val_acc, bool) or not isinstance(val_acc, (int, float, np.floating)) or abs(val_acc - acc) > 0.002:
        raise GradeFailure(f"train_capstone reports val_acc {str(val_acc)[:20]}, but the parameters it returned "
                           f"score {acc:.1%} on the validation set",
                           "val_acc is the accuracy of the parameters returned, measured after the last update")
