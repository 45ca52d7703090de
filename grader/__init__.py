"""The grader: everything that holds reference solutions, hidden tests and keys."""
import os as _os

# sympy's cache is an LRU of SYMPY_CACHE_SIZE entries per cached function (1000 by
# default), read once when sympy is first imported. The problem sets' derivations
# revisit far more subexpressions than that; a larger cache cut the CPU time of
# building a student's set by about 15% (benchmarks/bench_problems.py). A value the
# user set wins.
_os.environ.setdefault("SYMPY_CACHE_SIZE", "20000")
