"""Randomized per-student problem sets for Stage 10 (issue 5).

    from grader.problems import BANK, build_set
    instances = build_set(seed)          # seed: bytes from variants.student_seed, or None

`None` gives variant 0, the seed document's own numbers. The bank is in the order of the
seed: its numbered questions, its exercises, then the model-level facts and the small
worked problems.
"""
from __future__ import annotations

from grader.problems import (attention_softmax, embedding_accumulation, ex1_backward_pass,
                             ex2_gradient_check, ex3_attenuation, ex4_optimizers,
                             ex5_learning_rate, layernorm, model_facts, q07_logit_gradient,
                             q08_output_column, q09_relu_backward, q12_numerical_gradient,
                             q17_residual_flow, q18_sgd_steps, q33_gradient_clipping)
from grader.problems.core import Instance, Problem, make_instance

BANK: tuple[Problem, ...] = tuple(m.PROBLEM for m in (
    q07_logit_gradient, q08_output_column, q09_relu_backward, q12_numerical_gradient,
    q17_residual_flow, q18_sgd_steps, q33_gradient_clipping,
    ex1_backward_pass, ex2_gradient_check, ex3_attenuation, ex4_optimizers, ex5_learning_rate,
    model_facts, layernorm, attention_softmax, embedding_accumulation))

BY_KEY = {p.key: p for p in BANK}


def build_set(seed: bytes | None) -> list[Instance]:
    """Every problem of the bank for one student (seed) or for variant 0 (None)."""
    return [make_instance(problem, seed) for problem in BANK]
