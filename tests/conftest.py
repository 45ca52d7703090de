"""Test-suite settings.

BLAS runs single-threaded in the tests unless the environment says otherwise: on a
shared machine (CI), OpenBLAS's spinning threads can make small matrix products many
times slower, and no test here measures speed (benchmarks/ does, in its own process).
"""
import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
