"""Exercise 14: clipping by global norm (question 33), Exercise 3's attenuation ratio,
question 17's ten layers, and the gradient's size at each stage of a (small) real model."""
import math

import numpy as np
import pytest

import tt
from exercises.tests import harness as h

pytestmark = pytest.mark.ex14


# ------------------------------------------------------------------------ clipping
@pytest.mark.parametrize("grads,expected", [
    ({"g": [3.0, 4.0]}, 5.0),
    ({"a": [1.0, 2.0], "b": [[2.0]], "c": [4.0]}, 5.0),        # one norm for all the arrays
    ({"g": [1.5, -2.0]}, 2.5),
    ({"z": [[0.0, 0.0]]}, 0.0),
])
def test_global_norm(impl, grads, expected):
    ex = impl("ex14_clipping_gradflow")
    got = ex.global_norm({k: np.array(v) for k, v in grads.items()})
    h.check_number(f"global_norm({grads})", "the norm", got, expected, tol=1e-15)


def test_global_norm_of_float32_is_computed_in_float64(impl):
    ex = impl("ex14_clipping_gradflow")
    g = np.full(100_000, 0.1, dtype=np.float32)
    expected = math.sqrt(100_000 * float(np.float32(0.1)) ** 2)
    got = ex.global_norm({"g": g})
    h.check_number("global_norm", "the norm of 100,000 float32 entries of 0.1", got, expected, tol=1e-12,
                   hint="sum the squares in float64: float32 loses digits over 100,000 terms")


def test_question_33(impl):
    """Question 33: g = [1.5, -2.0] clipped to max_norm 1.0 (the norm and the clipped
    gradient recorded)."""
    ex = impl("ex14_clipping_gradflow")
    g = np.array([1.5, -2.0])
    clipped, norm = h.returned("clip_by_global_norm", ex.clip_by_global_norm({"g": g}, 1.0), 2)
    h.check_number("clip_by_global_norm", "the norm before clipping", norm, 2.5, tol=1e-15)
    h.check("clip_by_global_norm", "clipped['g']", clipped["g"], np.array([0.6, -0.8]), like=g, tol=1e-15)
    assert np.array_equal(g, [1.5, -2.0]), "clip_by_global_norm changed its input"


def test_clipping_scales_every_array_by_one_factor(impl):
    ex = impl("ex14_clipping_gradflow")
    r = h.rng(1)
    grads = {"W": r.standard_normal((4, 5)).astype(np.float32), "b": r.standard_normal(5).astype(np.float32),
             "E": 3 * r.standard_normal((2, 3)).astype(np.float32)}
    before = {k: v.copy() for k, v in grads.items()}
    norm = 9.591795982902442                 # recorded: the exact sum of squares, its root rounded
    clipped, got_norm = h.returned("clip_by_global_norm", ex.clip_by_global_norm(grads, 2.0), 2)
    h.check_number("clip_by_global_norm", "the norm before clipping", got_norm, norm, tol=1e-9)
    assert set(clipped) == set(grads), f"clipped should have the keys {sorted(grads)}, got {sorted(clipped)}"
    for k in grads:
        h.check_array("clip_by_global_norm", f"clipped[{k!r}]", clipped[k], grads[k].shape, like=grads[k])
    # every array multiplied by one and the same factor (the least-squares one of them all)
    factor = (sum(float(np.sum(clipped[k].astype(np.float64) * before[k])) for k in grads)
              / sum(float(np.sum(before[k].astype(np.float64) ** 2)) for k in grads))
    for k in grads:
        h.check("clip_by_global_norm", f"clipped[{k!r}]", clipped[k], before[k] * factor, like=grads[k],
                hint="one factor for every array")
    after = math.sqrt(sum(float(np.sum(v.astype(np.float64) ** 2)) for v in clipped.values()))
    assert abs(after - 2.0) <= 1e-5, f"after clipping the global norm should be max_norm = 2.0, got {after}"
    assert all(np.array_equal(grads[k], before[k]) for k in grads), "clip_by_global_norm changed its input"


@pytest.mark.parametrize("max_norm", [5.0, 10.0])
def test_short_gradients_are_left_alone(impl, max_norm):
    """||[3, 4]|| = 5: at max_norm 5 (equal) or 10 nothing changes."""
    ex = impl("ex14_clipping_gradflow")
    g = np.array([3.0, 4.0])
    clipped, norm = h.returned("clip_by_global_norm", ex.clip_by_global_norm({"g": g}, max_norm), 2)
    h.check_number("clip_by_global_norm", "the norm before clipping", norm, 5.0, tol=0)
    h.check("clip_by_global_norm", "clipped['g']", clipped["g"], np.array([3.0, 4.0]), like=g, tol=0)


# ----------------------------------------------------------------------- Exercise 3
def test_exercise_3(impl):
    """The smallest gradient is at the embeddings, and the attenuation ratio (recorded) is
    about 0.65x per stage over 8 stages. Not vanishing (that is 1e-10 and below), but real."""
    ex = impl("ex14_clipping_gradflow")
    table = dict(ex.SEED_MAGNITUDES)
    assert ex.smallest_gradient(table) == "embeddings"
    ratio = ex.attenuation_ratio(table)
    h.check_number("attenuation_ratio", "the ratio for Exercise 3's table", ratio, 1 / 30, tol=1e-15)


def test_exercise_3_other_tables(impl):
    ex = impl("ex14_clipping_gradflow")
    table = {"logits": 0.5, "Block2_out": 0.02, "Block1_out": 0.1, "embeddings": 0.2}
    assert ex.smallest_gradient(table) == "Block2_out"
    h.check_number("attenuation_ratio", f"the ratio for {table}", ex.attenuation_ratio(table), 0.4, tol=1e-15)
    h.check_number("attenuation_ratio", "the ratio for {'a': 2.0, 'b': 8.0}",
                   ex.attenuation_ratio({"a": 2.0, "b": 8.0}), 4.0, tol=1e-15,
                   hint="a gradient can grow on the way back")


# ---------------------------------------------------------------------- question 17
PLAIN_08 = [1.0, 0.8, 0.64, 0.512, 0.4096, 0.32768, 0.262144, 0.2097152, 0.16777216, 0.134217728, 0.1073741824]
RESIDUAL_08 = [1.0, 1.8, 3.24, 5.832, 10.4976, 18.89568, 34.012224, 61.2220032, 110.19960576, 198.359290368,
               357.0467226624]


def test_question_17_ten_layers(impl):
    """Ten layers with local gradient 0.8, without and with residual connections (the
    expected lists are recorded from exact fractions)."""
    ex = impl("ex14_clipping_gradflow")
    plain = ex.chain_gradients([0.8] * 10)
    residual = ex.chain_gradients([0.8] * 10, residual=True)
    # index k: after going back through k layers
    h.check_list("chain_gradients([0.8] * 10)", "the gradients (index k: after k layers)", plain,
                 PLAIN_08, tol=1e-14)
    h.check_list("chain_gradients([0.8] * 10, residual=True)", "the gradients (index k: after k layers)",
                 residual, RESIDUAL_08, tol=1e-12)
    h.check_number("chain_gradients([0.8] * 10)", "what reaches the first layer", plain[-1], 0.1073741824,
                   tol=1e-14)
    h.check_number("chain_gradients([0.8] * 10, residual=True)", "what reaches the first layer", residual[-1],
                   357.0467226624, tol=1e-12)


def test_question_17_order_and_upstream(impl):
    """Layers listed first to last, [0.5, 2.0, 0.1]: the backward pass meets 0.1 first."""
    ex = impl("ex14_clipping_gradflow")
    got = ex.chain_gradients([0.5, 2.0, 0.1], upstream=3.0)
    expected = [3.0, 0.3, 0.6, 0.3]                                 # recorded, exact
    h.check_list("chain_gradients([0.5, 2.0, 0.1], upstream=3)", "the gradients (index k: after k layers)",
                 got, expected, tol=1e-15)


def test_question_17_matches_finite_differences(impl):
    """The same numbers from the composed function itself: y = f_n(...f_1(x)) with
    f_i(x) = a_i x (plain) or x + a_i x (residual), differentiated numerically."""
    ex = impl("ex14_clipping_gradflow")
    a = [0.8, 0.3, 1.2, 0.5, 0.9]
    for residual in (False, True):
        def net(x):
            for ai in a:
                x = x + ai * x if residual else ai * x
            return x, None
        numerical = float(h.vjp(net, {"x": np.array(0.7)}, 1.0)["x"])
        got = ex.chain_gradients(a, residual=residual)
        h.check_list(f"chain_gradients({a}, residual={residual})", "the gradients", got, n=len(a) + 1)
        h.check_number(f"chain_gradients({a}, residual={residual})", "what reaches the first layer, dy/dx",
                       got[-1], numerical, tol=1e-8)


def test_the_identity_path_alone_carries_the_gradient(impl):
    """Branches that pass nothing (a = 0): without residuals nothing arrives, with them all of it."""
    ex = impl("ex14_clipping_gradflow")
    h.check_list("chain_gradients([0.0] * 10)", "the gradients (index k: after k layers)",
                 ex.chain_gradients([0.0] * 10), [1.0] + [0.0] * 10, tol=0)
    h.check_list("chain_gradients([0.0] * 10, residual=True)", "the gradients (index k: after k layers)",
                 ex.chain_gradients([0.0] * 10, residual=True), [1.0] * 11, tol=0)


# ------------------------------------------------------------ a small model, measured
SMALL = tt.Config(C=16, H=1, F=16, n_blocks=2)
STAGES = ["logits", "W_output", "final_repr", "block2_params", "block1_params", "embeddings"]


def small_model(seed=3):
    """A 2-block model of width 16 (one head) with every parameter oddly initialised:
    gammas != 1, betas and biases != 0, so that no gradient is hidden by a symmetry."""
    r = h.rng(seed)
    params = tt.init_params(seed=seed, dtype=np.float64, cfg=SMALL)
    for name, p in params.items():
        leaf = name.rsplit(".", 1)[-1]
        if leaf == "gamma":
            p[...] = 1 + 0.3 * r.standard_normal(p.shape)
        elif leaf == "beta" or leaf.startswith("b"):
            p[...] = 0.2 * r.standard_normal(p.shape)
    _, val = tt.train_val_split(seed=0)
    return params, val.tokens[:3], val.targets[:3]


def recording(ops):
    """ops whose top-level backward functions also note what they returned, in order."""
    calls = []

    def wrap(name):
        fn = getattr(ops, name)

        def noted(*args, **kwargs):
            out = fn(*args, **kwargs)
            calls.append((name, out))
            return out
        return noted

    names = ("softmax_cross_entropy_backward", "output_backward", "block_backward", "embedding_backward")
    return ops.replace(**{n: wrap(n) for n in names}), calls


def directional(loss, arrays, grads, seed):
    """(recorded finite difference, sum(grad * d)) along a random direction d of several arrays at once."""
    r = h.rng(seed)
    ds = [r.standard_normal(a.shape) for a in arrays]
    return h.directional(loss, arrays, ds), sum(float(np.sum(g * d)) for g, d in zip(grads, ds))


def test_stage_gradient_norms_on_a_small_model(impl):
    """Your walk through the backward pass, with backward functions computed by finite
    differences (harness.numerical_ops), so only the walk itself is tested: which
    function it calls with which gradient, and the norms it takes. Each gradient the
    walk produced is checked against the loss along random directions."""
    ex = impl("ex14_clipping_gradflow")
    params, tokens, targets = small_model()
    ops, calls = recording(h.numerical_ops())
    norms = ex.stage_gradient_norms(params, tokens, targets, ops)
    assert isinstance(norms, dict) and list(norms) == STAGES, \
        f"stage_gradient_norms should return the stages {STAGES} in that order, got {list(norms) if isinstance(norms, dict) else norms!r}"
    order = [name for name, _ in calls]
    assert order == ["softmax_cross_entropy_backward", "output_backward", "block_backward",
                     "block_backward", "embedding_backward"], f"the walk called, in order: {order}"

    # what the walk got back from each backward function
    dlogits = calls[0][1]
    dx, dW_out, _ = calls[1][1]
    got = {"logits": [dlogits], "W_output": [dW_out], "final_repr": [dx[:, -1]],
           "block2_params": list(calls[2][1][1].values()), "block1_params": list(calls[3][1][1].values()),
           "embeddings": [calls[4][1]]}
    for stage in STAGES:
        want = math.sqrt(sum(float(np.sum(np.asarray(g, dtype=np.float64) ** 2)) for g in got[stage]))
        h.check_number("stage_gradient_norms", f"[{stage!r}]", norms[stage], want, tol=1e-9,
                       hint="it is the L2 norm of the gradient the walk got at that stage")

    # and those gradients are the loss's, along random directions
    def loss():
        logits, _ = tt.model_forward(params, tokens)
        return tt.softmax_cross_entropy_forward(logits, targets)[0]

    logits, cache = tt.model_forward(params, tokens)
    x_last = cache.output.linear.x.copy()                           # (B, C): what W_out reads
    block = {i: [k for k in params if k.startswith(f"blocks.{i}.")] for i in (0, 1)}
    checks = {
        "logits": (lambda: tt.softmax_cross_entropy_forward(logits, targets)[0], [logits]),
        "W_output": (loss, [params["W_out"]]),
        "final_repr": (lambda: tt.softmax_cross_entropy_forward(
            tt.linear_forward(x_last, params["W_out"], params["b_out"])[0], targets)[0], [x_last]),
        "block2_params": (loss, [params[k] for k in block[1]]),
        "block1_params": (loss, [params[k] for k in block[0]]),
        "embeddings": (loss, [params["embedding"]]),
    }
    hints = {"final_repr": "dx at the last position, from output_backward",
             "block2_params": "the last block is undone first, from output_backward's dx",
             "block1_params": "block 1 gets the dx that block 2's backward returned",
             "embeddings": "embedding_backward gets the dx that block 1's backward returned"}
    for stage, (fn, arrays) in checks.items():
        grads = got[stage]
        if stage.startswith("block"):      # the dict's keys, in the order of `arrays`
            i = 1 if stage == "block2_params" else 0
            d = calls[2 if i == 1 else 3][1][1]
            grads = [d[k.split(".", 2)[2]] for k in block[i]]
        for seed in (0, 1):
            numeric, analytic = directional(fn, arrays, grads, seed)
            err = abs(numeric - analytic) / max(abs(numeric), 1e-3)
            assert abs(numeric - analytic) <= 1e-6 * max(abs(numeric), 1e-3), (
                f"stage_gradient_norms: the gradient the walk got at {stage!r} is wrong: along a random "
                f"direction, expected {numeric:.8g} (finite differences of the loss), got {analytic:.8g}; "
                f"off by {abs(numeric - analytic):.3g}, {err:.2e} of the expected value (tolerance 1e-06)" + (f"\n  hint: {hints[stage]}" if stage in hints else ""))
    h.check_number("attenuation_ratio", "the ratio of the measured norms", ex.attenuation_ratio(norms),
                   norms["embeddings"] / norms["logits"], tol=1e-12)
