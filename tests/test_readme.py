"""The README's Quick start: exactly two commands, the second is what .ci/run runs."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def quick_start_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", section, re.S)]


def test_two_commands():
    commands = quick_start_commands()
    assert len(commands) == 2 and all("\n" not in c for c in commands), commands


def test_the_first_runs_the_grading_demo_and_the_second_the_tests():
    demo, tests = quick_start_commands()
    assert demo.endswith("python -m tt demo")
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.lstrip().startswith(("#", "set ", "cd "))]
    # the README's command is .ci/run's last, run in a venv of its own made just before it
    assert ci[-1] == tests, (ci[-1], tests)
    venv = [i for i, line in enumerate(ci) if re.search(r"-m venv --clear \.ci/venv$", line)]
    active = [i for i, line in enumerate(ci) if line == ". .ci/venv/bin/activate"]
    assert venv and active and venv[-1] < active[-1] < len(ci) - 1, ci
    assert not any("pip install" in line or "pytest" in line for line in ci[:-1] if not line.startswith("echo")), ci
