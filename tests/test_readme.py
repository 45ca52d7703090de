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


def test_the_readme_says_how_long_the_suite_takes():
    """A new user is told before the second command that it is slow, and what is slowest."""
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("## Quick start", 1)[1].split("\n## ", 1)[0]
    after = section.split("python -m pytest", 1)[1]
    m = re.search(r"about (\d+) minutes for ([\d,]+) tests", after)
    assert m and 10 <= int(m.group(1)) <= 90, after[:600]       # CI's budget is 90 minutes


def test_the_nbgrader_docs_name_the_pitfalls_the_first_hour_meets():
    text = (ROOT / "docs" / "nbgrader.md").read_text(encoding="utf-8")
    assert "checksum" in text and "jupyter/nbgrader#1961" in text         # nbgrader's false warning
    assert "from nbgrader.api import Gradebook" in text                   # per-exercise scores
    # one student's nbgrader folder is graded as that student (tests/test_grader_intake.py)
    assert re.search(r"tt grade mycourse/submitted/alice/stage10 .*graded/alice/", text)
