"""Per-student variants: a secret-keyed seed, and dice that roll the same on every machine.

    seed    = HMAC-SHA256(key = course secret, msg = assignment, student id)    32 bytes
    variant = seed.hex()[:12]                                                    shown to the student

A student always gets the same seed, and nobody can compute another student's seed
without the secret (HMAC is a pseudorandom function of the message under the key).

The dice do not use `random` or NumPy: their outputs are defined by SHA-256 alone, so
a variant is byte-for-byte the same on every machine, Python version and platform.
Each problem rolls its own dice, seeded with (student seed, problem key), so adding a
problem to the bank never changes the numbers of the others.

Variant 0 is not derived from any seed: it is the seed document's own numbers, kept by
each problem's `seed_params()`.
"""
from __future__ import annotations

import hashlib
import hmac
from fractions import Fraction
from functools import lru_cache
from typing import Sequence, TypeVar

import sympy as sp

T = TypeVar("T")

VARIANT0 = "0"


@lru_cache(maxsize=None)
def _scaled_bounds(lo: str, hi: str, places: int) -> tuple[int, int, int]:
    """("-0.5", "2", 1) -> (-5, 20, 10): the bounds as integers in units of 10^-places."""
    scale = 10**places
    a, b = Fraction(lo) * scale, Fraction(hi) * scale
    if a.denominator != 1 or b.denominator != 1:
        raise ValueError(f"Dice.decimal: bounds {lo}, {hi} have more than {places} decimals")
    return int(a), int(b), scale


def _field(text: str) -> bytes:
    """Length-prefixed UTF-8, so ("ab", "c") and ("a", "bc") give different messages."""
    data = text.encode("utf-8")
    return len(data).to_bytes(4, "big") + data


def student_seed(secret: str | bytes, assignment: str, student_id: str) -> bytes:
    """HMAC-SHA256(secret, assignment ‖ student_id): the 32-byte seed of one student's set."""
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    if not secret:
        raise ValueError("student_seed: the course secret is empty")
    return hmac.new(secret, _field(assignment) + _field(student_id), hashlib.sha256).digest()


def variant_id(seed: bytes) -> str:
    """The short name of a variant, printed on the set and in the answers file."""
    return seed.hex()[:12]


class Dice:
    """Deterministic random choices: SHA-256 of (seed, counter), read as 64-bit integers."""

    def __init__(self, seed: bytes, label: str = ""):
        self._seed = hashlib.sha256(seed + b"/" + label.encode("utf-8")).digest()
        self._counter = 0

    def _u64(self) -> int:
        block = hashlib.sha256(self._seed + self._counter.to_bytes(8, "big")).digest()
        self._counter += 1
        return int.from_bytes(block[:8], "big")

    def below(self, n: int) -> int:
        """A uniform integer in 0..n-1 (rejection sampling, so there is no modulo bias)."""
        if n <= 0:
            raise ValueError(f"Dice.below: n must be positive, got {n}")
        limit = (1 << 64) // n * n
        while True:
            x = self._u64()
            if x < limit:
                return x % n

    def integer(self, lo: int, hi: int) -> int:
        """A uniform integer in lo..hi, both ends included."""
        return lo + self.below(hi - lo + 1)

    def choice(self, seq: Sequence[T]) -> T:
        return seq[self.below(len(seq))]

    def sample(self, seq: Sequence[T], k: int) -> list[T]:
        """k distinct items in the order drawn (a partial Fisher-Yates shuffle)."""
        pool = list(seq)
        for i in range(k):
            j = i + self.below(len(pool) - i)
            pool[i], pool[j] = pool[j], pool[i]
        return pool[:k]

    def shuffle(self, seq: Sequence[T]) -> list[T]:
        return self.sample(seq, len(seq))

    def decimal(self, lo, hi, places: int, nonzero: bool = False) -> sp.Rational:
        """A number in [lo, hi] with `places` decimals, exact (a sympy Rational).

        lo and hi are given as strings or numbers that are exact in decimal ("-0.5", 3).
        """
        a, b, scale = _scaled_bounds(str(lo), str(hi), places)
        while True:
            n = self.integer(a, b)
            if n or not nonzero:
                return sp.Rational(n, scale)

    def sign(self) -> int:
        return 1 if self.below(2) else -1
