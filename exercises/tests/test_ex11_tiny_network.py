"""Exercise 11: the seed's 2 -> 2 -> 1 network, worked by hand, then any size by finite differences.

Sizes as in the exercise: C inputs, F hidden units, V outputs (the seed's C = 2, F = 2, V = 1).
"""
import numpy as np
import pytest

from exercises.tests import harness as h

pytestmark = pytest.mark.ex11

FIELDS = ("doutput", "dW2", "db2", "dhidden", "dW1", "db1")


def seed_inputs(dtype=np.float64):
    return {"x": np.array([2.0, 1.0], dtype),
            "W1": np.array([[0.5, -0.3], [0.2, 0.4]], dtype),
            "b1": np.array([0.1, -0.1], dtype),
            "W2": np.array([[0.6], [0.3]], dtype),
            "b2": np.array([0.2], dtype),
            "target": np.array([1.5], dtype)}


# The seed's network, every value recorded from an exact computation (fractions; the
# maintainers' tests/test_public_recorded.py recomputes them). Work them out by hand first.
BY_HAND = {"z": [1.3, -0.3], "hidden": [1.3, 0.0], "output": [0.98], "loss": 0.1352,
           "doutput": [-0.52], "dW2": [[-0.676], [0.0]], "db2": [-0.52], "dhidden": [-0.312, -0.156],
           "dW1": [[-0.624, 0.0], [-0.312, 0.0]], "db1": [-0.312, 0.0]}


def test_seed_forward_by_hand(impl):
    ex = impl("ex11_tiny_network")
    inp = seed_inputs()
    loss, cache = h.returned("tiny_forward", ex.tiny_forward(**inp), 2)
    h.check_number("tiny_forward", "the loss", loss, BY_HAND["loss"], tol=1e-12,
                   hint="work the forward pass out by hand, line by line, as the module docstring writes it")
    for name in ("z", "hidden", "output"):
        h.check("tiny_forward", f"cache.{name}", getattr(cache, name), np.array(BY_HAND[name]),
                like=inp["x"], tol=1e-12)


def test_seed_backward_by_hand(impl):
    ex = impl("ex11_tiny_network")
    _, cache = ex.tiny_forward(**seed_inputs())
    grads = h.returned("tiny_backward", ex.tiny_backward(1.0, cache), 6)
    for name, got in zip(FIELDS, grads):
        h.check("tiny_backward", name, got, np.array(BY_HAND[name]), like=seed_inputs()["x"], tol=1e-12)
    assert getattr(grads, "_fields", None) == FIELDS, \
        "tiny_backward should return TinyGrads(doutput, dW2, db2, dhidden, dW1, db1), so g.dW1 works"


def test_a_dead_relu_unit_gets_no_gradient(impl):
    """The second hidden unit is off (z[1] < 0): nothing reaches W1[:, 1] or b1[1] (the seed's
    sparse gradients), although dhidden[1] is not zero."""
    ex = impl("ex11_tiny_network")
    inp = seed_inputs()
    _, cache = ex.tiny_forward(**inp)
    g = h.returned("tiny_backward", ex.tiny_backward(1.0, cache), 6)
    for name, got in zip(FIELDS, g):
        h.check_array("tiny_backward", name, got, np.shape(BY_HAND[name]), like=inp["x"])
    doutput, dW2, db2, dhidden, dW1, db1 = g
    assert dhidden[1] != 0, "tiny_backward: dhidden[1] should not be zero here (it is recorded in BY_HAND)"
    assert np.all(dW1[:, 1] == 0) and db1[1] == 0, (
        f"tiny_backward: the second hidden unit is off (z = -0.3): dW1[:, 1] and db1[1] must be exactly 0, "
        f"got {dW1[:, 1]}, {db1[1]}")


# ------------------------------------------------------------ any size, by differences
def random_inputs(C, F, V, seed, dtype=np.float64):
    r = h.rng(seed)
    x, W1 = r.standard_normal(C), r.standard_normal((C, F))
    z = h.away_from_kink(r.standard_normal(F), margin=0.1)       # both signs, none near 0
    return {k: v.astype(dtype) for k, v in {
        "x": x, "W1": W1, "b1": z - x @ W1, "W2": r.standard_normal((F, V)),
        "b2": r.standard_normal(V), "target": r.standard_normal(V)}.items()}


def expected_grads(inp, dloss):
    """By finite differences of the network written out here, in float64."""
    f = {k: v.astype(np.float64) for k, v in inp.items()}

    def net(x, W1, b1, W2, b2):
        out = np.maximum(x @ W1 + b1, 0) @ W2 + b2
        return np.array(0.5 * np.sum((out - f["target"]) ** 2)), None

    g = h.vjp(net, {k: f[k] for k in ("x", "W1", "b1", "W2", "b2")}, dloss)
    hidden = np.maximum(f["x"] @ f["W1"] + f["b1"], 0)
    output = hidden @ f["W2"] + f["b2"]
    g["dhidden"] = h.vjp(lambda hid: (np.array(0.5 * np.sum((hid @ f["W2"] + f["b2"] - f["target"]) ** 2)), None),
                         {"hid": hidden}, dloss)["hid"]
    g["doutput"] = h.vjp(lambda o: (np.array(0.5 * np.sum((o - f["target"]) ** 2)), None),
                         {"o": output}, dloss)["o"]
    return {"doutput": g["doutput"], "dW2": g["W2"], "db2": g["b2"], "dhidden": g["dhidden"],
            "dW1": g["W1"], "db1": g["b1"]}


@pytest.mark.parametrize("C,F,V,dloss", [(2, 2, 1, 1.0), (3, 5, 2, 1.0), (4, 7, 3, 0.3)])
def test_random_networks(impl, C, F, V, dloss):
    ex = impl("ex11_tiny_network")
    inp = random_inputs(C, F, V, seed=C * 10 + F)
    loss, cache = h.returned("tiny_forward", ex.tiny_forward(**inp), 2)
    out = np.maximum(inp["x"] @ inp["W1"] + inp["b1"], 0) @ inp["W2"] + inp["b2"]
    h.check_number("tiny_forward", "the loss", loss, 0.5 * np.sum((out - inp["target"]) ** 2))
    grads = h.returned("tiny_backward", ex.tiny_backward(dloss, cache), 6)
    expected = expected_grads(inp, dloss)
    for name, got in zip(FIELDS, grads):
        h.check("tiny_backward", name, got, expected[name], like=inp["x"])


def test_float32_stays_float32(impl):
    ex = impl("ex11_tiny_network")
    inp = random_inputs(3, 4, 2, seed=5, dtype=np.float32)
    _, cache = ex.tiny_forward(**inp)
    grads = h.returned("tiny_backward", ex.tiny_backward(1.0, cache), 6)
    expected = expected_grads(inp, 1.0)
    for name, got in zip(FIELDS, grads):
        h.check("tiny_backward", name, got, expected[name], like=inp["x"])
