"""`tt export gradescope`: the autograder zip, unpacked into a root laid out like Gradescope's.

    $AUTOGRADER_ROOT/source/        the zip's contents (setup.sh, run_autograder, the grader)
    $AUTOGRADER_ROOT/submission/    what the student uploaded
    $AUTOGRADER_ROOT/results/       where results.json must appear

setup.sh runs here too, in such a root: with the Python running these tests (a venv of its
own, pip offline, PyPI stood in for by a wheelhouse repacked from this environment's
installed distributions, tests/wheelhouse.py), and with stand-ins for apt and for images
whose python3 is too old, lacks its venv module, or has no Python 3.11 at all. run_autograder runs as
Gradescope runs it, on the bundled samples, and with a missing, broken or dying venv.
"""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

from grader.export.gradescope import export
from grader.export.nbgrader import hidden_tests

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = {"solutions": ROOT / "solutions", "stubs": ROOT / "exercises",
           "bugs": ROOT / "grader" / "samples" / "typical_bugs"}


def hidden_points() -> float:
    """The points of every hidden test, from their markers."""
    return sum(points for n in range(1, 16) for *_, points in hidden_tests(n))


@pytest.fixture(scope="module")
def autograder(tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "autograder.zip"
    export(out)
    return out


def unpack(zip_path: Path, root: Path, submission: Path) -> Path:
    (root / "source").mkdir(parents=True)
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            zf.extract(info, root / "source")
            mode = info.external_attr >> 16
            if mode:
                os.chmod(root / "source" / info.filename, mode & 0o777)
    shutil.copytree(submission, root / "submission", ignore=shutil.ignore_patterns("__pycache__", "tests"))
    (root / "results").mkdir()
    (root / "submission_metadata.json").write_text(json.dumps({"id": 1, "users": [{"email": "ada@example.edu"}]}))
    return root


def run_autograder(root: Path) -> dict:
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "TT_PYTHON": sys.executable}
    r = subprocess.run([str(root / "source" / "run_autograder")], env=env, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    head = r.stdout.splitlines()[:3]        # what ran, first: the image, the Python, the protections
    assert head[0].startswith("run_autograder: image: ") and " kernel " in head[0], head
    assert head[1] == f"run_autograder: python: {sys.executable}: Python {sys.version.split()[0]}", head
    assert head[2].startswith("run_autograder: protections: process, timeout, "), head
    return json.loads((root / "results" / "results.json").read_text())


def test_the_zip_holds_the_grader_and_never_the_solutions(autograder):
    with zipfile.ZipFile(autograder) as zf:
        names = zf.namelist()
        modes = {i.filename: i.external_attr >> 16 for i in zf.infolist()}
    assert {"setup.sh", "run_autograder", "gradescope.json", "requirements.txt", "pyproject.toml"} <= set(names)
    for name in ("gradescope.json", "requirements.txt", "pyproject.toml", "grader/hidden/pytest.ini"):
        assert stat.S_ISREG(modes[name]) and stat.S_IMODE(modes[name]) == 0o644, (name, oct(modes[name]))
    assert any(n.startswith("grader/hidden/test_ex04") for n in names)
    assert "grader/hidden/pytest.ini" in names and any(n.startswith("grader/sandbox/") for n in names)
    assert not any(n.startswith(("solutions/", "grader/samples/")) for n in names)
    assert not any("__pycache__" in n for n in names)
    for script in ("setup.sh", "run_autograder"):
        assert modes[script] & stat.S_IXUSR
    with zipfile.ZipFile(autograder) as zf:
        setup = zf.read("setup.sh").decode()
    for script in ("setup.sh", "run_autograder"):
        with zipfile.ZipFile(autograder) as zf:
            text = zf.read(script).decode()
        r = subprocess.run(["bash", "-n"], input=text, capture_output=True, text=True)
        assert r.returncode == 0, (script, r.stderr)
    assert "pip install -r requirements.txt" in setup and "DEBIAN_FRONTEND=noninteractive" in setup


def test_requirements_are_bounded_and_hold_what_this_machine_runs(autograder):
    """Every dependency with a lower and an upper bound, and the installed version inside them."""
    from importlib.metadata import version

    from packaging.requirements import Requirement
    with zipfile.ZipFile(autograder) as zf:
        lines = zf.read("requirements.txt").decode().split()
    reqs = [Requirement(line) for line in lines]
    assert {r.name for r in reqs} == {"numpy", "pytest", "jinja2", "sympy", "nbformat"}
    for r in reqs:
        ops = {spec.operator for spec in r.specifier}
        assert ">=" in ops and "<" in ops, str(r)
        assert r.specifier.contains(version(r.name)), (str(r), version(r.name))
        upper = next(spec.version for spec in r.specifier if spec.operator == "<")
        assert int(upper.split(".")[0]) == int(version(r.name).split(".")[0]) + 1, str(r)


@pytest.mark.parametrize("sample", ["solutions", "stubs", "bugs"])
def test_run_autograder_grades_a_sample(autograder, tmp_path, sample):
    results = run_autograder(unpack(autograder, tmp_path / "autograder", SAMPLES[sample]))
    top = sum(t["max_score"] for t in results["tests"])
    assert top == hidden_points()
    if sample == "solutions":
        assert results["score"] == top
    elif sample == "stubs":
        assert results["score"] == 0
    else:
        from grader.grading import grade_submission
        assert 0 < results["score"] < top
        assert results["score"] == grade_submission(SAMPLES["bugs"], student="ada@example.edu").score
    assert {t["visibility"] for t in results["tests"]} == {"visible"}
    assert "isolated worker" in str(results["extra_data"]) and "isolated worker" not in results["output"]


def test_hidden_until_published(tmp_path):
    zip_path = export(tmp_path / "ag.zip", hidden_until_published=True)
    results = run_autograder(unpack(zip_path, tmp_path / "autograder", SAMPLES["solutions"]))
    assert results["visibility"] == "after_published"
    assert {t["visibility"] for t in results["tests"]} == {"after_published"}


def test_a_default_visibility_and_a_bad_one(tmp_path):
    zip_path = export(tmp_path / "ag.zip", visibility="after_due_date")
    with zipfile.ZipFile(zip_path) as zf:
        assert json.loads(zf.read("gradescope.json"))["visibility"] == "after_due_date"
    with pytest.raises(ValueError, match="visibility"):
        export(tmp_path / "bad.zip", visibility="sometimes")
    assert not (tmp_path / "bad.zip").exists()


def test_an_empty_submission_still_gets_results(autograder, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    results = run_autograder(unpack(autograder, tmp_path / "autograder", empty))
    assert results["score"] == 0 and "not submitted" in results["output"]


# ------------------------------------------------------------------- a nested zip
def test_a_zip_inside_the_upload_is_graded(autograder, tmp_path):
    """Gradescope unpacks the uploaded zip; a zip inside it (exercises.zip zipped again) is graded."""
    upload = tmp_path / "upload"
    upload.mkdir()
    with zipfile.ZipFile(upload / "exercises.zip", "w") as zf:
        for p in sorted(SAMPLES["solutions"].glob("ex*.py")):
            zf.write(p, f"exercises/{p.name}")
    (upload / "notes.txt").write_text("my work")
    results = run_autograder(unpack(autograder, tmp_path / "autograder", upload))
    assert results["score"] == hidden_points(), results["output"][:500]
    assert "exercises.zip" in results["output"]


def test_a_zip_without_exercises_is_named(autograder, tmp_path):
    upload = tmp_path / "upload"
    upload.mkdir()
    with zipfile.ZipFile(upload / "homework.zip", "w") as zf:
        zf.writestr("answers.txt", "42")
    results = run_autograder(unpack(autograder, tmp_path / "autograder", upload))
    assert results["score"] == 0 and "homework.zip" in results["output"] and "not submitted" in results["output"]


# ------------------------------------------- a grader failure is never a grade (issue 12 point 3)
# Gradescope's documented behaviour (autograder_samples, docs/troubleshooting.md and specs.md):
# without a valid /autograder/results/results.json it shows "The autograder failed to execute
# correctly" and no score; run_autograder's stdout is shown to instructors only. So a grader
# failure writes no results.json, says why on stdout, and exits non-zero.
def run_bare(root: Path, python: str | None, env=None) -> subprocess.CompletedProcess:
    """run_autograder as Gradescope runs it, with `python` as the venv's (None: no TT_PYTHON)."""
    env = {k: v for k, v in (env or os.environ).items() if k != "TT_PYTHON"}
    env["AUTOGRADER_ROOT"] = str(root)
    if python:
        env["TT_PYTHON"] = python
    return subprocess.run([str(root / "source" / "run_autograder")], env=env, capture_output=True, text=True,
                          timeout=600)


def assert_not_graded(root: Path, r: subprocess.CompletedProcess, status: int, *reasons: str):
    assert r.returncode == status, (r.returncode, (r.stdout + r.stderr)[-3000:])
    assert not (root / "results" / "results.json").exists()      # Gradescope: a failed autograder, no score
    assert "run_autograder: NOT GRADED: " in r.stdout, r.stdout[-3000:]
    for reason in reasons:
        assert reason in r.stdout, (reason, r.stdout[-3000:])
    first = r.stdout.splitlines()[:2]                            # what ran, first
    assert first[0].startswith("run_autograder: image: ") and first[1].startswith("run_autograder: python: "), first


def test_run_autograder_without_its_venv_is_not_graded(autograder, tmp_path):
    root = unpack(autograder, tmp_path / "autograder", SAMPLES["solutions"])
    assert not (root / "venv").exists()
    r = run_bare(root, None)
    assert_not_graded(root, r, 1, "Python environment", str(root / "venv" / "bin" / "python"), "setup.sh")


def test_run_autograder_with_a_venv_that_lacks_numpy_is_not_graded(autograder, tmp_path):
    root = unpack(autograder, tmp_path / "autograder", SAMPLES["solutions"])
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / "venv")], check=True)
    r = run_bare(root, None)
    assert_not_graded(root, r, 1, "No module named 'numpy'")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root, to run run_autograder as another user")
def test_run_autograder_as_a_user_who_cannot_read_the_source_says_how_to_fix_it(autograder):
    # A platform that runs the container as a non-root --user without chowning /autograder:
    # setup.sh made the source private to root, so the grader cannot even be read.
    base = Path(tempfile.mkdtemp(prefix="tt-gs-user-"))
    try:
        os.chmod(base, 0o755)
        root = unpack(autograder, base / "autograder", SAMPLES["solutions"])
        for d in (root, root / "submission"):
            os.chmod(d, 0o755)
        os.chmod(root / "results", 0o777)
        os.chmod(root / "source", 0o700)                         # as setup.sh leaves it
        shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
        os.chmod(root / "run_autograder", 0o755)
        env = {"PATH": os.environ["PATH"], "AUTOGRADER_ROOT": str(root), "TT_PYTHON": sys.executable}
        r = subprocess.run([str(root / "run_autograder")], env=env, capture_output=True, text=True,
                           timeout=120, user=65534, group=65534, cwd="/")
        assert_not_graded(root, r, 1, "cannot be read by uid 65534", "uid 0", "chown -R 65534:65534")
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_run_autograder_when_the_grader_dies_is_not_graded(tmp_path):
    """The environment imports, then the grading process dies without a word."""
    zip_path = export(tmp_path / "ag.zip", hidden_until_published=True)
    root = unpack(zip_path, tmp_path / "autograder", SAMPLES["solutions"])
    fake = tmp_path / "python"
    fake.write_text(f'#!/bin/sh\ncase "$2" in "import numpy"*|"grader.export.gradescope --protections") '
                    f'exec {sys.executable} "$@";; esac\n'
                    f'case "$1" in --version) exec {sys.executable} "$@";; esac\n'
                    f'echo "Segmentation fault \\"core\\" \\\\ dumped" >&2\nexit 139\n')
    fake.chmod(0o755)
    r = run_bare(root, str(fake))
    assert_not_graded(root, r, 1, "exit status 139")


BROKEN_SUITE = '''import pytest

@pytest.mark.points(1)
def test_fine():
    pass
''' + "".join(f'''
@pytest.mark.points(2)
def test_broken_{i}():
    raise TypeError("a bug in the hidden test itself")
''' for i in range(3))


def test_run_autograder_when_most_checks_fail_for_the_grader_is_not_graded(autograder, tmp_path):
    """tt grade's not-graded (exit 1): a hidden suite whose checks raise TypeError, in place
    of the real ones in the unpacked autograder. No score reaches Gradescope."""
    root = unpack(autograder, tmp_path / "autograder", SAMPLES["solutions"])
    (root / "results" / "results.json").write_text('{"score": 163}')      # an older result must not stay
    hidden = root / "source" / "grader" / "hidden"
    for p in hidden.glob("test_ex*.py"):
        p.unlink()
    (hidden / "test_ex04_layernorm.py").write_text(BROKEN_SUITE)
    r = run_bare(root, sys.executable)
    assert_not_graded(root, r, 1, "3 of the 4 checks failed for the grader's own reasons", "TypeError")
    saved = json.loads((root / "results" / "not-graded" / "results.json").read_text())
    assert saved["not_graded"] and saved["tests"] == [] and "3 of the 4 checks" in saved["not_graded"]
    assert "protections: " in r.stdout


def test_the_sandbox_refusing_is_not_graded_with_exit_3(autograder, tmp_path, monkeypatch, capsys):
    """tt grade's exit 3 (the sandbox refused to run student code): the grading step's own
    status, no results.json."""
    import grader.grading
    from grader.export import gradescope
    from grader.sandbox import InsecureSandboxError

    root = unpack(autograder, tmp_path / "autograder", SAMPLES["solutions"])
    (root / "results" / "results.json").write_text('{"score": 0}')

    def refuse(*args, **kwargs):
        raise InsecureSandboxError("the worker would keep the grader's uid with no confinement")
    monkeypatch.setattr(grader.grading, "grade_submission", refuse)
    assert gradescope.run(root) == 3
    assert not (root / "results" / "results.json").exists()
    out = capsys.readouterr().out
    assert "NOT GRADED: the worker would keep the grader's uid" in out and "exit status 3" in out
    saved = json.loads((root / "results" / "not-graded" / "results.json").read_text())
    assert "grader's uid" in saved["not_graded"]


def test_one_grader_error_among_passing_checks_is_still_graded(autograder, tmp_path):
    root = unpack(autograder, tmp_path / "autograder", SAMPLES["solutions"])
    hidden = root / "source" / "grader" / "hidden"
    for p in hidden.glob("test_ex*.py"):
        p.unlink()
    suite = "import pytest\n" + "".join(f"\n@pytest.mark.points(1)\ndef test_fine_{i}():\n    pass\n" for i in range(4))
    broken = '\n@pytest.mark.points(2)\ndef test_broken():\n    raise TypeError("a bug in the hidden test itself")\n'
    (hidden / "test_ex04_layernorm.py").write_text(suite + broken)
    r = run_bare(root, sys.executable)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 4 and "not_graded" not in results
    assert "grader error (for the instructor)" in results["output"]


# ------------------------------------------------------------------------- setup.sh
def tool_dir(path: Path, *tools: str) -> Path:
    """A folder of symlinks to the system's own `tools`, for a PATH that holds nothing else."""
    path.mkdir(parents=True)
    for tool in tools:
        os.symlink(shutil.which(tool), path / tool)
    return path


def fake(path: Path, text: str):
    path.write_text("#!/bin/bash\n" + text)
    path.chmod(0o755)


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory):
    """Stands in for PyPI: the grader's requirements (and theirs) as wheels repacked from
    the distributions installed where the tests run, so that setup.sh's pip, offline,
    installs exactly requirements.txt into its venv and nothing global is seen."""
    from grader.export.gradescope import requirements
    from wheelhouse import build
    return build(requirements(), tmp_path_factory.mktemp("wheelhouse"))


def run_setup(root: Path, path: str, wheelhouse: Path, **env) -> subprocess.CompletedProcess:
    """setup.sh in `root`, offline: pip reads no configuration file and no index, only the
    wheelhouse; the venv is a plain one (no system site-packages)."""
    env = {"AUTOGRADER_ROOT": str(root), "PATH": path, "HOME": str(root), "PIP_CONFIG_FILE": os.devnull,
           "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheelhouse), "PIP_DISABLE_PIP_VERSION_CHECK": "1", **env}
    return subprocess.run(["/bin/bash", str(root / "source" / "setup.sh")], env=env, capture_output=True, text=True,
                          timeout=900)


@pytest.mark.slow
def test_setup_sh_on_this_machine_then_run_autograder(autograder, tmp_path, wheelhouse):
    """setup.sh with the tests' Python as python3 (>= 3.11, with venv): no apt; then
    run_autograder with the venv it made grades the solutions to full marks."""
    root = unpack(autograder, tmp_path / "autograder", SAMPLES["solutions"])
    bin_ = tmp_path / "bin"                 # python3 is the tests' Python, whatever PATH holds
    bin_.mkdir()
    os.symlink(sys.executable, bin_ / "python3")
    r = run_setup(root, f"{bin_}{os.pathsep}{os.environ['PATH']}", wheelhouse, TT_OS_RELEASE="/nonexistent")
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    assert "apt" not in r.stdout and "ready:" in r.stdout
    head = r.stdout.splitlines()[:2]        # what it found, first: the image, the Python
    assert head[0].startswith("setup.sh: image: this image; kernel ") and head[1].startswith("setup.sh: python3: "), head
    assert "setup.sh: protections of the sandbox while building (each submission's run prints its own): process, " \
        in r.stdout
    for path in [root / "source", *(root / "source").rglob("*")]:   # private to the grader's uid
        assert path.stat().st_mode & 0o077 == 0, path
    r = run_bare(root, None)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == hidden_points() and "isolated worker" in str(results["extra_data"])


APT = """echo "apt-get $* DEBIAN_FRONTEND=$DEBIAN_FRONTEND" >> "$FAKE/log"
if [ "$1" = install ]; then
    for p in "$@"; do
        case "$p" in
            python3.1[0-9]) ln -sf "$REAL_PY" "$FAKE/bin/$p" ;;
            *venv) touch "$FAKE/venv-installed" ;;
        esac
    done
fi
"""
APT_CACHE = """# apt-cache policy NAME
echo "$2:"
for p in $CANDIDATES; do [ "$p" = "$2" ] && { echo "  Candidate: 3.11.4-1"; exit 0; }; done
echo "  Candidate: (none)"
"""


def fake_image(tmp_path: Path, python3: str, candidates: str, os_release: str) -> dict:
    """A PATH with apt-get, apt-cache, add-apt-repository stand-ins that log what they are asked."""
    root = tmp_path / "fake"
    bin_ = tool_dir(root / "bin", "grep", "rm", "id", "tr", "tail", "head", "ln", "touch", "chmod", "uname")
    fake(bin_ / "apt-get", APT)
    fake(bin_ / "apt-cache", APT_CACHE)
    fake(bin_ / "add-apt-repository", 'echo "add-apt-repository $*" >> "$FAKE/log"; exit 1\n')
    fake(bin_ / "python3", python3)
    (root / "log").touch()
    (root / "os-release").write_text(os_release)
    return {"PATH": str(bin_), "FAKE": str(root), "REAL_PY": sys.executable, "CANDIDATES": candidates,
            "TT_OS_RELEASE": str(root / "os-release")}


UBUNTU_2204 = 'ID=ubuntu\nVERSION_ID="22.04"\nPRETTY_NAME="Ubuntu 22.04.4 LTS"\n'
UBUNTU_1804 = 'ID=ubuntu\nVERSION_ID="18.04"\nPRETTY_NAME="Ubuntu 18.04.6 LTS"\n'


@pytest.mark.slow
def test_setup_sh_installs_python_311_where_python3_is_older(autograder, tmp_path, wheelhouse):
    """An Ubuntu 22.04 image: python3 is 3.10; apt has python3.11."""
    root = unpack(autograder, tmp_path / "autograder", SAMPLES["solutions"])
    env = fake_image(tmp_path, "exit 1\n", "python3.11 python3.11-venv", UBUNTU_2204)
    r = run_setup(root, env.pop("PATH"), wheelhouse, **env)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    log = (tmp_path / "fake" / "log").read_text().splitlines()
    assert log == ["apt-get update -q DEBIAN_FRONTEND=noninteractive",
                   "apt-get install -y -q --no-install-recommends python3.11 python3.11-venv "
                   "DEBIAN_FRONTEND=noninteractive"], log
    assert os.path.realpath(root / "venv" / "bin" / "python") == os.path.realpath(sys.executable)


@pytest.mark.slow
def test_setup_sh_installs_the_venv_module_where_it_is_missing(autograder, tmp_path, wheelhouse):
    """An Ubuntu 24.04 image: python3 is new enough, but without python3.X-venv it has no ensurepip."""
    root = unpack(autograder, tmp_path / "autograder", SAMPLES["solutions"])
    python3 = ('if [ ! -e "$FAKE/venv-installed" ]; then\n'
               '    case "$*" in *ensurepip*|*"-m venv"*) echo "No module named ensurepip" >&2; exit 1;; esac\n'
               'fi\nexec "$REAL_PY" "$@"\n')
    env = fake_image(tmp_path, python3, "", UBUNTU_2204)
    r = run_setup(root, env.pop("PATH"), wheelhouse, **env)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    version = "%d.%d" % sys.version_info[:2]
    log = (tmp_path / "fake" / "log").read_text().splitlines()
    assert log == ["apt-get update -q DEBIAN_FRONTEND=noninteractive",
                   f"apt-get install -y -q --no-install-recommends python{version}-venv DEBIAN_FRONTEND=noninteractive"]
    assert "cannot make a virtual environment" in r.stdout and (root / "venv" / "bin" / "python").exists()


def test_setup_sh_stops_clearly_on_an_image_too_old(autograder, tmp_path, wheelhouse):
    """An Ubuntu 18.04 image: no Python 3.11 in apt, and deadsnakes does not serve it any more."""
    root = unpack(autograder, tmp_path / "autograder", SAMPLES["solutions"])
    env = fake_image(tmp_path, "exit 1\n", "software-properties-common gnupg ca-certificates", UBUNTU_1804)
    r = run_setup(root, env.pop("PATH"), wheelhouse, **env)
    assert r.returncode != 0
    assert "Ubuntu 18.04.6 LTS" in r.stderr and "22.04 or 24.04" in r.stderr, r.stderr
    log = (tmp_path / "fake" / "log").read_text()
    assert "add-apt-repository -y ppa:deadsnakes/ppa" in log
    assert not (root / "venv").exists()
