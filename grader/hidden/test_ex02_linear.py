"""Hidden checks of exercise 2: the linear layer's backward and the output projection's."""
import numpy as np
import pytest

import tt
from grader.checks import GradeFailure
from grader.hidden import magnitude
from grader.hidden.mistakes import matmul_mismatch
from grader.hidden.support import call, expect_exact, expect_follows_ops, upstream

MODULE = "ex02_linear"
LINEAR = ("dx", "dW", "db")
OUTPUT = ("dx", "dW_out", "db_out")


def linear_case(rng, lead, n_in, n_out, bias=True, dtype=np.float64):
    """A random linear layer's forward on x of shape (*lead, n_in): (dout, cache)."""
    x = rng.standard_normal((*lead, n_in)).astype(dtype)
    W = (rng.standard_normal((n_in, n_out)) / np.sqrt(n_in)).astype(dtype)
    b = rng.standard_normal(n_out).astype(dtype) if bias else None
    y, cache = tt.linear_forward(x, W, b)
    return upstream(rng, y.shape, dtype), cache


def linear_variants(dout, cache):
    """Typical mistakes, computed from the reference (the transposed dW is a standard variant)."""
    dx, dW, db = tt.linear_backward(dout, cache)
    N = dout.size // dout.shape[-1]
    first = (0,) * (dout.ndim - 1)
    out = [("dW is averaged over the rows, not summed: W is shared by every row and each row adds its "
            "own outer product x_n dout_n", {"dW": dW / N}),
           ("dW comes from one row only: every row (every example, every position) adds its own "
            "outer product to dW", {"dW": np.outer(cache.x[first], dout[first]).astype(dW.dtype)})]
    x, W, _ = cache
    if W.shape[0] == W.shape[1]:
        out.append((NO_TRANSPOSE, {"dx": (dout.reshape(-1, W.shape[1]) @ W).reshape(x.shape)}))
    if dout.ndim > 2:
        out.append(("dx is left flattened, (rows, in): reshape it back to the shape of x, "
                    "(gs @ W.T).reshape(x.shape)", {"dx": dx.reshape(-1, dx.shape[-1])}))
    if dout.ndim > 2 and db is not None:
        out.append(("db sums dout over the first axis only: with dout of shape (B, T, out) the bias was "
                    "added at every position too, so db sums over the batch AND the positions",
                    {"db": dout.sum(axis=0)}))
    if db is not None:
        out += [("db is dout of one row: the bias is added to every row, so db sums dout over all of them",
                 {"db": dout[first]}),
                ("db is averaged over the rows, not summed", {"db": db / N})]
    return out


NO_TRANSPOSE = ("dx is dout @ W, without the transpose: y = x @ W, so dx = dout @ W.T, of the shape of x "
                "(..., in); with W square the product runs but is wrong, otherwise its shapes do not match")
def check_linear(student, dout, cache):
    """Against the exact answer: dx sums `out` products, dW and db one per row."""
    try:
        got = call(student, MODULE, "linear_backward", dout, cache)
    except GradeFailure as failure:
        if failure.diagnosis or matmul_mismatch(failure.message) != cache.W.shape:   # dout @ W, in != out
            raise
        raise GradeFailure(failure.message, NO_TRANSPOSE) from None
    rows = dout.size // dout.shape[-1]
    expect_exact(got, LINEAR, function="linear_backward", reference=tt.linear_backward, args=(dout, cache),
                 magnitude=magnitude.linear, terms={"dx": dout.shape[-1], "dW": rows, "db": rows},
                 variants=linear_variants)


@pytest.mark.points(2)
def test_linear_batch(student, rng):
    """linear_backward on a (B, in) batch with in != out (13 -> 7), with a bias."""
    check_linear(student, *linear_case(rng, (5,), 13, 7))


@pytest.mark.points(2)
def test_linear_positions(student, rng):
    """On a (B, T, in) input, as in the model (64 -> 256): dW and db sum over batch AND positions."""
    check_linear(student, *linear_case(rng, (3, 8), 64, 256))


@pytest.mark.points(1)
def test_linear_without_bias(student, rng):
    """Without a bias (b is None, as for W_q, W_k, W_v, W_o): db must be None."""
    check_linear(student, *linear_case(rng, (2, 4), 16, 16, bias=False))


@pytest.mark.points(1)
def test_linear_float32_batch_of_one(student, rng):
    """A batch of one row in float32: the gradients are float32 too."""
    check_linear(student, *linear_case(rng, (1,), 9, 20, dtype=np.float32))


def output_case(rng, B, T, C, V, dtype=np.float64):
    x = rng.standard_normal((B, T, C)).astype(dtype)
    W = (rng.standard_normal((C, V)) / np.sqrt(C)).astype(dtype)
    b = rng.standard_normal(V).astype(dtype)
    logits, cache = tt.output_forward(x, W, b)
    return upstream(rng, logits.shape, dtype), cache


def output_variants(dlogits, cache):
    dlast, _, _ = tt.linear_backward(dlogits, cache.linear)
    first = np.zeros((dlast.shape[0], cache.T, dlast.shape[1]), dtype=dlast.dtype)
    first[:, 0] = dlast
    spread = np.repeat(dlast[:, None], cache.T, axis=1)
    elsewhere = []
    for t in range(1, cache.T - 1):
        at = np.zeros_like(first)
        at[:, t] = dlast
        elsewhere.append(("the gradient is put at a position before the last: the logits read the LAST position, "
                          "x[:, -1] = x[:, T - 1]", {"dx": at}))
    return [("dx has the shape of x[:, -1]: it must have the shape of the whole input x, (B, T, C), "
             "with zeros at the positions the forward pass never read", {"dx": dlast}),
            ("the gradient is put at position 0: the logits read the LAST position, x[:, -1]",
             {"dx": first}),
            ("every position gets the last position's gradient: the other positions never reached "
             "the logits, so their gradient is 0", {"dx": spread})] + elsewhere


@pytest.mark.points(2)
def test_output_projection(student, rng):
    """output_backward on (B, T, C) = (4, 8, 64) with V = 20; ops.linear_backward is the reference."""
    dlogits, cache = output_case(rng, 4, 8, 64, 20)
    check_output(student, dlogits, cache)


def output_bound(d, cache):
    dx, dW, db = magnitude.linear(d, cache.linear)
    full = np.zeros((dx.shape[0], cache.T, dx.shape[1]))
    full[:, -1] = dx
    return full, dW, db


def check_output(student, dlogits, cache):
    got = call(student, MODULE, "output_backward", dlogits, cache, pieces=("linear_backward",))
    rows, V = dlogits.shape
    expect_exact(got, OUTPUT, function="output_backward", reference=tt.output_backward, args=(dlogits, cache),
                 magnitude=output_bound, terms={"dx": V, "dW_out": rows, "db_out": rows},
                 variants=output_variants)


@pytest.mark.points(1)
def test_output_projection_float32_small(student, rng):
    """A batch of 1 with T = 3, C = 5 and V = 11 in float32: T comes from the cache, the dtype is kept."""
    dlogits, cache = output_case(rng, 1, 3, 5, 11, np.float32)
    check_output(student, dlogits, cache)


@pytest.mark.points(1)
def test_output_follows_ops(student, rng):
    """output_backward uses ops.linear_backward, the piece it is given (exercise 15 passes your own)."""
    dout, cache = output_case(rng, 2, 4, 6, 5)
    expect_follows_ops(student, MODULE, "output_backward", dout, cache, OUTPUT, ("linear_backward",))
