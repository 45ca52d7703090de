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
    tokens, E = cache
    V, C = E.shape
    dE = np.zeros((V, C), dtype=dout.dtype)             # tokens that never occur get 0
    # x[b, t] = E[tokens[b, t]] + PE[t]: position (b, t) read row tokens[b, t] of E,
    # so that row collects dout[b, t]. One row can be read many times (the comma at
    # positions 3 and 5): its gradient is the SUM over those positions, hence +=.
    #
    # `dE[tokens] += dout` looks the same but is WRONG: NumPy evaluates it as
    # dE[tokens] = dE[tokens] + dout, reading every row first and then writing
    # them back one position at a time, so a repeated token's later write
    # overwrites the earlier one and only one of its gradients survives.
    # np.add.at is the unbuffered version: it really adds once per occurrence.
    dE[tokens] += dout
    return dE
