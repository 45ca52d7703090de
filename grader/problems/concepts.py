"""Conceptual items (issue 13): the seed's questions that ask for ideas, made gradable.

An item is declared, not coded: its questions are

    Pick(name, prompt, right, wrong)        multiple choice: one right option among n_wrong distractors
    Select(name, prompt, right, wrong)      multiple select: n_right right options among n_wrong distractors
    Order(name, prompt, items)              put the items (given in their right order) in order
    Explain(name, prompt, rubric, model)    free text graded by a person against the rubric

plus, where the question has a calculation in it, a `Numeric` block (the usual
generate/check/solve/verify of core.Problem for those parts). The option banks are
written from the seed's content: right options state what the seed (or the exact
answer) says; distractors are the misreadings a student makes.

Per student (their dice): which right option and which distractors, and their order;
the order of the items to arrange. Variant 0 takes the first options of each bank in a
fixed order. The key is derived twice: solve() finds the right letters by looking each
shown option up in the bank; verify() reads the truth flags recorded when the options
were drawn. Letters are the only thing a student writes, so a distractor can never be
"right by another wording".
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from grader.problems.core import (LETTERS, MCQ, MULTI, ORDER, TEXT, DerivationMismatch, Part,
                                  Problem)
from grader.problems.variants import Dice


@dataclass(frozen=True)
class Pick:
    name: str
    prompt: str
    right: tuple[str, ...]
    wrong: tuple[str, ...]
    points: int = 2
    n_wrong: int = 3


@dataclass(frozen=True)
class Select:
    name: str
    prompt: str
    right: tuple[str, ...]
    wrong: tuple[str, ...]
    points: int = 3
    n_right: int = 3
    n_wrong: int = 2


@dataclass(frozen=True)
class Order:
    name: str
    prompt: str
    items: tuple[str, ...]           # in the right order
    points: int = 2


@dataclass(frozen=True)
class Explain:
    name: str
    prompt: str
    rubric: tuple[tuple[str, int], ...]
    model: str                       # a model answer, for graders

    @property
    def points(self) -> int:
        return sum(p for _, p in self.rubric)


@dataclass(frozen=True)
class Numeric:
    """The calculation inside a conceptual question: params come from seed()/generate(dice),
    parts from solve(params), checked by verify(params, parts) (raise DerivationMismatch)."""
    seed: Callable[[], dict]
    generate: Callable[[Dice], dict]
    solve: Callable[[dict], list[Part]]
    verify: Callable[[dict, list[Part]], None]
    check: Callable[[dict], list[str]] = lambda p: []


@dataclass(frozen=True)
class Concept:
    key: str
    title: str
    source: str
    intro: Callable[[dict], str]     # the statement's opening, from the numeric params
    questions: tuple = ()
    numeric: Numeric | None = None
    explain_first: tuple = field(default=())


def _rotate(xs: list, k: int) -> list:
    k %= len(xs)
    return xs[k:] + xs[:k]


def _draw(q, dice: Dice | None, index: int) -> dict:
    """The options one student sees, with the truth flags (or ranks) recorded now."""
    if isinstance(q, Explain):
        return {"name": q.name, "prompt": q.prompt, "options": []}
    if isinstance(q, Order):
        items = list(q.items)
        if dice is None:
            shown = _rotate(items[::-1], index + 1)
        else:
            shown = dice.shuffle(items)
            while shown == items:
                shown = dice.shuffle(items)
        return {"name": q.name, "prompt": q.prompt, "options": shown,
                "ranks": [items.index(o) for o in shown]}
    if isinstance(q, Pick):
        n_right, n_wrong = 1, q.n_wrong
    else:
        n_right, n_wrong = q.n_right, q.n_wrong
    if dice is None:
        right, wrong = list(q.right[:n_right]), list(q.wrong[:n_wrong])
        pool = [(o, True) for o in right] + [(o, False) for o in wrong]
        pool = _rotate(pool, 2 * index + 1)
    else:
        pool = ([(o, True) for o in dice.sample(q.right, n_right)]
                + [(o, False) for o in dice.sample(q.wrong, n_wrong)])
        pool = dice.shuffle(pool)
    return {"name": q.name, "prompt": q.prompt, "options": [o for o, _ in pool],
            "truth": [t for _, t in pool]}


def make(c: Concept) -> Problem:
    by_name = {q.name: q for q in c.questions}

    def params(dice: Dice | None) -> dict:
        num = (c.numeric.seed() if dice is None else c.numeric.generate(dice)) if c.numeric else {}
        qs = [_draw(q, dice, i) for i, q in enumerate(c.questions)]
        return {**num, "questions": qs, "intro": c.intro(num)}

    def check(p: dict) -> list[str]:
        return c.numeric.check(p) if c.numeric else []

    def solve(p: dict) -> list[Part]:
        parts = c.numeric.solve(p) if c.numeric else []
        for shown in p["questions"]:
            q = by_name[shown["name"]]
            opts = tuple(shown["options"])
            if isinstance(q, Explain):
                parts.append(Part(q.name, q.prompt, TEXT, q.model, q.points, rubric=q.rubric))
            elif isinstance(q, Order):
                key = ", ".join(LETTERS[opts.index(item)] for item in q.items)
                parts.append(Part(q.name, q.prompt, ORDER, key, q.points, options=opts))
            else:
                letters = [LETTERS[i] for i, o in enumerate(opts) if o in q.right]
                parts.append(Part(q.name, q.prompt, MCQ if isinstance(q, Pick) else MULTI,
                                  ", ".join(letters), q.points, options=opts))
        return parts

    def verify(p: dict, parts: list[Part]) -> None:
        by = {part.name: part for part in parts}
        if c.numeric:
            c.numeric.verify(p, parts)
        for shown in p["questions"]:
            part = by[shown["name"]]
            if "truth" in shown:
                want = ", ".join(LETTERS[i] for i, t in enumerate(shown["truth"]) if t)
            elif "ranks" in shown:
                want = ", ".join(LETTERS[shown["ranks"].index(r)] for r in range(len(shown["ranks"])))
            else:
                if sum(pts for _, pts in part.rubric) != part.points or not part.answer:
                    raise DerivationMismatch(f"{c.key}.{part.name}: rubric and points differ")
                continue
            if part.answer != want:
                raise DerivationMismatch(f"{c.key}.{part.name}: {part.answer} != {want}")

    return Problem(c.key, c.title, c.source, "concept.md.j2", lambda: params(None), params,
                   check, solve, verify)


def explain_part(name: str, prompt: str, rubric, model: str) -> Part:
    """A free-text part for an existing (numeric) problem's why-question."""
    return Part(name, prompt, TEXT, model, sum(p for _, p in rubric), rubric=tuple(rubric))


def check_explain(what: str, part: Part) -> None:
    """verify() of an explain part: its rubric must carry its points."""
    if part.kind != TEXT or sum(p for _, p in part.rubric) != part.points or not part.answer:
        raise DerivationMismatch(f"{what}: a free-text part without a rubric for its points")
