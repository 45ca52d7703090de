"""Hidden checks of exercise 1: dloss/dlogits = p - one_hot, for one example and a batch mean."""
import numpy as np
import pytest

import tt
from grader.checks import expect, tolerance
from grader.hidden import magnitude
from grader.hidden.support import call, expect_exact

MODULE = "ex01_softmax_cross_entropy"


def probabilities(rng, V, scale=3.0, dtype=np.float64):
    """A softmax of random logits: rows of positive numbers that sum to 1."""
    return tt.softmax_forward((scale * rng.standard_normal(V)).astype(dtype))[0]


def batch(rng, B, V=20, scale=3.0, dtype=np.float64):
    """The forward pass on random logits and targets: (logits, cache)."""
    logits = (scale * rng.standard_normal((B, V))).astype(dtype)
    targets = rng.integers(0, V, B)
    _, cache = tt.softmax_cross_entropy_forward(logits, targets)
    return logits, cache


def one_variants(probs, target):
    """Typical mistakes for one example."""
    return [("it equals probs itself: the target's entry is p_t - 1, since -log p_t also depends "
             "on z_t directly", {"grad": probs}),
            ("only the target's entry is set: every other logit z_j raises the denominator of p_t, "
             "so its gradient is p_j, not 0", {"grad": np.where(np.arange(probs.size) == target,
                                                               probs - 1, 0.0).astype(probs.dtype)}),
            (SOFTMAX_AGAIN, {"grad": softmax_again(probs) - (np.arange(probs.size) == target)}),
            ("1 is subtracted from every entry: only the target's entry is p_t - 1, the others stay p_j",
             {"grad": probs - 1})]


SOFTMAX_AGAIN = ("the softmax is applied again: probs are already the probabilities p = softmax(z), so the "
                 "gradient is probs - one_hot, with no exp")


def softmax_again(p):
    e = np.exp(p - p.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def batch_variants(dloss, cache):
    """Typical mistakes for the batch mean, computed from the reference."""
    right = tt.softmax_cross_entropy_backward(dloss, cache)
    probs, targets = cache
    B, V = probs.shape
    columns = probs.copy()
    columns[:, targets] -= 1                  # every row, at every target's column
    return [("`dlogits[:, targets] -= 1` subtracts 1 in EVERY row at every target's column: index the "
             "pairs (row b, column targets[b]), dlogits[np.arange(B), targets] -= 1",
             {"dlogits": columns * (dloss / B)}),
            ("the mean is taken over the vocabulary V, not over the batch B: the loss averages the B "
             "examples' losses", {"dlogits": right * B / V}),
            ("it is B times too large: the loss is the MEAN over the batch, so every row gets 1/B "
             "of the single-example gradient", {"dlogits": right * B}),
            ("dloss is left out: the gradient flowing into the loss multiplies everything",
             {"dlogits": right / dloss}),
            ("it is divided by B twice", {"dlogits": right / B}),
            (SOFTMAX_AGAIN, {"dlogits": (softmax_again(probs) - (np.arange(V) == targets[:, None])) * (dloss / B)}),
            ("every row subtracts 1 at the FIRST example's target: row b's target is targets[b]",
             {"dlogits": (probs - (np.arange(V) == targets[0])) * (dloss / B)}),
            ("every row starts from the FIRST example's probabilities: row b's gradient is probs[b] - "
             "one_hot(targets[b])", {"dlogits": (probs[0] - (np.arange(V) == targets[:, None])) * (dloss / B)})]


def check_batch(student, dloss, cache):
    """Against the exact answer (float64, same inputs): one subtraction, a scale by dloss / B."""
    got = call(student, MODULE, "softmax_cross_entropy_backward", dloss, cache)
    expect_exact(got, ("dlogits",), function="softmax_cross_entropy_backward",
                 reference=tt.softmax_cross_entropy_backward, args=(dloss, cache),
                 magnitude=magnitude.cross_entropy, terms=1, depth=3, dtype=cache.probs.dtype,
                 variants=lambda d, c: batch_variants(float(d), c))


def check_one(got, probs, target):
    """p - one_hot against the exact answer in float64: one rounding (p_t - 1) at most."""
    p64 = probs.astype(np.float64)
    exact = p64.copy()
    exact[target] -= 1
    rtol = tolerance(probs.dtype, terms=0, depth=1, magnitude=p64 + (np.arange(p64.size) == target),
                     expected=exact)
    expect(got, exact, ("grad",), function="cross_entropy_grad_one", rtol=rtol, dtype=probs.dtype,
           variants=one_variants(p64, target))


@pytest.mark.points(2)
def test_one_example(student, rng):
    """cross_entropy_grad_one on a random probability vector of 20 tokens and a random target."""
    probs, target = probabilities(rng, 20), int(rng.integers(20))
    got = call(student, MODULE, "cross_entropy_grad_one", probs, target)
    check_one(got, probs, target)


@pytest.mark.points(1)
def test_one_example_confident_and_float32(student, rng):
    """One example in float32, with large logits (a near one-hot p): the result is float32 and exact."""
    probs, target = probabilities(rng, 11, scale=30.0, dtype=np.float32), int(rng.integers(11))
    got = call(student, MODULE, "cross_entropy_grad_one", probs, target)
    check_one(got, probs, target)


@pytest.mark.points(2)
def test_batch_mean(student, rng):
    """softmax_cross_entropy_backward on a random batch of 7 with dloss = 1: each row is (p - one_hot) / B."""
    _, cache = batch(rng, 7)
    check_batch(student, 1.0, cache)


@pytest.mark.points(1)
def test_batch_scaled_dloss(student, rng):
    """dloss = 0.37 (the loss is part of a larger sum), with a repeated target in the batch."""
    _, cache = batch(rng, 5)
    cache.targets[3] = cache.targets[1]
    check_batch(student, 0.37, cache)


@pytest.mark.points(1)
def test_batch_large_logits_float32(student, rng):
    """Large logits (around 1e3) in float32, batch of 6: probabilities of exactly 0 and 1, the result float32."""
    _, cache = batch(rng, 6, V=20, scale=1000.0, dtype=np.float32)
    check_batch(student, 1.0, cache)


@pytest.mark.points(1)
def test_batch_of_one(student, rng):
    """A batch of 1: the mean is the one example's gradient, p - one_hot."""
    _, cache = batch(rng, 1)
    check_batch(student, 1.0, cache)
