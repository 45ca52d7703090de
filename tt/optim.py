"""Optimizers with explicit state, gradient clipping, and learning-rate schedules.

Each update rule has the CS231n form, for one array (or a Python float):

    next_w, state = rule(w, dw, state, lr=..., ...)

`state` is a plain dict that the caller keeps and passes back; `None` starts fresh.
`step(params, grads, states, rule, **hyper)` applies a rule to a whole parameter dict.
"""
from __future__ import annotations

import math

import numpy as np


# ------------------------------------------------------------------------- update rules
def sgd(w, dw, state=None, lr=1e-3):
    """W_new = W_old - lr * dL/dW  (seed Part 6)."""
    ### BEGIN SOLUTION
    return w - lr * dw, state or {}
    ### END SOLUTION


def sgd_momentum(w, dw, state=None, lr=1e-3, beta=0.9):
    """Momentum: v = beta * v + dL/dW;  W_new = W_old - lr * v,  with v = 0 at the start.

    The velocity is a running sum of past gradients, so steps that agree add up and
    steps that disagree cancel (seed question 20's rolling ball).
    """
    ### BEGIN SOLUTION
    v = (state or {}).get("v", 0.0)
    v = beta * v + dw
    return w - lr * v, {"v": v}
    ### END SOLUTION


def adam(w, dw, state=None, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """Adam exactly as the seed's Part 6 writes it, with t starting at 1:

        m = beta1 m + (1 - beta1) g;   v = beta2 v + (1 - beta2) g^2
        m_hat = m / (1 - beta1^t);     v_hat = v / (1 - beta2^t)
        W_new = W_old - lr * m_hat / (sqrt(v_hat) + eps)
    """
    ### BEGIN SOLUTION
    state = state or {}
    t = state.get("t", 0) + 1
    m = beta1 * state.get("m", 0.0) + (1 - beta1) * dw
    v = beta2 * state.get("v", 0.0) + (1 - beta2) * dw * dw
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), {"m": m, "v": v, "t": t}
    ### END SOLUTION


RULES = {"sgd": sgd, "momentum": sgd_momentum, "adam": adam}


def step(params, grads, states, rule, **hyper):
    """Apply `rule` to every parameter. Returns (new_params, new_states); no mutation."""
    new_params, new_states = {}, {}
    for name, w in params.items():
        new_params[name], new_states[name] = rule(w, grads[name], states.get(name), **hyper)
    return new_params, new_states


def adam_step_inplace(params, grads, states, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """The same Adam update as `adam`, written in place for training speed.

    Equal to `step(params, grads, states, adam, ...)` (a test checks it). states[name]
    holds m, v (arrays like the parameter) and t.
    """
    ### BEGIN SOLUTION
    for name, w in params.items():
        g = grads[name]
        s = states.get(name)
        if s is None:
            s = states[name] = {"m": np.zeros_like(w), "v": np.zeros_like(w), "t": 0}
        s["t"] += 1
        t = s["t"]
        m, v = s["m"], s["v"]
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * (g * g)
        # lr * m_hat / (sqrt(v_hat) + eps) with the bias corrections folded into scalars
        denom = np.sqrt(v)
        denom *= 1.0 / math.sqrt(1 - beta2 ** t)
        denom += eps
        w -= (lr / (1 - beta1 ** t)) * m / denom
    return params, states
    ### END SOLUTION


# ------------------------------------------------------------------------- clipping
def global_norm(grads) -> float:
    """sqrt of the sum of squares of every gradient entry."""
    ### BEGIN SOLUTION
    return math.sqrt(sum(float(np.vdot(g, g)) for g in grads.values()))
    ### END SOLUTION


def clip_by_global_norm(grads, max_norm):
    """Scale all gradients by max_norm / ||g|| when ||g|| > max_norm (seed question 33).

    The direction is kept; only the length is capped. Returns (clipped, norm_before).
    """
    ### BEGIN SOLUTION
    norm = global_norm(grads)
    scale = max_norm / norm if norm > max_norm else 1.0
    return {k: g * scale for k, g in grads.items()}, norm
    ### END SOLUTION


# ------------------------------------------------------------------------- schedules
def constant(step, lr0):
    """lr = lr0 (the seed's model)."""
    return lr0


def step_decay(step, lr0, drop=0.1, every=30):
    """lr = lr0 * drop^floor(step / every)  (seed: 0.001 x 0.1 every 30 epochs)."""
    return lr0 * drop ** (step // every)


def exponential(step, lr0, gamma=0.95):
    """lr = lr0 * gamma^step  (seed: 0.001 x 0.95^epoch)."""
    return lr0 * gamma ** step


def cosine(step, lr0, total, lr_min=0.0):
    """Cosine annealing from lr0 at step 0 to lr_min at `total`, then flat."""
    s = min(step, total)
    return lr_min + 0.5 * (lr0 - lr_min) * (1 + math.cos(math.pi * s / total))


def warmup_cosine(step, lr0, total, warmup, lr_min=0.0):
    """Linear increase to lr0 over `warmup` steps, then cosine decay to lr_min."""
    if step < warmup:
        return lr0 * (step + 1) / warmup
    return cosine(step - warmup, lr0, max(1, total - warmup), lr_min)


SCHEDULES = {"constant": constant, "step": step_decay, "exponential": exponential,
             "cosine": cosine, "warmup_cosine": warmup_cosine}
