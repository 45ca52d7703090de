"""Exercise 3: ReLU backward and the FFN's backward."""
import numpy as np
import pytest

import tt
from exercises.tests import harness as h

pytestmark = pytest.mark.ex03


def test_seed_sparse_gradient_example(impl):
    """Seed Part 3.2: the gradient is zero wherever z was negative."""
    ex = impl("ex03_relu_ffn")
    z = np.array([-2.3, 1.5, -0.7, 3.2, 0.8])
    dout = np.array([0.5, -0.3, 0.2, -0.8, 0.4])
    _, cache = tt.relu_forward(z)
    dz = ex.relu_backward(dout, cache)
    h.check("relu_backward", "dz", dz, [0.0, -0.3, 0.0, -0.8, 0.4], like=z)
    assert np.all(dz[z < 0] == 0), "relu_backward: dz must be exactly 0 where z < 0"


def test_question_9_the_gradient_at_zero_is_zero(impl):
    """Seed question 9: z = [-1.5, 2.3, 0.0, -0.7, 1.8]; at z == 0 the seed's rule gives 0."""
    ex = impl("ex03_relu_ffn")
    z = np.array([-1.5, 2.3, 0.0, -0.7, 1.8])
    dout = np.array([0.5, -0.3, 0.2, -0.4, 0.6])
    _, cache = tt.relu_forward(z)
    dz = ex.relu_backward(dout, cache)
    h.check_array("relu_backward", "dz", dz, z.shape, like=z)
    h.check("relu_backward", "dz", dz, [0.0, -0.3, 0.0, 0.0, 0.6], like=z,
            hint=None if dz[2] == 0 else f"at z == 0 exactly dz must be 0 (the seed's rule: slope 1 "
                                         f"only if z > 0), but dz[2] = {dz[2]}")


@pytest.mark.parametrize("shape", [(2, 4, 24), (3, 5), (1, 1, 7)])
def test_relu_backward(impl, shape):
    ex = impl("ex03_relu_ffn")
    z = h.away_from_kink(h.rng(len(shape)).standard_normal(shape))
    _, cache = tt.relu_forward(z)
    dout = h.random_dout(shape)
    dz = ex.relu_backward(dout, cache)
    h.check("relu_backward", "dz", dz, h.vjp(tt.relu_forward, {"x": z}, dout)["x"], like=z)


def test_relu_backward_float32(impl):
    ex = impl("ex03_relu_ffn")
    z = h.away_from_kink(h.rng(5).standard_normal((2, 8, 256))).astype(np.float32)
    _, cache = tt.relu_forward(z)
    dout = h.random_dout(z.shape).astype(np.float32)
    dz = ex.relu_backward(dout, cache)
    h.check("relu_backward", "dz", dz, h.vjp(tt.relu_forward, {"x": z}, dout)["x"], like=z)


def test_relu_backward_uses_the_sign_of_z_and_leaves_dout_alone(impl):
    ex = impl("ex03_relu_ffn")
    z = h.away_from_kink(h.rng(6).standard_normal((4, 10)))
    _, cache = tt.relu_forward(z)
    dout = h.random_dout(z.shape)
    before = dout.copy()
    dz = ex.relu_backward(dout, cache)
    assert np.array_equal(dout, before), ("relu_backward changed dout in place; compute a new array "
                                          "(the caller may still use dout)")
    h.check_array("relu_backward", "dz", dz, z.shape, like=z)
    hint = None
    if np.allclose(dz, np.maximum(dout, 0)):
        hint = ("dz is ReLU(dout); where the gradient flows is decided by the sign of the forward's "
                "input z (cache.x), not by the sign of dout")
    elif np.allclose(dz, dout * np.maximum(z, 0)):
        hint = "dz is dout * ReLU(z); ReLU's slope is 1 where z > 0, not z"
    h.check("relu_backward", "dz", dz, h.vjp(tt.relu_forward, {"x": z}, dout)["x"], like=z, hint=hint)


# ----------------------------------------------------------------------------- FFN
def ffn_inputs(B, T, C, F, seed, dtype=np.float64):
    """Random FFN inputs whose pre-activations z all keep clear of ReLU's kink."""
    for attempt in range(100):
        r = h.rng(seed + 1000 * attempt)
        inp = {"x": r.standard_normal((B, T, C)),
               "W1": r.standard_normal((C, F)) / np.sqrt(C), "b1": 0.2 * r.standard_normal(F),
               "W2": r.standard_normal((F, C)) / np.sqrt(F), "b2": 0.2 * r.standard_normal(C)}
        if np.min(np.abs(inp["x"] @ inp["W1"] + inp["b1"])) > 1e-3:   # a nudge of 1e-5 never crosses 0
            return {k: v.astype(dtype) for k, v in inp.items()}
    raise RuntimeError("no FFN inputs away from ReLU's kink")


def check_ffn(ex, inp, ops):
    out, cache = tt.ffn_forward(**inp)
    dout = h.random_dout(out.shape)
    result = ex.ffn_backward(dout.astype(out.dtype), cache, ops)
    dx, dW1, db1, dW2, db2 = h.returned("ffn_backward", result, 5)
    expected = h.vjp(tt.ffn_forward, inp, dout)
    # in the order the backward pass meets them, so the first failure is the first mistake
    h.check("ffn_backward", "db2", db2, expected["b2"], like=inp["b2"])
    h.check("ffn_backward", "dW2", dW2, expected["W2"], like=inp["W2"])
    hint = "dW2 and db2 are right: look at what happens between the two linear layers, the ReLU"
    h.check("ffn_backward", "db1", db1, expected["b1"], like=inp["b1"], hint=hint)
    h.check("ffn_backward", "dW1", dW1, expected["W1"], like=inp["W1"], hint=hint)
    h.check("ffn_backward", "dx", dx, expected["x"], like=inp["x"])


@pytest.mark.parametrize("B,T", [(2, 4), (1, 8)])
def test_ffn_backward(impl, B, T):
    check_ffn(impl("ex03_relu_ffn"), ffn_inputs(B, T, 16, 24, seed=B * 10 + T), h.numerical_ops())


def test_ffn_backward_float32(impl):
    check_ffn(impl("ex03_relu_ffn"), ffn_inputs(2, 4, 16, 32, seed=3, dtype=np.float32),
              h.numerical_ops(np.float32))
