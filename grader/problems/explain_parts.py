"""Answer slots for the why-questions inside the numeric problems (issue 13).

Eight statements ask "why" or "which" beside their calculation (q09, q12, ex2, ex3, ex5,
layernorm, attention, embedding). Each gets a free-text part with a rubric, graded by a
person, appended after the problem's own parts; Exercise 2's "which difference should a
gradient checker use" also gets an auto-graded choice, derived from the two errors.
The problems' own modules are untouched: `with_parts` wraps solve and verify.
"""
from __future__ import annotations

import dataclasses

from grader.problems.concepts import check_explain, explain_part
from grader.problems.core import CHOICE, DerivationMismatch, Part, Problem

EXPLAIN = {
    "q09": ("why_zeroed", "Which gradients are zeroed, and why?",
            (("the entries where z ≤ 0 (name them or their positions)", 1),
             ("because ReLU's derivative there is 0 (the unit was off in the forward pass)", 1)),
            "The entries with z ≤ 0: ReLU output is constant 0 there, its derivative 0, so no "
            "gradient passes; where z > 0 the derivative is 1 and the gradient passes unchanged."),
    "q12": ("should_match", "Should the numerical gradient match the analytical one, and how "
            "close should they be?",
            (("yes, up to the finite-difference error", 1),
             ("a justified closeness: O(ε²) truncation plus rounding ≈ 1e-16/ε, relative error "
              "≈ 1e-7 or better in float64", 1)),
            "Yes: central differences have error O(ε²) ≈ 1e-10 plus rounding ≈ 1e-16/ε ≈ 1e-11 "
            "relative to the loss, so they should agree to a relative error of about 1e-7."),
    "ex2": ("which_why", "Why should a gradient checker use that difference?",
            (("central error is O(ε²) (0 for a quadratic), forward O(ε)", 1),
             ("uses the numbers computed above (forward error a·ε)", 1)),
            "The central difference cancels the ε term of the Taylor series (error O(ε²), "
            "exactly 0 for a quadratic), the forward difference leaves a·ε."),
    "ex3": ("problematic", "Is this attenuation problematic? How do residual connections help here?",
            (("judges the ratio: moderate, not vanishing (or argues when it would be)", 1),
             ("residual paths carry the gradient with derivative 1 past each block", 1)),
            "A ratio of a few percent over eight stages is moderate attenuation, not vanishing; "
            "the residual paths pass the gradient around each block with derivative 1."),
    "ex5": ("what_happens", "What happens at the last learning rate, and why?",
            (("names the behaviour (the iterates grow / oscillate)", 1),
             ("why: |1 − lr·h| > 1 (or = 1), beyond the critical rate 2/h", 1)),
            "Each step multiplies W − c by 1 − lr·h; past lr = 2/h its magnitude exceeds 1, so "
            "the error grows with alternating sign."),
    "layernorm": ("why_terms", "Why are the two subtracted terms in ∂loss/∂x there?",
                  (("the mean term: μ depends on every x (shifting all x changes nothing)", 1),
                   ("the x̂ term: σ depends on every x (scaling x changes nothing)", 1)),
                  "μ and σ are functions of all entries, so each x_i also acts through them: the "
                  "mean term removes the component along 1, the x̂ term the component along x̂."),
    "attention": ("why_not_diagonal", "Why is the softmax Jacobian not diagonal?",
                  (("each probability depends on every score (shared normalizer)", 1),
                   ("the off-diagonal −p_i p_j terms / outputs sum to 1", 1)),
                  "Every p_i = e^{s_i}/Σ e^{s_k} depends on all scores through the normalizer, so "
                  "∂p_i/∂s_j = −p_i p_j ≠ 0 for i ≠ j; the outputs must keep summing to 1."),
    "embedding": ("why_accumulate", "Why must the backward pass use += for the embedding rows?",
                  (("the same row is used at several positions", 1),
                   ("the total derivative sums the contributions (= would keep only the last)", 1)),
                  "The comma's row is read at two positions; its gradient is the sum of both "
                  "positions' gradients, and = would overwrite one of them."),
}


def _ex2_choice(parts: list[Part]) -> Part:
    err = {p.name: p.answer for p in parts}["forward_error"]
    return Part("checker", "the difference a gradient checker should use", CHOICE,
                "central" if err != 0 else "forward", 1, choices=("central", "forward"))


def with_parts(problem: Problem) -> Problem:
    if problem.key not in EXPLAIN:
        return problem
    name, prompt, rubric, model = EXPLAIN[problem.key]
    n_extra = 2 if problem.key == "ex2" else 1

    def solve(params: dict) -> list[Part]:
        parts = list(problem.solve(params))
        extra = [_ex2_choice(parts)] if problem.key == "ex2" else []
        return parts + extra + [explain_part(name, prompt, rubric, model)]

    def verify(params: dict, parts: list[Part]) -> None:
        problem.verify(params, parts[:-n_extra])
        if problem.key == "ex2":
            # The central difference of a quadratic is exact; the forward one is off by a·ε.
            by = {p.name: p.answer for p in parts}
            want = "central" if abs(by["central"] - by["analytic"]) < abs(by["forward_error"]) \
                else "forward"
            if by["checker"] != want:
                raise DerivationMismatch(f"ex2 checker: {by['checker']} != {want}")
        check_explain(f"{problem.key}.{name}", parts[-1])

    return dataclasses.replace(problem, solve=solve, verify=verify)
