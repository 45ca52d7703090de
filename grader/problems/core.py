"""The shape of a problem and its answer parts (the exact formatting: formatting.py).

A problem has four parts (issue 5):

    generate(dice) -> params       "nice" numbers from a seed
    check(params)  -> [reasons]    well-posedness; a non-empty list rejects the draw
    solve(params)  -> [Part]       the answers, exact (sympy Rationals or exact expressions)
    verify(params, parts)          a second, independent derivation; raises if they differ

plus a jinja2 template for the statement. `seed_params()` gives variant 0, the numbers of
the seed document itself. `make_instance` runs the four in order and regenerates until
the draw is well-posed.

Answers are exact. A number is printed exactly when it is a terminating decimal, as a
fraction p/q otherwise, so nothing here depends on how a machine formats floats.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable

import sympy as sp

from grader.problems.variants import Dice

# the kinds of answer and the exact formatting live in kinds.py and formatting.py; core
# re-exports them, as every item imports them from here
from grader.problems.kinds import (CHOICE, EXACT_KINDS, EXPRESSION, INTEGER, KINDS, LETTERS,  # noqa: F401
                                   MATRIX, MCQ, MULTI, NON_NUMERIC, NUMBER, ORDER, SHAPE, TEXT, VECTOR)
from grader.problems.formatting import (PRECISION, R, as_sym, decimal30, decimals, fmt,  # noqa: F401
                                        fmt_approx, fmt_exact, fmt_mat, fmt_value, fmt_vec, numeric,
                                        rational_digits)


# ------------------------------------------------------------------------ tolerances
@dataclass(frozen=True)
class Tolerance:
    """An entry is right when |yours - key| <= max(abs, rel * |key|)."""
    name: str
    rel: sp.Rational
    abs: sp.Rational

    def describe(self) -> str:
        return _describe(self)


@lru_cache(maxsize=None)
def _describe(tol: Tolerance) -> str:
    if tol.rel == 0 and tol.abs == 0:
        return "exact"
    if tol.rel == 0:
        return f"|yours - key| <= {fmt(tol.abs)}"
    if tol.abs == 0:
        return f"|yours - key| <= {fmt(tol.rel)}·|key|"
    return f"|yours - key| <= max({fmt(tol.abs)}, {fmt(tol.rel)}·|key|)"


EXACT = Tolerance("exact", sp.Integer(0), sp.Integer(0))
# Hand calculations rounded to four significant digits pass; a slip in the third does not.
STANDARD = Tolerance("standard", sp.Rational(1, 1000), sp.Rational(1, 10**6))
# Tiny quantities (a difference of two losses, 2ε, a·ε): no absolute floor, which would
# be a large fraction of the value itself.
RELATIVE = Tolerance("relative", sp.Rational(1, 1000), sp.Integer(0))
# Trajectories: the steps are small next to the values (W = 0.5, steps of 0.001), so the
# values must carry seven significant digits for an error of one step to show.
TRAJECTORY = Tolerance("trajectory", sp.Rational(1, 10**5), sp.Rational(1, 10**8))


# ----------------------------------------------------------------------------- parts
@dataclass(frozen=True)
class Part:
    """One answer the student gives, with its exact key.

    answer: sympy number/expression (NUMBER, INTEGER, EXPRESSION), a tuple of them
    (VECTOR), a tuple of row tuples (MATRIX) or a str (CHOICE).
    """
    name: str
    prompt: str
    kind: str
    answer: Any
    points: int
    tol: Tolerance = STANDARD
    symbols: tuple[str, ...] = ()     # variables allowed in an EXPRESSION answer
    choices: tuple[str, ...] = ()     # allowed words of a CHOICE answer
    unit: str = ""                    # what a number counts ("bytes"): may follow the answer
    # Known wrong answers, each a named mistake: ((label, value), ...), the value in the
    # answer's own form ("the sign flipped", the key negated). Feedback and the class
    # report name a student's wrong answer when it is one of these.
    mistakes: tuple[tuple[str, Any], ...] = ()
    # MCQ, MULTI, ORDER: the option texts in the order this student sees them (lettered
    # A, B, ...). The key is a letter (MCQ), letters in alphabetical order (MULTI) or
    # letters in the right order (ORDER), written "A, C".
    options: tuple[str, ...] = ()
    # TEXT: what a grader awards points for, ((criterion, points), ...), summing to
    # `points`; the key (answer) is a model answer, shown to graders only.
    rubric: tuple[tuple[str, int], ...] = ()

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Part {self.name}: unknown kind {self.kind!r}")
        if self.kind == TEXT and sum(p for _, p in self.rubric) != self.points:
            raise ValueError(f"Part {self.name}: the rubric's points do not sum to {self.points}")
        if self.kind in (MCQ, MULTI, ORDER) and not 2 <= len(self.options) <= len(LETTERS):
            raise ValueError(f"Part {self.name}: {len(self.options)} options")

    @property
    def manual(self) -> bool:
        """Graded by a person (TEXT), not by the grader."""
        return self.kind == TEXT

    def tolerance_text(self) -> str:
        if self.kind == TEXT:
            return "graded by your instructor"
        return "exact" if self.kind in EXACT_KINDS else self.tol.describe()

    def form(self) -> str:
        """What shape the answer takes, for the statement and the answers file."""
        if self.kind == VECTOR:
            n = len(self.answer)
            return f"a vector of {n} numbers, like [{', '.join(EXAMPLE[i % 5] for i in range(n))}]"
        if self.kind == MATRIX:
            r, c = len(self.answer), len(self.answer[0])
            return f"a {r}×{c} matrix, row by row, like {example_matrix(r, c)}"
        if self.kind == EXPRESSION:
            return f"an expression in {', '.join(self.symbols)}, like 2*x + 3"
        if self.kind == CHOICE:
            return "one of: " + ", ".join(self.choices)
        if self.kind == INTEGER:
            return "a whole number"
        n = len(self.options)
        last = LETTERS[max(n - 1, 0)]
        if self.kind == MCQ:
            return f"one letter, A to {last}"
        if self.kind == MULTI:
            return f"every letter that applies (A to {last}), like A, C"
        if self.kind == ORDER:
            return f"all {n} letters in order, like {', '.join(LETTERS[n - 1::-1])}"
        if self.kind == SHAPE:
            return f"a shape like {' × '.join(['8', '16', '4'][:len(self.answer)])}"
        if self.kind == TEXT:
            return ("free text, your own words (continue on as many lines as you need; "
                    "a line starting with # ends it); graded by your instructor")
        return "a number"


EXAMPLE = ("1", "-0.5", "2", "0.25", "-3")


def example_matrix(r: int, c: int) -> str:
    return "[" + ", ".join("[" + ", ".join(EXAMPLE[(i * c + j) % 5] for j in range(c)) + "]"
                           for i in range(r)) + "]"


# ---------------------------------------------------------------------------- problems
class NotWellPosed(Exception):
    """No well-posed draw was found (a bug in a generator, never a student's fault)."""


class DerivationMismatch(AssertionError):
    """The two derivations of an answer disagree: the key must not be used."""


@dataclass(frozen=True)
class Problem:
    key: str                     # "q07", "ex4": the prefix of the answer keys
    title: str
    source: str                  # where the seed asks it, e.g. "Question 7"
    template: str                # file under grader/problems/templates/
    seed_params: Callable[[], dict]
    generate: Callable[[Dice], dict]
    check: Callable[[dict], list[str]]
    solve: Callable[[dict], list[Part]]
    verify: Callable[[dict, list[Part]], None]


@dataclass
class Instance:
    """One problem with its numbers and answers: what a student is given."""
    problem: Problem
    params: dict
    parts: list[Part]
    draws: int = 1               # how many draws the well-posedness checks needed
    statement: str = field(default="", repr=False)

    @property
    def points(self) -> int:
        return sum(p.points for p in self.parts)

    def answer_key(self, part: Part) -> str:
        return f"{self.problem.key}.{part.name}"


MAX_DRAWS = 500


def make_instance(problem: Problem, seed: bytes | None) -> Instance:
    """Variant 0 when seed is None; otherwise draw until well-posed, solve and verify."""
    if seed is None:
        params, draws = problem.seed_params(), 1
        reasons = problem.check(params)
        if reasons:
            raise NotWellPosed(f"{problem.key}: the seed's own numbers fail: {reasons}")
    else:
        dice = Dice(seed, problem.key)
        for draws in range(1, MAX_DRAWS + 1):
            params = problem.generate(dice)
            if not problem.check(params):
                break
        else:
            raise NotWellPosed(f"{problem.key}: no well-posed draw in {MAX_DRAWS} tries")
    parts = problem.solve(params)
    problem.verify(params, parts)
    return Instance(problem, params, parts, draws)


# ------------------------------------------------------------------- exact comparison
def agree(what: str, a, b, digits: int = 40) -> None:
    """Raise DerivationMismatch unless a == b (exactly, or to `digits` digits if irrational).

    a and b may be numbers, tuples or nested tuples of the same shape.
    """
    if isinstance(a, (tuple, list)) or isinstance(b, (tuple, list)):
        if not (isinstance(a, (tuple, list)) and isinstance(b, (tuple, list))) or len(a) != len(b):
            raise DerivationMismatch(f"{what}: shapes differ: {a!r} vs {b!r}")
        for i, (x, y) in enumerate(zip(a, b)):
            agree(f"{what}[{i}]", x, y, digits)
        return
    a, b = as_sym(a), as_sym(b)
    if a.is_Rational and b.is_Rational:
        if a != b:
            raise DerivationMismatch(f"{what}: {a} != {b}")
        return
    x, y = numeric(a), numeric(b)
    if not abs(x - y) <= max(1, abs(x)) * sp.Float(10) ** -digits:
        raise DerivationMismatch(f"{what}: {sp.N(x, 20)} != {sp.N(y, 20)}")


def named_mistakes(key, *mistakes) -> tuple[tuple[str, Any], ...]:
    """The (label, value) pairs of `mistakes` whose value is not the key's (nor an earlier
    one's) for these parameters: a slip that happens to give the right answer here (a mean
    term that is 0, every ReLU on) is not named. Values compare as agree() compares them."""
    kept: list[tuple[str, Any]] = []
    for label, value in mistakes:
        same = False
        for other in [key] + [v for _, v in kept]:
            try:
                agree(label, value, other)
                same = True
                break
            except DerivationMismatch:
                continue
        if not same:
            kept.append((label, value))
    return tuple(kept)


class Compiled:
    """Symbolic expressions prepared for fast exact evaluation at many points.

    sympy.cse factors out common subexpressions once; evaluating then substitutes
    numbers one small expression at a time instead of walking a large tree.
    """

    def __init__(self, exprs):
        self.replacements, self.reduced = sp.cse(list(exprs))

    def at(self, values: dict) -> tuple:
        """Exact values at a point."""
        env = dict(values)
        for sym, expr in self.replacements:
            env[sym] = expr.xreplace(env)
        return tuple(e.xreplace(env) for e in self.reduced)

    def numeric_at(self, values: dict, digits: int = 30) -> tuple:
        """Values at a point to `digits` digits, each shared subexpression evaluated once."""
        env = dict(values)
        for sym, expr in self.replacements:
            env[sym] = sp.N(expr.xreplace(env), digits)
        return tuple(sp.N(e.xreplace(env), digits) for e in self.reduced)
