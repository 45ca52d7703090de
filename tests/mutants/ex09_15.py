"""Mutants and correct variants of exercises 9-15: see tests/mutants/__init__.py."""
from mutants import GRADIENTS, TRAINING, Mutant, lost  # noqa: F401  (what every range uses)

MUTANTS = [
    # --- exercise 9
    Mutant("ex09-forward-order", "ex09_model.py",
           "for i in range(len(cache.blocks) - 1, -1, -1):", "for i in range(len(cache.blocks)):",
           lost("ex09 test_full_model_float64", "ex09 test_float32_keeps_dtype", "ex09 test_three_blocks_and_a_batch_of_one",
                "ex09 test_ops_is_passed_on", GRADIENTS),
           "forward order"),
    # --- exercise 10
    Mutant("ex10-no-shape-check", "ex10_gradient_check.py",
           "if np.shape(analytical_grad) != np.shape(numerical_grad):", "if False:",
           lost("ex10 test_check_gradient_nan_and_shapes")),
    # --- exercise 11
    Mutant("ex11-dloss-dropped", "ex11_tiny_network.py",
           "doutput = dloss * (output - target)", "doutput = output - target",
           lost("ex11 test_backward_random_sizes")),        # every other check uses dloss = 1
    # --- exercise 12
    Mutant("ex12-momentum-as-average", "ex12_optimizers.py",
           "velocity = beta * velocity + dw", "velocity = beta * velocity + (1 - beta) * dw",
           lost("ex12 test_momentum", "ex12 test_momentum_changing_lr", "ex12 test_float32_keeps_dtype",
                "ex12 test_exercise4_trajectories")),
    Mutant("ex12-no-first-moment-correction", "ex12_optimizers.py",
           "m_hat = m / (1 - beta1 ** t)", "m_hat = m",
           lost("ex12 test_adam", "ex12 test_float32_keeps_dtype", "ex12 test_exercise4_trajectories")),  # state ok
    # --- exercise 13
    Mutant("ex13-critical-rate-converges", "ex13_learning_rate.py",
           "if r < 1:", "if r <= 1:",
           lost("ex13 test_classify_lr")),
    # --- exercise 14
    Mutant("ex14-no-identity-path", "ex14_clipping_gradflow.py",
           "local = 1.0 + a if residual else a", "local = a",
           lost("ex14 test_chain_gradients")),
    # --- exercise 15, graded with its training checks
    Mutant("ex15-student-ops-missing-one", "ex15_capstone.py",
           "if callable(fn) and fn.__module__ == module.__name__:",
           "if callable(fn) and fn.__module__ == module.__name__ and name != 'layernorm_backward':",
           lost("ex15 test_student_ops_are_all_yours", GRADIENTS, *TRAINING)),   # student_ops raises
]

EQUIVALENTS = [
]
