"""Fixtures of the hidden suites.

    def test_something(student, rng):
        got = student.call("ex04_layernorm", "layernorm_backward", dout, cache)
        expect(got, tt.layernorm_backward(dout, cache), ("dx", "dgamma", "dbeta"), function=...)

`student` calls the submission's functions in the sandbox worker: the inputs go over
as copies, plain arrays come back, and the reference (`tt`, in this process) computes
the expected values. A composite exercise gets the reference pieces it may use as
callbacks: `student.call(..., dout, cache, pieces=("linear_backward", "relu_backward"))`
passes a namespace in the `ops` position whose functions run here, in the parent.

`rng` is seeded from the submission's seed and the test's name, so a regrade of the
same submission draws the same inputs.
"""
from __future__ import annotations

import zlib

import numpy as np
import pytest

import tt
from grader.checks import GradeFailure
from grader.sandbox import CALLBACKS, Sandbox, SandboxError, StudentError

RECORD_MODULES = (tt.layers, tt.attention, tt.blocks, tt.model)
SANDBOX_KEY = pytest.StashKey[Sandbox]()
# Recorded while a worker is up (never read from a closed sandbox, which would need one):
PROTECTIONS_KEY = pytest.StashKey[tuple]()       # (protections, exposure)
SANDBOX_ERROR_KEY = pytest.StashKey[Exception]()  # the sandbox refused or failed to start


def pytest_addoption(parser):
    group = parser.getgroup("tt grader")
    group.addoption("--submission", help="folder with the submission's exNN_*.py files")
    group.addoption("--library", help="folder holding the student edition of tt")
    group.addoption("--seed", type=int, default=0, help="per-submission seed for the inputs")
    group.addoption("--call-timeout", type=float, default=10.0, help="seconds per call")
    group.addoption("--insecure", action="store_true",
                    help="run student code even in a worker that keeps the grader's uid unconfined")
    group.addoption("--disable-protection", action="append", default=[],
                    help="a sandbox protection not to attempt (tests of the refusal)")
    group.addoption("--seeds", default=None,
                    help="comma-separated seeds: every test that draws inputs runs once per seed, "
                         "each drawing exactly what --seed=<that seed> draws (grader/sweep.py)")


def pytest_generate_tests(metafunc):
    seeds = metafunc.config.getoption("--seeds", None)
    if seeds and "rng" in metafunc.fixturenames:
        values = [int(s) for s in seeds.split(",") if s.strip()]
        metafunc.parametrize("sweep_seed", values, ids=[f"seed{s}" for s in values])


@pytest.fixture(scope="session")
def sandbox(request):
    config = request.config
    in_process = [p for p in config.pluginmanager.get_plugins() if hasattr(p, "in_process_sandbox")]
    if in_process:              # inside a notebook's kernel, for nbgrader (grader/export/inprocess.py)
        yield in_process[0].in_process_sandbox
        return
    submission = config.getoption("--submission")
    if not submission:
        raise pytest.UsageError("the hidden suites need --submission (run them with `tt grade`)")
    sb = Sandbox(submission, config.getoption("--library"), timeout=config.getoption("--call-timeout"),
                 records=RECORD_MODULES, insecure=config.getoption("--insecure"),
                 disable=config.getoption("--disable-protection"))
    config.stash[SANDBOX_KEY] = sb
    try:
        sb.start()
    except SandboxError as e:   # refused (InsecureSandboxError) or broken: grade nothing at all
        sb.close()
        config.stash[SANDBOX_ERROR_KEY] = e
        pytest.exit(f"the sandbox did not start: {e}", returncode=pytest.ExitCode.INTERNAL_ERROR)
    config.stash[PROTECTIONS_KEY] = (sb.protections, sb.exposure)
    with sb:
        yield sb


def _reference_piece(name):
    ref = getattr(tt.reference(), name)

    def piece(*args, **kwargs):     # the reference in full: any `ops` the student passes is ignored
        return ref(*args[:2])
    return piece


class Student:
    """The submission, seen through the sandbox."""

    def __init__(self, sandbox):
        self.sandbox = sandbox

    def call(self, module, function, *args, pieces=(), timeout=None):
        """module.function(*args) in the worker; with `pieces`, `ops` is passed last."""
        callbacks = {name: _reference_piece(name) for name in pieces}
        if pieces:
            args = (*args, CALLBACKS)
        try:
            return self.sandbox.call(module, function, *args, callbacks=callbacks or None, timeout=timeout)
        except StudentError as e:
            diagnosis = ""
            if e.type == "NotImplementedError":
                diagnosis = "this function is still the stub: it raises NotImplementedError"
            raise GradeFailure(f"{module}.{function}: " + e.describe(), diagnosis) from None


@pytest.fixture
def student(sandbox):
    return Student(sandbox)


@pytest.fixture
def sweep_seed(request):
    """The seed of the inputs: --seed, or one of --seeds."""
    return request.config.getoption("--seed")


@pytest.fixture
def rng(request, sweep_seed):
    nodeid = request.node.nodeid
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None and "sweep_seed" in callspec.params:   # the nodeid --seed would give
        ids = [i for i in callspec.id.split("-") if i != f"seed{sweep_seed}"]
        nodeid = nodeid[:nodeid.index("[")] + (f"[{'-'.join(ids)}]" if ids else "")
    return np.random.default_rng([sweep_seed, zlib.crc32(nodeid.encode())])
