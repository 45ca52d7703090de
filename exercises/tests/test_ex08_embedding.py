"""Exercise 8: embedding backward with accumulation over repeated tokens."""
import numpy as np
import pytest

import tt
from exercises.tests import harness as h

pytestmark = pytest.mark.ex08


def expected_dE(tokens, E, dout):
    """Finite differences of the forward with respect to E (any E gives the same: x is linear in E)."""
    return h.vjp(lambda E: tt.embedding_forward(tokens, E), {"E": E}, dout)["E"]


def test_seed_max_1_6_2_the_comma_collects_both_positions(impl):
    """Seed Part 5: Max(1,6,2) -> [15, 17, 3, 19, 8, 19, 4, 18]; the comma (19) is at positions 3 and 5."""
    ex = impl("ex08_embedding")
    tokens = np.array([tt.encode("Max(1,6,2)")])
    assert tokens.tolist() == [[15, 17, 3, 19, 8, 19, 4, 18]]
    E = h.rng(1).standard_normal((20, 64))
    _, cache = tt.embedding_forward(tokens, E)
    dout = h.random_dout((1, 8, 64))
    dE = h.check_array("embedding_backward", "dE", ex.embedding_backward(dout, cache), E.shape, like=E)
    # by hand: each token's row gets the gradient of the positions that read it
    by_hand = np.zeros((20, 64))
    for token, position in {15: 0, 17: 1, 3: 2, 8: 4, 4: 6, 18: 7}.items():
        by_hand[token] = dout[0, position]
    by_hand[19] = dout[0, 3] + dout[0, 5]                 # the comma: both positions
    hint = None
    for only in (3, 5):
        if np.allclose(dE[19], dout[0, only]):
            hint = (f"dE[19] (the comma) holds only the gradient of position {only}; it must be "
                    f"dout[0, 3] + dout[0, 5]. With a repeated index, `dE[tokens] += dout` writes the "
                    f"row twice instead of adding twice (try it on a tiny array); accumulate")
    if hint is None and not np.all(dE[[0, 1, 2, 5, 6, 7, 9, 10, 11, 12, 13, 14, 16]] == 0):
        hint = "rows of tokens that do not occur in the input must be exactly 0"
    h.check("embedding_backward", "dE", dE, by_hand, like=E, hint=hint)
    h.check("embedding_backward", "dE", dE, expected_dE(tokens, E, dout), like=E)


@pytest.mark.parametrize("B,T,V,C", [(3, 8, 20, 16), (2, 5, 7, 4), (1, 1, 20, 8)])
def test_embedding_backward(impl, B, T, V, C):
    ex = impl("ex08_embedding")
    r = h.rng(B * T)
    tokens = r.integers(0, V, (B, T))           # repeats within and across sequences
    E = r.standard_normal((V, C))
    _, cache = tt.embedding_forward(tokens, E)
    dout = h.random_dout((B, T, C))
    dE = ex.embedding_backward(dout, cache)
    h.check("embedding_backward", "dE", dE, expected_dE(tokens, E, dout), like=E)


def test_embedding_backward_float32(impl):
    ex = impl("ex08_embedding")
    r = h.rng(32)
    tokens = r.integers(0, 20, (4, 8))
    E = r.standard_normal((20, 64)).astype(np.float32)
    _, cache = tt.embedding_forward(tokens, E)
    dout = h.random_dout((4, 8, 64)).astype(np.float32)
    dE = ex.embedding_backward(dout, cache)
    h.check("embedding_backward", "dE", dE, expected_dE(tokens, E, dout), like=E)


def test_a_token_repeated_everywhere_sums_every_position(impl):
    """Every position reads token 5: dE[5] is the sum of all B*T gradients, not the last one."""
    ex = impl("ex08_embedding")
    tokens = np.full((2, 8), 5)
    E = h.rng(3).standard_normal((20, 16))
    before = E.copy()
    _, cache = tt.embedding_forward(tokens, E)
    dout = h.random_dout((2, 8, 16))
    dE = ex.embedding_backward(dout, cache)
    assert np.array_equal(E, before), "embedding_backward changed the embedding matrix E; return a new array"
    h.check_array("embedding_backward", "dE", dE, E.shape, like=E)
    stale = np.zeros((20, 16))
    stale[tokens.reshape(-1)] += dout.reshape(-1, 16)     # the non-accumulating variant
    h.check("embedding_backward", "dE", dE, expected_dE(tokens, E, dout), like=E,
            hint="dE[5] is the gradient of ONE position, but all 16 positions read token 5. "
                 "Fancy-index `+=` does not accumulate repeated indices: use np.add.at or a loop over positions"
            if np.allclose(dE, stale) else None)
