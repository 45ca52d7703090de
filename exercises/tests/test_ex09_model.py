"""Exercise 9: the whole model's backward pass, assembled from the pieces."""
import numpy as np
import pytest

import tt
from exercises.tests import harness as h

pytestmark = pytest.mark.ex09

BLOCK_KEYS = ("W_q", "W_k", "W_v", "W_o", "ln1.gamma", "ln1.beta",
              "W1", "b1", "W2", "b2", "ln2.gamma", "ln2.beta")
TINY = tt.Config(V=10, C=16, H=1, F=12)      # C = 16: one head of the contract's hs = 16


def model_case(cfg, B, T, seed, margin, dtype=np.float64):
    """Parameters with gamma != 1 and nonzero betas and biases, tokens, and the forward's
    (logits, cache) on all positions, with every FFN pre-activation at least `margin` from 0."""
    for attempt in range(100):
        r = h.rng(seed + 1000 * attempt)
        params = tt.init_params(seed + attempt, cfg=cfg)
        for name, p in params.items():
            if name.endswith("gamma"):
                params[name] = 1 + 0.3 * r.standard_normal(p.shape)
            elif name.endswith("beta") or name.split(".")[-1] in ("b1", "b2", "b_out"):
                params[name] = 0.2 * r.standard_normal(p.shape)
        params = {k: v.astype(dtype) for k, v in params.items()}
        tokens = r.integers(0, cfg.V, (B, T))
        logits, cache = tt.model_forward(params, tokens, last_only=False)
        if min(np.min(np.abs(c.ffn.relu.x)) for c in cache.blocks) > margin:
            return params, tokens, logits, cache
    raise RuntimeError("no model inputs away from ReLU's kink")


def check_keys(grads, params):
    assert isinstance(grads, dict), \
        f"model_backward should return a dict of gradients, not {type(grads).__name__}"
    missing, extra = sorted(set(params) - set(grads)), sorted(set(grads) - set(params))
    assert not missing and not extra, (f"model_backward: grads must have exactly the keys of params; "
                                       f"missing {missing}, unexpected {extra}")


def test_model_backward_tiny_model_every_parameter(impl):
    """Two blocks at C = 16: every gradient against finite differences of the whole model."""
    ex = impl("ex09_model")
    params, tokens, logits, cache = model_case(TINY, B=2, T=4, seed=0, margin=1e-3)
    dlogits = h.random_dout(logits.shape)
    grads = ex.model_backward(dlogits, cache, h.numerical_ops())
    check_keys(grads, params)
    expected = h.vjp(lambda p: tt.model_forward(p, tokens, last_only=False), {"p": params}, dlogits)["p"]
    # in the order the backward pass meets them, each group with the likely cause if it is the first wrong
    groups = [(["W_out", "b_out"], "these come straight from ops.output_backward"),
              ([f"blocks.1.{k}" for k in BLOCK_KEYS],
               "the last block (blocks.1) starts from the dx that ops.output_backward returned; its "
               "block-local names go under 'blocks.1.'"),
              ([f"blocks.0.{k}" for k in BLOCK_KEYS],
               "blocks.1 is right, so look at what block 0 receives: the dx that block 1's backward "
               "returned (the blocks are undone in reverse order)"),
              (["embedding"], "every block is right, so look at what the embedding receives: the dx "
                              "that block 0's backward returned")]
    for names, hint in groups:
        for name in names:
            h.check("model_backward", f"grads[{name!r}]", grads[name], expected[name], like=params[name],
                    hint=hint)


# ------------------------------------------------------------ full size: assembly
def check_like(name, g, p):
    """grads[name] is an array of the shape and dtype of its parameter, with finite values."""
    h.check_array("model_backward", f"grads[{name!r}]", g, p.shape, like=p)


class Tracer:
    """ops whose pieces hand back placeholder gradients and check what they are given.

    Every placeholder is filled with a number of its own, so each of the student's
    gradients can be traced back to the call and the name it came from: `made` maps
    each parameter name to the placeholder its piece returned for it.
    """

    def __init__(self, params, cache):
        self.params, self.cache = params, cache
        self.calls, self.made, self.count = [], {}, 0
        self.dx = None                       # the dx the last piece returned
        self.ops = tt.Ops(**{name: self.forbidden(name) for name in tt.ops.NAMES}).replace(
            output_backward=self.output_backward, block_backward=self.block_backward,
            embedding_backward=self.embedding_backward)

    def forbidden(self, name):
        def piece(*args, **kwargs):
            raise AssertionError(f"model_backward called ops.{name}; it needs only ops.output_backward, "
                                 f"ops.block_backward and ops.embedding_backward (they call the rest)")
        return piece

    def placeholder(self, shape, name=None):
        self.count += 1
        a = np.full(shape, float(self.count), dtype=self.params["W_out"].dtype)
        if name is not None:
            self.made[name] = a
        return a

    def received(self, piece, dout):
        source = self.calls[-1]
        same = isinstance(dout, np.ndarray) and dout.shape == self.dx.shape and np.array_equal(dout, self.dx)
        assert same, f"model_backward: {piece} must receive the dx that {source} returned"

    def passed_on(self, ops, call):
        assert ops is self.ops, (f"model_backward: pass ops on, as in {call}, so that the pieces inside "
                                 f"use the same ops (it received {type(ops).__name__})")

    def output_backward(self, dlogits, cache, ops=None):
        assert not self.calls, "model_backward: ops.output_backward must come first, and only once"
        assert cache is self.cache.output, "model_backward: pass cache.output to ops.output_backward"
        self.passed_on(ops, "ops.output_backward(dlogits, cache.output, ops)")
        self.calls.append("ops.output_backward")
        B, C = cache.linear.x.shape
        self.dx = self.placeholder((B, cache.T, C))
        dW_out = self.placeholder(cache.linear.W.shape, "W_out")
        db_out = self.placeholder(cache.linear.b.shape, "b_out")
        return self.dx, dW_out, db_out

    def block_backward(self, dout, cache, ops=None):
        index = [i for i, c in enumerate(self.cache.blocks) if c is cache]
        assert index, "model_backward: pass ops.block_backward one of cache.blocks"
        i = index[0]
        order = [f"block {j}" for j in reversed(range(len(self.cache.blocks)))]
        done = [c for c in self.calls if c.startswith("block")]
        assert len(done) < len(order) and f"block {i}" == order[len(done)], (
            f"model_backward: the blocks must be undone last first ({', '.join(order)}), but after "
            f"{', '.join(done) or 'ops.output_backward'} came block {i}")
        self.received(f"ops.block_backward for block {i}", dout)
        self.passed_on(ops, f"ops.block_backward(dx, cache.blocks[{i}], ops)")
        self.calls.append(f"block {i}")
        self.dx = self.placeholder(dout.shape)
        return self.dx, {k: self.placeholder(self.params[f"blocks.{i}.{k}"].shape, f"blocks.{i}.{k}")
                         for k in BLOCK_KEYS}

    def embedding_backward(self, dout, cache):
        assert self.calls[-1] == "block 0", "model_backward: ops.embedding_backward comes last, after block 0"
        assert cache is self.cache.embedding, "model_backward: pass cache.embedding to ops.embedding_backward"
        self.received("ops.embedding_backward", dout)
        self.calls.append("ops.embedding_backward")
        return self.placeholder(cache.E.shape, "embedding")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_model_backward_full_size_all_102036_gradients(impl, dtype):
    """The real model (C = 64, H = 4, F = 256, two blocks): every gradient present, from the
    right piece, with its parameter's shape and dtype. The pieces are placeholders here;
    their values are checked by the test above and by exercises 2 to 8."""
    ex = impl("ex09_model")
    params = tt.init_params(seed=3, dtype=dtype)
    tokens = h.rng(3).integers(0, 20, (2, 8))
    logits, cache = tt.model_forward(params, tokens, last_only=False)
    tracer = Tracer(params, cache)
    grads = ex.model_backward(h.random_dout(logits.shape).astype(dtype), cache, tracer.ops)
    check_keys(grads, params)
    assert tracer.calls == ["ops.output_backward", "block 1", "block 0", "ops.embedding_backward"], \
        f"model_backward made the calls {tracer.calls}"
    for name, p in params.items():
        check_like(name, grads[name], p)
        assert np.array_equal(grads[name], tracer.made[name]), (
            f"model_backward: grads[{name!r}] is not the array that the piece computing it returned "
            f"under that name")
    assert sum(g.size for g in grads.values()) == 102_036 == tt.n_params()


# ------------------------------------------- full size: your own pieces (optional)
def test_model_backward_full_size_with_your_own_pieces(impl):
    """Optional until exercises 2 to 8 are done (skipped until then): the real model with
    every piece your own, each parameter checked along a random direction,
    sum(grad * u) against (f(p + eps u) - f(p - eps u)) / (2 eps)."""
    ex = impl("ex09_model")
    own = h.own_ops(impl)
    params, tokens, logits, cache = model_case(tt.Config(), B=2, T=8, seed=9, margin=1e-4)
    dlogits = h.random_dout(logits.shape)
    try:
        grads = ex.model_backward(dlogits, cache, own)
    except NotImplementedError as e:
        if str(e).startswith("Exercise 9"):
            raise
        pytest.skip(f"this check uses your exercises 2 to 8 too, and one is not written yet ({e})")
    check_keys(grads, params)

    def f():
        return float(np.sum(dlogits * tt.model_forward(params, tokens, last_only=False)[0]))

    r = h.rng(10)
    for name in params:
        g = grads[name]
        check_like(name, g, params[name])
        u = r.standard_normal(params[name].shape)
        u /= np.linalg.norm(u)                        # a unit step, so eps means the same for every size
        # f's derivative along u, recorded by central differences
        numerical, analytic = h.directional(f, [params[name]], [u]), float(np.sum(g * u))
        h.check_number("model_backward with your own pieces", f"grads[{name!r}] along a random direction",
                       analytic, numerical, tol=1e-6,
                       hint="if exercises 2 to 8 pass their tests, look at how this gradient is assembled")
