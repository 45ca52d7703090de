"""Public tests of the exercises.

    python -m pytest exercises -m ex04          # your exercise 4
    python -m pytest exercises                  # all of them
    python -m pytest exercises --impl solutions # (instructors) the reference solutions
"""
import importlib
import os
import sys

import pytest

# The matrices here are small (256 x 256 at most): BLAS threads cannot speed them up,
# and on a busy machine they make each product 10-40x slower (exercise 15's training
# takes 6 s on one thread and 30 s with two contended ones). A value you set wins.
# This only works before NumPy is loaded, which is the case when pytest starts here.
if "numpy" not in sys.modules:
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

N_EXERCISES = 15


def pytest_addoption(parser):
    parser.addoption("--impl", default="exercises",
                     help="package whose exNN_*.py modules are tested (default: exercises)")


def pytest_configure(config):
    for n in range(1, N_EXERCISES + 1):
        config.addinivalue_line("markers", f"ex{n:02d}: public tests of exercise {n}")


@pytest.fixture
def impl(request):
    """impl("ex04_layernorm") -> the module under test, from --impl's package."""
    package = request.config.getoption("--impl")

    def load(name):
        return importlib.import_module(f"{package}.{name}")
    return load


@pytest.fixture(autouse=True)
def _count_vjp_calls_per_test():
    """harness.vjp finds a test's recorded values by the order of its calls: start at 0."""
    from exercises.tests import harness

    harness._VJP_CALLS.clear()
    yield
