"""`tt export gradescope OUT.zip`: a Gradescope autograder that runs the isolated grader.

    tt export gradescope autograder.zip [--hidden-until-published] [--visibility after_due_date]

The zip holds, at its top (Gradescope unpacks it into /autograder/source/):

    setup.sh          installs Python >= 3.11 if the image lacks it, then this project with
                      its grader extra into /autograder/venv
    run_autograder    grades /autograder/submission, writes /autograder/results/results.json
    gradescope.json   the settings chosen at export (visibility)
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
import json
import os
import sys
import zipfile
from pathlib import Path

from grader.build import ROOT
from grader.report import VISIBILITIES

SETTINGS = "gradescope.json"
INCLUDE = ["pyproject.toml", "README.md", "tt", "grader", "exercises"]
EXCLUDE_PARTS = {"__pycache__", ".pytest_cache", "samples"}   # samples: near-solutions

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder's image.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
cd "$ROOT/source"
PY=python3
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    apt-get update
    apt-get install -y python3.11 python3.11-venv
    PY=python3.11
fi
"$PY" -m venv "$ROOT/venv"
"$ROOT/venv/bin/python" -m pip install --upgrade pip
"$ROOT/venv/bin/python" -m pip install -e ".[grader]"
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission. It always writes results/results.json.
set -uo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PY="${TT_PYTHON:-$ROOT/venv/bin/python}"
[ -x "$PY" ] || PY=python3
cd "$ROOT/source"
exec "$PY" -m grader.export.gradescope --root "$ROOT"
"""


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
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for text, name in ((SETUP_SH, "setup.sh"), (RUN_AUTOGRADER, "run_autograder")):
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o100755 << 16)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, text)
        zf.writestr(SETTINGS, json.dumps(settings, indent=2) + "\n")
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


def run(root) -> Path:
    """Grade root/submission and write root/results/results.json; returns its path."""
    from grader.grading import grade_submission, write_outputs
    from grader.report import Report

    root = Path(root)
    settings = json.loads((root / "source" / SETTINGS).read_text()) if (root / "source" / SETTINGS).exists() else {}
    default = settings.get("visibility", "visible")
    student = _student_id(root)
    try:
        report = grade_submission(root / "submission", student=student)
    except Exception as exc:          # noqa: BLE001  the student still gets a results.json
        report = Report(student, "Stage 10: backpropagation exercises", [],
                        notes=[f"the autograder failed (not your fault; tell your instructor): "
                               f"{type(exc).__name__}: {exc}"])
    for t in report.tests:
        if settings.get("hidden_until_published"):
            t.visibility = "after_published"
        elif t.visibility == "visible":
            t.visibility = default
    if settings.get("hidden_until_published"):
        report.visibility = "after_published"
    results, _ = write_outputs(report, root / "results")
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
