"""The answers file: plain text, one `key = value` line per answer, filled in by hand.

    # comments start with '#'
    student_id = s001
    variant = 3f2a9c01d4e2
    q07.dlogits = [0.12, 0.24, 0.05, -0.41]
    ex2.derivative = 2*x + 3
    ex5.lr4.behaviour = diverges

Rules, which `read_answers` enforces:
    - the file is UTF-8 and at most MAX_FILE_BYTES;
    - every line that is not blank or a comment is `key = value`;
    - a value may continue on the next lines while its brackets are open (a matrix
      written row by row);
    - text after '#' on a line is a comment;
    - no key twice, and a student_id line;
    - an empty value means "not answered".
A file that breaks a rule is rejected with every problem listed as `file:line: what`.

A key that is not in the blank file (a typo such as `q08.row` for `q08.rows`) is not a
reason to reject the file: it is a warning, with the closest known key as a suggestion,
and every known key is graded. Everything is reported in one pass: a rejected file
lists its unknown keys too, so the student fixes the file once.
Values themselves are read later, one by one (parse.py), so one unreadable value costs
only its own points.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

from grader.problems.textfile import utf8_text

MAX_FILE_BYTES = 256 * 1024
MAX_CONTINUATION = 40
KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.]*")
HEADER_KEYS = ("student_id", "variant")


@dataclass
class AnswersFile:
    path: str
    student_id: str
    variant: str
    values: dict[str, tuple[str, int]] = field(default_factory=dict)   # key -> (text, line)
    warnings: list[str] = field(default_factory=list)     # unknown keys: not graded


class AnswersError(ValueError):
    """The file cannot be graded as it is; `problems` lists every place that is wrong,
    `warnings` the unknown keys found in the same pass, and `student_id` and `variant`
    what the file says ("" if nothing), so the report reaches its student."""

    def __init__(self, path: str, problems: list[str], warnings: list[str] | None = None,
                 student_id: str = "", variant: str = ""):
        self.path = path
        self.problems = problems
        self.warnings = list(warnings or [])
        self.student_id = student_id
        self.variant = variant
        super().__init__("\n".join([*problems, *self.warnings]))


def unknown_key_warning(name: str, lineno: int, key: str, known) -> str:
    """'file:line: unknown key 'q08.row', not graded (did you mean 'q08.rows'?)'."""
    close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else " (the blank answers file lists every key)"
    return f"{name}:{lineno}: unknown key {key[:60]!r}, not graded{hint}"


def read_answers(path: str | Path, allowed_keys: set[str] | None = None,
                 text_keys: set[str] | frozenset[str] = frozenset()) -> AnswersFile:
    """Read and validate an answers file. Keys outside `allowed_keys` become warnings;
    `allowed_keys=None` skips that check."""
    path = Path(path)
    name = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise AnswersError(name, [f"{name}: the file is {size:,} bytes; answers files are "
                                      f"limited to {MAX_FILE_BYTES:,}"])
        data = path.read_bytes()
    except OSError as exc:
        raise AnswersError(name, [f"{name}: cannot read: {exc.strerror or exc}"]) from None
    try:
        text = utf8_text(data, name)
    except ValueError as exc:
        raise AnswersError(name, [f"{exc}; save the file as UTF-8 text"]) from None
    if "\x00" in text:
        raise AnswersError(name, [f"{name}: contains NUL bytes: this is not a text file"])
    return parse_answers(text, name, allowed_keys, text_keys)


def _text_value(first: str, lines: list[str], i: int, known) -> tuple[str, int]:
    """A free-text answer (issue 13): the rest of its line and every following line up to
    a comment line (starting with #) or the next `key =` line; '#' and brackets inside
    are text. Returns (value, index of the next line)."""
    out = [first.strip()]
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith("#"):
            break
        head = line.split("=", 1)[0].strip() if "=" in line else ""
        if head and KEY.fullmatch(head) and (head in HEADER_KEYS or known is None or head in known):
            break
        out.append(line.rstrip())
        i += 1
    return "\n".join(out).strip(), i


def parse_answers(text: str, name: str, allowed_keys: set[str] | None = None,
                  text_keys: set[str] | frozenset[str] = frozenset()) -> AnswersFile:
    problems: list[str] = []
    warnings: list[str] = []
    entries: dict[str, tuple[str, int]] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        lineno, raw = i + 1, _strip_comment(lines[i])
        i += 1
        if not raw.strip():
            continue
        if "=" not in raw:
            problems.append(f"{name}:{lineno}: expected 'key = value', got {raw.strip()[:60]!r}")
            continue
        key, value = (s.strip() for s in raw.split("=", 1))
        if key in text_keys:
            value, i = _text_value(lines[i - 1].split("=", 1)[1], lines, i, allowed_keys)
            if key in entries:
                problems.append(f"{name}:{lineno}: {key} is given twice (first on line "
                                f"{entries[key][1]})")
            else:
                entries[key] = (value, lineno)
            continue
        # A value with open brackets continues on the following lines.
        extra = 0
        while _open_brackets(value) > 0 and i < len(lines) and extra < MAX_CONTINUATION:
            value += " " + _strip_comment(lines[i]).strip()
            i += 1
            extra += 1
        if _open_brackets(value) > 0:
            problems.append(f"{name}:{lineno}: {key}: a bracket is opened and never closed")
        if not KEY.fullmatch(key):
            problems.append(f"{name}:{lineno}: {key[:60]!r} is not a valid key")
            continue
        if key in entries:
            problems.append(f"{name}:{lineno}: {key} is given twice (first on line "
                            f"{entries[key][1]})")
            continue
        if allowed_keys is not None and key not in allowed_keys and key not in HEADER_KEYS:
            warnings.append(unknown_key_warning(name, lineno, key,
                                                {*allowed_keys, *HEADER_KEYS}))
            continue
        entries[key] = (value, lineno)
    student = entries.pop("student_id", ("", 0))[0]
    variant = entries.pop("variant", ("", 0))[0]
    if not student:
        problems.append(f"{name}: no 'student_id = ...' line")
    if problems:
        raise AnswersError(name, problems, warnings, student, variant)
    return AnswersFile(name, student, variant, entries, warnings)


def _strip_comment(line: str) -> str:
    return line.split("#", 1)[0]


def _open_brackets(text: str) -> int:
    return text.count("[") + text.count("(") - text.count("]") - text.count(")")
