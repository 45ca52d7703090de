"""Taking in a submission: a folder or a zip, checked, reduced to the exercise files.

A submission is untrusted. From a folder or a zip we take only files named like the
exercises (exNN_<topic>.py, at the top or in one sub-folder such as exercises/), each
at most MAX_FILE bytes, and copy them into a fresh folder. Everything else is left
behind with a note: conftest.py, pytest.ini, sitecustomize.py, other .py files, files
named like an exercise but of another type (ex04_layernorm.pdf), symlinks, paths with
`..` or absolute paths, oversized or too many entries. The student release's own files
(tests/, tt/, README.md, requirements.txt, __init__.py) and tools' leftovers
(__pycache__, __MACOSX, .ipynb_checkpoints) are left out without a note, so a folder
and its zip give the same notes. Nothing is ever
extracted to a path the zip names; we read entries and write our own file names. Only
entries named like an exercise are decompressed, each at most MAX_FILE bytes however
large the zip says it is, so a zip bomb costs nothing. An entry the zip encrypts (zip -P)
is left out with a note; we never ask for a password.

An exercise file Python cannot read as source text (UTF-16 or UTF-32, NUL bytes, bytes that
are not UTF-8 and no PEP 263 coding line that makes them text) is still graded, as the
student's zero for it, with a note that says why its tests fail (see _encoding_problem).

A notebook named like an exercise (exNN_<topic>.ipynb, as nbgrader collects them) is
taken as that exercise's .py file: its code cells, without the graded test cells (see
_take_notebook). The student's code then runs in the sandbox like any other.
"""
from __future__ import annotations

import codecs
import hashlib
import json
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from exercises.tests.notebook import code_cells
from grader.report import terminal

MAX_FILE = 256 * 1024          # bytes per exercise file
MAX_NOTEBOOK = 8 * 1024 * 1024 # bytes per notebook (outputs, plots included)
MAX_ENTRIES = 500              # entries in a zip, or files in a folder tree
MAX_DEPTH = 3                  # folders below the top that we look into


class IntakeError(ValueError):
    """The submission cannot be read at all (the message says why): the student's 0."""


class NotASubmission(IntakeError):
    """The path is no submission at all (it does not exist, or is neither a folder nor a
    .zip): the command line was wrong, and nothing is graded or written."""


# Files of the student release (tt release) that come back when a student zips the whole
# folder: recognised by their last two path parts and left out without a note.
RELEASE_DIRS = {"tests", "tt", "__pycache__", "__MACOSX", ".ipynb_checkpoints", ".git"}
RELEASE_NAMES = {"README.md", "requirements.txt", "__init__.py"}
_EXERCISE_LIKE = re.compile(r"(ex\d\d)(?:[_.\- ]|$)", re.IGNORECASE)


class _Unreadable(Exception):
    """One entry of a zip cannot be read; the rest of the submission still can."""


class _Encrypted(_Unreadable):
    """The zip encrypts this entry (a password-protected zip): we never ask for a password."""


ENCRYPTED = "the zip encrypts it (a password-protected zip cannot be read; zip it again without a password)"


@dataclass
class Intake:
    files: dict[str, bytes]                  # exercise file name -> its bytes
    notes: list[str] = field(default_factory=list)

    @property
    def digest(self) -> str:
        """sha256 of the accepted files (names and bytes): equal for equal submissions."""
        h = hashlib.sha256()
        for name in sorted(self.files):
            data = self.files[name]
            h.update(f"{name}\0{len(data)}\0".encode())
            h.update(data)
        return h.hexdigest()

    def write(self, folder: Path) -> Path:
        """Copy the accepted files into `folder` (created); return it."""
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in self.files.items():
            (folder / name).write_bytes(data)
        return folder


def read_submission(path, expected_names) -> Intake:
    """The exercise files of a submission folder or zip; `expected_names` are allowed.

    IntakeError, naming the file and the reason, for anything that cannot be read at all
    (a corrupt or truncated zip, an unreadable folder); NotASubmission for a
    path that is none (missing, or neither a folder nor a .zip); an entry that cannot
    be read is left out with a note."""
    try:
        intake = _read_submission(Path(path), expected_names)
    except IntakeError as exc:
        raise type(exc)(terminal(str(exc))) from None
    except Exception as exc:           # noqa: BLE001  whatever the bytes do to the readers
        raise IntakeError(terminal(f"{path}: unreadable ({type(exc).__name__}: {str(exc)[:200]})")) from None
    intake.notes = [terminal(n) for n in intake.notes]    # file names are the student's: no raw ESC
    return intake


def _read_submission(path: Path, expected_names) -> Intake:
    expected = set(expected_names)
    if path.is_symlink():
        raise IntakeError(f"{path}: is a symbolic link; submit a real folder or zip")
    if path.is_dir():
        entries = _folder_entries(path)
    elif path.is_file() and zipfile.is_zipfile(path):
        entries = _zip_entries(path)
    elif path.is_file() and path.suffix.lower() == ".zip":
        entries = _zip_entries(path)          # not a zip inside: the student's unreadable zip
    elif path.exists():
        raise NotASubmission(f"{path}: is neither a folder nor a .zip; give the folder or zip that holds "
                             f"the exercise files (exNN_<topic>.py or .ipynb)")
    else:
        raise NotASubmission(f"{path}: does not exist")
    intake = Intake({})
    encrypted = []                          # entries a password-protected zip encrypts: noted sorted, at the end
    stems = {n.removesuffix(".py")[:4].lower(): n for n in expected}
    for rel, problem, read in entries:
        name = rel.name
        if _release_file(rel):
            continue
        if name.endswith(".ipynb") and name.removesuffix(".ipynb") + ".py" in expected and not problem:
            try:
                _take_notebook(intake, rel, read)
            except _Encrypted:
                encrypted.append(rel)
            continue
        if problem:
            if name.endswith((".py", ".ipynb")) or _EXERCISE_LIKE.match(name):   # the rest: as a folder
                intake.notes.append(f"ignored {rel}: {problem}")
        elif name not in expected:
            if name in ("conftest.py", "pytest.ini", "sitecustomize.py", "usercustomize.py", "setup.cfg",
                        "tox.ini", "pyproject.toml") or name.endswith(".pth"):
                intake.notes.append(f"ignored {rel}: the grader never runs files it did not ask for")
            elif (m := _EXERCISE_LIKE.match(name)) and m.group(1).lower() in stems:
                want = stems[m.group(1).lower()]
                intake.notes.append(f"ignored {rel}: named like {want} but not it; the grader takes "
                                    f"{want} or {want.removesuffix('.py')}.ipynb")
            elif name.endswith(".py"):
                intake.notes.append(f"ignored {rel}: not an exercise file")
        elif name in intake.files:
            intake.notes.append(f"ignored {rel}: a second {name}; the first one found is graded")
        else:
            try:
                data = read()
            except _Encrypted:
                encrypted.append(rel)
                continue
            except _Unreadable as exc:
                intake.notes.append(f"ignored {rel}: unreadable ({exc})")
                continue
            if data is None:
                intake.notes.append(f"ignored {rel}: larger than {MAX_FILE // 1024} KiB")
            else:
                intake.files[name] = data
                if why := _encoding_problem(data):
                    intake.notes.append(f"{rel} {why}; save it as UTF-8. It is graded as it is: Python "
                                        f"cannot read it, so its tests fail")
    intake.notes += [f"ignored {rel}: {ENCRYPTED}" for rel in sorted(encrypted, key=str)]
    missing = sorted(expected - set(intake.files))
    if missing:
        intake.notes.append(f"not submitted: {', '.join(missing)}")
    return intake


def _release_file(rel) -> bool:
    """A file the student release ships (tests/, tt/, README.md, ...) or a tool's leftovers
    (__pycache__, __MACOSX, .ipynb_checkpoints): the same for a folder and its zip."""
    parts = rel.parts
    hidden = any(p in RELEASE_DIRS or (p.startswith(".") and p != "..") for p in parts[:-1])
    if hidden or parts[-1].startswith("._"):
        return True
    return parts[-1] in RELEASE_NAMES


def _take_notebook(intake: Intake, rel, read):
    """exNN_<topic>.ipynb (nbgrader's, or any) as exNN_<topic>.py: its code cells in order,
    without graded test cells, the public checks cell and IPython's magics and shell lines."""
    name = rel.name.removesuffix(".ipynb") + ".py"
    if name in intake.files:
        intake.notes.append(f"ignored {rel}: {name} is already in the submission")
        return
    try:
        data = read(MAX_NOTEBOOK)
    except _Encrypted:
        raise                          # noted with the zip's other encrypted entries
    except _Unreadable as exc:
        intake.notes.append(f"ignored {rel}: unreadable ({exc})")
        return
    if data is None:
        intake.notes.append(f"ignored {rel}: larger than {MAX_NOTEBOOK // 2**20} MiB")
        return
    try:
        chunks = code_cells(json.loads(data.decode("utf-8-sig"))["cells"])
        if not all(type(c) is str for c in chunks):
            raise TypeError("a code cell that is not text")
    except RecursionError:             # JSON nested thousands of levels deep
        intake.notes.append(f"ignored {rel}: not a readable notebook (nested too deeply)")
        return
    except Exception as exc:           # noqa: BLE001  not JSON, not a notebook, not UTF-8
        intake.notes.append(f"ignored {rel}: not a readable notebook ({type(exc).__name__}: {str(exc)[:100]})")
        return
    code = ("\n\n\n".join(chunks) + "\n").encode("utf-8")
    if len(code) > MAX_FILE:
        intake.notes.append(f"ignored {rel}: its code is larger than {MAX_FILE // 1024} KiB")
        return
    intake.files[name] = code
    intake.notes.append(f"{name} taken from the code cells of {rel}")


def _folder_entries(root: Path):
    count = 0
    stack = [(root, 0)]
    while stack:
        folder, depth = stack.pop()
        for child in sorted(folder.iterdir()):
            count += 1
            if count > MAX_ENTRIES:
                raise IntakeError(f"{root}: more than {MAX_ENTRIES} files; submit only your exercise files")
            rel = child.relative_to(root)
            mode = child.lstat().st_mode
            if stat.S_ISLNK(mode):
                yield rel, "a symbolic link", None
            elif stat.S_ISDIR(mode):
                if child.name in RELEASE_DIRS or child.name.startswith(".") or depth + 1 > MAX_DEPTH:
                    continue        # the release's tests/ and tt/: the grader has its own
                stack.append((child, depth + 1))
            elif stat.S_ISREG(mode):
                yield rel, None, (lambda limit=MAX_FILE, p=child: _read_capped(p, limit))
            else:
                yield rel, "not a regular file", None


def _read_capped(path: Path, limit: int = MAX_FILE):
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    return None if len(data) > limit else data


def _zip_entries(path: Path):
    try:
        zf = zipfile.ZipFile(path)
        infos = zf.infolist()
    except Exception as exc:           # noqa: BLE001  BadZipFile, OSError, a truncated central directory...
        raise IntakeError(f"{path}: not a readable zip file ({type(exc).__name__}: {str(exc)[:200]})") from None
    if len(infos) > MAX_ENTRIES:
        raise IntakeError(f"{path}: {len(infos)} entries, more than {MAX_ENTRIES}")
    top = _common_top([i.filename.replace("\\", "/") for i in infos if not i.is_dir()])
    with zf:
        for info in infos:
            name = info.filename.replace("\\", "/")
            if top and name.startswith(top + "/"):
                name = name[len(top) + 1:]          # the folder zipped: named as in the folder itself
            rel = PurePosixPath(name)
            if info.is_dir():
                continue
            mode = info.external_attr >> 16
            if name.startswith("/") or (len(rel.parts) and ":" in rel.parts[0]):
                yield rel, "an absolute path", None
            elif ".." in rel.parts:
                yield rel, "a path that climbs out with '..'", None
            elif stat.S_ISLNK(mode):
                yield rel, "a symbolic link", None
            elif len(rel.parts) > MAX_DEPTH + 1:
                yield rel, "too deep in the zip", None
            elif info.file_size > (MAX_NOTEBOOK if name.endswith(".ipynb") else MAX_FILE):
                yield rel, f"larger than {MAX_FILE // 1024} KiB", None
            else:       # read only if it is an exercise file: at most 15 x MAX_FILE in all
                yield rel, None, (lambda limit=MAX_FILE, i=info: _read_zip_entry(zf, i, limit))


def _common_top(names) -> str:
    """The one folder every entry is in ("exercises" when the student zipped that folder),
    leftovers like __MACOSX/ aside; "" if there is none."""
    tops = {n.split("/", 1)[0] for n in names if "/" in n and not n.startswith("__MACOSX/")}
    flat = any("/" not in n for n in names)
    top = tops.pop() if len(tops) == 1 and not flat else ""
    return top if top not in ("", ".", "..") and ":" not in top else ""


def _read_zip_entry(zf, info, limit):
    """The entry's bytes, at most limit + 1 of them (file_size is only the zip's claim)."""
    if info.flag_bits & 0x1:           # bit 0: encrypted (zip -P, a password-protected zip)
        raise _Encrypted()
    try:
        with zf.open(info) as f:
            data = f.read(limit + 1)
    except RuntimeError as exc:        # zipfile's "File <ZipInfo ...> is encrypted, password required"
        raise (_Encrypted() if "encrypt" in str(exc) else _Unreadable(str(exc)[:200])) from None
    except Exception as exc:           # noqa: BLE001  a corrupt deflate stream is zlib.error, a bad CRC
        raise _Unreadable(f"{type(exc).__name__}: {str(exc)[:200]}") from None
    return None if len(data) > limit else data


# PEP 263: a coding declaration on the first line, or on the second after a blank or comment line.
_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")
_BLANK = re.compile(rb"^[ \t\f]*(?:[#\r\n]|$)")


def _encoding_problem(data: bytes) -> str | None:
    """Why Python cannot read these source bytes as text (what follows the file's name in
    the note), or None when it can: UTF-8 (Python's default), with or without a UTF-8
    byte-order mark, or the encoding a PEP 263 coding line declares, if they decode with it."""
    for bom, codec in ((codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
                       (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16")):
        if data.startswith(bom):              # UTF-32's little-endian mark starts like UTF-16's: first
            return f"is saved as {codec} (it starts with a {codec} byte-order mark)"
    if b"\0" in data:
        line = data.count(b"\n", 0, data.index(b"\0")) + 1
        return (f"contains NUL bytes (the first on line {line}; saved as UTF-16 or UTF-32 without a "
                f"byte-order mark?)")
    bom = data.startswith(codecs.BOM_UTF8)
    lines = data[3 if bom else 0:].splitlines(keepends=True)[:2]
    declared = None
    for i, line in enumerate(lines):
        if m := _CODING.match(line):
            declared = m.group(1).decode("ascii")
            break
        if i == 0 and not _BLANK.match(line):
            break
    encoding = "utf-8"
    if declared is not None:
        try:
            encoding = codecs.lookup(declared).name
        except LookupError:
            return f"declares an encoding Python does not know (coding: {declared})"
        if bom and not encoding.startswith("utf-8"):
            return f"starts with a UTF-8 byte-order mark but declares coding: {declared}"
    try:
        data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        what = "valid UTF-8" if encoding == "utf-8" else f"valid {declared}, as its coding line declares"
        return f"is not {what} (byte 0x{data[exc.start]:02x} on line {line} does not decode)"
    return None
