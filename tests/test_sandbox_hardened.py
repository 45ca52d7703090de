"""Hardened runtimes still grade: all capabilities dropped (what `docker run --cap-drop ALL`
gives) and a non-root user (`docker run --user`), reproduced with util-linux's setpriv.

The solutions of exercises 4 and 8 must get their full 14 points, with no grader error,
and the worker must keep the protections that need no capability (Landlock and seccomp,
where this kernel has them at all, as an unhardened run shows).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SELECT = "ex04 or ex08"
SETPRIV = shutil.which("setpriv")
DROP_ALL = ["--bounding-set=-all", "--inh-caps=-all", "--ambient-caps=-all"]

pytestmark = [pytest.mark.skipif(sys.platform != "linux", reason="the sandbox targets Linux"),
              pytest.mark.skipif(SETPRIV is None, reason="util-linux's setpriv is not installed: it drops the "
                                                         "capabilities and the uid for these tests")]


def grade(tmp, prefix, python=sys.executable, env=None):
    out = tmp / "out"
    r = subprocess.run([*prefix, python, "-m", "tt", "grade", str(ROOT / "solutions"), "--out", str(out),
                        "-k", SELECT, "--quiet"], capture_output=True, text=True, timeout=300, cwd=tmp,
                       env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    data = json.loads((out / "results.json").read_text())
    assert "grader error" not in data["output"], data["output"]
    return data


@pytest.fixture(scope="module")
def unhardened(tmp_path_factory):
    return grade(tmp_path_factory.mktemp("plain"), [])


def protections(data):
    line = next(n for n in data["output"].splitlines() if n.startswith("student code ran in an isolated worker"))
    return set(line.split(": ", 1)[1].split(", "))


@pytest.mark.skipif(os.geteuid() != 0, reason="dropping every capability matters for root only")
def test_all_capabilities_dropped_still_grades(tmp_path, unhardened):
    data = grade(tmp_path, [SETPRIV, *DROP_ALL])
    assert data["score"] == 14, data["output"]
    kept = protections(data)
    for name in ("landlock-fs", "seccomp", "rlimits"):
        if name in protections(unhardened):
            assert name in kept, kept


def _python_for(uid):
    """A Python 3.11 the user `uid` may run, and start again (a pyenv Python under /root is not)."""
    for candidate in (os.path.realpath(sys.executable), "/usr/bin/python3.11"):
        probe = subprocess.run([SETPRIV, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", candidate, "-c",
                                "import subprocess, sys; subprocess.run([sys.executable, '-c', ''], check=True); "
                                "print(sys.version_info[:2] == (3, 11))"],
                               capture_output=True, text=True)
        if probe.stdout.strip() == "True":
            return candidate
    return None


@pytest.mark.skipif(os.geteuid() != 0, reason="becoming another user needs root")
@pytest.mark.parametrize("caps", ["", "caps-dropped"])
def test_a_non_root_user_still_grades(request, caps, unhardened):
    python = _python_for(1000)
    if python is None:
        pytest.skip("no Python 3.11 that uid 1000 may run")
    site = next(p for p in sys.path if p.endswith("site-packages") and Path(p, "numpy").is_dir())
    probe = subprocess.run([SETPRIV, "--reuid=1000", "--regid=1000", "--clear-groups", python, "-c",
                            f"open({str(ROOT / 'tt' / '__init__.py')!r}); open({str(Path(site) / 'numpy' / '__init__.py')!r})"],
                           capture_output=True)
    if probe.returncode != 0:
        pytest.skip("this checkout or its packages are not readable by uid 1000")
    tmp_path = Path(tempfile.mkdtemp(prefix="tt-hardened-"))      # pytest's own tmp is root's only
    request.addfinalizer(lambda: shutil.rmtree(tmp_path, ignore_errors=True))
    os.chown(tmp_path, 1000, 1000)
    # the running environment's packages stand in for an installed grader
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TMPDIR": str(tmp_path),
           "PYTHONPATH": f"{ROOT}{os.pathsep}{site}"}
    data = grade(tmp_path, [SETPRIV, "--reuid=1000", "--regid=1000", "--clear-groups",
                            *(DROP_ALL if caps else [])], python=python, env=env)
    assert data["score"] == 14, data["output"]
    kept = protections(data)
    for name in ("landlock-fs", "seccomp"):
        if name in protections(unhardened):
            assert name in kept, kept
