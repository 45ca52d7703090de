"""The two shell scripts of the Gradescope autograder zip (grader/export/gradescope.py
writes them): setup.sh, run once when Gradescope builds the image, and run_autograder,
run for every submission."""

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
say "image: $PRETTY_NAME; kernel $(uname -r); uid $(id -u)"
say "python3: $(command -v python3 || echo none) $(python3 --version 2>&1 | head -n 1)"
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
say "protections of the sandbox while building (each submission's run prints its own): $("$VENV/bin/python" -m grader.export.gradescope --protections 2>&1 | tail -n 1)"
# The hidden suites and the reference stay unreadable to the student code's uid even
# where the container allows neither Landlock nor a mount namespace to hide them.
chmod -R go-rwx "$ROOT/source" || die "could not make $ROOT/source private"
say "ready: $VENV ($("$VENV/bin/python" --version 2>&1))"
"""

# Gradescope runs run_autograder for every submission. A grade is written only when the
# student was graded: when the grader failed (a missing or broken venv, a grading process
# that died, tt grade's "not graded", exit 1 or 3) there is no results.json, which Gradescope
# shows as "The autograder failed to execute correctly" (no score, and the attempt is not
# counted as the student's), and the reason goes to stdout, which only instructors see.
RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this for every submission. It writes results/results.json only when the
# submission was graded; when the grader failed it writes none and says why (exit 1 or 3).
set -uo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PY="${TT_PYTHON:-$ROOT/venv/bin/python}"
RESULTS="$ROOT/results/results.json"

# What ran, first (Gradescope shows the instructor this output).
IMAGE="$( . "${TT_OS_RELEASE:-/etc/os-release}" 2>/dev/null && echo "${PRETTY_NAME:-$ID $VERSION_ID}")"
echo "run_autograder: image: ${IMAGE:-unknown (no /etc/os-release)}; kernel $(uname -r); uid $(id -u)"
echo "run_autograder: python: $PY: $("$PY" --version 2>&1 | head -n 1)"

not_graded() {           # not_graded STATUS MESSAGE: no results.json, the reason on stdout
    rm -f "$RESULTS" "$RESULTS.part"
    echo "run_autograder: NOT GRADED: $2"
    echo "run_autograder: no results.json was written, so Gradescope shows this submission's autograder as failed, with no score. Fix the cause, then regrade the submission."
    exit "$1"
}
FOR_YOU="rebuild the autograder on Gradescope and read setup.sh's output"

mkdir -p "$ROOT/results"
rm -f "$RESULTS"
if [ -d "$ROOT/source" ] && ! cd "$ROOT/source" 2>/dev/null; then
    not_graded 1 "$ROOT/source cannot be read by uid $(id -u) (setup.sh made it private to its owner, uid $(stat -c %u "$ROOT/source" 2>/dev/null || echo '?')): run the autograder as that user, or add 'chown -R $(id -u):$(id -g) $ROOT' to the image after setup.sh."
elif ! cd "$ROOT/source" 2>/dev/null; then
    not_graded 1 "$ROOT/source is missing: $FOR_YOU."
fi
if ! check="$("$PY" -c 'import numpy, pytest, tt, grader.grading' 2>&1)"; then
    not_graded 1 "the Python environment ($PY) is missing or broken: $FOR_YOU. Its error:
$(printf '%s\n' "$check" | tail -n 5)"
fi
echo "run_autograder: protections: $("$PY" -m grader.export.gradescope --protections 2>&1 | tail -n 1)"
"$PY" -m grader.export.gradescope --root "$ROOT"
status=$?
if [ "$status" = 1 ] || [ "$status" = 3 ]; then
    [ ! -e "$RESULTS" ] || not_graded "$status" "the grader reported a failure (exit status $status) but left a results.json"
    exit "$status"       # the grading step said why, and wrote no results.json
fi
if ! "$PY" -c 'import json, sys; assert isinstance(json.load(open(sys.argv[1])), dict)' "$RESULTS" 2>/dev/null; then
    not_graded 1 "the grading process stopped (exit status $status) before it wrote the results"
fi
exit 0
"""
