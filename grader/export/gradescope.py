"""`tt export gradescope OUT.zip`: a Gradescope autograder that runs the isolated grader.

    tt export gradescope autograder.zip [--hidden-until-published] [--visibility after_due_date]

The zip holds, at its top (Gradescope unpacks it into /autograder/source/):

    setup.sh          installs Python >= 3.11 (and its venv module) if the image lacks it,
                      makes /autograder/venv and installs requirements.txt into it
    run_autograder    grades /autograder/submission, writes /autograder/results/results.json;
                      with a missing or broken venv, or a grader that dies, the shell
                      writes a results.json that says so (score 0)
    gradescope.json   the settings chosen at export (visibility)
    requirements.txt  the grader's dependencies, bounded (see requirements())
    pyproject.toml, README.md, tt/, grader/ (with the hidden suites and the sandbox),
    exercises/        the stubs: the grader takes the exercise file names from them

and never solutions/. Each submission runs in its own container on Gradescope's fleet;
inside it, the student's code still runs only in the sandbox worker, as with `tt grade`.
AUTOGRADER_ROOT (default /autograder) moves the whole layout, for testing.

Visibility: a hidden test's own @pytest.mark.visibility wins; the others get
--visibility (default "visible"). --hidden-until-published sets every test, and the
result as a whole, to "after_published": students see nothing until the instructor
publishes the grades.
"""
from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import re
import sys
import time
import tomllib
import zipfile
from pathlib import Path, PurePosixPath

from grader.build import ROOT
from grader.report import VISIBILITIES

SETTINGS = "gradescope.json"
INCLUDE = ["pyproject.toml", "README.md", "tt", "grader", "exercises"]
EXCLUDE_PARTS = {"__pycache__", ".pytest_cache", "samples"}   # samples: near-solutions

# Gradescope runs setup.sh once, as root, when it builds the image. Tested base images:
# Ubuntu 22.04 (python3.11 from apt) and 24.04 (its own python3.12); Ubuntu 20.04 gets
# python3.11 from the deadsnakes PPA; anything else stops with a message saying so.
# TT_VENV_OPTIONS and TT_OS_RELEASE exist for tests/test_gradescope.py.
SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image: it makes
# $ROOT/venv with Python >= 3.11 and installs requirements.txt (the grader's dependencies,
# with bounds) into it. Base images: Ubuntu 22.04 or 24.04 (20.04 through deadsnakes).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
ROOT="${AUTOGRADER_ROOT:-/autograder}"
VENV="$ROOT/venv"
cd "$ROOT/source"

say() { echo "setup.sh: $*"; }
die() { echo "setup.sh: ERROR: $*" >&2; exit 1; }

ID="" VERSION_ID="" PRETTY_NAME="this image"
if [ -r "${TT_OS_RELEASE:-/etc/os-release}" ]; then
    . "${TT_OS_RELEASE:-/etc/os-release}"
fi
SUPPORTED="choose the Ubuntu 22.04 or 24.04 base image in Configure Autograder"
SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

APT_UPDATED=""
apt_update() {
    command -v apt-get >/dev/null 2>&1 || return 1
    [ -n "$APT_UPDATED" ] || { $SUDO apt-get update -q && APT_UPDATED=1; }
}
apt_has() {              # apt_has PACKAGE: apt has a version of it to install
    command -v apt-cache >/dev/null 2>&1 && apt-cache policy "$1" 2>/dev/null | grep -q 'Candidate: [0-9]'
}
apt_install() {
    apt_update && $SUDO apt-get install -y -q --no-install-recommends "$@"
}

good_python() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; }
find_python() {
    local name
    for name in python3 python3.13 python3.12 python3.11; do
        if command -v "$name" >/dev/null 2>&1 && good_python "$name"; then
            command -v "$name"
            return 0
        fi
    done
    return 1
}
install_python() {
    local v
    apt_update || return 1
    for v in 3.12 3.11; do
        if apt_has "python$v"; then
            apt_install "python$v" "python$v-venv" && return 0
        fi
    done
    if [ "$ID" = ubuntu ]; then  # 20.04 has no Python 3.11 of its own
        say "no Python >= 3.11 in the apt sources of $PRETTY_NAME: adding the deadsnakes PPA"
        apt_install software-properties-common gnupg ca-certificates || return 1
        $SUDO add-apt-repository -y ppa:deadsnakes/ppa || return 1
        APT_UPDATED=""
        apt_update && apt_has python3.11 && apt_install python3.11 python3.11-venv
    else
        return 1
    fi
}

PY="$(find_python)" || {
    say "$PRETTY_NAME has no Python >= 3.11: installing one with apt"
    install_python || die "could not install Python >= 3.11 on $PRETTY_NAME: $SUPPORTED"
    PY="$(find_python)" || die "Python >= 3.11 was installed but cannot be run: $SUPPORTED"
}
VER="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
say "using $PY (Python $VER)"

make_venv() {            # the venv, with a pip that runs
    rm -rf "$VENV"
    "$PY" -c 'import ensurepip, venv' >/dev/null 2>&1 &&
        "$PY" -m venv ${TT_VENV_OPTIONS:-} "$VENV" &&
        "$VENV/bin/python" -m pip --version >/dev/null 2>&1
}
if ! make_venv; then     # Debian and Ubuntu ship ensurepip and venv in python3.X-venv
    say "$PY cannot make a virtual environment (no ensurepip): installing python$VER-venv"
    apt_install "python$VER-venv" || apt_install python3-venv ||
        die "could not install python$VER-venv (or python3-venv) for $PY: $SUPPORTED"
    make_venv || die "$PY still cannot make a virtual environment in $VENV"
fi

"$VENV/bin/python" -m pip install -q --upgrade pip || say "could not upgrade pip; going on with the one there is"
"$VENV/bin/python" -m pip install -r requirements.txt ||
    die "pip could not install requirements.txt (the image needs the network while it is built)"
"$VENV/bin/python" -c 'import numpy, pytest, tt, grader.grading' ||
    die "the grader does not import in $VENV"
# The hidden suites and the reference stay unreadable to the student code's uid even
# where the container allows neither Landlock nor a mount namespace to hide them.
chmod -R go-rwx "$ROOT/source" || die "could not make $ROOT/source private"
say "ready: $VENV ($("$VENV/bin/python" --version 2>&1))"
"""

# Gradescope runs run_autograder for every submission. The grading is Python's, but if
# the venv is missing or broken, or the grader dies, the shell still writes a valid
# results.json that says what happened (a score of 0 and a message, no Python needed).
RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this for every submission. It always writes results/results.json.
set -uo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PY="${TT_PYTHON:-$ROOT/venv/bin/python}"
RESULTS="$ROOT/results/results.json"

json_text() {            # stdin -> the inside of a JSON string (printable ASCII only)
    local s
    s="$(LC_ALL=C tr -cd '\11\12\15\40-\176')"
    s="${s//\\/\\\\}"
    s="${s//\"/\\\"}"
    s="${s//$'\t'/\\t}"
    s="${s//$'\r'/}"
    s="${s//$'\n'/\\n}"
    printf '%s' "$s"
}
fail() {                 # fail MESSAGE: results.json with a score of 0 and the message
    local visibility=""
    if grep -q '"hidden_until_published": true' "$ROOT/source/gradescope.json" 2>/dev/null; then
        visibility=', "visibility": "after_published"'
    fi
    mkdir -p "$ROOT/results"
    printf '{"score": 0, "output": "%s", "tests": []%s}\n' "$(printf '%s' "$1" | json_text)" "$visibility" \
        > "$RESULTS.part" && mv -f "$RESULTS.part" "$RESULTS"
    echo "run_autograder: $1" >&2
}
NOT_YOURS="This is not a problem with your submission: tell your instructor. (For the instructor: rebuild the autograder on Gradescope and read setup.sh's output.)"

mkdir -p "$ROOT/results"
if ! cd "$ROOT/source" 2>/dev/null; then
    fail "The autograder could not run: $ROOT/source is missing. $NOT_YOURS"
    exit 0
fi
if ! check="$("$PY" -c 'import numpy, pytest, tt, grader.grading' 2>&1)"; then
    fail "The autograder could not run: its Python environment ($PY) is missing or broken. $NOT_YOURS
$(printf '%s\n' "$check" | tail -n 5)"
    exit 0
fi
rm -f "$RESULTS"
"$PY" -m grader.export.gradescope --root "$ROOT"
status=$?
if ! "$PY" -c 'import json, sys; assert isinstance(json.load(open(sys.argv[1])), dict)' "$RESULTS" 2>/dev/null; then
    fail "The autograder stopped (exit status $status) before it wrote your results. $NOT_YOURS"
fi
exit 0
"""


def requirements() -> str:
    """setup.sh's requirements.txt: the library's and the grader extra's dependencies,
    each with pyproject's lower bound and below the next major version of the one this
    machine has (the one the export was tested with), so that a new major release
    cannot change the grader under a course that is running."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = []
    for spec in [*project["dependencies"], *project["optional-dependencies"]["grader"]]:
        name = re.match(r"[A-Za-z0-9_.-]+", spec).group(0)
        if "<" not in spec:
            try:
                major = int(importlib.metadata.version(name).split(".")[0])
            except (importlib.metadata.PackageNotFoundError, ValueError):
                major = None
            if major is not None:
                spec += f",<{major + 1}"
        lines.append(spec)
    return "\n".join(dict.fromkeys(lines)) + "\n"


def _files():
    for name in INCLUDE:
        path = ROOT / name
        if path.is_file():
            yield path, name
            continue
        for p in sorted(path.rglob("*")):
            rel = p.relative_to(ROOT)
            if p.is_file() and not (EXCLUDE_PARTS & set(rel.parts)) and p.suffix not in (".pyc",):
                yield p, rel.as_posix()


def export(out_zip, visibility: str = "visible", hidden_until_published: bool = False) -> Path:
    """Write the autograder zip (atomically: a temporary file, then a rename)."""
    if visibility not in VISIBILITIES:
        raise ValueError(f"--visibility must be one of {', '.join(VISIBILITIES)}, not {visibility!r}")
    out = Path(out_zip)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    settings = {"visibility": "after_published" if hidden_until_published else visibility,
                "hidden_until_published": hidden_until_published}
    written = [(SETUP_SH, "setup.sh", 0o755), (RUN_AUTOGRADER, "run_autograder", 0o755),
               (json.dumps(settings, indent=2) + "\n", SETTINGS, 0o644), (requirements(), "requirements.txt", 0o644)]
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for text, name, mode in written:
            info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
            info.external_attr = (0o100000 | mode) << 16        # a regular file, with its mode
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, text)
        for path, arc in _files():
            zf.write(path, arc)
    os.replace(tmp, out)
    return out


# --------------------------------------------------------------- inside the container
def _student_id(root: Path) -> str:
    """The submitter from Gradescope's submission_metadata.json (for the inputs' seed)."""
    try:
        meta = json.loads((root / "submission_metadata.json").read_text())
        user = (meta.get("users") or [{}])[0]
        return str(user.get("email") or user.get("name") or meta.get("id") or "student")
    except (OSError, ValueError, AttributeError, IndexError):
        return "student"


EXERCISE_NAME = re.compile(r"ex\d\d_\w+\.(py|ipynb)$")
MAX_LOOK = 2000                     # entries of the upload looked at


def _upload_files(folder: Path, depth: int = 3) -> list[Path]:
    """The regular files of the upload, at most `depth` folders down (no symlinks followed)."""
    found, stack = [], [(folder, 0)]
    while stack and len(found) < MAX_LOOK:
        here, level = stack.pop()
        try:
            children = sorted(here.iterdir())
        except OSError:
            continue
        for child in children:
            if child.is_symlink():
                continue
            if child.is_dir() and level < depth:
                stack.append((child, level + 1))
            elif child.is_file():
                found.append(child)
    return found


def upload(folder: Path) -> tuple[Path, list[str]]:
    """What to grade in Gradescope's submission folder, and a note for the student.

    Gradescope unpacks an uploaded zip into the folder. A zip inside that zip (say
    exercises.zip, zipped twice) is not unpacked: when the folder holds no exercise file,
    the zip in it is graded instead (the first one that holds exercise files)."""
    files = _upload_files(folder)
    if any(EXERCISE_NAME.match(p.name) for p in files):
        return folder, []
    zips = [p for p in files if p.suffix.lower() == ".zip" and zipfile.is_zipfile(p)]
    for z in zips:
        try:
            with zipfile.ZipFile(z) as zf:
                if any(EXERCISE_NAME.match(PurePosixPath(n).name) for n in zf.namelist()[:MAX_LOOK]):
                    rest = [str(o.relative_to(folder)) for o in zips if o != z]
                    return z, [f"graded {z.relative_to(folder)}, the zip inside your upload"
                               + (f" (not {', '.join(rest)})" if rest else "")]
        except (OSError, zipfile.BadZipFile, RuntimeError, ValueError):
            continue
    if zips:
        return folder, [f"your upload holds {', '.join(str(z.relative_to(folder)) for z in zips)}, with no "
                        f"exercise file (exNN_<topic>.py or .ipynb) in it"]
    return folder, ["upload your exercise files (exNN_<topic>.py, or the notebooks exNN_<topic>.ipynb), or one "
                    "zip of them" if not files else "your upload holds no exercise file (exNN_<topic>.py or .ipynb)"]


def run(root) -> Path:
    """Grade root/submission and write root/results/results.json; returns its path."""
    from grader.grading import grade_submission, write_outputs
    from grader.report import Report, instructor_text, write_gradescope_json

    root = Path(root)
    settings = json.loads((root / "source" / SETTINGS).read_text()) if (root / "source" / SETTINGS).exists() else {}
    default = settings.get("visibility", "visible")
    student = _student_id(root)
    try:
        submission, notes = upload(root / "submission")
        report = grade_submission(submission, student=student)
        report.notes[:0] = notes
    except Exception as exc:          # noqa: BLE001  the student still gets a results.json
        report = Report(student, "Stage 10: backpropagation exercises", [],
                        notes=[f"the autograder failed (not your fault; tell your instructor): "
                               f"{type(exc).__name__}: {exc}"])
    for t in report.tests:
        if settings.get("hidden_until_published"):
            t.visibility = "after_published"
        elif t.visibility is None:        # unset: an explicit @pytest.mark.visibility wins
            t.visibility = default
    if settings.get("hidden_until_published"):
        report.visibility = "after_published"
    results, _ = write_outputs(report, root / "results")
    write_gradescope_json(report, results)    # the student's view: titles; the sandbox in extra_data
    print(instructor_text(report))            # run_autograder's stdout: only instructors see it
    return results


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m grader.export.gradescope",
                                 description="run_autograder's grading step (inside Gradescope's container)")
    ap.add_argument("--root", default=os.environ.get("AUTOGRADER_ROOT", "/autograder"))
    args = ap.parse_args(argv)
    print(f"wrote {run(args.root)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
