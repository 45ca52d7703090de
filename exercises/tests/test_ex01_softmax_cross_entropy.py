"""Exercise 1: dloss/dlogits = p - one_hot, for one example and for a batch mean."""
import numpy as np
import pytest

import tt
from exercises.tests import harness as h

pytestmark = pytest.mark.ex01


def test_one_example_question_7(impl):
    """The seed's question 7: logits [0.5, 1.2, -0.3, 2.1], target 3."""
    ex = impl("ex01_softmax_cross_entropy")
    logits = np.array([0.5, 1.2, -0.3, 2.1])
    probs = np.exp(logits) / np.exp(logits).sum()
    grad = ex.cross_entropy_grad_one(probs, 3)

    def loss(z):
        return np.array(-np.log(np.exp(z[3]) / np.exp(z).sum())), None

    h.check("cross_entropy_grad_one", "dlogits", grad, h.vjp(loss, {"z": logits}, 1.0)["z"], like=probs)
    assert grad[3] < 0 < grad[0], "the correct token's logit should be pushed up, the others down"


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_one_example_does_not_modify_probs_and_keeps_its_dtype(impl, dtype):
    """By hand: p - one_hot(1) = [0.1, 0.2 - 1, 0.7] = [0.1, -0.8, 0.7]."""
    ex = impl("ex01_softmax_cross_entropy")
    probs = np.array([0.1, 0.2, 0.7], dtype=dtype)
    grad = ex.cross_entropy_grad_one(probs, 1)
    assert np.array_equal(probs, np.array([0.1, 0.2, 0.7], dtype=dtype)), \
        "cross_entropy_grad_one changed its input probs: return a new array"
    h.check("cross_entropy_grad_one", "dlogits", grad, [0.1, -0.8, 0.7], like=probs)


@pytest.mark.parametrize("B", [1, 7])
@pytest.mark.parametrize("dloss", [1.0, 0.3])
def test_batch_mean(impl, B, dloss):
    ex = impl("ex01_softmax_cross_entropy")
    r = h.rng(B)
    logits = 3 * r.standard_normal((B, 20))
    targets = r.integers(0, 20, B)
    _, cache = tt.softmax_cross_entropy_forward(logits, targets)
    dlogits = ex.softmax_cross_entropy_backward(dloss, cache)

    def loss(logits):
        return np.array(tt.softmax_cross_entropy_forward(logits, targets)[0]), None

    expected = h.vjp(loss, {"logits": logits}, dloss)["logits"]
    h.check("softmax_cross_entropy_backward", "dlogits", dlogits, expected, like=logits)


def test_large_logits_and_float32(impl):
    ex = impl("ex01_softmax_cross_entropy")
    logits = np.array([[800.0, -800.0, 0.0, 799.0]], dtype=np.float32)
    _, cache = tt.softmax_cross_entropy_forward(logits, np.array([3]))
    dlogits = ex.softmax_cross_entropy_backward(1.0, cache)
    e = np.exp(np.array([1.0, -1600.0, -800.0, 0.0]))
    expected = e / e.sum()
    expected[3] -= 1
    h.check("softmax_cross_entropy_backward", "dlogits", dlogits, expected[None], like=logits)
