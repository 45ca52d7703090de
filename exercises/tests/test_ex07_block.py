"""Exercise 7: residual add & norm backward and a transformer block's backward."""
import numpy as np
import pytest

import tt
from exercises.tests import harness as h

pytestmark = pytest.mark.ex07

BLOCK_KEYS = ("W_q", "W_k", "W_v", "W_o", "ln1.gamma", "ln1.beta",
              "W1", "b1", "W2", "b2", "ln2.gamma", "ln2.beta")


# --------------------------------------------------------------------- add & norm
def add_norm_inputs(shape, seed, dtype=np.float64):
    r = h.rng(seed)
    C = shape[-1]
    return {"x": r.standard_normal(shape).astype(dtype),
            "sub": (0.7 * r.standard_normal(shape) + 0.2).astype(dtype),
            "gamma": (1 + 0.4 * r.standard_normal(C)).astype(dtype),    # gamma != 1 on purpose
            "beta": (0.3 * r.standard_normal(C)).astype(dtype)}


@pytest.mark.parametrize("shape,dtype", [((2, 4, 16), np.float64), ((1, 3, 8), np.float64),
                                         ((2, 4, 16), np.float32)])
def test_add_norm_backward(impl, shape, dtype):
    ex = impl("ex07_block")
    inp = add_norm_inputs(shape, seed=shape[0] + shape[-1], dtype=dtype)
    out, cache = tt.add_norm_forward(**inp)
    dout = h.random_dout(out.shape)
    ops = h.numerical_ops(None if dtype == np.float64 else dtype)
    result = ex.add_norm_backward(dout.astype(dtype), cache, ops)
    dx, dsub, dgamma, dbeta = h.returned("add_norm_backward", result, 4)
    expected = h.vjp(tt.add_norm_forward, inp, dout)
    h.check("add_norm_backward", "dbeta", dbeta, expected["beta"], like=inp["beta"])
    h.check("add_norm_backward", "dgamma", dgamma, expected["gamma"], like=inp["gamma"])
    for name, got in (("x", dx), ("sub", dsub)):
        h.check_array("add_norm_backward", f"d{name}", got, expected[name].shape, like=inp[name])
        half = np.allclose(2 * got, expected[name], rtol=1e-4, atol=1e-6)
        h.check("add_norm_backward", f"d{name}", got, expected[name], like=inp[name],
                hint=f"d{name} is half of what it should be. The gradient is not shared out between "
                     f"the two paths: s = x + sub has ds/dx = ds/dsub = 1, so each path receives ALL "
                     f"of ds" if half else None)


# -------------------------------------------------------------------------- block
def block_inputs(B, T, C, H, F, seed, dtype=np.float64):
    """x and block parameters with gamma != 1, nonzero betas and biases, and every
    FFN pre-activation clear of ReLU's kink."""
    shapes = {"W_q": (C, C), "W_k": (C, C), "W_v": (C, C), "W_o": (C, C), "ln1.gamma": (C,),
              "ln1.beta": (C,), "W1": (C, F), "b1": (F,), "W2": (F, C), "b2": (C,),
              "ln2.gamma": (C,), "ln2.beta": (C,)}
    for attempt in range(100):
        r = h.rng(seed + 1000 * attempt)
        p = {}
        for name, shape in shapes.items():
            if name.endswith("gamma"):
                p[name] = 1 + 0.3 * r.standard_normal(shape)
            elif len(shape) == 1:
                p[name] = 0.2 * r.standard_normal(shape)
            else:
                p[name] = 1.5 * r.standard_normal(shape) / np.sqrt(shape[0])
        x = r.standard_normal((B, T, C))
        _, cache = tt.block_forward(x, p, H)
        if np.min(np.abs(cache.ffn.relu.x)) > 1e-3:                 # a nudge of 1e-5 never crosses 0
            return x.astype(dtype), {k: v.astype(dtype) for k, v in p.items()}
    raise RuntimeError("no block inputs away from ReLU's kink")


def check_block(ex, x, p, H, ops):
    out, cache = tt.block_forward(x, p, H)
    dout = h.random_dout(out.shape)
    dx, grads = h.returned("block_backward", ex.block_backward(dout.astype(out.dtype), cache, ops), 2)
    assert isinstance(grads, dict), \
        f"block_backward should return (dx, grads) with grads a dict, not {type(grads).__name__}"
    missing, extra = sorted(set(BLOCK_KEYS) - set(grads)), sorted(set(grads) - set(BLOCK_KEYS))
    assert not missing and not extra, (f"block_backward: grads must have exactly the keys "
                                       f"{', '.join(BLOCK_KEYS)}; missing {missing}, unexpected {extra}")
    expected = h.vjp(lambda x, p: tt.block_forward(x, p, H), {"x": x, "p": p}, dout)
    # in the order the backward pass meets them, so the first failure is the first mistake
    for name in ("ln2.beta", "ln2.gamma", "W2", "b2", "W1", "b1"):
        h.check("block_backward", f"grads[{name!r}]", grads[name], expected["p"][name], like=p[name])
    for name in ("ln1.beta", "ln1.gamma", "W_o", "W_v", "W_k", "W_q"):
        h.check("block_backward", f"grads[{name!r}]", grads[name], expected["p"][name], like=p[name],
                hint="LN2 and the FFN are right, so look at the gradient of x1: it was used twice, by "
                     "the FFN and by LN2's residual, so both paths must merge before LN1")
    h.check("block_backward", "dx", dx, expected["x"], like=x,
            hint="every parameter is right, so look at the last merge: x was used by the attention and "
                 "by LN1's residual")


@pytest.mark.parametrize("B,T,C,H,F", [(2, 4, 16, 2, 24), (1, 3, 8, 1, 12)])
def test_block_backward(impl, B, T, C, H, F):
    x, p = block_inputs(B, T, C, H, F, seed=B + T)
    check_block(impl("ex07_block"), x, p, H, h.numerical_ops())


def test_block_backward_float32(impl):
    x, p = block_inputs(2, 3, 8, 2, F=12, seed=5, dtype=np.float32)
    check_block(impl("ex07_block"), x, p, 2, h.numerical_ops(np.float32))
