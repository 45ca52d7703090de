"""Mark one answer against its exact key: tolerance, partial credit and a diagnosis.

Tolerance (per part, see core.Tolerance and docs/problem-sets.md): an entry is right when

    |yours − key| <= max(abs, rel · |key|)

computed exactly for rational keys and at 60 digits for irrational ones.

Partial credit: a part is worth `points`; a vector or matrix earns points × (entries
right) / (entries). A wrong shape earns 0. Expressions of an exact part are right only
when they equal the key as polynomials (expand(yours − key) == 0); other expression parts
when they agree within the part's tolerance at each of SAMPLE_POINTS. Words (CHOICE) are
compared case-insensitively, punctuation and inflections ignored (match_choice).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import sympy as sp

from grader.problems import choices
from grader.problems.core import (CHOICE, EXPRESSION, INTEGER, MATRIX, VECTOR, Part,
                                  fmt_value, numeric)
from grader.problems.parse import Parsed, ParseError, parse_answer

# Points where expressions that expand() cannot decide (exp, log, sqrt) are compared.
SAMPLE_POINTS = (sp.Rational(-7, 3), sp.Rational(-1, 2), sp.Rational(1, 3), sp.Rational(6, 5),
                 sp.Rational(11, 4))


@dataclass
class Mark:
    score: float
    max_score: int
    diagnosis: str

    @property
    def passed(self) -> bool:
        return self.score >= self.max_score


def mark(part: Part, text: str | None, reveal: bool = False) -> Mark:
    """Mark the answer `text` (None or "" when unanswered) to `part`."""
    if text is None or not text.strip():
        return Mark(0.0, part.points, "no answer given")
    if part.kind == CHOICE:
        return _mark_choice(part, text, reveal)
    if part.kind in choices.KINDS:
        return choices.mark_kind(part, text, reveal)
    try:
        parsed = parse_answer(text, part.symbols if part.kind == EXPRESSION else (),
                              getattr(part, "unit", ""))
    except ParseError as exc:
        return Mark(0.0, part.points, f"could not read the answer: {exc}")
    if part.kind == EXPRESSION:
        return _mark_expression(part, parsed, reveal)
    return _mark_numbers(part, parsed, reveal)


# --------------------------------------------------------------------------- words
# Words that may surround the answer word without changing it ("it converges.").
FILLER = {"it", "the", "run", "w", "a", "an", "is", "will", "would", "gradient", "descent",
          "answer", "layer", "at", "this", "rate", "then"}
NEGATIONS = {"not", "no", "never", "doesn't", "doesnt", "don't", "dont", "won't", "cannot",
             "neither", "nor"}
SUFFIXES = ("ations", "ation", "ings", "ing", "ences", "ence", "ates", "ate", "at", "es", "ed",
            "s", "e", "d")
MAX_EXTRA_WORDS = 3


def normalize_word(text: str) -> str:
    text = text.strip().strip("'\"`").strip().lower()
    for prefix in ("∂loss/∂", "dloss/d", "d loss / d"):
        if text.startswith(prefix):
            text = text[len(prefix):]
    return text.strip()


def _words(text: str) -> list[str]:
    """Lower-case words, punctuation dropped: 'It converges.' -> ['it', 'converges']."""
    text = normalize_word(text[:200])
    return [w for w in (w.strip("'") for w in re.split(r"[^\w'∂/₀-₉]+", text)) if w]


def stem(word: str) -> str:
    """One stem for a word's obvious inflections: converges, converge, converged,
    converging -> converg; oscillates, oscillation -> oscill."""
    changed = True
    while changed:
        changed = False
        for suffix in SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= 4:
                word, changed = word[:-len(suffix)], True
                break
    return word


def match_choice(text: str, choices) -> tuple[str | None, str]:
    """The choice an answer names, or (None, why not): exact words first (any case,
    punctuation ignored), then one word whose stem is a choice's stem among filler
    words and at most MAX_EXTRA_WORDS others ('it converges.', 'converge', 'Diverged!',
    'it oscillates forever'); an answer naming two choices, or negated, is not read."""
    words = _words(text)
    squash = lambda t: "".join(_words(t.replace("_", " ").replace("-", " ")))  # noqa: E731
    by_words = {squash(c): c for c in choices}
    if squash(text) in by_words:
        return by_words[squash(text)], ""
    if NEGATIONS & set(words):
        return None, "a negated answer cannot be read: write the word that applies"
    content = [w for w in words if w not in FILLER]
    stems: dict[str, str | None] = {}
    for c in choices:
        cw = _words(c)
        if len(cw) == 1:                 # two choices with one stem: exact words only
            stems[stem(cw[0])] = None if stem(cw[0]) in stems else c
    stems = {k: c for k, c in stems.items() if c is not None}
    found = {stems[stem(w)] for w in content if stem(w) in stems}
    if len(found) == 1 and len(content) <= 1 + MAX_EXTRA_WORDS:
        return found.pop(), ""
    if len(found) > 1:
        return None, "names more than one of: " + ", ".join(choices)
    return None, "is not one of: " + ", ".join(choices)


def _mark_choice(part: Part, text: str, reveal: bool) -> Mark:
    choice, why = match_choice(text, part.choices)
    if choice is None:
        return Mark(0.0, part.points, f"'{text.strip()[:40]}' {why}")
    if choice == part.answer:
        return Mark(float(part.points), part.points, "correct")
    return Mark(0.0, part.points, "not the right choice"
                + (f"; the key is {part.answer}" if reveal else ""))


# ---------------------------------------------------------------------- expressions
def _mark_expression(part: Part, parsed: Parsed, reveal: bool) -> Mark:
    """Exact parts (the statement says "exact"): equal as polynomials with rational
    coefficients, nothing else; both sides are already multiplied out, so the difference
    is a sum of a few terms. Other parts: equal within the part's tolerance at every one
    of SAMPLE_POINTS (the statement states both)."""
    if parsed.shape != ():
        return Mark(0.0, part.points, "expected one expression, got a vector or matrix")
    yours, key = parsed.value, part.answer
    equal = sp.expand(yours - key) == 0
    if not equal and not is_exact(part.tol):
        names = [sp.Symbol(s) for s in part.symbols]
        equal = all(_close(_at(yours, names, t), _at(key, names, t), part)
                    for t in SAMPLE_POINTS)
    if equal:
        return Mark(float(part.points), part.points, "correct")
    how = "exactly equal to" if is_exact(part.tol) else "within the tolerance of"
    return Mark(0.0, part.points, f"not {how} the key as a function of "
                + ", ".join(part.symbols)
                + (f"; the key is {fmt_value(EXPRESSION, key)}" if reveal else ""))


def is_exact(tol) -> bool:
    return tol.rel == 0 and tol.abs == 0


def _at(expr, names, t):
    return expr.xreplace({n: t for n in names})


# ----------------------------------------------------------------------- numbers
def _close(yours, key, part: Part) -> bool:
    if yours.free_symbols or key.free_symbols:
        return False
    if yours.is_Rational and key.is_Rational:
        diff, size = abs(yours - key), abs(key)
    else:
        y, k = numeric(yours), numeric(key)
        if not (y.is_finite and k.is_finite) or y.is_real is False:
            return False
        diff, size = abs(y - k), abs(k)
    return bool(diff <= max(part.tol.abs, part.tol.rel * size))


def _expected_shape(part: Part) -> tuple[int, ...]:
    if part.kind == VECTOR:
        return (len(part.answer),)
    if part.kind == MATRIX:
        return (len(part.answer), len(part.answer[0]))
    return ()


def _flatten(value, shape):
    if shape == ():
        return [value]
    if len(shape) == 1:
        return list(value)
    return [x for row in value for x in row]


def _reshape(parsed: Parsed, want: tuple[int, ...]) -> list | None:
    """The entries in key order if the shapes fit (leniently), else None.

    A single number may be written [x]; a vector may be written as a one-row or
    one-column matrix; an n×1 or 1×n matrix may be written as a vector.
    """
    have = parsed.shape
    flat = _flatten(parsed.value, have)
    if have == want:
        return flat
    n_want = 1
    for d in want:
        n_want *= d
    def is_line(shape):
        return len(shape) <= 1 or 1 in shape
    if len(flat) == n_want and is_line(have) and is_line(want):
        return flat
    return None


def _shape_text(shape) -> str:
    if shape == ():
        return "a single number"
    if len(shape) == 1:
        return f"a vector of {shape[0]} numbers"
    return f"a {shape[0]}×{shape[1]} matrix"


def _mark_numbers(part: Part, parsed: Parsed, reveal: bool) -> Mark:
    want = _expected_shape(part)
    entries = _reshape(parsed, want)
    if entries is None:
        return Mark(0.0, part.points, f"expected {_shape_text(want)}, got "
                    f"{_shape_text(parsed.shape)}")
    keys = _flatten(part.answer, want)
    if part.kind == INTEGER and not all(e.is_Integer for e in entries):
        return Mark(0.0, part.points, "expected a whole number")
    ok = [_close(y, k, part) for y, k in zip(entries, keys)]
    right = sum(ok)
    score = round(part.points * right / len(keys), 4)
    if right == len(keys):
        return Mark(float(part.points), part.points, "correct")
    notes = []
    if len(keys) > 1:
        wrong = [str(i + 1) for i, good in enumerate(ok) if not good]
        notes.append(f"{right} of {len(keys)} entries within tolerance; "
                     f"not within it: entr{'y' if len(wrong) == 1 else 'ies'} "
                     + ", ".join(wrong) + " (counting from 1)")
    else:
        notes.append("not within tolerance")
    notes += _hints(part, entries, keys, ok, want)
    if reveal:
        notes.append(f"the key is {fmt_value(part.kind, part.answer)}")
    return Mark(float(score), part.points, "; ".join(notes))


def _hints(part: Part, entries, keys, ok, want) -> list[str]:
    """Common slips that can be named without giving the key away."""
    hints = []
    wrong = [(y, k) for y, k, good in zip(entries, keys, ok) if not good]
    if wrong and all(k != 0 and _close(-y, k, part) for y, k in wrong):
        hints.append("the sign is flipped")
    elif wrong and all(k != 0 and y != 0 for y, k in wrong):
        ratios = set()
        for y, k in wrong:
            r = numeric(y / k) if not (y / k).is_Rational else y / k
            ratios.add(int(sp.floor(sp.log(abs(r), 10) + sp.Rational(1, 2))) if r != 0 else None)
        if len(ratios) == 1:
            p = ratios.pop()
            if p not in (None, 0) and all(_close(y / sp.Integer(10) ** p, k, part) for y, k in wrong):
                hints.append(f"off by a factor of 10^{p} (a misplaced decimal point?)")
    if part.kind == MATRIX and want[0] == want[1] and want[0] > 1:
        r = want[0]
        transposed = [entries[j * r + i] for i in range(r) for j in range(r)]
        if all(_close(y, k, part) for y, k in zip(transposed, keys)):
            hints.append("the matrix is transposed (rows and columns swapped)")
    return hints
