"""The whole model: embedding, two blocks, output projection, loss, and its backward.

    x      = embedding[tokens] + PE                 (B, T, C)
    x      = block_1(x); x = block_2(x)              (B, T, C)
    logits = x[:, -1] @ W_out + b_out               (B, V)
    loss   = mean cross-entropy over the batch

Parameters are one flat dict (the model contract):
    embedding; blocks.{i}.W_q, W_k, W_v, W_o, ln1.gamma, ln1.beta, W1, b1, W2, b2,
    ln2.gamma, ln2.beta; W_out, b_out.
Matrices are stored (in, out), so y = x @ W. 102,036 numbers in all; the seed's
102,016 leaves out the 20 output biases.
"""
from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from tt.blocks import block_forward
from tt.config import Config
from tt.layers import LinearCache, linear_forward, softmax_cross_entropy_forward
from tt.ops import reference

DEFAULT = Config()
BLOCK_KEYS = ("W_q", "W_k", "W_v", "W_o", "ln1.gamma", "ln1.beta",
              "W1", "b1", "W2", "b2", "ln2.gamma", "ln2.beta")


# ------------------------------------------------------------- positional encodings
@lru_cache(maxsize=None)
def positional_encoding(T, C, dtype=np.float64):
    """Fixed sinusoidal encodings, interleaved: sin in even columns, cos in odd.

        PE[pos, 2i]   = sin(pos / 10000^(2i / C))
        PE[pos, 2i+1] = cos(pos / 10000^(2i / C))

    Computed once per (T, C, dtype) and returned read-only.
    """
    pos = np.arange(T)[:, None]                                 # (T, 1)
    freq = 10000.0 ** (-np.arange(0, C, 2) / C)                 # (C/2,)
    pe = np.empty((T, C))
    pe[:, 0::2] = np.sin(pos * freq)
    pe[:, 1::2] = np.cos(pos * freq)
    pe = pe.astype(dtype)
    pe.flags.writeable = False
    return pe


# ---------------------------------------------------------------------- embedding
class EmbeddingCache(NamedTuple):
    tokens: np.ndarray    # (B, T) int
    E: np.ndarray         # (V, C) the embedding matrix; backward needs only its shape


def embedding_forward(tokens, E):
    """x[b, t] = E[tokens[b, t]] + PE[t]  (seed Part 5). tokens: (B, T); E: (V, C)."""
    B, T = tokens.shape
    x = E.take(tokens, axis=0)                                  # (B, T, C)
    x += positional_encoding(T, E.shape[1], E.dtype)
    return x, EmbeddingCache(tokens, E)


def embedding_backward(dout, cache):
    """dE[v] = sum of dout[b, t] over every position where tokens[b, t] == v.

    The positional encodings are fixed, so they get no gradient. A token that occurs
    twice (the comma at positions 3 and 5 of `Max(1,6,2)`) collects both gradients:
    `+=`, not `=`. `np.add.at(dE, tokens, dout)` says exactly that; here the same sum
    is one product with the (B*T, V) one-hot matrix of the tokens, 10x faster.
    """
    ### BEGIN SOLUTION
    tokens, E = cache
    V, C = E.shape
    flat = tokens.reshape(-1)                                   # (B*T,)
    onehot = np.zeros((flat.size, V), dtype=dout.dtype)         # (B*T, V)
    onehot[np.arange(flat.size), flat] = 1
    return onehot.T @ dout.reshape(-1, C)                       # (V, C)
    ### END SOLUTION


# -------------------------------------------------------------- output projection
class OutputCache(NamedTuple):
    T: int                # positions of the input, to rebuild dx's shape
    linear: LinearCache


def output_forward(x, W_out, b_out):
    """logits = x[:, -1] @ W_out + b_out: only the last position is read (seed Part 2).

    x: (B, T, C); W_out: (C, V); b_out: (V,). Returns logits (B, V).
    """
    logits, lin = linear_forward(x[:, -1], W_out, b_out)        # (B, V)
    return logits, OutputCache(x.shape[1], lin)


def output_backward(dlogits, cache, ops=None):
    """Backward of the output projection: returns (dx, dW_out, db_out).

    dx is zero at every position but the last, which the forward pass alone read.
    """
    ### BEGIN SOLUTION
    ops = ops or reference()
    dlast, dW_out, db_out = ops.linear_backward(dlogits, cache.linear)   # (B, C)
    B, C = dlast.shape
    dx = np.zeros((B, cache.T, C), dtype=dlast.dtype)                    # (B, T, C)
    dx[:, -1] = dlast
    return dx, dW_out, db_out
    ### END SOLUTION


# ---------------------------------------------------------------------- parameters
def param_shapes(cfg: Config = DEFAULT) -> dict[str, tuple[int, ...]]:
    """Every parameter's name and shape, in the order of the model contract."""
    C, F, V = cfg.C, cfg.F, cfg.V
    block = {"W_q": (C, C), "W_k": (C, C), "W_v": (C, C), "W_o": (C, C),
             "ln1.gamma": (C,), "ln1.beta": (C,),
             "W1": (C, F), "b1": (F,), "W2": (F, C), "b2": (C,),
             "ln2.gamma": (C,), "ln2.beta": (C,)}
    shapes = {"embedding": (V, C)}
    for i in range(cfg.n_blocks):
        shapes.update({f"blocks.{i}.{k}": s for k, s in block.items()})
    shapes.update({"W_out": (C, V), "b_out": (V,)})
    return shapes


def init_params(seed=0, dtype=np.float64, cfg: Config = DEFAULT) -> dict[str, np.ndarray]:
    """Random initial parameters.

    Weights are normal with std 1/sqrt(fan_in), so activations keep unit scale;
    embeddings are N(0, 1), the scale of the positional encodings they are added to;
    biases and LayerNorm betas start at 0 and gammas at 1.
    """
    rng = np.random.default_rng(seed)
    params = {}
    for name, shape in param_shapes(cfg).items():
        leaf = name.rsplit(".", 1)[-1]
        if leaf == "gamma":
            p = np.ones(shape)
        elif leaf == "beta" or leaf.startswith("b"):
            p = np.zeros(shape)
        elif name == "embedding":
            p = rng.standard_normal(shape)
        else:
            p = rng.standard_normal(shape) / np.sqrt(shape[0])
        params[name] = p.astype(dtype)
    return params


def block_params(params, i):
    """The block-local dict {"W_q": ..., "ln1.gamma": ...} of block i (no copies)."""
    return {k: params[f"blocks.{i}.{k}"] for k in BLOCK_KEYS}


def n_blocks(params) -> int:
    L = 0
    while f"blocks.{L}.W_q" in params:
        L += 1
    return L


HEAD_SIZE = 16


def n_heads(params) -> int:
    """H from the width: the contract fixes hs = 16 (head h uses columns 16h..16h+15)."""
    C = params["embedding"].shape[1]
    if C % HEAD_SIZE:
        raise ValueError(f"embedding width C={C} is not a multiple of the head size {HEAD_SIZE}")
    return C // HEAD_SIZE


# ------------------------------------------------------------------ forward, backward
class ModelCache(NamedTuple):
    embedding: object
    blocks: list
    output: OutputCache


def model_forward(params, tokens, eps=1e-5, last_only=True):
    """Logits (B, V) and the cache of every stage. tokens: (B, T) int.

    The logits read only the last position, so with `last_only` the last block is
    computed at that position alone, its one query attending to all T positions in
    input space (tt.attention.last_query_mha_forward). The numbers are the same either
    way, up to round-off. `last_only=False` runs every block on all positions, the
    shapes the exercises are written for: plugged-in backward functions need its caches.
    """
    tokens = np.asarray(tokens)
    H, L = n_heads(params), n_blocks(params)
    x, emb_cache = embedding_forward(tokens, params["embedding"])            # (B, T, C)
    caches = []
    for i in range(L):
        n_queries = 1 if (last_only and i == L - 1) else None
        x, c = block_forward(x, block_params(params, i), H, eps, n_queries)  # (B, T|1, C)
        caches.append(c)
    logits, out_cache = output_forward(x, params["W_out"], params["b_out"])  # (B, V)
    return logits, ModelCache(emb_cache, caches, out_cache)


def forward(params, tokens):
    """The model's logits for tokens (B, T): (B, V)."""
    return model_forward(params, tokens)[0]


def model_backward(dlogits, cache, ops=None):
    """All parameter gradients from dL/dlogits, in the order of the seed's Part 7.

    Loss -> logits -> output projection -> block 2 -> block 1 -> embeddings.
    """
    ### BEGIN SOLUTION
    ops = ops or reference()
    grads = {}
    dx, grads["W_out"], grads["b_out"] = ops.output_backward(dlogits, cache.output, ops)
    for i in reversed(range(len(cache.blocks))):
        dx, g = ops.block_backward(dx, cache.blocks[i], ops)     # (B, T, C)
        grads.update({f"blocks.{i}.{k}": v for k, v in g.items()})
    grads["embedding"] = ops.embedding_backward(dx, cache.embedding)
    return grads
    ### END SOLUTION


def loss_and_grads(params, tokens, targets, ops=None):
    """Mean cross-entropy of the last position's logits, and every gradient.

    tokens: (B, T) int; targets: (B,) int. Returns (loss: float, grads: dict) with
    grads keyed and shaped like params, and of the same dtype.
    """
    # The reference computes the last block at the last position only; plugged-in
    # functions get every block on all positions, the shapes they were written for.
    last_only = ops is None
    ops = ops or reference()
    logits, cache = model_forward(params, tokens, last_only=last_only)
    loss, ce_cache = softmax_cross_entropy_forward(logits, np.asarray(targets))
    dlogits = ops.softmax_cross_entropy_backward(1.0, ce_cache)             # (B, V)
    grads = ops.model_backward(dlogits, cache, ops)
    return loss, {k: grads[k] for k in params}
