"""The text of a class's submissions, and the release's shared boilerplate, read as text.

Nothing here runs or imports student code. A submission is read exactly as grading reads it
(grader/intake.py: a folder or a zip, only the exercise files, each at most 256 KiB, zip
entries never extracted, a notebook taken as its code cells), then decoded as text whatever
its encoding: a byte-order mark says which, else UTF-8, else UTF-8 with the bytes that are
not replaced (so a file in Latin-1 still compares on its ASCII code).

The boilerplate of an exercise is what every student received: the stub file of the student
release (exercises/exNN_*.py: the module docstring, imports, signatures, docstrings and
`raise NotImplementedError`), and the setup cell that the nbgrader notebooks add. Passages
found in it are not evidence of anything and are removed before comparing.
"""
from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from pathlib import Path

MAX_CHARS = 256 * 1024         # characters of one file compared (intake caps the bytes already)


@dataclass
class Submission:
    sid: str
    files: dict[str, str] = field(default_factory=dict)     # exercise file name -> text
    notes: list[str] = field(default_factory=list)
    unreadable: str = ""


def decode(data: bytes) -> str:
    """Text from untrusted bytes in any encoding; newlines normalised, NULs dropped."""
    for bom, codec in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF32_LE, "utf-32"),
                       (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"),
                       (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            text = data.decode(codec, errors="replace")
            break
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("utf-8", errors="replace")
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    return text[:MAX_CHARS]


def read_submissions(folder, progress=None) -> tuple[list[Submission], list[str]]:
    """Every student of a submissions folder (one sub-folder or zip each, as tt grade-all
    takes them), and the entries that are neither."""
    from grader.grade_all import _entries
    from grader.grading import exercise_names
    from grader.intake import IntakeError, read_submission
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder of submissions")
    entries, skipped = _entries(folder)
    names = exercise_names()
    out = []
    for sid, path in entries:
        sub = Submission(sid)
        try:
            intake = read_submission(path, names)
        except IntakeError as exc:
            sub.unreadable = str(exc)
        else:
            sub.files = {name: decode(data) for name, data in sorted(intake.files.items())}
            sub.notes = list(intake.notes)
        out.append(sub)
        if progress is not None:
            progress.update()
    return out, skipped


def boilerplate() -> dict[str, list[str]]:
    """{exercise file name: the texts every student was given for it}."""
    from grader.build import exercise_sources
    from grader.grading import EXERCISES
    try:
        from grader.export.nbgrader import SETUP
        extra = [SETUP]
    except Exception:                # noqa: BLE001  the notebooks' setup is optional boilerplate
        extra = []
    return {p.name: [p.read_text(encoding="utf-8"), *extra] for p in exercise_sources(EXERCISES)}



def without_docstrings(text: str) -> str:
    """The text with every docstring blanked out (its lines kept, empty). Python's parser
    finds them when the text parses (ast.parse builds a tree and runs nothing); otherwise
    pygments' lexer does (String.Doc: a triple-quoted string that starts a line)."""
    import ast
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        from pygments.lexers import PythonLexer
        from pygments.token import String
        return "".join(value if ttype is not String.Doc else "\n" * value.count("\n")
                       for ttype, value in PythonLexer().get_tokens(text))
    lines = text.split("\n")
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body \
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            first, last = body[0].lineno - 1, body[0].end_lineno - 1
            if lines[first][:body[0].col_offset].strip() == "" and lines[last][body[0].end_col_offset:].strip() == "":
                for i in range(first, last + 1):
                    lines[i] = ""
    return "\n".join(lines)


def shared_lines(given: list[str]) -> frozenset[str]:
    """The lines of the release's texts for an exercise, docstrings removed, without spaces."""
    return frozenset(_bare(line) for t in given for line in without_docstrings(t).splitlines() if line.strip())


def _bare(line: str) -> str:
    return "".join(line.split())


# Lines that say where code goes, not what it does: signatures (the release fixes the names,
# and a renamed parameter would cut the k-grams around it) and imports.
STRUCTURE = ("def ", "async def ", "import ", "from ")


def own_code(text: str, shared: frozenset[str]) -> str:
    """The student's own code: the text without docstrings, signatures and imports (STRUCTURE),
    and without the lines of the release's stub (shared_lines: its `raise
    NotImplementedError`, its given code, compared without any spaces, wherever they stand). Removing them from the text before
    fingerprinting, rather than only the stub's fingerprints after, keeps a k-gram that
    straddles the stub and the student's first line from matching another file with the
    same stub before other code; docstrings go first, whole, so that no string is left
    open by a line taken out of its middle."""
    return "\n".join(line for line in without_docstrings(text).splitlines()
                      if line.strip() and _bare(line) not in shared and not line.lstrip().startswith(STRUCTURE))
