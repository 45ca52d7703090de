# Exercise 15: write your code in this file. Replace each
#     raise NotImplementedError("Exercise 15: ...")
# below with your own code; keep every function's name and signature, as the tests
# and the grader call them. You may add helper functions.
# Check your work:   python -m tt check 15
#            (or:    python -m pytest exercises/tests/test_ex15_capstone.py)
"""Exercise 15 (capstone): train the transformer with YOUR backward passes and YOUR Adam.

Seed: the whole of Stage 10, and Part 8 "Why Training Works": "forward -> loss ->
backward -> update -> repeat".

Exercises 1 to 9 wrote every backward function of the model; exercise 12 wrote Adam.
Here they train the real model (102,036 parameters) on the operation task,
`Max(1,6,2)` -> `6`, to at least 99% accuracy on examples it never trained on.

The forward passes are tt's. `ops` is how tt lets you choose the backward ones: a
tt.Ops holds one function per backward pass, by name (linear_backward, ...,
model_backward), and

    loss, grads = tt.loss_and_grads(params, tokens, targets, ops=ops)

runs tt's forward pass, then ops.softmax_cross_entropy_backward and
ops.model_backward(dlogits, cache, ops), which calls the other pieces through ops
too. `tt.reference()` is tt's own set; `.replace(name=function)` swaps pieces in.

The training loop, with the seed's settings (Adam, lr 0.001, batch 32; Part 8 and
"Training Strategies at Scale"):

    params = tt.init_params(seed, dtype)              float32, for speed
    repeat for each epoch:
        shuffle the 4,000 training examples
        for each batch of 32:   loss, grads = tt.loss_and_grads(..., ops=ops)
                                every parameter: params[name], state[name] = adam(...)
        every `eval_every` steps: the accuracy on the 1,000 validation examples

It reaches 99% in about two epochs, some 250 steps of ~20 ms each on one core.
Check your work:  python -m pytest exercises -m ex15      (or: tt check 15)
"""
import time

import numpy as np

import tt
import tt.ops

if __package__:     # exercises/ (or solutions/): your other exercises, beside this file
    from . import (ex01_softmax_cross_entropy, ex02_linear, ex03_relu_ffn, ex04_layernorm,
                   ex05_attention, ex06_multihead_attention, ex07_block, ex08_embedding,
                   ex09_model, ex12_optimizers)
else:               # the autograder imports each exercise file as a module of its own
    import ex01_softmax_cross_entropy
    import ex02_linear
    import ex03_relu_ffn
    import ex04_layernorm
    import ex05_attention
    import ex06_multihead_attention
    import ex07_block
    import ex08_embedding
    import ex09_model
    import ex12_optimizers

# The exercises that wrote backward passes (each has functions named as in tt.ops.NAMES).
BACKWARD_EXERCISES = (ex01_softmax_cross_entropy, ex02_linear, ex03_relu_ffn, ex04_layernorm,
                      ex05_attention, ex06_multihead_attention, ex07_block, ex08_embedding,
                      ex09_model)


def student_ops():
    """A tt.Ops in which every one of the 13 backward functions is yours.

    Returns tt.reference() with each function named in tt.ops.NAMES replaced by the
    function of that name DEFINED in one of BACKWARD_EXERCISES (not one a module
    merely imports). Raises LookupError naming any backward function none of them
    defines, so that nothing of tt's is used by accident.

    Hint: a function's __module__ says where it was defined; compare it with the
    module's __name__.
    """
    raise NotImplementedError("Exercise 15: student_ops")


def accuracy(params, data, batch=1000):
    """The fraction of `data` whose answer digit the model gets right (given).

    The forward pass only: the argmax of the logits against the targets.
    """
    correct = 0
    for i in range(0, len(data), batch):
        logits = tt.forward(params, data.tokens[i:i + batch])          # (b, V)
        correct += int(np.sum(logits.argmax(axis=-1) == data.targets[i:i + batch]))
    return correct / len(data)


def train_capstone(epochs=3, batch_size=32, lr=1e-3, seed=0, dtype="float32",
                   eval_every=25, stop_at=0.99, log=print):
    """Train from scratch with your backward passes and your Adam.

    epochs:     passes over the 4,000 training examples (at most)
    batch_size: examples per step (the last incomplete batch of an epoch is dropped)
    lr:         Adam's learning rate; the other settings are Adam's defaults
    seed:       seeds the initial parameters and the shuffling
    dtype:      of the parameters and of every gradient
    eval_every: steps between measurements of the validation accuracy
    stop_at:    stop as soon as a measurement reaches this accuracy (None: never)
    log:        called with one line of progress per measurement (None: silent)
    Returns {"params": dict, "val_acc": float, "steps": int, "seconds": float,
    "history": [(step, mean training loss since the last measurement, val_acc), ...]}.
    val_acc is the final validation accuracy.

    Use student_ops() for the gradients and ex12_optimizers.adam for the updates, one
    parameter at a time, each with its own state. The data is
    tt.train_val_split(seed=0): the same split as everywhere else. Raise
    FloatingPointError if the loss ever stops being finite.
    tt's counterpart: tt.train.train (a stub in your edition of tt).

    Hint: np.random.default_rng(seed).permutation(n) shuffles the indices 0..n-1.
    """
    raise NotImplementedError("Exercise 15: train_capstone")


# ------------------------------------------------------------- for the autograder (given)
# The autograder runs your code in a process of its own and can send it only data, not a
# tt.Ops: this helper runs the whole model with student_ops() there, and the autograder
# checks the loss and every gradient it returns. Leave it as it is.
def _student_loss_and_grads(params, tokens, targets):
    """tt.loss_and_grads with your backward passes: (loss, grads)."""
    return tt.loss_and_grads(params, tokens, targets, ops=student_ops())
