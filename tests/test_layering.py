"""Layering goes one way: tt (NumPy only) <- exercises/, solutions/ <- grader/."""
import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STDLIB = set(sys.stdlib_module_names)


def imported_modules(path):
    """(module, is_top_level) for every import in a file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    top = set(id(n) for n in tree.body)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name.split(".")[0], id(node) in top
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module.split(".")[0], id(node) in top


def test_tt_imports_only_numpy_and_itself():
    for path in (ROOT / "tt").glob("*.py"):
        for module, top_level in imported_modules(path):
            if module in STDLIB or module in ("numpy", "tt"):
                continue
            # matplotlib is allowed only lazily, inside a function (for plots)
            assert module == "matplotlib" and not top_level, f"{path.name} imports {module}"


def test_importing_tt_loads_nothing_else():
    code = ("import sys, tt; bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            "{'grader', 'exercises', 'solutions', 'matplotlib', 'jinja2', 'sympy', 'torch'}); "
            "print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_exercises_and_solutions_never_import_grader():
    for folder in ("exercises", "solutions"):
        for path in (ROOT / folder).rglob("*.py"):
            for module, _ in imported_modules(path):
                assert module != "grader", f"{path.relative_to(ROOT)} imports grader"
