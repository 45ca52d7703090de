"""Exact numbers, printed the same on every machine: a terminating decimal exactly, any
other rational as p/q, irrational values to a fixed number of significant digits (mpmath).
The statement, the key, its CSV and the grader's messages all print through here.
"""
from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

import sympy as sp

from grader.problems.kinds import CHOICE, EXACT_KINDS, EXPRESSION, MATRIX, MCQ, MULTI, NUMBER, ORDER, SHAPE, TEXT, VECTOR


PRECISION = 50


@lru_cache(maxsize=4096)
def numeric(x: sp.Basic) -> sp.Float:
    """x evaluated to 50 significant digits (mpmath: the same digits on every machine).

    Cached, because the keys of Exercise 4 nest square roots and are evaluated more
    than once (by the check, the key file and the grader).
    """
    return sp.N(x, PRECISION)


# ------------------------------------------------------------------------- formatting
def as_sym(x) -> sp.Basic:
    """A sympy number from one of our own values (an int or a sympy object).

    Strings are refused on purpose: text is never handed to sympy (see parse.py).
    """
    if isinstance(x, sp.Basic):
        return x
    if isinstance(x, int) and not isinstance(x, bool):
        return sp.Integer(x)
    if isinstance(x, Fraction):
        return sp.Rational(x.numerator, x.denominator)
    raise TypeError(f"as_sym: expected an int or a sympy value, got {type(x).__name__}")


def R(text: str | int) -> sp.Rational:
    """An exact number from its decimal spelling: R("0.5") == 1/2, R("1e-5") == 1/100000."""
    f = Fraction(str(text))
    return sp.Rational(f.numerator, f.denominator)


def _terminating(q: sp.Rational) -> int | None:
    """The number of decimals of q if q is a terminating decimal, else None."""
    d, twos, fives = int(q.q), 0, 0
    while d % 2 == 0:
        d //= 2
        twos += 1
    while d % 5 == 0:
        d //= 5
        fives += 1
    return max(twos, fives) if d == 1 else None


def decimals(x) -> int | None:
    """How many decimals the exact number x needs, or None if it does not terminate."""
    x = as_sym(x)
    return _terminating(x) if x.is_Rational else None


def fmt(x) -> str:
    """An exact number as text: '-0.025', '3', '1/3'; an irrational one to 12 digits.

    Integers get no separators; decimals never use exponent notation, so 1e-5 prints as
    '0.00001'. Everything is integer arithmetic: the same text on every machine.
    """
    x = as_sym(x)
    if not x.is_Rational:
        return fmt_approx(x, 12)
    p, q = int(x.p), int(x.q)
    if q == 1:
        return str(p)
    places = _terminating(x)
    if places is None:
        return f"{p}/{q}"
    digits = str(abs(p) * 10**places // q).rjust(places + 1, "0")
    return ("-" if p < 0 else "") + digits[:-places] + "." + digits[-places:]


def fmt_approx(x, sig: int = 12) -> str:
    """An irrational value rounded to `sig` significant digits (mpmath, deterministic)."""
    return _fmt_approx(as_sym(x), sig)


@lru_cache(maxsize=4096)
def _fmt_approx(x: sp.Basic, sig: int) -> str:
    # Cached by the exact value: the statement, the key and its CSV print the same
    # nested roots (Exercise 4) several times, at about 2 ms each.
    return sp.sstr(sp.N(numeric(x), sig), full_prec=False)


def fmt_exact(x) -> str:
    """The exact value as sympy prints it: '-1/40', 'sqrt(2)/2 + 1/10'."""
    x = as_sym(x)
    if x.is_Integer:
        return str(int(x))
    if x.is_Rational:
        return f"{int(x.p)}/{int(x.q)}"
    return _sstr_exact(x)


@lru_cache(maxsize=4096)
def _sstr_exact(x: sp.Basic) -> str:
    # order="none" prints the arguments in sympy's canonical internal order, which does
    # not depend on hashing, and skips a costly re-sort of every sum. Cached by the
    # exact value (about 2 ms a call for Exercise 4's nested roots).
    return sp.sstr(x, order="none")


def fmt_vec(xs) -> str:
    return "[" + ", ".join(fmt(x) for x in xs) + "]"


def fmt_mat(rows) -> str:
    return "[" + ", ".join(fmt_vec(r) for r in rows) + "]"


def fmt_value(kind: str, value) -> str:
    """A key in the notation students write answers in."""
    if kind == VECTOR:
        return fmt_vec(value)
    if kind == MATRIX:
        return fmt_mat(value)
    if kind in (CHOICE, MCQ, MULTI, ORDER, TEXT):
        return str(value)
    if kind == SHAPE:
        return " × ".join(str(int(d)) for d in value)
    if kind == EXPRESSION:
        return sp.sstr(value).replace("**", "^")
    return fmt(value)


def rational_digits(q: sp.Rational, sig: int = 30) -> str:
    """A rational as a decimal: exactly when it terminates, else rounded (half-even) to
    `sig` significant digits, '0.0333333333333333333333333333333' for 1/30. Integer
    arithmetic only; exponent notation only when the integer part alone has more than
    `sig` digits."""
    if _terminating(q) is not None:
        return fmt(q)
    p, d = abs(int(q.p)), int(q.q)
    sign = "-" if q < 0 else ""
    e = len(str(p)) - len(str(d))          # 10^e <= p/d < 10^(e+1), after the fix-up
    if (p * 10 ** max(-e, 0)) < d * 10 ** max(e, 0):
        e -= 1
    shift = sig - 1 - e
    num, den = (p * 10**shift, d) if shift >= 0 else (p, d * 10**-shift)
    digits, rest = divmod(num, den)
    if 2 * rest > den or (2 * rest == den and digits % 2):
        digits += 1
    if digits == 10**sig:                  # 9.99… rounded up to 10.0…
        digits //= 10
        e += 1
    text = str(digits)
    if e >= sig:
        return f"{sign}{text[0]}.{text[1:]}e{e}"
    if e >= 0:
        return f"{sign}{text[:e + 1]}.{text[e + 1:]}"
    return f"{sign}0.{'0' * (-e - 1)}{text}"


def decimal30(value, kind: str = NUMBER) -> str:
    """The key to 30 significant digits: terminating decimals exactly, other rationals
    and irrational values rounded to 30 significant digits."""
    def one(x):
        x = as_sym(x)
        return rational_digits(x, 30) if x.is_Rational else str(sp.N(numeric(x), 30))
    if kind == VECTOR:
        return "[" + ", ".join(one(x) for x in value) + "]"
    if kind == MATRIX:
        return "[" + ", ".join("[" + ", ".join(one(x) for x in r) + "]" for r in value) + "]"
    if kind in EXACT_KINDS or kind == TEXT:
        return fmt_value(kind, value)
    return one(value)
