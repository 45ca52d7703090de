"""Hidden checks of exercise 3: ReLU backward (sparse gradients) and the FFN's backward."""
import numpy as np
import pytest

import tt
from grader.checks import GradeFailure, expect
from grader.hidden import magnitude
from grader.hidden.mistakes import named_misuse, wiring_pieces
from grader.hidden.support import call, call_with, expect_exact, upstream
from grader.sandbox import CALLBACKS

MODULE = "ex03_relu_ffn"
FFN = ("dx", "dW1", "db1", "dW2", "db2")


def relu_case(rng, shape, dtype=np.float64, zeros=0):
    """Pre-activations of both signs, `zeros` of them exactly 0 (the kink): (dout, cache)."""
    z = rng.standard_normal(shape).astype(dtype)
    if zeros:
        z.reshape(-1)[rng.choice(z.size, zeros, replace=False)] = 0
    h, cache = tt.relu_forward(z)
    return upstream(rng, shape, dtype), cache


def relu_variants(dout, cache):
    z = cache.x
    return [("the gradient passes where z <= 0 and is blocked where z > 0: the mask is the wrong way round",
             {"dz": np.where(z <= 0, dout, 0).astype(dout.dtype)}),
            ("at z == 0 exactly the gradient is passed: the seed's rule is 1 only if z > 0",
             {"dz": np.where(z >= 0, dout, 0).astype(dout.dtype)}),
            ("dz is the mask itself (0 or 1), not dout times the mask: the chain rule multiplies "
             "the upstream gradient by the local slope", {"dz": (z > 0).astype(dout.dtype)}),
            ("the gate is the sign of dout, not of z: ReLU passes the gradient where its INPUT z was "
             "positive", {"dz": np.where(dout > 0, dout, 0).astype(dout.dtype)}),
            ("dz is dout unchanged: ReLU blocks the gradient wherever z <= 0", {"dz": dout})]


def check_relu(student, dout, cache):
    """Exact: ReLU's backward only copies or zeroes, so no rounding at all (terms 0, depth 0)."""
    got = call(student, MODULE, "relu_backward", dout, cache)
    expect_exact(got, ("dz",), function="relu_backward", reference=tt.relu_backward, args=(dout, cache),
                 magnitude=magnitude.relu, terms=0, depth=0, variants=relu_variants)


@pytest.mark.points(2)
def test_relu(student, rng):
    """relu_backward on a (B, T, F) = (3, 8, 256) array of both signs, 40 entries exactly 0 (the kink): exact, since it only copies or zeroes."""
    check_relu(student, *relu_case(rng, (3, 8, 256), zeros=40))


@pytest.mark.points(1)
def test_relu_at_the_kink_float32(student, rng):
    """Some pre-activations exactly 0, in float32, on a 2-D array: 0 blocks the gradient; dtype kept."""
    check_relu(student, *relu_case(rng, (5, 12), np.float32, zeros=10))


def ffn_case(rng, B, T, C, F, dtype=np.float64):
    x = rng.standard_normal((B, T, C))
    W1, b1 = rng.standard_normal((C, F)) / np.sqrt(C), 0.3 * rng.standard_normal(F)
    W2, b2 = rng.standard_normal((F, C)) / np.sqrt(F), 0.3 * rng.standard_normal(C)
    out, cache = tt.ffn_forward(*(a.astype(dtype) for a in (x, W1, b1, W2, b2)))
    return upstream(rng, out.shape, dtype), cache


def ffn_variants(dout, cache):
    """Assemblies that go wrong in the usual ways, built from the reference pieces."""
    lin1, relu, lin2 = cache
    dx, dW1, db1, dW2, db2 = tt.ffn_backward(dout, cache)
    dh, _, _ = tt.linear_backward(dout, lin2)
    no_gate = dict(zip(("dx", "dW1", "db1"), tt.linear_backward(dh, lin1)))
    return [("the ReLU is skipped: dh must go through ops.relu_backward before the first linear "
             "layer's backward", no_gate),
            ("the two layers' gradients are swapped: (dW1, db1) belong to the FIRST linear layer, "
             "z = x @ W1 + b1, and (dW2, db2) to the second", {"dW1": dW2, "db1": db2, "dW2": dW1, "db2": db1})]


def ffn_terms(dout, cache):
    """The longest sums: dx goes through C then F products, the weights sum over the rows too."""
    C, F = cache.lin1.W.shape
    return dout.size // C + C + F


def check_ffn(student, dout, cache):
    callbacks, misused = wiring_pieces(("linear_backward", "relu_backward"),
                                       {"LinearCache": "cache.lin1 or cache.lin2", "ReluCache": "cache.relu"},
                                       top=dout, top_cache=cache.lin2)
    try:
        got = call_with(student, MODULE, "ffn_backward", dout, cache, CALLBACKS, callbacks=callbacks)
        expect_exact(got, FFN, function="ffn_backward", reference=tt.ffn_backward, args=(dout, cache),
                     magnitude=magnitude.ffn, terms=ffn_terms(dout, cache), depth=3, variants=ffn_variants)
    except GradeFailure as failure:
        raise named_misuse(failure, misused) from None


@pytest.mark.points(3)
def test_ffn(student, rng):
    """ffn_backward at the model's sizes, (B, T, C) = (2, 8, 64) and F = 256; ops are the reference pieces."""
    check_ffn(student, *ffn_case(rng, 2, 8, 64, 256))


@pytest.mark.points(1)
def test_ffn_square_float32(student, rng):
    """C = F = 12 (W1 and W2 of one shape), a batch of 1, float32: the gradients are float32."""
    check_ffn(student, *ffn_case(rng, 1, 5, 12, 12, np.float32))


@pytest.mark.points(1)
def test_ffn_uses_ops(student, rng):
    """ffn_backward calls ops.linear_backward twice and ops.relu_backward once (exercise 15 passes your own)."""
    dout, cache = ffn_case(rng, 2, 3, 6, 10)
    calls = []

    def traced(name, fn):
        def piece(*args):
            calls.append(name)
            return fn(*args[:2])
        return piece

    callbacks = {"linear_backward": traced("linear_backward", tt.linear_backward),
                 "relu_backward": traced("relu_backward", tt.relu_backward)}
    got = call_with(student, MODULE, "ffn_backward", dout, cache, CALLBACKS, callbacks=callbacks)
    if sorted(calls) != ["linear_backward", "linear_backward", "relu_backward"]:
        raise GradeFailure(f"ffn_backward: it called {calls or 'none of the pieces'} through ops",
                           "use ops.linear_backward for both linear layers and ops.relu_backward for the "
                           "ReLU: exercise 15 plugs your own pieces in through ops")
    expect(got, tt.ffn_backward(dout, cache), FFN, function="ffn_backward", rtol=1e-10)
