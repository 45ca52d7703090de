"""Hidden checks of exercise 4: LayerNorm backward."""
import numpy as np
import pytest

import tt
from grader.hidden import magnitude
from grader.hidden.support import call, expect_exact, upstream

MODULE, FUNCTION = "ex04_layernorm", "layernorm_backward"
NAMES = ("dx", "dgamma", "dbeta")


def case(rng, shape, dtype=np.float64, scale=2.0):
    C = shape[-1]
    x = (scale * rng.standard_normal(shape) + rng.uniform(-1, 1)).astype(dtype)
    gamma = (1 + 0.5 * rng.standard_normal(C)).astype(dtype)
    beta = (0.3 * rng.standard_normal(C)).astype(dtype)
    y, cache = tt.layernorm_forward(x, gamma, beta)
    dout = upstream(rng, y.shape, dtype)
    return dout, cache


def three_paths(dout, cache, power=3, mean_divisor=None):
    """dx by the direct, variance and mean paths (exercise 4's derivation), with one step optionally
    slipped: rstd ** power in dvar, dmean divided by mean_divisor (default C)."""
    x, gamma, _, _, rstd = cache
    C = x.shape[-1]
    xmu = x - x.mean(-1, keepdims=True)
    dxhat = dout * gamma
    dvar = (dxhat * xmu).sum(-1, keepdims=True) * -0.5 * rstd ** power
    dxmu = dxhat * rstd + dvar * 2.0 * xmu / C
    return dxmu - dxmu.sum(-1, keepdims=True) / (C if mean_divisor is None else mean_divisor)


def variants(dout, cache):
    """Typical mistakes, computed from the reference."""
    dx, dgamma, dbeta = tt.layernorm_backward(dout, cache)
    direct = dout * cache.gamma * cache.rstd                   # no correction terms at all
    g = dout * cache.gamma
    no_var = cache.rstd * (g - g.mean(-1, keepdims=True))      # mean's correction only
    C = dout.shape[-1]
    no_mean = cache.rstd * (g - cache.xhat * (g * cache.xhat).mean(-1, keepdims=True))
    unbiased = cache.rstd * (g - g.mean(-1, keepdims=True)
                             - cache.xhat * (g * cache.xhat).sum(-1, keepdims=True) / (C - 1))
    N = dout.size // C
    xmu = cache.x - cache.x.mean(-1, keepdims=True)
    outside = 1 / (np.sqrt((xmu * xmu).mean(-1, keepdims=True)) + cache.eps)     # 1 / (sigma + eps)
    eps_out = cache._replace(xhat=xmu * outside, rstd=outside)
    dx_out, dgamma_out, _ = tt.layernorm_backward(dout, eps_out)
    eps_label = ("eps is outside the square root: rstd = 1 / sqrt(var + eps), not 1 / (sqrt(var) + eps); "
                 "the cache holds rstd and xhat, use them rather than recomputing")
    plain = 1 / np.sqrt((xmu * xmu).mean(-1, keepdims=True))                        # no eps at all
    dx_plain, dgamma_plain, _ = tt.layernorm_backward(dout, cache._replace(xhat=xmu * plain, rstd=plain))
    no_eps = ("eps is left out: the forward pass normalized by sqrt(var + eps), so rstd = 1 / sqrt(var + eps); "
              "the cache holds rstd and xhat, use them rather than recomputing")
    out = [("dvar uses rstd ** 2: d(var + eps)^(-1/2) / dvar = -(var + eps)^(-3/2) / 2, that is -rstd ** 3 / 2",
            {"dx": three_paths(dout, cache, power=2)}),
           ("the mean's correction is not divided by C: mean = sum(x) / C, so each x_i gets dmean / C",
            {"dx": three_paths(dout, cache, mean_divisor=1)}),
           (eps_label, {"dx": dx_out}), (eps_label, {"dx": dx_out, "dgamma": dgamma_out}),
           (no_eps, {"dx": dx_plain}), (no_eps, {"dx": dx_plain, "dgamma": dgamma_plain}),
           ("dx has the variance's correction but not the mean's: the mean depends on every x_i too",
            {"dx": no_mean}),
           ("the variance's correction divides by C - 1: LayerNorm's variance is the biased one, "
            "sum((x - mean)^2) / C", {"dx": unbiased}),
           ("dgamma is computed from x instead of the normalized xhat: y = gamma * xhat + beta",
            {"dgamma": (dout * cache.x).reshape(-1, C).sum(0)}),
           ("gamma is left out of dx: the gradient reaching xhat is dout * gamma",
            {"dx": tt.layernorm_backward(dout, cache._replace(gamma=np.ones_like(cache.gamma)))[0]})]
    if N > 1:
        out += [("dgamma and dbeta are averaged over the rows: they are SUMS over every row",
                 {"dgamma": dgamma / N, "dbeta": dbeta / N}),
                ("dgamma is averaged over the rows: it is the SUM of dout * xhat over every row",
                 {"dgamma": dgamma / N}),
                ("dbeta is averaged over the rows: it is the SUM of dout over every row", {"dbeta": dbeta / N})]
    features = ("dgamma and dbeta are summed over the features (the last axis): gamma and beta have one entry "
                "per feature, shape (C,), so sum over every ROW (the batch and the positions)")
    out += [(features, {"dbeta": dout.sum(-1)}), (features, {"dgamma": (dout * cache.xhat).sum(-1)}),
            (features, {"dgamma": (dout * cache.xhat).sum(-1), "dbeta": dout.sum(-1)})]
    if dout.ndim > 2:
        first = ("dgamma and dbeta are summed over the first axis only: with (B, T, C) inputs they sum over the "
                 "batch AND the positions, reshape(-1, C).sum(axis=0)")
        out += [(first, {"dbeta": dout.sum(0)}), (first, {"dgamma": (dout * cache.xhat).sum(0)}),
                (first, {"dgamma": (dout * cache.xhat).sum(0), "dbeta": dout.sum(0)})]
    return out + [("dx has only the direct term dout * gamma / sigma: the mean and the variance "
             "depend on every x_i too, which gives two correction terms", {"dx": direct}),
            ("dx has the mean's correction but not the variance's", {"dx": no_var}),
            ("dgamma and dbeta must be summed over every row (batch and positions), "
             "not taken from one row", {"dgamma": (dout * cache.xhat)[(0,) * (dout.ndim - 1)],
                                        "dbeta": dout[(0,) * (dout.ndim - 1)]})]


def check(student, dout, cache, named=True):
    """Against the exact answer: dx sums C products per row (the two means), dgamma and dbeta
    one per row; the expanded formula or xhat recomputed from x are within the same bound."""
    got = call(student, MODULE, FUNCTION, dout, cache)
    C = dout.shape[-1]
    rows = dout.size // C
    expect_exact(got, NAMES, function=FUNCTION, reference=tt.layernorm_backward, args=(dout, cache),
                 magnitude=magnitude.layernorm, terms={"dx": 2 * C, "dgamma": rows, "dbeta": rows},
                 depth=4, variants=variants)


@pytest.mark.points(4)
def test_random_batch(student, rng):
    """LayerNorm backward on a random (B, T, C) batch with gamma != 1, in float64."""
    dout, cache = case(rng, (4, 8, 64))
    check(student, dout, cache)


@pytest.mark.points(2)
def test_float32_keeps_dtype(student, rng):
    """The same in float32: the gradients must be float32 too."""
    dout, cache = case(rng, (3, 8, 64), np.float32)
    check(student, dout, cache)


@pytest.mark.points(1)
def test_two_dimensional_input(student, rng):
    """A (B, C) input with a batch of 1: the backward pass must not assume 3 dimensions."""
    dout, cache = case(rng, (1, 24))
    check(student, dout, cache)


@pytest.mark.points(1)
def test_large_and_offset_inputs(student, rng):
    """Rows with a large offset and scale (values around 1e3): still exact to round-off."""
    dout, cache = case(rng, (2, 5, 32), scale=300.0)
    check(student, dout, cache)
