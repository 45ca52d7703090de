"""The seed's conceptual questions 19–26, 28, 30–32 and 35 as items (issue 13; see
concepts.py). Calculations: 20 (Adam's first step), 21 (diagnosing two runs), 22 (how
deep until 1e-12), 25 (noise of a batch mean), 26 (checkpointing's memory trade),
28 (the size of p − one_hot), 30 (float16 rounding of an update, checked with NumPy's
float16), 31 (LeakyReLU forward and backward) and 32 (a residual block whose total
gradient is smaller than g), each derived a second way.
"""
from __future__ import annotations

import math
from functools import lru_cache

import sympy as sp

from grader.problems.concepts import Concept, Explain, Numeric, Pick, Select, make
from grader.problems.core import (CHOICE, EXACT, INTEGER, NUMBER, STANDARD, VECTOR,
                                  DerivationMismatch, Part, R, agree, fmt, fmt_vec)
from grader.problems.variants import Dice


def _same(what: str, a, b) -> None:
    if a != b:
        raise DerivationMismatch(f"{what}: {a} != {b}")


Q19 = Concept("q19", "Choosing the learning rate", "Question 19", lambda p: (
    "The learning rate scales every update: W ← W − lr·∂loss/∂W. For our model the seed "
    "uses lr = 0.001."), (
    Pick("large", "What happens when the learning rate is too large (0.1)?",
         right=("Steps overshoot the minimum: the loss oscillates or diverges",),
         wrong=("Training is stable but very slow", "The gradients become zero",
                "The model overfits immediately")),
    Pick("small", "What happens when it is too small (0.00001)?",
         right=("Training is stable but very slow: thousands of times more steps for the "
                "same progress",),
         wrong=("The loss diverges", "The gradients explode",
                "The parameters stop changing at once and never move again")),
    Pick("right", "What does a well chosen rate (0.001) give?",
         right=("Steady decrease of the loss without overshooting",),
         wrong=("The global minimum in one step", "Zero gradients after the first epoch",
                "A loss that oscillates with constant amplitude")),
    Explain("explain", "Explain why the learning rate must be chosen carefully, for each of the "
            "three cases.",
            (("too large: overshoot / oscillation / divergence (critical rate 2/curvature)", 2),
             ("too small: slow progress, may stall", 1), ("a good rate: steady descent", 1)),
            "Too large overshoots: on a quadratic, rates beyond 2/curvature diverge. Too small "
            "moves in tiny steps and needs far more updates. A good rate decreases the loss "
            "steadily."),
))


# ----------------------------------------------------------------------- question 20
def _q20_seed() -> dict:
    return {"lr": R("0.001"), "g": R("-0.05")}


def _q20_generate(dice: Dice) -> dict:
    return {"lr": dice.choice([R("0.001"), R("0.002"), R("0.0005"), R("0.01")]),
            "g": dice.decimal("-0.9", "0.9", 2, nonzero=True)}


EPS = sp.Rational(1, 10**8)


def _q20_solve(p: dict) -> list[Part]:
    lr, g = p["lr"], p["g"]
    step = lr * abs(g) / (abs(g) + EPS)
    return [Part("adam_step", "the size |ΔW| of Adam's first update", NUMBER, step, 2, STANDARD,
                 mistakes=(("the SGD step lr·|g|", lr * abs(g)),
                           ("without bias correction", lr * sp.Rational(1, 10) * abs(g)
                            / (sp.sqrt(sp.Rational(1, 1000)) * abs(g) + EPS)))),
            Part("sgd_step", "the size |ΔW| of SGD's update with the same lr", NUMBER,
                 lr * abs(g), 1, STANDARD)]


def _q20_verify(p: dict, parts: list[Part]) -> None:
    lr, g = p["lr"], p["g"]
    m = sp.Rational(1, 10) * g                     # m1 = (1 − β1) g
    v = sp.Rational(1, 1000) * g * g               # v1 = (1 − β2) g²
    mhat, vhat = m / (1 - sp.Rational(9, 10)), v / (1 - sp.Rational(999, 1000))
    agree("q20 adam", parts[0].answer, abs(lr * mhat / (sp.sqrt(vhat) + EPS)))
    agree("q20 sgd", parts[1].answer, abs(0 - lr * g))


Q20 = Concept("q20", "Why Adam helps", "Question 20", lambda p: (
    f"Adam (β₁ = 0.9, β₂ = 0.999, ε = 1e-8, bias-corrected, m = v = 0 before step 1) and SGD "
    f"both take their first step with lr = {fmt(p['lr'])} on a parameter whose gradient is "
    f"g = {fmt(p['g'])}. Give the size of each step."), (
    Pick("analogy", "Which picture describes Adam best?",
         right=("A heavy ball rolling downhill whose speed is normalized per direction: "
                "momentum averages out zig-zags, and dividing by √v̂ gives steep and flat "
                "directions steps of similar size",),
         wrong=("A ball that always moves in the direction of the first gradient it saw",
                "A method that computes the exact second derivatives (the Hessian)",
                "A larger learning rate for parameters with larger gradients",
                "A random search that keeps improvements")),
    Explain("explain", "Explain conceptually why momentum (m) and the variance estimate (v) "
            "help compared with vanilla SGD. Use your numbers.",
            (("momentum: running average smooths noisy gradients / speeds consistent directions", 2),
             ("v: per-parameter step normalization (the first step is ≈ lr whatever |g|)", 1),
             ("uses the numbers above", 1)),
            "m averages gradients over steps, damping noise and accelerating consistent "
            "directions; dividing by √v̂ normalizes each parameter's step, so the first step "
            "is ≈ lr whatever |g| is, while SGD's is lr·|g|."),
), Numeric(_q20_seed, _q20_generate, _q20_solve, _q20_verify))


# ----------------------------------------------------------------------- question 21
VERDICTS = ("overfitting", "underfitting", "fitting well")
RULE = ("call a run **underfitting** when its training loss is at least 1, **overfitting** "
        "when the training loss is below 1 and the validation loss exceeds it by more than 0.1, "
        "and **fitting well** otherwise")


def _verdict(train, val) -> str:
    if train >= 1:
        return "underfitting"
    return "overfitting" if val - train > sp.Rational(1, 10) else "fitting well"


def _q21_seed() -> dict:
    return {"a": (R("0.12"), R("0.45")), "b": (R("1.4"), R("1.5"))}


def _q21_generate(dice: Dice) -> dict:
    t = dice.decimal("0.05", "0.3", 2)
    a = (t, t + dice.decimal("0.2", "0.6", 2))
    kind = dice.choice(["under", "well"])
    if kind == "under":
        u = dice.decimal("1.1", "2.5", 1)
        b = (u, u + dice.decimal("0", "0.1", 2))
    else:
        w = dice.decimal("0.05", "0.4", 2)
        b = (w, w + dice.decimal("0", "0.06", 2))
    return {"a": a, "b": b}


def _q21_check(p: dict) -> list[str]:
    for t, v in (p["a"], p["b"]):
        if abs(t - 1) <= sp.Rational(1, 20) or (t < 1 and abs(v - t - sp.Rational(1, 10))
                                                 <= sp.Rational(1, 100)):
            return ["a run too close to the rule's boundary"]
    return []


def _q21_solve(p: dict) -> list[Part]:
    (ta, va), (tb, vb) = p["a"], p["b"]
    return [Part("gap", "run A: validation loss − training loss", NUMBER, va - ta, 1, STANDARD,
                 mistakes=(("training − validation", ta - va), ("the ratio", va / ta))),
            Part("run_a", "the diagnosis of run A", CHOICE, _verdict(ta, va), 2, choices=VERDICTS),
            Part("run_b", "the diagnosis of run B", CHOICE, _verdict(tb, vb), 2, choices=VERDICTS)]


def _q21_verify(p: dict, parts: list[Part]) -> None:
    agree("q21 gap", parts[0].answer, sp.Add(p["a"][1], sp.Mul(-1, p["a"][0])))
    for part, (t, v) in zip(parts[1:], (p["a"], p["b"])):
        table = {(True, False): "underfitting", (True, True): "underfitting",
                 (False, True): "overfitting", (False, False): "fitting well"}
        _same(f"q21 {part.name}", part.answer, table[(bool(t >= 1), bool(v > t + R("0.1")))])


Q21 = Concept("q21", "Training and validation loss", "Question 21", lambda p: (
    f"After 50 epochs, run A has training loss {fmt(p['a'][0])} and validation loss "
    f"{fmt(p['a'][1])}; run B, another configuration, {fmt(p['b'][0])} and {fmt(p['b'][1])}. "
    f"For the diagnoses, {RULE}."), (
    Pick("continue", "Should you continue training run A as it is?",
         right=("No: more epochs fit the training set further while the validation loss stays "
                "high; stop at the best validation epoch and change the setup",),
         wrong=("Yes: the training loss is still decreasing, so the model is still improving",
                "Yes: validation loss always catches up with training loss eventually",
                "No: the learning rate must be raised tenfold first")),
    Select("change", "What might you change for run A? Select every one that helps.",
           right=("Stop early at the epoch with the lowest validation loss",
                  "Add regularization (weight decay or dropout)",
                  "Get more training data (or augment it)",
                  "Use a smaller model"),
           wrong=("Train for many more epochs with the same settings",
                  "Make the model larger",
                  "Evaluate on the training set instead",
                  "Remove the validation set"), n_right=3, n_wrong=2),
    Explain("explain", "What is happening in run A, and what would you do?",
            (("overfitting: the gap between validation and training loss", 2),
             ("a sound decision on continuing (stop / early stopping)", 1),
             ("at least one sensible change (regularization, data, smaller model)", 1)),
            "Run A overfits: validation loss is far above training loss. Continuing only fits "
            "noise; use early stopping, regularization, more data or a smaller model."),
), Numeric(_q21_seed, _q21_generate, _q21_solve, _q21_verify, _q21_check))


# ----------------------------------------------------------------------- question 22
def _q22_seed() -> dict:
    return {"a": R("0.5")}


def _q22_generate(dice: Dice) -> dict:
    return {"a": dice.choice([R("0.5"), R("0.25"), R("0.2"), R("0.1"), R("0.4"), R("0.8")])}


def _q22_layers(a) -> int:
    n = 0
    while a**n >= sp.Rational(1, 10**12):
        n += 1
    return n


def _q22_solve(p: dict) -> list[Part]:
    n = _q22_layers(p["a"])
    return [Part("layers", "the fewest layers at which the gradient falls below 1e-12",
                 INTEGER, sp.Integer(n), 2, EXACT, mistakes=(("one layer short", sp.Integer(n - 1)),))]


def _q22_verify(p: dict, parts: list[Part]) -> None:
    # n is the least integer with n·log10(1/a) > 12.
    n = math.floor(12 / math.log10(1 / float(p["a"]))) + 1
    while p["a"] ** (n - 1) < sp.Rational(1, 10**12):
        n -= 1
    agree("q22 layers", parts[0].answer, sp.Integer(n))


Q22 = Concept("q22", "Fixing vanishing gradients", "Question 22", lambda p: (
    f"A deep plain network multiplies the gradient by {fmt(p['a'])} in every layer. Starting "
    "from 1 at the top, after how many layers is it below 1e-12 (∂loss/∂Block1_params ≈ 1e-12)? "
    "Then choose fixes."), (
    Select("fixes", "Which architectural changes help? Select every one.",
           right=("Add residual (skip) connections around each block",
                  "Add LayerNorm inside the blocks",
                  "Replace saturating activations (sigmoid, tanh) by ReLU or GELU",
                  "Initialize the weights with a variance-preserving scheme (Xavier/He)"),
           wrong=("Raise the learning rate by a factor of 10¹²",
                  "Remove the residual connections",
                  "Replace ReLU by sigmoid",
                  "Add more layers"), n_right=3, n_wrong=2),
    Explain("explain", "List three concrete architectural changes and explain how each helps.",
            (("three valid changes", 3), ("a correct mechanism for each (derivative 1 path, "
                                          "normalized scale, non-saturating derivative, init)", 3)),
            "Residual connections add an identity path with derivative 1; LayerNorm keeps "
            "activations and their gradients at a fixed scale; ReLU/GELU do not saturate (derivative "
            "1 for positive inputs); He/Xavier initialization keeps each layer's gain near 1."),
), Numeric(_q22_seed, _q22_generate, _q22_solve, _q22_verify))

Q23 = Concept("q23", "Verifying backpropagation", "Question 23", lambda p: (
    "You want to check a backpropagation implementation with numerical gradients."), (
    Select("design", "Which belong in a good gradient check? Select every one.",
           right=("Central differences (f(W + ε) − f(W − ε)) / 2ε with ε around 1e-5 in float64",
                  "A random, non-uniform upstream gradient (not all ones)",
                  "Inputs kept away from ReLU's kink at 0",
                  "The relative error max|a − n| / max(|a| + |n|, tiny), not the absolute one"),
           wrong=("ε = 1e-15, as small as possible",
                  "float16 arithmetic, to be fast",
                  "Only the first parameter of each matrix",
                  "An all-ones upstream gradient"), n_right=3, n_wrong=2),
    Pick("tolerance", "In float64 with ε = 1e-5, which relative error do you accept?",
         right=("About 1e-7 or less (truncation ε² and rounding 1e-16/ε are both that small)",),
         wrong=("About 0.1", "Exactly 0", "About 1e-20")),
    Explain("explain", "Design the experiment: what you compute, what you compare it against, "
            "and which tolerance you accept, and why.",
            (("numerical central differences vs the analytic gradient, per parameter", 2),
             ("a tolerance with a reason (ε², rounding/ε, float64)", 1),
             ("a precaution: random upstream gradient, float64, away from kinks", 1)),
            "Compute (L(W+ε) − L(W−ε))/2ε per parameter in float64 with ε = 1e-5 and compare "
            "with the analytic gradient by relative error; accept ≈1e-7 since truncation is "
            "O(ε²) and rounding O(1e-16/ε). Use a random upstream gradient and avoid kinks."),
))

Q24 = Concept("q24", "A loss spike", "Question 24", lambda p: (
    "The training loss decreases for 30 epochs, suddenly spikes to 5× its previous value, then "
    "decreases again."), (
    Select("causes", "Which could cause it? Select every one.",
           right=("A learning rate too high for the current region (or a schedule's jump)",
                  "An exploding gradient from an unusual batch",
                  "An outlier or corrupted batch of data",
                  "A numerical overflow (e.g. in float16 or in an unstabilized softmax)"),
           wrong=("The model has converged",
                  "The validation set is too small",
                  "Too few training epochs",
                  "The learning rate is too small"), n_right=3, n_wrong=2),
    Select("diagnose", "How would you diagnose it? Select every one.",
           right=("Log the gradient norm every step and look at the spike",
                  "Inspect the batch processed at the spike",
                  "Rerun with gradient clipping or a lower rate and see whether it disappears"),
           wrong=("Look only at the final accuracy",
                  "Delete the checkpoints before the spike",
                  "Increase the number of epochs"), n_right=2, n_wrong=2),
    Explain("explain", "What might cause it, and how would you diagnose it?",
            (("a plausible cause (large step, exploding gradient, bad batch, overflow)", 2),
             ("a concrete diagnostic (gradient norms, the batch, clipping experiment)", 2)),
            "A too-large step in a sharp region, an exploding gradient or a bad batch; log "
            "gradient norms and losses per step, inspect the batch, retry with clipping."),
))


# ----------------------------------------------------------------------- question 25
def _q25_seed() -> dict:
    return {"sigma": R("0.4"), "B": 16, "N": 10000, "B2": 32}


def _q25_generate(dice: Dice) -> dict:
    return {"sigma": dice.decimal("0.1", "0.9", 1), "B": dice.choice([4, 16, 25, 64, 100]),
            "N": dice.choice([1000, 5000, 10000, 12000]), "B2": dice.choice([32, 48, 64, 128])}


def _q25_solve(p: dict) -> list[Part]:
    return [Part("noise", f"the standard deviation of the mean gradient of a batch of {p['B']}",
                 NUMBER, p["sigma"] / sp.sqrt(p["B"]), 2, STANDARD,
                 mistakes=(("σ/B", p["sigma"] / p["B"]), ("σ·√B", p["sigma"] * sp.sqrt(p["B"])))),
            Part("updates", f"updates per epoch with batch size {p['B2']}", INTEGER,
                 sp.ceiling(sp.Rational(p["N"], p["B2"])), 1, EXACT,
                 mistakes=(("rounded down", sp.floor(sp.Rational(p["N"], p["B2"]))),))]


def _q25_verify(p: dict, parts: list[Part]) -> None:
    var = sum(p["sigma"] ** 2 for _ in range(p["B"])) / sp.Integer(p["B"]) ** 2
    agree("q25 noise", parts[0].answer, sp.sqrt(var))
    n, done = 0, 0
    while done < p["N"]:
        done, n = done + p["B2"], n + 1
    agree("q25 updates", parts[1].answer, sp.Integer(n))


Q25 = Concept("q25", "Batch size and gradient noise", "Question 25", lambda p: (
    f"Single-example gradients of one parameter have standard deviation σ = {fmt(p['sigma'])} "
    f"around their mean (independent examples). The training set has {p['N']} examples."), (
    Pick("bad", "Is the noise of batch_size = 1 always bad?",
         right=("No: some noise helps escape sharp minima and saddle points, and small batches "
                "give more updates per epoch",),
         wrong=("Yes: noisy gradients always slow training down",
                "Yes: batch size 1 gives biased gradients",
                "No: batch size does not change the noise")),
    Explain("explain", "Explain why batch_size = 1 gives noisier gradients than 32, and when noise "
            "helps.",
            (("the batch mean averages B samples: noise shrinks like σ/√B", 2),
             ("noise can help: escaping sharp minima/saddles, regularization, more updates", 2)),
            "A batch gradient is a mean of B per-example gradients, whose standard deviation "
            "is σ/√B. Noise is not always bad: it helps escape saddles and sharp minima and "
            "small batches make more updates per epoch."),
), Numeric(_q25_seed, _q25_generate, _q25_solve, _q25_verify))


# ----------------------------------------------------------------------- question 26
def _q26_seed() -> dict:
    return {"L": 16, "A": 68048}


def _q26_generate(dice: Dice) -> dict:
    return {"L": dice.choice([16, 36, 64, 100, 144]),
            "A": dice.choice([4096, 32768, 65536, 68048, 131072])}


def _q26_solve(p: dict) -> list[Part]:
    L, A = p["L"], p["A"]
    k = math.isqrt(L)
    return [Part("all_bytes", "bytes of activations kept without checkpointing", INTEGER,
                 sp.Integer(L * A), 1, EXACT),
            Part("ckpt_bytes", f"peak bytes with a checkpoint every {k} layers", INTEGER,
                 sp.Integer((L // k + k) * A), 2, EXACT,
                 mistakes=(("the checkpoints only", sp.Integer(L // k * A)),
                           ("one segment only", sp.Integer(k * A)))),
            Part("extra_forwards", "extra layer forward passes the recomputation costs", INTEGER,
                 sp.Integer(L), 1, EXACT),
            Part("best_k", "the segment length k that minimizes the peak", INTEGER,
                 sp.Integer(k), 1, EXACT)]


def _q26_verify(p: dict, parts: list[Part]) -> None:
    L, A = p["L"], p["A"]
    peaks = {k: (L // k + k) * A for k in range(1, L + 1) if L % k == 0}
    best = min(peaks, key=lambda k: (peaks[k], k))
    agree("q26 all", parts[0].answer, sp.Integer(sum(A for _ in range(L))))
    agree("q26 best", parts[3].answer, sp.Integer(best))
    agree("q26 ckpt", parts[1].answer, sp.Integer(peaks[best]))
    recomputed = sum(best for _segment in range(L // best))
    agree("q26 extra", parts[2].answer, sp.Integer(recomputed))


Q26 = Concept("q26", "Gradient checkpointing", "Question 26", lambda p: (
    f"A network of L = {p['L']} layers stores A = {p['A']} bytes of activations per layer for "
    f"the backward pass. With checkpointing it keeps only the input of every k-th layer (L/k "
    f"checkpoints of A bytes each); in the backward pass it recomputes one segment of k layers "
    f"at a time from its checkpoint (k layers' activations live at once), so the peak is "
    f"(L/k + k)·A and every layer's forward pass runs once more. Use k = √L = "
    f"{math.isqrt(p['L'])}."), (
    Pick("what", "What is checkpointed and what is recomputed?",
         right=("A few layers' inputs are kept; the activations inside each segment are "
                "recomputed from them during the backward pass",),
         wrong=("The gradients are kept; the parameters are recomputed",
                "The optimizer state is saved to disk and reloaded",
                "All activations are kept, and the gradients recomputed twice")),
    Explain("explain", "Explain gradient checkpointing and why large models need it.",
            (("keep a few activations, recompute the rest in the backward pass", 2),
             ("the trade: about one more forward pass for memory ~ √L instead of L", 1),
             ("large models: activations dominate memory (depth × batch × sequence)", 1)),
            "Store only checkpoints; recompute each segment's activations when its backward "
            "runs. It costs about one extra forward pass and cuts activation memory from L·A "
            "to about 2√L·A; large models' activations would not fit otherwise."),
), Numeric(_q26_seed, _q26_generate, _q26_solve, _q26_verify))


# ----------------------------------------------------------------------- question 28
def _q28_seed() -> dict:
    return {"probs": (R("0.05"), R("0.1"), R("0.7"), R("0.15")), "target": 2}


def _q28_generate(dice: Dice) -> dict:
    while True:
        a = [dice.integer(1, 60) for _ in range(3)]
        if sum(a) < 100:
            break
    probs = [sp.Rational(x, 100) for x in a] + [sp.Rational(100 - sum(a), 100)]
    return {"probs": tuple(probs), "target": dice.integer(0, 3)}


def _q28_solve(p: dict) -> list[Part]:
    pt = p["probs"][p["target"]]
    return [Part("l1", "the sum of the absolute values of the entries of p − one_hot", NUMBER,
                 2 * (1 - pt), 2, STANDARD, mistakes=(("1 − p_target", 1 - pt),)),
            Part("sum", "the sum of the entries", NUMBER, sp.Integer(0), 1, STANDARD)]


def _q28_verify(p: dict, parts: list[Part]) -> None:
    g = [q - (1 if i == p["target"] else 0) for i, q in enumerate(p["probs"])]
    agree("q28 l1", parts[0].answer, sum(abs(x) for x in g))
    agree("q28 sum", parts[1].answer, sp.Add(*g))


Q28 = Concept("q28", "∂loss/∂logits is bounded", "Question 28", lambda p: (
    f"The probabilities are {fmt_vec(p['probs'])} and the target is index {p['target']} "
    "(counting from 0)."), (
    Select("true", "Which are true of p − one_hot(target)? Select every one.",
           right=("Every entry lies in [−1, 1]",
                  "The entries sum to 0",
                  "The only negative entry is the target's",
                  "Its size shrinks as the model becomes confident and right"),
           wrong=("Entries can exceed 1 when a logit is very large",
                  "It grows with the magnitude of the logits",
                  "Every entry is positive"), n_right=3, n_wrong=2),
    Explain("explain", "Explain why this bound is good for training stability.",
            (("bounded whatever the logits: no exploding gradient from the loss", 2),
             ("small when right: confident correct predictions barely move the weights", 1),
             ("the sum-zero / L1 ≤ 2 bound in your own words or numbers", 1)),
            "Every entry lies in [−1, 1] and |g|₁ = 2(1 − p_t) ≤ 2, whatever the logits, so the "
            "loss never injects huge gradients; confident right predictions give tiny ones."),
), Numeric(_q28_seed, _q28_generate, _q28_solve, _q28_verify))


# ----------------------------------------------------------------------- question 30
def _q30_seed() -> dict:
    return {"W": sp.Integer(1), "u": R("0.0001")}


def _q30_generate(dice: Dice) -> dict:
    return {"W": dice.choice([R("0.5"), sp.Integer(1), sp.Integer(2), sp.Integer(4)]),
            "u": dice.choice([R("0.0001"), R("0.0002"), R("0.0003"), R("0.0007"), R("0.001"),
                              R("0.002"), R("0.003"), R("0.006")])}


def _spacing(W) -> sp.Rational:
    e = 0
    while sp.Integer(2) ** (e + 1) <= W:
        e += 1
    while sp.Integer(2) ** e > W:
        e -= 1
    return sp.Integer(2) ** (e - 10)


def _q30_check(p: dict) -> list[str]:
    q = (p["W"] + p["u"]) / _spacing(p["W"])
    frac = q - sp.floor(q)
    return ["W + u too close to a rounding tie"] if abs(frac - sp.Rational(1, 2)) < sp.Rational(1, 20) else []


def _q30_solve(p: dict) -> list[Part]:
    s = _spacing(p["W"])
    rounded = sp.floor((p["W"] + p["u"]) / s + sp.Rational(1, 2)) * s
    return [Part("spacing", "the gap between W and the next larger float16 number", NUMBER, s, 2,
                 STANDARD, mistakes=(("float32's gap", s / 2**13),)),
            Part("result", "W + u computed in float16", NUMBER, rounded, 2, EXACT,
                 mistakes=(("exact arithmetic", p["W"] + p["u"]),)),
            Part("update", "what happens to the update", CHOICE,
                 "lost" if rounded == p["W"] else "kept", 1, choices=("kept", "lost"))]


def _q30_verify(p: dict, parts: list[Part]) -> None:
    import numpy as np
    W = np.float16(float(p["W"]))
    gap = np.nextafter(W, np.float16(np.inf)) - W
    agree("q30 spacing", parts[0].answer, sp.Rational(*float(gap).as_integer_ratio()))
    result = np.float16(W + np.float16(float(p["u"])))
    agree("q30 result", parts[1].answer, sp.Rational(*float(result).as_integer_ratio()))
    _same("q30 update", parts[2].answer, "lost" if result == W else "kept")


Q30 = Concept("q30", "Mixed precision", "Question 30", lambda p: (
    f"A weight W = {fmt(p['W'])} receives an update u = lr·g = {fmt(p['u'])}. float16 has 10 "
    "fraction bits: between 2ᵉ and 2ᵉ⁺¹ its numbers are 2ᵉ⁻¹⁰ apart, and a sum is rounded to "
    "the nearest of them. Give the spacing at W, the float16 result of W + u, and whether the "
    "update is `kept` or `lost`."), (
    Pick("why", "Why keep the parameters (the master copy) in float32?",
         right=("Updates are tiny next to the weights: in float16 many of them round away "
                "and the weight never moves; gradients themselves tolerate relative error",),
         wrong=("float16 cannot represent negative numbers",
                "Gradients need more precision than weights",
                "float32 makes the forward pass faster")),
    Explain("explain", "Explain why lower precision is fine for gradients but not for the "
            "parameter values. Use your numbers.",
            (("updates ≪ weights: W + u rounds back to W in float16 (your numbers)", 2),
             ("gradients only need relative precision (direction); errors average out", 1),
             ("loss scaling / float32 master weights as the fix", 1)),
            "An update of 1e-4 added to 1 is below half of float16's spacing 2⁻¹⁰ and is lost; "
            "accumulating in float32 keeps it. Gradients only need a few significant digits, "
            "and loss scaling keeps them out of the underflow range."),
), Numeric(_q30_seed, _q30_generate, _q30_solve, _q30_verify, _q30_check))


# ----------------------------------------------------------------------- question 31
def _q31_seed() -> dict:
    return {"alpha": R("0.01"), "z": (R("-2"), R("0.5"), R("-0.3"), R("1.5")),
            "g": (R("0.4"), R("-0.2"), R("0.5"), R("0.1"))}


def _q31_generate(dice: Dice) -> dict:
    while True:
        z = tuple(dice.decimal("-3", "3", 1) for _ in range(4))
        if all(abs(x) >= R("0.1") for x in z) and any(x < 0 for x in z) and any(x > 0 for x in z):
            break
    return {"alpha": dice.choice([R("0.01"), R("0.05"), R("0.1"), R("0.2")]), "z": z,
            "g": tuple(dice.decimal("-1", "1", 1, nonzero=True) for _ in range(4))}


def _q31_solve(p: dict) -> list[Part]:
    a = p["alpha"]
    y = tuple(z if z > 0 else a * z for z in p["z"])
    dz = tuple(g * (1 if z > 0 else a) for z, g in zip(p["z"], p["g"]))
    relu = tuple(g * (1 if z > 0 else 0) for z, g in zip(p["z"], p["g"]))
    return [Part("forward", "LeakyReLU(z)", VECTOR, y, 2, STANDARD),
            Part("backward", "∂loss/∂z through LeakyReLU", VECTOR, dz, 2, STANDARD,
                 mistakes=(("ReLU's backward (zero for z ≤ 0)", relu),))]


@lru_cache(maxsize=None)
def _q31_symbolic():
    t, a = sp.symbols("t alpha")
    f = sp.Piecewise((t, t > 0), (a * t, True))
    return t, a, f, sp.diff(f, t)


def _q31_verify(p: dict, parts: list[Part]) -> None:
    t, a, f, df = _q31_symbolic()
    at = [{t: z, a: p["alpha"]} for z in p["z"]]
    agree("q31 forward", parts[0].answer, tuple(f.xreplace(v) for v in at))
    agree("q31 backward: sympy.diff", parts[1].answer,
          tuple(g * df.xreplace(v) for g, v in zip(p["g"], at)))


Q31 = Concept("q31", "An activation without dead neurons", "Question 31", lambda p: (
    f"LeakyReLU(z) = z for z > 0 and {fmt(p['alpha'])}·z otherwise. For z = {fmt_vec(p['z'])} "
    f"and the upstream gradient {fmt_vec(p['g'])}, give the forward and the backward pass."), (
    Select("alive", "Which activations pass a non-zero gradient for every input z ≠ 0? Select "
           "every one.",
           right=("LeakyReLU (slope α > 0 for z < 0)", "ELU (αeᶻ for z < 0)",
                  "softplus log(1 + eᶻ)"),
           wrong=("ReLU", "the step function 1[z > 0]", "ReLU6, min(max(z, 0), 6)"),
           n_right=2, n_wrong=2),
    Explain("explain", "Design your own activation: write its forward and backward passes and "
            "say why it has no dead neurons and is cheap to compute.",
            (("a forward formula and its correct derivative", 2),
             ("non-zero derivative for negative inputs (no dead units)", 1),
             ("cheap: a comparison and a multiply, no exp (or a justified cost)", 1)),
            "LeakyReLU: y = z if z > 0 else αz; dz = g if z > 0 else αg. Negative inputs still "
            "pass α·g, so a unit never stops learning; one comparison and one multiply."),
), Numeric(_q31_seed, _q31_generate, _q31_solve, _q31_verify))


# ----------------------------------------------------------------------- question 32
def _q32_seed() -> dict:
    return {"g": (R("1"), R("0.5")), "J": ((R("-0.5"), R("0")), (R("0.2"), R("-0.6")))}


def _q32_generate(dice: Dice) -> dict:
    return {"g": tuple(dice.decimal("-1", "1", 1, nonzero=True) for _ in range(2)),
            "J": tuple(tuple(dice.decimal("-0.8", "0.8", 1) for _ in range(2)) for _ in range(2))}


def _q32_solve(p: dict) -> list[Part]:
    g, J = p["g"], p["J"]
    branch = tuple(sum(J[i][j] * g[i] for i in range(2)) for j in range(2))     # Jᵀg
    total = tuple(a + b for a, b in zip(g, branch))
    shrinks = sum(x * x for x in total) < sum(x * x for x in g)
    return [Part("identity", "the skip path's contribution to ∂loss/∂x", VECTOR, g, 1, STANDARD),
            Part("total", "∂loss/∂x = g + Jᵀg", VECTOR, total, 2, STANDARD,
                 mistakes=(("g + Jg (no transpose)",
                            tuple(g[i] + sum(J[i][j] * g[j] for j in range(2)) for i in range(2))),)),
            Part("smaller", "is ‖∂loss/∂x‖ smaller than ‖g‖ here", CHOICE,
                 "yes" if shrinks else "no", 1, choices=("yes", "no"))]


def _q32_verify(p: dict, parts: list[Part]) -> None:
    x = sp.symbols("x0 x1")
    out = [x[i] + sum(p["J"][i][j] * x[j] for j in range(2)) for i in range(2)]
    loss = sum(gi * o for gi, o in zip(p["g"], out))
    total = tuple(sp.diff(loss, xi) for xi in x)
    agree("q32 total", parts[1].answer, total)
    agree("q32 identity", parts[0].answer, tuple(sp.diff(sum(gi * xi for gi, xi in zip(p["g"], x)), xi)
                                                 for xi in x))
    n2 = sum(v * v for v in total) < sum(v * v for v in p["g"])
    _same("q32 smaller", parts[2].answer, "yes" if bool(n2) else "no")


Q32 = Concept("q32", "What residual connections preserve", "Question 32", lambda p: (
    f"A residual block `out = x + F(x)` has branch Jacobian J = ∂F/∂x = "
    f"[{fmt_vec(p['J'][0])}, {fmt_vec(p['J'][1])}] (rows are outputs) and receives "
    f"g = ∂loss/∂out = {fmt_vec(p['g'])}."), (
    Pick("claim", "What can be proved about a residual block?",
         right=("The skip path contributes exactly g to ∂loss/∂x; the total g + Jᵀg can still "
                "be smaller than g when the branch term points against g",),
         wrong=("‖∂loss/∂x‖ ≥ ‖g‖ for every branch F",
                "∂loss/∂x = g exactly: the branch contributes nothing",
                "‖∂loss/∂x‖ = 2‖g‖")),
    Explain("explain", "Prove that g flows through the identity path, and say precisely what "
            "this does and does not guarantee.",
            (("∂out/∂x = I + J, so ∂loss/∂x = g + Jᵀg (chain rule)", 2),
             ("the identity term is exactly g, independent of F", 1),
             ("the total norm is not guaranteed ≥ ‖g‖ (a counterexample or the reason)", 1)),
            "out = x + F(x) ⇒ ∂out/∂x = I + J ⇒ ∂loss/∂x = (I + J)ᵀg = g + Jᵀg. The first term "
            "is g whatever F is; the sum may be smaller than g if Jᵀg points against g."),
), Numeric(_q32_seed, _q32_generate, _q32_solve, _q32_verify))


# ----------------------------------------------------------------------- question 35
COMPONENTS = ("attention", "FFN", "residual", "LayerNorm")


def _q35_seed() -> dict:
    return {"before": (R("0.2"), R("0.16"), R("0.1"), R("0.25")),
            "ratio": (R("0.5"), R("0.25"), R("1"), R("0.8"))}


def _q35_generate(dice: Dice) -> dict:
    ratios = dice.sample([R("0.2"), R("0.25"), R("0.4"), R("0.5"), R("0.8"), R("1.25")], 4)
    return {"before": tuple(dice.decimal("0.1", "0.9", 2) for _ in range(4)),
            "ratio": tuple(ratios)}


def _q35_solve(p: dict) -> list[Part]:
    after = tuple(b * r for b, r in zip(p["before"], p["ratio"]))
    ratios = tuple(a / b for a, b in zip(after, p["before"]))
    return [Part("ratios", "after ÷ before, for " + ", ".join(COMPONENTS), VECTOR, ratios, 3,
                 STANDARD, mistakes=(("before ÷ after", tuple(1 / r for r in ratios)),)),
            Part("most", "the component that attenuates the gradient most", CHOICE,
                 COMPONENTS[ratios.index(min(ratios))], 1, choices=COMPONENTS)]


def _q35_verify(p: dict, parts: list[Part]) -> None:
    after = [b * r for b, r in zip(p["before"], p["ratio"])]
    # Cross-multiplied: ratio × before must give back after.
    agree("q35 ratios × before", tuple(r * b for r, b in zip(parts[0].answer, p["before"])),
          tuple(after))
    _same("q35 most", parts[1].answer, sorted(zip(p["ratio"], COMPONENTS))[0][1])


def _q35_intro(p: dict) -> str:
    after = [b * r for b, r in zip(p["before"], p["ratio"])]
    rows = "; ".join(f"{c}: {fmt(b)} before, {fmt(a)} after"
                     for c, b, a in zip(COMPONENTS, p["before"], after))
    return ("You measure the gradient norm before and after each component (in the backward "
            f"pass): {rows}.")


Q35 = Concept("q35", "Measuring each component's gradient flow", "Question 35", _q35_intro, (
    Select("learn", "What can such measurements tell you? Select every one.",
           right=("Which component attenuates (or amplifies) the gradient most",
                  "Whether the residual path keeps the gradient's scale",
                  "Whether LayerNorm keeps gradient norms stable across depth"),
           wrong=("The final accuracy of the model",
                  "Which training examples are mislabeled",
                  "The best learning rate, exactly"), n_right=2, n_wrong=2),
    Explain("explain", "Design the experiment (what you measure, where, and how often) and "
            "say what you would learn.",
            (("hooks/prints of gradient norms before and after each component, over steps", 2),
             ("interpretation: attenuating components, residual highway, LayerNorm stability", 2)),
            "Record ‖∂loss/∂input‖ and ‖∂loss/∂output‖ of each component every few steps; "
            "ratios show which parts shrink the gradient, that the residual path keeps it, "
            "and whether LayerNorm keeps norms steady across depth."),
), Numeric(_q35_seed, _q35_generate, _q35_solve, _q35_verify))

PROBLEMS = tuple(make(c) for c in (Q19, Q20, Q21, Q22, Q23, Q24, Q25, Q26, Q28, Q30, Q31, Q32, Q35))
