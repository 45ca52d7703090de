"""`tt export`: the exercises for nbgrader, the grader for Gradescope.

    tt export nbgrader DIR [--assignment stage10]      source notebooks, DIR/source/<assignment>/
    tt export gradescope OUT.zip [--hidden-until-published] [--visibility V]

See grader/export/nbgrader.py and grader/export/gradescope.py, and docs/nbgrader.md and
docs/gradescope.md for the instructor's steps.
"""
from __future__ import annotations

import argparse


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="tt export", description="export to nbgrader or Gradescope")
    sub = ap.add_subparsers(dest="target", required=True)
    nb = sub.add_parser("nbgrader", help="nbgrader source notebooks of exercises 1-15")
    nb.add_argument("dir", help="the course folder (notebooks go to DIR/source/<assignment>/)")
    nb.add_argument("--assignment", default="stage10", help="assignment name (default %(default)s)")
    gs = sub.add_parser("gradescope", help="a Gradescope autograder zip")
    gs.add_argument("zip", help="the zip to write, e.g. autograder.zip")
    gs.add_argument("--visibility", default="visible",
                    help="visibility of tests without their own: visible, hidden, after_due_date, after_published")
    gs.add_argument("--hidden-until-published", action="store_true",
                    help="students see nothing until the grades are published")
    args = ap.parse_args(argv)
    if args.target == "nbgrader":
        from grader.export.nbgrader import export
        written = export(args.dir, args.assignment)
        print(f"wrote {len(written)} notebooks to {written[0].parent}")
        print(f"next: a nbgrader_config.py in {args.dir} (docs/nbgrader.md), then "
              f"cd {args.dir} && nbgrader generate_assignment {args.assignment} --create")
    else:
        from grader.export.gradescope import export
        try:
            out = export(args.zip, args.visibility, args.hidden_until_published)
        except ValueError as exc:
            ap.error(str(exc))
        print(f"wrote {out}: upload it as the assignment's autograder (Configure Autograder > Zip file)")
    return 0
