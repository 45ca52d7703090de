"""Exercise 2: linear layer backward and the output projection's backward."""
import numpy as np
import pytest

import tt
from exercises.tests import harness as h

pytestmark = pytest.mark.ex02


def linear_inputs(x_shape, n_out, bias=True, seed=0, dtype=np.float64):
    r = h.rng(seed)
    n_in = x_shape[-1]
    inp = {"x": r.standard_normal(x_shape).astype(dtype),
           "W": (r.standard_normal((n_in, n_out)) / np.sqrt(n_in)).astype(dtype)}
    if bias:
        inp["b"] = (0.5 * r.standard_normal(n_out)).astype(dtype)
    return inp


@pytest.mark.parametrize("x_shape,n_out,dtype", [
    ((5, 7), 3, np.float64),          # (B, in), non-square W
    ((2, 4, 6), 9, np.float64),       # (B, T, in): every (b, t) is a row
    ((1, 3), 4, np.float64),          # a batch of one
    ((3, 4, 16), 24, np.float32),     # float32 in, float32 out
])
def test_linear_backward(impl, x_shape, n_out, dtype):
    ex = impl("ex02_linear")
    inp = linear_inputs(x_shape, n_out, seed=len(x_shape) + n_out, dtype=dtype)
    out, cache = tt.linear_forward(**inp)
    dout = h.random_dout(out.shape)
    dx, dW, db = h.returned("linear_backward", ex.linear_backward(dout.astype(dtype), cache), 3)
    expected = h.vjp(tt.linear_forward, inp, dout)
    h.check("linear_backward", "db", db, expected["b"], like=inp["b"])
    h.check("linear_backward", "dW", dW, expected["W"], like=inp["W"])
    h.check("linear_backward", "dx", dx, expected["x"], like=inp["x"])


def test_linear_backward_without_bias(impl):
    """W_q, W_k, W_v and W_o have no bias: then db is None."""
    ex = impl("ex02_linear")
    inp = linear_inputs((2, 3, 5), 4, bias=False, seed=3)
    out, cache = tt.linear_forward(**inp)
    dout = h.random_dout(out.shape)
    dx, dW, db = h.returned("linear_backward", ex.linear_backward(dout, cache), 3)
    assert db is None, \
        f"linear_backward: db should be None when the layer has no bias (got {type(db).__name__})"
    expected = h.vjp(tt.linear_forward, inp, dout)
    h.check("linear_backward", "dW", dW, expected["W"], like=inp["W"])
    h.check("linear_backward", "dx", dx, expected["x"], like=inp["x"])


def test_seed_part2_column_of_the_correct_token(impl):
    """The seed's worked example: dW_output[i, 8] = final_repr[i] * dlogits[8].

    final_repr[0:5] = [0.234, -0.567, 0.891, -0.123, 0.456] and dlogits[8] = -0.3075.
    The products are -0.071955, 0.1743525, -0.2739825, 0.0378225, -0.14022; the seed
    prints the first as -0.0719 (truncated: rounded it is -0.0720).
    """
    ex = impl("ex02_linear")
    r = h.rng(8)
    final_repr = 0.5 * r.standard_normal(64)
    final_repr[:5] = [0.234, -0.567, 0.891, -0.123, 0.456]
    dlogits = r.uniform(0.001, 0.004, 20)           # small positive p_j for the wrong tokens
    dlogits[8] = -0.3075                             # p_8 - 1 for the correct token '6'
    W = r.standard_normal((64, 20)) / 8
    _, cache = tt.linear_forward(final_repr[None], W, np.zeros(20))
    dx, dW, db = h.returned("linear_backward", ex.linear_backward(dlogits[None], cache), 3)
    # by hand: one example, so dW is the single outer product final_repr x dlogits
    column_8 = np.array([0.234 * -0.3075, -0.567 * -0.3075, 0.891 * -0.3075,
                         -0.123 * -0.3075, 0.456 * -0.3075])
    assert np.allclose(column_8, [-0.071955, 0.1743525, -0.2739825, 0.0378225, -0.14022], rtol=0, atol=1e-15)
    h.check("linear_backward", "dW", dW, np.outer(final_repr, dlogits), like=W)
    h.check("linear_backward", "dW[0:5, 8]", dW[:5, 8], column_8, like=W)
    h.check("linear_backward", "db", db, dlogits, like=W)      # dL/db_output = dL/dlogits
    # dL/dfinal_repr[i] = sum_j dlogits[j] W[i, j]: row i of W weighted by dlogits
    by_hand = np.array([sum(dlogits[j] * W[i, j] for j in range(20)) for i in range(64)])
    h.check("linear_backward", "dx", dx, by_hand[None], like=final_repr)


def test_dW_is_a_sum_over_rows_not_a_mean(impl):
    ex = impl("ex02_linear")
    inp = linear_inputs((4, 5, 6), 3, seed=11)
    out, cache = tt.linear_forward(**inp)
    dout = h.random_dout(out.shape)
    dx, dW, db = h.returned("linear_backward", ex.linear_backward(dout, cache), 3)
    expected = h.vjp(tt.linear_forward, inp, dout)
    h.check_array("linear_backward", "dW", dW, inp["W"].shape, like=inp["W"])
    mean = np.allclose(dW * 20, expected["W"])
    h.check("linear_backward", "dW", dW, expected["W"], like=inp["W"],
            hint="dW is the MEAN of the 20 rows' outer products; it must be their SUM (any 1/B of a "
                 "mean loss is already inside dout)" if mean else None)
    h.check("linear_backward", "db", db, expected["b"], like=inp["b"])
    h.check("linear_backward", "dx", dx, expected["x"], like=inp["x"])


def output_inputs(B, T, C, V, seed, dtype=np.float64):
    r = h.rng(seed)
    return {"x": r.standard_normal((B, T, C)).astype(dtype),
            "W_out": (r.standard_normal((C, V)) / np.sqrt(C)).astype(dtype),
            "b_out": (0.3 * r.standard_normal(V)).astype(dtype)}


@pytest.mark.parametrize("B,T", [(2, 5), (1, 8)])
def test_output_backward(impl, B, T):
    ex = impl("ex02_linear")
    C = 16
    inp = output_inputs(B, T, C, 20, seed=B + T)
    logits, cache = tt.output_forward(**inp)
    dlogits = h.random_dout(logits.shape)
    result = ex.output_backward(dlogits, cache, h.numerical_ops())
    dx, dW_out, db_out = h.returned("output_backward", result, 3)
    expected = h.vjp(tt.output_forward, inp, dlogits)
    h.check("output_backward", "db_out", db_out, expected["b_out"], like=inp["b_out"])
    h.check("output_backward", "dW_out", dW_out, expected["W_out"], like=inp["W_out"])
    last_only = isinstance(dx, np.ndarray) and dx.shape == (B, C)
    h.check("output_backward", "dx", dx, expected["x"], like=inp["x"],
            hint=f"({B}, {C}) is the shape of x[:, -1]; dx has the shape of the whole input x, with "
                 f"zeros where the forward pass did not look" if last_only else None)


def test_output_backward_reads_only_the_last_position(impl):
    ex = impl("ex02_linear")
    inp = output_inputs(3, 8, 16, 20, seed=4)
    logits, cache = tt.output_forward(**inp)
    dlogits = h.random_dout(logits.shape)
    dx, dW_out, db_out = h.returned("output_backward", ex.output_backward(dlogits, cache, h.numerical_ops()), 3)
    expected = h.vjp(tt.output_forward, inp, dlogits)
    h.check_array("output_backward", "dx", dx, (3, 8, 16), like=inp["x"])
    assert np.all(dx[:, :-1] == 0), ("output_backward: dx must be exactly 0 at positions 0..T-2: "
                                     "the logits read only the last position")
    assert np.any(dx[:, -1] != 0), "output_backward: dx at the last position should not be 0"
    h.check("output_backward", "dx", dx, expected["x"], like=inp["x"])
    h.check("output_backward", "dW_out", dW_out, expected["W_out"], like=inp["W_out"])
    h.check("output_backward", "db_out", db_out, expected["b_out"], like=inp["b_out"])


def test_output_backward_float32(impl):
    ex = impl("ex02_linear")
    inp = output_inputs(2, 4, 16, 20, seed=6, dtype=np.float32)
    logits, cache = tt.output_forward(**inp)
    dlogits = h.random_dout(logits.shape).astype(np.float32)
    dx, dW_out, db_out = h.returned("output_backward",
                                    ex.output_backward(dlogits, cache, h.numerical_ops(np.float32)), 3)
    expected = h.vjp(tt.output_forward, inp, dlogits)
    h.check("output_backward", "dx", dx, expected["x"], like=inp["x"])
    h.check("output_backward", "dW_out", dW_out, expected["W_out"], like=inp["W_out"])
    h.check("output_backward", "db_out", db_out, expected["b_out"], like=inp["b_out"])
