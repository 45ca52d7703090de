"""Exercise 6: multi-head self-attention backward."""
import numpy as np
import pytest

import tt
from exercises.tests import harness as h

pytestmark = pytest.mark.ex06

WEIGHTS = ("W_q", "W_k", "W_v", "W_o")


def mha_inputs(B, T, C, seed, dtype=np.float64):
    r = h.rng(seed)
    inp = {"x": r.standard_normal((B, T, C))}
    for name in WEIGHTS:       # 1.5 / sqrt(C): attention clearly away from uniform
        inp[name] = 1.5 * r.standard_normal((C, C)) / np.sqrt(C)
    return {k: v.astype(dtype) for k, v in inp.items()}


def run(ex, inp, H, ops):
    out, cache = tt.mha_forward(**inp, H=H)
    dout = h.random_dout(out.shape)
    grads = h.returned("mha_backward", ex.mha_backward(dout.astype(out.dtype), cache, ops), 5)
    return dout, dict(zip(("x",) + WEIGHTS, grads))


def check_all(got, expected, inp):
    # in the order the backward pass meets them: W_o first, x last
    for name in ("W_o", "W_v", "W_k", "W_q", "x"):
        h.check("mha_backward", f"d{name}", got[name], expected[name], like=inp[name])


@pytest.mark.parametrize("B,T,C,H", [
    (2, 4, 16, 2),        # hs = 8
    (1, 5, 16, 4),        # a batch of one, four heads of hs = 4
    (2, 3, 12, 3),        # hs = 4, C not a power of two
    (2, 4, 8, 1),         # one head: no splitting at all
])
def test_mha_backward(impl, B, T, C, H):
    ex = impl("ex06_multihead_attention")
    inp = mha_inputs(B, T, C, seed=B + T + C + H)
    dout, got = run(ex, inp, H, h.numerical_ops())
    expected = h.vjp(lambda **kw: tt.mha_forward(**kw, H=H), inp, dout)
    check_all(got, expected, inp)


def test_mha_backward_float32(impl):
    ex = impl("ex06_multihead_attention")
    inp = mha_inputs(2, 4, 16, seed=32, dtype=np.float32)
    dout, got = run(ex, inp, 2, h.numerical_ops(np.float32))
    expected = h.vjp(lambda **kw: tt.mha_forward(**kw, H=2), inp, dout)
    check_all(got, expected, inp)


def per_head_forward(xq, xk, xv, W_q, W_k, W_v, W_o, H):
    """The seed's Part 3.4 forward written head by head, with x's three uses kept apart.

    Head h uses columns h*hs .. h*hs + hs - 1 of W_q, W_k, W_v (so of Q, K, V) and
    gives those columns of concat. With xq = xk = xv = x it is tt.mha_forward.
    """
    hs = xq.shape[-1] // H
    heads = []
    for h_ in range(H):
        cols = slice(h_ * hs, (h_ + 1) * hs)
        Q, K, V = xq @ W_q[:, cols], xk @ W_k[:, cols], xv @ W_v[:, cols]   # (B, T, hs) each
        scores = Q @ K.transpose(0, 2, 1) / np.sqrt(hs)                      # (B, T, T)
        e = np.exp(scores - scores.max(axis=-1, keepdims=True))
        heads.append((e / e.sum(axis=-1, keepdims=True)) @ V)              # (B, T, hs)
    return np.concatenate(heads, axis=-1) @ W_o, None                       # (B, T, C)


def test_per_head_formulation_and_the_three_paths_into_x(impl):
    """A loop over heads gives the same gradients; dx is the sum of the Q, K and V paths."""
    ex = impl("ex06_multihead_attention")
    H = 4
    inp = mha_inputs(1, 4, 16, seed=7)
    x = inp["x"]
    split = {"xq": x, "xk": x.copy(), "xv": x.copy(), **{k: inp[k] for k in WEIGHTS}}
    reference_out = tt.mha_forward(**inp, H=H)[0]
    assert np.allclose(per_head_forward(**split, H=H)[0], reference_out, rtol=1e-12, atol=1e-12)
    dout, got = run(ex, inp, H, h.numerical_ops())
    paths = h.vjp(lambda **kw: per_head_forward(**kw, H=H), split, dout)
    for name in ("W_o", "W_v", "W_k", "W_q"):
        h.check("mha_backward", f"d{name}", got[name], paths[name], like=inp[name])
    dx = h.check_array("mha_backward", "dx", got["x"], x.shape, like=x)
    hint = None
    for missing in ("Q", "K", "V"):
        partial = sum(paths[f"x{p.lower()}"] for p in "QKV" if p != missing)
        if np.allclose(dx, partial, rtol=1e-6, atol=1e-9):
            hint = (f"dx has the gradient through two of x's three uses but not through {missing} = "
                    f"x @ W_{missing.lower()}: x feeds Q, K and V, so dx is the sum of all three paths")
    h.check("mha_backward", "dx", dx, paths["xq"] + paths["xk"] + paths["xv"], like=x, hint=hint)
