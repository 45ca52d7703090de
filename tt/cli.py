"""The `tt` command line: one program, many subcommands.

The model's own commands (train, gradflow, gradcheck) live in `tt`. Everything an
instructor runs (grading, problem sets, exports, building the student release) lives
in `grader`, and is imported only when its subcommand is asked for, so the library
`tt` never imports `grader`.

The student edition of tt (see tt.ops.student_edition) has no grader, and its
reference backward passes are stubs: it lists neither the instructor's commands nor
the model's, and `tt train`, `tt gradflow` and `tt gradcheck` say which exercise does
the same with the student's own code instead of failing with a traceback.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys

# name -> (module, function, one-line help). Each function takes argv (list[str]) and
# returns an exit code.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "train": ("tt.train", "main", "train the reference transformer to 99% validation accuracy"),
    "gradflow": ("tt.gradflow", "main", "print the gradient-magnitude table (seed Part 7)"),
    "gradcheck": ("tt.gradcheck", "main", "check every gradient of the model against finite differences"),
    "build-exercises": ("grader.build", "main_build_exercises", "regenerate exercises/ from solutions/"),
    "release": ("grader.build", "main_release", "build the student release folder and zip"),
    "check": ("tt.check", "main", "run the public tests of one exercise (tt check 4)"),
    "grade": ("grader.cli", "main_grade", "grade one submission in isolation"),
    "grade-all": ("grader.grade_all", "main_grade_all", "grade a whole class, resumably, in parallel"),
    "demo": ("grader.cli", "main_demo", "grade the bundled sample submissions"),
    "problems": ("grader.problems.cli", "main", "randomized problem sets: generate, grade, errata"),
    "export": ("grader.export", "main", "export to nbgrader or Gradescope"),
    "report": ("grader.classreport.cli", "main", "the class report of a graded folder: scores, mistakes, similarity"),
    "similarity": ("grader.similarity.cli", "main", "which submissions look alike, exercise by exercise"),
}


# The model's commands run tt's reference backward passes, which are stubs in the
# student edition; there each says where the student's own code does the same.
NEEDS_REFERENCE: dict[str, tuple[str, str]] = {
    "train": ("exercise 15 does it with your own code: train_capstone in exercises/ex15_capstone.py "
              "trains the model with your backward passes and your Adam", "python -m tt check 15"),
    "gradflow": ("exercise 14 measures the same stages with your own code: stage_gradient_norms in "
                 "exercises/ex14_clipping_gradflow.py, given student_ops() from exercise 15",
                 "python -m tt check 14"),
    "gradcheck": ("exercise 10's check_op checks a layer against finite differences, and the tests "
                  "of exercises 9 and 15 check every gradient of the model your pieces give",
                  "python -m tt check 9 10 15"),
}


def _student_edition() -> bool:
    from tt.ops import student_edition

    return student_edition()


def _not_in_this_edition(name: str) -> str:
    instead, command = NEEDS_REFERENCE[name]
    return (f"tt {name}: not in the student edition of tt. It runs tt's reference backward "
            f"passes, and here those are yours to write.\n"
            f"  Instead, {instead}:\n"
            f"      {command}\n"
            f"  (`tt {name}` itself runs in the instructor's tt.)")


def _available(module: str) -> bool:
    """False for the instructor commands in the student release, which has no grader."""
    try:
        return importlib.util.find_spec(module.split(".")[0]) is not None
    except (ImportError, ValueError):
        return False


def _usage() -> str:
    lines = ["usage: tt <command> [options]", "", "commands:"]
    student = _student_edition()
    for name, (module, _, text) in COMMANDS.items():
        if _available(module) and not (student and name in NEEDS_REFERENCE):
            lines.append(f"  {name:<16} {text}")
    lines.append("")
    if student:
        lines.append(f"This is the student edition of tt: {', '.join(NEEDS_REFERENCE)} need the "
                     f"reference backward passes, which are yours to write.")
    lines.append("Run `tt <command> --help` for a command's options.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        try:
            print(_usage())
            sys.stdout.flush()
        except BrokenPipeError:           # `tt --help | head -1`
            return _reader_went_away()
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"tt: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    if name in NEEDS_REFERENCE and _student_edition():
        print(_not_in_this_edition(name), file=sys.stderr)
        return 2
    module_name, func_name, _ = COMMANDS[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or "?"
        hint = ""
        if missing.split(".")[0] in {"jinja2", "sympy", "nbformat"}:
            hint = "\n  install the instructor tools with:  pip install -e '.[grader]'"
        elif missing.split(".")[0] in {"matplotlib", "copydetect", "pygments"}:
            hint = "\n  install the class report's tools with:  pip install -e '.[report]'"
        elif missing.split(".")[0] == "nbgrader":
            hint = "\n  install nbgrader with:  pip install -e '.[nbgrader]'"
        print(f"tt {name}: cannot import {missing!r}{hint}", file=sys.stderr)
        return 2
    try:
        code = int(getattr(module, func_name)(rest) or 0)
        sys.stdout.flush()        # inside the try: a closed pipe shows up here, too
    except BrokenPipeError:
        return _reader_went_away()
    return code


def _reader_went_away() -> int:
    """`tt gradcheck | head`: the reader closed the pipe. Stop quietly, as `cat` does.

    Python would print a BrokenPipeError traceback, and then another when it flushes
    stdout at exit; pointing stdout at /dev/null silences the second one.
    """
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        os.close(devnull)
    return 141                    # 128 + SIGPIPE, what a shell reports for `yes | head`


if __name__ == "__main__":  # python -m tt.cli
    sys.exit(main())
