"""`tt report GRADED_DIR`: the class report of a graded folder.

    tt report graded/ [--submissions submissions/]    after tt grade-all: graded/report.html
    tt report grades/                                 after tt problems grade: grades/report.html
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv=None) -> int:
    """`tt report GRADED_DIR`: write report.html (and its figures) beside the gradebook."""
    from grader.classreport import write_report
    from grader.classreport.collect import GRADEBOOK
    from grader.similarity.detect import DEFAULT_THRESHOLD
    ap = argparse.ArgumentParser(prog="tt report", description=main.__doc__)
    ap.add_argument("graded", help="the --out folder of tt grade-all (or of tt problems grade)")
    ap.add_argument("--submissions", help="the submissions folder graded: adds the similarity section")
    ap.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD,
                    help="similarity: list a pair when one exercise scores at least this (default %(default)s)")
    ap.add_argument("-j", "--jobs", type=int, default=None, help="processes for the similarity (default: CPUs)")
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    args = ap.parse_args(argv)
    folder = Path(args.graded)
    if not folder.is_dir():
        print(f"tt report: {folder} is not a folder", file=sys.stderr)
        return 2
    if not (folder / GRADEBOOK).exists():
        from grader.classreport.problems import DATA, rerender
        if (folder / DATA).exists():
            path = rerender(folder)
            print(f"wrote {path}")
            return 0
        if (folder / "class.csv").exists():
            print(f"tt report: {folder} is a graded problem set without {DATA}: run tt problems grade again "
                  f"(it reuses every unchanged student) to write its report", file=sys.stderr)
            return 2
    if args.submissions and not Path(args.submissions).is_dir():
        print(f"tt report: --submissions {args.submissions} is not a folder", file=sys.stderr)
        return 2
    try:
        path = write_report(folder, args.submissions, similarity_threshold=args.threshold, jobs=args.jobs,
                            show_progress=not args.quiet)
    except (FileNotFoundError, FileExistsError) as exc:
        print(f"tt report: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0
