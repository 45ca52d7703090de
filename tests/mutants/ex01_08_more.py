"""More mutants and correct variants of exercises 1-8 (issue 11 point 7): a typical mistake each,
with its own diagnosis, and two rounds written blind, before looking at the variants (1 of
their 15 was named then; each has a variant of its own now). See tests/mutants/__init__.py."""
from mutants import GRADIENTS, Mutant, lost
from mutants.ex01_08 import (ADD_NORM, ATTENTION, BLOCK, EX01, EX01_BATCH, EX04, EX06, FFN, OUTPUT, RELU,
                             REPEATS, SOFTMAX)


def float64_inside(function, first):
    """The function's first line(s), preceded by a correct detour: float32 inputs go through
    `function` itself in float64, and the answers come back cast to the input's dtype."""
    return ("    if dout.dtype != np.float64:                      # float64 inside, cast back\n"
            "        wide = type(cache)(*(a.astype(np.float64) if isinstance(a, np.ndarray) and a.dtype.kind == 'f'\n"
            "                             else a for a in cache))\n"
            "        return tuple(None if o is None else o.astype(dout.dtype)\n"
            f"                     for o in {function}(dout.astype(np.float64), wide))\n" + first)


# block_backward with the two LayerNorms' gradients filed under each other's names
LN_NAMES_SWAPPED = ('    dx1_residual, df, grads["ln1.gamma"], grads["ln1.beta"] = ops.add_norm_backward(dout, norm2, ops)\n'
                    '    # f = FFN(x1)\n'
                    '    dx1_ffn, grads["W1"], grads["b1"], grads["W2"], grads["b2"] = ops.ffn_backward(df, ffn, ops)\n'
                    '    # x1 fed both the FFN and the residual: merge\n'
                    '    dx1 = dx1_residual + dx1_ffn                                  # (B, T, C)\n'
                    '    # x1 = LN1(x + a): split again, into the residual path and the attention path\n'
                    '    dx_residual, da, grads["ln2.gamma"], grads["ln2.beta"] = ops.add_norm_backward(dx1, norm1, ops)\n')


MUTANTS = [
    # --- more typical mistakes of exercises 1-8 (issue 11 point 7), each with its own diagnosis
    Mutant("ex01-batch-in-place", "ex01_softmax_cross_entropy.py",
           "dlogits = np.empty_like(probs)", "dlogits = probs",
           lost(*EX01_BATCH, "ex01 test_batch_of_one"), "same memory, not a copy"),   # the values are right
    Mutant("ex01-softmax-again", "ex01_softmax_cross_entropy.py",
           "grad = np.array(probs)  ", "grad = np.exp(probs) / np.exp(probs).sum()  ",
           lost(*EX01, GRADIENTS), "the softmax is applied again"),
    Mutant("ex01-minus-one-everywhere", "ex01_softmax_cross_entropy.py",
           "grad[target] -= 1.0", "grad -= 1.0",
           lost(*EX01, GRADIENTS), "1 is subtracted from every entry"),
    Mutant("ex02-db-first-axis", "ex02_linear.py",
           "db = None if b is None else gs.sum(axis=0)", "db = None if b is None else dout.sum(axis=0)",
           lost("ex02 test_linear_positions", GRADIENTS), "over the first axis only"),   # 2-D dout: still right
    Mutant("ex02-output-float64", "ex02_linear.py",
           "dx = np.zeros((B, T, C), dtype=dx_last.dtype)", "dx = np.zeros((B, T, C))",
           lost("ex02 test_output_projection_float32_small"), "promoted to float64"),
    Mutant("ex03-ffn-layers-swapped", "ex03_relu_ffn.py",
           "return dx, dW1, db1, dW2, db2", "return dx, dW2, db2, dW1, db1",
           lost(*FFN, GRADIENTS), "the two layers' gradients are swapped"),
    Mutant("ex03-relu-mask-only", "ex03_relu_ffn.py",
           "dz = dout.copy()  ", "dz = (z > 0).astype(dout.dtype)  ",
           lost(*RELU, GRADIENTS), "dz is the mask itself"),
    Mutant("ex04-eps-outside", "ex04_layernorm.py",
           "x, gamma, eps, xhat, rstd = cache",
           "x, gamma, eps, xhat, _ = cache\n"
           "    rstd = 1.0 / (np.sqrt(((x - x.mean(axis=-1, keepdims=True)) ** 2).mean(axis=-1, keepdims=True)) + eps)",
           lost("ex04 test_random_batch", "ex04 test_two_dimensional_input", "ex04 test_large_and_offset_inputs",
                GRADIENTS),   # a relative change of about eps / var: below float32's tolerance
           "eps is outside the square root"),
    Mutant("ex04-eps-left-out", "ex04_layernorm.py",
           "x, gamma, eps, xhat, rstd = cache",
           "x, gamma, eps, xhat, _ = cache\n"
           "    rstd = 1.0 / np.sqrt(((x - x.mean(axis=-1, keepdims=True)) ** 2).mean(axis=-1, keepdims=True))",
           lost("ex04 test_random_batch", "ex04 test_two_dimensional_input", "ex04 test_large_and_offset_inputs",
                GRADIENTS), "eps is left out"),     # eps / var: below float32's tolerance
    Mutant("ex04-no-keepdims", "ex04_layernorm.py",
           "dmean = -dxmu.sum(axis=-1, keepdims=True)", "dmean = -dxmu.sum(axis=-1)",
           lost("ex04 test_random_batch", "ex04 test_float32_keeps_dtype", "ex04 test_large_and_offset_inputs",
                GRADIENTS), "keepdims=True"),      # (1, C): (1,) still broadcasts the right way
    Mutant("ex04-sums-first-axis", "ex04_layernorm.py",
           "dbeta = rows.sum(axis=0)", "dbeta = dout.sum(axis=0)",
           lost("ex04 test_random_batch", "ex04 test_float32_keeps_dtype", "ex04 test_large_and_offset_inputs",
                GRADIENTS), "summed over the first axis only"),   # a 2-D input: still right
    Mutant("ex04-sums-last-axis", "ex04_layernorm.py",
           "dbeta = rows.sum(axis=0)", "dbeta = dout.sum(axis=-1)",
           lost(*EX04, GRADIENTS), "summed over the features"),
    Mutant("ex05-softmax-no-keepdims", "ex05_attention.py",
           "weighted_mean = np.sum(dout * y, axis=-1, keepdims=True)", "weighted_mean = np.sum(dout * y, axis=-1)",
           lost("ex05 test_softmax_attention_shaped", "ex05 test_softmax_long_rows", GRADIENTS),  # 1-D: right
           "keepdims=True"),
    Mutant("ex05-softmax-wrong-axis", "ex05_attention.py",
           "weighted_mean = np.sum(dout * y, axis=-1, keepdims=True)",
           "weighted_mean = np.sum(dout * y, axis=-2, keepdims=True)",
           lost(*SOFTMAX, GRADIENTS), "runs over the wrong axis"),    # 1-D: an AxisError
    Mutant("ex05-dv-scaled", "ex05_attention.py",
           "dv = np.swapaxes(att, -1, -2) @ dout", "dv = np.swapaxes(att, -1, -2) @ dout / math.sqrt(hs)",
           lost(*ATTENTION, GRADIENTS), "dv is divided by sqrt(hs) too"),
    Mutant("ex05-dk-no-transpose", "ex05_attention.py",
           "dk = np.swapaxes(draw, -1, -2) @ q", "dk = draw @ q",
           lost(*ATTENTION, GRADIENTS), "dk = draw @ q, without the transpose"),   # Tq != T: a shape error
    Mutant("ex05-datt-no-transpose", "ex05_attention.py",
           "datt = dout @ np.swapaxes(v, -1, -2)", "datt = dout @ v",
           lost(*ATTENTION, GRADIENTS), "without transposing v"),     # hs != T in every check: a shape error
    Mutant("ex05-dk-unscaled", "ex05_attention.py",
           "dk = np.swapaxes(draw, -1, -2) @ q", "dk = np.swapaxes(dscores, -1, -2) @ q",
           lost(*ATTENTION, GRADIENTS), "only one of dq and dk"),
    Mutant("ex05-dq-transposed", "ex05_attention.py",
           "dq = draw @ k  ", "dq = np.swapaxes(draw, -1, -2) @ k  ",
           lost(*ATTENTION, GRADIENTS), "dq = draw^T @ k, transposed"),     # Tq != T: a shape error
    Mutant("ex03-ffn-relu-given-dout", "ex03_relu_ffn.py",
           "dz = ops.relu_backward(dh, relu)", "dz = ops.relu_backward(dout, relu)",
           lost(*FFN, GRADIENTS), "was given the composite's own dout"),   # C != F: a shape error
    Mutant("ex06-v-before-k", "ex06_multihead_attention.py",
           "        dkv[:, :, cols] = dK[:, h]\n        dkv[:, :, C + h * hs:C + (h + 1) * hs] = dV[:, h]",
           "        dkv[:, :, cols] = dV[:, h]\n        dkv[:, :, C + h * hs:C + (h + 1) * hs] = dK[:, h]",
           lost(*EX06, GRADIENTS), "put in the wrong order"),
    Mutant("ex06-q-merged-plain", "ex06_multihead_attention.py",
           "dx, dW_kv, _ = ops.linear_backward(dkv, cache.kv)",
           "dq = dQ.reshape(B, Tq, C)\n    dx, dW_kv, _ = ops.linear_backward(dkv, cache.kv)",
           lost("ex06 test_model_sizes", "ex06 test_two_heads_of_three", "ex06 test_float32",
                "ex06 test_mha_follows_ops", GRADIENTS),     # one head: the plain reshape is right
           "dq is merged back from the heads with a plain reshape"),
    Mutant("ex07-add-norm-gamma-beta-swapped", "ex07_block.py",
           "return dx, dsub, dgamma, dbeta", "return dx, dsub, dbeta, dgamma",
           lost(*ADD_NORM, GRADIENTS), "dgamma and dbeta are swapped"),
    Mutant("ex07-norms-swapped", "ex07_block.py",
           "mha, norm1, ffn, norm2 = cache", "mha, norm2, ffn, norm1 = cache",
           lost(*BLOCK, GRADIENTS), "each other's caches"),
    Mutant("ex07-ln-names-swapped", "ex07_block.py", LN_NAMES_SWAPPED.replace("ln1.", "ln*.").replace("ln2.", "ln1.")
           .replace("ln*.", "ln2."), LN_NAMES_SWAPPED,
           lost("ex07 test_block_model_sizes", "ex07 test_block_small_float32", "ex07 test_block_follows_ops",
                GRADIENTS), "each other's names"),    # test_block_passes_ops_on checks dx only
    Mutant("ex08-divided-by-B", "ex08_embedding.py",
           "np.add.at(dE, tokens.reshape(-1), dout.reshape(-1, C))",
           "np.add.at(dE, tokens.reshape(-1), dout.reshape(-1, C))\n    dE /= tokens.shape[0]",
           lost("ex08 test_random_batch_with_repeats", "ex08 test_one_token_everywhere_float32", GRADIENTS),
           "divided by the batch size"),        # a batch of one sequence: still right
    Mutant("ex07-dx-is-dout", "ex07_block.py",
           "    dx = ds                                                       # (B, T, C)",
           "    dx = dout                                                     # (B, T, C)",
           lost(*ADD_NORM, GRADIENTS), "dx is dout itself"),
    Mutant("ex08-assigned", "ex08_embedding.py",
           "np.add.at(dE, tokens.reshape(-1), dout.reshape(-1, C))", "dE[tokens.reshape(-1)] = dout.reshape(-1, C)",
           lost(*REPEATS, GRADIENTS), "the last write wins"),
    # --- written before looking at the variants (how far the diagnoses reach), then named where they were not
    Mutant("ex04-rstd-squared", "ex04_layernorm.py",
           "dvar = drstd * -0.5 * rstd ** 3", "dvar = drstd * -0.5 * rstd ** 2",
           lost(*EX04, GRADIENTS), "dvar uses rstd ** 2"),
    Mutant("ex04-mean-term-undivided", "ex04_layernorm.py",
           "dx = dxmu + dmean / C", "dx = dxmu + dmean",
           lost(*EX04, GRADIENTS), "not divided by C"),
    Mutant("ex04-dgamma-mean", "ex04_layernorm.py",
           "dgamma = (rows * xhat.reshape(-1, C)).sum(axis=0)", "dgamma = (rows * xhat.reshape(-1, C)).mean(axis=0)",
           lost("ex04 test_random_batch", "ex04 test_float32_keeps_dtype", "ex04 test_large_and_offset_inputs",
                GRADIENTS), "dgamma is averaged over the rows"),                 # one row: the mean is the sum
    Mutant("ex02-output-off-by-one", "ex02_linear.py",
           "dx[:, T - 1, :] = dx_last", "dx[:, T - 2, :] = dx_last",
           lost(*OUTPUT, GRADIENTS), "a position before the last"),
    Mutant("ex05-softmax-mean-without-y", "ex05_attention.py",
           "return y * (dout - weighted_mean)", "return y * dout - weighted_mean",
           lost(*SOFTMAX, GRADIENTS), "lacks its factor y[j]"),
    Mutant("ex08-first-position", "ex08_embedding.py",
           "np.add.at(dE, tokens.reshape(-1), dout.reshape(-1, C))", "np.add.at(dE, tokens[:, 0], dout[:, 0])",
           lost("ex08 test_seed_example_repeated_comma", "ex08 test_random_batch_with_repeats",
                "ex08 test_one_token_everywhere_float32", "ex08 test_no_repeats", GRADIENTS),
           "only the first position"),
    # --- a second round written blind
    Mutant("ex01-first-target", "ex01_softmax_cross_entropy.py",
           "cross_entropy_grad_one(probs[b], int(targets[b]))", "cross_entropy_grad_one(probs[b], int(targets[0]))",
           lost(*EX01_BATCH, GRADIENTS), "FIRST example's target"),               # a batch of 1: still right
    Mutant("ex01-first-row", "ex01_softmax_cross_entropy.py",
           "cross_entropy_grad_one(probs[b], int(targets[b]))", "cross_entropy_grad_one(probs[0], int(targets[b]))",
           lost(*EX01_BATCH, GRADIENTS), "FIRST example's probabilities"),
    Mutant("ex02-dx-not-reshaped", "ex02_linear.py",
           "dx = (gs @ W.T).reshape(x.shape)", "dx = gs @ W.T",
           lost("ex02 test_linear_positions", "ex02 test_linear_without_bias", GRADIENTS),   # 2-D x: still right
           "left flattened"),
    Mutant("ex05-scaled-by-sqrt-T", "ex05_attention.py",
           "draw = dscores / math.sqrt(hs)", "draw = dscores / math.sqrt(q.shape[-2])",
           lost(*ATTENTION, GRADIENTS), "the head size"),
    Mutant("ex06-q-path-subtracted", "ex06_multihead_attention.py",
           "dx[:, T - Tq:] += dx_q", "dx[:, T - Tq:] -= dx_q",
           lost(*EX06, GRADIENTS), "query path is subtracted"),
    Mutant("ex06-overlapping-columns", "ex06_multihead_attention.py",
           "dheads[:, h] = dconcat[:, :, h * hs:(h + 1) * hs]", "dheads[:, h] = dconcat[:, :, h:h + hs]",
           lost("ex06 test_model_sizes", "ex06 test_two_heads_of_three", "ex06 test_float32",
                "ex06 test_mha_follows_ops", GRADIENTS), "hs of its own"),     # one head: h = 0 is right
    Mutant("ex06-W_o-from-the-q-cache", "ex06_multihead_attention.py",
           "ops.linear_backward(dout, cache.proj)", "ops.linear_backward(dout, cache.q)",
           lost(*EX06, GRADIENTS), "another layer's cache"),
    Mutant("ex07-dx-from-the-residual-twice", "ex07_block.py",
           "dx = dx_mha.copy()", "dx = dx_residual.copy()",
           lost(*BLOCK, GRADIENTS), "twice"),
    Mutant("ex07-attention-before-ln1", "ex07_block.py",
           "ops.mha_backward(da, mha, ops)", "ops.mha_backward(dx1, mha, ops)",
           lost(*BLOCK, GRADIENTS), "given dx1"),
]

EQUIVALENTS = [
    Mutant("ex01-one-hot-product", "ex01_softmax_cross_entropy.py",
           "    for b in range(B):                                     # one example at a time ...\n"
           "        dlogits[b] = cross_entropy_grad_one(probs[b], int(targets[b]))",
           "    dlogits[...] = probs - np.eye(probs.shape[1], dtype=probs.dtype)[targets]"),
    Mutant("ex01-float64-inside", "ex01_softmax_cross_entropy.py",
           "    dlogits = np.empty_like(probs)",
           "    if probs.dtype != np.float64:                      # float64 inside, cast back\n"
           "        wide = type(cache)(probs.astype(np.float64), targets)\n"
           "        return softmax_cross_entropy_backward(dloss, wide).astype(probs.dtype)\n"
           "    dlogits = np.empty_like(probs)"),
    Mutant("ex02-outer-products-loop", "ex02_linear.py",
           "dW = xs.T @ gs  ", "dW = sum(np.outer(xs[n], gs[n]) for n in range(xs.shape[0]))  "),
    Mutant("ex02-float64-inside", "ex02_linear.py",
           "    x, W, b = cache\n    n_in, n_out = W.shape",
           float64_inside("linear_backward", "    x, W, b = cache\n    n_in, n_out = W.shape")),
    Mutant("ex03-relu-copy-times-mask", "ex03_relu_ffn.py",
           "dz[z <= 0] = 0", "dz *= z > 0"),                  # into the copy: -0.0 where dout < 0 is 0
    Mutant("ex04-float64-inside", "ex04_layernorm.py",
           "    x, gamma, eps, xhat, rstd = cache",
           float64_inside("layernorm_backward", "    x, gamma, eps, xhat, rstd = cache")),
    Mutant("ex05-einsum", "ex05_attention.py",
           "weighted_mean = np.sum(dout * y, axis=-1, keepdims=True)",
           "weighted_mean = np.einsum('...k,...k->...', dout, y)[..., None]"),
    Mutant("ex08-add-at-unflattened", "ex08_embedding.py",
           "np.add.at(dE, tokens.reshape(-1), dout.reshape(-1, C))", "np.add.at(dE, tokens, dout)"),
    Mutant("ex08-bincount", "ex08_embedding.py",
           "np.add.at(dE, tokens.reshape(-1), dout.reshape(-1, C))",
           "flat, rows = tokens.reshape(-1), dout.reshape(-1, C)\n"
           "    dE[...] = np.stack([np.bincount(flat, weights=rows[:, c], minlength=V) for c in range(C)], axis=1)"),
    Mutant("ex06-merge-by-transpose", "ex06_multihead_attention.py",
           "    dq = np.empty((B, Tq, C), dtype=dQ.dtype)\n"
           "    dkv = np.empty((B, T, 2 * C), dtype=dK.dtype)\n"
           "    for h in range(H):\n"
           "        cols = slice(h * hs, (h + 1) * hs)\n"
           "        dq[:, :, cols] = dQ[:, h]\n"
           "        dkv[:, :, cols] = dK[:, h]\n"
           "        dkv[:, :, C + h * hs:C + (h + 1) * hs] = dV[:, h]\n",
           "    def merge(a):                     # (B, H, n, hs) -> (B, n, C)\n"
           "        return a.transpose(0, 2, 1, 3).reshape(a.shape[0], a.shape[2], C)\n"
           "    dq = merge(dQ)\n"
           "    dkv = np.concatenate([merge(dK), merge(dV)], axis=-1)\n"),
    Mutant("ex06-split-by-einsum", "ex06_multihead_attention.py",
           "    for h in range(H):\n        dheads[:, h] = dconcat[:, :, h * hs:(h + 1) * hs]",
           "    dheads[...] = np.einsum('bthd->bhtd', dconcat.reshape(B, Tq, H, hs))"),
    Mutant("ex07-dsub-a-new-array", "ex07_block.py",
           "dsub = ds.copy()", "dsub = ds * 1.0"),
    Mutant("ex07-merge-by-sum", "ex07_block.py",
           "    dx = dx_mha.copy()                                            # (B, T, C)\n"
           "    dx[:, T - Tq:] += dx_residual",
           "    dx = dx_mha + dx_residual                                     # a block's Tq is T"),
]
