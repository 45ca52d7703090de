"""Hidden checks of exercise 9: the whole model's backward pass, assembled from the pieces.

model_backward gets the reference pieces below it (output, block and embedding backward
and theirs) as callbacks, so only the assembly is tested: which piece gets which
gradient, in which order, and under which name each gradient lands.
"""
import numpy as np
import pytest

import tt
import tt.ops
from grader.checks import tolerance
from grader.hidden.support import call, call_with, expect_dict, ops_recorder, require_ops, upstream
from grader.sandbox import CALLBACKS

MODULE, FUNCTION = "ex09_model", "model_backward"
# everything below model_backward; never model_backward itself
PIECES = tuple(n for n in tt.ops.NAMES if n not in ("model_backward", "softmax_cross_entropy_backward"))


def case(rng, cfg=tt.Config(), B=3, dtype=np.float64):
    """Oddly initialised parameters (gamma != 1, nonzero biases), random tokens with
    repeats, the forward pass on all positions, and a random upstream gradient."""
    params = tt.init_params(seed=int(rng.integers(1 << 30)), cfg=cfg)
    for name, p in params.items():
        leaf = name.rsplit(".", 1)[-1]
        if leaf == "gamma":
            p[...] = 1 + 0.3 * rng.standard_normal(p.shape)
        elif leaf == "beta" or leaf in ("b1", "b2", "b_out"):
            p[...] = 0.2 * rng.standard_normal(p.shape)
    params = {k: v.astype(dtype) for k, v in params.items()}
    tokens = rng.integers(0, cfg.V, (B, cfg.T))
    logits, cache = tt.model_forward(params, tokens, last_only=False)
    dlogits = upstream(rng, logits.shape, dtype)
    return params, dlogits, cache


def expected(dlogits, cache):
    """The reference gradients, in the order the backward pass meets them."""
    grads = tt.model_backward(dlogits, cache)
    L = len(cache.blocks)
    order = ["W_out", "b_out"] + [k for i in reversed(range(L)) for k in grads if k.startswith(f"blocks.{i}.")]
    return {k: grads[k] for k in order + ["embedding"]}


def variants(dlogits, cache):
    """Assemblies that go wrong in the usual ways, built from the reference pieces."""
    L = len(cache.blocks)
    dx_out, dW_out, db_out = tt.output_backward(dlogits, cache.output)
    right = tt.model_backward(dlogits, cache)

    def walk(order, chain=True):
        grads, dx = {"W_out": dW_out, "b_out": db_out}, dx_out
        for i in order:
            d, g = tt.block_backward(dx, cache.blocks[i])
            dx = d if chain else dx                    # not chained: dx stays the output's
            grads.update({f"blocks.{i}.{k}": v for k, v in g.items()})
        grads["embedding"] = tt.embedding_backward(dx, cache.embedding)
        return grads

    swapped = {k.replace(f"blocks.{i}.", f"blocks.{L - 1 - i}."): v
               for i in range(L) for k, v in right.items() if k.startswith(f"blocks.{i}.")}
    return [("every block receives the dx of ops.output_backward: each block must receive the dx that "
             "the block after it returned", walk(reversed(range(L)), chain=False)),
            ("the blocks are undone in forward order: the backward pass starts at the LAST block "
             "(cache.blocks[-1]), which receives the dx of ops.output_backward", walk(range(L))),
            ("the gradients of the blocks are filed under the wrong block: block i's gradients are "
             "'blocks.{i}.<name>'", swapped),
            ("ops.embedding_backward receives the dx of ops.output_backward, so the blocks are skipped: "
             "it must receive the dx that block 0's backward returned",
             {"embedding": tt.embedding_backward(dx_out, cache.embedding)})]


# ------------------------------------------------------------------ tolerances
# model_backward does no arithmetic of its own: it hands arrays from one piece to the next,
# and the pieces are tt's, run here (callbacks). The exact answer of a correct assembly is
# therefore what those pieces compute, in the dtype they are given, on the arrays the
# student's code hands them: expected() below runs the same pieces, in the same dtype, on
# fresh contiguous copies of the inputs (what a callback receives from the worker), so the
# pieces do the same floating-point operations on the same numbers. With terms = 0 (no sum
# of the student's) and depth = 1 (one rounding: a copy through another dtype, say),
# grader.checks.tolerance gives 8 eps of the answer's dtype (about 1e-6 in float32), and
# any correct way of routing the arrays passes: there is no order of summation to choose.
# A float64 reference would judge tt's own float32 round-off through two blocks instead:
# its rigorous bound (the chain of magnitude.block passes on absolute values) reaches a
# relative 1e7 at the embedding, which no mistake could fail. Routing mistakes (forward
# order, a missing chain, the wrong block's name) are off by the size of the gradients.
def fresh(value):
    """`value` with every array (in NamedTuples, tuples, lists, dicts) a contiguous copy, as a
    callback receives it from the worker."""
    if isinstance(value, np.ndarray):
        return np.array(value, order="C", copy=True)
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(fresh(v) for v in value))
    if isinstance(value, (tuple, list)):
        return type(value)(fresh(v) for v in value)
    if isinstance(value, dict):
        return {k: fresh(v) for k, v in value.items()}
    return value


def rtol_of(dtype):
    """No sum of the student's, one rounding at most (see above)."""
    return tolerance(dtype, terms=0, depth=1)


def check(got, dlogits, cache):
    """The student's assembly against the same pieces assembled here, in the same dtype."""
    dlogits, cache = fresh((dlogits, cache))
    expect_dict(got, expected(dlogits, cache), "grads", function=FUNCTION, rtol=rtol_of(dlogits.dtype),
                variants=variants(dlogits, cache))


@pytest.mark.points(5)
def test_full_model_float64(student, rng):
    """Every one of the 102,036 gradients of the full model (C = 64, H = 4, two blocks) on a random batch, in float64."""
    params, dlogits, cache = case(rng)
    got = call(student, MODULE, FUNCTION, dlogits, cache, pieces=PIECES)
    check(got, dlogits, cache)


@pytest.mark.points(2)
def test_float32_keeps_dtype(student, rng):
    """The same in float32: every gradient has its parameter's dtype."""
    params, dlogits, cache = case(rng, B=2, dtype=np.float32)
    got = call(student, MODULE, FUNCTION, dlogits, cache, pieces=PIECES)
    check(got, dlogits, cache)


@pytest.mark.points(2)
def test_three_blocks_and_a_batch_of_one(student, rng):
    """A smaller model with three blocks and a batch of 1: the number of blocks comes from the cache, not from 2."""
    cfg = tt.Config(C=32, H=2, F=48, n_blocks=3, T=6)
    params, dlogits, cache = case(rng, cfg, B=1)
    got = call(student, MODULE, FUNCTION, dlogits, cache, pieces=PIECES)
    check(got, dlogits, cache)


@pytest.mark.points(1)
def test_ops_is_passed_on(student, rng):
    """ops is handed on to ops.output_backward and ops.block_backward, so the pieces inside use the same ops."""
    params, dlogits, cache = case(rng, B=2)
    callbacks, missed = ops_recorder(("output_backward", "block_backward"))
    callbacks["embedding_backward"] = tt.embedding_backward
    got = call_with(student, MODULE, FUNCTION, dlogits, cache, CALLBACKS, callbacks=callbacks)
    require_ops(FUNCTION, missed)
    check(got, dlogits, cache)


def altered_pieces(rng, L):
    """Pieces that differ observably from tt's: each scales what it returns by its own
    factor (a different one per block), so a result assembled from anything but these
    (tt's own functions, the student's earlier exercises) cannot match."""
    a, e = (float(v) for v in rng.uniform(1.5, 3.0, 2))
    per_block = {i: float(v) for i, v in enumerate(rng.uniform(1.5, 3.0, L))}

    def output_backward(dlogits, cache, ops=None):
        dx, dW, db = tt.output_backward(dlogits, cache)
        return a * dx, dW, db

    def block_backward(dout, cache, ops=None):
        i = next(i for i, c in enumerate(blocks) if c is cache or _same_cache(c, cache))   # StopIteration: not a block's
        dx, grads = tt.block_backward(dout, cache)
        return per_block[i] * dx, {k: per_block[i] * g for k, g in grads.items()}

    def embedding_backward(dout, cache, ops=None):
        return e * tt.embedding_backward(dout, cache)

    blocks = []
    return {"output_backward": output_backward, "block_backward": block_backward,
            "embedding_backward": embedding_backward}, blocks


def _same_cache(a, b):
    """Whether two caches hold the same arrays (a cache comes back from the worker as a copy)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape \
            and np.array_equal(a, b)
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same_cache(x, y) for x, y in zip(a, b))
    return a == b


def assembled(pieces, dlogits, cache):
    """The model's gradients assembled from `pieces` in the order the backward pass meets them."""
    grads = {}
    dx, grads["W_out"], grads["b_out"] = pieces["output_backward"](dlogits, cache.output)
    for i in reversed(range(len(cache.blocks))):
        dx, g = pieces["block_backward"](dx, cache.blocks[i])
        grads.update({f"blocks.{i}.{k}": v for k, v in g.items()})
    grads["embedding"] = pieces["embedding_backward"](dx, cache.embedding)
    return grads


@pytest.mark.points(1)
def test_result_follows_the_ops_given(student, rng):
    """With pieces that differ from tt's (each scales its result by its own factor), the gradients are assembled from exactly those pieces: ops is used for every piece, and nothing else is."""
    params, dlogits, cache = case(rng, B=2)
    pieces, blocks = altered_pieces(rng, len(cache.blocks))
    blocks.extend(cache.blocks)
    dlogits, cache = fresh((dlogits, cache))            # as the pieces receive them (see rtol_of)
    want = assembled(pieces, dlogits, cache)
    got = call_with(student, MODULE, FUNCTION, dlogits, cache, CALLBACKS, callbacks=pieces)
    right = expected(dlogits, cache)
    own = {"output_backward": lambda d, c, ops=None: tt.output_backward(d, c),
           "block_backward": lambda d, c, ops=None: tt.block_backward(d, c),
           "embedding_backward": lambda d, c, ops=None: tt.embedding_backward(d, c)}
    bypassed = [(f"{name} is not taken from ops: call ops.{name}(...), never tt.{name} or your own exercise's",
                 assembled(dict(pieces, **{name: own[name]}), dlogits, cache)) for name in pieces]
    expect_dict(got, {k: want[k] for k in right}, "grads", function=FUNCTION, rtol=rtol_of(dlogits.dtype),
                variants=[("the gradients are tt's own, not those of the pieces in ops: call ops.output_backward, "
                           "ops.block_backward and ops.embedding_backward, never tt.<name> or your own exercises",
                           right)] + bypassed)
