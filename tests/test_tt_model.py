"""The whole model: its contract, its forward pass against a naive re-implementation
written from the seed's text, and its gradients against finite differences."""
import math

import numpy as np
import pytest

import tt
from tt.gradcheck import check_model, rel_error


def test_parameter_count_and_names():
    params = tt.init_params()
    assert sum(p.size for p in params.values()) == 102_036 == tt.n_params()
    # the seed's 102,016 is everything but the 20 output biases
    assert 102_036 - params["b_out"].size == 102_016
    expected = {"embedding": (20, 64), "W_out": (64, 20), "b_out": (20,)}
    for i in range(2):
        for k in ("W_q", "W_k", "W_v", "W_o"):
            expected[f"blocks.{i}.{k}"] = (64, 64)
        expected.update({f"blocks.{i}.ln1.gamma": (64,), f"blocks.{i}.ln1.beta": (64,),
                         f"blocks.{i}.W1": (64, 256), f"blocks.{i}.b1": (256,),
                         f"blocks.{i}.W2": (256, 64), f"blocks.{i}.b2": (64,),
                         f"blocks.{i}.ln2.gamma": (64,), f"blocks.{i}.ln2.beta": (64,)})
    assert {k: v.shape for k, v in params.items()} == expected


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_init_params_dtype_and_determinism(dtype):
    a, b = tt.init_params(seed=3, dtype=dtype), tt.init_params(seed=3, dtype=dtype)
    assert all(v.dtype == dtype for v in a.values())
    assert all(np.array_equal(a[k], b[k]) for k in a)
    c = tt.init_params(seed=4, dtype=dtype)
    assert not np.array_equal(a["blocks.0.W_q"], c["blocks.0.W_q"])


def test_positional_encoding_is_interleaved():
    pe = tt.positional_encoding(8, 64)
    for pos in range(8):
        for i in range(32):
            angle = pos / 10000 ** (2 * i / 64)
            assert pe[pos, 2 * i] == pytest.approx(math.sin(angle), abs=1e-15)
            assert pe[pos, 2 * i + 1] == pytest.approx(math.cos(angle), abs=1e-15)


# ------------------------------------------------ a naive model, straight from the seed
def naive_logits(params, tokens):
    """One example at a time, one head at a time, with plain loops and math."""
    E = params["embedding"]
    T, C = tokens.shape[1], E.shape[1]
    out = []
    for seq in tokens:
        x = np.array([[E[t][c] + (math.sin(p / 10000 ** (c / C)) if c % 2 == 0
                                  else math.cos(p / 10000 ** ((c - 1) / C)))
                       for c in range(C)] for p, t in enumerate(seq)])
        for i in range(2):
            g = lambda k: params[f"blocks.{i}.{k}"]  # noqa: E731
            heads = []
            for h in range(4):                        # head h: columns 16h .. 16h+15
                cols = slice(16 * h, 16 * h + 16)
                Q, K, Vv = x @ g("W_q")[:, cols], x @ g("W_k")[:, cols], x @ g("W_v")[:, cols]
                scores = Q @ K.T / math.sqrt(16)
                att = np.exp(scores - scores.max(axis=1, keepdims=True))
                att /= att.sum(axis=1, keepdims=True)
                heads.append(att @ Vv)
            a = np.concatenate(heads, axis=1) @ g("W_o")

            def ln(z, gamma, beta):
                mu = z.mean(axis=1, keepdims=True)
                var = ((z - mu) ** 2).mean(axis=1, keepdims=True)     # biased
                return gamma * (z - mu) / np.sqrt(var + 1e-5) + beta

            x = ln(x + a, g("ln1.gamma"), g("ln1.beta"))
            f = np.maximum(x @ g("W1") + g("b1"), 0) @ g("W2") + g("b2")
            x = ln(x + f, g("ln2.gamma"), g("ln2.beta"))
        out.append(x[-1] @ params["W_out"] + params["b_out"])
    return np.array(out)


def odd_params(seed=0):
    """Parameters with non-trivial gammas, betas and biases (zeros and ones hide bugs)."""
    params = tt.init_params(seed=seed)
    r = np.random.default_rng(seed + 100)
    for k, v in params.items():
        if k.endswith("gamma"):
            params[k] = 1 + 0.3 * r.standard_normal(v.shape)
        elif k.endswith("beta") or k.split(".")[-1] in ("b1", "b2", "b_out"):
            params[k] = 0.2 * r.standard_normal(v.shape)
    return params


def batch(n=6, seed=0):
    train, _ = tt.train_val_split(seed=0)
    idx = np.random.default_rng(seed).choice(len(train), size=n, replace=False)
    return train.tokens[idx], train.targets[idx]


def test_forward_matches_naive_model():
    params = odd_params()
    tokens, _ = batch()
    assert rel_error(tt.forward(params, tokens), naive_logits(params, tokens)) <= 1e-12


def test_last_only_equals_full_computation():
    params = odd_params(1)
    tokens, targets = batch(seed=1)
    full, _ = tt.model_forward(params, tokens, last_only=False)
    fast, _ = tt.model_forward(params, tokens, last_only=True)
    assert rel_error(full, fast) <= 1e-13
    loss1, g1 = tt.loss_and_grads(params, tokens, targets)                       # fast path
    loss2, g2 = tt.loss_and_grads(params, tokens, targets, ops=tt.reference())   # full path
    assert loss1 == pytest.approx(loss2, rel=1e-13)
    assert max(rel_error(g1[k], g2[k]) for k in g1) <= 1e-12


def test_loss_is_mean_cross_entropy_of_last_position():
    params = odd_params(2)
    tokens, targets = batch(seed=2)
    logits = naive_logits(params, tokens)
    logp = logits - logits.max(1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(1, keepdims=True))
    loss, _ = tt.loss_and_grads(params, tokens, targets)
    assert loss == pytest.approx(-logp[np.arange(len(targets)), targets].mean(), rel=1e-12)


# -------------------------------------------------------------- full-model gradients
@pytest.mark.parametrize("ops", [None, "full"])
def test_full_model_gradients_against_finite_differences(ops):
    params = odd_params(3)
    tokens, targets = batch(n=5, seed=3)
    tokens[0] = tt.encode("Max(1,6,2)")        # a repeated token (the comma)
    tokens[1, :3] = [0, 1, 12]                 # and ids the task never uses, so every
    report = check_model(params, tokens, targets, n_coords=4, n_dirs=2,
                         ops=None if ops is None else tt.reference())   # embedding row is hit
    assert set(report) == set(params)
    worst = max(max(v) for v in report.values())
    assert worst <= 1e-6, {k: v for k, v in report.items() if max(v) > 1e-6}


def test_check_model_detects_a_broken_gradient():
    """The full-model check must fail when one piece of the backward pass is wrong."""
    def bad_layernorm_backward(dout, cache):
        dx, dgamma, dbeta = tt.layernorm_backward(dout, cache)
        return dx, dgamma, 1.5 * dbeta

    ops = tt.reference().replace(layernorm_backward=bad_layernorm_backward)
    params = odd_params(4)
    tokens, targets = batch(n=3, seed=4)
    report = check_model(params, tokens, targets, n_coords=3, n_dirs=1, ops=ops)
    assert report["blocks.1.ln2.beta"][0] > 0.1
    assert max(report["W_out"]) <= 1e-6          # pieces after it are still right


def test_plugged_in_ops_are_used_everywhere():
    calls = {}

    def counting(name):
        ref = getattr(tt.reference(), name)

        def f(*args, **kwargs):
            calls[name] = calls.get(name, 0) + 1
            return ref(*args, **kwargs)
        return f

    from tt.ops import NAMES
    ops = tt.reference().replace(**{n: counting(n) for n in NAMES})
    params = tt.init_params()
    tokens, targets = batch(n=2)
    loss, grads = tt.loss_and_grads(params, tokens, targets, ops=ops)
    assert calls == {"softmax_cross_entropy_backward": 1, "model_backward": 1, "output_backward": 1,
                     "block_backward": 2, "add_norm_backward": 4, "layernorm_backward": 4,
                     "ffn_backward": 2, "relu_backward": 2, "mha_backward": 2,
                     "attention_backward": 2, "softmax_backward": 2,
                     "linear_backward": 2 * (2 + 3) + 1, "embedding_backward": 1}
    ref_loss, ref_grads = tt.loss_and_grads(params, tokens, targets)
    # the reference computes the last block at one position: BLAS may round a 1-row
    # product differently from the same row of a T-row one, so equal to round-off only
    assert abs(loss - ref_loss) <= 1e-12 * abs(ref_loss) and all(np.allclose(grads[k], ref_grads[k], rtol=1e-12) for k in grads)


def test_ops_replace_rejects_unknown_names():
    with pytest.raises(TypeError, match="unknown operation"):
        tt.reference().replace(layer_norm_backward=lambda d, c: None)


def test_float32_agrees_with_float64():
    p64 = odd_params(5)
    p32 = {k: v.astype(np.float32) for k, v in p64.items()}
    tokens, targets = batch(n=16, seed=5)
    l64, g64 = tt.loss_and_grads(p64, tokens, targets)
    l32, g32 = tt.loss_and_grads(p32, tokens, targets)
    assert isinstance(l32, float) and l32 == pytest.approx(l64, rel=1e-5)
    for k in g64:
        assert g32[k].dtype == np.float32
        assert rel_error(g32[k], g64[k]) <= 1e-3, k


def test_forward_rejects_width_that_is_not_whole_heads():
    params = tt.init_params()
    params["embedding"] = np.zeros((20, 40))
    with pytest.raises(ValueError, match="head size 16"):
        tt.forward(params, np.zeros((1, 8), dtype=int))
