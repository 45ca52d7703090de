"""Hidden checks of exercise 14: clipping by global norm, Exercise 3's table, question 17's
chains, and the gradient's norm at each stage of the real model.

Norms are computed here in float64 from their definition; the clipped gradients come
from tt.optim.clip_by_global_norm; the chains from plain products; the stage norms from
tt's reference gradients (tt.model_backward) of the same batch.
"""
import math

import numpy as np
import pytest

import tt
import tt.ops
import tt.optim
from grader.checks import GradeFailure
from grader.hidden.support import (call, call_with, expect_dict, expect_equal, expect_floats, expect_number,
                                   expect_number_dict)
from grader.sandbox import CALLBACKS

MODULE = "ex14_clipping_gradflow"


def norm(arrays):
    """sqrt of the sum of every entry squared, in float64."""
    return math.sqrt(sum(float(np.sum(np.asarray(a, dtype=np.float64) ** 2)) for a in arrays))


def random_grads(rng, scales=(0.5, 6.0, 1.0), dtypes=(np.float32, np.float64, np.float32)):
    """A dict of gradients with keys, shapes, sizes and dtypes of their own."""
    shapes = [(int(rng.integers(2, 6)), int(rng.integers(2, 6))), (int(rng.integers(3, 9)),),
              (2, int(rng.integers(2, 4)), 3)]
    names = [str(n) for n in rng.choice(["W_q", "W1", "b1", "embedding", "W_out", "ln1.gamma"], 3, replace=False)]
    grads = {}
    for name, shape, scale, dtype in zip(names, shapes, scales, dtypes):
        g = rng.standard_normal(shape)
        grads[name] = (scale * g / np.linalg.norm(g)).astype(dtype)       # that tensor's own norm is `scale`
    return grads


# ------------------------------------------------------------------------ clipping
def norm_variants(grads):
    own = [norm([g]) for g in grads.values()]
    return [("that is the sum of the arrays' own norms; the global norm is the root of the sum of ALL "
             "the squares", sum(own)),
            ("the square root is missing: that is the sum of the squares", norm(grads.values()) ** 2),
            ("that is the largest array's norm; the global norm takes every array together", max(own))]


@pytest.mark.points(2)
def test_global_norm(student, rng):
    """global_norm of a dict of float32 and float64 arrays of different shapes, as a Python float."""
    grads = random_grads(rng, scales=tuple(rng.uniform(0.2, 3.0, 3)))
    got = call(student, MODULE, "global_norm", grads)
    expect_number(got, norm(grads.values()), "the global norm", function="global_norm", rtol=1e-6,
                  python_float=True, variants=norm_variants(grads))


@pytest.mark.points(1)
def test_global_norm_float32_in_float64(student, rng):
    """global_norm of a float32 array of 200,000 entries is summed in float64 (good to 1e-10)."""
    g = (rng.uniform(0.5, 1.5) + 0.1 * rng.standard_normal(200_000)).astype(np.float32)
    got = call(student, MODULE, "global_norm", {"g": g})
    expect_number(got, norm([g]), "the global norm", function="global_norm", rtol=1e-10, python_float=True,
                  variants=[("the squares are summed in float32: convert to float64 first",
                             float(np.sqrt(np.sum(g * g, dtype=np.float32))))])


def clip_variants(grads, max_norm):
    per_tensor = {k: g * (max_norm / norm([g]) if norm([g]) > max_norm else 1.0) for k, g in grads.items()}
    return [("each array is clipped by its own norm; clipping by the GLOBAL norm scales every array by one "
             "factor, max_norm / ||g||, so the direction is kept", per_tensor),
            ("each entry is clamped to [-max_norm, max_norm]: that turns the direction; scale the whole "
             "gradient by max_norm / ||g|| instead", {k: np.clip(g, -max_norm, max_norm) for k, g in grads.items()})]


def check_clip(student, grads, max_norm):
    got = call(student, MODULE, "clip_by_global_norm", grads, max_norm)
    if not (isinstance(got, tuple) and len(got) == 2):
        raise GradeFailure("clip_by_global_norm should return (clipped, norm), but it returned a "
                           f"{type(got).__name__}")
    clipped, got_norm = got
    want, _ = tt.optim.clip_by_global_norm(grads, max_norm)
    before = norm(grads.values())
    variants = clip_variants(grads, max_norm)
    if before <= max_norm:
        variants.append(("the gradient is scaled although its norm is not above max_norm: clip only when "
                         "||g|| > max_norm, and leave it unchanged otherwise",
                         {k: g * (max_norm / before) for k, g in grads.items()}))
    if isinstance(got_norm, (int, float)) and got_norm > max_norm and abs(got_norm - before) > 1e-6 * before:
        variants.append(("the arrays are scaled by max_norm over the norm it returned, and that norm is wrong: "
                         "see global_norm", {k: g * (max_norm / got_norm) for k, g in grads.items()}))
    expect_dict(clipped, want, "clipped", function="clip_by_global_norm", rtol=1e-6, variants=variants)
    expect_number(got_norm, before, "the norm returned", function="clip_by_global_norm", rtol=1e-6,
                  variants=[("that is the norm after clipping; return the norm before", min(before, max_norm))])


@pytest.mark.points(3)
def test_clip_scales_every_array_by_one_factor(student, rng):
    """A dict whose global norm is above max_norm (one array alone above it, one well below): every array scaled by max_norm / ||g||, dtypes kept, and the norm before clipping."""
    grads = random_grads(rng)                       # own norms 0.5, 6.0 and 1.0
    check_clip(student, grads, float(rng.uniform(1.5, 2.5)))


@pytest.mark.points(1)
def test_clip_leaves_short_gradients_alone(student, rng):
    """A dict whose global norm is below max_norm, or exactly equal to it, comes back unchanged."""
    grads = random_grads(rng)
    check_clip(student, grads, norm(grads.values()) * float(rng.uniform(1.1, 3.0)))
    k = float(rng.integers(1, 20))
    check_clip(student, {"g": np.array([3 * k, -4 * k])}, 5 * k)         # ||g|| = 5k = max_norm


# ----------------------------------------------------------------------- Exercise 3
def random_table(rng, n=7):
    names = [f"stage{i}_{''.join(rng.choice(list('abcdefgh'), 3))}" for i in range(n)]
    values = rng.uniform(0.001, 1.0, n)
    return {name: float(v) for name, v in zip(names, values)}


@pytest.mark.points(1)
def test_smallest_gradient(student, rng):
    """smallest_gradient of a random table of stage magnitudes returns the stage's name."""
    table = random_table(rng)
    got = call(student, MODULE, "smallest_gradient", table)
    expect_equal(got, min(table, key=table.get), "the stage", function="smallest_gradient",
                 what="a random table of seven stages",
                 variants=[("that is the stage with the LARGEST gradient", max(table, key=table.get))])


@pytest.mark.points(1)
def test_attenuation_ratio(student, rng):
    """attenuation_ratio of a random table: the last stage's magnitude over the first's."""
    table = random_table(rng)
    values = list(table.values())
    got = call(student, MODULE, "attenuation_ratio", table)
    expect_number(got, values[-1] / values[0], "the ratio", function="attenuation_ratio", rtol=1e-12,
                  variants=[("that is first / last; the ratio is last / first (where the gradient ends over "
                             "where it starts)", values[0] / values[-1]),
                            ("that is smallest / largest; use the first and last entries in the table's order",
                             min(values) / max(values))])


# ---------------------------------------------------------------------- question 17
def chain(local, residual, upstream):
    out, g = [upstream], upstream
    for a in reversed(local):
        g *= (1 + a) if residual else a
        out.append(g)
    return out


@pytest.mark.points(2)
def test_chain_gradients(student, rng):
    """chain_gradients of random layers, with and without residual connections, from a random upstream gradient: the gradient after each layer, last layer first."""
    local = [float(a) for a in rng.uniform(0.1, 1.5, int(rng.integers(5, 10)))]
    upstream = float(rng.uniform(0.5, 3.0))
    for residual in (False, True):
        got = call(student, MODULE, "chain_gradients", local, residual, upstream)
        expect_floats(got, chain(local, residual, upstream), f"chain_gradients(residual={residual})",
                      function="chain_gradients", rtol=1e-12,
                      variants=[("the layers are taken first to last; the backward pass meets the LAST layer first",
                                 chain(local[::-1], residual, upstream)),
                                ("a residual layer y = x + f(x) has derivative 1 + f'(x): the identity adds 1",
                                 chain(local, False, upstream)),
                                ("the upstream gradient is left out: start from it", chain(local, residual, 1.0))])


# ----------------------------------------------------------- the real model, measured
PIECES = tuple(n for n in tt.ops.NAMES if n != "model_backward")
ORDER_HINT = ("the stages go in the order of the backward pass: the last block (block{L}_params, L blocks) "
              "comes first, block1_params last before the embeddings")


def model_case(rng, cfg=tt.Config(), B=4):
    params = tt.init_params(seed=int(rng.integers(1 << 30)), cfg=cfg)
    for name, p in params.items():
        leaf = name.rsplit(".", 1)[-1]
        if leaf == "gamma":
            p[...] = 1 + 0.3 * rng.standard_normal(p.shape)
        elif leaf == "beta" or leaf in ("b1", "b2", "b_out"):
            p[...] = 0.2 * rng.standard_normal(p.shape)
    if cfg == tt.Config():
        _, val = tt.train_val_split(seed=0)
        idx = rng.choice(len(val), B, replace=False)
        return params, val.tokens[idx], val.targets[idx]
    return params, rng.integers(0, cfg.V, (B, cfg.T)), rng.integers(0, cfg.V, B)


def stage_norms(params, tokens, targets):
    """{stage: norm} from the reference gradients (the seed's table, top to bottom)."""
    logits, cache = tt.model_forward(params, tokens, last_only=False)
    _, ce = tt.softmax_cross_entropy_forward(logits, targets)
    dlogits = tt.softmax_cross_entropy_backward(1.0, ce)
    grads = tt.model_backward(dlogits, cache)
    L = len(cache.blocks)
    blocks = {i: [g for k, g in grads.items() if k.startswith(f"blocks.{i}.")] for i in range(L)}
    norms = {"logits": norm([dlogits]), "W_output": norm([grads["W_out"]]),
             "final_repr": norm([dlogits @ params["W_out"].T])}            # dx at the last position
    norms.update({f"block{i + 1}_params": norm(blocks[i]) for i in reversed(range(L))})
    norms["embeddings"] = norm([grads["embedding"]])
    own = {f"block{i + 1}_params": sum(norm([g]) for g in blocks[i]) for i in range(L)}
    swapped = {f"block{i + 1}_params": norm(blocks[L - 1 - i]) for i in range(L)}
    variants = [("a block's parameters form one vector: its norm is the global norm of all of them, not the "
                 "sum of each array's norm", own),
                ("the blocks' norms are swapped: the backward pass meets the LAST block first, and it is "
                 f"'block{L}_params'", swapped)]
    return norms, variants


@pytest.mark.points(3)
def test_stage_gradient_norms(student, rng):
    """stage_gradient_norms of the full model on a validation batch of 4, with tt's backward pieces: the six stages' norms, in the seed's order."""
    params, tokens, targets = model_case(rng)
    got = call(student, MODULE, "stage_gradient_norms", params, tokens, targets, pieces=PIECES)
    want, variants = stage_norms(params, tokens, targets)
    expect_number_dict(got, want, "norms", function="stage_gradient_norms", rtol=1e-9, variants=variants,
                       order_hint=ORDER_HINT)


@pytest.mark.points(1)
def test_stage_gradient_norms_three_blocks(student, rng):
    """The same for a smaller model with three blocks: block3_params down to block1_params."""
    params, tokens, targets = model_case(rng, tt.Config(C=32, H=2, F=48, n_blocks=3), B=3)
    got = call(student, MODULE, "stage_gradient_norms", params, tokens, targets, pieces=PIECES)
    want, variants = stage_norms(params, tokens, targets)
    expect_number_dict(got, want, "norms", function="stage_gradient_norms", rtol=1e-9, variants=variants,
                       order_hint=ORDER_HINT)


def altered_pieces(rng):
    """Backward pieces that differ observably from tt's: each scales what it returns by a
    factor of its own, so norms measured with anything but these pieces cannot match."""
    f = {name: float(v) for name, v in zip(("ce", "out", "block", "emb"), rng.uniform(1.5, 3.0, 4))}
    return {"softmax_cross_entropy_backward": lambda dloss, c: f["ce"] * tt.softmax_cross_entropy_backward(dloss, c),
            "output_backward": lambda d, c, ops=None: tuple(f["out"] * x for x in tt.output_backward(d, c)),
            "block_backward": lambda d, c, ops=None: (lambda dx, g: (f["block"] * dx, {k: f["block"] * v
                                                                                       for k, v in g.items()}))(
                *tt.block_backward(d, c)),
            "embedding_backward": lambda d, c, ops=None: f["emb"] * tt.embedding_backward(d, c)}


def walked_norms(pieces, params, tokens, targets):
    """The six stages' norms, walking the backward pass with `pieces`."""
    logits, cache = tt.model_forward(params, tokens, last_only=False)
    _, ce = tt.softmax_cross_entropy_forward(logits, targets)
    dlogits = pieces["softmax_cross_entropy_backward"](1.0, ce)
    dx, dW_out, _ = pieces["output_backward"](dlogits, cache.output)
    norms = {"logits": norm([dlogits]), "W_output": norm([dW_out]), "final_repr": norm([dx[:, -1]])}
    for i in reversed(range(len(cache.blocks))):
        dx, g = pieces["block_backward"](dx, cache.blocks[i])
        norms[f"block{i + 1}_params"] = norm(g.values())
    norms["embeddings"] = norm([pieces["embedding_backward"](dx, cache.embedding)])
    return norms


@pytest.mark.points(1)
def test_stage_norms_follow_the_ops_given(student, rng):
    """With backward pieces that differ from tt's (each scales its result by its own factor), the norms are those of exactly these pieces: every backward call goes through ops."""
    params, tokens, targets = model_case(rng, tt.Config(C=32, H=2, F=48, n_blocks=2), B=3)
    pieces = altered_pieces(rng)
    got = call_with(student, MODULE, "stage_gradient_norms", params, tokens, targets, CALLBACKS, callbacks=pieces)
    want = walked_norms(pieces, params, tokens, targets)
    own = {"softmax_cross_entropy_backward": lambda dloss, c: tt.softmax_cross_entropy_backward(dloss, c),
           "output_backward": lambda d, c, ops=None: tt.output_backward(d, c),
           "block_backward": lambda d, c, ops=None: tt.block_backward(d, c),
           "embedding_backward": lambda d, c, ops=None: tt.embedding_backward(d, c)}
    variants = [(f"{name} is not taken from ops: make every backward call through ops (ops.{name}), never "
                 f"tt.{name} or your own exercise's", walked_norms(dict(pieces, **{name: own[name]}), params,
                                                                    tokens, targets)) for name in pieces]
    expect_number_dict(got, want, "norms", function="stage_gradient_norms", rtol=1e-9, variants=variants,
                       order_hint=ORDER_HINT)
