"""Per-entry magnitudes of the reference's backward pieces, for grader.checks.tolerance().

Each function is the piece's backward pass run on absolute values, in float64: the sum of
|terms| behind every entry of every output (for a linear stage, |dout| @ |W|^T, |x|^T @ |dout|).
Round-off of a correct answer, summed in any order and carried through later linear stages,
is bounded by (terms + depth) * eps times this (standard error analysis), so

    got = call(student, MODULE, "linear_backward", dout, cache)           # float32 inputs
    exact = tt.linear_backward(*in_float64((dout, cache)))
    mags = linear(np.abs(dout), in_float64(cache))
    rtol = {n: tolerance(np.float32, terms=N, magnitude=m, expected=e)
            for n, m, e in zip(("dx", "dW", "db"), mags, exact) if e is not None}
    expect(got, exact, ("dx", "dW", "db"), function=..., rtol=rtol, dtype=np.float32)

`d` is always |dout| (non-negative, float64) and the cache is float64 (in_float64).
"""
from __future__ import annotations

import numpy as np

A = np.abs


def linear(d, cache):
    """(|dx|, |dW|, |db|) bounds of linear_backward."""
    x, W, b = cache
    d2 = d.reshape(-1, W.shape[1])
    dx = (d2 @ A(W).T).reshape(x.shape)
    dW = A(x).reshape(-1, W.shape[0]).T @ d2
    return dx, dW, (None if b is None else d2.sum(0))


def relu(d, cache):
    return np.where(cache.x > 0, d, 0.0)


def softmax(d, cache):
    y = cache.y
    return y * (d + (d * y).sum(-1, keepdims=True))


def cross_entropy(dloss, cache):
    probs, targets = cache
    B = probs.shape[0]
    m = probs.astype(np.float64).copy()
    m[np.arange(B), targets] += 1
    return m * abs(float(dloss)) / B


def layernorm(d, cache):
    _, gamma, _, xhat, rstd = cache
    C = xhat.shape[-1]
    g = d * A(gamma)
    dx = A(rstd) * (g + g.mean(-1, keepdims=True) + A(xhat) * (g * A(xhat)).mean(-1, keepdims=True))
    return dx, (d * A(xhat)).reshape(-1, C).sum(0), d.reshape(-1, C).sum(0)


def attention(d, cache):
    q, k, v, sm = cache
    att = sm.y
    root = np.sqrt(q.shape[-1])
    dv = np.swapaxes(att, -1, -2) @ d
    datt = d @ A(np.swapaxes(v, -1, -2)) / root
    ds = softmax(datt, sm)
    return ds @ A(k), np.swapaxes(ds, -1, -2) @ A(q), dv


def mha(d, cache):
    B, Tq, C = d.shape
    H, T = cache.H, cache.T
    hs = C // H
    dconcat, dW_o, _ = linear(d, cache.proj)
    dq, dk, dv = attention(dconcat.reshape(B, Tq, H, hs).transpose(0, 2, 1, 3), cache.attn)
    merge = lambda a: a.transpose(0, 2, 1, 3).reshape(B, -1, C)
    dx, dW_kv, _ = linear(np.concatenate([merge(dk), merge(dv)], -1), cache.kv)
    dxq, dW_q, _ = linear(merge(dq), cache.q)
    dx = dx.copy()
    dx[:, T - Tq:] += dxq
    return dx, dW_q, dW_kv[:, :C], dW_kv[:, C:], dW_o


def ffn(d, cache):
    lin1, rc, lin2 = cache
    dh, dW2, db2 = linear(d, lin2)
    dx, dW1, db1 = linear(relu(dh, rc), lin1)
    return dx, dW1, db1, dW2, db2


def add_norm(d, cache):
    ds, dgamma, dbeta = layernorm(d, cache.ln)
    return ds, ds, dgamma, dbeta


def block(d, cache):
    """(|dx|, {name: bound}) of block_backward (every-position attention)."""
    g = {}
    dx1, df, g["ln2.gamma"], g["ln2.beta"] = add_norm(d, cache.norm2)
    dx1f, g["W1"], g["b1"], g["W2"], g["b2"] = ffn(df, cache.ffn)
    dx, da, g["ln1.gamma"], g["ln1.beta"] = add_norm(dx1 + dx1f, cache.norm1)
    dxm, g["W_q"], g["W_k"], g["W_v"], g["W_o"] = mha(da, cache.mha)
    return dx + dxm, g


def embedding(d, cache):
    tokens, E = cache
    out = np.zeros(E.shape, dtype=np.float64)
    np.add.at(out, tokens.reshape(-1), d.reshape(-1, E.shape[1]))
    return out
