"""Every operation's backward pass against central finite differences, in float64.

The upstream gradient is random and non-uniform (tt.gradcheck.check_op), ReLU inputs
stay away from the kink, and LayerNorm gets gamma != 1 and beta != 0. The finite
differences themselves are checked against calculus first.
"""
import numpy as np
import pytest

import tt
from tt.gradcheck import check_op, numerical_gradient, rel_error

TOL = 1e-7
B, T, C, H, F, V = 2, 8, 32, 2, 48, 20     # small, non-square, and C is 2 heads of 16


def rng(seed=0):
    return np.random.default_rng(seed)


def away_from_zero(a, margin=0.05):
    """Push entries away from 0 so that eps-sized nudges never cross ReLU's kink."""
    return np.where(np.abs(a) < margin, np.sign(a) * margin + a, a) + 0.0


# --------------------------------------------------------- the checker itself
def test_numerical_gradient_matches_calculus():
    x = np.array([-2.0, -0.5, 0.0, 1.5, 3.0])
    g = numerical_gradient(lambda: float(np.sum(x ** 2 + 3 * x + 2)), x)
    assert rel_error(g, 2 * x + 3) <= 1e-9            # d/dx (x^2 + 3x + 2) = 2x + 3
    y = np.array([[0.3, -1.2], [2.0, 0.7]])
    g = numerical_gradient(lambda: float(np.sum(np.sin(y))), y)
    assert rel_error(g, np.cos(y)) <= 1e-9
    assert np.array_equal(y, np.array([[0.3, -1.2], [2.0, 0.7]]))   # restored


def test_rel_error_scale():
    assert rel_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert rel_error([0.0], [0.0]) == 0.0
    assert rel_error([1.0], [-1.0]) == pytest.approx(1.0)
    assert rel_error([100.0, 1.0], [100.0, 1.1]) == pytest.approx(0.1 / 200.0)


def test_check_op_catches_a_wrong_backward():
    """A backward that is off by a factor must show up as a large error."""
    x = rng().standard_normal((4, 5))

    def bad(dout, cache):
        return 2 * tt.softmax_backward(dout, cache)

    errs = check_op(tt.softmax_forward, bad, {"x": x}, ["x"])
    assert errs["x"] > 0.1


# ------------------------------------------------------------------ primitives
@pytest.mark.parametrize("shape", [(5, 7), (B, T, 7)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear(shape, bias):
    r = rng(1)
    inputs = {"x": r.standard_normal(shape), "W": r.standard_normal((shape[-1], 3))}
    if bias:
        inputs["b"] = r.standard_normal(3)

    def backward(dout, cache):
        dx, dW, db = tt.linear_backward(dout, cache)
        assert (db is None) == (not bias)
        return (dx, dW, db) if bias else (dx, dW)

    errs = check_op(tt.linear_forward, backward, inputs, list(inputs))
    assert max(errs.values()) <= TOL, errs


def test_relu():
    x = away_from_zero(rng(2).standard_normal((B, T, F)))
    errs = check_op(tt.relu_forward, tt.relu_backward, {"x": x}, ["x"])
    assert errs["x"] <= TOL


def test_relu_seed_example():
    """Seed Part 3.2: z = [-2.3, 1.5, -0.7, 3.2, 0.8]; upstream [0.5, -0.3, 0.2, -0.8, 0.4]."""
    z = np.array([-2.3, 1.5, -0.7, 3.2, 0.8])
    y, cache = tt.relu_forward(z)
    assert np.array_equal(y, [0.0, 1.5, 0.0, 3.2, 0.8])
    dz = tt.relu_backward(np.array([0.5, -0.3, 0.2, -0.8, 0.4]), cache)
    assert np.array_equal(dz, [0.0, -0.3, 0.0, -0.8, 0.4])


def test_softmax():
    x = 3 * rng(3).standard_normal((B, H, T, T))
    errs = check_op(tt.softmax_forward, tt.softmax_backward, {"x": x}, ["x"])
    assert errs["x"] <= TOL


def test_softmax_cross_entropy():
    r = rng(4)
    logits = 2 * r.standard_normal((6, V))
    targets = r.integers(0, V, 6)
    dloss = 0.73        # an upstream gradient other than 1

    def f():
        return dloss * tt.softmax_cross_entropy_forward(logits, targets)[0]

    _, cache = tt.softmax_cross_entropy_forward(logits, targets)
    assert rel_error(tt.softmax_cross_entropy_backward(dloss, cache),
                     numerical_gradient(f, logits)) <= TOL


def test_softmax_cross_entropy_is_p_minus_onehot():
    """For one example, dloss/dlogits = p - one_hot(target) (seed Part 1), from first principles."""
    logits = np.array([[0.5, 1.2, -0.3, 2.1]])
    p = np.exp(logits) / np.exp(logits).sum()
    loss, cache = tt.softmax_cross_entropy_forward(logits, np.array([3]))
    assert loss == pytest.approx(-np.log(p[0, 3]), rel=1e-12)
    expected = p.copy()
    expected[0, 3] -= 1
    assert rel_error(tt.softmax_cross_entropy_backward(1.0, cache), expected) <= 1e-14


def test_softmax_cross_entropy_large_logits_stay_finite():
    logits = np.array([[1000.0, -1000.0, 0.0], [-800.0, 900.0, 899.0]])
    loss, cache = tt.softmax_cross_entropy_forward(logits, np.array([1, 2]))
    # row 1: log-sum-exp is 1000, minus the target's -1000; row 2: 900 + log(1 + e^-1) - 899
    expected = (2000.0 + 1.0 + np.log1p(np.exp(-1.0))) / 2
    assert np.isfinite(loss) and loss == pytest.approx(expected, rel=1e-12)
    assert np.all(np.isfinite(tt.softmax_cross_entropy_backward(1.0, cache)))


def test_layernorm():
    r = rng(5)
    inputs = {"x": 2 * r.standard_normal((B, T, C)) + 0.5,
              "gamma": 1 + 0.5 * r.standard_normal(C),      # gamma != 1 on purpose
              "beta": 0.3 * r.standard_normal(C)}
    errs = check_op(tt.layernorm_forward, tt.layernorm_backward, inputs, ["x", "gamma", "beta"])
    assert max(errs.values()) <= TOL, errs


def test_layernorm_forward_definition():
    """Biased variance, eps inside the square root."""
    x = np.array([[1.0, 2.0, 4.0, 9.0]])
    y, _ = tt.layernorm_forward(x, np.ones(4), np.zeros(4), eps=1e-5)
    mu, var = 4.0, ((1 - 4) ** 2 + (2 - 4) ** 2 + 0 + (9 - 4) ** 2) / 4
    assert np.allclose(y, (x - mu) / np.sqrt(var + 1e-5), rtol=1e-13)


# ------------------------------------------------------------------ composites
def test_attention():
    r = rng(6)
    inputs = {k: r.standard_normal((B, H, T, 16)) for k in ("q", "k", "v")}
    errs = check_op(tt.attention_forward, tt.attention_backward, inputs, ["q", "k", "v"])
    assert max(errs.values()) <= TOL, errs


def mha_inputs(seed=7):
    r = rng(seed)
    inputs = {"x": r.standard_normal((B, T, C))}
    inputs.update({k: r.standard_normal((C, C)) / np.sqrt(C) for k in ("W_q", "W_k", "W_v", "W_o")})
    return inputs


@pytest.mark.parametrize("n_queries", [None, 1, 3])
def test_mha(n_queries):
    def forward(**kw):
        return tt.mha_forward(**kw, H=H, n_queries=n_queries)

    errs = check_op(forward, tt.mha_backward, mha_inputs(), ["x", "W_q", "W_k", "W_v", "W_o"])
    assert max(errs.values()) <= TOL, errs


def test_last_query_mha():
    """The last block's attention in input space (one query, no keys or values)."""
    errs = check_op(lambda **kw: tt.attention.last_query_mha_forward(**kw, H=H),
                    tt.attention.last_query_mha_backward, mha_inputs(), ["x", "W_q", "W_k", "W_v", "W_o"])
    assert max(errs.values()) <= TOL, errs


def test_last_query_mha_is_mha_at_one_query():
    inputs = mha_inputs(seed=17)
    out, cache = tt.attention.last_query_mha_forward(**inputs, H=H)
    ref, ref_cache = tt.mha_forward(**inputs, H=H, n_queries=1)
    assert out.shape == ref.shape == (B, 1, C)
    assert np.allclose(out, ref, rtol=0, atol=1e-13)
    dout = rng(18).standard_normal((B, 1, C))
    for got, want in zip(tt.attention.last_query_mha_backward(dout, cache),
                         tt.mha_backward(dout, ref_cache)):
        assert got.shape == want.shape and np.allclose(got, want, rtol=0, atol=1e-13)


def test_ffn():
    r = rng(8)
    inputs = {"x": r.standard_normal((B, T, C)), "W1": r.standard_normal((C, F)) / np.sqrt(C),
              "b1": 0.1 * r.standard_normal(F), "W2": r.standard_normal((F, C)) / np.sqrt(F),
              "b2": 0.1 * r.standard_normal(C)}
    z = inputs["x"] @ inputs["W1"] + inputs["b1"]
    inputs["b1"] += np.where(np.abs(z) < 0.05, 0.1, 0).max(axis=(0, 1))  # keep z off the kink
    assert np.abs(inputs["x"] @ inputs["W1"] + inputs["b1"]).min() > 1e-4
    errs = check_op(tt.ffn_forward, tt.ffn_backward, inputs, ["x", "W1", "b1", "W2", "b2"])
    assert max(errs.values()) <= TOL, errs


def test_add_norm():
    r = rng(9)
    inputs = {"x": r.standard_normal((B, T, C)), "sub": r.standard_normal((B, T, C)),
              "gamma": 1 + 0.3 * r.standard_normal(C), "beta": 0.2 * r.standard_normal(C)}
    errs = check_op(tt.add_norm_forward, tt.add_norm_backward, inputs, ["x", "sub", "gamma", "beta"])
    assert max(errs.values()) <= TOL, errs


def block_inputs(seed=10):
    p = tt.init_params(seed=seed, cfg=tt.Config(C=C, H=H, F=F, n_blocks=1))
    r = rng(seed)
    local = tt.block_params(p, 0)
    for k in local:                       # odd values on purpose: no ones, no zeros
        if k.endswith("gamma"):
            local[k] = 1 + 0.3 * r.standard_normal(C)
        elif k.endswith("beta") or k in ("b1", "b2"):
            local[k] = 0.2 * r.standard_normal(local[k].shape)
    return {"x": r.standard_normal((B, T, C)), "p": local}


@pytest.mark.parametrize("n_queries", [None, 1])
def test_block(n_queries):
    def forward(x, p):
        return tt.block_forward(x, p, H, n_queries=n_queries)

    errs = check_op(forward, tt.block_backward, block_inputs(), ["x", "p"])
    assert len(errs) == 13 and max(errs.values()) <= TOL, errs


def test_embedding():
    r = rng(11)
    tokens = np.array([tt.encode("Max(1,6,2)"), tt.encode("Min(3,3,3)")])
    errs = check_op(lambda E: tt.embedding_forward(tokens, E), tt.embedding_backward,
                    {"E": r.standard_normal((V, C))}, ["E"])
    assert errs["E"] <= TOL


def test_embedding_accumulates_the_comma():
    """Seed Part 5: the comma (id 19) sits at positions 3 and 5 of Max(1,6,2)."""
    tokens = np.array([tt.encode("Max(1,6,2)")])
    assert tokens[0, 3] == tokens[0, 5] == 19
    dout = rng(12).standard_normal((1, T, C))
    _, cache = tt.embedding_forward(tokens, np.zeros((V, C)))
    dE = tt.embedding_backward(dout, cache)
    assert np.allclose(dE[19], dout[0, 3] + dout[0, 5], rtol=1e-14, atol=0)
    assert np.allclose(dE[15], dout[0, 0], rtol=1e-14, atol=0)          # 'Max' once
    absent = [v for v in range(V) if v not in set(tokens[0].tolist())]
    assert np.all(dE[absent] == 0)


def test_output_projection():
    r = rng(13)
    inputs = {"x": r.standard_normal((B, T, C)), "W_out": r.standard_normal((C, V)),
              "b_out": r.standard_normal(V)}
    errs = check_op(tt.output_forward, tt.output_backward, inputs, ["x", "W_out", "b_out"])
    assert max(errs.values()) <= TOL, errs
    _, cache = tt.output_forward(**inputs)
    dx, _, _ = tt.output_backward(r.standard_normal((B, V)), cache)
    assert np.all(dx[:, :-1] == 0)          # only the last position was read


# ----------------------------------------------------------------- dtypes
def _all_backwards(dtype):
    """(name, backward outputs) for every operation, run on inputs of `dtype`."""
    r = rng(14)
    a = lambda *s: r.standard_normal(s).astype(dtype)  # noqa: E731
    out = []
    y, c = tt.linear_forward(a(B, T, C), a(C, F), a(F))
    out.append(("linear", tt.linear_backward(a(B, T, F), c)))
    y, c = tt.relu_forward(a(B, T, F))
    out.append(("relu", tt.relu_backward(a(B, T, F), c)))
    y, c = tt.softmax_forward(a(B, H, T, T))
    out.append(("softmax", tt.softmax_backward(a(B, H, T, T), c)))
    _, c = tt.softmax_cross_entropy_forward(a(B, V), np.array([1, 2]))
    out.append(("softmax_cross_entropy", tt.softmax_cross_entropy_backward(1.0, c)))
    y, c = tt.layernorm_forward(a(B, T, C), a(C), a(C))
    out.append(("layernorm", tt.layernorm_backward(a(B, T, C), c)))
    y, c = tt.attention_forward(a(B, H, T, 16), a(B, H, T, 16), a(B, H, T, 16))
    out.append(("attention", tt.attention_backward(a(B, H, T, 16), c)))
    y, c = tt.mha_forward(a(B, T, C), a(C, C), a(C, C), a(C, C), a(C, C), H)
    out.append(("mha", tt.mha_backward(a(B, T, C), c)))
    y, c = tt.attention.last_query_mha_forward(a(B, T, C), a(C, C), a(C, C), a(C, C), a(C, C), H)
    out.append(("last_query_mha", tt.attention.last_query_mha_backward(a(B, 1, C), c)))
    y, c = tt.ffn_forward(a(B, T, C), a(C, F), a(F), a(F, C), a(C))
    out.append(("ffn", tt.ffn_backward(a(B, T, C), c)))
    y, c = tt.add_norm_forward(a(B, T, C), a(B, T, C), a(C), a(C))
    out.append(("add_norm", tt.add_norm_backward(a(B, T, C), c)))
    p = {k: v.astype(dtype) for k, v in block_inputs()["p"].items()}
    y, c = tt.block_forward(a(B, T, C), p, H)
    dx, g = tt.block_backward(a(B, T, C), c)
    out.append(("block", (dx, *g.values())))
    y, c = tt.block_forward(a(B, T, C), p, H, n_queries=1)
    dx, g = tt.block_backward(a(B, 1, C), c)
    out.append(("last block", (dx, *g.values())))
    y, c = tt.embedding_forward(np.array([[1, 2, 2]]), a(V, C))
    out.append(("embedding", tt.embedding_backward(a(1, 3, C), c)))
    y, c = tt.output_forward(a(B, T, C), a(C, V), a(V))
    out.append(("output", tt.output_backward(a(B, V), c)))
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_backward_returns_its_input_dtype(dtype):
    for name, grads in _all_backwards(dtype):
        grads = grads if isinstance(grads, tuple) else (grads,)
        for g in grads:
            if g is not None:
                assert g.dtype == dtype, f"{name} returned {g.dtype} for {np.dtype(dtype).name} input"


def test_numerical_gradient_of_a_transposed_view():
    """Perturbing a non-contiguous view must reach the array f reads."""
    base = np.arange(6.0).reshape(2, 3)
    x = base.T
    g = numerical_gradient(lambda: float(np.sum(base ** 2)), x)
    assert rel_error(g, 2 * x) <= 1e-9
    assert np.array_equal(base, np.arange(6.0).reshape(2, 3))
