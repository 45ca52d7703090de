"""The reference solutions graded under many student ids: the false-failure rate.

    nice python benchmarks/bench_seed_sweep.py --ids 2000 -j 2     # every exercise but the training runs
    nice python benchmarks/bench_seed_sweep.py --ids 200 -k ex05     # one suite

Prints, per hidden test that failed correct code, how many ids it failed for and one
message, then the share of ids that lose any point (the target is 0). Runs the hidden
suites in-process (grader/sweep.py), every test once per id with the inputs
`tt grade --student=<id>` draws.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grader.sweep import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
