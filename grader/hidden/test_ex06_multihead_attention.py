"""Hidden checks of exercise 6: multi-head self-attention backward."""
import numpy as np
import pytest

import tt
from grader.hidden import magnitude
from grader.hidden.support import call, expect_exact, expect_follows_ops, upstream

MODULE, FUNCTION = "ex06_multihead_attention", "mha_backward"
NAMES = ("dx", "dW_q", "dW_k", "dW_v", "dW_o")
PIECES = ("linear_backward", "attention_backward")


def case(rng, B, T, C, H, dtype=np.float64):
    x = rng.standard_normal((B, T, C))
    W_q, W_k, W_v, W_o = (rng.standard_normal((C, C)) / np.sqrt(C) for _ in range(4))
    out, cache = tt.mha_forward(*(a.astype(dtype) for a in (x, W_q, W_k, W_v, W_o)), H)
    return upstream(rng, out.shape, dtype), cache


def assemble(dout, cache, *, merge_transposed=True, q_path=True, kv_path=True, split_only=False,
             q_plain=False, v_first=False, q_sign=1, overlap=False, proj="proj"):
    """mha_backward from the reference pieces, with one step optionally done wrong."""
    B, T, C = dout.shape
    H = cache.H
    hs = C // H

    def split(a):       # (B, T, C) -> (B, H, T, hs)
        return a.reshape(B, T, H, hs).transpose(0, 2, 1, 3) if merge_transposed else a.reshape(B, H, T, hs)

    def merge(a):       # (B, H, T, hs) -> (B, T, C)
        return a.transpose(0, 2, 1, 3).reshape(B, T, C) if merge_transposed else a.reshape(B, T, C)

    dconcat, dW_o, _ = tt.linear_backward(dout, getattr(cache, proj))
    dheads = dconcat.reshape(B, H, T, hs) if split_only else split(dconcat)
    if overlap:                     # head h given columns h .. h + hs - 1
        dheads = np.stack([dconcat[:, :, h:h + hs] for h in range(H)], axis=1)
    dq, dk, dv = tt.attention_backward(dheads, cache.attn)
    dkv = [merge(dv), merge(dk)] if v_first else [merge(dk), merge(dv)]
    dx_kv, dW_kv, _ = tt.linear_backward(np.concatenate(dkv, axis=-1), cache.kv)
    dx_q, dW_q, _ = tt.linear_backward(dq.reshape(B, T, C) if q_plain else merge(dq), cache.q)
    dx = (dx_kv if kv_path else 0) + (q_sign * dx_q if q_path else 0)
    return dict(zip(NAMES, (dx, dW_q, dW_kv[:, :C], dW_kv[:, C:], dW_o)))


def variants(dout, cache):
    right = assemble(dout, cache)
    out = [("dx misses the query path: x feeds Q, K and V, so dx sums the gradients of all three "
             "projections", {"dx": assemble(dout, cache, q_path=False)["dx"]}),
            ("dx misses the key and value paths: x feeds Q, K and V, so dx sums the gradients of all "
             "three projections", {"dx": assemble(dout, cache, kv_path=False)["dx"]}),
            ("the heads are split with a plain reshape to (B, H, T, hs): head h is COLUMNS h*hs .. "
             "h*hs + hs - 1 of every position, so reshape to (B, T, H, hs) and then move the H axis",
             assemble(dout, cache, merge_transposed=False)),
            ("dout is split into heads with a plain reshape to (B, H, T, hs): head h is COLUMNS h*hs .. "
             "h*hs + hs - 1 of every position, so reshape to (B, T, H, hs) and then move the H axis",
             assemble(dout, cache, split_only=True)),
            ("dW_k and dW_v are swapped: in [k | v] = x @ [W_k | W_v] the first C columns are the keys'",
             {"dW_k": right["dW_v"], "dW_v": right["dW_k"]}),
            ("the keys' and the values' gradients are put in the wrong order: [k | v] = x @ [W_k | W_v], so "
             "the gradient of that product is [dk | dv], the keys' first", assemble(dout, cache, v_first=True))]
    out += [("the query path is subtracted from dx: x feeds Q, K and V, so dx is the SUM of the three paths",
             assemble(dout, cache, q_sign=-1)),
            ("the output projection is undone with another layer's cache: out = concat @ W_o, so its backward is "
             "ops.linear_backward(dout, cache.proj)", assemble(dout, cache, proj="q"))]
    if cache.H > 1:
        out.append(("head h is given columns h .. h + hs - 1 of dconcat: its columns are h*hs .. (h + 1)*hs - 1, "
                    "hs of its own", assemble(dout, cache, overlap=True)))
        out.append(("dq is merged back from the heads with a plain reshape of (B, H, T, hs): head h's gradient "
                    "belongs in COLUMNS h*hs .. h*hs + hs - 1, so move the H axis back next to hs first "
                    "(transpose to (B, T, H, hs)), then reshape", assemble(dout, cache, q_plain=True)))
    return out


def check(student, dout, cache):
    """Against the exact answer: C products (W_o), attention's hs + 3T, C again, the rows for dW."""
    got = call(student, MODULE, FUNCTION, dout, cache, pieces=PIECES)
    B, T, C = dout.shape
    expect_exact(got, NAMES, function=FUNCTION, reference=tt.mha_backward, args=(dout, cache),
                 magnitude=magnitude.mha, terms=B * T + 2 * C + C // cache.H + 3 * T, depth=6,
                 variants=variants)


@pytest.mark.points(4)
def test_model_sizes(student, rng):
    """mha_backward at the model's sizes, (B, T, C) = (3, 8, 64) with H = 4 heads of 16; ops are the reference pieces."""
    check(student, *case(rng, 3, 8, 64, 4))


@pytest.mark.points(2)
def test_two_heads_of_three(student, rng):
    """H = 2 heads of hs = 3 (C = 6) over T = 5 positions, a batch of 1: H and hs come from the cache."""
    check(student, *case(rng, 1, 5, 6, 2))


@pytest.mark.points(1)
def test_one_head(student, rng):
    """A single head (H = 1, hs = C = 8): splitting and merging are then no-ops."""
    check(student, *case(rng, 2, 4, 8, 1))


@pytest.mark.points(1)
def test_float32(student, rng):
    """The model's sizes in float32: every gradient is float32."""
    check(student, *case(rng, 2, 8, 64, 4, np.float32))


@pytest.mark.points(1)
def test_mha_follows_ops(student, rng):
    """mha_backward uses ops.linear_backward and ops.attention_backward: altered pieces change the result accordingly."""
    dout, cache = case(rng, 1, 4, 6, 2)
    expect_follows_ops(student, MODULE, "mha_backward", dout, cache, NAMES, PIECES)
