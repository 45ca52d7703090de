"""`tt export gradescope OUT.zip`: a Gradescope autograder that runs the isolated grader.

    tt export gradescope autograder.zip [--hidden-until-published] [--visibility after_due_date]

The zip holds, at its top (Gradescope unpacks it into /autograder/source/):

    setup.sh          installs Python >= 3.11 (and its venv module) if the image lacks it,
                      makes /autograder/venv and installs requirements.txt into it
    run_autograder    grades /autograder/submission, writes /autograder/results/results.json;
                      when the grader fails (tt grade's not graded, a missing or broken
                      venv, a grader that dies) it writes none, so that Gradescope shows a
                      failed autograder and no score, and says why on stdout (exit 1 or 3)
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
from grader.export.gradescope_scripts import RUN_AUTOGRADER, SETUP_SH
from grader.report import VISIBILITIES

SETTINGS = "gradescope.json"
INCLUDE = ["pyproject.toml", "README.md", "tt", "grader", "exercises"]
EXCLUDE_PARTS = {"__pycache__", ".pytest_cache", "samples"}   # samples: near-solutions

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


NOT_GRADED_DIR = "not-graded"      # results/not-graded/: tt grade's not-graded results, for the instructor


def not_graded(root: Path, student: str, reason: str, code: int) -> int:
    """No results.json, so that Gradescope shows "The autograder failed to execute correctly"
    (its documented answer to a missing results.json) instead of a score; the reason on
    stdout, which Gradescope shows the instructor only; tt grade's not-graded results in
    results/not-graded/. Returns tt grade's exit status (1 or 3)."""
    from grader.grading import write_not_graded

    results = root / "results"
    (results / "results.json").unlink(missing_ok=True)
    written, _ = write_not_graded(results / NOT_GRADED_DIR, student, reason)
    print(f"run_autograder: NOT GRADED: {reason} (tt grade's exit status {code})\n"
          f"run_autograder: no results.json was written, so Gradescope shows this submission's autograder as "
          f"failed, with no score; {written} holds tt grade's not-graded results. Fix the cause, then "
          f"regrade the submission.", flush=True)
    return code


def run(root) -> int:
    """Grade root/submission and write root/results/results.json: exit status 0. When the
    grader, not the student, failed (tt grade's exit 1) or the sandbox refused to run
    student code (exit 3): no results.json, and that status (see not_graded)."""
    from grader.cli import EXIT_GRADER_FAILED, EXIT_REFUSED
    from grader.grading import grade_submission, write_outputs
    from grader.report import instructor_text, write_gradescope_json
    from grader.sandbox import InsecureSandboxError

    root = Path(root)
    settings = json.loads((root / "source" / SETTINGS).read_text()) if (root / "source" / SETTINGS).exists() else {}
    default = settings.get("visibility", "visible")
    student = _student_id(root)
    try:
        submission, notes = upload(root / "submission")
        report = grade_submission(submission, student=student)
        report.notes[:0] = notes
    except InsecureSandboxError as exc:
        return not_graded(root, student, str(exc), EXIT_REFUSED)
    except Exception as exc:          # noqa: BLE001  the grader's failure, never the student's grade
        return not_graded(root, student, f"the grader failed: {type(exc).__name__}: {exc}", EXIT_GRADER_FAILED)
    for t in report.tests:
        if settings.get("hidden_until_published"):
            t.visibility = "after_published"
        elif t.visibility is None:        # unset: an explicit @pytest.mark.visibility wins
            t.visibility = default
    if settings.get("hidden_until_published"):
        report.visibility = "after_published"
    results, _ = write_outputs(report, root / "results")
    write_gradescope_json(report, results)    # the student's view: titles; the sandbox in extra_data
    print(instructor_text(report), flush=True)  # run_autograder's stdout: only instructors see it
    print(f"run_autograder: graded: {report.score:g} of {report.max_score:g} points in "
          f"{report.execution_time:.1f} s; wrote {results}", flush=True)
    return 0


def protections() -> str:
    """What a sandbox worker gets on this machine (a worker is started and stopped), or
    why the sandbox refuses to run student code here."""
    import tempfile

    from grader.sandbox import InsecureSandboxError, Sandbox

    with tempfile.TemporaryDirectory(prefix="tt-probe-") as empty:
        try:
            with Sandbox(empty) as sb:
                return ", ".join(sb.protections)
        except InsecureSandboxError as exc:
            return f"NONE USABLE: the sandbox refuses to run student code here: {exc}"
        except Exception as exc:      # noqa: BLE001  said, not raised: this is a report
            return f"unknown: the sandbox did not start: {type(exc).__name__}: {exc}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m grader.export.gradescope",
                                 description="run_autograder's grading step (inside Gradescope's container)")
    ap.add_argument("--root", default=os.environ.get("AUTOGRADER_ROOT", "/autograder"))
    ap.add_argument("--protections", action="store_true",
                    help="only print the protections a sandbox worker gets here")
    args = ap.parse_args(argv)
    if args.protections:
        print(protections())
        return 0
    return run(args.root)


if __name__ == "__main__":
    sys.exit(main())
