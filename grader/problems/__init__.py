"""Randomized per-student problem sets for Stage 10 (issue 5).

    from grader.problems import BANK, build_set
    instances = build_set(seed)          # seed: bytes from variants.student_seed, or None

`None` gives variant 0, the seed document's own numbers. The bank is in the order of the
seed: its numbered questions, its exercises, then the model-level facts and the small
worked problems.
"""
from __future__ import annotations

from grader.problems import concepts_q01_15 as _c1
from grader.problems import concepts_q19_35 as _c2
from grader.problems import (attention_softmax, embedding_accumulation, ex1_backward_pass,
                             ex2_gradient_check, ex3_attenuation, ex4_optimizers,
                             ex5_learning_rate, layernorm, model_facts, q07_logit_gradient,
                             q08_output_column, q09_relu_backward, q12_numerical_gradient,
                             q17_residual_flow, q18_sgd_steps, q33_gradient_clipping)
from grader.problems.core import Instance, Problem, make_instance
from grader.problems.explain_parts import with_parts

_NUMERIC: tuple[Problem, ...] = tuple(m.PROBLEM for m in (
    q07_logit_gradient, q08_output_column, q09_relu_backward, q12_numerical_gradient,
    q17_residual_flow, q18_sgd_steps, q33_gradient_clipping,
    ex1_backward_pass, ex2_gradient_check, ex3_attenuation, ex4_optimizers, ex5_learning_rate,
    model_facts, layernorm, attention_softmax, embedding_accumulation))
_CONCEPTS: tuple[Problem, ...] = (*_c1.PROBLEMS, *_c2.PROBLEMS)


def _seed_order(p: Problem) -> tuple:
    """Questions by number, then the exercises, then the rest in their own order."""
    if p.key[0] == "q" and p.key[1:].isdigit():
        return (0, int(p.key[1:]))
    if p.key.startswith("ex"):
        return (1, int(p.key[2:]))
    return (2, 0)


BANK: tuple[Problem, ...] = tuple(sorted((*(with_parts(p) for p in _NUMERIC), *_CONCEPTS),
                                         key=_seed_order))

BY_KEY = {p.key: p for p in BANK}


def build_set(seed: bytes | None) -> list[Instance]:
    """Every problem of the bank for one student (seed) or for variant 0 (None)."""
    return [make_instance(problem, seed) for problem in BANK]


def warm_caches() -> None:
    """Fill the symbolic caches that every student's set uses, once, in the process that
    then forks the workers (generate, grade): variant 0's set, and the derivations
    cached per drawn size (q07's gradients, q17's path polynomials). The workers inherit
    them instead of each filling them again; grading replaces its workers every few
    dozen students."""
    build_set(None)
    q07_logit_gradient.warm()
    q17_residual_flow.warm()
