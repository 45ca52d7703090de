# Exercise 14: write your code in this file. Replace each
#     raise NotImplementedError("Exercise 14: ...")
# below with your own code; keep every function's name and signature, as the tests
# and the grader call them. You may add helper functions.
# Check your work:   python -m tt check 14
#            (or:    python -m pytest exercises/tests/test_ex14_clipping_gradflow.py)
"""Exercise 14: clipping by global norm, and how the gradient's size changes on its way back.

Seed: question 33 (gradient clipping), Exercise 3 "Gradient Flow Analysis", question
17 (ten layers with and without residuals), Part 7 "Gradient Magnitudes at Different
Stages" and question 35.

Clipping. The gradient of the whole model is one long vector g made of every
parameter's gradient. If its length ||g|| = sqrt(sum of every entry squared) is
larger than max_norm, scale ALL of it down by the same factor:

    scale = max_norm / ||g||  if ||g|| > max_norm,  else 1;       g <- scale * g

The direction is kept; only the length is capped. (The seed's Part 7 writes
`min(gradient, max_norm)`, which clamps each entry and turns the direction.)

Gradient flow. Backpropagation multiplies local derivatives, last layer first: going
back through a layer y = f(x) multiplies the gradient by dy/dx. Question 17 asks what
is left after ten layers whose branch has derivative 0.8, first as plain layers
y = f(x), then as residual layers y = x + f(x). Work out dy/dx of a residual layer
yourself (how many paths lead from x to y?). Finally you measure the gradient at each
stage of the real transformer, with your own backward passes.

Check your work:  python -m pytest exercises -m ex14      (or: tt check 14)
"""
from __future__ import annotations   # so that `-> float` reads exactly as in tt.optim

import numpy as np

import tt

# Exercise 3's table, in the order of the backward pass: the gradient starts at the
# logits and ends at the embeddings.
SEED_MAGNITUDES = {
    "logits": 0.3, "Block2_out": 0.15, "Block2_FFN": 0.08, "Block2_attn": 0.12,
    "Block1_out": 0.04, "Block1_FFN": 0.02, "Block1_attn": 0.03, "embeddings": 0.01,
}


# ------------------------------------------------------------------------ clipping
def global_norm(grads) -> float:
    """The length of every gradient taken together; mirrors tt.optim.global_norm.

    grads: {name: array}. Returns a Python float, sqrt(sum over every entry of every
    array of entry^2).

    Hint: it is NOT the sum of the arrays' own norms; it is the root of the sum of
    their squares.
    """
    raise NotImplementedError("Exercise 14: global_norm")


def clip_by_global_norm(grads, max_norm):
    """Question 33; mirrors tt.optim.clip_by_global_norm.

    grads: {name: array}; max_norm: the largest length allowed.
    Returns (clipped, norm): clipped has the same keys, shapes and dtypes as grads,
    every array multiplied by the same scale (1 if the norm is already at most
    max_norm); norm is the global norm BEFORE clipping. grads is not changed.

    Hint: one scale for all the arrays, or their direction changes.
    """
    raise NotImplementedError("Exercise 14: clip_by_global_norm")


# ------------------------------------------------------------------------- Exercise 3
def smallest_gradient(magnitudes):
    """Exercise 3, question 1: the name of the stage with the smallest gradient.

    magnitudes: {stage name: gradient magnitude}, like SEED_MAGNITUDES.
    Returns the name (a str).

    Hint: min() takes a key= function.
    """
    raise NotImplementedError("Exercise 14: smallest_gradient")


def attenuation_ratio(magnitudes):
    """Exercise 3, question 2: the gradient attenuation ratio, last / first.

    magnitudes: {stage name: magnitude} in the order of the BACKWARD pass, so the
    first entry is where the gradient starts (the logits) and the last where it ends
    (the embeddings). Returns a float: below 1 if the gradient shrank on the way back.

    Hint: dicts keep their insertion order.
    """
    raise NotImplementedError("Exercise 14: attenuation_ratio")


# ------------------------------------------------------------------------ question 17
def chain_gradients(local_grads, residual=False, upstream=1.0):
    """Backpropagate through a chain of scalar layers; question 17.

    local_grads: [a_1, ..., a_n], the derivative of each layer's branch f_i, listed
    from the FIRST layer to the last. A plain layer is y = f_i(x), with dy/dx = a_i; a
    residual layer is y = x + f_i(x).
    upstream: the gradient arriving at the output of the last layer.
    Returns a list of n + 1 floats: the gradient at the output, then after going back
    through the last layer, and so on; the last entry is what reaches the first
    layer's input.

    Hint: going back through one layer multiplies the gradient by that layer's own
    derivative dy/dx; work out what dy/dx is for y = x + f(x).
    """
    raise NotImplementedError("Exercise 14: chain_gradients")


# ----------------------------------------------------------- the real model, measured
def stage_gradient_norms(params, tokens, targets, ops):
    """The L2 norm of the gradient at each stage of the model's backward pass (Part 7).

    params: the model's parameter dict (tt.init_params); tokens: (B, T) int;
    targets: (B,) int; ops: the backward functions to use (a tt.Ops).
    Returns {stage: float}, in this order (the seed's table, read top to bottom):
        "logits"        dloss/dlogits                  (B, V)
        "W_output"      dloss/dW_out                   (C, V)
        "final_repr"    dloss/dx at the last position  (B, C), entering the last block
        "block2_params" all parameters of block 2 taken together, then "block1_params"
        "embeddings"    dloss/dembedding               (V, C)
    (with L blocks: "block{L}_params" down to "block1_params"). The loss is the mean
    cross-entropy of tt.loss_and_grads.

    Start from tt.model_forward(params, tokens, last_only=False), which runs every block
    on all positions (the shapes backward passes are written for), and
    tt.softmax_cross_entropy_forward; then make every backward call through `ops`,
    piece by piece (ops.model_backward would hide what passes between the stages).
    With your own backward passes, ops is exercise 15's student_ops(); compare
    attenuation_ratio of the result with Exercise 3's 1/30.
    tt's counterparts: tt.gradflow.stage_gradients and tt.gradflow.stage_norms (stubs
    in your edition of tt).

    Hint: exercise 9's model_backward already walks from the logits to the embeddings;
    here you walk the same way and note each gradient as it passes. A block's
    parameters form one vector, so its norm is a global norm.
    """
    raise NotImplementedError("Exercise 14: stage_gradient_norms")
