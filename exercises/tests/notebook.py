"""The public tests, run from a notebook on the functions defined in it.

    from exercises.tests.notebook import run_public
    run_public(4, globals())        # the same tests as `python -m pytest exercises -m ex04`

The notebook's functions are put in a module of a package of their own, `nbimpl`, and
pytest runs exercises/tests/test_exNN_*.py with `--impl nbimpl`, exactly as it runs
them on the .py files. Some checks also run other exercises (exercise 9 runs your
exercises 2 to 8, exercise 10 your 1 and 4, exercise 15 all of 1 to 9 and 12). Each one
is taken, in this order, from

    1. a module of that name in the notebook (exercise 15's notebook loads them itself),
    2. the notebook of that name beside this one (exNN_<topic>.ipynb, its code cells),
    3. the file of that name beside this one (exNN_<topic>.py),
    4. the release's exercises/exNN_<topic>.py,

and a check whose other exercise is nowhere to be found is skipped, saying so.

pytest's report is printed. If any check fails, run_public raises AssertionError with a
summary, so that the cell shows as failed (and nbgrader's Validate reports it).

    load_exercises("ex01_softmax_cross_entropy", ...)   the same modules, for exercise 15

This file needs only the standard library and pytest: it ships with the student release.
"""
from __future__ import annotations

import __future__
import importlib
import importlib.abc
import importlib.util
import json
import sys
import types
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
PACKAGE = "nbimpl"
# exercise number -> module name, e.g. 4 -> "ex04_layernorm" (from the test files' names)
EXERCISES = {int(p.stem[7:9]): p.stem.removeprefix("test_") for p in HERE.glob("test_ex[0-9][0-9]_*.py")}
FUTURE_FLAGS = 0
for _feature in __future__.all_feature_names:
    FUTURE_FLAGS |= getattr(__future__, _feature).compiler_flag


def notebook_cells(path) -> list[str]:
    """The code a notebook contributes as a module: its code cells in order, without the
    graded test cells, the public checks cell and IPython's `%` and `!` lines."""
    return code_cells(json.loads(Path(path).read_text(encoding="utf-8"))["cells"])


def code_cells(cells) -> list[str]:
    """notebook_cells for the parsed `cells` list of a notebook."""
    out = []
    for cell in cells:
        nbg = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") != "code" or nbg.get("grade") or str(nbg.get("grade_id", "")).endswith("_public"):
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        out.append("\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))))
    return out


def load_notebook(path, name: str) -> types.ModuleType:
    """Run a notebook's code (notebook_cells) as the module `name`, registered in sys.modules.

    Each cell is compiled on its own, with the `from __future__` imports of the cells
    before it, as a notebook runs them. An error names the notebook.
    """
    path = Path(path)
    module = types.ModuleType(name)
    module.__file__ = str(path)
    previous = sys.modules.get(name)
    sys.modules[name] = module          # dataclasses and pickling look their module up there
    flags = 0
    try:
        for i, source in enumerate(notebook_cells(path), 1):
            code = compile(source, f"{path.name}, code cell {i}", "exec", flags=flags, dont_inherit=True)
            flags |= code.co_flags & FUTURE_FLAGS
            exec(code, module.__dict__)
    except Exception as exc:                        # noqa: BLE001  the student's code: say where it failed
        if previous is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = previous
        raise ImportError(f"running the code of {path.name} failed: {type(exc).__name__}: {exc}") from exc
    return module


def _number(name: str) -> int:
    return int(name[2:4])


def find_exercise(name: str, folder, as_name: str):
    """(module, where it came from) of exercise module `name` (e.g. "ex04_layernorm"),
    loaded as `as_name`: from a notebook or file beside the notebook in `folder`, or from
    the release's exercises/ package; (None, why not) if none of them is there."""
    folder = Path(folder)
    if (folder / f"{name}.ipynb").is_file():
        return load_notebook(folder / f"{name}.ipynb", as_name), f"{name}.ipynb beside this notebook"
    if (folder / f"{name}.py").is_file():
        spec = importlib.util.spec_from_file_location(as_name, folder / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[as_name] = module
        spec.loader.exec_module(module)
        return module, f"{name}.py beside this notebook"
    try:
        return importlib.import_module(f"exercises.{name}"), f"exercises/{name}.py"
    except ModuleNotFoundError as exc:
        if exc.name not in ("exercises", f"exercises.{name}"):
            raise
    return None, (f"no {name}.ipynb or {name}.py beside this notebook ({folder}), and no "
                  f"exercises/{name}.py")


def load_exercises(*names: str, folder=None) -> tuple[types.ModuleType, ...]:
    """Modules named `names`, from the notebooks (else the files) beside this notebook.

    For exercise 15's notebook, which uses exercises 1-9 and 12 as modules. A missing
    one is an empty module (student_ops then says which functions it lacks), with a
    warning printed.
    """
    folder = Path.cwd() if folder is None else Path(folder)
    modules = []
    for name in names:
        module, where = find_exercise(name, folder, name)
        if module is None:
            print(f"warning: exercise {_number(name)} is missing: {where}")
            module = types.ModuleType(name)
        elif not where.startswith(name):           # not a notebook or file beside this one
            print(f"note: exercise {_number(name)} taken from {where}")
        modules.append(module)
    return tuple(modules)


class _Siblings(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports nbimpl.<exercise> for the public checks (see the module docstring), lazily:
    only the exercises a check actually asks for are loaded."""

    def __init__(self, namespace: dict, folder: Path):
        self.namespace, self.folder = namespace, folder
        self.used: dict[str, str] = {}

    def find_spec(self, fullname, path=None, target=None):
        if fullname.startswith(PACKAGE + ".") and fullname.count(".") == 1:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        name = spec.name.split(".", 1)[1]
        own = self.namespace.get(name)
        if isinstance(own, types.ModuleType):
            self.used[name] = "the module this notebook loaded"
            return own
        module, where = find_exercise(name, self.folder, spec.name)
        self.used[name] = where if module is not None else f"nowhere ({where})"
        if module is None:
            raise pytest.skip.Exception(f"this check also runs your exercise {_number(name)}, which is not "
                                        f"available: {where}")
        return module

    def exec_module(self, module):
        pass


class _Summary:
    """Collects the outcome of every public check (a pytest plugin)."""

    def __init__(self):
        self.passed, self.failed, self.skipped = [], [], []

    def pytest_runtest_logreport(self, report):
        name = report.nodeid.split("::", 1)[-1]
        if report.failed:
            if name not in self.failed:
                self.failed.append(name)
        elif report.skipped:
            self.skipped.append(name)
        elif report.when == "call":
            self.passed.append(name)

    def pytest_collectreport(self, report):
        if report.failed:
            self.failed.append(f"(collecting {report.nodeid})")


def run_public(number: int, namespace: dict, folder=None) -> int:
    """Run exercise `number`'s public tests on `namespace` (the notebook's globals()).

    `folder` is where the other exercises' notebooks are looked for (default: the
    current folder, which in a notebook is the notebook's). Prints pytest's report and
    raises AssertionError with a summary if a check fails; returns pytest's exit code.
    """
    if number not in EXERCISES:
        raise ValueError(f"no public tests for exercise {number}")
    module_name = EXERCISES[number]                              # e.g. ex04_layernorm
    (test_file,) = HERE.glob(f"test_{module_name}.py")
    package = types.ModuleType(PACKAGE)
    package.__path__ = []
    module = types.ModuleType(f"{PACKAGE}.{module_name}")
    module.__dict__.update({k: v for k, v in namespace.items() if not k.startswith("__")})
    for name in [k for k in sys.modules if k == PACKAGE or k.startswith(PACKAGE + ".")]:
        del sys.modules[name]
    sys.modules[PACKAGE], sys.modules[module.__name__] = package, module
    siblings = _Siblings(namespace, Path.cwd() if folder is None else Path(folder))
    summary = _Summary()
    sys.meta_path.insert(0, siblings)
    try:
        code = pytest.main([str(test_file), "--impl", PACKAGE, "-q", "--no-header", "--tb=short", "-p", "no:cacheprovider",
                            "--rootdir", str(HERE.parent.parent), "-W", "ignore::pytest.PytestAssertRewriteWarning"],
                           plugins=[summary])
    finally:
        sys.meta_path.remove(siblings)
    for name, where in sorted(siblings.used.items()):
        print(f"these checks used your exercise {_number(name)} from {where}")
    if code == pytest.ExitCode.INTERRUPTED:
        raise KeyboardInterrupt
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) and not summary.failed:
        raise RuntimeError(f"the public checks of exercise {number} did not run (pytest exit code {int(code)})")
    if summary.failed:
        shown = ", ".join(summary.failed[:6]) + (f" and {len(summary.failed) - 6} more" if len(summary.failed) > 6 else "")
        raise AssertionError(f"exercise {number}: {len(summary.failed)} of the public checks failed "
                             f"({len(summary.passed)} passed, {len(summary.skipped)} skipped): {shown}. "
                             f"pytest's report above says why.")
    return int(code)
