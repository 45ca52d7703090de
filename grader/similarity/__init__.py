"""Which submissions look alike (issue 14): `tt similarity SUBMISSIONS_DIR`, and a section
of the class report.

    found = find_similar("submissions/", threshold=0.6, jobs=2)
    write_pages(found, "similarity/")         index.html, pair-NNNN.html, similarity.csv

Submissions are read as text only (grader.similarity.sources: the intake's rules, any
encoding) and compared exercise by exercise with copydetect's winnowing fingerprints, the
release's stubs removed as boilerplate (grader.similarity.detect). Nothing is run. A score is
a reason to look, not a verdict: docs/similarity.md.
"""
from grader.similarity.detect import (COMMON, DEFAULT_THRESHOLD, ExerciseMatch, Pair, Similarity,
                                      compare_class, find_similar)
from grader.similarity.pages import LIMITS, write_pages

__all__ = ["COMMON", "DEFAULT_THRESHOLD", "ExerciseMatch", "LIMITS", "Pair", "Similarity", "compare_class",
           "find_similar", "write_pages"]
