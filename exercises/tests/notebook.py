"""The public tests, run from a notebook on the functions defined in it.

    from exercises.tests.notebook import run_public
    run_public(4, globals())        # the same tests as `python -m pytest exercises -m ex04`

The notebook's functions are put in a module of a package of their own, `nbimpl`, and
pytest runs exercises/tests/test_exNN_*.py with `--impl nbimpl`, exactly as it runs
them on the .py files. The result is printed; nothing is raised, so a failing check
does not stop the notebook.
"""
import sys
import types
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
PACKAGE = "nbimpl"


def run_public(number: int, namespace: dict) -> int:
    """Run exercise `number`'s public tests on `namespace`; returns pytest's exit code."""
    (test_file,) = HERE.glob(f"test_ex{number:02d}_*.py")
    module_name = test_file.stem.removeprefix("test_")             # e.g. ex04_layernorm
    package = types.ModuleType(PACKAGE)
    package.__path__ = []
    module = types.ModuleType(f"{PACKAGE}.{module_name}")
    module.__dict__.update({k: v for k, v in namespace.items() if not k.startswith("__")})
    for name in [k for k in sys.modules if k == PACKAGE or k.startswith(PACKAGE + ".")]:
        del sys.modules[name]
    sys.modules[PACKAGE], sys.modules[module.__name__] = package, module
    return int(pytest.main([str(test_file), "--impl", PACKAGE, "-q", "--no-header", "-p", "no:cacheprovider",
                            "--rootdir", str(HERE.parent.parent), "-W", "ignore::pytest.PytestAssertRewriteWarning"]))
