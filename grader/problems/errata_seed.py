"""The seed text and the rules for when one of its printed numbers agrees with an exact
value (see errata.py for the rules in words)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import sympy as sp

from grader.problems.core import R

REPO = Path(__file__).resolve().parents[2]
SEED = REPO / "docs" / "seed" / "stage10_backpropagation.md"
APPROX = sp.Rational(1, 10)
NUMBER = r"-?\d[\d,]*(?:\.\d+)?(?:e-?\d+)?"


@dataclass
class Finding:
    title: str
    lines: list[int]
    quote: str
    seed: str
    exact: str
    agrees: bool
    why: str = ""


class Seed:
    """The seed text, with lookups that fail loudly when a passage has moved."""

    def __init__(self, path: Path):
        self.path = path
        self.text = path.read_text(encoding="utf-8")
        self.lines = self.text.split("\n")

    def find(self, needle: str, after: int = 0) -> tuple[int, str]:
        """(line number, line) of the first line at or after `after` containing needle."""
        for i in range(max(after - 1, 0), len(self.lines)):
            if needle in self.lines[i]:
                return i + 1, self.lines[i]
        raise LookupError(f"{self.path}: the passage {needle!r} is not in the seed any more")

    def find_all(self, needle: str) -> list[int]:
        return [i + 1 for i, line in enumerate(self.lines) if needle in line]

    def numbers(self, line: str) -> list[str]:
        return re.findall(NUMBER, line)


def num(text: str) -> sp.Rational:
    return R(text.replace(",", ""))


def places_of(printed: str) -> int:
    return len(printed.split(".")[1]) if "." in printed else 0


def ulps_away(printed: str, exact):
    """|printed - exact| in units of the printed number's last decimal."""
    return abs(num(printed) - exact) * 10 ** places_of(printed)


def printed_agrees(printed: str, exact) -> bool:
    """The printed number is a correct rounding of `exact` to its own number of decimals:
    at most half a unit of its last decimal away (so at an exact tie, both neighbours)."""
    return bool(2 * ulps_away(printed, exact) <= 1)


def approx_agrees(claimed, exact) -> bool:
    return abs(claimed - exact) <= APPROX * abs(exact)


def thousands(n) -> str:
    return f"{int(n):,}"


def sci(x, digits: int = 4) -> str:
    """4.825 × 10^12: mantissa and exponent from exact integer arithmetic."""
    x = sp.Rational(x)
    exp = len(str(abs(int(x)))) - 1 if abs(x) >= 1 else 0
    mantissa = sp.N(x / sp.Integer(10) ** exp, digits)
    return f"{mantissa} × 10^{exp}"


def round_to(exact, printed: str) -> str:
    """The nearest number with as many decimals as `printed` (for the text; at a tie, the
    one away from zero, though printed_agrees accepts both)."""
    places = places_of(printed)
    units = str(int(sp.floor(abs(exact) * 10**places + sp.Rational(1, 2)))).rjust(places + 1, "0")
    text = units[:-places] + "." + units[-places:] if places else units
    return ("-" if exact < 0 else "") + text
