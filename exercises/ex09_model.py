# Exercise 9: write your code in this file. Replace each
#     raise NotImplementedError("Exercise 9: ...")
# below with your own code; keep every function's name and signature, as the tests
# and the grader call them. You may add helper functions.
# Check your work:   python -m tt check 9
#            (or:    python -m pytest exercises/tests/test_ex09_model.py)
"""Exercise 9: the whole model's backward pass: every one of the 102,036 gradients.

Seed: Part 7 "The Complete Backward Pass" (and Parts 2 to 5, now in one piece),
question 13.

The forward pass (given, tt.model_forward(params, tokens, last_only=False)):

    x      = E[tokens] + PE              tokens: (B, T) int;  x: (B, T, C)      embedding
    x      = block_0(x)                  (B, T, C)                              blocks.0.*
    x      = block_1(x)                  (B, T, C)                              blocks.1.*
    logits = x[:, -1] @ W_out + b_out    (B, V)                                 W_out, b_out

It returns the logits and a ModelCache(embedding, blocks, output): the
EmbeddingCache, the list of the blocks' BlockCaches (block 0 first) and the
OutputCache. The parameters are one flat dict, the model contract: "embedding",
"blocks.{i}.W_q" ... "blocks.{i}.ln2.beta" (the 12 block-local names of exercise 7,
prefixed), "W_out" and "b_out". 1,280 + 2 x 49,728 + 1,300 = 102,036 numbers (the
seed's 102,016 leaves out the 20 output biases).
Check your work:  python -m pytest exercises -m ex09   (or: tt check 9)
"""
import tt
from tt.model import ModelCache, model_forward  # noqa: F401  (the forward is given)


def model_backward(dlogits, cache, ops=None):
    """Every parameter's gradient from dL/dlogits; mirrors tt.model_backward.

    dlogits: (B, V)  where the backward pass starts (exercise 1's output)
    cache:   ModelCache(embedding, blocks, output) from tt.model_forward
    ops:     where to find the pieces: call ops.output_backward(..., ops),
             ops.block_backward(..., ops) and ops.embedding_backward(...). The tests
             pass finite-difference versions, so this exercise does not depend on your
             earlier ones; exercise 15 passes your own.
    Returns grads: a dict with exactly the keys of the parameter dict, each gradient
    the shape of its parameter: "embedding" (V, C), "blocks.{i}.<name>" for every
    block i and block-local name, "W_out" (C, V), "b_out" (V,).

    Hint: follow the seed's Part 7 diagram from the top. Each piece returns the
    gradient of its input, and that is the gradient of the output of the piece
    before it.
    """
    raise NotImplementedError("Exercise 9: model_backward")
