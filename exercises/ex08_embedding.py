# Exercise 8: write your code in this file. Replace each
#     raise NotImplementedError("Exercise 8: ...")
# below with your own code; keep every function's name and signature, as the tests
# and the grader call them. You may add helper functions.
# Check your work:   python -m tt check 8
#            (or:    python -m pytest exercises/tests/test_ex08_embedding.py)
"""Exercise 8: embedding backward, where gradients of a repeated token accumulate.

Seed: Part 5 "Backward Through Embeddings" and question 16.

The forward pass (given, tt.embedding_forward) looks up one row of the embedding
matrix per token and adds the fixed positional encoding of its position:

    x[b, t] = E[tokens[b, t]] + PE[t]      tokens: (B, T) int;  E: (V, C);  x: (B, T, C)

PE is fixed, not learned, so only E gets a gradient. In `Max(1,6,2)`, tokens
[15, 17, 3, 19, 8, 19, 4, 18], the comma (19) is looked up at positions 3 and 5.
Check your work:  python -m pytest exercises -m ex08   (or: tt check 8)
"""
import numpy as np

from tt.model import EmbeddingCache, embedding_forward  # noqa: F401  (the forward is given)


def embedding_backward(dout, cache):
    """Backward of x[b, t] = E[tokens[b, t]] + PE[t]; mirrors tt.embedding_backward.

    dout:  (B, T, C)  dL/dx
    cache: EmbeddingCache(tokens (B, T) int, E (V, C)); only E's shape is needed
    Returns dE: (V, C), of the dtype of dout. A row of a token that does not occur
    is 0.

    Hint: a token that occurs twice was read twice, and both reads reached the loss.
    Before you use fancy indexing, try `a = np.zeros(3); a[[0, 0]] += 1` and look
    at `a`.
    """
    raise NotImplementedError("Exercise 8: embedding_backward")
