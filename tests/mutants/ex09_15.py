"""Mutants and correct variants of exercises 9-15: see tests/mutants/__init__.py."""
from mutants import GRADIENTS, TRAINING, Mutant, lost  # noqa: F401  (what every range uses)

T = "ex15 test_training_"
EX09_ALL = ("ex09 test_full_model_float64", "ex09 test_float32_keeps_dtype", "ex09 test_three_blocks_and_a_batch_of_one",
            "ex09 test_ops_is_passed_on", "ex09 test_result_follows_the_ops_given")
CHECK_OP = ("ex10 test_check_op_layernorm", "ex10 test_check_op_linear", "ex10 test_check_op_random_upstream_gradient",
            "ex10 test_check_op_dict_input", "ex10 test_check_op_float32_inputs", "ex10 test_check_op_wrong_shape")
EX11_BACKWARD = ("ex11 test_seed_backward", "ex11 test_backward_random_sizes", "ex11 test_backward_at_the_kink",
                 "ex11 test_float32_keeps_dtype", "ex11 test_returns_tinygrads")
NONLINEAR_CHECK_OP = tuple(t for t in CHECK_OP if t not in ("ex10 test_check_op_linear",
                                                           "ex10 test_check_op_float32_inputs"))
STAGES = ("ex14 test_stage_gradient_norms", "ex14 test_stage_gradient_norms_three_blocks",
          "ex14 test_stage_norms_follow_the_ops_given")

MUTANTS = [
    # --- exercise 9: the assembly
    Mutant("ex09-forward-order", "ex09_model.py",
           "for i in range(len(cache.blocks) - 1, -1, -1):", "for i in range(len(cache.blocks)):",
           lost(*EX09_ALL, GRADIENTS), "forward order"),
    Mutant("ex09-blocks-not-chained", "ex09_model.py",
           "dx, block_grads = ops.block_backward(dx, cache.blocks[i], ops)",
           "_, block_grads = ops.block_backward(dx, cache.blocks[i], ops)",
           lost(*EX09_ALL, GRADIENTS), "every block receives the dx of ops.output_backward"),
    Mutant("ex09-ops-not-handed-on", "ex09_model.py",
           "dx, block_grads = ops.block_backward(dx, cache.blocks[i], ops)",
           "dx, block_grads = ops.block_backward(dx, cache.blocks[i])",
           lost("ex09 test_ops_is_passed_on", GRADIENTS), "pass ops on"),  # the student's block falls back to tt's stubs
    # --- exercise 10
    Mutant("ex10-no-shape-check", "ex10_gradient_check.py",
           "if np.shape(analytical_grad) != np.shape(numerical_grad):", "if False:",
           lost("ex10 test_check_gradient_nan_and_shapes"), "compare the shapes first"),
    Mutant("ex10-nan-passes", "ex10_gradient_check.py",
           "return bool(rel_error(analytical_grad, numerical_grad) <= tolerance)",
           "return bool(not rel_error(analytical_grad, numerical_grad) > tolerance)",
           lost("ex10 test_check_gradient_nan_and_shapes"), "not err > tolerance"),
    Mutant("ex10-sum-of-maxima", "ex10_gradient_check.py",
           "scale = np.max(np.abs(a) + np.abs(b))", "scale = np.max(np.abs(a)) + np.max(np.abs(b))",
           lost("ex10 test_rel_error_random"), "max|a| + max|b|"),
    Mutant("ex10-twice-the-difference", "ex10_gradient_check.py",
           "grad[i] = (up - down) / (2 * eps)", "grad[i] = (up - down) / eps",
           lost("ex10 test_numerical_gradient_random", "ex10 test_numerical_gradient_uses_eps", *CHECK_OP),
           "twice the gradient"),
    Mutant("ex10-not-restored-when-f-raises", "ex10_gradient_check.py",
           "        finally:\n            x[i] = saved                    # restore, whatever happened\n",
           "        except ZeroDivisionError:\n            pass\n        x[i] = saved\n",
           lost("ex10 test_numerical_gradient_restores_x_when_f_raises"), "finally"),
    Mutant("ex10-dout-ones", "ex10_gradient_check.py",
           "dout = rng.standard_normal(np.shape(out))        # random: no fixed sum, no pattern",
           "dout = np.ones(np.shape(out))",
           lost("ex10 test_check_op_random_upstream_gradient"), "not ones"),
    Mutant("ex10-no-float64-copies", "ex10_gradient_check.py",
           "return value.astype(np.float64)          # a copy", "return value",
           lost("ex10 test_check_op_float32_inputs"), "float64 copies"),
    Mutant("ex10-derivative-without-constant", "ex10_gradient_check.py",
           "    return 2 * x + 3\n", "    return 2 * x\n",
           lost("ex10 test_quadratic_derivative"), "d(3x)/dx = 3"),
    # --- exercise 11
    Mutant("ex11-dloss-dropped", "ex11_tiny_network.py",
           "doutput = dloss * (output - target)", "doutput = output - target",
           lost("ex11 test_backward_random_sizes"), "dloss is left out"),   # every other check uses dloss = 1
    Mutant("ex11-relu-kink", "ex11_tiny_network.py",
           "np.where(z > 0, dhidden, 0)", "np.where(z >= 0, dhidden, 0)",
           lost("ex11 test_backward_at_the_kink"), "z > 0, not z >= 0"),
    Mutant("ex11-no-half", "ex11_tiny_network.py",
           "loss = 0.5 * float(err @ err)", "loss = float(err @ err)",
           lost("ex11 test_seed_forward", "ex11 test_forward_random_sizes"), "factor 0.5 is missing"),
    Mutant("ex11-dW2-transposed", "ex11_tiny_network.py",
           "dW2 = np.outer(hidden, doutput)", "dW2 = np.outer(doutput, hidden)",
           lost(*EX11_BACKWARD), "dW2 is transposed"),
    # --- exercise 12
    Mutant("ex12-momentum-as-average", "ex12_optimizers.py",
           "velocity = beta * velocity + dw", "velocity = beta * velocity + (1 - beta) * dw",
           lost("ex12 test_momentum", "ex12 test_momentum_changing_lr", "ex12 test_float32_keeps_dtype",
                "ex12 test_exercise4_trajectories"), "running mean"),
    Mutant("ex12-no-first-moment-correction", "ex12_optimizers.py",
           "m_hat = m / (1 - beta1 ** t)", "m_hat = m",
           lost("ex12 test_adam", "ex12 test_float32_keeps_dtype", "ex12 test_exercise4_trajectories"),  # state ok
           "m is not bias-corrected"),
    Mutant("ex12-eps-inside-the-root", "ex12_optimizers.py",
           "next_w = w - lr * m_hat / (np.sqrt(v_hat) + eps)", "next_w = w - lr * m_hat / np.sqrt(v_hat + eps)",
           lost("ex12 test_adam", "ex12 test_float32_keeps_dtype", "ex12 test_exercise4_trajectories"),
           "eps is inside the square root"),
    Mutant("ex12-t-one-ahead", "ex12_optimizers.py",
           "m, v, t = 0.0, 0.0, 0", "m, v, t = 0.0, 0.0, 1",
           lost("ex12 test_adam", "ex12 test_adam_state", "ex12 test_float32_keeps_dtype",
                "ex12 test_exercise4_trajectories"), "one step ahead"),
    Mutant("ex12-sgd-uphill", "ex12_optimizers.py",
           "next_w = w - lr * dw", "next_w = w + lr * dw",
           lost("ex12 test_sgd", "ex12 test_float32_keeps_dtype", "ex12 test_exercise4_trajectories"),
           "the step goes up the gradient"),
    Mutant("ex12-question18-in-floats", "ex12_optimizers.py",
           "return math.ceil(distance / step)",
           "return math.ceil((float(target) - float(w)) / (-float(lr) * float(grad)))",   # all in floats
           lost("ex12 test_updates_to_reach"), "Fraction(str(x))"),
    # --- exercise 13
    Mutant("ex13-critical-rate-converges", "ex13_learning_rate.py",
           "if r < 1:", "if r <= 1:",
           lost("ex13 test_classify_lr"), "the run oscillates (it neither"),
    Mutant("ex13-no-absolute-value", "ex13_learning_rate.py",
           "r = abs(1 - lr * curvature)", "r = 1 - lr * curvature",
           lost("ex13 test_classify_lr"), "the absolute value is missing"),
    Mutant("ex13-descent-uphill", "ex13_learning_rate.py",
           "w = w - lr * grad", "w = w + lr * grad",
           lost("ex13 test_gradient_descent_random", "ex13 test_gradient_descent_overflow",
                "ex13 test_critical_rate_oscillates_exactly", "ex13 test_find_critical_lr",
                "ex13 test_find_critical_lr_by_experiment", "ex13 test_exercise5"), "up the slope"),
    Mutant("ex13-critical-one-over-h", "ex13_learning_rate.py",
           "return 2.0 / curvature", "return 1.0 / curvature",
           lost("ex13 test_critical_learning_rate"), "1 / h"),
    Mutant("ex13-exercise5-defaults", "ex13_learning_rate.py",
           "path = gradient_descent(lr, steps, w0, c)", "path = gradient_descent(lr)",
           lost("ex13 test_exercise5"), "pass steps, w0 and c on"),
    # --- exercise 14
    Mutant("ex14-no-identity-path", "ex14_clipping_gradflow.py",
           "local = 1.0 + a if residual else a", "local = a",
           lost("ex14 test_chain_gradients"), "identity adds 1"),
    Mutant("ex14-chain-first-layer-first", "ex14_clipping_gradflow.py",
           "for a in reversed(local_grads):", "for a in local_grads:",
           lost("ex14 test_chain_gradients"), "LAST layer first"),
    Mutant("ex14-norm-without-root", "ex14_clipping_gradflow.py",
           "return float(np.sqrt(total))", "return float(total)",
           lost("ex14 test_global_norm", "ex14 test_global_norm_float32_in_float64",
                "ex14 test_clip_scales_every_array_by_one_factor", "ex14 test_clip_leaves_short_gradients_alone",
                *STAGES), "square root is missing"),
    Mutant("ex14-clip-always", "ex14_clipping_gradflow.py",
           "if norm > max_norm:", "if True:",
           lost("ex14 test_clip_leaves_short_gradients_alone"), "not above max_norm"),
    Mutant("ex14-norm-after-clipping", "ex14_clipping_gradflow.py",
           "return clipped, norm", "return clipped, min(norm, max_norm)",
           lost("ex14 test_clip_scales_every_array_by_one_factor"), "norm after clipping"),
    Mutant("ex14-largest-stage", "ex14_clipping_gradflow.py",
           "return min(magnitudes, key=lambda name: magnitudes[name])",
           "return max(magnitudes, key=lambda name: magnitudes[name])",
           lost("ex14 test_smallest_gradient"), "LARGEST"),
    Mutant("ex14-ratio-inverted", "ex14_clipping_gradflow.py",
           "return values[-1] / values[0]", "return values[0] / values[-1]",
           lost("ex14 test_attenuation_ratio"), "first / last"),
    Mutant("ex14-blocks-numbered-forward", "ex14_clipping_gradflow.py",
           'norms[f"block{i + 1}_params"] = global_norm(block_grads)',
           'norms[f"block{len(cache.blocks) - i}_params"] = global_norm(block_grads)',
           lost(*STAGES), "the stages go in the order of the backward pass"),
    # --- exercise 15, graded with its training checks
    Mutant("ex15-student-ops-missing-one", "ex15_capstone.py",
           "if callable(fn) and fn.__module__ == module.__name__:",
           "if callable(fn) and fn.__module__ == module.__name__ and name != 'layernorm_backward':",
           lost("ex15 test_student_ops_are_all_yours", GRADIENTS, *TRAINING),   # student_ops raises
           "student_ops() itself raised"),
    Mutant("ex15-stale-val-acc", "ex15_capstone.py",
           "    if not done:\n        val_acc = accuracy(params, val)\n", "",
           lost(T + "reports_honestly"), "last periodic measurement"),
    Mutant("ex15-adam-state-thrown-away", "ex15_capstone.py",
           "params[name], states[name] = ex12_optimizers.adam(", "params[name], _ = ex12_optimizers.adam(",
           lost(T + "carries_adams_state"), "state is thrown away"),
    Mutant("ex15-lr-hard-coded", "ex15_capstone.py",
           "params[name], grads[name], states[name], lr=lr)", "params[name], grads[name], states[name], lr=1e-3)",
           lost(T + "uses_the_given_lr", T + "visits_every_example"), "lr = 0.001"),   # 1e-3 still learns
    Mutant("ex15-first-batch-only", "ex15_capstone.py",
           "idx = order[first:first + batch_size]", "idx = order[:batch_size]",
           lost(T + "visits_every_example"), "same first batch"),     # 64 examples still teach 46% here
    Mutant("ex15-trains-on-the-validation-set", "ex15_capstone.py",
           "train, val = tt.train_val_split(seed=0)", "val, train = tt.train_val_split(seed=0)",
           # 16 updates on the 1,000 validation examples still reach 40% here (measured in-process, its own id)
           lost(T + "uses_the_batch_size", T + "visits_every_example", T + "reports_honestly"), "validation set"),
]

# Typical mistakes added for issue 11 point 3 (exercises 9 to 14), each with the diagnosis it must get
MORE = [
    Mutant("ex09-blocks-misnamed", "ex09_model.py",
           'grads[f"blocks.{i}.{name}"] = g', 'grads[f"blocks.{len(cache.blocks) - 1 - i}.{name}"] = g',
           lost(*EX09_ALL, GRADIENTS), "filed under the wrong block"),
    Mutant("ex10-one-sided", "ex10_gradient_check.py",
           "            x[i] = saved - eps\n            down = float(f())\n        finally:\n"
           "            x[i] = saved                    # restore, whatever happened\n"
           "        grad[i] = (up - down) / (2 * eps)\n",
           "            x[i] = saved\n            down = float(f())\n        finally:\n"
           "            x[i] = saved                    # restore, whatever happened\n"
           "        grad[i] = (up - down) / eps\n",
           lost("ex10 test_numerical_gradient_random", "ex10 test_numerical_gradient_uses_eps",
                "ex10 test_numerical_gradient_restores_x", *NONLINEAR_CHECK_OP),   # exact for a linear f
           "one-sided difference"),
    Mutant("ex10-not-restored", "ex10_gradient_check.py",
           "            x[i] = saved                    # restore, whatever happened\n", "            pass\n",
           lost("ex10 test_numerical_gradient_random", "ex10 test_numerical_gradient_uses_eps",
                "ex10 test_numerical_gradient_restores_x", "ex10 test_numerical_gradient_restores_x_when_f_raises",
                *NONLINEAR_CHECK_OP), "put every entry back"),
    Mutant("ex10-rel-error-without-abs", "ex10_gradient_check.py",
           "largest_gap = np.max(np.abs(a - b))", "largest_gap = np.max(a - b)",
           lost("ex10 test_rel_error_random", "ex10 test_check_gradient_agreement"), "absolute value of a - b"),
    Mutant("ex10-rel-error-relative-to-b", "ex10_gradient_check.py",
           "scale = np.max(np.abs(a) + np.abs(b))", "scale = np.max(np.abs(b))",
           lost("ex10 test_rel_error_random"), "max(|a| + |b|)"),
    Mutant("ex11-no-relu-in-forward", "ex11_tiny_network.py",
           "hidden = np.maximum(z, 0)                        # (F,)", "hidden = z                                        # (F,)",
           lost("ex11 test_seed_forward", "ex11 test_forward_random_sizes"), "hidden should be ReLU(z)"),
    Mutant("ex11-gate-by-dhidden", "ex11_tiny_network.py",
           "np.where(z > 0, dhidden, 0)", "np.where(dhidden > 0, dhidden, 0)",
           lost(*EX11_BACKWARD), "sign of the incoming gradient"),
    Mutant("ex11-dhidden-gated", "ex11_tiny_network.py",
           "dhidden = W2 @ doutput                           # (F,)",
           "dhidden = np.where(z > 0, W2 @ doutput, 0)        # (F,)",
           lost(*EX11_BACKWARD), "before the ReLU gate"),
    Mutant("ex11-doutput-sign", "ex11_tiny_network.py",
           "doutput = dloss * (output - target)", "doutput = dloss * (target - output)",
           lost(*EX11_BACKWARD), "sign flipped"),
    Mutant("ex12-no-v-correction", "ex12_optimizers.py",
           "v_hat = v / (1 - beta2 ** t)", "v_hat = v",
           lost("ex12 test_adam", "ex12 test_float32_keeps_dtype", "ex12 test_exercise4_trajectories"),
           "v is not bias-corrected"),
    Mutant("ex12-momentum-w-first", "ex12_optimizers.py",
           '    velocity = beta * velocity + dw\n    return w - lr * velocity, {"v": velocity}\n',
           '    next_w = w - lr * velocity\n    velocity = beta * velocity + dw\n    return next_w, {"v": velocity}\n',
           lost("ex12 test_momentum", "ex12 test_momentum_changing_lr", "ex12 test_float32_keeps_dtype",
                "ex12 test_exercise4_trajectories"), "before v is updated"),
    Mutant("ex12-momentum-lr-inside", "ex12_optimizers.py",
           '    velocity = beta * velocity + dw\n    return w - lr * velocity, {"v": velocity}\n',
           '    velocity = beta * velocity + lr * dw\n    return w - velocity, {"v": velocity}\n',
           lost("ex12 test_momentum", "ex12 test_momentum_changing_lr"), "lr is inside the velocity"),
    Mutant("ex12-momentum-beta-fixed", "ex12_optimizers.py",
           "velocity = beta * velocity + dw", "velocity = 0.9 * velocity + dw",
           lost("ex12 test_momentum"), "beta is always 0.9"),
    Mutant("ex12-adam-t-from-zero", "ex12_optimizers.py",
           "    t += 1\n    m = beta1 * m", "    m = beta1 * m",
           lost("ex12 test_adam", "ex12 test_adam_state", "ex12 test_float32_keeps_dtype",
                "ex12 test_exercise4_trajectories"), "0 at t = 0"),
    Mutant("ex13-oscillates-as-diverging", "ex13_learning_rate.py",
           '    return "oscillates" if r == 1 else "diverges"\n', '    return "diverges"\n',
           lost("ex13 test_classify_lr"), "it does not diverge"),
    Mutant("ex13-descent-without-curvature", "ex13_learning_rate.py",
           "grad = curvature * (w - c)          # dloss/dW at the current W", "grad = w - c",
           lost("ex13 test_gradient_descent_random", "ex13 test_gradient_descent_overflow",   # exercise5 uses h = 1
                "ex13 test_critical_rate_oscillates_exactly",     # its h is a power of 2, here not 1 (1 in 6 ids: 1)
                "ex13 test_find_critical_lr", "ex13 test_find_critical_lr_by_experiment"), "curvature is left out"),
    Mutant("ex14-clip-per-array", "ex14_clipping_gradflow.py",
           "    clipped = {name: (g * scale).astype(g.dtype) for name, g in grads.items()}\n",
           "    clipped = {name: (g * min(1.0, max_norm / max(float(np.linalg.norm(g)), 1e-300))).astype(g.dtype)\n"
           "               for name, g in grads.items()}\n",
           lost("ex14 test_clip_scales_every_array_by_one_factor"), "its own norm"),
    Mutant("ex14-norm-sum-of-norms", "ex14_clipping_gradflow.py",
           "        total += float(np.sum(g * g))\n    return float(np.sqrt(total))\n",
           "        total += float(np.sqrt(np.sum(g * g)))\n    return float(total)\n",
           lost("ex14 test_global_norm", "ex14 test_clip_scales_every_array_by_one_factor",
                "ex14 test_clip_leaves_short_gradients_alone", *STAGES),
           "sum of the arrays' own norms"),
]
MORE += [
    Mutant("ex09-embedding-gets-the-output-dx", "ex09_model.py",
           "ops.embedding_backward(dx, cache.embedding)",
           "ops.embedding_backward(ops.output_backward(dlogits, cache.output, ops)[0], cache.embedding)",
           lost(*EX09_ALL, GRADIENTS), "the blocks are skipped"),
    Mutant("ex14-chain-upstream-ignored", "ex14_clipping_gradflow.py",
           "    g = float(upstream)\n", "    g = 1.0\n",
           lost("ex14 test_chain_gradients"), "upstream gradient is left out"),
]
MORE += [
    Mutant("ex10-eps-ignored", "ex10_gradient_check.py",
           "            x[i] = saved + eps\n            up = float(f())\n            x[i] = saved - eps\n"
           "            down = float(f())\n        finally:\n"
           "            x[i] = saved                    # restore, whatever happened\n"
           "        grad[i] = (up - down) / (2 * eps)\n",
           "            x[i] = saved + 1e-5\n            up = float(f())\n            x[i] = saved - 1e-5\n"
           "            down = float(f())\n        finally:\n"
           "            x[i] = saved                    # restore, whatever happened\n"
           "        grad[i] = (up - down) / (2 * 1e-5)\n",
           lost("ex10 test_numerical_gradient_uses_eps"), "eps is ignored"),   # at 1e-4 vs 1e-5 both are within 1e-7
    Mutant("ex11-dW2-from-z", "ex11_tiny_network.py",
           "dW2 = np.outer(hidden, doutput)", "dW2 = np.outer(z, doutput)",
           lost(*EX11_BACKWARD), "dW2 is computed from z"),
]
MUTANTS += MORE

EQUIVALENTS = [
    Mutant("eq-ex09-reversed-range", "ex09_model.py",
           "for i in range(len(cache.blocks) - 1, -1, -1):", "for i in reversed(range(len(cache.blocks))):"),
    Mutant("eq-ex10-ndindex-star", "ex10_gradient_check.py",
           "    for i in np.ndindex(x.shape):\n        saved = x[i]",
           "    for i in np.ndindex(*x.shape):\n        saved = x[i]"),
    Mutant("eq-ex11-mask-product", "ex11_tiny_network.py",
           "dz = np.where(z > 0, dhidden, 0).astype(dhidden.dtype)", "dz = dhidden * (z > 0)"),
    Mutant("eq-ex12-adam-folded-step", "ex12_optimizers.py",
           "    m_hat = m / (1 - beta1 ** t)                # undo the pull towards the 0 start\n"
           "    v_hat = v / (1 - beta2 ** t)\n"
           "    next_w = w - lr * m_hat / (np.sqrt(v_hat) + eps)\n",
           "    root = math.sqrt(1 - beta2 ** t)            # the corrections folded into the step, exactly\n"
           "    next_w = w - (lr * root / (1 - beta1 ** t)) * m / (np.sqrt(v) + eps * root)\n"),
    Mutant("eq-ex13-classify-by-interval", "ex13_learning_rate.py",
           '    r = abs(1 - lr * curvature)\n    if r < 1:\n        return "converges"\n'
           '    return "oscillates" if r == 1 else "diverges"\n',
           '    x = lr * curvature\n    if 0 < x < 2:\n        return "converges"\n'
           '    return "oscillates" if x in (0, 2) else "diverges"\n'),
    Mutant("eq-ex14-norm-by-linalg", "ex14_clipping_gradflow.py",
           "total += float(np.sum(g * g))", "total += float(np.linalg.norm(g.ravel())) ** 2"),
    Mutant("eq-ex14-scale-by-min", "ex14_clipping_gradflow.py",
           "    scale = 1.0\n    if norm > max_norm:\n        scale = max_norm / norm\n",
           "    scale = min(1.0, max_norm / norm) if norm > 0 else 1.0\n"),
    Mutant("eq-ex15-always-measure-at-the-end", "ex15_capstone.py",
           "    if not done:\n        val_acc = accuracy(params, val)\n", "    val_acc = accuracy(params, val)\n"),
]
