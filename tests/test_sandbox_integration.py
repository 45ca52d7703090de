"""The sandbox with the real pieces: solutions/ as the submission, the student edition
of tt (grader.build.student_tt) as the worker's library, the reference tt in the parent.

Composite exercises get the reference sub-operations as callbacks, so each is graded on
its own; the worker's tt is stubbed, so nothing else could answer for them there.
"""
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import tt
from grader.sandbox import CALLBACKS, Sandbox, StudentError, compare

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the sandbox targets Linux")
REPO = Path(__file__).resolve().parents[1]
RECORDS = [tt.layers, tt.attention, tt.blocks, tt.model]
REF = {name: getattr(tt.reference(), name) for name in tt.ops.NAMES}
B, T, C, H, F = 2, 8, 16, 2, 24
RTOL = 1e-9


@pytest.fixture(scope="module")
def sb(tmp_path_factory):
    from grader.build import student_tt
    lib = tmp_path_factory.mktemp("student")
    student_tt(lib)
    box = Sandbox(REPO / "solutions", lib, records=RECORDS, timeout=10)
    yield box
    box.close()


def reference_except(function):
    """Every reference operation but the one under test, as a hidden test offers them."""
    return {name: fn for name, fn in REF.items() if name != function}


def rng(seed):
    return np.random.default_rng(seed)


def away_from_zero(a, margin=0.05):
    return np.where(np.abs(a) < margin, np.sign(a) * margin + a, a) + 0.0


def cases(seed=0):
    """(module, function, args, needs callbacks, reference result) for each exercise."""
    r = rng(seed)
    x = away_from_zero(r.normal(size=(B, T, C)))
    out = []

    W, b = r.normal(size=(C, F)), r.normal(size=F)
    _, lin = tt.linear_forward(x, W, b)
    d = r.normal(size=(B, T, F))
    out.append(("ex02_linear", "linear_backward", (d, lin), None, tt.linear_backward(d, lin)))

    W1, b1, W2, b2 = r.normal(size=(C, F)), r.normal(size=F), r.normal(size=(F, C)), r.normal(size=C)
    _, ffn = tt.ffn_forward(x, W1, b1, W2, b2)
    d = r.normal(size=(B, T, C))
    out.append(("ex03_relu_ffn", "ffn_backward", (d, ffn, CALLBACKS), True, tt.ffn_backward(d, ffn)))

    gamma, beta = 1 + 0.3 * r.normal(size=C), 0.1 * r.normal(size=C)
    _, ln = tt.layernorm_forward(x, gamma, beta)
    out.append(("ex04_layernorm", "layernorm_backward", (d, ln), None, tt.layernorm_backward(d, ln)))

    q, k, v = (r.normal(size=(B, H, T, C // H)) for _ in range(3))
    _, att = tt.attention_forward(q, k, v)
    d = r.normal(size=(B, H, T, C // H))
    out.append(("ex05_attention", "attention_backward", (d, att, CALLBACKS), True,
                tt.attention_backward(d, att)))

    Ws = [r.normal(size=(C, C)) / 4 for _ in range(4)]
    _, mha = tt.mha_forward(x, *Ws, H)
    d = r.normal(size=(B, T, C))
    out.append(("ex06_multihead_attention", "mha_backward", (d, mha, CALLBACKS), True,
                tt.mha_backward(d, mha)))

    params = tt.init_params(seed=seed)
    p = tt.block_params(params, 0)
    xb = r.normal(size=(B, T, params["embedding"].shape[1]))
    _, blk = tt.block_forward(xb, p, H)
    d = r.normal(size=xb.shape)
    out.append(("ex07_block", "block_backward", (d, blk, CALLBACKS), True, tt.block_backward(d, blk)))

    tokens = r.integers(0, params["embedding"].shape[0], size=(B, T))
    tokens[:, 3] = tokens[:, 5]                              # a repeated token
    _, emb = tt.embedding_forward(tokens, params["embedding"])
    d = r.normal(size=(B, T, params["embedding"].shape[1]))
    out.append(("ex08_embedding", "embedding_backward", (d, emb), None, tt.embedding_backward(d, emb)))
    return out


def check(got, want, label):
    """Compare nested results (arrays, tuples, dicts of arrays, None) entry by entry."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), label
        for key in want:
            check(got[key], want[key], f"{label}[{key}]")
    elif isinstance(want, tuple):
        assert type(got) is type(want) and len(got) == len(want), label
        for i, (g, w) in enumerate(zip(got, want)):
            check(g, w, f"{label}[{i}]")
    elif want is None or isinstance(want, (bool, int, float)):
        assert got == want and type(got) is type(want), label
    else:
        c = compare(got, want, rtol=RTOL, name=label, exact_dtype=True)
        assert c, c.message


@pytest.mark.parametrize("case", range(7))
def test_solutions_match_the_reference_through_the_sandbox(sb, case):
    module, function, args, needs_ops, want = cases()[case]
    callbacks = reference_except(function) if needs_ops else None
    check(sb.call(module, function, *args, callbacks=callbacks), want, f"{module}.{function}")


def test_the_workers_tt_is_the_stubbed_student_edition(sb):
    d = np.ones((2, 3))
    _, lin = tt.linear_forward(d, np.ones((3, 3)))
    with pytest.raises(StudentError) as e:
        sb.call("tt.layers", "linear_backward", d, lin)
    assert e.value.type == "NotImplementedError" and "Exercise" in e.value.message
    with pytest.raises(StudentError) as e:       # ops=None falls back to the stubbed reference
        sb.call("ex03_relu_ffn", "ffn_backward", *cases()[1][2][:2])
    assert e.value.type == "NotImplementedError"


def test_nested_records_go_and_come_back_as_the_reference_classes(sb):
    _, blk = tt.block_forward(rng(3).normal(size=(1, 4, 8)), {
        "W_q": np.eye(8), "W_k": np.eye(8), "W_v": np.eye(8), "W_o": np.eye(8),
        "ln1.gamma": np.ones(8), "ln1.beta": np.zeros(8), "W1": np.ones((8, 5)),
        "b1": np.zeros(5), "W2": np.ones((5, 8)), "b2": np.zeros(8),
        "ln2.gamma": np.ones(8), "ln2.beta": np.zeros(8)}, 2)
    [echo] = sb.call("builtins", "tuple", [blk])     # the worker sends back what it got
    check(echo, blk, "BlockCache")
    assert type(echo.mha.attn.softmax) is tt.layers.SoftmaxCache and echo.mha.H == 2


def test_a_whole_submission_is_graded_in_seconds(sb):
    """Around 150 calls, as a hidden suite makes them, with every comparison in the parent."""
    t = time.perf_counter()
    n = 0
    for seed in range(21):
        for module, function, args, needs_ops, want in cases(seed):
            callbacks = reference_except(function) if needs_ops else None
            check(sb.call(module, function, *args, callbacks=callbacks), want, function)
            n += 1
    elapsed = time.perf_counter() - t
    assert n >= 140 and elapsed < 10, (n, elapsed)
