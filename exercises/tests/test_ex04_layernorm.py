"""Exercise 4: LayerNorm backward."""
import numpy as np
import pytest

import tt
from exercises.tests import harness as h

pytestmark = pytest.mark.ex04


def inputs(shape, seed, dtype=np.float64):
    r = h.rng(seed)
    C = shape[-1]
    return {"x": (2 * r.standard_normal(shape) + 0.5).astype(dtype),
            "gamma": (1 + 0.5 * r.standard_normal(C)).astype(dtype),     # gamma != 1 on purpose
            "beta": (0.3 * r.standard_normal(C)).astype(dtype)}


@pytest.mark.parametrize("shape", [(2, 8, 64), (5, 16), (1, 1, 4)])
def test_layernorm_backward(impl, shape):
    ex = impl("ex04_layernorm")
    inp = inputs(shape, seed=len(shape))
    out, cache = tt.layernorm_forward(**inp)
    dout = h.random_dout(out.shape)
    dx, dgamma, dbeta = h.returned("layernorm_backward", ex.layernorm_backward(dout, cache), 3)
    expected = h.vjp(tt.layernorm_forward, inp, dout)
    h.check("layernorm_backward", "dbeta", dbeta, expected["beta"], like=inp["beta"])
    h.check("layernorm_backward", "dgamma", dgamma, expected["gamma"], like=inp["gamma"])
    h.check("layernorm_backward", "dx", dx, expected["x"], like=inp["x"])


def test_layernorm_backward_float32(impl):
    ex = impl("ex04_layernorm")
    inp = inputs((2, 8, 64), seed=7, dtype=np.float32)
    out, cache = tt.layernorm_forward(**inp)
    dout = h.random_dout(out.shape).astype(np.float32)
    dx, dgamma, dbeta = h.returned("layernorm_backward", ex.layernorm_backward(dout, cache), 3)
    expected = h.vjp(tt.layernorm_forward, inp, dout)
    h.check("layernorm_backward", "dbeta", dbeta, expected["beta"], like=inp["beta"])
    h.check("layernorm_backward", "dgamma", dgamma, expected["gamma"], like=inp["gamma"])
    h.check("layernorm_backward", "dx", dx, expected["x"], like=inp["x"])


def test_gradient_of_a_constant_shift_is_zero(impl):
    """LayerNorm ignores adding a constant to a row, so each row of dx sums to 0; and it
    ignores scaling a row about its mean, so each row of dx * xhat sums to 0 too."""
    ex = impl("ex04_layernorm")
    inp = inputs((3, 64), seed=9)
    out, cache = tt.layernorm_forward(**inp)
    dout = h.random_dout(out.shape)
    dx, dgamma, dbeta = h.returned("layernorm_backward", ex.layernorm_backward(dout, cache), 3)
    expected = h.vjp(tt.layernorm_forward, inp, dout)
    h.check("layernorm_backward", "dbeta", dbeta, expected["beta"], like=inp["beta"])
    h.check("layernorm_backward", "dgamma", dgamma, expected["gamma"], like=inp["gamma"])
    h.check_array("layernorm_backward", "dx", dx, inp["x"].shape, like=inp["x"])
    size = np.abs(dx).sum(axis=-1)                                   # the scale of each row's terms
    xhat = (inp["x"] - inp["x"].mean(-1, keepdims=True)) / inp["x"].std(-1, keepdims=True)
    hint = None
    if np.any(np.abs(dx.sum(axis=-1)) > 1e-9 * size):
        hint = "each row of dx should sum to 0: did you leave out the mean's correction term?"
    elif np.any(np.abs((dx * xhat).sum(axis=-1)) > 1e-4 * size):   # eps makes it ~4e-7, not 0
        hint = "each row of dx * xhat should sum to 0: did you leave out the variance's correction term?"
    h.check("layernorm_backward", "dx", dx, expected["x"], like=inp["x"], hint=hint)
