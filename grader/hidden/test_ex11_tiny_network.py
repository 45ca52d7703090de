"""Hidden checks of exercise 11: the tiny network's forward pass and every gradient.

Expected values come from tt's linear and ReLU layers on one-row batches (the network
is linear -> ReLU -> linear) and the closed-form derivative of 0.5 * sum(err^2). The
backward checks get a TinyCache built here, so they do not depend on tiny_forward.
"""
import numpy as np
import pytest

import tt
from exercises.ex11_tiny_network import SEED, TinyCache, TinyGrads
from grader.checks import GradeFailure, expect, in_float64, tolerance
from grader.hidden.support import call, expect_number

MODULE = "ex11_tiny_network"
FIELDS = TinyGrads._fields          # doutput, dW2, db2, dhidden, dW1, db1


@pytest.fixture(autouse=True)
def tiny_records(sandbox):
    """Let TinyCache and TinyGrads (the exercise's own records) travel back from the worker."""
    for cls in (TinyCache, TinyGrads):
        if sandbox.records(cls.__name__) is None:
            sandbox.records.add(cls)


def random_inputs(rng, D, Hd, K, dtype=np.float64):
    """Inputs whose pre-activations z have both signs and none near ReLU's kink."""
    x, W1 = rng.standard_normal(D), rng.standard_normal((D, Hd))
    z = rng.uniform(0.1, 1.5, Hd) * np.where(np.arange(Hd) % 2 == 0, 1.0, -1.0)
    z = rng.permutation(z)
    inp = {"x": x, "W1": W1, "b1": z - x @ W1, "W2": rng.standard_normal((Hd, K)),
           "b2": rng.standard_normal(K), "target": rng.standard_normal(K)}
    return {k: v.astype(dtype) for k, v in inp.items()}


def forward(inp):
    """(loss, TinyCache) from tt's layers."""
    z, _ = tt.linear_forward(inp["x"][None], inp["W1"], inp["b1"])        # (1, Hd)
    hidden, _ = tt.relu_forward(z)
    output, _ = tt.linear_forward(hidden, inp["W2"], inp["b2"])           # (1, K)
    err = (output - inp["target"])[0].astype(np.float64)
    return 0.5 * float(err @ err), TinyCache(inp["x"], inp["W2"], z[0], hidden[0], output[0], inp["target"])


def backward(dloss, cache):
    """(TinyGrads, dz) from tt's layers; dloss * (output - target) is d(0.5 sum err^2)."""
    x, W2, z, hidden, output, target = cache
    doutput = dloss * (output - target)                                  # (K,)
    dhidden, dW2, db2 = tt.linear_backward(doutput[None], tt.layers.LinearCache(hidden[None], W2, W2[0]))
    dz = tt.relu_backward(dhidden, tt.layers.ReluCache(z[None]))
    W1 = np.zeros((x.shape[0], z.shape[0]), dtype=x.dtype)              # dW1 and db1 need only x
    _, dW1, db1 = tt.linear_backward(dz, tt.layers.LinearCache(x[None], W1, z))
    return TinyGrads(doutput, dW2, db2, dhidden[0], dW1, db1), dz[0]


def unambiguous(variants):
    """The variants that no other one equals on the gradients they name: where two mistakes
    give the same numbers, the feedback cannot tell which was made, and names neither."""
    def same(a, b):
        shared = set(a) & set(b)
        return bool(shared) and all(np.array_equal(a[k], b[k]) for k in shared)
    return [(label, arrays) for i, (label, arrays) in enumerate(variants)
            if not any(same(arrays, other) for j, (_, other) in enumerate(variants) if j != i)]


def variants(dloss, cache):
    right, dz = backward(dloss, cache)
    dhidden = right.dhidden
    out = [("the ReLU gate is missing: the gradient reaches z only where z > 0, so dz = dhidden "
            "where z > 0 and 0 elsewhere", {"dW1": np.outer(cache.x, dhidden), "db1": dhidden}),
           ("dhidden should be the gradient of the loss with respect to hidden, before the ReLU gate "
            "(the gate belongs to dz)", {"dhidden": dz}),
           ("the ReLU gate is taken from the sign of the incoming gradient; it is the sign of the "
            "pre-activation z that decides: dz = dhidden where z > 0",
            {"dW1": np.outer(cache.x, np.where(dhidden > 0, dhidden, 0)),
             "db1": np.where(dhidden > 0, dhidden, 0).astype(dhidden.dtype)}),
           ("dW2 is transposed: it has the shape of W2, (Hd, K), so it is np.outer(hidden, doutput)",
            {"dW2": right.dW2.T}),
           ("dW1 is transposed: it has the shape of W1, (D, Hd), so it is np.outer(x, dz)", {"dW1": right.dW1.T}),
           ("dW2 is computed from z, the pre-activation: what enters the second layer is hidden = ReLU(z), so "
            "dW2 = np.outer(hidden, doutput)", {"dW2": np.outer(cache.z, right.doutput)})]
    if np.any(cache.z == 0):
        at_kink = np.where(cache.z >= 0, dhidden, 0).astype(dhidden.dtype)
        out.insert(0, ("at z = 0 exactly the gradient is let through: ReLU's derivative there is 0 (the "
                       "seed's convention, as in exercise 3), so the gate is z > 0, not z >= 0",
                       {"dW1": np.outer(cache.x, at_kink), "db1": at_kink}))
    if dloss != 1.0:
        out.append(("dloss is left out: every gradient is dloss times the gradient of the loss",
                    {name: g / dloss for name, g in zip(FIELDS, right)}))
    return unambiguous(out)


# ------------------------------------------------------------------ tolerances
# Every value is compared with its exact answer: the same formulas in float64 on exactly the
# student's inputs (in_float64), at grader.checks.tolerance = 8 (terms + depth) eps(answer's
# dtype) x max|magnitude| / max|expected|, the magnitude being the same computation on
# absolute values (the sum of |terms| behind each entry, whatever order they are summed in).
#   forward:  z = x W1 + b1 (D + 1 terms), output = ReLU(z) W2 + b2 (Hd + 1 more, and z's
#             round-off carried through |W2|), err = output - target, loss = 0.5 sum err^2
#             (K terms, each err carried with weight |err|): terms D + Hd + K + 2, depth 3;
#             magnitudes |x||W1| + |b1|, then |hidden-bound||W2| + |b2|, then
#             sum |err| (|output-bound| + |target|).
#   backward: doutput = dloss (output - target) (a subtraction, a product, dloss rounded to
#             the dtype), dhidden = W2 doutput (K terms), the outer products (one product),
#             the gate (exact): terms K, depth 3; magnitudes |dloss| (|output| + |target|),
#             |W2| that, |hidden| and |x| times them.
# Every known mistake (the 0.5, the gate, a transpose, dloss) is off by the size of the
# answer itself, far outside.
def forward_rtols(inp):
    """{name: rtol} of the loss and the cached z, hidden, output (inputs in float64 already)."""
    a = {k: np.abs(v) for k, v in inp.items()}
    D, Hd = inp["W1"].shape
    K = inp["W2"].shape[1]
    mz = a["x"] @ a["W1"] + a["b1"]
    mh = np.where(inp["x"] @ inp["W1"] + inp["b1"] > 0, mz, 0.0)
    mo = mh @ a["W2"] + a["b2"]
    loss, want = forward(inp)
    err = np.abs(want.output - inp["target"])
    mloss = float(err @ (mo + a["target"]))
    tol = lambda mag, exact: tolerance(np.float64, terms=D + Hd + K + 2, depth=3, magnitude=mag, expected=exact)
    return {"loss": tol(mloss, loss), "cache.z": tol(mz, want.z), "cache.hidden": tol(mh, want.hidden),
            "cache.output": tol(mo, want.output)}


def backward_rtols(dloss, cache64, expected, dtype):
    """{field: rtol} of tiny_backward's six gradients (cache64: the cache in float64)."""
    x, W2, z, hidden, output, target = cache64
    mdo = abs(dloss) * (np.abs(output) + np.abs(target))
    mdh = np.abs(W2) @ mdo
    mdz = np.where(z > 0, mdh, 0.0)
    mags = {"doutput": mdo, "dW2": np.outer(np.abs(hidden), mdo), "db2": mdo, "dhidden": mdh,
            "dW1": np.outer(np.abs(x), mdz), "db1": mdz}
    K = output.shape[0]
    return {f: tolerance(dtype, terms=K, depth=3, magnitude=mags[f], expected=e)
            for f, e in zip(FIELDS, expected)}


def gates_differ(dloss, cache):
    """Whether a gate taken from dhidden's sign (a usual mistake) differs from z's somewhere, so
    that it cannot pass by chance (a case where they agree is drawn again)."""
    dhidden = cache.W2 @ (dloss * (cache.output - cache.target))
    return bool(np.any((dhidden > 0) != (cache.z > 0)))


def backward_case(rng, make, dloss=1.0):
    """make(rng) -> (loss, cache), drawn until gates_differ."""
    while True:
        _, cache = make(rng)
        if gates_differ(dloss, cache):
            return cache


def check_backward(student, dloss, cache):
    got = call(student, MODULE, "tiny_backward", dloss, cache)
    dtype = cache.x.dtype
    cache64 = in_float64(cache)
    expected, _ = backward(dloss, cache64)
    expect(got, tuple(expected), FIELDS, function="tiny_backward", dtype=dtype,
           rtol=backward_rtols(dloss, cache64, expected, dtype), variants=variants(dloss, cache64))
    return got


def check_forward(student, inp):
    got = call(student, MODULE, "tiny_forward", *(inp[k] for k in ("x", "W1", "b1", "W2", "b2", "target")))
    if not (isinstance(got, tuple) and len(got) == 2):
        raise GradeFailure(f"tiny_forward should return (loss, cache), but it returned a {type(got).__name__}")
    loss, cache = got
    inp = in_float64(inp)
    want_loss, want = forward(inp)
    rtol = forward_rtols(inp)
    # the usual mistakes, each as the whole forward pass it gives, so that the loss, checked
    # first, already names them
    z = inp["x"] @ inp["W1"] + inp["b1"]
    out_no_relu = z @ inp["W2"] + inp["b2"]
    err_no_relu = out_no_relu - inp["target"]
    relu_missing = ("hidden should be ReLU(z) = max(z, 0): the ReLU is left out, so the units with z < 0 "
                    "still pass their value on")
    loss_variants = [("the loss is 0.5 * sum((output - target)^2): the factor 0.5 is missing", 2 * want_loss),
                     (relu_missing, 0.5 * float(err_no_relu @ err_no_relu))]
    expect_number(loss, want_loss, "the loss", function="tiny_forward", rtol=rtol["loss"], python_float=True,
                  variants=loss_variants)
    if not (hasattr(cache, "_fields") and {"z", "hidden", "output"} <= set(cache._fields)):
        raise GradeFailure("tiny_forward: the cache should be a TinyCache(x, W2, z, hidden, output, target)")
    expect((cache.z, cache.hidden, cache.output), (want.z, want.hidden, want.output),
           ("cache.z", "cache.hidden", "cache.output"), function="tiny_forward", rtol=rtol,
           variants=[(relu_missing, {"cache.hidden": want.z, "cache.output": out_no_relu})])


def seed_shaped(rng):
    """The seed's 2 -> 2 -> 1 network (exercises' SEED) with random values drawn per
    submission, so that no answer can be written down in advance; as in the seed, the first
    hidden unit is on and the second is switched off by the ReLU."""
    assert {k: np.shape(v) for k, v in SEED.items()} == {k: np.shape(v) for k, v in random_inputs(rng, 2, 2, 1).items()}
    x, W1 = rng.standard_normal(2), rng.standard_normal((2, 2))
    z = np.array([rng.uniform(0.1, 1.5), -rng.uniform(0.1, 1.5)])
    return {"x": x, "W1": W1, "b1": z - x @ W1, "W2": rng.standard_normal((2, 1)), "b2": rng.standard_normal(1),
            "target": rng.standard_normal(1)}


@pytest.mark.points(2)
def test_seed_forward(student, rng):
    """The seed's 2 -> 2 -> 1 network with random values: the loss 0.5 (output - target)^2 and the cached z, hidden and output."""
    check_forward(student, seed_shaped(rng))


@pytest.mark.points(2)
def test_seed_backward(student, rng):
    """The seed's 2 -> 2 -> 1 network with random values, dloss = 1: all six gradients, with the second hidden unit switched off by the ReLU."""
    check_backward(student, 1.0, backward_case(rng, lambda r: forward(seed_shaped(r))))


@pytest.mark.points(1)
def test_forward_random_sizes(student, rng):
    """tiny_forward for random sizes D -> Hd -> K."""
    D, Hd, K = (int(v) for v in rng.integers(2, 7, 3))
    check_forward(student, random_inputs(rng, D, Hd, K))


@pytest.mark.points(3)
def test_backward_random_sizes(student, rng):
    """tiny_backward for random sizes D -> Hd -> K (K >= 2) and a dloss other than 1."""
    D, Hd = (int(v) for v in rng.integers(2, 7, 2))
    K = int(rng.integers(2, 5))
    dloss = float(rng.uniform(0.2, 0.8))
    check_backward(student, dloss, backward_case(rng, lambda r: forward(random_inputs(r, D, Hd, K)), dloss))


@pytest.mark.points(1)
def test_backward_at_the_kink(student, rng):
    """Pre-activations exactly 0 (ReLU's kink) beside positive and negative ones, in float64 and float32: the gradient does not pass where z = 0."""
    def at_the_kink(rng, dtype):
        inp = random_inputs(rng, 3, 6, 2, dtype)
        _, cache = forward(inp)
        z = cache.z.copy()
        z[rng.choice(6, 2, replace=False)] = 0.0          # two hidden units exactly at the kink
        cache = cache._replace(z=z, hidden=np.maximum(z, 0))
        return None, cache._replace(output=(cache.hidden @ cache.W2 + inp["b2"]).astype(dtype))

    for dtype in (np.float64, np.float32):
        check_backward(student, 1.0, backward_case(rng, lambda r: at_the_kink(r, dtype)))


@pytest.mark.points(1)
def test_float32_keeps_dtype(student, rng):
    """float32 inputs: every gradient is float32 too."""
    check_backward(student, 1.0, backward_case(rng, lambda r: forward(random_inputs(r, 3, 4, 2, np.float32))))


@pytest.mark.points(1)
def test_returns_tinygrads(student, rng):
    """tiny_backward returns a TinyGrads, so that g.dW1 works."""
    got = check_backward(student, 1.0, backward_case(rng, lambda r: forward(random_inputs(r, 2, 3, 1))))
    if type(got).__name__ != "TinyGrads":
        raise GradeFailure(f"tiny_backward returned a {type(got).__name__}, not a TinyGrads",
                           "return TinyGrads(doutput, dW2, db2, dhidden, dW1, db1)")
