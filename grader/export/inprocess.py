"""The hidden suites run inside a notebook's kernel: nbgrader's trust model.

nbgrader runs a notebook's test cells in the same kernel as the student's code, so a
test cell can only call the student's functions directly. This module gives the hidden
suites (grader/hidden) a stand-in for the sandbox that does exactly that:

    hidden_test("test_ex04_layernorm.py::test_random_batch", globals())

runs the exercise's hidden suite once against the notebook's functions (the first test
cell pays for it; again if a function has been redefined since) and raises AssertionError
with the test's feedback if that test failed. nbgrader then gives the cell its points or
none. A call of module M's function F finds F among the notebook's globals, or in the
global module M when the notebook holds one (exercise 15 loads its sibling exercises so).

A function that changes an array it was given (an argument, a cache field, an entry of a
dict of gradients) fails the test as in the sandbox (StudentError "mutated-input"), and
the message names the input.

Nothing here isolates anything. The kernel has the full reference tt, so a function that
is tt's own (`from tt import layernorm_backward`) is refused, but a wrapper around it is
not: `tt grade` regrades the same notebooks with the code in the sandbox, against the
student edition of tt.
"""
from __future__ import annotations

import copy
import inspect
import traceback
import types
from pathlib import Path

import pytest

from grader.sandbox import CALLBACKS, Callback, StudentError, inputs

HIDDEN = Path(__file__).resolve().parents[1] / "hidden"


class _AnyRecord:
    """Records need no registering in-process: the student's own classes come back as they are."""

    def __call__(self, name, fields=()):
        return True

    def add(self, cls):
        pass


class InProcess:
    """What the hidden suites need of a Sandbox, calling functions of one namespace."""
    protections: list = []
    records = _AnyRecord()

    def __init__(self, namespace: dict):
        self.namespace = namespace

    def call(self, module, function, *args, callbacks=None, timeout=None, kwargs=None, echo=(), then=()):
        own = self.namespace.get(module)
        if isinstance(own, types.ModuleType):    # exercise 15's notebook: another exercise, loaded as a module
            fn, where = getattr(own, function, None), f"{module} (as loaded by this notebook)"
        else:
            fn, where = self.namespace.get(function), "the notebook"
        if not callable(fn):
            raise StudentError("missing", f"{where} has no function {function}", module=module,
                               function=function)
        defined_in = str(getattr(fn, "__module__", "") or "")
        if defined_in == "tt" or defined_in.startswith("tt."):
            # the autograding kernel has the reference tt: `from tt import layernorm_backward`
            # would pass every check (a wrapper around it still does: tt grade catches that)
            raise StudentError("exception", f"{function} is tt's own {defined_in}.{getattr(fn, '__name__', function)}, "
                               f"imported, not a function written in the notebook",
                               type="ImportedFromTt", module=module, function=function)
        ns = types.SimpleNamespace(**(callbacks or {}))
        copied = lambda v: v if isinstance(v, Callback) else ns if v is CALLBACKS else copy.deepcopy(v)
        args = [copied(a) for a in args]   # as Sandbox.call: a Callback is our function, bound to args
        bound = {i for a in args if isinstance(a, Callback) for i in a.bind}
        args = [a.resolve(args, callbacks[a.name]) if isinstance(a, Callback) else a for a in args]
        kwargs = {k: copied(v) for k, v in (kwargs or {}).items()}
        steps = [(attr, [copied(a) for a in a_args], {k: copied(v) for k, v in a_kwargs.items()})
                 for attr, a_args, a_kwargs in then]
        # as the worker does: every array given, before and after (not those the test checks itself)
        watch = inputs.snapshot(args, kwargs, [(a, k) for _, a, k in steps], skip=bound | set(echo))
        called = [fn]
        try:
            value = fn(*args, **kwargs)
            for attr, a_args, a_kwargs in steps:
                called.append(getattr(value, attr))
                value = called[-1](*a_args, **a_kwargs)
        except Exception as exc:          # noqa: BLE001  the student's exception is the result
            tb = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            error = StudentError("exception", tb, type=type(exc).__name__, module=module, function=function)
            error.echo = [args[i] for i in echo] if echo else None
            raise error from None
        changes = inputs.changed(watch)
        if changes:
            raise _changed_inputs(changes, called, function, args, kwargs, steps, module)
        return (value, [args[i] for i in echo]) if echo else value


def _changed_inputs(changes, called, function, args, kwargs, steps, module) -> StudentError:
    """The Sandbox's message for a function that changed its inputs in place."""
    scope = changes[0][0]
    labels = []
    for path in changes:
        if path[0] != scope:
            continue
        found = inputs.resolve(path, args, kwargs, [(a, k) for _, a, k in steps])
        _, words, tail = found
        param = None
        if words is None:
            try:
                param = list(inspect.signature(called[scope + 1]).parameters)[path[1]]
            except (ValueError, TypeError, IndexError):
                pass
        labels.append(inputs.label(words, path[1], tail, param))
    name = function if scope == -1 else f"{steps[scope][0]} (of {function}())"
    return StudentError("mutated-input", inputs.message(name, labels), module=module, function=function)


class _Plugin:
    """Handed to pytest.main: conftest.py's `sandbox` fixture uses it when present."""

    def __init__(self, namespace):
        self.in_process_sandbox = InProcess(namespace)
        self.outcomes: dict[str, str] = {}

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = (yield).get_result()
        if report.when == "call" or (report.when == "setup" and not report.passed):
            key = f"{Path(str(item.fspath)).name}::{item.name}"
            self.outcomes[key] = "" if report.passed else (
                str(call.excinfo.value) if call.excinfo else "failed")


_RESULTS: dict[tuple, dict[str, str]] = {}    # (suite, the functions) -> {test id: "" or the failure}


def run_suite(suite: str, namespace: dict) -> dict[str, str]:
    """Run grader/hidden/<suite> against `namespace`; {test id: failure text or ""}."""
    import tt
    import tt.ops
    if tt.ops.student_edition():      # the expected values come from tt's reference: it must be there
        raise RuntimeError(f"this kernel imports the student edition of tt ({Path(tt.__file__).parent}), whose "
                           f"backward passes are stubs: autograde where the whole project is installed, without "
                           f"the student release on the path (PYTHONPATH, or the notebooks' folder)")
    plugin = _Plugin(namespace)
    code = pytest.main([str(HIDDEN / suite), "-c", str(HIDDEN / "pytest.ini"), "--rootdir", str(HIDDEN),
                        "-p", "no:terminal", "-p", "no:cacheprovider", "--seed", "0"],
                       plugins=[plugin])
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        raise RuntimeError(f"the hidden suite {suite} did not run (pytest exit code {int(code)})")
    return plugin.outcomes


def hidden_test(test_id: str, namespace: dict) -> None:
    """AssertionError with the feedback if hidden test `suite.py::name` fails for `namespace`."""
    suite = test_id.split("::")[0]
    # a function redefined (the cell run again after a fix) is a new object: run the suite again
    # (exercise 15's notebook holds the other exercises as modules: a module reloaded is new too)
    key = (suite, tuple(sorted((k, id(v)) for k, v in namespace.items()
                               if callable(v) or isinstance(v, types.ModuleType))))
    if key not in _RESULTS:
        _RESULTS[key] = run_suite(suite, namespace)
    failure = _RESULTS[key].get(test_id)
    if failure is None:
        raise RuntimeError(f"no hidden test {test_id}")
    if failure:
        raise AssertionError(failure)
