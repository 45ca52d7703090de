"""What a generated set or a grade depends on, as one hash: a re-run redoes a student
exactly when something that shapes their files has changed.

    set_inputs(student, variant, assignment)      generate: the name on the set, the
                                                  variant, the bank's code and templates
    grade_inputs(...)                             grade: the answers files' bytes, the
                                                  variant, the options, the grader's code

"The code" is the bytes of the source files that produce the output (sorted by path)
and the versions of the libraries whose output is written verbatim (sympy prints the
keys, jinja2 renders, nbformat writes the notebook). Editing a template, a problem or
`tt.config` therefore regenerates every set on the next run, without --force.
"""
from __future__ import annotations

import hashlib
import json
import sys
from functools import lru_cache
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
LIBRARIES = ("sympy", "mpmath", "jinja2", "markupsafe", "nbformat")
# What the bank reads from the tt library (the model's shapes, the tokenizer).
TT_SOURCES = ("tt/config.py", "tt/model.py", "tt/data.py")
# Used only to read and mark answers, or by the command line: not part of a set.
GRADING_ONLY = {"answers.py", "cli.py", "errata.py", "errata_claims.py", "errata_examples.py", "errata_model.py",
                "errata_seed.py", "grading.py", "marking.py", "parse.py", "parse_numbers.py",
                "parse_poly.py"}


def _digest(paths: list[Path], extra: dict) -> str:
    h = hashlib.sha256()
    for path in sorted(set(paths)):
        rel = path.relative_to(REPO).as_posix() if path.is_relative_to(REPO) else path.name
        data = path.read_bytes()
        h.update(f"{rel}\0{len(data)}\0".encode())
        h.update(data)
    h.update(json.dumps(extra, sort_keys=True).encode())
    return h.hexdigest()


def _versions() -> dict:
    out = {"python": f"{sys.version_info.major}.{sys.version_info.minor}"}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = ""
    return out


@lru_cache(maxsize=None)
def bank_version() -> str:
    """The hash of everything that shapes a generated set: the bank's modules (not the
    grading-only ones), its templates, the tt modules it reads and library versions."""
    paths = [p for p in HERE.glob("*.py")
             if p.name not in GRADING_ONLY and not p.name.startswith("grading")]
    paths += [p for p in (HERE / "templates").rglob("*") if p.is_file()]
    paths += [REPO / t for t in TT_SOURCES if (REPO / t).is_file()]
    return _digest(paths, _versions())


@lru_cache(maxsize=None)
def grader_version() -> str:
    """The hash of everything that shapes a grade: all of grader/problems, the report
    formats shared with the code grader, and what bank_version covers."""
    paths = [p for p in HERE.glob("*.py")]
    paths += [p for p in (HERE / "templates").rglob("*") if p.is_file()]
    paths += [REPO / "grader" / "report.py"]
    paths += [p for p in (REPO / "grader" / "templates").rglob("*") if p.is_file()]
    paths += [REPO / t for t in TT_SOURCES if (REPO / t).is_file()]
    return _digest([p for p in paths if p.is_file()], _versions())


def _hash(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode("utf-8")).hexdigest()


def set_inputs(student, variant: str, assignment: str) -> str:
    """The hash of one student's set inputs (the secret enters only through the variant,
    so nothing secret is stored)."""
    return _hash({"student_id": student.student_id, "name": student.name,
                  "assignment": assignment, "variant": variant, "bank": bank_version()})


def grade_inputs(student, variant_seed: bytes | None, assignment: str, files: list[tuple[str, bytes]],
                 options: dict) -> str:
    """The hash of what one student's grade depends on: their answers files (path and
    bytes), their variant (through a hash of its seed), the options and the grader."""
    return _hash({"student_id": student.student_id, "name": student.name,
                  "email": student.email, "assignment": assignment,
                  "seed": hashlib.sha256(variant_seed).hexdigest() if variant_seed else "0",
                  "files": [[p, hashlib.sha256(b).hexdigest()] for p, b in files],
                  "options": options, "grader": grader_version()})
