"""Finding answers files and matching them to roster students, before anyone is graded.

Which student a file belongs to: its `student_id = ...` line; when a file cannot be
read, its name (`s001.txt`, or the folder `s001/`). Every answers file's `variant` line
is compared with the variant the secret and assignment give its student
(check_variants): most files mismatching means a wrong secret (WrongSecret).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from grader.problems import build_set
from grader.problems.answers import MAX_FILE_BYTES, AnswersError, AnswersFile, read_answers
from grader.problems.roster import Student


class WrongSecret(ValueError):
    """Most answers files name other variants than the secret and assignment give."""


@lru_cache(maxsize=None)
def text_keys() -> frozenset[str]:
    """The keys of the free-text parts (graded by a person; read as text, see answers.py)."""
    return frozenset(i.answer_key(p) for i in build_set(None) for p in i.parts if p.manual)


@lru_cache(maxsize=None)
def answer_keys() -> frozenset[str]:
    """The answer keys of a set (the same for every variant: names never depend on numbers)."""
    return frozenset(i.answer_key(p) for i in build_set(None) for p in i.parts)



def _owner_from_name(path: Path, ids: set[str]) -> str | None:
    for guess in (path.stem, path.parent.name):
        if guess in ids:
            return guess
    return None


def _visible_files(answers_dir: Path) -> list[Path]:
    return sorted(p for p in answers_dir.rglob("*")
                  if p.is_file() and not any(part.startswith(".")
                                             for part in p.relative_to(answers_dir).parts))


def collect(answers_dir: Path, students: list[Student], keys=None
            ) -> tuple[dict, list[str]]:
    """Every roster student's files, and the errors about files that match nobody.

    Returns (found: id -> [(path, AnswersFile | AnswersError)], errors)."""
    keys = answer_keys() if keys is None else keys
    ids = {s.student_id for s in students}
    found: dict[str, list[tuple[Path, AnswersFile | AnswersError]]] = {}
    errors: list[str] = []
    for path in _visible_files(answers_dir):
        if path.suffix.lower() != ".txt":
            owner = _owner_from_name(path, ids)
            whose = f" (its name matches roster student {owner})" if owner else ""
            errors.append(f"{path}: not an answers file (answers files end in .txt){whose}; "
                          "not graded: rename it to .txt if it is one")
            continue
        try:
            parsed: AnswersFile | AnswersError = read_answers(path, keys, text_keys())
            owner = parsed.student_id
        except AnswersError as exc:
            parsed = exc
            owner = exc.student_id if exc.student_id in ids else _owner_from_name(path, ids)
            if owner is None:
                errors.append(f"{path}: cannot be read, and no roster student is named in it "
                              "or by its name:\n    "
                              + "\n    ".join([*exc.problems, *exc.warnings]))
                continue
        if owner not in ids:
            errors.append(f"{path}: student_id {owner[:64]!r} is not on the roster; "
                          "the file was not graded")
            continue
        found.setdefault(owner, []).append((path, parsed))
    return found, errors


def _variant_of(parsed) -> str:
    return parsed.variant if isinstance(parsed, AnswersFile) else getattr(parsed, "variant", "")


def check_variants(found: dict, expected: dict[str, str], assignment: str) -> list[str]:
    """The mismatches, one line each; WrongSecret when most files mismatch."""
    named, wrong = 0, []
    for sid, files in found.items():
        for path, parsed in files:
            v = _variant_of(parsed)
            if not v:
                continue
            named += 1
            if v != expected[sid]:
                wrong.append((path, v, expected[sid], sid))
    if wrong and 2 * len(wrong) > named:
        path, v, e, _ = wrong[0]
        raise WrongSecret(
            f"{len(wrong)} of {named} answers files name another variant than --secret and "
            f"--assignment {assignment!r} give their students (e.g. {path}: variant {v}, "
            f"expected {e}): wrong --secret/--assignment? Nothing was graded.")
    return [f"{sid}: {path} says variant {v}, but with this secret and assignment the "
            f"student's variant is {e}; graded against the student's own set {e}"
            for path, v, e, sid in wrong]


def _file_bytes(path: Path) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(MAX_FILE_BYTES + 1)
    except OSError:
        return b""
