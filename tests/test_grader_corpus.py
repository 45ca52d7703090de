"""A corpus of broken and hostile submissions, each with its exact expected score.

Every case is a submission holding two exercises: an honest exercise 8 (the solution,
6 points) and an exercise 4 (LayerNorm backward, 8 points: tests worth 4, 2, 1 and 1)
that misbehaves. Where the misbehaviour is triggered by one test's input only, the
other tests are its honest parts and must still score:

    the float32 test        dout.dtype == float32         2 points  -> 6 of 8 left
    the (B, C) input test   dout.ndim == 2                1 point   -> 7 of 8 left
    the random batch test   dout.shape == (4, 8, 64)      4 points  -> 4 of 8 left

Each case is graded as an instructor would (`tt grade`, its own process, the hidden
suites of exercises 4 and 8 selected with -k), and must get exactly its score, a
message that names what went wrong, and an untouched exercise 8. A batch of cases
graded together with `tt grade-all` must give the same rows as one by one.
"""
from __future__ import annotations

import concurrent.futures
import csv
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = (ROOT / "solutions" / "ex04_layernorm.py").read_text(encoding="utf-8")
STUB = (ROOT / "exercises" / "ex04_layernorm.py").read_text(encoding="utf-8")
HONEST_EX08 = (ROOT / "solutions" / "ex08_embedding.py").read_bytes()
EX04, EX08 = "ex04_layernorm.py", "ex08_embedding.py"
SELECT = "ex04 or ex08"
CALL_TIMEOUT = 2.0
# `tt grade` runs in a temporary folder: this checkout's grader, not whichever one the venv installed
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the sandbox targets Linux")

F32 = "dout.dtype == np.float32"          # the float32 test: 2 points
TWO_D = "dout.ndim == 2"                  # the (B, C) test: 1 point
BATCH = "dout.shape == (4, 8, 64)"        # the random batch test: 4 points


def wrapped(when: str, action: str, header: str = "") -> str:
    """The solution, then a layernorm_backward that does `action` when `when` holds
    and answers honestly otherwise."""
    body = "\n".join("        " + line for line in action.strip().splitlines())
    return (f"{header}\n{SOLUTION}\n\n_honest = layernorm_backward\n\n\n"
            f"def layernorm_backward(dout, cache):\n    if {when}:\n{body}\n"
            f"    return _honest(dout, cache)\n")


def at_import(code: str) -> str:
    return code + "\n" + SOLUTION


@dataclass
class Case:
    name: str
    attack: str
    ex04: float                       # exercise 4's exact expected score
    says: tuple = ()                  # fragments of the feedback (failed tests and notes)
    files: dict = field(default_factory=dict)   # extra file name -> text, beside ex04 and ex08
    source: str | None = None        # ex04's source (None: not submitted)
    zip_entries: list | None = None  # [(name, bytes, mode)] for a zip submission
    ex08: float = 6.0                 # the honest exercise 8 (0 when the whole zip is unreadable)
    spoil: object = None              # bytes -> bytes, applied to the finished zip


ZEROS = "return np.zeros_like(dout), np.zeros_like(cache.gamma), np.zeros_like(cache.gamma)"
SEARCH = '''
import os, pathlib
roots = [pathlib.Path.cwd(), pathlib.Path.home(), pathlib.Path(__file__).resolve().parent,
         pathlib.Path("/work/main"), pathlib.Path("/"), pathlib.Path("/tmp")]
import tt as _tt
roots.append(pathlib.Path(_tt.__file__).resolve().parent)
found = None
for r in roots:
    for p in [r, *r.parents]:
        c = p / "{rel}"
        try:
            if c.is_file():
                found = c.read_text()
                break
        except OSError:
            pass
    if found:
        break
'''

CASES = [
    # ------------------------------------------------------------ code that does not load
    Case("syntax-error", "a syntax error", 0, ("SyntaxError",),
         source=SOLUTION.replace("def layernorm_backward(dout, cache):", "def layernorm_backward(dout, cache)")),
    Case("import-error", "an import of a module that does not exist", 0, ("No module named 'numpyy'",),
         source=at_import("import numpyy")),
    Case("raises-at-import", "an exception at import", 0, ("boom at import",),
         source=at_import("raise RuntimeError('boom at import')")),
    Case("missing-function", "the function is not defined", 0, ("layernorm_backward",),
         source=SOLUTION.replace("def layernorm_backward(dout, cache):", "def layer_norm_backward(dout, cache):")),
    Case("wrong-signature", "the function takes one argument", 0, ("TypeError",),
         source=SOLUTION.replace("def layernorm_backward(dout, cache):", "def layernorm_backward(dout):")
                        .replace("x, gamma, eps, xhat, rstd = cache", "x, gamma, eps, xhat, rstd = dout")),
    Case("hangs-at-import", "an infinite loop at import", 0, ("time",),
         source=at_import("while True:\n    pass")),
    Case("sys-exit-at-import", "sys.exit(0) at import", 0, ("exit",),
         source=at_import("import sys\nsys.exit(0)")),
    Case("os-exit-at-import", "os._exit(0) at import", 0, ("exit",),
         source=at_import("import os\nos._exit(0)")),
    # ------------------------------------------------------------ what comes back
    Case("returns-none", "returns None", 0, ("None",), source=wrapped("True", "return None")),
    Case("returns-lists", "returns lists, not arrays", 0, ("list",),
         source=wrapped("True", "return [a.tolist() for a in _honest(dout, cache)]")),
    Case("wrong-shape-float32", "a wrong shape, for the float32 test only", 6, ("shape",),
         source=wrapped(F32, "dx, dg, db = _honest(dout, cache)\nreturn dx[..., :-1], dg, db")),
    Case("nan-2d", "a NaN, for the (B, C) test only", 7, ("finite",),
         source=wrapped(TWO_D, "dx, dg, db = _honest(dout, cache)\ndx = dx.copy()\ndx[0, 0] = np.nan\n"
                                 "return dx, dg, db")),
    Case("lying-subclass", "an ndarray subclass of zeros that claims to equal anything", 0, ("largest error",),
         source=wrapped("True", "return tuple(np.zeros_like(a).view(Liar) for a in _honest(dout, cache))",
                        header="import numpy as np\n\nclass Liar(np.ndarray):\n"
                               "    def __eq__(self, other):\n        return True\n"
                               "    def __sub__(self, other):\n        return np.zeros(self.shape)\n"
                               "    def __array_ufunc__(self, *a, **k):\n        return np.zeros(self.shape)\n")),
    Case("honest-subclass", "the right values as an ndarray subclass", 8, (),
         source=wrapped("True", "return tuple(a.view(Sub) for a in _honest(dout, cache))",
                        header="import numpy as np\n\nclass Sub(np.ndarray):\n    pass\n")),
    # ------------------------------------------------------------ exceptions, exits, floods
    Case("raises-float32", "ValueError for the float32 test only", 6, ("ValueError",),
         source=wrapped(F32, "raise ValueError('not for float32')")),
    Case("keyboard-interrupt", "KeyboardInterrupt on every call", 0, ("KeyboardInterrupt",),
         source=wrapped("True", "raise KeyboardInterrupt")),
    Case("base-exception-batch", "a BaseException subclass for the random batch", 4, ("Escape",),
         source=wrapped(BATCH, "raise Escape('out')", header="class Escape(BaseException):\n    pass\n")),
    Case("sys-exit-float32", "sys.exit(0) at call time, float32 test", 6, ("exit",),
         source=wrapped(F32, "import sys\nsys.exit(0)")),
    Case("os-exit-2d", "os._exit(0) at call time, (B, C) test", 7, ("worker died",),
         source=wrapped(TWO_D, "import os\nos._exit(0)")),
    Case("print-flood", "20 MB printed, then the right answer", 8, (),
         source=wrapped("True", "print('x' * 20_000_000)\nreturn _honest(dout, cache)")),
    Case("hangs-float32", "an infinite loop at call time, float32 test", 6, ("timed out",),
         source=wrapped(F32, "while True:\n    pass")),
    # One request far over the address-space limit is refused at once, on any machine.
    Case("memory-bomb-batch", "allocates 64 GB at once for the random batch", 4, ("MemoryError",),
         source=wrapped(BATCH, "block = bytearray(64 << 30)")),
    # Filling memory a gigabyte at a time ends in MemoryError or, on a machine whose page
    # faults are slow, in the call's timeout: which one is the machine's, the score is not.
    Case("memory-creep-batch", "allocates 1 GB at a time, 64 GB in all, for the random batch", 4, (),
         source=wrapped(BATCH, "blocks = [bytearray(1 << 30) for _ in range(64)]")),
    Case("fork-bomb-2d", "forks without end for the (B, C) test", 7, (),
         source=wrapped(TWO_D, "import os\nwhile True:\n    os.fork()")),
    # ------------------------------------------------------------ attempts to cheat
    Case("conftest-forges-passes", "a conftest.py that marks every test passed, with the stub", 0,
         ("conftest.py",), source=STUB,
         files={"conftest.py": "import pytest\n@pytest.hookimpl(hookwrapper=True)\n"
                               "def pytest_runtest_makereport(item, call):\n    out = yield\n"
                               "    out.get_result().outcome = 'passed'\n"}),
    Case("pytest-ini-deselects", "a pytest.ini that deselects the hidden tests, with the stub", 0,
         ("pytest.ini",), source=STUB, files={"pytest.ini": "[pytest]\naddopts = -k nothing_at_all\n"}),
    Case("sitecustomize", "a sitecustomize.py that patches numpy, with the stub", 0, ("sitecustomize.py",),
         source=STUB, files={"sitecustomize.py": "import numpy\nnumpy.allclose = lambda *a, **k: True\n"}),
    Case("reads-solutions", "looks for solutions/ex04_layernorm.py and runs it", 0, ("not found",),
         source=wrapped("True", SEARCH.format(rel="solutions/ex04_layernorm.py") +
                        "if not found:\n    raise LookupError('solutions not found')\n"
                        "ns = {}\nexec(found, ns)\nreturn ns['layernorm_backward'](dout, cache)")),
    Case("reads-hidden-tests", "looks for the hidden suite on disk", 0, ("not found",),
         source=wrapped("True", SEARCH.format(rel="grader/hidden/test_ex04_layernorm.py") +
                        "if not found:\n    raise LookupError('hidden tests not found')\n"
                        "return _honest(dout, cache)")),
    Case("imports-full-tt", "calls tt's own layernorm_backward", 0, ("NotImplementedError",),
         source=wrapped("True", "import tt.layers\nreturn tt.layers.layernorm_backward(dout, cache)")),
    Case("forges-results-json", "writes a perfect results.json wherever it can, returns zeros", 0, (),
         source=wrapped("True", "import json, os, pathlib\n"
                                "forged = json.dumps({'score': 1000, 'tests': []})\n"
                                "for d in [pathlib.Path.cwd(), pathlib.Path.home(), pathlib.Path('/tmp'),\n"
                                "          *pathlib.Path.cwd().parents]:\n"
                                "    for name in ('results.json', 'results/results.json'):\n"
                                "        try:\n"
                                "            (d / name).write_text(forged)\n"
                                "        except OSError:\n"
                                "            pass\n" + ZEROS)),
    Case("patches-numpy", "patches numpy's comparisons, returns zeros", 0, (),
         source=wrapped("True", "np.allclose = lambda *a, **k: True\nnp.isclose = lambda a, b, **k: True\n"
                                "np.testing.assert_allclose = lambda *a, **k: None\n"
                                "np.array_equal = lambda *a, **k: True\n" + ZEROS)),
    Case("reads-stack-frames", "looks for the expected values in its callers' frames", 0, ("no expected",),
         source=wrapped("True", "import sys, gc\nf = sys._getframe(1)\n"
                                "while f is not None:\n"
                                "    for k, v in f.f_locals.items():\n"
                                "        if k in ('expected', 'want', 'exp', 'reference'):\n"
                                "            return v\n"
                                "    f = f.f_back\n"
                                "raise LookupError('no expected values in any frame')")),
]


def zip_case(name, attack, ex04, says, entries):
    return Case(name, attack, ex04, says, zip_entries=entries)


LINK = stat.S_IFLNK | 0o777
REG = stat.S_IFREG | 0o644
SOLUTION_BYTES = SOLUTION.encode()
ZIP_CASES = [
    zip_case("zip-symlink", "ex04 as a symlink to the repository's solution", 0, ("symbolic link",),
             [(EX04, str(ROOT / "solutions" / EX04).encode(), LINK)]),
    zip_case("zip-dotdot", "ex04 at ../ex04_layernorm.py", 0, ("climbs out",),
             [("../" + EX04, SOLUTION_BYTES, REG)]),
    zip_case("zip-absolute", "ex04 at an absolute path", 0, ("absolute path",),
             [("/tmp/" + EX04, SOLUTION_BYTES, REG)]),
    zip_case("zip-oversized", "ex04 padded to 300 KiB", 0, ("larger than 256 KiB",),
             [(EX04, SOLUTION_BYTES + b"#" * (300 * 1024), REG)]),
    zip_case("zip-bomb", "a 256 MB entry of zeros beside honest files", 8, (),
             [(EX04, SOLUTION_BYTES, REG), ("data.bin", None, REG)]),
    zip_case("py-utf16", "ex04 saved in UTF-16 (null bytes to Python)", 0,
             ("ex04_layernorm.py is saved as UTF-16 (it starts with a UTF-16 byte-order mark); save it as UTF-8",
              "null bytes"), [(EX04, SOLUTION.encode("utf-16"), REG)]),
    zip_case("py-utf8-bom", "ex04 in UTF-8 with a byte-order mark", 8, (),
             [(EX04, b"\xef\xbb\xbf" + SOLUTION_BYTES, REG)]),
    zip_case("py-latin1-coding-line-not-utf8", "ex04 in latin-1 with a PEP 263 coding line", 8, (),
             [(EX04, f"# -*- coding: latin-1 -*-\n# caf\xe9\n{SOLUTION}".encode("latin-1"), REG)]),
]


def _flag_encrypted(data: bytes, name: bytes) -> bytes:
    """The zip with `name`'s entry marked encrypted (bit 0 of its flags, in its local header
    and its central directory record): what a zip made with a password looks like to a reader."""
    out = bytearray(data)
    for sig, flags_at, name_len_at, name_at in ((b"PK\x03\x04", 6, 26, 30), (b"PK\x01\x02", 8, 28, 46)):
        at = out.find(sig)
        while at != -1:
            n = int.from_bytes(out[at + name_len_at:at + name_len_at + 2], "little")
            if bytes(out[at + name_at:at + name_at + n]) == name:
                out[at + flags_at] |= 1
            at = out.find(sig, at + 4)
    return bytes(out)


def _corrupt_entry(data: bytes, name: bytes) -> bytes:
    """The zip with the middle of `name`'s deflate stream overwritten (its headers intact)."""
    at = data.find(b"PK\x03\x04")
    while at != -1:
        n, extra = int.from_bytes(data[at + 26:at + 28], "little"), int.from_bytes(data[at + 28:at + 30], "little")
        if data[at + 30:at + 30 + n] == name:
            size = int.from_bytes(data[at + 18:at + 22], "little")
            start = at + 30 + n + extra + size // 3
            return data[:start] + bytes([0xFF]) * 64 + data[start + 64:]
        at = data.find(b"PK\x03\x04", at + 4)
    raise AssertionError("entry not found")


def deep_notebook(levels: int) -> bytes:
    return b'{"cells": ' + b"[" * levels + b"]" * levels + b"}"


NOTEBOOK = json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                       "cells": [{"cell_type": "code", "metadata": {}, "source": SOLUTION, "outputs": [],
                                  "execution_count": None}]})
ZIP_CASES += [
    zip_case("zip-encrypted-entry", "ex04 encrypted (a password-protected zip)", 0,
             ("ignored ex04_layernorm.py: the zip encrypts it (a password-protected zip cannot be read; zip it "
              "again without a password)",),
             [(EX04, SOLUTION_BYTES, REG)]),
    zip_case("zip-corrupt-deflate", "ex04's deflate stream corrupted ('Error -3 while decompressing')", 0,
             ("unreadable",), [(EX04, SOLUTION_BYTES, REG)]),
    zip_case("zip-truncated", "a zip cut off halfway", 0, ("not a readable zip file",),
             [(EX04, SOLUTION_BYTES, REG)]),
    zip_case("notebook-deeply-nested", "ex04 as a notebook whose JSON nests 100,000 levels deep", 0,
             ("nested too deeply",), [("ex04_layernorm.ipynb", deep_notebook(100_000), REG)]),
    zip_case("notebook-utf16", "ex04 as a notebook in UTF-16", 0, ("not a readable notebook",),
             [("ex04_layernorm.ipynb", NOTEBOOK.encode("utf-16"), REG)]),
    zip_case("notebook-utf8-bom", "ex04 as a notebook in UTF-8 with a byte-order mark", 8, (),
             [("ex04_layernorm.ipynb", b"\xef\xbb\xbf" + NOTEBOOK.encode(), REG)]),
    zip_case("control-characters-in-names", "an entry named with a raw ESC, beside honest files", 8, ("\\x1b",),
             [(EX04, SOLUTION_BYTES, REG), ("\x1b[2J\x1b[31mowned.py", b"x = 1\n", REG)]),
]
ZIP_CASES[-7].spoil = lambda data: _flag_encrypted(data, EX04.encode())
ZIP_CASES[-6].spoil = lambda data: _corrupt_entry(data, EX04.encode())
ZIP_CASES[-5].spoil = lambda data: data[:len(data) // 2]
ZIP_CASES[-5].ex08 = 0.0
CASES += [
    Case("sysv-shm-left-behind", "a System V shared-memory segment, message queue and semaphore set made "
         "with a constant key, for the next student", 8, (), source=wrapped("True", """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
shm = libc.shmget(0x7474, 4096, 0o1666)          # IPC_CREAT | 0666
if shm >= 0:
    libc.shmat.restype = ctypes.c_void_p
    at = libc.shmat(shm, None, 0)
    if at not in (None, ctypes.c_void_p(-1).value):
        ctypes.memmove(at, b"ex04 of student A", 17)
libc.msgget(0x7474, 0o1666)                      # a message queue and a semaphore set too
libc.semget(0x7474, 1, 0o1666)
return _honest(dout, cache)""")),
    Case("sysv-shm-reader", "looks for what another student left with that key, and fails if it finds any", 8, (),
         source=wrapped("True", """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
if libc.shmget(0x7474, 0, 0) >= 0 or libc.msgget(0x7474, 0) >= 0 or libc.semget(0x7474, 0, 0) >= 0:
    raise LookupError("found another student's IPC object")
return _honest(dout, cache)""")),
    Case("returns-empty-array-with-huge-shape", "returns an empty array claiming 0 x 2**40 entries", 0,
         ("exceeds the limit",),
         source=wrapped("True", "return np.zeros((0, 1 << 40)), np.zeros((0, 1 << 40)), np.zeros((0, 1 << 40))")),
]
CLEAN = Case("clean", "the honest solution", 8, (), source=SOLUTION)
ALL = [*CASES, *ZIP_CASES, CLEAN]


def build(case: Case, folder: Path) -> Path:
    if case.zip_entries is None:
        sub = folder / case.name
        sub.mkdir(parents=True)
        (sub / EX08).write_bytes(HONEST_EX08)
        if case.source is not None:
            (sub / EX04).write_text(case.source, encoding="utf-8")
        for name, text in case.files.items():
            (sub / name).write_text(text, encoding="utf-8")
        return sub
    path = folder / f"{case.name}.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(EX08, HONEST_EX08)
        for name, data, mode in case.zip_entries:
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            if data is None:                               # 256 MB of zeros, streamed
                with zf.open(info, "w", force_zip64=True) as f:
                    block = bytes(1 << 20)
                    for _ in range(256):
                        f.write(block)
            else:
                zf.writestr(info, data)
    if case.spoil is not None:
        path.write_bytes(case.spoil(path.read_bytes()))
    return path


def grade(path: Path, out: Path) -> tuple[dict, str]:
    r = subprocess.run([sys.executable, "-m", "tt", "grade", str(path), "--out", str(out), "--quiet",
                        "-k", SELECT, "--call-timeout", str(CALL_TIMEOUT)],
                       capture_output=True, text=True, timeout=300, cwd=out.parent, env=ENV)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads((out / "results.json").read_text()), (out / "feedback.html").read_text()


def by_exercise(results: dict) -> dict:
    scores = {}
    for t in results["tests"]:
        ex = t["name"][:4]
        scores[ex] = scores.get(ex, 0.0) + t["score"]
    return scores


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    (folder / "out").mkdir()
    (folder / "subs").mkdir()
    paths = {case.name: build(case, folder / "subs") for case in ALL}
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        futures = {name: pool.submit(grade, path, folder / "out" / name) for name, path in paths.items()}
        results = {name: f.result() for name, f in futures.items()}
    return folder, paths, results


def test_the_corpus_is_large_and_covers_the_issue():
    assert len(ALL) >= 30
    attacks = " ".join(c.attack for c in ALL)
    for word in ("syntax", "import", "not defined", "one argument", "None", "lists",
                 "shape", "NaN", "subclass", "ValueError", "KeyboardInterrupt", "BaseException", "printed",
                 "infinite loop", "GB", "forks", "sys.exit", "os._exit", "conftest.py", "pytest.ini",
                 "sitecustomize.py", "solutions", "hidden suite", "tt's own", "results.json", "numpy",
                 "frames", "symlink", "../", "absolute", "300 KiB", "256 MB", "encrypted", "corrupted",
                 "cut off", "nests", "UTF-16", "ESC", "System V", "2**40"):
        assert word in attacks, word


@pytest.mark.parametrize("case", ALL, ids=[c.name for c in ALL])
def test_exact_score_and_a_clear_message(graded, case):
    _, _, results = graded
    data, html = results[case.name]
    scores = by_exercise(data)
    assert scores.get("ex08") == case.ex08, f"the honest exercise 8 was affected: {scores}"
    assert scores.get("ex04", 0.0) == case.ex04, scores
    assert data["score"] == case.ex04 + case.ex08
    text = data.get("output", "") + "\n".join(t["output"] for t in data["tests"] if t["status"] != "passed")
    for fragment in case.says:
        assert fragment in text, f"{fragment!r} not in:\n{text[:3000]}"
    assert len(html) < 2_000_000                              # floods are truncated


def test_forged_results_stay_in_the_worker(graded):
    folder, _, results = graded
    data, _ = results["forges-results-json"]
    assert data["score"] == 6.0
    assert not (folder / "results.json").exists() and not (folder / "out" / "results.json").exists()
    assert not Path("/tmp/results.json").exists() or json.loads(Path("/tmp/results.json").read_text()).get("score") != 1000


def test_a_batch_of_hostile_submissions_grades_every_student(graded, tmp_path):
    """grade-all over a class of cases: every row exact, the clean student full marks."""
    folder, paths, _ = graded
    chosen = ["clean", "syntax-error", "os-exit-2d", "hangs-float32", "memory-bomb-batch", "forges-results-json",
              "zip-dotdot", "conftest-forges-passes", "zip-encrypted-entry", "zip-truncated", "sysv-shm-left-behind",
              "sysv-shm-reader"]
    klass = tmp_path / "class"
    klass.mkdir()
    for name in chosen:
        src = paths[name]
        if src.is_file():
            (klass / src.name).write_bytes(src.read_bytes())
        else:
            shutil.copytree(src, klass / src.name)
    (klass / "linked").symlink_to(klass / "clean")                 # another student's folder, linked
    (klass / "linked.zip").symlink_to(paths["zip-dotdot"])
    os.mkfifo(klass / "pipe.zip")                                   # opening it would block for ever
    out = tmp_path / "graded"
    r = subprocess.run([sys.executable, "-m", "tt", "grade-all", str(klass), "-j", "2", "--out", str(out),
                        "--call-timeout", str(CALL_TIMEOUT)], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "skipped linked: a symbolic link" in r.stderr and "skipped linked.zip: a symbolic link" in r.stderr
    assert "skipped pipe.zip: not a regular folder or file" in r.stderr
    rows = {row["student"]: row for row in csv.DictReader(io.StringIO((out / "gradebook.csv").read_text()))}
    expected = {c.name: c for c in ALL if c.name in chosen}
    assert set(rows) == set(chosen)
    for name, case in expected.items():
        assert float(rows[name]["ex04"]) == case.ex04, (name, rows[name])
        assert float(rows[name]["ex08"]) == case.ex08, (name, rows[name])
        assert float(rows[name]["total"]) == case.ex04 + case.ex08, (name, rows[name])


# ------------------------------------------------ forged helpers, one-sided gradient checks
# The hidden suites of exercises 10, 13 and 15 once trusted what helpers in the student's
# own file reported ("for the autograder (given)"): forged, they earned points with every
# function a stub. Now the grader calls the functions themselves, with f, forward and
# backward as callbacks that run in the grader, and pairs every "accepts a right
# backward" with a "reports a wrong one". Scores below are read off the suites' markers:
# exercise 10 is 21 points, of which check_op's six tests are 8; 13 is 14; 15 is 11.
FORGED = {
    "ex10_gradient_check.py": '''

def _numerical_gradient_probe(x, w, u, eps=1e-5, raise_at=0):
    """Forged: the closed form, and the calls and the restored x a correct one would report."""
    grad = None if raise_at else w * np.cos(x) + np.sum(u * x) * u
    return grad, x, 2 * x.size


def _check_op_probe(forward, inputs, wrt, ops, seed=0, eps=1e-5):
    """Forged: every label, every error 0."""
    labels = [f"{n}.{k}" for n in wrt for k in inputs[n]] if False else []
    for n in wrt:
        labels += [f"{n}.{k}" for k in inputs[n]] if isinstance(inputs[n], dict) else [n]
    return {label: 0.0 for label in labels}, inputs
''',
    "ex13_learning_rate.py": '''

def _exercise5_items(rates=SEED_RATES, steps=10, w0=0.0, c=3.0):
    """Forged: the closed form W_k = c + (1 - lr)^k (w0 - c), exercise5 left a stub."""
    out = []
    for lr in rates:
        r = 1 - lr
        path = [c + r ** k * (w0 - c) for k in range(1, steps + 1)]
        end, start = abs(path[-1] - c), abs(w0 - c)
        cls = "diverges" if not math.isfinite(end) or end > start * (1 + 1e-9) else \\
            "oscillates" if end >= start * (1 - 1e-9) else "converges"
        out.append((lr, (path, cls)))
    return out
''',
    "ex15_capstone.py": '''

def _student_ops_sources():
    """Forged: the names a correct student_ops() would report, student_ops left a stub."""
    from exercises.tests.harness import EXERCISE_OF
    return {name: f"{module}.{name}" for name, module in EXERCISE_OF.items()}
''',
}
EXERCISE_OF_15 = {"softmax_cross_entropy_backward": "ex01_softmax_cross_entropy", "linear_backward": "ex02_linear",
                  "output_backward": "ex02_linear", "relu_backward": "ex03_relu_ffn", "ffn_backward": "ex03_relu_ffn",
                  "layernorm_backward": "ex04_layernorm", "softmax_backward": "ex05_attention",
                  "attention_backward": "ex05_attention", "mha_backward": "ex06_multihead_attention",
                  "add_norm_backward": "ex07_block", "block_backward": "ex07_block",
                  "embedding_backward": "ex08_embedding", "model_backward": "ex09_model"}
FORGED["ex15_capstone.py"] = FORGED["ex15_capstone.py"].replace(
    "    from exercises.tests.harness import EXERCISE_OF\n    return", f"    EXERCISE_OF = {EXERCISE_OF_15!r}\n    return")

CHECK_OP_SAYS = '''

_honest_check_op = check_op


def check_op(forward, backward, inputs, wrt, seed=0, eps=1e-5):
    """Labels right, every error {value}: one side of a gradient check only."""
    labels = []
    for n in wrt:
        labels += [f"{{n}}.{{k}}" for k in inputs[n]] if isinstance(inputs[n], dict) else [n]
    return {{label: {value} for label in labels}}
'''


def one_sided_grading(tmp_path, name, files, select="ex10 or ex13 or ex15"):
    sub = tmp_path / name
    sub.mkdir()
    for file, text in files.items():
        (sub / file).write_text(text, encoding="utf-8")
    results, _ = grade_select(sub, tmp_path / f"out-{name}", select)
    return by_exercise(results), results


def grade_select(path: Path, out: Path, select: str):
    r = subprocess.run([sys.executable, "-m", "tt", "grade", str(path), "--out", str(out), "--quiet",
                        "-k", select], capture_output=True, text=True, timeout=600, cwd=out.parent, env=ENV)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads((out / "results.json").read_text()), (out / "feedback.html").read_text()


def test_forged_autograder_helpers_earn_nothing(tmp_path):
    files = {p.name: p.read_text(encoding="utf-8") + FORGED.get(p.name, "")      # every stub, so that
             for p in sorted((ROOT / "exercises").glob("ex[0-9][0-9]_*.py"))}      # ex15's imports work
    scores, results = one_sided_grading(tmp_path, "forger", files)
    assert scores == {"ex10": 0, "ex13": 0, "ex15": 0}, [t["name"] for t in results["tests"] if t["score"]]


@pytest.mark.parametrize("value", ["0.0", "1.0"], ids=["always-passes", "always-fails"])
def test_a_one_sided_check_op_earns_none_of_check_ops_points(tmp_path, value):
    solution = (ROOT / "solutions" / "ex10_gradient_check.py").read_text(encoding="utf-8")
    scores, results = one_sided_grading(tmp_path, f"check-op-{value}",
                                        {"ex10_gradient_check.py": solution + CHECK_OP_SAYS.format(value=value)},
                                        select="ex10")
    failed = {t["name"] for t in results["tests"] if t["status"] != "passed"}
    assert failed == {"ex10 test_check_op_layernorm", "ex10 test_check_op_linear",
                      "ex10 test_check_op_random_upstream_gradient", "ex10 test_check_op_dict_input",
                      "ex10 test_check_op_float32_inputs", "ex10 test_check_op_wrong_shape"}
    assert scores["ex10"] == 21 - 8


HARD_CODED_EX11 = '''

import numpy as _np

_SEED_LOSS, _SEED_CACHE = tiny_forward(**SEED)
_SEED_GRADS = tiny_backward(1.0, _SEED_CACHE)


def tiny_forward(x, W1, b1, W2, b2, target):
    """Hard-coded: the seed's answer, whatever the input."""
    return _SEED_LOSS, TinyCache(x, W2, _SEED_CACHE.z, _SEED_CACHE.hidden, _SEED_CACHE.output, target)


def tiny_backward(dloss, cache):
    """Hard-coded: the seed's gradients, whatever the input."""
    return _SEED_GRADS
'''


def test_answers_written_down_for_the_seeds_inputs_earn_nothing(tmp_path):
    """Exercise 11's seed checks draw new values in the seed's 2 -> 2 -> 1 shape: answers
    computed once for the seed's own numbers (given in the exercise) fail them."""
    solution = (ROOT / "solutions" / "ex11_tiny_network.py").read_text(encoding="utf-8")
    scores, results = one_sided_grading(tmp_path, "hard-coded", {"ex11_tiny_network.py": solution + HARD_CODED_EX11},
                                        select="ex11")
    assert scores == {"ex11": 0}, [t["name"] for t in results["tests"] if t["score"]]


def test_a_hang_at_import_in_an_exercise_that_another_imports_is_named(tmp_path):
    """Exercise 15 imports exercises 1 to 9: when exercise 1 loops at import, exercise 15's
    feedback names exercise 1, not only "the import of ex15_capstone timed out"."""
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted((ROOT / "solutions").glob("ex[0-9][0-9]_*.py"))}
    files["ex01_softmax_cross_entropy.py"] = "while True:\n    pass\n"
    scores, results = one_sided_grading(tmp_path, "loops-in-ex01", files, select="ex15")
    assert scores == {"ex15": 0}
    text = "\n".join(t["output"] for t in results["tests"])
    assert "while importing ex01_softmax_cross_entropy" in text, text[:2000]


SHM_KEY = 0x7474


def sysv_keys():
    keys = set()
    for table in ("shm", "msg", "sem"):
        try:
            with open(f"/proc/sysvipc/{table}") as f:
                keys |= {int(line.split()[0]) for line in f.readlines()[1:]}
        except OSError:
            pass
    return keys


def test_no_ipc_object_outlives_the_grading(graded):
    assert SHM_KEY not in sysv_keys()


@pytest.mark.parametrize("disable", [[], ["seccomp"], ["seccomp", "ipc-namespace"]],
                         ids=["all-protections", "no-seccomp", "no-seccomp-no-ipc-namespace"])
def test_one_student_never_reaches_the_next_through_ipc(graded, tmp_path, disable):
    """The writer leaves a segment, a queue and a semaphore set keyed 0x7474; the reader
    (graded after it, -j 1) fails if it finds any: refused by seccomp, private to the
    writer's IPC namespace and gone with it, or, with neither, removed by the supervisor
    when the writer's worker ends (the objects of its uid)."""
    _, paths, _ = graded
    klass = tmp_path / "class"
    for name in ("sysv-shm-left-behind", "sysv-shm-reader"):
        shutil.copytree(paths[name], klass / name)
    out = tmp_path / "graded"
    r = subprocess.run([sys.executable, "-m", "tt", "grade-all", str(klass), "-j", "1", "--out", str(out),
                        "--call-timeout", str(CALL_TIMEOUT), *[f"--disable-protection={p}" for p in disable]],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    rows = {row["student"]: row for row in csv.DictReader(io.StringIO((out / "gradebook.csv").read_text()))}
    assert float(rows["sysv-shm-reader"]["total"]) == 14, rows
    assert SHM_KEY not in sysv_keys()


def test_control_characters_never_reach_the_terminal(graded, tmp_path):
    _, paths, _ = graded
    r = subprocess.run([sys.executable, "-m", "tt", "grade", str(paths["control-characters-in-names"]), "--out",
                        str(tmp_path / "out"), "-k", SELECT, "--student", "mallory\x1b]0;owned\x07"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "\x1b" not in r.stdout + r.stderr and "\x07" not in r.stdout + r.stderr
    assert "\\x1b[2J" in r.stdout and "mallory\\x1b]0;owned\\x07" in r.stdout


# ------------------------------------------------ a sweep of what the wire can carry
SWEEP_VALUES = """[None, True, 0, -1, 2**63, 1.5, float("nan"), float("inf"), "", "x" * 1000, [], [1, 2], (), (None,),
 {}, {"a": 1}, {1.5: 2.0}, np.float64("nan"), np.int8(3), np.zeros(()), np.zeros((0,)), np.zeros((0, 1 << 30)),
 np.ones(3, bool), np.full(4, 2**64 - 1, np.uint64), np.ones((4, 8, 64), np.float32), [[[[[[[[[[1]]]]]]]]]],
 tuple(np.ones(i) for i in range(20)), {"W1": "w", "b1": None}, {1, 2}, np.ones((2, 3)).T]"""
SWEEP_MODULE = '''import numpy as np
_VALUES = VALUES
_count = [OFFSET]


def _next():
    _count[0] += 1
    return _VALUES[_count[0] % len(_VALUES)]


def _weird(*args, **kwargs):
    """Hands every callback it was given odd arguments, then returns an odd value."""
    for a in (*args, *kwargs.values()):
        for fn in [a] * callable(a) + [getattr(a, n, None) for n in getattr(a, "names", ())]:
            try:
                fn(_next(), _next())
            except Exception:
                pass
    return _next()
'''


def sweep_submission(folder: Path, offset: int) -> None:
    import ast
    folder.mkdir(parents=True)
    for stub in sorted((ROOT / "exercises").glob("ex[0-9][0-9]_*.py")):
        names = [n.name for n in ast.parse(stub.read_text(encoding="utf-8")).body if isinstance(n, ast.FunctionDef)]
        text = SWEEP_MODULE.replace("VALUES", SWEEP_VALUES).replace("OFFSET", str(offset))
        text += "".join(f"\n\ndef {n}(*args, **kwargs):\n    return _weird(*args, **kwargs)\n" for n in names)
        (folder / stub.name).write_text(text, encoding="utf-8")


def test_a_sweep_of_wire_values_never_causes_a_grader_error(tmp_path):
    """Every function of every exercise returns, call after call, each kind of value the wire
    can carry (and some it cannot), and hands the callbacks it is offered the same: whatever
    comes back, every hidden test fails as the student's error, never as the grader's."""
    klass = tmp_path / "class"
    for k in range(6):                                   # each test's first call sees 6 of the 30 values
        sweep_submission(klass / f"s{k}", 5 * k)
    out = tmp_path / "graded"
    r = subprocess.run([sys.executable, "-m", "tt", "grade-all", str(klass), "-j", "2", "--out", str(out),
                        "--call-timeout", "5"], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "grader error" not in r.stderr, r.stderr[-3000:]
    rows = list(csv.DictReader(io.StringIO((out / "gradebook.csv").read_text())))
    assert len(rows) == 6 and all(row["total"] == "0" for row in rows), rows
    for k in range(6):
        data = json.loads((out / f"s{k}" / "results.json").read_text())
        assert "grader error" not in data["output"] and len(data["tests"]) > 90
