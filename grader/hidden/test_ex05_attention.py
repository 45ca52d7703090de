"""Hidden checks of exercise 5: softmax backward without a Jacobian, and scaled dot-product attention."""
import math

import numpy as np
import pytest

import tt
from grader.checks import GradeFailure
from grader.hidden import magnitude
from grader.hidden.mistakes import matmul_mismatch
from grader.hidden.support import call, expect_exact, expect_follows_ops, upstream

MODULE = "ex05_attention"
ATTENTION = ("dq", "dk", "dv")


def softmax_case(rng, shape, scale=2.0, dtype=np.float64):
    y, cache = tt.softmax_forward((scale * rng.standard_normal(shape)).astype(dtype))
    return upstream(rng, shape, dtype), cache


def softmax_variants(dout, cache):
    y = cache.y
    out = [("dx is y * dout, only the diagonal of the Jacobian: every x[j] also lowers all the other "
             "y[k] through the shared denominator, which subtracts y[j] * sum_k dout[k] y[k]",
             {"dx": y * dout}),
            ("the subtracted term is the plain sum of dout, not its probability-weighted sum "
             "sum_k dout[k] y[k]", {"dx": y * (dout - dout.sum(-1, keepdims=True))}),
            ("dx is y * (1 - y) * dout: that is only the Jacobian's diagonal; the off-diagonal entries "
             "-y[j] y[k] add -y[j] * sum_{k != j} dout[k] y[k]", {"dx": y * (1 - y) * dout}),
            ("the subtracted term lacks its factor y[j]: dx[j] = y[j] * (dout[j] - sum_k dout[k] y[k]), so "
             "both terms are multiplied by y[j]", {"dx": y * dout - (dout * y).sum(-1, keepdims=True)}),
            ("dx is dout - sum_k dout[k] y[k] without the factor y[j]",
             {"dx": dout - (dout * y).sum(-1, keepdims=True)})]
    axis = ("the weighted sum sum_k dout[k] y[k] runs over the wrong axis: each row of y (the last axis) "
            "is one softmax, so sum over axis=-1 with keepdims=True")
    return out + [(axis, {"dx": y * (dout - (dout * y).sum(a, keepdims=True))}) for a in (0, -2) if y.ndim >= 2]


def check_softmax(student, dout, cache):
    """Against the exact answer (float64, same inputs): a row of n sums n products."""
    got = call(student, MODULE, "softmax_backward", dout, cache)
    expect_exact(got, ("dx",), function="softmax_backward", reference=tt.softmax_backward,
                 args=(dout, cache), magnitude=magnitude.softmax, terms=dout.shape[-1],
                 variants=softmax_variants)


@pytest.mark.points(2)
def test_softmax_attention_shaped(student, rng):
    """softmax_backward on (B, H, T, T) = (3, 4, 8, 8) attention weights with a random upstream gradient."""
    check_softmax(student, *softmax_case(rng, (3, 4, 8, 8)))


@pytest.mark.points(1)
def test_softmax_long_rows(student, rng):
    """5 rows of 3,000 entries: an n x n Jacobian per row would be 72 MB, the answer needs O(n)."""
    check_softmax(student, *softmax_case(rng, (5, 3000)))


@pytest.mark.points(1)
def test_softmax_peaked_float32(student, rng):
    """Large scores (rows nearly one-hot), a single row of 9, in float32: the result is float32."""
    check_softmax(student, *softmax_case(rng, (9,), scale=40.0, dtype=np.float32))


def attention_case(rng, lead, Tq, T, hs, dtype=np.float64):
    q, k, v = (rng.standard_normal((*lead, n, hs)).astype(dtype) for n in (Tq, T, T))
    out, cache = tt.attention_forward(q, k, v)
    return upstream(rng, out.shape, dtype), cache


ONE_SCALED = ("only one of dq and dk is divided by sqrt(hs): the scores q @ k^T / sqrt(hs) are scaled once, so "
              "the same draw = dscores / sqrt(hs) goes into both dq = draw @ k and dk = draw^T @ q")


def attention_variants(dout, cache):
    """Assemblies that go wrong in the usual ways, computed from the reference pieces."""
    dq, dk, dv = tt.attention_backward(dout, cache)
    q, k, v, sm = cache
    root = math.sqrt(q.shape[-1])
    datt = dout @ np.swapaxes(v, -1, -2)
    plain = datt / root                                       # the softmax's backward skipped
    square = sm.y.shape[-1] == sm.y.shape[-2]
    out = [("dq and dk are sqrt(hs) times too large: the scores were divided by sqrt(hs), so their "
             "gradient is divided by sqrt(hs) too", {"dq": dq * root, "dk": dk * root}),
            ("the 1/sqrt(hs) is multiplied instead of divided: dq and dk are hs times too large",
             {"dq": dq * root ** 2, "dk": dk * root ** 2}),
            ("dq and dk are divided by sqrt(hs) twice (or by hs)", {"dq": dq / root, "dk": dk / root}),
            (ONE_SCALED, {"dq": dq * root}), (ONE_SCALED, {"dk": dk * root}),
            *[(("the scores are scaled by 1/sqrt(hs), with hs = q.shape[-1] the head size: not by the square root "
                "of the number of queries or keys"), {"dq": dq * root / math.sqrt(n), "dk": dk * root / math.sqrt(n)})
              for n in {q.shape[-2], k.shape[-2]} - {q.shape[-1]}],
            ("the softmax's backward is skipped: datt must go through ops.softmax_backward before the "
             "scores' gradient", {"dq": plain @ k, "dk": np.swapaxes(plain, -1, -2) @ q}),
            ("dq and dk are swapped", {"dq": dk, "dk": dq}),
            ("dv uses att without transposing it: out = att @ v, so dv = att^T @ dout",
             {"dv": sm.y @ dout} if square else {}),
            ("dv is divided by sqrt(hs) too: the scale is applied to the scores only (scores = q k^T / "
             "sqrt(hs)), and out = att @ v has no scale", {"dv": dv / root})]
    if square:                                                # these only run when Tq = T
        draw = tt.softmax_backward(datt, sm) / root
        out += [("dk is computed from the keys: raw = q @ k^T, so key j's gradient sums draw[i, j] q[i] "
                 "over the queries, dk = draw^T @ q", {"dk": np.swapaxes(draw, -1, -2) @ k}),
                ("dq is computed from the queries: raw = q @ k^T, so query i's gradient sums draw[i, j] k[j] "
                 "over the keys, dq = draw @ k", {"dq": draw @ q}),
                ("dk = draw @ q, without the transpose: raw = q @ k^T, so dk = draw^T @ q",
                 {"dk": draw @ q}),
                ("dq = draw^T @ k, transposed: raw = q @ k^T, so query i's gradient is row i of draw @ k",
                 {"dq": np.swapaxes(draw, -1, -2) @ k})]
    return out


V_UNTRANSPOSED = ("datt is dout @ v, without transposing v: out = att @ v, so datt = dout @ v^T, of the shape of "
                  "att (..., Tq, T); dout @ v only runs when hs = T")


def check_attention(student, dout, cache):
    """Against the exact answer: sums over hs (datt), T (the softmax), T or Tq (dq, dk, dv)."""
    try:
        got = call(student, MODULE, "attention_backward", dout, cache, pieces=("softmax_backward",))
    except GradeFailure as failure:      # (..., Tq, hs) @ (..., T, hs): T rows against hs columns
        if failure.diagnosis or matmul_mismatch(failure.message) != cache.v.shape[-2:]:
            raise
        raise GradeFailure(failure.message, V_UNTRANSPOSED) from None
    q, k = cache.q, cache.k
    expect_exact(got, ATTENTION, function="attention_backward", reference=tt.attention_backward,
                 args=(dout, cache), magnitude=magnitude.attention,
                 terms=q.shape[-1] + 2 * k.shape[-2] + q.shape[-2], depth=4, variants=attention_variants)


@pytest.mark.points(3)
def test_attention_all_heads(student, rng):
    """attention_backward on all heads at once, (B, H, T, hs) = (2, 4, 8, 16); ops.softmax_backward is the reference."""
    check_attention(student, *attention_case(rng, (2, 4), 8, 8, 16))


@pytest.mark.points(2)
def test_attention_fewer_queries(student, rng):
    """3 queries attending over 7 keys with hs = 5, one head (Tq != T != hs): every transpose must be in its place."""
    check_attention(student, *attention_case(rng, (1,), 3, 7, 5))


@pytest.mark.points(1)
def test_attention_float32(student, rng):
    """One head of (B, T, hs) = (1, 8, 16) in float32: dq, dk and dv are float32."""
    check_attention(student, *attention_case(rng, (1,), 8, 8, 16, np.float32))


@pytest.mark.points(1)
def test_attention_follows_ops(student, rng):
    """attention_backward uses ops.softmax_backward, the piece it is given: an altered one changes the result accordingly."""
    dout, cache = attention_case(rng, (2,), 5, 5, 4)
    expect_follows_ops(student, MODULE, "attention_backward", dout, cache, ATTENTION, ("softmax_backward",))
