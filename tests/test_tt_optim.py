"""Optimizers on the seed's Exercise 4, clipping on question 33, and the schedules.

Expected values are computed here from the formulas, with plain Python floats.
"""
import math

import numpy as np
import pytest

from tt import optim

GRADS = [-0.1, -0.08, -0.12, -0.09, -0.11]     # seed Exercise 4, from W = 0.5, lr 0.01


def run(rule, **hyper):
    w, state, path = 0.5, None, []
    for g in GRADS:
        w, state = rule(w, g, state, lr=0.01, **hyper)
        path.append(float(w))
    return path


def test_sgd_exercise_4():
    assert run(optim.sgd) == pytest.approx([0.501, 0.5018, 0.503, 0.5039, 0.505], abs=1e-15)


def test_momentum_exercise_4():
    v, w, expected = 0.0, 0.5, []
    for g in GRADS:
        v = 0.9 * v + g
        w = w - 0.01 * v
        expected.append(w)
    assert run(optim.sgd_momentum, beta=0.9) == pytest.approx(expected, rel=1e-15)
    assert expected[0] == pytest.approx(0.501) and expected[1] == pytest.approx(0.5027)


def test_adam_exercise_4():
    m = v = 0.0
    w, expected = 0.5, []
    for t, g in enumerate(GRADS, start=1):
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        w -= 0.01 * (m / (1 - 0.9 ** t)) / (math.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
        expected.append(w)
    path = run(optim.adam, beta1=0.9, beta2=0.999)
    assert path == pytest.approx(expected, rel=1e-14)
    # first step: m_hat = g and v_hat = g^2, so the step is lr * g / (|g| + eps)
    assert path[0] == pytest.approx(0.5 + 0.01 * 0.1 / (0.1 + 1e-8), rel=1e-15)


def test_adam_in_place_equals_the_rule():
    r = np.random.default_rng(0)
    params = {"a": r.standard_normal((3, 4)), "b": r.standard_normal(5)}
    fast = {k: v.copy() for k, v in params.items()}
    states, fast_states = {}, {}
    for _ in range(4):
        grads = {k: r.standard_normal(v.shape) for k, v in params.items()}
        params, states = optim.step(params, grads, states, optim.adam, lr=0.01)
        optim.adam_step_inplace(fast, grads, fast_states, lr=0.01)
    assert all(np.allclose(fast[k], params[k], rtol=1e-13, atol=0) for k in params)
    assert fast_states["a"]["t"] == 4


def test_step_does_not_mutate():
    params = {"w": np.ones(3)}
    new, _ = optim.step(params, {"w": np.ones(3)}, {}, optim.sgd, lr=0.5)
    assert np.array_equal(params["w"], np.ones(3)) and np.array_equal(new["w"], 0.5 * np.ones(3))


def test_clip_question_33():
    g = {"a": np.array([1.5, 2.0]), "b": np.array([0.0])}      # ||g|| = 2.5
    clipped, norm = optim.clip_by_global_norm(g, 1.0)
    assert norm == pytest.approx(2.5)
    assert np.allclose(clipped["a"], [0.6, 0.8]) and clipped["b"][0] == 0
    assert optim.global_norm(clipped) == pytest.approx(1.0)
    same, _ = optim.clip_by_global_norm(g, 3.0)
    assert np.array_equal(same["a"], g["a"])


def test_schedules_have_their_shapes():
    lr0, n = 1e-3, 100
    s = [optim.constant(t, lr0) for t in range(n)]
    assert s == [lr0] * n
    s = [optim.step_decay(t, lr0, drop=0.1, every=30) for t in range(n)]
    assert s[0] == s[29] == lr0 and s[30] == pytest.approx(1e-4) and s[60] == pytest.approx(1e-5)
    s = [optim.exponential(t, lr0, gamma=0.95) for t in range(n)]
    assert all(b / a == pytest.approx(0.95) for a, b in zip(s, s[1:]))
    s = [optim.cosine(t, lr0, n) for t in range(n + 10)]
    assert s[0] == lr0 and s[n // 2] == pytest.approx(lr0 / 2) and s[n] == pytest.approx(0, abs=1e-18)
    assert all(b <= a for a, b in zip(s, s[1:])) and s[-1] == s[n]
    s = [optim.warmup_cosine(t, lr0, n, warmup=10) for t in range(n)]
    assert all(b > a for a, b in zip(s[:9], s[1:10])) and s[9] == pytest.approx(lr0)
    assert s[10] == pytest.approx(lr0) and all(b <= a for a, b in zip(s[10:], s[11:]))
