"""`tt problems ...`: randomized per-student problem sets (docs/problem-sets.md).

    tt problems generate --roster roster.csv --out sets/ --secret-file secret.txt [--pdf]
    tt problems grade answers/ --roster roster.csv --secret-file secret.txt --out grades/
    tt problems errata [--out docs/errata.md] [--check]
    tt problems preview [--student ID --secret-file F] [--show md|answers|key]

Exit codes: 0 success; 1 grading finished but something was reported in
grading_errors.txt (unknown, unreadable or other files, unknown keys, answers files
naming another variant, answers that could not be checked), or `errata --check` found a
difference, or `generate --pdf` could not print some sets (the others are printed); 2 bad
input (roster, secret, options, `--pdf` with no Chromium on PATH, or a secret/assignment
under which most answers files name other variants).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader.problems import build_set
from grader.problems.errata import ERRATA, SEED, errata_text
from grader.problems.generate import generate
from grader.problems.grading_manual import SheetError
from grader.problems.grading import ANSWER_TIMEOUT, STUDENT_TIMEOUT, WrongSecret, grade
from grader.problems.render import key_rows, render_answers, render_markdown
from grader.problems.roster import RosterError, Student, read_roster
from grader.problems.variants import student_seed, variant_id
from grader.report import VISIBILITIES
from tt.io import atomic_write_text

DEFAULT_ASSIGNMENT = "stage10"
MIN_SECRET_BYTES = 16


class UsageError(Exception):
    pass


def _secret(args) -> str:
    if getattr(args, "variant0", False):
        return ""                     # variant 0 needs no secret: it is the seed's numbers
    if args.secret is not None and args.secret_file is not None:
        raise UsageError("give --secret or --secret-file, not both")
    if args.secret_file is not None:
        try:
            secret = Path(args.secret_file).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read the secret file {args.secret_file}: {exc}") from None
    elif args.secret is not None:
        secret = args.secret
    else:
        raise UsageError("a course secret is needed: --secret-file FILE (or --secret S)")
    if not secret:
        raise UsageError("the course secret is empty")
    size = len(secret.encode("utf-8"))
    if size < MIN_SECRET_BYTES:
        print(f"tt problems: warning: the course secret is only {size} "
              f"byte{'' if size == 1 else 's'}; use at least {MIN_SECRET_BYTES} random bytes (python -c \"import secrets; "
              "print(secrets.token_hex(32))\"). Every set prints 48 bits of the secret's "
              "HMAC as its variant id, enough to test guesses of a short secret offline.",
              file=sys.stderr)
    return secret


def _add_secret(p: argparse.ArgumentParser) -> None:
    p.add_argument("--secret", help="the course secret (prefer --secret-file: a command line "
                   "is visible to other users)")
    p.add_argument("--secret-file", help="a file holding the course secret")
    p.add_argument("--assignment", default=DEFAULT_ASSIGNMENT,
                   help=f"assignment name, part of every student's seed (default "
                        f"{DEFAULT_ASSIGNMENT})")
    p.add_argument("--variant0", action="store_true",
                   help="give every student variant 0, the seed's own numbers (a demo or a "
                        "dry run; no secret needed)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tt problems", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="every student's set (md, html, ipynb, answers.txt) "
                       "and the answer key")
    g.add_argument("--roster", required=True, help="CSV with student_id[, name, email]")
    g.add_argument("--out", required=True, help="output folder")
    _add_secret(g)
    g.add_argument("--jobs", type=int, default=None, help="worker processes (default: CPUs)")
    g.add_argument("--force", action="store_true", help="rewrite sets that already exist")
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    g.add_argument("--pdf", action="store_true",
                   help="also print each set to problem_set.pdf (needs Chromium on PATH)")

    r = sub.add_parser("grade", help="grade a folder of answers files")
    r.add_argument("answers_dir", help="folder of answers files (*.txt, searched recursively)")
    r.add_argument("--roster", required=True)
    r.add_argument("--out", required=True, help="output folder for results and the gradebook")
    _add_secret(r)
    r.add_argument("--reveal-key", action="store_true",
                   help="show the exact answer next to wrong answers in the feedback")
    r.add_argument("--visibility", default="visible", choices=VISIBILITIES,
                   help="Gradescope visibility of each test (default visible)")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.add_argument("--jobs", type=int, default=None,
                   help="students graded at once, each in its own process (default: CPUs)")
    r.add_argument("--force", action="store_true",
                   help="regrade everyone (by default a re-run reuses every student whose "
                        "answers files, variant, options and grader are unchanged)")
    r.add_argument("--answer-timeout", type=float, default=ANSWER_TIMEOUT,
                   help=f"CPU seconds to check one answer; a slower one scores 0 as unreadable "
                        f"(default {ANSWER_TIMEOUT:g})")
    r.add_argument("--manual", metavar="SHEET.csv",
                   help="merge the points filled into a manual grading sheet (OUT/"
                        "manual_grading.csv, written by every run) for the free-text answers")
    r.add_argument("--student-timeout", type=float, default=STUDENT_TIMEOUT,
                   help=f"seconds for one student's whole file; past it the student is "
                        f"listed with status error (default {STUDENT_TIMEOUT:g})")

    e = sub.add_parser("errata", help="check the seed's worked numbers; write docs/errata.md")
    e.add_argument("--out", default=str(ERRATA), help=f"default {ERRATA}")
    e.add_argument("--seed", default=str(SEED), help="the seed document to check")
    e.add_argument("--check", action="store_true",
                   help="do not write; exit 1 if the file differs from a fresh run")

    v = sub.add_parser("preview", help="print one set (variant 0 unless a student is given)")
    v.add_argument("--student", help="a student id (needs the secret)")
    v.add_argument("--secret")
    v.add_argument("--secret-file")
    v.add_argument("--assignment", default=DEFAULT_ASSIGNMENT)
    v.add_argument("--show", choices=("md", "answers", "key"), default="md")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return {"generate": _generate, "grade": _grade, "errata": _errata,
                "preview": _preview}[args.command](args)
    except UsageError as exc:
        print(f"tt problems {args.command}: {exc}", file=sys.stderr)
        return 2
    except RosterError as exc:
        print(f"tt problems {args.command}: the roster has problems:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2


def _generate(args) -> int:
    secret = _secret(args)
    students = read_roster(args.roster)
    browser = None
    if args.pdf:
        from grader.problems.printing import NO_BROWSER, find_browser
        browser = find_browser()
        if browser is None:        # said before generating anything
            raise UsageError(NO_BROWSER)
    summary = generate(students, secret, args.assignment, args.out, jobs=args.jobs,
                       force=args.force, show_progress=not args.quiet, variant0=args.variant0)
    print(f"{summary.students} students: {summary.written} sets written, {summary.skipped} "
          f"already there; key in {Path(args.out) / 'key'}")
    if browser is None:
        return 0
    from grader.problems.generate import student_dir
    from grader.problems.printing import print_sets
    printed = print_sets([student_dir(Path(args.out), s.student_id) for s in students], browser,
                         jobs=args.jobs, force=args.force)
    print(f"PDF: {printed.printed} sets printed, {printed.skipped} already there"
          + (f", {len(printed.failed)} failed" if printed.failed else ""))
    for error in printed.failed:
        print(f"  {error}", file=sys.stderr)
    return 1 if printed.failed else 0


def _grade(args) -> int:
    secret = _secret(args)
    students = read_roster(args.roster)
    try:
        summary = grade(args.answers_dir, students, secret, args.assignment, args.out,
                        reveal=args.reveal_key, visibility=args.visibility,
                        show_progress=not args.quiet, variant0=args.variant0,
                        jobs=args.jobs, force=args.force, answer_timeout=args.answer_timeout,
                        student_timeout=args.student_timeout, manual=args.manual)
    except (FileNotFoundError, WrongSecret, SheetError) as exc:
        raise UsageError(str(exc)) from None
    counts: dict[str, int] = {}
    for o in summary.outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    reused = f" ({summary.reused} unchanged since the last run)" if summary.reused else ""
    print(", ".join(f"{n} {status}" for status, n in sorted(counts.items())) + reused
          + f"; gradebook in {Path(args.out) / 'class.csv'}")
    total, graded, merged = summary.manual
    if total or merged:
        print(f"free-text answers: {graded} of {total} graded by hand"
              + (f" ({merged} merged from {args.manual})" if args.manual else "")
              + f"; sheet to fill in: {Path(args.out) / 'manual_grading.csv'} "
              f"(readable: manual_grading.html)")
    for error in summary.errors:
        print(f"tt problems grade: {error}", file=sys.stderr)
    _class_report(args, secret, students, summary)
    return 1 if summary.errors else 0


def _class_report(args, secret, students, summary) -> None:
    """The class report (grader.classreport.problems): OUT/report.html. Its failure is reported,
    never a failure of the grading, which is written by now."""
    from grader.classreport.problems import write_problem_report
    seeds = {s.student_id: None if args.variant0 else student_seed(secret, args.assignment, s.student_id)
             for s in students}
    try:
        path = write_problem_report(args.out, students, seeds, args.assignment, summary.outcomes,
                                    jobs=args.jobs, show_progress=not args.quiet)
    except Exception as exc:            # noqa: BLE001
        print(f"tt problems grade: the class report could not be written: {type(exc).__name__}: {exc}",
              file=sys.stderr)
    else:
        print(f"class report in {path}")


def _errata(args) -> int:
    text = errata_text(Path(args.seed))
    out = Path(args.out)
    if args.check:
        current = out.read_text(encoding="utf-8") if out.is_file() else ""
        if current != text:
            print(f"{out} is out of date: run `tt problems errata`", file=sys.stderr)
            return 1
        print(f"{out} is up to date")
        return 0
    atomic_write_text(out, text)
    print(f"wrote {out} ({text.count('### E')} disagreements)")
    return 0


def _preview(args) -> int:
    if args.student:
        secret = _secret(args)
        student = Student(args.student)
        seed = student_seed(secret, args.assignment, args.student)
        variant = variant_id(seed)
    else:
        student, seed, variant = Student("variant0", "the seed's own numbers"), None, "0"
    instances = build_set(seed)
    if args.show == "md":
        print(render_markdown(student, variant, args.assignment, instances), end="")
    elif args.show == "answers":
        print(render_answers(student, variant, args.assignment, instances), end="")
    else:
        for row in key_rows(student, variant, instances):
            print(f"{row['answer_key']:<24} {row['answer']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
