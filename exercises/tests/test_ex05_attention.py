"""Exercise 5: row-wise softmax backward and scaled dot-product attention backward."""
import tracemalloc

import numpy as np
import pytest

import tt
from exercises.tests import harness as h

pytestmark = pytest.mark.ex05


def softmax_case(shape, seed, dtype=np.float64):
    x = (2 * h.rng(seed).standard_normal(shape)).astype(dtype)
    y, cache = tt.softmax_forward(x)
    return x, y, cache, h.random_dout(shape, seed=seed + 1).astype(dtype)


@pytest.mark.parametrize("shape", [(3, 5), (2, 2, 4, 4), (1, 7), (6,)])
def test_softmax_backward(impl, shape):
    """Rows of any length, with any leading dims: (B, H, T, T) is the attention's."""
    ex = impl("ex05_attention")
    x, _, cache, dout = softmax_case(shape, seed=len(shape))
    dx = ex.softmax_backward(dout, cache)
    h.check("softmax_backward", "dx", dx, h.vjp(tt.softmax_forward, {"x": x}, dout)["x"], like=x)


def test_softmax_backward_float32(impl):
    ex = impl("ex05_attention")
    x, _, cache, dout = softmax_case((2, 4, 8, 8), seed=5, dtype=np.float32)
    dx = ex.softmax_backward(dout, cache)
    h.check("softmax_backward", "dx", dx, h.vjp(tt.softmax_forward, {"x": x}, dout)["x"], like=x)


def test_softmax_backward_rows_sum_to_zero(impl):
    """softmax(x + c) = softmax(x): moving a whole row changes nothing, so each row of dx sums to 0."""
    ex = impl("ex05_attention")
    x, y, cache, dout = softmax_case((4, 8), seed=7)
    dx = ex.softmax_backward(dout, cache)
    h.check_array("softmax_backward", "dx", dx, x.shape, like=x)
    hint = None
    if np.allclose(dx, y * dout):
        hint = ("dx is y * dout, only the diagonal of the Jacobian. Each x[j] also lowers every other "
                "y[k] (they share the denominator): subtract that part")
    elif np.any(np.abs(dx.sum(axis=-1)) > 1e-9 * np.abs(dx).sum(axis=-1)):
        hint = "each row of dx should sum to 0 (softmax ignores a constant added to its row)"
    h.check("softmax_backward", "dx", dx, h.vjp(tt.softmax_forward, {"x": x}, dout)["x"], like=x, hint=hint)


def test_softmax_backward_long_rows_without_a_jacobian(impl):
    """4 rows of 2000: an n x n Jacobian would be 32 MB per row; the answer needs none."""
    ex = impl("ex05_attention")
    x, y, cache, dout = softmax_case((4, 2000), seed=11)
    tracemalloc.start()
    try:
        dx = ex.softmax_backward(dout, cache)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # the expected value the long way: the seed's formula, one explicit 2000 x 2000 matrix per row,
    # M[j, k] = dy[k]/dx[j] = y[k] * (delta[j, k] - y[j]), and dx = M @ dout
    expected = np.stack([(np.diag(row) - np.outer(row, row)) @ g for row, g in zip(y, dout)])
    h.check("softmax_backward", "dx", dx, expected, like=x)
    limit = 20 * dout.nbytes
    assert peak <= limit, (f"softmax_backward allocated {peak / 1e6:.1f} MB for 4 rows of 2000 numbers "
                           f"({dout.nbytes / 1e3:.0f} kB): it builds something n x n, such as the Jacobian. "
                           f"Work with one number per row instead (the limit is {limit / 1e6:.1f} MB)")


# ----------------------------------------------------------------------- attention
def attention_inputs(lead, Tq, T, hs, seed, dtype=np.float64):
    r = h.rng(seed)
    return {"q": (1.5 * r.standard_normal((*lead, Tq, hs))).astype(dtype),
            "k": (1.5 * r.standard_normal((*lead, T, hs))).astype(dtype),
            "v": r.standard_normal((*lead, T, hs)).astype(dtype)}


def check_attention(ex, inp, ops):
    out, cache = tt.attention_forward(**inp)
    dout = h.random_dout(out.shape)
    result = ex.attention_backward(dout.astype(out.dtype), cache, ops)
    dq, dk, dv = h.returned("attention_backward", result, 3)
    expected = h.vjp(tt.attention_forward, inp, dout)
    h.check("attention_backward", "dv", dv, expected["v"], like=inp["v"])
    h.check("attention_backward", "dq", dq, expected["q"], like=inp["q"])
    h.check("attention_backward", "dk", dk, expected["k"], like=inp["k"])


@pytest.mark.parametrize("lead,Tq,T,hs", [
    ((2, 2), 4, 4, 8),    # (B, H): every head at once, as multi-head attention calls it
    ((3,), 5, 5, 4),      # one head of a batch
    ((), 6, 6, 4),        # a single (T, hs) head, no leading dims
    ((2,), 1, 6, 4),      # one query against six keys (the model's last block)
])
def test_attention_backward(impl, lead, Tq, T, hs):
    check_attention(impl("ex05_attention"), attention_inputs(lead, Tq, T, hs, seed=T + hs), h.numerical_ops())


def test_attention_backward_float32(impl):
    check_attention(impl("ex05_attention"), attention_inputs((2, 2), 4, 4, 8, seed=3, dtype=np.float32),
                    h.numerical_ops(np.float32))


def test_attention_backward_scales_by_one_over_sqrt_hs(impl):
    """hs = 16, as in the model: the scores were divided by sqrt(16) = 4."""
    ex = impl("ex05_attention")
    inp = attention_inputs((1, 2), 4, 4, 16, seed=16)
    out, cache = tt.attention_forward(**inp)
    dout = h.random_dout(out.shape)
    dq, dk, dv = h.returned("attention_backward", ex.attention_backward(dout, cache, h.numerical_ops()), 3)
    expected = h.vjp(tt.attention_forward, inp, dout)
    h.check("attention_backward", "dv", dv, expected["v"], like=inp["v"])
    for name, got in (("dq", dq), ("dk", dk)):
        want = expected[name[1:]]
        h.check_array("attention_backward", name, got, want.shape, like=inp[name[1:]])
        hint = None
        if np.allclose(got, 4 * want):
            hint = (f"{name} is 4 = sqrt(hs) times too large. The forward divides the scores by "
                    f"sqrt(hs), so their gradient is divided by it too")
        elif np.allclose(got, 16 * want):
            hint = (f"{name} is 16 = hs times too large: the gradient of scores = raw / sqrt(hs) is "
                    f"dscores / sqrt(hs), not dscores * sqrt(hs)")
        h.check("attention_backward", name, got, want, like=inp[name[1:]], hint=hint)
