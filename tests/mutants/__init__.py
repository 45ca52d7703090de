"""The mutation and equivalence corpus of the hidden suites, one module per range of exercises.

    MUTANTS      one realistic bug each: the hidden tests it must fail, and no others
    EQUIVALENTS  correct code written another way: it must lose nothing

A Mutant is solutions/<file> with the text `old` (one line or a block, which must occur
exactly once) replaced by `new`. `lost` is worked out by reading the bug and the tests,
never by running them; `diagnosis` is a fragment the feedback of the first lost test must
hold. tests/test_grader_mutations.py grades every entry with `tt grade`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = ROOT / "solutions"
TRAINING = tuple(f"ex15 test_training_{name}" for name in (
    "uses_the_given_lr", "carries_adams_state", "uses_the_batch_size", "visits_every_example", "learns",
    "reports_honestly"))
WITHOUT_TRAINING = "not test_training_"
GRADIENTS = "ex15 test_your_gradients_are_the_models"     # the model with all of the student's pieces


@dataclass(frozen=True)
class Mutant:
    name: str
    file: str                 # solutions/<file>
    old: str                  # the text replaced (a line or a block), which must occur exactly once
    new: str
    lost: frozenset = frozenset()   # the hidden tests the change must fail, and no others (none: a correct variant)
    diagnosis: str = ""       # a fragment the feedback of the first lost test must hold

    @property
    def select(self):
        return None if self.file.startswith("ex15") else WITHOUT_TRAINING


def lost(*names):
    return frozenset(names)


def corpus():
    """(MUTANTS, EQUIVALENTS) of every module of the corpus."""
    from mutants import ex01_08, ex01_08_more, ex09_15
    mutants, equivalents = [], []
    for module in (ex01_08, ex01_08_more, ex09_15):
        mutants += module.MUTANTS
        equivalents += module.EQUIVALENTS
    return mutants, equivalents
