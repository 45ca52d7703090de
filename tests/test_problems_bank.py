"""The problem bank: variant 0 is the seed's numbers, keys are right, variants differ.

Expected values here are computed independently of grader/problems: by hand (written
out below), with plain Python floats or Fractions, or with the tt library's own NumPy
layers. Never from the code under test.
"""
from __future__ import annotations

import hashlib
import hmac
import math
from fractions import Fraction as F

import numpy as np
import pytest
import sympy as sp

import tt
from grader.problems import BANK, BY_KEY, build_set
from grader.problems.core import (DerivationMismatch, NotWellPosed, Problem, make_instance)
from grader.problems.variants import Dice, student_seed, variant_id


def key(instances, name):
    """The exact answer of `name` ('ex1.dW1') in a built set, as Fractions/nested tuples."""
    problem, part = name.split(".", 1)
    for inst in instances:
        if inst.problem.key == problem:
            for p in inst.parts:
                if p.name == part:
                    return p.answer
    raise KeyError(name)


def frac(x):
    return F(int(x.p), int(x.q))


def fracs(xs):
    return [fracs(x) if isinstance(x, (tuple, list)) else frac(x) for x in xs]


@pytest.fixture(scope="module")
def v0():
    return build_set(None)


# ------------------------------------------------------------------ variant 0 = seed
def test_variant0_question7_is_probabilities_minus_onehot(v0):
    # Seed question 7: probabilities [0.12, 0.24, 0.05, 0.59], target 3.
    assert fracs(key(v0, "q07.dlogits")) == [F("0.12"), F("0.24"), F("0.05"), F("0.59") - 1]


def test_variant0_question8_column(v0):
    # final_repr [0.8, -0.4, 0.6] times dlogits[5] = -0.25.
    assert fracs(key(v0, "q08.column")) == [F("-0.2"), F("0.1"), F("-0.15")]


def test_variant0_question9_relu(v0):
    # z = [-1.5, 2.3, 0.0, -0.7, 1.8]; upstream [0.5, -0.3, 0.2, -0.4, 0.6]; ReLU'(0) = 0.
    assert fracs(key(v0, "q09.dz")) == [0, F("-0.3"), 0, 0, F("0.6")]
    assert fracs(key(v0, "q09.mask")) == [0, 1, 0, 0, 1]
    assert BY_KEY["q09"].seed_params()["z"][2] == 0      # the seed's own 0.0 is kept


def test_variant0_question12_numerical_gradient(v0):
    # (0.450015 - 0.449985) / (2 * 0.00001) = 0.00003 / 0.00002 = 1.5
    assert frac(key(v0, "q12.difference")) == F("0.00003")
    assert frac(key(v0, "q12.denominator")) == F("0.00002")
    assert frac(key(v0, "q12.gradient")) == F(3, 2)


def test_variant0_question17_residual(v0):
    assert frac(key(v0, "q17.plain")) == F(8, 10) ** 10           # 0.1073741824
    assert frac(key(v0, "q17.residual")) == F(18, 10) ** 10       # 357.0467226624
    assert frac(key(v0, "q17.k_paths")) == 45 * F(64, 100)        # C(10, 2) · 0.8² = 28.8


def test_question17_paths_by_enumeration():
    # Every one of the 2^n paths, as the set of layers whose branch it passes through.
    import itertools
    ks = set()
    for seed in [None, *SEEDS]:
        inst = make_instance(BY_KEY["q17"], seed)
        a, n, k = frac(inst.params["a"]), inst.params["n"], inst.params["k"]
        paths = [frozenset(c) for j in range(n + 1) for c in itertools.combinations(range(n), j)]
        assert len(paths) == 2**n
        carried = {p: a ** len(p) for p in paths}
        got = {q.name: frac(q.answer) for q in inst.parts}
        assert got["residual"] == sum(carried.values())
        assert got["k_paths"] == sum(v for p, v in carried.items() if len(p) == k)
        assert got["plain"] == carried[frozenset(range(n))]
        ks.add((n, k))
    assert len(ks) > 5                            # not the same answer for everyone


def test_statements_use_a_or_an():
    from grader.problems.render import statement
    for n, word in ((8, "an"), (11, "an"), (18, "an"), (5, "a"), (10, "a"), (12, "a")):
        p = {**BY_KEY["q17"].seed_params(), "n": n, "k": 2}
        inst = make_instance(BY_KEY["q17"], None)
        inst.params, inst.statement = p, ""
        assert f" {word} {n}-layer network" in statement(inst), (n, word)


def test_variant0_question18_sgd(v0):
    # 0.234 - 0.001 * (-0.05) = 0.23405; (0.25 - 0.234) / 0.00005 = 320 exactly.
    assert frac(key(v0, "q18.new_w")) == F("0.23405")
    assert int(key(v0, "q18.steps")) == 320
    w, k = F("0.234"), 0
    while w < F("0.25"):
        w, k = w + F("0.00005"), k + 1
    assert k == 320


def test_variant0_question33_clipping(v0):
    # ||[1.5, -2]|| = 2.5 (the seed's norm); scale 1/2.5 = 0.4.
    assert frac(key(v0, "q33.norm")) == F(5, 2)
    assert frac(key(v0, "q33.scale")) == F(2, 5)
    assert fracs(key(v0, "q33.clipped")) == [F("0.6"), F("-0.8")]


def test_variant0_exercise1_by_hand(v0):
    # Worked by hand: z = [2*0.5 + 1*0.2 + 0.1, 2*(-0.3) + 1*0.4 - 0.1] = [1.3, -0.3]
    # h = [1.3, 0]; out = 1.3*0.6 + 0.2 = 0.98; loss = 0.5 * (0.98 - 1.5)^2 = 0.1352
    # dout = -0.52; dW2 = [[1.3 * -0.52], [0]] = [[-0.676], [0]]; dh = -0.52*[0.6, 0.3]
    # dz = [-0.312, 0] (unit 2 is off); dW1 = x^T dz = [[-0.624, 0], [-0.312, 0]].
    assert frac(key(v0, "ex1.output")) == F("0.98")
    assert frac(key(v0, "ex1.loss")) == F("0.1352")
    assert frac(key(v0, "ex1.dout")) == F("-0.52")
    assert fracs(key(v0, "ex1.dW2")) == [[F("-0.676")], [0]]
    assert frac(key(v0, "ex1.db2")) == F("-0.52")
    assert fracs(key(v0, "ex1.dhidden")) == [F("-0.312"), F("-0.156")]
    assert fracs(key(v0, "ex1.dW1")) == [[F("-0.624"), 0], [F("-0.312"), 0]]
    assert fracs(key(v0, "ex1.db1")) == [F("-0.312"), 0]


def test_variant0_exercise1_matches_finite_differences():
    # An independent float check: central differences of the seed's network.
    x = np.array([2.0, 1.0])
    P = {"W1": np.array([[0.5, -0.3], [0.2, 0.4]]), "b1": np.array([0.1, -0.1]),
         "W2": np.array([[0.6], [0.3]]), "b2": np.array([0.2])}

    def loss():
        h = np.maximum(x @ P["W1"] + P["b1"], 0)
        return 0.5 * ((h @ P["W2"] + P["b2"])[0] - 1.5) ** 2

    got = {p.name: p.answer for p in make_instance(BY_KEY["ex1"], None).parts}
    for name in ("W1", "b1", "W2"):
        num = np.zeros_like(P[name])
        for idx in np.ndindex(P[name].shape):
            old = P[name][idx]
            P[name][idx] = old + 1e-6
            up = loss()
            P[name][idx] = old - 1e-6
            down = loss()
            P[name][idx] = old
            num[idx] = (up - down) / 2e-6
        exact = np.array(got["d" + name], dtype=float).reshape(num.shape)
        assert np.max(np.abs(exact - num)) <= 1e-8, (name, exact, num)


def test_variant0_exercise2_3(v0):
    x = sp.Symbol("x")
    assert sp.expand(key(v0, "ex2.derivative") - (2 * x + 3)) == 0
    assert frac(key(v0, "ex2.analytic")) == 7                     # 2*2 + 3 at x0 = 2
    assert frac(key(v0, "ex2.central")) == 7                      # exact for a quadratic
    assert frac(key(v0, "ex2.forward_error")) == F("0.00001")     # a * eps = 1e-5
    assert key(v0, "ex3.smallest") == "embeddings"                # 0.01 is the smallest
    assert frac(key(v0, "ex3.ratio")) == F("0.01") / F("0.3")     # = 1/30


def test_variant0_exercise4_trajectories_float_recurrence(v0):
    # The seed's W = 0.5, lr 0.01, gradients [-0.1, -0.08, -0.12, -0.09, -0.11], run in
    # plain Python floats and compared with the exact key.
    grads, lr = [-0.1, -0.08, -0.12, -0.09, -0.11], 0.01
    w, sgd = 0.5, []
    for g in grads:
        w -= lr * g
        sgd.append(w)
    w, v, mom = 0.5, 0.0, []
    for g in grads:
        v = 0.9 * v + g
        w -= lr * v
        mom.append(w)
    w, m, s, adam = 0.5, 0.0, 0.0, []
    for t, g in enumerate(grads, start=1):
        m = 0.9 * m + 0.1 * g
        s = 0.999 * s + 0.001 * g * g
        w -= lr * (m / (1 - 0.9**t)) / (math.sqrt(s / (1 - 0.999**t)) + 1e-8)
        adam.append(w)
    for name, floats in (("sgd", sgd), ("momentum", mom), ("adam", adam)):
        exact = [float(sp.N(v, 30)) for v in key(v0, f"ex4.{name}")]
        assert max(abs(a - b) for a, b in zip(exact, floats)) <= 1e-12, (name, exact, floats)
    assert [round(w, 6) for w in sgd] == [0.501, 0.5018, 0.503, 0.5039, 0.505]


def test_exercise4_momentum_matches_the_library():
    # tt.optim.sgd_momentum is the library's convention: v <- beta v + g; W <- W - lr v.
    from tt.optim import adam, sgd_momentum
    inst = make_instance(BY_KEY["ex4"], b"\x07" * 32)
    p = inst.params
    w, state, out = float(p["W0"]), None, []
    for g in p["grads"]:
        w, state = sgd_momentum(w, float(g), state, lr=float(p["lr"]), beta=0.9)
        out.append(w)
    w, state, out_adam = float(p["W0"]), None, []
    for g in p["grads"]:
        w, state = adam(w, float(g), state, lr=float(p["lr"]))
        out_adam.append(w)
    got = {q.name: q.answer for q in inst.parts}
    assert np.allclose([float(v) for v in got["momentum"]], out, rtol=0, atol=1e-12)
    assert np.allclose([float(sp.N(v, 20)) for v in got["adam"]], out_adam, rtol=0, atol=1e-12)


def test_variant0_exercise5(v0):
    # W_{k+1} = W_k - lr (W_k - 3) from 0, in Fractions; lr 2.1 diverges.
    for i, (lr, behaviour) in enumerate([("0.1", "converges"), ("0.5", "converges"),
                                         ("1.0", "converges"), ("2.1", "diverges")], start=1):
        w, its = F(0), []
        for _ in range(10):
            w = w - F(lr) * (w - 3)
            its.append(w)
        assert fracs(key(v0, f"ex5.lr{i}.iterates")) == its
        assert key(v0, f"ex5.lr{i}.behaviour") == behaviour
    assert frac(key(v0, "ex5.critical_lr")) == 2
    # lr = 2.1: W_10 = 3 - 3 * 1.1^10
    assert frac(key(v0, "ex5.lr4.iterates")[-1]) == 3 - 3 * F(11, 10) ** 10


def test_exercise5_oscillation_at_two():
    p = {"c": sp.Integer(1), "W0": sp.Integer(0), "h": sp.Integer(1),
         "rates": [sp.Rational(1, 2), sp.Integer(2), sp.Rational(5, 2), sp.Rational(1, 10)]}
    parts = {q.name: q.answer for q in BY_KEY["ex5"].solve(p)}
    assert parts["lr2.behaviour"] == "oscillates"
    assert fracs(parts["lr2.iterates"])[:4] == [2, 0, 2, 0]      # bounces W0 <-> 2c - W0


def test_variant0_model_facts(v0):
    # Parameters from the library itself, and FLOPs/memory counted by hand.
    n = sum(p.size for p in tt.init_params().values())
    assert n == tt.config.n_params() == 102_036
    assert int(key(v0, "model.n_params")) == n
    T, C, F_, V, L, H = 8, 64, 256, 20, 2, 4
    per_block = (3 * 2 * T * C * C      # Q, K, V
                 + 2 * T * T * C        # scores, all heads
                 + 2 * T * T * C        # attention @ V
                 + 2 * T * C * C        # W_o
                 + 2 * 2 * T * C * F_)  # both FFN matmuls
    assert int(key(v0, "model.flops")) == L * per_block + 2 * C * V == 1_608_192
    acts = L * (8 * T * C + H * T * T + 2 * T * F_ + 2 * T) + C + V       # 17,012 numbers
    assert int(key(v0, "model.activation_bytes")) == 32 * acts * 4
    assert int(key(v0, "model.param_bytes")) == int(key(v0, "model.grad_bytes")) == 4 * n
    assert int(key(v0, "model.adam_bytes")) == 8 * n
    assert int(key(v0, "model.total_bytes")) == 16 * n + 32 * acts * 4


def test_model_param_count_matches_init_params_for_generated_configs():
    for i in range(4):
        inst = make_instance(BY_KEY["model"], bytes([i]) * 32)
        cfg = inst.params["cfg"]
        params = tt.init_params(cfg=cfg)
        assert int(inst.parts[0].answer) == sum(p.size for p in params.values())


def test_layernorm_matches_the_library():
    inst = make_instance(BY_KEY["layernorm"], None)
    p = inst.params
    arr = lambda k: np.array([float(v) for v in p[k]])
    y, cache = tt.layernorm_forward(arr("x")[None], arr("gamma"), arr("beta"), eps=0.0)
    dx, dgamma, dbeta = tt.layernorm_backward(arr("dy")[None], cache)
    got = {q.name: np.array([float(v) for v in q.answer]) for q in inst.parts
           if q.kind == "vector"}
    assert np.allclose(got["y"], y[0], atol=1e-12)
    assert np.allclose(got["dx"], dx[0], atol=1e-12)
    assert np.allclose(got["dgamma"], np.ravel(dgamma), atol=1e-12)
    assert np.allclose(got["dbeta"], np.ravel(dbeta), atol=1e-12)


def test_attention_softmax_matches_the_library():
    for seed in (None, b"\x03" * 32):
        inst = make_instance(BY_KEY["attention"], seed)
        p = inst.params
        q = np.array([float(v) for v in p["q"]])
        K = np.array([[float(v) for v in k] for k in p["keys"]])
        s = K @ q / 2.0
        probs, _ = tt.softmax_forward(s[None])
        given = np.array([float(v) for v in p["probs"]])
        ds = tt.softmax_backward(np.array([[float(v) for v in p["dp"]]]),
                                 tt.layers.SoftmaxCache(given[None]))[0]
        got = {x.name: np.array([float(sp.N(v, 20)) for v in x.answer]) for x in inst.parts
               if x.kind == "vector"}
        assert np.allclose(got["scores"], s, atol=1e-12)
        assert np.allclose(got["probs"], probs[0], atol=1e-12)
        assert np.allclose(got["dscores"], ds, atol=1e-12)
        assert np.allclose(got["dq"], K.T @ ds / 2.0, atol=1e-12)


def test_embedding_matches_the_library():
    for seed in (None, b"\x05" * 32):
        inst = make_instance(BY_KEY["embedding"], seed)
        p = inst.params
        dx = np.array([[[float(v) for v in row] + [0.0] for row in p["dx"]]])  # (1, T, 4)
        # Width 4 (positional encodings need an even width); the 4th column is padding.
        _, cache = tt.embedding_forward(np.array([p["tokens"]]), np.zeros((20, 4)))
        dE = tt.embedding_backward(dx, cache)[:, :3]
        got = {x.name: x.answer for x in inst.parts}
        assert np.allclose([float(v) for v in got["comma_row"]], dE[19])
        assert np.allclose([float(v) for v in got["other_row"]], dE[p["other"]])
        assert np.allclose([float(v) for v in got["absent_row"]], dE[p["absent"]])
        assert int(got["nonzero_rows"]) == int(np.sum(np.any(dE != 0, axis=1)))
    assert inst.params["tokens"].count(19) == 2
    assert tt.encode("Max(1,6,2)") == make_instance(BY_KEY["embedding"], None).params["tokens"]


# --------------------------------------------------------------- generated variants
SEEDS = [bytes([i, 255 - i]) * 16 for i in range(12)]


@pytest.mark.parametrize("problem", BANK, ids=lambda p: p.key)
def test_generated_variants_are_well_posed_and_verified(problem):
    for seed in SEEDS:
        inst = make_instance(problem, seed)          # runs check, solve and verify
        assert problem.check(inst.params) == []
        assert inst.points > 0


def test_verify_catches_a_wrong_key():
    problem = BY_KEY["ex1"]
    params = problem.seed_params()
    parts = problem.solve(params)
    bad = [p if p.name != "dW1" else type(p)(p.name, p.prompt, p.kind,
                                            ((p.answer[0][0] + sp.Rational(1, 1000),
                                              p.answer[0][1]), p.answer[1]), p.points, p.tol)
           for p in parts]
    with pytest.raises(DerivationMismatch):
        problem.verify(params, bad)


def test_well_posedness_rejects_bad_draws():
    q09, ex1, ex5 = BY_KEY["q09"], BY_KEY["ex1"], BY_KEY["ex5"]
    assert q09.check({**q09.seed_params(), "zero_convention": False})      # z = 0 exactly
    p = ex1.seed_params()
    assert ex1.check({**p, "b1": [sp.Rational(-12, 10), p["b1"][1]]})     # z_0 = 0 exactly
    assert ex5.check({**ex5.seed_params(),
                      "rates": [sp.Rational(1, 10), sp.Rational(1, 2), sp.Integer(1),
                                sp.Rational(3, 2)]})                         # no divergent rate
    lay = BY_KEY["layernorm"]
    assert lay.check({**lay.seed_params(), "x": [sp.Integer(1)] * 4})      # sigma = 0
    q33 = BY_KEY["q33"]
    assert q33.check({"g": [sp.Rational(3, 10), sp.Rational(4, 10)], "max_norm": sp.Integer(1)})
    q12 = BY_KEY["q12"]
    assert q12.check({**q12.seed_params(), "loss_minus": q12.seed_params()["loss_plus"]})


def test_rejected_draws_are_regenerated():
    # q07 rejects rounded probabilities that do not sum to 1; some seeds need redraws.
    draws = [make_instance(BY_KEY["q07"], s).draws for s in SEEDS]
    assert max(draws) > 1
    calls = {"n": 0}

    def never(dice):
        calls["n"] += 1
        return {"x": 0}

    hopeless = Problem("bad", "t", "s", "q07.md.j2", dict, never, lambda p: ["always"],
                       lambda p: [], lambda p, q: None)
    with pytest.raises(NotWellPosed):
        make_instance(hopeless, b"\x00" * 32)
    assert calls["n"] == 500


def test_exercise5_rate_sets_straddle_a_critical_rate_that_varies():
    # Simulated in Fractions: a rate diverges when |W_k - c| keeps growing. The critical
    # rate 2/h is where 1 - lr·h = -1, for the curvature h of 0.5·h·(W - c)².
    criticals = set()
    for i in range(60):
        inst = make_instance(BY_KEY["ex5"], student_seed("k", "hw", f"s{i}"))
        p, got = inst.params, {q.name: q.answer for q in inst.parts}
        h, c, W0 = frac(p["h"]), frac(p["c"]), frac(p["W0"])
        lr_c = frac(got["critical_lr"])
        assert lr_c == 2 / h
        criticals.add(lr_c)
        kinds = []
        for j, lr in enumerate(fracs(p["rates"]), start=1):
            w, err = W0, []
            for _ in range(10):
                w = w - lr * h * (w - c)
                err.append(abs(w - c))
            kind = ("diverges" if err[-1] > err[0] > abs(W0 - c) else
                    "oscillates" if err[-1] == abs(W0 - c) else "converges")
            assert got[f"lr{j}.behaviour"] == kind, (p, lr)
            assert (lr < lr_c, lr == lr_c, lr > lr_c) == (kind == "converges",
                                                          kind == "oscillates",
                                                          kind == "diverges")
            kinds.append(kind)
        assert "converges" in kinds and "diverges" in kinds
        assert min(p["rates"]) < lr_c < max(p["rates"])
        assert all(decimals_ok(lr) for lr in fracs(p["rates"]))
    assert len(criticals) >= 4                    # ex5.critical_lr differs between students


def decimals_ok(q: F) -> bool:
    return terminates(q) and len(str(q.denominator)) <= 5


def test_variant0_exercise5_is_the_seeds_loss():
    p = BY_KEY["ex5"].seed_params()
    assert (frac(p["h"]), frac(p["c"]), frac(p["W0"])) == (1, 3, 0)
    from grader.problems.render import statement
    text = statement(make_instance(BY_KEY["ex5"], None))
    assert r"$\mathrm{loss} = 0.5 \, (W - 3)^2$" in text
    for lr in ("0.1", "0.5", "1", "2.1"):
        assert f"- lr = {lr}\n" in text


# ------------------------------------------------------------------------ variants
def test_seed_is_hmac_sha256_of_assignment_and_id():
    def field(s):
        b = s.encode()
        return len(b).to_bytes(4, "big") + b
    expected = hmac.new(b"sekrit", field("hw10") + field("s001"), hashlib.sha256).digest()
    assert student_seed("sekrit", "hw10", "s001") == expected
    assert variant_id(expected) == expected.hex()[:12]
    assert student_seed("sekrit", "hw10", "s001") != student_seed("other", "hw10", "s001")
    assert student_seed("sekrit", "hw1", "0s001") != student_seed("sekrit", "hw10", "s001")
    with pytest.raises(ValueError):
        student_seed("", "hw10", "s001")


def test_dice_are_sha256_counter_mode():
    d = Dice(b"seed", "q07")
    base = hashlib.sha256(b"seed/q07").digest()
    first = int.from_bytes(hashlib.sha256(base + (0).to_bytes(8, "big")).digest()[:8], "big")
    assert d.below(1000) == first % 1000       # 2^64 // 1000 * 1000 > first almost surely
    assert [Dice(b"s").integer(0, 9) for _ in range(3)] == [Dice(b"s").integer(0, 9)] * 3


def test_same_seed_same_set_and_students_differ():
    a = build_set(student_seed("k", "hw", "s001"))
    b = build_set(student_seed("k", "hw", "s001"))
    assert [p.answer for i in a for p in i.parts] == [p.answer for i in b for p in i.parts]
    seeds = [student_seed("k", "hw", f"s{i:03d}") for i in range(8)]
    sets = [build_set(s) for s in seeds]
    for problem in ("q07", "ex1", "ex4", "ex5", "layernorm"):
        answers = {repr(key(s, problem + "." + s[[i.problem.key for i in s].index(problem)]
                            .parts[0].name)) for s in sets}
        assert len(answers) >= 6, problem      # 8 students, (almost) all different


# ------------------------------------------------- every part has a second derivation
def perturbed(part):
    """(what, answer) for every small change of one entry of a part's key: +1e-6 to a
    number (and ±1 to a count), another word for a choice, +1e-6 or +1e-6·x to an
    expression."""
    d = sp.Rational(1, 10**6)
    if part.kind in ("mcq", "multi", "order"):
        letters = [x.strip() for x in part.answer.split(",")]
        others = ([ch for ch in "ABCDEFGHIJ"[:len(part.options)] if ch not in letters][:1]
                  if part.kind != "order" else [])
        alt = ([", ".join(letters + others)] if others else []) + \
              ([", ".join(letters[1:] + letters[:1])] if len(letters) > 1 else [])
        if part.kind == "mcq":
            alt = [c for c in "ABCDEFGHIJ"[:len(part.options)] if c != part.answer]
        return [(a, a) for a in alt]
    if part.kind == "shape":
        return [("+1 first dimension", (part.answer[0] + 1, *part.answer[1:]))]
    if part.kind == "text":
        return [("no model answer", "")]
    if part.kind == "choice":
        return [(c, c) for c in part.choices if c != part.answer]
    if part.kind == "expression":
        x = sp.Symbol(part.symbols[0])
        return [("+1e-6", part.answer + d), ("+1e-6 x", part.answer + d * x)]
    steps = [d, -d] + ([sp.Integer(1), sp.Integer(-1)] if part.kind == "integer" else [])
    if part.kind in ("number", "integer"):
        return [(f"{'+' if s > 0 else ''}{s}", part.answer + s) for s in steps]
    if part.kind == "vector":
        return [(f"[{i}] +{s}", tuple(v + s if k == i else v for k, v in enumerate(part.answer)))
                for i in range(len(part.answer)) for s in steps[:1]]
    return [(f"[{i}][{j}] +{s}",
             tuple(tuple(v + s if (a, b) == (i, j) else v for b, v in enumerate(row))
                   for a, row in enumerate(part.answer)))
            for i in range(len(part.answer)) for j in range(len(part.answer[0]))
            for s in steps[:1]]


@pytest.mark.parametrize("problem", BANK, ids=lambda p: p.key)
def test_every_part_of_every_problem_has_an_independent_check(problem):
    # Change one entry of one part of the key at a time: the second derivation must
    # notice, for variant 0 and for generated variants. A part that survives has no
    # independent check at all.
    import dataclasses
    unchecked = []
    for seed in [None, *SEEDS[:3]]:
        inst = make_instance(problem, seed)
        for n, part in enumerate(inst.parts):
            for what, answer in perturbed(part):
                parts = list(inst.parts)
                parts[n] = dataclasses.replace(part, answer=answer)
                try:
                    problem.verify(inst.params, parts)
                except DerivationMismatch:
                    continue
                except Exception as exc:    # a check that cannot even compare is no check
                    unchecked.append(f"{problem.key}.{part.name} {what}: verify raised "
                                     f"{type(exc).__name__}: {exc}")
                    continue
                unchecked.append(f"{problem.key}.{part.name} {what} (seed {seed and seed[:2]})")
    assert not unchecked, "passed verification when changed:\n" + "\n".join(unchecked)


def terminates(q: F) -> bool:
    d = q.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    return d == 1


def test_question33_numbers_are_nice_for_every_student():
    # The seed's question 33 has ||g|| = 2.5 and max_norm = 1.0 (variant 0: g = [1.5, -2]).
    p = BY_KEY["q33"].seed_params()
    assert fracs(p["g"]) == [F(3, 2), -2] and frac(p["max_norm"]) == 1
    vectors = set()
    for i in range(400):
        inst = make_instance(BY_KEY["q33"], student_seed("k", "hw", f"s{i:03d}"))
        g, max_norm = fracs(inst.params["g"]), frac(inst.params["max_norm"])
        norm_sq = sum(v * v for v in g)
        norm = F(math.isqrt(norm_sq.numerator), math.isqrt(norm_sq.denominator))
        assert norm * norm == norm_sq, g                  # the norm is rational ...
        scale = max_norm / norm
        assert scale < 1                                  # ... and there is something to clip
        for v in [*g, norm, scale, *(scale * v for v in g)]:
            assert terminates(v), (i, g, v)               # ... and every number terminates
        got = {q.name: q.answer for q in inst.parts}
        assert frac(got["norm"]) == norm and frac(got["scale"]) == scale
        assert fracs(got["clipped"]) == [scale * v for v in g]
        vectors.add(tuple(g))
    assert len(vectors) > 300                             # still different for (nearly) everyone
