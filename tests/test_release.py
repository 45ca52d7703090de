"""The student release: what it holds, what it must not, and that it works on its own."""
import os
import re
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.build import BEGIN, END, build_release, solution_regions

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    folder, zip_path = build_release(out)
    unpacked = tmp_path_factory.mktemp("unpacked")
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(unpacked)
    return folder, zip_path, unpacked / "tt-exercises"


def normalize(line):
    line = line.split("#", 1)[0] if not line.lstrip().startswith(("'", '"')) else line
    return re.sub(r"\s+", " ", line).strip()


def source_files():
    for folder in ("tt", "solutions"):
        yield from sorted((ROOT / folder).glob("*.py"))


def solution_lines():
    """Every line of code inside a solution region, normalized, with where it comes from."""
    inside, outside = {}, set()
    for path in source_files():
        lines = path.read_text().splitlines()
        marked = set()
        for r in solution_regions("\n".join(lines), str(path)):
            for i in range(r.begin + 1, r.end):
                marked.add(i)
                text = normalize(lines[i])
                if text:
                    inside.setdefault(text, f"{path.relative_to(ROOT)}:{i + 1}")
        outside.update(normalize(l) for i, l in enumerate(lines) if i not in marked)
    for path in (ROOT / "exercises").rglob("*.py"):
        outside.update(normalize(l) for l in path.read_text().splitlines())
    return inside, outside


def test_release_layout(release):
    folder, zip_path, unpacked = release
    names = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert {"README.md", "requirements.txt", "tt/__init__.py", "tt/layers.py",
            "exercises/ex04_layernorm.py", "exercises/tests/harness.py",
            "exercises/tests/conftest.py"} <= names
    assert not any(n.startswith(("solutions/", "grader/", "tests/")) for n in names)
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    with zipfile.ZipFile(zip_path) as zf:
        assert sorted(zf.namelist()) == sorted(f"tt-exercises/{n}" for n in names)


def test_release_is_reproducible(release, tmp_path):
    _, zip_path, _ = release
    _, again = build_release(tmp_path)
    assert again.read_bytes() == zip_path.read_bytes()


def test_no_solution_body_appears_in_the_release(release):
    """Neither from solutions/ nor from tt's marked backward passes, whole or line by line."""
    folder, _, _ = release
    inside, outside = solution_lines()
    # a line that also appears outside every region (e.g. `B, T, C = x.shape`) tells nothing
    distinctive = {text: where for text, where in inside.items() if text not in outside and len(text) > 8}
    assert len(distinctive) > 100          # the check has something to look for
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        assert BEGIN not in text and END not in text, path
        for line in text.splitlines():
            n = normalize(line)
            assert n not in distinctive, (f"{path.relative_to(folder)} contains solution code "
                                          f"from {distinctive[n]}: {n!r}")


def test_student_tt_is_stubbed_but_forward_works(release):
    folder, _, unpacked = release
    code = ("import numpy as np, tt\n"
            "p = tt.init_params(); toks = np.array([tt.encode('Max(1,6,2)')])\n"
            "assert tt.forward(p, toks).shape == (1, 20)\n"
            "try:\n    tt.loss_and_grads(p, toks, np.array([8]))\nexcept NotImplementedError as e:\n"
            "    print('stub:', e)\n")
    r = run_isolated(unpacked, ["-c", code])
    assert r.returncode == 0, r.stderr
    assert "stub: Exercise 1: softmax_cross_entropy_backward" in r.stdout
    text = (folder / "tt" / "layers.py").read_text()
    assert 'raise NotImplementedError("Exercise 4: layernorm_backward (write it in exercises/ex04_layernorm.py)")' in text


def run_isolated(cwd, args):
    """Python in `cwd` that sees the release, NumPy and pytest, but not this repository.

    -S skips site.py, so the editable install's import hook for tt, grader and
    solutions is never loaded; site-packages goes on the path after the release.
    """
    paths = [p for p in site.getsitepackages() if os.path.isdir(p)]
    boot = (f"import sys; sys.path[:0] = ['']; sys.path += {paths!r}\n"
            "import importlib.util as u\n"
            "leaks = [m for m in ('solutions', 'grader') if u.find_spec(m)]\n"
            "assert not leaks, f'the repository is importable: {leaks}'\n")
    if args[0] == "-c":
        cmd = [sys.executable, "-S", "-c", boot + args[1]]
    else:   # pytest
        cmd = [sys.executable, "-S", "-c", boot + f"import pytest; sys.exit(pytest.main({args!r}))"]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=1800, env=env)


def junit(path):
    import xml.etree.ElementTree as ET
    out = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        bad = case.find("failure") if case.find("failure") is not None else case.find("error")
        skipped = case.find("skipped")
        out[case.get("name")] = ("failed" if bad is not None else "skipped" if skipped is not None
                                 else "passed", "" if bad is None else (bad.get("message") or "") + (bad.text or ""))
    return out


def test_public_tests_run_from_the_unpacked_release(release, tmp_path):
    _, _, unpacked = release
    # as released: every test fails, and only because the stubs are not written yet
    r = run_isolated(unpacked, ["exercises", "-q", "-p", "no:cacheprovider", f"--junitxml={tmp_path / 'a.xml'}"])
    results = junit(tmp_path / "a.xml")
    assert results, r.stdout[-2000:] + r.stderr[-2000:]
    for name, (outcome, message) in results.items():
        assert outcome == "failed" and "NotImplementedError" in message, f"{name}: {outcome}\n{message[:600]}"
    # a student who has done everything: copy the solutions over the stubs
    done = tmp_path / "done"
    shutil.copytree(unpacked, done)
    for path in (ROOT / "solutions").glob("ex*.py"):
        shutil.copyfile(path, done / "exercises" / path.name)
    r = run_isolated(done, ["exercises", "-q", "-p", "no:cacheprovider", f"--junitxml={tmp_path / 'b.xml'}"])
    results = junit(tmp_path / "b.xml")
    failing = {k: v for k, v in results.items() if v[0] != "passed"}
    assert results and not failing, "\n".join(f"{k}: {v[1][:800]}" for k, v in failing.items())
