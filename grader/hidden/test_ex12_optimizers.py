"""Hidden checks of exercise 12: SGD, momentum and Adam, Exercise 4's trajectories, question 18.

Array updates are compared with tt.optim's rules, run here step by step on the same
gradients, with the state each rule returned passed back in; Exercise 4's scalar
trajectories with plain-Python recurrences written from the seed's formulas; question
18 with exact fractions. (plot_trajectories is not graded: the worker has no matplotlib.)
"""
import math
from fractions import Fraction

import numpy as np
import pytest

import tt.optim
from grader.checks import GradeFailure, expect, tolerance
from grader.hidden.support import call, expect_floats, raised

MODULE = "ex12_optimizers"


def grads_like(rng, shape, n, dtype=np.float64):
    """n gradients whose entries span five orders of magnitude (so Adam's eps matters somewhere)."""
    return [(rng.standard_normal(shape) * 10.0 ** rng.uniform(-5, 0, shape)).astype(dtype) for _ in range(n)]


def run(student, rule, w, grads, hypers):
    """Step the student's rule and tt.optim's side by side, each from its own returned state;
    the reference in float64 on exactly the same numbers (see the tolerances below).

    Yields (k, (next_w, state) from the student, next_w and state of the reference).
    """
    ref = getattr(tt.optim, rule)
    state, ref_state, current, ref_w = None, None, w, np.asarray(w, dtype=np.float64)
    for k, (g, hyper) in enumerate(zip(grads, hypers), start=1):
        got = call(student, MODULE, rule, current, g, state, **hyper)
        if not (isinstance(got, tuple) and len(got) == 2):
            raise GradeFailure(f"{rule} should return (next_w, state), but it returned a {type(got).__name__}")
        ref_w, ref_state = ref(ref_w, np.asarray(g, dtype=np.float64), ref_state, **hyper)
        yield k, got, ref_w, ref_state
        current, state = got


# ------------------------------------------------------------------ tolerances
# Each W (and state) after step k is compared with its exact answer: tt.optim's rule run in
# float64 from the same float32 (or float64) numbers, step after step, at grader.checks.
# tolerance = 8 (terms + depth) eps(answer's dtype) x max|bound| / max|expected|. The bound is
# the same recurrence on absolute values (bounds() below): a rounding of relative size eps in
# any term of any step moves W_k by at most eps times it, and the steps only add (W_k = W_0 -
# sum of the steps), so the errors of k steps add up:
#   sgd       3 roundings a step (lr to the dtype, the product, the subtraction): terms k, depth 2k
#   momentum  v = beta v + dW: 3 a step, and sum_j beta^(k-j) |v_j| <= k |V_k|, so v is off by
#             at most 3k u |V_k|: terms k, depth 2k; W: 3 a step on |W_j| <= |M_k| (3k), plus
#             lr times each v's error (3k u sum lr |V_j| <= 3k u |M_k|): terms k, depth 6k
#   adam      m and v: about 5 a step each (beta, 1 - beta, two products, the sum); the step
#             lr m_hat / (sqrt(v_hat) + eps): the corrections, the root, eps, the division, lr:
#             about 15 relative roundings against |m| / (sqrt(v_hat) + eps), carried from
#             every earlier step; W adds 3: terms k, depth 32k (m and v: terms k, depth 4k)
# v is a sum of squares (no cancellation), so its relative error needs no condition number;
# m's cancellation is in the |m| bound. The mistakes (momentum as a mean, a correction missing,
# eps in the root, t one step ahead) change W by a sizeable part of lr at every step.
DEPTH = {"sgd": {"w": 2}, "sgd_momentum": {"w": 6, "v": 2}, "adam": {"w": 32, "m": 4, "v": 4}}


def bounds(rule, w, grads, hypers):
    """[{"w": |W_k| bound, and the state's bounds}] after each step: the rule on absolute values."""
    W, v, m, out = np.abs(np.asarray(w, dtype=np.float64)), 0.0, 0.0, []
    for t, (g, h) in enumerate(zip(grads, hypers), start=1):
        g = np.abs(np.asarray(g, dtype=np.float64))
        lr = abs(h["lr"])
        if rule == "sgd":
            W = W + lr * g
            out.append({"w": W})
        elif rule == "sgd_momentum":
            v = h.get("beta", 0.9) * v + g
            W = W + lr * v
            out.append({"w": W, "v": v})
        else:
            b1, b2 = h.get("beta1", 0.9), h.get("beta2", 0.999)
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            W = W + lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + 1e-8)
            out.append({"w": W, "m": m, "v": v})
    return out


def rtol(rule, what, k, dtype, bound, exact):
    """The tolerance of `what` ("w", "v", "m") after step k (see above)."""
    return tolerance(dtype, terms=k, depth=DEPTH[rule][what] * k, magnitude=bound, expected=exact)


def wrong_paths(w, grads, hypers, rule):
    """Trajectories of the usual mistakes, each from a plain recurrence (elementwise on arrays),
    in float64 on the same numbers."""
    w = np.asarray(w, dtype=np.float64) if isinstance(w, np.ndarray) else w
    grads = [np.asarray(g, dtype=np.float64) if isinstance(g, np.ndarray) else g for g in grads]
    out = {}
    if rule == "sgd":
        for name, sign, use_lr in (("uphill", 1, True), ("no_lr", -1, False)):
            x, path = w, []
            for g, h in zip(grads, hypers):
                x = x + sign * (h["lr"] if use_lr else 1.0) * g
                path.append(x)
            out[name] = path
    if rule == "sgd_momentum":
        for name in ("ema", "lr_inside", "w_first", "beta_fixed"):
            v, x, path = 0.0, w, []
            for g, h in zip(grads, hypers):
                beta = h.get("beta", 0.9)
                if name == "ema":
                    v = beta * v + (1 - beta) * g
                    x = x - h["lr"] * v
                elif name == "lr_inside":
                    v = beta * v + h["lr"] * g
                    x = x - v
                elif name == "w_first":                  # W moved with the velocity before this step's
                    x = x - h["lr"] * v
                    v = beta * v + g
                else:                                    # 0.9 whatever beta is given
                    v = 0.9 * v + g
                    x = x - h["lr"] * v
                path.append(x)
            if name != "beta_fixed" or any(h.get("beta", 0.9) != 0.9 for h in hypers):
                out[name] = path
    if rule == "adam":
        for name in ("no_correction", "no_m_correction", "no_v_correction", "eps_inside", "t_plus_one"):
            m = v = 0.0
            x, path = w, []
            for t, (g, h) in enumerate(zip(grads, hypers), start=1):
                b1, b2, lr = h.get("beta1", 0.9), h.get("beta2", 0.999), h["lr"]
                m = b1 * m + (1 - b1) * g
                v = b2 * v + (1 - b2) * g * g
                cm, cv = 1 - b1 ** t, 1 - b2 ** t
                if name == "no_correction":
                    cm = cv = 1.0
                elif name == "no_m_correction":
                    cm = 1.0
                elif name == "no_v_correction":
                    cv = 1.0
                elif name == "t_plus_one":
                    cm, cv = 1 - b1 ** (t + 1), 1 - b2 ** (t + 1)
                if name == "eps_inside":
                    x = x - lr * (m / cm) / np.sqrt(v / cv + 1e-8)
                else:
                    x = x - lr * (m / cm) / (np.sqrt(v / cv) + 1e-8)
                path.append(x)
            out[name] = path
    return out


DIAGNOSES = {
    "ema": "that is momentum as a running mean, v = beta v + (1 - beta) dW; here v is a running SUM, "
           "v = beta v + dW",
    "lr_inside": "lr is inside the velocity (v = beta v + lr dW; W = W - v); here v sums raw gradients "
                 "and lr multiplies it when W moves: v = beta v + dW; W = W - lr v",
    "uphill": "the step goes up the gradient: W moves against dW, W - lr dW",
    "no_lr": "lr is left out: the step is lr times the gradient",
    "w_first": "W is moved with the old velocity, before v is updated: first v = beta v + dW, then W = W - lr v "
               "with the new v (the first step already moves W)",
    "beta_fixed": "beta is always 0.9: use the beta you are given",
    "no_correction": "Adam without the bias corrections: divide m by 1 - beta1^t and v by 1 - beta2^t",
    "no_m_correction": "m is not bias-corrected: m_hat = m / (1 - beta1^t) (v's correction is right)",
    "no_v_correction": "v is not bias-corrected: v_hat = v / (1 - beta2^t) (m's correction is right)",
    "eps_inside": "eps is inside the square root; it is added after it: sqrt(v_hat) + eps",
    "t_plus_one": "the bias corrections are one step ahead: the first step has t = 1, so 1 - beta1^1",
}


def check_rule(student, rule, w, grads, hypers, state_check=None, check_w=True):
    """Steps of `rule` from the returned state; W after each (if check_w) and the state
    (if state_check) against the reference."""
    wrong = wrong_paths(w, grads, hypers, rule)
    dtype = np.asarray(w).dtype
    bound = bounds(rule, w, grads, hypers)
    for k, got, ref_w, ref_state in run(student, rule, w, grads, hypers):
        next_w, state = got
        name = f"w after step {k}"
        if (rule == "adam" and k == 1 and isinstance(next_w, np.ndarray) and next_w.dtype.kind == "f"
                and next_w.size and np.all(np.isnan(next_w))):     # m / 0 and v / 0: inf / inf everywhere
            raise GradeFailure(f"adam: {name} is not finite",
                               "the bias correction divides by 1 - beta^t, which is 0 at t = 0: add 1 to t "
                               "before using it, so the first step has t = 1")
        if check_w:
            expect(next_w, ref_w, (name,), function=rule, rtol=rtol(rule, "w", k, dtype, bound[k - 1]["w"], ref_w),
                   dtype=dtype, variants=[(DIAGNOSES[m], {name: path[k - 1]}) for m, path in wrong.items()])
        if not isinstance(state, dict):
            raise GradeFailure(f"{rule}: the state should be a dict, but it is a {type(state).__name__}")
        if state_check:
            state_check(k, state, ref_state, hypers[k - 1],
                        {n: rtol(rule, n, k, dtype, bound[k - 1][n], ref_state[n]) for n in bound[k - 1] if n != "w"})


@pytest.mark.points(2)
def test_sgd(student, rng):
    """Four SGD steps on a random (3, 4) array, each from the returned state."""
    w = rng.standard_normal((3, 4))
    lr = float(10.0 ** rng.uniform(-3, -1))
    check_rule(student, "sgd", w, grads_like(rng, w.shape, 4), [{"lr": lr}] * 4)


def momentum_state(k, state, ref_state, hyper, rtols):
    if "v" not in state:
        raise GradeFailure(f"sgd_momentum: the state should be {{'v': v}}, but its keys are {sorted(state)[:5]}")
    v, lr = ref_state["v"], hyper["lr"]
    expect(state["v"], v, (f"state['v'] after step {k}",), function="sgd_momentum", rtol=rtols["v"],
           variants=[(DIAGNOSES["lr_inside"], {f"state['v'] after step {k}": lr * v}),
                     ("the velocity holds -lr times the sum (v = beta v - lr dW; W = W + v); here v sums raw "
                      "gradients: v = beta v + dW; W = W - lr v", {f"state['v'] after step {k}": -lr * v})])


@pytest.mark.points(3)
def test_momentum(student, rng):
    """Five momentum steps on a random (5, 3) array with a random beta: W and the velocity in the state after each step."""
    w = rng.standard_normal((5, 3))
    hyper = {"lr": float(10.0 ** rng.uniform(-3, -1)), "beta": float(rng.uniform(0.5, 0.95))}
    check_rule(student, "sgd_momentum", w, grads_like(rng, w.shape, 5), [hyper] * 5, state_check=momentum_state)


@pytest.mark.points(1)
def test_momentum_changing_lr(student, rng):
    """Momentum with a learning rate that changes at every step (a schedule): lr multiplies the velocity when W moves."""
    w = rng.standard_normal(6)
    hypers = [{"lr": float(10.0 ** rng.uniform(-3, -1)), "beta": 0.9} for _ in range(5)]
    check_rule(student, "sgd_momentum", w, grads_like(rng, w.shape, 5), hypers)


def adam_state(k, state, ref_state, hyper, rtols):
    if not {"m", "v", "t"} <= set(state):
        raise GradeFailure(f"adam: the state should be {{'m': m, 'v': v, 't': t}}, but its keys are {sorted(state)[:5]}")
    if not (isinstance(state["t"], (int, np.integer)) and not isinstance(state["t"], bool) and state["t"] == k):
        raise GradeFailure(f"adam: state['t'] after step {k} is {str(state['t'])[:30]}",
                           "t counts the steps taken: 1 after the first step, 2 after the second, ...")
    expect((state["m"], state["v"]), (ref_state["m"], ref_state["v"]), (f"state['m'] after step {k}",
           f"state['v'] after step {k}"), function="adam",
           rtol={f"state['m'] after step {k}": rtols["m"], f"state['v'] after step {k}": rtols["v"]})


@pytest.mark.points(4)
def test_adam(student, rng):
    """Six Adam steps on a random (4, 5) array with random lr, beta1 and beta2 and gradients from 1e-5 to 1: W after each step."""
    w = rng.standard_normal((4, 5))
    hyper = {"lr": float(10.0 ** rng.uniform(-3, -1.5)), "beta1": float(rng.uniform(0.8, 0.95)),
             "beta2": float(rng.uniform(0.99, 0.9999))}
    check_rule(student, "adam", w, grads_like(rng, w.shape, 6), [hyper] * 6)


@pytest.mark.points(1)
def test_adam_state(student, rng):
    """Adam's state after each step: m and v, and t counting the steps from 1 (W is test_adam's)."""
    w = rng.standard_normal(7)
    check_rule(student, "adam", w, grads_like(rng, w.shape, 3), [{"lr": 0.01}] * 3, state_check=adam_state,
               check_w=False)


@pytest.mark.points(1)
def test_float32_keeps_dtype(student, rng):
    """All three rules on float32 arrays: the new W is float32 too."""
    w = rng.standard_normal((3, 3)).astype(np.float32)
    grads = grads_like(rng, w.shape, 3, np.float32)
    for rule in ("sgd", "sgd_momentum", "adam"):
        check_rule(student, rule, w, grads, [{"lr": 0.01}] * 3)


# ------------------------------------------------------------------------ Exercise 4
def paths(w0, grads, lr):
    """The seed's three recurrences in plain Python floats."""
    sgd, mom, adam = [], [], []
    w, wm, wa, v, m, s = w0, w0, w0, 0.0, 0.0, 0.0
    for t, g in enumerate(grads, start=1):
        w = w - lr * g
        v = 0.9 * v + g
        wm = wm - lr * v
        m = 0.9 * m + 0.1 * g
        s = 0.999 * s + 0.001 * g * g
        wa = wa - lr * (m / (1 - 0.9 ** t)) / (math.sqrt(s / (1 - 0.999 ** t)) + 1e-8)
        sgd.append(w), mom.append(wm), adam.append(wa)
    return {"sgd": sgd, "momentum": mom, "adam": adam}


@pytest.mark.points(2)
def test_exercise4_trajectories(student, rng):
    """Exercise 4 with a random start, learning rate and six gradients: the three trajectories of Python floats."""
    w0 = float(rng.uniform(-1, 1))
    grads = [float(g) for g in rng.uniform(-0.2, 0.2, 6)]
    lr = float(rng.choice([0.01, 0.02, 0.05]))
    got = call(student, MODULE, "exercise4_trajectories", w0, grads, lr)
    want = paths(w0, grads, lr)
    if not (isinstance(got, dict) and set(got) == set(want)):
        raise GradeFailure("exercise4_trajectories should return a dict with the keys 'sgd', 'momentum' and "
                           f"'adam', but it returned {type(got).__name__}"
                           + (f" with keys {sorted(got)[:5]}" if isinstance(got, dict) else ""))
    hypers = [{"lr": lr, "beta": 0.9}] * len(grads)
    wrong = {**wrong_paths(w0, grads, hypers, "sgd_momentum"), **wrong_paths(w0, grads, hypers, "adam")}
    rules = {"sgd": "sgd", "momentum": "sgd_momentum", "adam": "adam"}
    for name in ("sgd", "momentum", "adam"):
        # the tolerance of the last step (the largest), against the bound of the whole path
        bound = bounds(rules[name], w0, grads, hypers)
        tol = rtol(rules[name], "w", len(grads), np.float64, np.max([b["w"] for b in bound]), want[name])
        expect_floats(got[name], want[name], f"trajectories[{name!r}]", function="exercise4_trajectories",
                      rtol=tol, variants=[(DIAGNOSES[m], p) for m, p in wrong.items()]
                      + [("w0 is included; the list holds W after each step only", [w0] + want[name][:-1])])


# ----------------------------------------------------------------------- question 18
def exact(*values):
    return (Fraction(str(v)) for v in values)


def float_loop(w, grad, lr, target):
    """How many updates a loop in floats counts (to pick inputs where it is wrong)."""
    step, k = -lr * grad, 0
    while (w < target if step > 0 else w > target) and k < 10_000:
        w, k = w + step, k + 1
    return k


def question18_case(rng, halfway=False, trap=None):
    """(w, grad, lr, target) in short decimals: the target is n steps away (or n - 1/2), and
    `trap(w, grad, lr, target, n)` (when given) holds: a float computation gets it wrong."""
    while True:
        lr = float(rng.choice([0.001, 0.01, 0.1]))
        grad = float(rng.choice([-1, 1]) * int(rng.integers(1, 100)) / 100)
        w = int(rng.integers(0, 1000)) / 1000
        n = int(rng.integers(20, 400))
        target = Fraction(str(w)) - (n - Fraction(1, 2) * halfway) * Fraction(str(lr)) * Fraction(str(grad))
        if Fraction(str(float(target))) == target and (trap is None or trap(w, grad, lr, float(target), n)):
            return w, grad, lr, float(target)


@pytest.mark.points(2)
def test_updates_to_reach(student, rng):
    """updates_to_reach for random decimals, up and down, where the target is a whole number of steps away (and a loop or a division in floats is off by one) or halfway between two."""
    cases = [question18_case(rng, trap=lambda *c: float_loop(*c[:4]) != c[4]) for _ in range(2)]
    cases.append(question18_case(rng, trap=lambda w, g, lr, t, n: math.ceil((t - w) / (-lr * g)) != n))
    cases += [question18_case(rng, halfway=True) for _ in range(2)]
    for w, grad, lr, target in cases:
        fw, fg, flr, ft = exact(w, grad, lr, target)
        want = math.ceil((ft - fw) / (-flr * fg))
        got = call(student, MODULE, "updates_to_reach", w, grad, lr, target)
        if isinstance(got, bool) or not isinstance(got, (int, np.integer)):
            raise GradeFailure(f"updates_to_reach should return an int, but it returned a {type(got).__name__}")
        if got != want:
            diagnosis = ""
            if got == want + 1:
                diagnosis = ("it looks counted in floats, where the sum of the steps can fall just short of the "
                             "target (0.2499999...) and take one update more: read each number as "
                             "Fraction(str(x)) and divide the distance by the step exactly")
            elif got == want - 1:
                diagnosis = "when the target falls between two steps, round the number of steps up (math.ceil)"
            raise GradeFailure(f"updates_to_reach({w}, {grad}, {lr}, {target}) is wrong (it returned {int(got)})",
                               diagnosis)


@pytest.mark.points(1)
def test_updates_never_reached(student, rng):
    """updates_to_reach raises ValueError when the updates move away from the target or do not move."""
    w = int(rng.integers(0, 1000)) / 1000
    for grad, what in ((0.05, "updates that move away from the target"), (0.0, "a zero gradient")):
        kind = raised(student, MODULE, "updates_to_reach", w, grad, 0.001, w + 0.1)
        if kind != "ValueError":
            raise GradeFailure(f"updates_to_reach with {what} should raise ValueError, but it "
                               + (f"raised {kind}" if kind else "returned"),
                               "the updates never get there: raise ValueError instead of looping forever or "
                               "returning a number")
