"""Marking of the conceptual items' kinds (issue 13): lettered options, shapes, free text.

    MCQ     one letter                       full points or 0
    MULTI   every letter that applies        points × max(0, right picks − wrong picks) / (right options)
    ORDER   every letter, in order           points × (neighbouring pairs of the key kept in order) / (n − 1)
    SHAPE   8×16, 8 x 16, (8, 16), [8, 16]   full points or 0
    TEXT    free text                        0 here: a person grades it (grading_manual.py)

Letters are read leniently: case, spaces, commas, semicolons, `and`, brackets and a
trailing full stop do not matter ("a, c", "A C", "[A; C]", "A and C."). Anything else
is refused with a message naming it. Nothing here evaluates text.
"""
from __future__ import annotations

import re

from grader.problems.core import LETTERS, MCQ, MULTI, ORDER, SHAPE, TEXT, Part, fmt_value

KINDS = (MCQ, MULTI, ORDER, SHAPE, TEXT)
MAX_TEXT = 20_000          # characters of one free-text answer kept for the grader


class ChoiceError(ValueError):
    pass


_SEPARATORS = re.compile(r"(?:\s*(?:,|;|\band\b|&|\s)\s*)+", re.IGNORECASE)


def parse_letters(text: str, n: int) -> list[str]:
    """'a, C' -> ['A', 'C']; refuses letters past the n-th and anything that is not a letter."""
    t = text.strip().rstrip(".").strip()
    if len(t) > 200:
        raise ChoiceError("too long for a list of letters")
    t = t.strip("[](){}").strip()
    if not t:
        raise ChoiceError("no letter given")
    items = [x for x in _SEPARATORS.split(t) if x]
    allowed = LETTERS[:n]
    out = []
    for item in items:
        word = item.strip("().").upper()
        if len(word) != 1 or word not in allowed:
            raise ChoiceError(f"'{item[:20]}' is not one of the letters {allowed[0]} to {allowed[-1]}")
        out.append(word)
    return out


def letters_text(letters) -> str:
    return ", ".join(letters)


_SHAPE = re.compile(r"^[\[(]?\s*(\d{1,6}(?:\s*(?:×|x|X|\*|,|by)\s*\d{1,6})*)\s*,?\s*[\])]?$")


def parse_shape(text: str) -> tuple[int, ...]:
    """'8×16', '8 x 16', '(8, 16)', '[8, 16]', '8 by 16' -> (8, 16)."""
    t = text.strip().rstrip(".").strip()
    for word in ("shape", "=", ":"):
        t = t.replace(word, " ") if word != "shape" else re.sub(r"(?i)^shape\b", " ", t)
    t = t.strip()
    m = _SHAPE.match(t) if len(t) <= 80 else None
    if not m:
        raise ChoiceError("write a shape as whole numbers joined by ×, like 8 × 16")
    return tuple(int(d) for d in re.findall(r"\d+", m.group(1)))


def mark_kind(part: Part, text: str, reveal: bool):
    """A Mark for the answer `text` (not empty) to a part of one of KINDS."""
    from grader.problems.marking import Mark
    top = part.points
    key = (f"; the key is {fmt_value(part.kind, part.answer)}"
           if reveal and part.kind != TEXT else "")
    if part.kind == TEXT:
        return Mark(0.0, top, "graded by your instructor against the rubric")
    try:
        if part.kind == SHAPE:
            got = parse_shape(text)
            if got == tuple(part.answer):
                return Mark(float(top), top, "correct")
            if len(got) != len(part.answer):
                return Mark(0.0, top, f"expected {len(part.answer)} dimensions, got {len(got)}" + key)
            if tuple(reversed(got)) == tuple(part.answer):
                return Mark(0.0, top, "the dimensions are in the wrong order (transposed?)" + key)
            return Mark(0.0, top, "not the right shape" + key)
        letters = parse_letters(text, len(part.options))
    except ChoiceError as exc:
        return Mark(0.0, top, f"could not read the answer: {exc}")
    want = [x.strip() for x in str(part.answer).split(",")]
    if part.kind == MCQ:
        if len(letters) != 1:
            return Mark(0.0, top, "give exactly one letter")
        ok = letters == want
        return Mark(float(top) if ok else 0.0, top, "correct" if ok else "not the right option" + key)
    if len(set(letters)) != len(letters):
        return Mark(0.0, top, "a letter is given twice")
    if part.kind == MULTI:
        right = len(set(letters) & set(want))
        wrong = len(set(letters) - set(want))
        score = round(top * max(0, right - wrong) / len(want), 4)
        if right == len(want) and not wrong:
            return Mark(float(top), top, "correct")
        missed = len(want) - right
        return Mark(float(score), top, f"{right} right pick{'s' * (right != 1)}, {wrong} wrong "
                    f"pick{'s' * (wrong != 1)}, {missed} missed (each wrong pick cancels a right one)" + key)
    # ORDER
    if sorted(letters) != sorted(want):
        return Mark(0.0, top, f"give each of the {len(want)} letters exactly once")
    pos = {x: i for i, x in enumerate(letters)}
    kept = sum(1 for a, b in zip(want, want[1:]) if pos[b] == pos[a] + 1)
    if kept == len(want) - 1:
        return Mark(float(top), top, "correct")
    return Mark(round(top * kept / (len(want) - 1), 4), top,
                f"{kept} of {len(want) - 1} neighbouring pairs in the right order" + key)
