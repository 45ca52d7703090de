"""The public tests' expected gradients, recorded: exercises/tests/expected/test_exNN_*.npz.

The public tests ship to students, so they must not hold a working numerical gradient
(that is exercise 10). Instead, for every input at which a public test needs a
gradient, this records the Jacobian of tt's forward pass there, by central differences
of that forward pass (never from a solution), and the harness applies it to the
test's upstream gradient. Recording runs the public tests against the solutions with
this module as a pytest plugin:

    tt build-exercises --expected        # re-record every file (a minute or two)

Each file holds arrays a0, a1, ... and `index`, a JSON string:
{"test_exNN.py::test[params]|label": [{"out_shape": [...], "at": {leaf: array name},
"jac": {leaf: array name}}]}, where `at` is the point (the forward's inputs and the
values that identify it) and `jac[leaf]` has shape (out.size, leaf.size).
"""
from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from tt.io import atomic_write_bytes

ROOT = Path(__file__).resolve().parents[1]
EPS = 1e-5      # central differences in float64: truncation ~eps^2, round-off ~1e-16/eps


def jacobian(forward, inputs, wrt, eps=EPS):
    """(out shape, {leaf label: d out / d leaf, shape (out.size, leaf.size)}) by central differences.

    Inputs are copied to contiguous float64 arrays first; dict inputs are nudged key by key.
    """
    def f64(a):
        return np.array(a, dtype=np.float64, order="C")

    inputs = {k: ({kk: f64(vv) if isinstance(vv, np.ndarray) and vv.dtype.kind == "f" else vv
                   for kk, vv in v.items()} if isinstance(v, dict)
                  else f64(v) if isinstance(v, np.ndarray) and v.dtype.kind == "f" else v)
              for k, v in inputs.items()}

    def out():
        return np.array(forward(**inputs)[0], dtype=np.float64)

    shape = out().shape
    jac = {}
    for name in wrt:
        value = inputs[name]
        items = ([(f"{name}.{k}", v) for k, v in value.items()] if isinstance(value, dict)
                 else [(name, value)])
        for label, x in items:
            if not (isinstance(x, np.ndarray) and x.dtype.kind == "f"):
                continue
            flat = x.reshape(-1)                    # a view: x is contiguous
            J = np.zeros((int(np.prod(shape)), flat.size))
            for i in range(flat.size):
                old = flat[i]
                flat[i] = old + eps
                plus = out()
                flat[i] = old - eps
                minus = out()
                flat[i] = old
                J[:, i] = ((plus - minus) / (2 * eps)).reshape(-1)
            jac[label] = J
    return shape, jac


class Recorder:
    """Set as harness.RECORDER during a recording run; writes the files at the end."""

    def __init__(self):
        self.stems = set()

    def jacobian(self, forward, inputs, wrt):
        return jacobian(forward, inputs, wrt)

    def directional(self, loss, arrays, directions, eps=EPS):
        """Central difference of loss() along the directions; every array put back exactly."""
        saved = [a.copy() for a in arrays]
        try:
            for a, s, d in zip(arrays, saved, directions):
                a[...] = s + eps * d
            plus = float(loss())
            for a, s, d in zip(arrays, saved, directions):
                a[...] = s - eps * d
            minus = float(loss())
        finally:
            for a, s in zip(arrays, saved):
                a[...] = s
        return (plus - minus) / (2 * eps)

    def changed(self, stem):
        self.stems.add(stem)


def write(recordings, path: Path):
    """One test file's recordings (harness.Recordings.points) as an .npz, atomically."""
    arrays, index = {}, {}

    def put(a):
        name = f"a{len(arrays)}"
        arrays[name] = np.asarray(a)
        return name

    for key in sorted(recordings):
        if recordings[key]:
            index[key] = [{"out_shape": list(p["out_shape"]),
                           "at": {k: put(v) for k, v in p["at"].items()},
                           "jac": {k: put(v) for k, v in p["jac"].items()}} for p in recordings[key]]
    buf = io.BytesIO()
    np.savez_compressed(buf, index=np.array(json.dumps(index, sort_keys=True)), **arrays)
    atomic_write_bytes(path, buf.getvalue())


# ------------------------------------------------------------------- pytest plugin
_recorder = None


def pytest_configure(config):
    global _recorder
    from exercises.tests import harness

    harness._RECORDINGS.clear()        # record from scratch: nothing old is reused
    _recorder = harness.RECORDER = Recorder()


def pytest_sessionfinish(session, exitstatus):
    from exercises.tests import harness

    if exitstatus != 0:
        print(f"\nrecording: the public tests failed against the solutions (exit {exitstatus}); "
              f"nothing written", file=sys.stderr)
        return
    out = Path(session.config.getoption("--expected-out") or harness.EXPECTED)
    out.mkdir(parents=True, exist_ok=True)
    for stem, rec in sorted(harness._RECORDINGS.items()):
        if stem in _recorder.stems:
            write(rec.points, out / f"{stem}.npz")


def pytest_addoption(parser):
    parser.addoption("--expected-out", default=None, help="folder for the recorded Jacobians")


def record(out: Path | None = None, select: list[str] | None = None) -> int:
    """Run the public tests against the solutions, recording; returns pytest's exit code."""
    from exercises.tests import harness

    target = Path(out or harness.EXPECTED)
    if out is None and not select:   # files of tests that no longer need a gradient must not linger
        for stale in target.glob("test_ex*.npz"):
            stale.unlink()
    cmd = [sys.executable, "-m", "pytest", str(ROOT / "exercises" / "tests"), "-q", "-p", "no:cacheprovider",
           "-p", "grader.public_expected", "--impl", "solutions", f"--expected-out={target}", *(select or [])]
    return subprocess.call(cmd, cwd=ROOT)
