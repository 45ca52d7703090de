"""Hidden checks of exercise 7: residual add & norm, and a whole transformer block's backward."""
import numpy as np
import pytest

import tt
from grader.checks import expect, in_float64, tolerance
from grader.hidden import magnitude
from grader.hidden.support import (call, call_with, expect_dict, expect_exact, expect_follows_ops, ops_recorder,
                                   require_ops,
                                   upstream)
from grader.sandbox import CALLBACKS

MODULE = "ex07_block"
ADD_NORM = ("dx", "dsub", "dgamma", "dbeta")
BLOCK_PIECES = ("add_norm_backward", "ffn_backward", "mha_backward")


def add_norm_case(rng, shape, dtype=np.float64):
    x, sub = rng.standard_normal(shape), 0.7 * rng.standard_normal(shape)
    gamma, beta = 1 + 0.4 * rng.standard_normal(shape[-1]), 0.2 * rng.standard_normal(shape[-1])
    y, cache = tt.add_norm_forward(*(a.astype(dtype) for a in (x, sub, gamma, beta)))
    return upstream(rng, shape, dtype), cache


def add_norm_variants(dout, cache):
    ds, dgamma, dbeta = tt.layernorm_backward(dout, cache.ln)
    zero = np.zeros_like(ds)
    return [("dsub is 0: the sublayer's output was added to x, so it receives the same gradient as x",
             {"dsub": zero}),
            ("dx is 0: the residual connection passes the gradient of the sum to x unchanged",
             {"dx": zero}),
            ("dx is dout itself: the residual x + sub was normalized, so x gets the LayerNorm's input "
             "gradient, like sub", {"dx": dout}),
            ("the gradient of the sum is halved between x and sub: the derivative of x + sub is 1 "
             "with respect to EACH term, so both receive it whole", {"dx": ds / 2, "dsub": ds / 2}),
            ("dgamma and dbeta are swapped: ops.layernorm_backward returns (dx, dgamma, dbeta) in that order",
             {"dgamma": dbeta, "dbeta": dgamma})]


def check_add_norm(student, dout, cache):
    """Against the exact answer: the LayerNorm's sums (C per row, the rows for dgamma and dbeta)."""
    got = call(student, MODULE, "add_norm_backward", dout, cache, pieces=("layernorm_backward",))
    C = dout.shape[-1]
    expect_exact(got, ADD_NORM, function="add_norm_backward", reference=tt.add_norm_backward,
                 args=(dout, cache), magnitude=magnitude.add_norm, terms=2 * C + dout.size // C, depth=5,
                 variants=add_norm_variants)


@pytest.mark.points(2)
def test_add_norm(student, rng):
    """add_norm_backward on (B, T, C) = (3, 8, 64); ops.layernorm_backward is the reference."""
    check_add_norm(student, *add_norm_case(rng, (3, 8, 64)))


@pytest.mark.points(1)
def test_add_norm_float32(student, rng):
    """A batch of 1 with C = 10 in float32: every output is float32."""
    check_add_norm(student, *add_norm_case(rng, (1, 4, 10), np.float32))


def block_case(rng, B, cfg, dtype=np.float64):
    """A block with gamma != 1 and nonzero biases, its forward on all positions, and dout."""
    p = {k: v.copy() for k, v in tt.model.block_params(tt.init_params(int(rng.integers(1 << 30)), cfg=cfg), 0).items()}
    for name, a in p.items():
        if name.endswith("gamma"):
            a[...] = 1 + 0.3 * rng.standard_normal(a.shape)
        elif name.endswith("beta") or name in ("b1", "b2"):
            a[...] = 0.2 * rng.standard_normal(a.shape)
    p = {k: v.astype(dtype) for k, v in p.items()}
    x = rng.standard_normal((B, cfg.T, cfg.C)).astype(dtype)
    out, cache = tt.block_forward(x, p, cfg.H)
    return upstream(rng, out.shape, dtype), cache


def assemble(dout, cache, residual1=True, residual2=True, ffn_path=True, mha_path=True, ln1=True,
             norms_swapped=False, ln_names_swapped=False, residual_twice=False, mha_given_dx1=False):
    """block_backward from the reference pieces, with one step optionally done wrong."""
    g = {}
    if norms_swapped:
        cache = cache._replace(norm1=cache.norm2, norm2=cache.norm1)
    dx1_res, df, g["ln2.gamma"], g["ln2.beta"] = tt.add_norm_backward(dout, cache.norm2)
    dx1_ffn, g["W1"], g["b1"], g["W2"], g["b2"] = tt.ffn_backward(df, cache.ffn)
    dx1 = (dx1_res if residual2 else 0) + (dx1_ffn if ffn_path else 0)
    dx_res, da, g["ln1.gamma"], g["ln1.beta"] = tt.add_norm_backward(dx1, cache.norm1)
    if not ln1:
        dx_res, da = dx1, dx1
        g["ln1.gamma"], g["ln1.beta"] = np.zeros_like(g["ln1.gamma"]), np.zeros_like(g["ln1.beta"])
    dx_mha, g["W_q"], g["W_k"], g["W_v"], g["W_o"] = tt.mha_backward(dx1 if mha_given_dx1 else da, cache.mha)
    if residual_twice:
        dx_mha = dx_res
    if ln_names_swapped:
        for p in ("gamma", "beta"):
            g[f"ln1.{p}"], g[f"ln2.{p}"] = g[f"ln2.{p}"], g[f"ln1.{p}"]
    return (dx_res if residual1 else 0) + (dx_mha if mha_path else 0), g


def block_variants(dout, cache):
    """(diagnosis, {"dx": ..., grads...}) for merges that went missing."""
    out = []
    for label, knobs in [
            ("at x1 the FFN's gradient must be ADDED to the residual's: x1 feeds both the FFN and the "
             "second residual connection, and the residual's share is missing", {"residual2": False}),
            ("at x1 the FFN's share is missing: x1 feeds both the FFN and the second residual "
             "connection, so its gradient is the sum of both", {"ffn_path": False}),
            ("at the block's input x the residual's share is missing: x feeds both the attention and "
             "the first residual connection, so dx is the sum of both", {"residual1": False}),
            ("at the block's input x the attention's share is missing: x feeds both the attention and "
             "the first residual connection, so dx is the sum of both", {"mha_path": False}),
            ("the first add & norm (LN1) is skipped: dx1 must go through ops.add_norm_backward with "
             "norm1 before the attention", {"ln1": False}),
            ("the two add & norms are undone with each other's caches: the block's output comes out of "
             "norm2 (after the FFN), so ops.add_norm_backward(dout, norm2) comes first and norm1 is undone "
             "after the FFN", {"norms_swapped": True}),
            ("the two LayerNorms' gradients are filed under each other's names: ln2.* belong to the second add "
             "& norm (norm2, undone first), ln1.* to the first", {"ln_names_swapped": True}),
            ("dx holds the first residual's gradient twice and not the attention's: dx = dx_mha + dx_residual",
             {"residual_twice": True}),
            ("the attention's backward is given dx1, the gradient at LN1's output: it needs da, the sublayer's "
             "gradient that ops.add_norm_backward(dx1, norm1) returns", {"mha_given_dx1": True})]:
        dx, g = assemble(dout, cache, **knobs)
        out.append((label, {"dx": dx, **{f"grads[{k!r}]": v for k, v in g.items()}}))
    return out


def block_terms(dout, cache):
    """The longest chain of sums: two LayerNorms (2C each), the FFN (C + F), attention
    (hs + 3T), the four projections (C each), and the rows for every weight gradient."""
    B, T, C = dout.shape
    F = cache.ffn.lin1.W.shape[1]
    return B * T + 9 * C + F + C // cache.mha.H + 3 * T


def check_block(student, dout, cache):
    """Against the exact answer (float64, same inputs) at the tolerance of block_terms."""
    got = call(student, MODULE, "block_backward", dout, cache, pieces=BLOCK_PIECES)
    dout64, cache64 = in_float64((dout, cache))
    dx, grads = tt.block_backward(dout64, cache64)
    if not isinstance(got, tuple) or len(got) != 2:
        expect(got, (dx, grads), ("dx", "grads"), function="block_backward")   # says what is wrong
    bound_dx, bounds = magnitude.block(np.abs(dout64), cache64)
    n = block_terms(dout, cache)
    tol = lambda bound, exact: tolerance(dout.dtype, terms=n, depth=10, magnitude=bound, expected=exact)
    rtol = {k: tol(bounds[k], v) for k, v in grads.items()}
    wrong = block_variants(dout64, cache64)
    expect(got[0], dx, ("dx",), function="block_backward", rtol=tol(bound_dx, dx), variants=wrong,
           dtype=dout.dtype)
    expect_dict(got[1], grads, "grads", function="block_backward", rtol=rtol, dtype=dout.dtype,
                variants=[(label, {k[7:-2]: v for k, v in arrays.items() if k.startswith("grads[")})
                          for label, arrays in wrong])


@pytest.mark.points(3)
def test_block_model_sizes(student, rng):
    """block_backward at the model's sizes (B = 2, T = 8, C = 64, H = 4, F = 256); ops are the reference pieces."""
    check_block(student, *block_case(rng, 2, tt.Config()))


@pytest.mark.points(1)
def test_block_small_float32(student, rng):
    """A small block (T = 5, C = 16, H = 2, F = 24) with a batch of 1 in float32: dtype kept throughout."""
    check_block(student, *block_case(rng, 1, tt.Config(C=16, H=2, F=24, T=5), np.float32))


@pytest.mark.points(1)
def test_block_passes_ops_on(student, rng):
    """ops is handed on to every piece (ops.add_norm_backward(..., ops) and the others), so exercise 15's own pieces are used inside."""
    dout, cache = block_case(rng, 1, tt.Config(C=16, H=2, F=24, T=4))
    callbacks, missed = ops_recorder(BLOCK_PIECES)
    got = call_with(student, MODULE, "block_backward", dout, cache, CALLBACKS, callbacks=callbacks)
    require_ops("block_backward", missed)
    expect(got[0], tt.block_backward(dout, cache)[0], ("dx",), function="block_backward", rtol=1e-9)


@pytest.mark.points(1)
def test_add_norm_follows_ops(student, rng):
    """add_norm_backward uses ops.layernorm_backward, the piece it is given: an altered one changes the result accordingly."""
    dout, cache = add_norm_case(rng, (2, 3, 8))
    expect_follows_ops(student, MODULE, "add_norm_backward", dout, cache, ADD_NORM, ("layernorm_backward",))


@pytest.mark.points(1)
def test_block_follows_ops(student, rng):
    """block_backward uses ops.add_norm_backward, ops.ffn_backward and ops.mha_backward: altered pieces change the result accordingly."""
    dout, cache = block_case(rng, 1, tt.Config(C=8, H=2, F=12, T=3))
    expect_follows_ops(student, MODULE, "block_backward", dout, cache, ("dx", "grads"), BLOCK_PIECES)
