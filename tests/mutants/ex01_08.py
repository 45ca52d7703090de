"""Mutants and correct variants of exercises 1-8: see tests/mutants/__init__.py."""
from mutants import GRADIENTS, TRAINING, Mutant, lost  # noqa: F401  (what every range uses)

EX01_BATCH = ("ex01 test_batch_mean", "ex01 test_batch_scaled_dloss", "ex01 test_batch_large_logits_float32")
EX01 = ("ex01 test_one_example", "ex01 test_one_example_confident_and_float32", *EX01_BATCH, "ex01 test_batch_of_one")
LINEAR_MANY_ROWS = ("ex02 test_linear_batch", "ex02 test_linear_positions", "ex02 test_linear_without_bias")
OUTPUT = ("ex02 test_output_projection", "ex02 test_output_projection_float32_small", "ex02 test_output_follows_ops")
RELU = ("ex03 test_relu", "ex03 test_relu_at_the_kink_float32")
FFN = ("ex03 test_ffn", "ex03 test_ffn_square_float32", "ex03 test_ffn_uses_ops")
EX04 = ("ex04 test_random_batch", "ex04 test_float32_keeps_dtype", "ex04 test_two_dimensional_input",
        "ex04 test_large_and_offset_inputs")
SOFTMAX = ("ex05 test_softmax_attention_shaped", "ex05 test_softmax_long_rows", "ex05 test_softmax_peaked_float32")
ATTENTION = ("ex05 test_attention_all_heads", "ex05 test_attention_fewer_queries", "ex05 test_attention_float32",
             "ex05 test_attention_follows_ops")
EX06 = ("ex06 test_model_sizes", "ex06 test_two_heads_of_three", "ex06 test_one_head", "ex06 test_float32",
        "ex06 test_mha_follows_ops")
ADD_NORM = ("ex07 test_add_norm", "ex07 test_add_norm_float32", "ex07 test_add_norm_follows_ops")
BLOCK = ("ex07 test_block_model_sizes", "ex07 test_block_small_float32", "ex07 test_block_passes_ops_on",
         "ex07 test_block_follows_ops")
REPEATS = ("ex08 test_seed_example_repeated_comma", "ex08 test_random_batch_with_repeats",
           "ex08 test_one_token_everywhere_float32")
OWN = "it does not use the pieces it is given in ops"


MUTANTS = [
    # --- exercise 1: the batch mean, and a helper whose bug reaches its caller
    Mutant("ex01-no-mean", "ex01_softmax_cross_entropy.py",
           "return dlogits * (dloss / B)", "return dlogits * dloss",
           lost("ex01 test_batch_mean", "ex01 test_batch_scaled_dloss", "ex01 test_batch_large_logits_float32",
                GRADIENTS),                  # a batch of 1 is still right
           "B times too large"),
    Mutant("ex01-no-minus-one", "ex01_softmax_cross_entropy.py",
           "grad[target] -= 1.0", "pass",
           lost("ex01 test_one_example", "ex01 test_one_example_confident_and_float32", "ex01 test_batch_mean",
                "ex01 test_batch_scaled_dloss", "ex01 test_batch_large_logits_float32", "ex01 test_batch_of_one",
                GRADIENTS),                  # the batch version calls the one-example helper
           "it equals probs itself"),
    # --- exercise 2
    Mutant("ex02-dW-transposed", "ex02_linear.py",
           "dW = xs.T @ gs", "dW = gs.T @ xs",
           lost("ex02 test_linear_batch", "ex02 test_linear_positions", "ex02 test_linear_without_bias",
                "ex02 test_linear_float32_batch_of_one", GRADIENTS),   # output_backward gets tt's linear
           "transposed"),
    Mutant("ex02-first-position", "ex02_linear.py",
           "dx[:, T - 1, :] = dx_last", "dx[:, 0, :] = dx_last",
           lost("ex02 test_output_projection", "ex02 test_output_projection_float32_small",
                "ex02 test_output_follows_ops", GRADIENTS),
           "position 0"),
    # --- exercise 3
    Mutant("ex03-relu-kink", "ex03_relu_ffn.py",
           "dz[z <= 0] = 0", "dz[z < 0] = 0",
           lost("ex03 test_relu", "ex03 test_relu_at_the_kink_float32"),   # both have z exactly 0; the model never
           "1 only if z > 0"),
    Mutant("ex03-ffn-no-relu", "ex03_relu_ffn.py",
           "dz = ops.relu_backward(dh, relu)", "dz = dh",
           lost("ex03 test_ffn", "ex03 test_ffn_square_float32", "ex03 test_ffn_uses_ops", GRADIENTS),
           "the ReLU is skipped"),
    # --- exercise 4
    Mutant("ex04-no-variance-term", "ex04_layernorm.py",
           "dxmu = dxmu + dvar * 2.0 * xmu / C", "dxmu = dxmu",
           lost("ex04 test_random_batch", "ex04 test_float32_keeps_dtype", "ex04 test_two_dimensional_input",
                "ex04 test_large_and_offset_inputs", GRADIENTS),
           "mean's correction but not the variance's"),
    Mutant("ex04-float64-out", "ex04_layernorm.py",
           "return dx, dgamma, dbeta", "return dx.astype(np.float64), dgamma, dbeta",
           lost("ex04 test_float32_keeps_dtype"),          # the capstone's gradient check is float64
           "promoted to float64"),
    # --- exercise 5
    Mutant("ex05-no-scale", "ex05_attention.py",
           "draw = dscores / math.sqrt(hs)", "draw = dscores",
           lost("ex05 test_attention_all_heads", "ex05 test_attention_fewer_queries", "ex05 test_attention_float32",
                "ex05 test_attention_follows_ops", GRADIENTS),
           "sqrt(hs) times too large"),
    Mutant("ex05-softmax-diagonal", "ex05_attention.py",
           "return y * (dout - weighted_mean)", "return y * dout",
           lost("ex05 test_softmax_attention_shaped", "ex05 test_softmax_long_rows", "ex05 test_softmax_peaked_float32",
                GRADIENTS),                  # attention_backward is checked with tt's softmax backward
           "only the diagonal of the Jacobian"),
    # --- exercise 6
    Mutant("ex06-k-v-swapped", "ex06_multihead_attention.py",
           "dW_k, dW_v = dW_kv[:, :C], dW_kv[:, C:]", "dW_v, dW_k = dW_kv[:, :C], dW_kv[:, C:]",
           lost(*EX06, GRADIENTS),
           "dW_k and dW_v are swapped"),
    # --- exercise 7
    Mutant("ex07-dsub-zero", "ex07_block.py",
           "dsub = ds.copy()", "dsub = ds * 0",
           lost(*ADD_NORM, GRADIENTS),   # blocks get tt's add & norm
           "dsub is 0"),
    Mutant("ex07-no-residual-at-x", "ex07_block.py",
           "dx[:, T - Tq:] += dx_residual", "pass",
           lost(*BLOCK, GRADIENTS),
           "the residual's share is missing"),
    # --- exercise 8
    Mutant("ex08-last-write-wins", "ex08_embedding.py",
           "np.add.at(dE, tokens.reshape(-1), dout.reshape(-1, C))", "dE[tokens.reshape(-1)] += dout.reshape(-1, C)",
           lost("ex08 test_seed_example_repeated_comma", "ex08 test_random_batch_with_repeats",
                "ex08 test_one_token_everywhere_float32", GRADIENTS),         # no repeats: still right
           "the last write wins"),

    # --- written from a reading of exercises 1-8 (issue 11 point 9)
    Mutant("ex01-column-indexing", "ex01_softmax_cross_entropy.py",
           "    for b in range(B):                                     # one example at a time ...\n"
           "        dlogits[b] = cross_entropy_grad_one(probs[b], int(targets[b]))",
           "    dlogits[...] = probs\n    dlogits[:, targets] -= 1",
           lost(*EX01_BATCH, GRADIENTS),          # a batch of 1 has one target column: still right
           "subtracts 1 in EVERY row"),
    Mutant("ex01-mean-over-V", "ex01_softmax_cross_entropy.py",
           "return dlogits * (dloss / B)", "return dlogits * (dloss / probs.shape[1])",
           lost(*EX01_BATCH, "ex01 test_batch_of_one", GRADIENTS), "over the vocabulary"),
    Mutant("ex01-dloss-dropped", "ex01_softmax_cross_entropy.py",
           "return dlogits * (dloss / B)", "return dlogits / B",
           lost("ex01 test_batch_scaled_dloss"), "dloss is left out"),   # dloss = 1 everywhere else
    Mutant("ex01-float64-out", "ex01_softmax_cross_entropy.py",
           "grad = np.array(probs)  ", "grad = np.array(probs, dtype=np.float64)  ",
           lost("ex01 test_one_example_confident_and_float32"),  # the batch's empty_like casts back
           "should have dtype float32"),
    Mutant("ex01-in-place", "ex01_softmax_cross_entropy.py",
           "grad = np.array(probs)  ", "grad = probs  ",
           lost(*EX01), "in place"),             # the rows are views of the cache's probs
    Mutant("ex02-dW-mean", "ex02_linear.py",
           "dW = xs.T @ gs  ", "dW = xs.T @ gs / xs.shape[0]  ",
           lost(*LINEAR_MANY_ROWS, GRADIENTS), "averaged over the rows"),   # one row: still right
    Mutant("ex02-db-first-row", "ex02_linear.py",
           "db = None if b is None else gs.sum(axis=0)", "db = None if b is None else gs[0]",
           lost("ex02 test_linear_batch", "ex02 test_linear_positions", GRADIENTS), "db is dout of one row"),
    Mutant("ex02-dx-no-transpose", "ex02_linear.py",
           "dx = (gs @ W.T).reshape(x.shape)", "dx = (gs @ W).reshape(x.shape)",
           lost(*LINEAR_MANY_ROWS, "ex02 test_linear_float32_batch_of_one", GRADIENTS),  # a shape error if in != out
           "without the transpose"),
    Mutant("ex02-output-spread", "ex02_linear.py",
           "dx[:, T - 1, :] = dx_last", "dx[:, :, :] = dx_last[:, None, :]",
           lost(*OUTPUT, GRADIENTS), "every position gets the last position's gradient"),
    Mutant("ex02-output-own-linear", "ex02_linear.py",
           "dx_last, dW_out, db_out = ops.linear_backward(dlogits, lin)",
           "dx_last, dW_out, db_out = linear_backward(dlogits, lin)",
           lost("ex02 test_output_follows_ops"), OWN),
    Mutant("ex03-relu-inverted", "ex03_relu_ffn.py",
           "dz[z <= 0] = 0", "dz[z > 0] = 0",
           lost(*RELU, GRADIENTS), "the wrong way round"),
    Mutant("ex03-relu-gated-by-dout", "ex03_relu_ffn.py",
           "dz[z <= 0] = 0", "dz[dout <= 0] = 0",
           lost(*RELU, GRADIENTS), "the sign of dout"),
    Mutant("ex03-relu-in-place", "ex03_relu_ffn.py",
           "dz = dout.copy()  ", "dz = dout  ",
           lost(*RELU), "in place"),
    Mutant("ex03-ffn-wrong-cache", "ex03_relu_ffn.py",
           "dz = ops.relu_backward(dh, relu)", "dz = ops.relu_backward(dh, lin1)",
           lost(*FFN, GRADIENTS),                # a shape error, or (C = F) the input's signs
           "ops.relu_backward was given a LinearCache"),
    Mutant("ex03-ffn-own-relu", "ex03_relu_ffn.py",
           "dz = ops.relu_backward(dh, relu)", "dz = relu_backward(dh, relu)",
           lost("ex03 test_ffn_uses_ops"), "use ops.linear_backward for both"),
    Mutant("ex04-no-mean-term", "ex04_layernorm.py",
           "dx = dxmu + dmean / C", "dx = dxmu",
           lost(*EX04, GRADIENTS), "the variance's correction but not the mean's"),
    Mutant("ex04-dgamma-from-x", "ex04_layernorm.py",
           "dgamma = (rows * xhat.reshape(-1, C)).sum(axis=0)", "dgamma = (rows * x.reshape(-1, C)).sum(axis=0)",
           lost(*EX04, GRADIENTS), "from x instead of the normalized xhat"),
    Mutant("ex04-unbiased-variance", "ex04_layernorm.py",
           "dxmu = dxmu + dvar * 2.0 * xmu / C", "dxmu = dxmu + dvar * 2.0 * xmu / (C - 1)",
           lost(*EX04, GRADIENTS), "divides by C - 1"),
    Mutant("ex04-dbeta-mean", "ex04_layernorm.py",
           "dbeta = rows.sum(axis=0)", "dbeta = rows.mean(axis=0)",
           lost("ex04 test_random_batch", "ex04 test_float32_keeps_dtype", "ex04 test_large_and_offset_inputs",
                GRADIENTS), "dbeta is averaged"),    # a batch of one row: still right
    Mutant("ex04-no-gamma", "ex04_layernorm.py",
           "dxhat = dout * gamma  ", "dxhat = dout  ",
           lost(*EX04, GRADIENTS), "gamma is left out"),
    Mutant("ex05-softmax-plain-sum", "ex05_attention.py",
           "weighted_mean = np.sum(dout * y, axis=-1, keepdims=True)", "weighted_mean = np.sum(dout, axis=-1, keepdims=True)",
           lost(*SOFTMAX, GRADIENTS), "plain sum of dout"),
    Mutant("ex05-softmax-y-one-minus-y", "ex05_attention.py",
           "return y * (dout - weighted_mean)", "return y * (1 - y) * dout",
           lost(*SOFTMAX, GRADIENTS), "y * (1 - y) * dout"),
    Mutant("ex05-scale-multiplied", "ex05_attention.py",
           "draw = dscores / math.sqrt(hs)", "draw = dscores * math.sqrt(hs)",
           lost(*ATTENTION, GRADIENTS), "multiplied instead of divided"),
    Mutant("ex05-dv-untransposed", "ex05_attention.py",
           "dv = np.swapaxes(att, -1, -2) @ dout", "dv = att @ dout",
           lost(*ATTENTION, GRADIENTS), "without transposing"),
    Mutant("ex05-dk-from-keys", "ex05_attention.py",
           "dk = np.swapaxes(draw, -1, -2) @ q", "dk = np.swapaxes(draw, -1, -2) @ k",
           lost(*ATTENTION, GRADIENTS), "dk is computed from the keys"),
    Mutant("ex05-own-softmax", "ex05_attention.py",
           "dscores = ops.softmax_backward(datt, sm_cache)", "dscores = softmax_backward(datt, sm_cache)",
           lost("ex05 test_attention_follows_ops"), OWN),
    Mutant("ex06-split-plain-reshape", "ex06_multihead_attention.py",
           "    for h in range(H):\n        dheads[:, h] = dconcat[:, :, h * hs:(h + 1) * hs]",
           "    dheads[...] = dconcat.reshape(B, H, Tq, hs)",
           lost("ex06 test_model_sizes", "ex06 test_two_heads_of_three", "ex06 test_float32",
                "ex06 test_mha_follows_ops", GRADIENTS),      # one head: the reshape is right
           "split into heads with a plain reshape"),
    Mutant("ex06-no-query-path", "ex06_multihead_attention.py",
           "dx[:, T - Tq:] += dx_q", "pass",
           lost(*EX06, GRADIENTS), "dx misses the query path"),
    Mutant("ex06-W_o-transposed", "ex06_multihead_attention.py",
           "dconcat, dW_o, _ = ops.linear_backward(dout, cache.proj)",
           "dconcat, dW_o, _ = ops.linear_backward(dout, cache.proj)\n    dW_o = dW_o.T",
           lost(*EX06, GRADIENTS), "transposed"),
    Mutant("ex07-halved", "ex07_block.py",
           "    dx = ds                                                       # (B, T, C)\n"
           "    dsub = ds.copy()",
           "    dx = ds / 2\n    dsub = ds / 2",
           lost(*ADD_NORM, GRADIENTS), "halved between x and sub"),
    Mutant("ex07-no-residual-at-x1", "ex07_block.py",
           "dx1 = dx1_residual + dx1_ffn", "dx1 = dx1_ffn",
           lost(*BLOCK, GRADIENTS), "at x1 the FFN's gradient must be ADDED"),
    Mutant("ex07-ops-not-passed-on", "ex07_block.py",
           "ops.ffn_backward(df, ffn, ops)", "ops.ffn_backward(df, ffn)",
           lost("ex07 test_block_passes_ops_on", GRADIENTS), "pass ops on"),
    Mutant("ex07-skips-ln1", "ex07_block.py",
           'dx_residual, da, grads["ln1.gamma"], grads["ln1.beta"] = ops.add_norm_backward(dx1, norm1, ops)',
           'dx_residual, da, grads["ln1.gamma"], grads["ln1.beta"] = dx1, dx1, 0 * dx1[0, 0], 0 * dx1[0, 0]',
           lost(*BLOCK, GRADIENTS), "LN1"),
    Mutant("ex08-averaged", "ex08_embedding.py",
           "np.add.at(dE, tokens.reshape(-1), dout.reshape(-1, C))",
           "np.add.at(dE, tokens.reshape(-1), dout.reshape(-1, C))\n"
           "    dE /= np.maximum(np.bincount(tokens.reshape(-1), minlength=V), 1)[:, None]",
           lost(*REPEATS, GRADIENTS), "averaged"),
    Mutant("ex08-first-sequence", "ex08_embedding.py",
           "np.add.at(dE, tokens.reshape(-1), dout.reshape(-1, C))", "np.add.at(dE, tokens[0], dout[0])",
           lost("ex08 test_random_batch_with_repeats", "ex08 test_one_token_everywhere_float32", GRADIENTS),
           "first sequence"),                    # a batch of one sequence: still right
    Mutant("ex08-float64-out", "ex08_embedding.py",
           "dE = np.zeros((V, C), dtype=dout.dtype)", "dE = np.zeros((V, C))",
           lost("ex08 test_one_token_everywhere_float32"), "should have dtype float32"),

]

EQUIVALENTS = [
    Mutant("ex01-vectorized", "ex01_softmax_cross_entropy.py",
           "    for b in range(B):                                     # one example at a time ...\n"
           "        dlogits[b] = cross_entropy_grad_one(probs[b], int(targets[b]))",
           "    dlogits[...] = probs\n    dlogits[np.arange(B), targets] -= 1"),
    Mutant("ex02-einsum", "ex02_linear.py",
           "dW = xs.T @ gs  ", "dW = np.einsum('ni,nj->ij', xs, gs)  "),
    Mutant("ex02-db-loop", "ex02_linear.py",
           "db = None if b is None else gs.sum(axis=0)",
           "db = None if b is None else sum(gs[n] for n in range(gs.shape[0]))"),
    Mutant("ex03-mask-product", "ex03_relu_ffn.py",
           "dz[z <= 0] = 0", "dz = dout * (z > 0)"),
    Mutant("ex04-expanded-formula", "ex04_layernorm.py",
           "dx = dxmu + dmean / C",
           "dx = rstd / C * (C * dxhat - dxhat.sum(-1, keepdims=True)"
           " - xhat * (dxhat * xhat).sum(-1, keepdims=True))"),
    Mutant("ex05-float64-inside", "ex05_attention.py",
           "    return y * (dout - weighted_mean)",
           "    y64, d64 = y.astype(np.float64), dout.astype(np.float64)\n"
           "    return (y64 * d64 - y64 * np.sum(d64 * y64, axis=-1, keepdims=True)).astype(dout.dtype)"),
    Mutant("ex05-expanded", "ex05_attention.py",
           "return y * (dout - weighted_mean)", "return y * dout - y * weighted_mean"),
    Mutant("ex06-reshape-transpose", "ex06_multihead_attention.py",
           "    for h in range(H):\n        dheads[:, h] = dconcat[:, :, h * hs:(h + 1) * hs]",
           "    dheads[...] = dconcat.reshape(B, Tq, H, hs).transpose(0, 2, 1, 3)"),
    Mutant("ex08-one-hot", "ex08_embedding.py",
           "np.add.at(dE, tokens.reshape(-1), dout.reshape(-1, C))",
           "dE += np.eye(V, dtype=dout.dtype)[tokens.reshape(-1)].T @ dout.reshape(-1, C)"),
    Mutant("ex08-loop", "ex08_embedding.py",
           "np.add.at(dE, tokens.reshape(-1), dout.reshape(-1, C))",
           "for t, g in zip(tokens.reshape(-1), dout.reshape(-1, C)):\n        dE[t] += g"),
]
