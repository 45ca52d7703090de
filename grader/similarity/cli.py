"""`tt similarity SUBMISSIONS_DIR [--out DIR]`: which submissions look alike."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader.similarity.detect import COMMON, DEFAULT_THRESHOLD


def main(argv=None) -> int:
    """`tt similarity SUBMISSIONS_DIR`: compare every pair of submissions, exercise by exercise."""
    from grader.similarity import find_similar, write_pages
    ap = argparse.ArgumentParser(prog="tt similarity", description=main.__doc__)
    ap.add_argument("submissions", help="a folder with one sub-folder or .zip per student (as for tt grade-all)")
    ap.add_argument("--out", default="similarity", help="folder for index.html, the pair pages and "
                    "similarity.csv (default %(default)s)")
    ap.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD,
                    help="list a pair when one exercise scores at least this (0-1, default %(default)s)")
    ap.add_argument("--common", type=int, default=COMMON,
                    help="ignore a passage found in more submissions than this (MOSS's -m; default %(default)s)")
    ap.add_argument("-j", "--jobs", type=int, default=None, help="processes that fingerprint (default: CPUs)")
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    args = ap.parse_args(argv)
    if not 0 < args.threshold <= 1:
        print(f"tt similarity: --threshold must be in (0, 1], got {args.threshold}", file=sys.stderr)
        return 2
    if args.common < 1:
        print(f"tt similarity: --common must be at least 1, got {args.common}", file=sys.stderr)
        return 2
    if not Path(args.submissions).is_dir():
        print(f"tt similarity: {args.submissions} is not a folder", file=sys.stderr)
        return 2
    found = find_similar(args.submissions, threshold=args.threshold, common=args.common, jobs=args.jobs,
                         show_progress=not args.quiet)
    try:
        write_pages(found, args.out)
    except FileExistsError as exc:
        print(f"tt similarity: {exc}", file=sys.stderr)
        return 2
    print(f"{len(found.students)} submissions, {len(found.pairs)} pair(s) at or above {args.threshold:.0%} on "
          f"some exercise; see {Path(args.out) / 'index.html'}")
    for pair in found.pairs[:10]:
        flagged = ", ".join(f"{m.exercise[:4]} {m.score:.0%}" for m in pair.flagged(found.threshold))
        print(f"  {pair.a} ~ {pair.b}: overall {pair.score:.0%} ({flagged})")
    print("Similarity is a reason to look, not a verdict: read the pages before concluding anything.")
    return 0
