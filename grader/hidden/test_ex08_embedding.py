"""Hidden checks of exercise 8: embedding backward, where a repeated token's gradients accumulate."""
import numpy as np
import pytest

import tt
from grader.hidden import magnitude
from grader.hidden.support import call, expect_exact, upstream

MODULE, FUNCTION = "ex08_embedding", "embedding_backward"


def case(rng, tokens, V=20, C=64, dtype=np.float64):
    E = rng.standard_normal((V, C)).astype(dtype)
    x, cache = tt.embedding_forward(np.asarray(tokens), E)
    return upstream(rng, x.shape, dtype), cache


def variants(dout, cache):
    tokens, E = cache
    flat, rows = tokens.reshape(-1), dout.reshape(-1, E.shape[1])
    last_wins = np.zeros(E.shape, dtype=dout.dtype)
    last_wins[flat] += rows                     # buffered: one gradient per repeated token survives
    counts = np.bincount(flat, minlength=E.shape[0])[:, None]
    mean = tt.embedding_backward(dout, cache) / np.maximum(counts, 1)
    first = np.zeros(E.shape, dtype=np.float64)
    np.add.at(first, tokens[0], dout[0])
    ends = []
    for t, which in ((0, "first"), (-1, "last")):
        one = np.zeros(E.shape, dtype=np.float64)
        np.add.at(one, tokens[:, t], dout[:, t])
        ends.append((f"only the {which} position of each sequence is collected: every position (b, t) read "
                     f"row tokens[b, t] of E, so dE sums over the batch AND the positions", {"dE": one}))
    out = ends if tokens.shape[1] > 1 else []
    out += [("only the first sequence's gradients are collected: every sequence of the batch reads rows "
            "of E, so dE sums over the batch AND the positions", {"dE": first})] if tokens.shape[0] > 1 else []
    return out + [("a repeated token keeps only one of its gradients: `dE[tokens] += dout` reads every row "
             "first and writes them back one by one, so the last write wins; a token read twice must "
             "collect both gradients (np.add.at, or a loop)", {"dE": last_wins}),
            ("a repeated token's gradients are averaged: they must be summed, since each read of the "
             "row reached the loss", {"dE": mean})] + ([
            ("dE is divided by the batch size: the loss's 1/B is already in dout, so every read of a row adds "
             "its dout[b, t] unscaled", {"dE": tt.embedding_backward(dout, cache) / tokens.shape[0]})]
            if tokens.shape[0] > 1 else [])


def check(student, dout, cache):
    """Against the exact answer: a row sums one gradient per read of its token (np.add.at, a
    loop, bincount or a one-hot product: any order)."""
    got = call(student, MODULE, FUNCTION, dout, cache)
    expect_exact(got, ("dE",), function=FUNCTION, reference=tt.embedding_backward, args=(dout, cache),
                 magnitude=magnitude.embedding, terms=cache.tokens.size, depth=1, variants=variants)


@pytest.mark.points(2)
def test_seed_example_repeated_comma(student, rng):
    """The seed's Max(1,6,2), [15,17,3,19,8,19,4,18], as a batch of 1: the comma (19) is read at positions 3 and 5."""
    check(student, *case(rng, [[15, 17, 3, 19, 8, 19, 4, 18]]))


@pytest.mark.points(2)
def test_random_batch_with_repeats(student, rng):
    """A batch of 16 random sequences of 8 tokens (many repeats, within and across examples; some tokens absent)."""
    tokens = rng.integers(2, 14, (16, 8))       # tokens 0, 1 and 14..19 never occur: their rows are 0
    check(student, *case(rng, tokens))


@pytest.mark.points(1)
def test_one_token_everywhere_float32(student, rng):
    """Every position holds the same token, in float32, with V = 7 and C = 6: one row sums all 12 gradients."""
    check(student, *case(rng, np.full((3, 4), 5), V=7, C=6, dtype=np.float32))


@pytest.mark.points(1)
def test_no_repeats(student, rng):
    """Eight distinct tokens in one sequence: every row read once, the rest 0."""
    check(student, *case(rng, rng.permutation(20)[None, :8]))
