"""The seed's conceptual questions 1–6, 10, 13–15 as items (issue 13; see concepts.py).

Question 3 has a calculation (a residual block with a weak branch), checked by
sympy.diff of the composed block against the path-by-path key.
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from grader.problems.concepts import Concept, Explain, Numeric, Order, Pick, Select, make
from grader.problems.core import NUMBER, STANDARD, Part, R, agree, fmt
from grader.problems.variants import Dice

Q01 = Concept("q01", "Why “backward” propagation", "Question 1", lambda p: (
    "Backpropagation is called *backward* propagation. Answer the questions below, then "
    "explain it in your own words."), (
    Pick("flows", "What flows backward through the network?",
         right=("The gradient of the loss with respect to each intermediate value and "
                "parameter (the error signal), from the loss towards the input",
                "∂loss/∂(every activation and weight), computed from the output layer "
                "back to the embeddings"),
         wrong=("The activations, recomputed from the output back to the input",
                "The parameter values, copied from the last layer to the first",
                "The loss value itself, passed unchanged to every layer",
                "The input tokens, in reverse order")),
    Pick("meaning", "What does ∂loss/∂W tell us about a parameter W?",
         right=("How much, and in which direction, the loss changes when W is nudged "
                "(so −∂loss/∂W is the direction that lowers the loss)",),
         wrong=("The value W should take to make the loss zero",
                "W's share of the total loss",
                "How many times W was used in the forward pass",
                "The learning rate to use for W")),
    Order("path", "Put these in the order the gradient reaches them in the backward pass.",
          ("∂loss/∂logits", "the output projection W_output", "Transformer Block 2",
           "Transformer Block 1", "the embedding matrix")),
    Explain("explain", "Explain in your own words why it is called backward propagation: what "
            "flows backward, and what it tells us.",
            (("says the loss's gradient (error signal) is what flows, from the loss towards "
              "the inputs", 2),
             ("connects it to the chain rule: each layer's gradient is computed from the "
              "layer after it", 1),
             ("says what the gradient tells each parameter: direction and size of the "
              "change that lowers the loss", 1)),
            "The forward pass computes the loss from the input. The backward pass starts at the "
            "loss and applies the chain rule layer by layer in reverse: each layer turns the "
            "gradient with respect to its output into the gradient with respect to its input "
            "and its parameters. What flows is ∂loss/∂(activation); for each parameter it "
            "says in which direction and how strongly to change it to reduce the loss."),
))

Q02 = Concept("q02", "Storing activations for the backward pass", "Question 2", lambda p: (
    "The backward pass needs values computed in the forward pass."), (
    Select("needed", "Which of these does the backward pass read from the forward pass? "
           "Select every one that applies.",
           right=("The input x of a linear layer (for ∂loss/∂W = xᵀ·∂loss/∂out)",
                  "The ReLU input z (or its mask z > 0)",
                  "The attention probabilities of each head (for the softmax backward)",
                  "LayerNorm's normalized input x̂ and 1/σ",
                  "The softmax output probabilities (for p − one_hot)"),
           wrong=("The Adam moment estimates m and v",
                  "The gradients of the previous training step",
                  "The learning-rate schedule",
                  "The validation loss of the last epoch")),
    Pick("without", "What would happen if the activations were not stored?",
         right=("They would have to be recomputed by running (part of) the forward pass "
                "again: the same gradients, for more computation (gradient checkpointing)",),
         wrong=("The gradients would all be zero",
                "Nothing: gradients depend only on the weights, not on the activations",
                "Training would work only with batch size 1",
                "The loss could no longer be computed")),
    Explain("explain", "Why do we need to store activations from the forward pass, and what "
            "would happen if we did not?",
            (("names a concrete backward formula that uses a forward value (e.g. ∂W = xᵀ·∂out, "
              "ReLU's mask, softmax's p)", 2),
             ("says the alternative is recomputation (more compute, less memory)", 1),
             ("says it is a memory cost that grows with batch size and depth", 1)),
            "Local derivatives depend on the forward values: a linear layer's weight gradient "
            "is xᵀ·∂out, ReLU needs to know where z > 0, softmax backward uses p. Without them "
            "the forward pass must be run again (gradient checkpointing trades this compute "
            "for memory); activations are the memory cost of training that grows with batch "
            "size and depth."),
))


# ------------------------------------------------------------------------ question 3
def _q03_seed() -> dict:
    return {"g": R("0.5"), "d": R("0.1"), "n": 4}


def _q03_generate(dice: Dice) -> dict:
    return {"g": dice.decimal("0.2", "0.9", 1), "d": dice.choice([R("0.05"), R("0.1"), R("0.2"),
                                                                 R("0.25"), R("0.5")]),
            "n": dice.integer(3, 6)}


def _q03_solve(p: dict) -> list[Part]:
    g, d, n = p["g"], p["d"], p["n"]
    return [
        Part("identity", "the gradient reaching x along the skip path", NUMBER, g, 1, STANDARD,
             mistakes=(("the branch path's value", g * d),)),
        Part("branch", "the gradient reaching x through the branch", NUMBER, g * d, 1, STANDARD,
             mistakes=(("the skip path's value", g),)),
        Part("total", "∂loss/∂x, the total", NUMBER, g * (1 + d), 2, STANDARD,
             mistakes=(("the branch only (no skip)", g * d), ("the skip only", g),
                       ("the paths multiplied", g * g * d))),
        Part("plain_n", f"∂loss/∂x₀ through {n} such blocks without skip connections", NUMBER,
             g * d**n, 2, STANDARD, mistakes=(("with the skips", g * (1 + d) ** n),)),
        Part("residual_n", f"∂loss/∂x₀ through {n} such blocks with skip connections", NUMBER,
             g * (1 + d) ** n, 2, STANDARD, mistakes=(("without the skips", g * d**n),
                                                      ("one block only", g * (1 + d)))),
    ]


def _q03_verify(p: dict, parts: list[Part]) -> None:
    x, gs, ds = sp.symbols("x g d")
    block = x + ds * x                         # y = x + f(x), f'(x) = d
    loss = gs * block                          # ∂loss/∂y = g
    values = {gs: p["g"], ds: p["d"]}
    by = {q.name: q.answer for q in parts}
    agree("q03 total", by["total"], sp.diff(loss, x).xreplace(values))
    agree("q03 identity", by["identity"], sp.diff(gs * x, x).xreplace(values))
    agree("q03 branch", by["branch"], sp.diff(gs * ds * x, x).xreplace(values))
    plain, res = x, x
    for _ in range(p["n"]):
        plain, res = ds * plain, res + ds * res
    agree("q03 plain_n", by["plain_n"], sp.diff(gs * plain, x).xreplace(values))
    agree("q03 residual_n", by["residual_n"], sp.diff(gs * res, x).xreplace(values))


Q03 = Concept("q03", "Residual connections pass gradients unchanged", "Question 3", lambda p: (
    f"A residual block computes `y = x + f(x)`. Its branch f is weak: f'(x) = {fmt(p['d'])}. "
    f"The gradient arriving at the block output is ∂loss/∂y = {fmt(p['g'])}. Give the gradient "
    f"reaching x along each path and in total; then stack {p['n']} such blocks and give "
    f"∂loss/∂x₀ with and without the skip connections (∂loss/∂(last output) = "
    f"{fmt(p['g'])})."), (
    Pick("why", "Why do skip connections help train deep networks?",
         right=("The skip path's local derivative is exactly 1, so however small the branch "
                "gradients are, the gradient reaches early layers without shrinking "
                "exponentially with depth",),
         wrong=("They make every branch's derivative larger than 1",
                "They remove the need for a backward pass through the branch",
                "They halve the gradient at every block, which prevents explosion",
                "They make the loss smaller, so gradients are smaller")),
    Explain("explain", "Explain, with your numbers above, why this helps training deep networks.",
            (("uses the numbers: compares the plain product with the residual one", 2),
             ("says the identity path carries the gradient with derivative exactly 1", 1),
             ("links it to vanishing gradients in deep networks", 1)),
            "Without skips the gradient is multiplied by the branch derivative in every block "
            "and shrinks like dⁿ; with skips each block multiplies it by 1 + d, so at least "
            "the identity path's share g reaches the first layer unchanged and early layers "
            "keep learning."),
), Numeric(_q03_seed, _q03_generate, _q03_solve, _q03_verify,
           lambda p: [] if 0 < p["d"] < 1 and p["g"] > 0 else ["d must be in (0, 1)"]))

Q04 = Concept("q04", "The sign of ∂loss/∂logits", "Question 4", lambda p: (
    "∂loss/∂logits = p − one_hot(target). The correct token's entry is negative (the seed's "
    "−0.3075), every other entry positive."), (
    Pick("target", "Why is the correct token's entry negative?",
         right=("It is p_target − 1, and p_target < 1",),
         wrong=("Because its logit is negative",
                "Because the loss is negative",
                "Because softmax outputs for the target are negative",
                "Because the one-hot vector is −1 at the target")),
    Pick("does", "What does gradient descent do with that negative entry?",
         right=("Raises the target's logit (W ← W − lr·gradient moves against the sign)",),
         wrong=("Lowers the target's logit",
                "Leaves the target's logit alone and lowers the others only",
                "Sets the target's logit to zero")),
    Select("true", "Which statements about ∂loss/∂logits are true? Select every one.",
           right=("The entries sum to 0",
                  "A wrong token's entry equals its probability: the more probability it "
                  "wrongly takes, the harder its logit is pushed down",
                  "All entries shrink towards 0 as the model becomes confident and right"),
           wrong=("A wrong token's entry is always exactly 1/V",
                  "The target's entry is −1 whatever the probabilities",
                  "Entries are larger for tokens with larger logits whatever the target")),
    Explain("explain", "Explain why the signs make sense and what they tell the model to do.",
            (("target entry p − 1 < 0 ⇒ its logit goes up", 2),
             ("other entries p_j > 0 ⇒ their logits go down, in proportion to p_j", 1),
             ("sum zero / probability mass moves to the target", 1)),
            "The target's entry is p_t − 1 < 0, so a descent step raises its logit; each other "
            "entry is p_j > 0, so its logit is lowered in proportion to the probability it "
            "wrongly received. The entries sum to 0: probability mass moves to the target."),
))

Q05 = Concept("q05", "Gradient magnitudes shrink going backward", "Question 5", lambda p: (
    "The seed compares ∂loss/∂W_output (~0.01–0.1) with ∂loss/∂embeddings "
    "(~0.00001–0.005)."), (
    Pick("why", "Why do gradients get smaller as we go backward?",
         right=("Each layer multiplies the gradient by its local derivatives, and factors "
                "below 1 compound over the layers",),
         wrong=("Earlier layers have fewer parameters",
                "The loss is smaller at earlier layers",
                "Earlier layers use a smaller learning rate",
                "The embeddings are not part of the backward pass")),
    Pick("problem", "Is this a problem?",
         right=("Only when it becomes extreme (vanishing, like 1e-10): moderate attenuation "
                "is normal, and residual connections and LayerNorm keep it moderate",),
         wrong=("Always: any decrease means the early layers cannot learn",
                "Never: the size of a gradient does not matter for training",
                "Only for the output layer")),
    Explain("explain", "Explain why gradients shrink going backward, and when it becomes a "
            "problem.",
            (("product of local derivatives over layers", 2),
             ("distinguishes normal attenuation from vanishing gradients", 1),
             ("names a remedy: residual connections / LayerNorm / initialization", 1)),
            "Each layer's backward multiplies by its local Jacobian; factors below 1 compound. "
            "Moderate attenuation is normal; it is a problem when early layers get gradients "
            "so small they stop learning. Residual paths and LayerNorm prevent that."),
))


def _q06_seed() -> dict:
    return {"loss": R("0.03")}


def _q06_generate(dice: Dice) -> dict:
    return {"loss": dice.choice([R("0.01"), R("0.02"), R("0.03"), R("0.05"), R("0.1"),
                                 R("0.2")])}


def _q06_solve(p: dict) -> list[Part]:
    prob = sp.exp(-p["loss"])
    return [Part("p_target", "the probability of the target token, p = exp(−loss)", NUMBER,
                 prob, 2, STANDARD, mistakes=(("1 − loss", 1 - p["loss"]),)),
            Part("dlogit", "∂loss/∂logit of the target, p − 1", NUMBER, prob - 1, 2, STANDARD,
                 mistakes=(("the sign flipped", 1 - prob), ("the loss itself", p["loss"])))]


def _q06_verify(p: dict, parts: list[Part]) -> None:
    # The key must give the loss back: −log(p) = loss (sympy simplifies log(exp(−L)) = −L).
    agree("q06 p: −log p = loss", -sp.log(parts[0].answer), p["loss"])
    # One logit z for the target against a fixed rest r = e^loss − 1 (so p = e^z/(e^z + r)
    # is the key's p at z = 0): sympy.diff of the cross-entropy.
    loss, r = _q06_symbolic()
    agree("q06 dlogit", parts[1].answer, loss.xreplace({r: sp.exp(p["loss"]) - 1}))


@lru_cache(maxsize=None)
def _q06_symbolic():
    z, r = sp.symbols("z r", positive=True)
    return sp.diff(-sp.log(sp.exp(z) / (sp.exp(z) + r)), z).subs(z, 0), r


Q06 = Concept("q06", "Loss, gradients and updates", "Question 6", lambda p: (
    f"A training example has cross-entropy loss {fmt(p['loss'])} = −log p(target). Give p and "
    "the gradient of the loss with respect to the target's logit."), (
    Pick("continue", "Why does the model keep updating parameters when the loss is this small?",
         right=("The gradient p − 1 is small but not zero (and other examples may still "
                "have a larger loss), so every step still moves the parameters a little",),
         wrong=("The optimizer continues until the loss is exactly 0, which never happens "
                "for any model",
                "Updates at small loss have no direction: they are random noise",
                "The learning rate grows automatically as the loss shrinks",
                "It does not: SGD stops when the loss is below 0.05")),
    Explain("explain", "Explain the relationship between loss, gradients and parameter updates.",
            (("update = −lr × gradient; the gradient is the slope of the loss", 2),
             ("small loss ⇒ small (non-zero) gradient ⇒ small updates", 1),
             ("training stops by choice (early stopping, schedule), not because updates vanish", 1)),
            "The update is −lr·∂loss/∂W. The gradient measures the slope of the loss, not its "
            "size; at loss 0.03, p ≈ 0.97 and the target's gradient is ≈ −0.03, small but not "
            "zero, so parameters keep moving (more slowly). Training ends when we stop it."),
), Numeric(_q06_seed, _q06_generate, _q06_solve, _q06_verify))


# ------------------------------------------------------------- shapes (questions 10, 13, 15)
def _shape_check(what: str, part: Part, shape: tuple[int, ...]) -> None:
    from grader.problems.core import DerivationMismatch
    if tuple(part.answer) != tuple(int(d) for d in shape):
        raise DerivationMismatch(f"{what}: {part.answer} != {shape}")


def _q10_seed() -> dict:
    return {"n": 8, "d": 64, "h": 256, "o": 64}


def _q10_generate(dice: Dice) -> dict:
    return {"n": dice.choice([4, 6, 8, 10]), "d": dice.choice([16, 32, 64]),
            "h": dice.choice([48, 96, 128, 256]), "o": dice.choice([8, 20, 32])}


def _q10_solve(p: dict) -> list[Part]:
    from grader.problems.core import SHAPE
    return [Part("dhidden_shape", "the shape of ∂loss/∂hidden", SHAPE, (p["n"], p["h"]), 1),
            Part("dW1_shape", "the shape of ∂loss/∂W₁", SHAPE, (p["d"], p["h"]), 1)]


def _q10_verify(p: dict, parts: list[Part]) -> None:
    import numpy as np
    x, W1, W2 = np.zeros((p["n"], p["d"])), np.zeros((p["d"], p["h"])), np.zeros((p["h"], p["o"]))
    dout = np.zeros((x @ W1 @ W2).shape)
    dhidden = dout @ W2.T
    _shape_check("q10 dhidden", parts[0], dhidden.shape)
    _shape_check("q10 dW1", parts[1], (x.T @ dhidden).shape)


Q10 = Concept("q10", "The chain of derivatives to W₁", "Question 10", lambda p: (
    f"`loss = f(output)`, `output = hidden @ W₂`, `hidden = ReLU(x @ W₁)`, with x of shape "
    f"{p['n']} × {p['d']}, W₁ {p['d']} × {p['h']} and W₂ {p['h']} × {p['o']}."), (
    Order("chain", "Put the factors of the chain rule for ∂loss/∂W₁ in order, from the loss "
          "to W₁.",
          ("∂loss/∂output", "∂output/∂hidden (multiply by W₂ᵀ)",
           "∂hidden/∂(x @ W₁) (the ReLU mask 1[x @ W₁ > 0])", "∂(x @ W₁)/∂W₁ (xᵀ on the left)")),
    Pick("formula", "Which formula is ∂loss/∂W₁?",
         right=("`xᵀ @ ((∂loss/∂output @ W₂ᵀ) ⊙ 1[x @ W₁ > 0])`",),
         wrong=("`xᵀ @ (∂loss/∂output @ W₂ᵀ)` (no ReLU mask)",
                "`x @ ((∂loss/∂output @ W₂) ⊙ 1[x @ W₁ > 0])`",
                "`xᵀ @ ((∂loss/∂output @ W₂ᵀ) ⊙ ReLU(x @ W₁))`",
                "`(∂loss/∂output @ W₂ᵀ) @ xᵀ`")),
    Explain("explain", "Write out the full chain of derivatives, one factor per line, with "
            "each factor's shape.",
            (("all four factors, in order", 2), ("the ReLU mask as an elementwise product", 1),
             ("shapes consistent (transposes in the right places)", 1)),
            "∂L/∂W₁ = xᵀ @ [(∂L/∂output @ W₂ᵀ) ⊙ 1[x@W₁ > 0]]: ∂L/∂output (n×o) → "
            "@W₂ᵀ gives ∂L/∂hidden (n×h) → ⊙ mask gives ∂L/∂z (n×h) → xᵀ@ gives d×h."),
), Numeric(_q10_seed, _q10_generate, _q10_solve, _q10_verify))


def _q13_seed() -> dict:
    return {"C": 64, "H": 4, "T": 8, "head": 2}


def _q13_generate(dice: Dice) -> dict:
    return {"C": dice.choice([32, 64, 128]), "H": dice.choice([2, 4, 8]),
            "T": dice.choice([6, 8, 10, 12]), "head": 2}


def _q13_solve(p: dict) -> list[Part]:
    from grader.problems.core import SHAPE
    hs = p["C"] // p["H"]
    return [Part("dQ_shape", "the shape of ∂loss/∂Q for head 2", SHAPE, (p["T"], hs), 1),
            Part("dWq_shape", "the shape of ∂loss/∂W_q for head 2", SHAPE, (p["C"], hs), 1)]


def _q13_verify(p: dict, parts: list[Part]) -> None:
    import numpy as np
    X = np.zeros((p["T"], p["C"]))
    Wq = np.zeros((p["C"], p["C"]))[:, np.arange(p["C"]).reshape(p["H"], -1)[p["head"] - 1]]
    dQ = np.zeros((X @ Wq).shape)
    _shape_check("q13 dQ", parts[0], dQ.shape)
    _shape_check("q13 dWq", parts[1], (X.T @ dQ).shape)


Q13 = Concept("q13", "The gradient path to W_q", "Question 13", lambda p: (
    f"Trace the gradient from the loss to W_q of Block 1, head 2, in a model with C = {p['C']}, "
    f"H = {p['H']} heads and T = {p['T']} positions."), (
    Order("path", "Put these steps of the backward pass in the order the gradient passes them.",
          ("the output projection and Block 2",
           "Block 1's attention output projection W_o",
           "head 2's columns of ∂loss/∂concat",
           "attention @ V (giving ∂loss/∂attention)",
           "the softmax backward",
           "the 1/√d_k scaling",
           "Q @ Kᵀ (giving ∂loss/∂Q), then ∂loss/∂W_q = Xᵀ @ ∂loss/∂Q")),
    Explain("explain", "List every operation the gradient passes through, from the loss to "
            "W_q, and say how it transforms at each step.",
            (("the order through output projection, Block 2, Block 1's LayerNorms/residuals, "
              "W_o, head slice, attention@V, softmax, scale, QKᵀ", 2),
             ("says how it transforms at two or more steps (transposed matmuls, softmax "
              "Jacobian, ×1/√d_k, residual split)", 2)),
            "logits → W_output (@W_outᵀ) → Block 2 (LayerNorm backward, residual splits, FFN, "
            "attention) → Block 1's final LayerNorm and FFN residual → Block 1's attention: "
            "@W_oᵀ, take head 2's columns, ∂attention = ∂head @ Vᵀ, softmax backward "
            "p ⊙ (g − Σ g p), ×1/√d_k, ∂Q = ∂scores @ K, ∂W_q = Xᵀ @ ∂Q."),
), Numeric(_q13_seed, _q13_generate, _q13_solve, _q13_verify))

Q14 = Concept("q14", "The gradient at a residual connection", "Question 14", lambda p: (
    "At a residual connection `out = x + F(x)` the gradient splits into two paths."), (
    Order("events", "Put these in order, as the backward pass meets them.",
          ("∂loss/∂out arrives from the layer after the block",
           "it is copied, unchanged, into the skip path and into the branch",
           "the branch's backward pass turns it into ∂F/∂x applied to ∂loss/∂out",
           "the two paths are added at x: ∂loss/∂x = ∂loss/∂out + the branch's result")),
    Pick("merge", "How do the two paths combine at x?",
         right=("They are added", ),
         wrong=("They are averaged", "They are multiplied",
                "Only the larger one is kept", "Only the branch's is kept")),
    Explain("explain", "Draw the split as a small diagram (text is fine): where the gradient "
            "comes from, how it splits, where each path goes, where they merge. Explain why "
            "this shortcut helps training.",
            (("diagram with source, split, both paths and the merge", 2),
             ("merge is a sum", 1), ("shortcut carries the gradient with derivative 1", 1)),
            "∂out → (copy) → skip: ∂out; branch: F's backward → sum at x. The skip path "
            "passes ∂out with derivative 1, so early layers always get a direct signal."),
))


def _q15_seed() -> dict:
    return {"H": 4, "C": 64, "T": 8, "h": 2}


def _q15_generate(dice: Dice) -> dict:
    H = dice.choice([2, 4, 8])
    return {"H": H, "C": dice.choice([32, 64, 128]), "T": dice.choice([6, 8, 10]),
            "h": dice.integer(2, H)}


def _q15_solve(p: dict) -> list[Part]:
    from grader.problems.core import EXACT, INTEGER, SHAPE
    hs = p["C"] // p["H"]
    return [Part("matrices", "how many of the per-head W_q, W_k, W_v matrices receive a gradient "
                 "in one block", INTEGER, sp.Integer(3 * p["H"]), 1, EXACT,
                 mistakes=(("one per head", sp.Integer(p["H"])), ("three", sp.Integer(3)))),
            Part("first_column", f"the first column of ∂loss/∂concat that head {p['h']} receives "
                 "(counting from 0)", INTEGER, sp.Integer((p["h"] - 1) * hs), 1, EXACT,
                 mistakes=(("counting heads from 0", sp.Integer(p["h"] * hs)),)),
            Part("slice_shape", f"the shape of head {p['h']}'s slice of ∂loss/∂concat", SHAPE,
                 (p["T"], hs), 1)]


def _q15_verify(p: dict, parts: list[Part]) -> None:
    import numpy as np
    cols = np.arange(p["C"]).reshape(p["H"], -1)             # head i's columns of concat
    mats = [(i, w) for i in range(p["H"]) for w in ("q", "k", "v")]
    agree("q15 matrices", parts[0].answer, sp.Integer(len(mats)))
    agree("q15 first column", parts[1].answer, sp.Integer(int(cols[p["h"] - 1][0])))
    _shape_check("q15 slice", parts[2], np.zeros((p["T"], p["C"]))[:, cols[p["h"] - 1]].shape)


Q15 = Concept("q15", "Gradients of the heads", "Question 15", lambda p: (
    f"Multi-head attention with H = {p['H']} heads, C = {p['C']}, T = {p['T']}: each head has its "
    f"own W_q, W_k, W_v (C × C/H); the heads' outputs are concatenated (T × C) and multiplied "
    f"by W_o."), (
    Pick("cross", "Does head 1's W_q receive gradient from head 2's attention pattern?",
         right=("No: head 1's W_q, W_k, W_v receive gradient only through head 1's columns of "
                "∂loss/∂concat; the heads interact only through W_o and the shared input X",),
         wrong=("Yes: every head's W_q receives the sum of all heads' attention gradients",
                "Yes: softmax is taken over all heads together",
                "No: the heads are updated in separate training steps",
                "Yes: the heads share one W_q")),
    Explain("explain", "Explain how the gradient is distributed among the heads' weight matrices.",
            (("∂concat is split by columns, one slice per head", 2),
             ("each head's slice flows only into that head's W_q, W_k, W_v", 1),
             ("heads couple only through W_o / the shared input (∂X sums over heads)", 1)),
            "∂concat = ∂out @ W_oᵀ is split into H column slices; slice h flows back through "
            "head h's attention into its own W_q, W_k, W_v only. The heads meet again at X, "
            "where their contributions to ∂X are summed."),
), Numeric(_q15_seed, _q15_generate, _q15_solve, _q15_verify))

PROBLEMS = tuple(make(c) for c in (Q01, Q02, Q03, Q04, Q05, Q06, Q10, Q13, Q14, Q15))
