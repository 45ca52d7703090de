"""Mutants and correct variants of exercises 1-8: see tests/mutants/__init__.py."""
from mutants import GRADIENTS, TRAINING, Mutant, lost  # noqa: F401  (what every range uses)

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
           lost("ex02 test_output_projection", "ex02 test_output_projection_float32_small", GRADIENTS),
           "position 0"),
    # --- exercise 3
    Mutant("ex03-relu-kink", "ex03_relu_ffn.py",
           "dz[z <= 0] = 0", "dz[z < 0] = 0",
           lost("ex03 test_relu_at_the_kink_float32"),     # no pre-activation is exactly 0 anywhere else
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
           lost("ex04 test_float32_keeps_dtype")),         # the capstone's gradient check is float64
    # --- exercise 5
    Mutant("ex05-no-scale", "ex05_attention.py",
           "draw = dscores / math.sqrt(hs)", "draw = dscores",
           lost("ex05 test_attention_all_heads", "ex05 test_attention_fewer_queries", "ex05 test_attention_float32",
                GRADIENTS),
           "sqrt(hs) times too large"),
    Mutant("ex05-softmax-diagonal", "ex05_attention.py",
           "return y * (dout - weighted_mean)", "return y * dout",
           lost("ex05 test_softmax_attention_shaped", "ex05 test_softmax_long_rows", "ex05 test_softmax_peaked_float32",
                GRADIENTS),                  # attention_backward is checked with tt's softmax backward
           "only the diagonal of the Jacobian"),
    # --- exercise 6
    Mutant("ex06-k-v-swapped", "ex06_multihead_attention.py",
           "dW_k, dW_v = dW_kv[:, :C], dW_kv[:, C:]", "dW_v, dW_k = dW_kv[:, :C], dW_kv[:, C:]",
           lost("ex06 test_model_sizes", "ex06 test_two_heads_of_three", "ex06 test_one_head", "ex06 test_float32",
                GRADIENTS),
           "dW_k and dW_v are swapped"),
    # --- exercise 7
    Mutant("ex07-dsub-zero", "ex07_block.py",
           "dsub = ds.copy()", "dsub = ds * 0",
           lost("ex07 test_add_norm", "ex07 test_add_norm_float32", GRADIENTS),   # blocks get tt's add & norm
           "dsub is 0"),
    Mutant("ex07-no-residual-at-x", "ex07_block.py",
           "dx[:, T - Tq:] += dx_residual", "pass",
           lost("ex07 test_block_model_sizes", "ex07 test_block_small_float32", "ex07 test_block_passes_ops_on",
                GRADIENTS),
           "the residual's share is missing"),
    # --- exercise 8
    Mutant("ex08-last-write-wins", "ex08_embedding.py",
           "np.add.at(dE, tokens.reshape(-1), dout.reshape(-1, C))", "dE[tokens.reshape(-1)] += dout.reshape(-1, C)",
           lost("ex08 test_seed_example_repeated_comma", "ex08 test_random_batch_with_repeats",
                "ex08 test_one_token_everywhere_float32", GRADIENTS),         # no repeats: still right
           "the last write wins"),
]

EQUIVALENTS = [
]
