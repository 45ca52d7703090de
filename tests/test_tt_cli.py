"""The `tt` command line in the instructor's tt (the student edition's: tests/test_release.py)."""
import subprocess
import sys

import pytest

from tt import cli


def tt(*args):
    return subprocess.run([sys.executable, "-m", "tt", *args], capture_output=True, text=True, timeout=120)


def test_the_usage_lists_the_model_commands():
    r = tt()
    assert r.returncode == 0, r.stderr
    for command in ("train", "gradflow", "gradcheck", "check"):
        assert f"\n  {command} " in r.stdout, r.stdout
    assert "student edition" not in r.stdout


@pytest.mark.parametrize("command", ["train", "gradflow", "gradcheck"])
def test_the_model_commands_have_help(command):
    """`tt train --help` once crashed: argparse read the % of "99%" as a format."""
    r = tt(command, "--help")
    assert r.returncode == 0 and r.stdout.startswith(f"usage: tt {command}"), r.stderr[-1500:]


def test_in_a_student_edition_the_model_commands_point_to_the_exercises(monkeypatch, capsys):
    monkeypatch.setattr("tt.ops.student_edition", lambda: True)
    assert cli.main(["train", "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tt train: not in the student edition of tt") and "train_capstone" in err
    assert "  train " not in cli._usage() and "  check " in cli._usage()
