"""Issue 16: what a student meets first in the release reads as meant for them."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from grader.build import exercise_number, exercise_sources, render_exercise

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("src", exercise_sources(), ids=lambda p: p.stem)
def test_every_stub_header_says_what_to_fill_in_and_how_to_check_it(src):
    n = exercise_number(src)
    head = render_exercise(src).split('"""', 1)[0]          # the comment lines above the docstring
    assert head.strip() and all(line.startswith("#") for line in head.strip().splitlines())
    assert "do not edit" not in head.lower() and "rebuild" not in head.lower(), head
    assert f'raise NotImplementedError("Exercise {n}: ...")' in head
    command = re.search(r"python -m pytest (exercises/tests/\S+\.py)", head)
    assert command and (ROOT / command.group(1)).is_file(), head
    assert f"python -m tt check {n}\n" in head


def test_the_maintainers_rule_lives_in_solutions_and_the_build():
    readme = (ROOT / "solutions" / "README.md").read_text()
    assert "never in `exercises/exNN_*.py`" in readme and "tt build-exercises" in readme
    assert "solutions/README.md" in (ROOT / "grader" / "build.py").read_text()


# ------------------------------------------------------------------ plots (issue 16, 7)
def _history(n=40):
    stages = ["logits", "W_output", "final_repr", "block2_params", "block1_params", "embeddings"]
    return [{"step": s, "train_loss": 2.0 / (1 + s), "val_loss": 2.1 / (1 + s), "val_acc": s / n,
             # dlogits and dfinal_repr equal: the case where one line hid the other
             "grad_norms": {st: (0.2 if st in ("logits", "final_repr") else 1.0 + i) for i, st in enumerate(stages)}}
            for s in range(n)]


@pytest.fixture
def plt():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    yield plt
    plt.close("all")


def test_the_loss_plot_labels_both_axes(plt):
    from tt.train import loss_figure

    fig = loss_figure(plt, _history(), 0.99)
    for ax in fig.axes:
        assert ax.get_xlabel() == "step" and ax.get_ylabel(), ax.get_title()
    assert "loss" in fig.axes[0].get_ylabel()


def test_gradient_norm_lines_of_equal_value_stay_distinguishable(plt):
    from tt.train import gradnorm_figure

    lines = gradnorm_figure(plt, _history()).axes[0].get_lines()
    looks = {(line.get_marker(), str(line.get_linestyle())) for line in lines}
    assert len(lines) == 6 and len(looks) == 6
    by_label = {line.get_label(): line for line in lines}
    # equal values: the markers of the two lines fall on different steps, so both show
    a, b = by_label["dloss/dlogits"], by_label["dloss/dfinal_repr"]
    assert list(a.get_ydata()) == list(b.get_ydata()) and a.get_markevery() != b.get_markevery()


def test_the_attention_maps_have_a_labelled_colour_bar(plt):
    import numpy as np
    from tt.train import attention_figure

    maps = np.full((2, 4, 10, 10), 0.1)
    fig = attention_figure(plt, maps, list("Max(1,6,2)"), "Max(1,6,2)")
    bars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    assert len(fig.axes) == 2 * 4 + 1 and len(bars) == 1
    assert "attention weight" in bars[0].get_ylabel()


# ------------------------------------------------------------- tt gradflow (issue 16, 7)
def _stages(embeddings_scale):
    import numpy as np

    r = np.random.default_rng(0)
    return {"logits": r.standard_normal(640) * 0.01, "W_output": r.standard_normal(1280) * 0.01,
            "final_repr": r.standard_normal(64) * 1e-4, "block2_params": r.standard_normal(500) * 1e-3,
            "block1_params": r.standard_normal(500) * 1e-3,
            "embeddings": r.standard_normal(1280) * 0.01 * embeddings_scale}


def test_gradflow_says_an_attenuation_above_one_is_an_amplification():
    import numpy as np
    from tt.gradflow import attenuation

    stages = _stages(3.0)
    ratio = np.linalg.norm(stages["embeddings"]) / np.linalg.norm(stages["logits"])
    text = attenuation(stages)
    assert f"{ratio:.3g}" in text and ratio > 1
    assert "amplification" in text and "not an attenuation" in text
    assert "1280 and 640 entries" in text
    shrink = attenuation(_stages(0.01))
    assert "amplification" not in shrink and "shrank" in shrink


def test_gradflow_marks_the_stages_outside_the_seeds_range():
    from tt.gradflow import table

    text = table(_stages(1.0))
    rows = {line.split()[0]: line.split()[-1] for line in text.splitlines() if line.startswith("dloss/")}
    # median |g| of N(0, 1e-4^2) is about 6.7e-5, below the seed's 0.01 - 0.5
    assert rows["dloss/dfinal_repr"] == "below" and rows["dloss/dlogits"] == "within"
    assert "final_repr" in text.split("\n\n", 1)[1] and "orders of magnitude" in text


# ------------------------------------------------------------- | head (issue 16, 7)
@pytest.mark.parametrize("args", [["gradflow"], ["--help"], []])
def test_a_command_piped_to_head_stops_quietly(args):
    """`tt gradflow | head -0`, `tt --help | head -0`: the reader is gone before the first
    line; no traceback."""
    p = subprocess.Popen([sys.executable, "-m", "tt", *args], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, cwd=ROOT)
    p.stdout.close()                      # as head does once it has its lines
    err = p.stderr.read().decode()
    assert p.wait(timeout=300) == 141, err
    assert "Traceback" not in err and "BrokenPipeError" not in err, err


def test_the_pipe_handler_silences_a_broken_pipe(monkeypatch, capsys):
    import tt.cli

    def writes_to_a_closed_pipe(argv):
        raise BrokenPipeError(32, "Broken pipe")

    fake = type(sys)("fake_command")
    fake.main = writes_to_a_closed_pipe
    monkeypatch.setitem(sys.modules, "fake_command", fake)
    monkeypatch.setitem(tt.cli.COMMANDS, "fake", ("fake_command", "main", "a test"))
    monkeypatch.setattr(tt.cli, "_reader_went_away", lambda: 141)   # keep pytest's stdout
    assert tt.cli.main(["fake"]) == 141


# --------------------------------------------- nothing in the release answers an exercise (2)
HELPERS = ("harness.py", "notebook.py", "conftest.py")


def _central_difference_or_relative_error(path):
    """{(line, what)} where `path` computes a central difference or exercise 10's relative error."""
    import ast

    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.BinOp):
            continue
        text = ast.unparse(node)
        if isinstance(node.op, ast.Div) and re.search(r"\(2 \* [\w.]+\)$", text):
            found.add((node.lineno, "central difference"))            # (f+ - f-) / (2 * eps)
        if isinstance(node.op, ast.Add) and re.fullmatch(r"(np\.)?abs\(.+\) \+ (np\.)?abs\(.+\)", text):
            found.add((node.lineno, "relative error"))                # max(|a| + |b|)
    return {f"{path.name}:{line}: {what}" for line, what in found}


def test_the_scan_sees_a_numerical_gradient_and_the_relative_error(tmp_path):
    planted = tmp_path / "harness.py"
    planted.write_text("import numpy as np\n"
                       "def g(f, x, eps):\n    return (f(x + eps) - f(x - eps)) / (2 * eps)\n"
                       "def r(a, b):\n    return np.max(np.abs(a - b)) / np.max(np.abs(a) + np.abs(b))\n")
    assert len(_central_difference_or_relative_error(planted)) == 2


def test_no_public_test_computes_a_gradient_or_the_relative_error(release):
    folder = release / "exercises" / "tests"
    assert all((folder / name).is_file() for name in HELPERS)
    found = [hit for path in sorted(folder.glob("*.py")) for hit in _central_difference_or_relative_error(path)]
    assert not found, found
    text = (folder / "harness.py").read_text()
    assert "max(|a| + |e|)" not in text and "max(|actual| + |expected|)" not in text


def test_vjp_without_a_recording_computes_nothing(monkeypatch):
    """The harness's vjp only reads recordings: on a function it has no record of it fails."""
    import numpy as np
    from exercises.tests import harness as h

    monkeypatch.setattr(h, "RECORDER", None)
    monkeypatch.setattr(h, "_RECORDINGS", {})
    with pytest.raises(AssertionError, match="no recorded expected value"):
        h.vjp(lambda x: (x ** 2, None), {"x": np.arange(3.0)}, np.ones(3))


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    from grader.build import build_release

    folder, _ = build_release(tmp_path_factory.mktemp("dist"))
    return folder


# ------------------------------------------------ a typical mistake, on one screen (2, 6)
@pytest.fixture(scope="module")
def layernorm_bug(release, tmp_path_factory):
    """The release with exercise 4 done but for its mean term (dx = dxmu)."""
    import shutil

    student = tmp_path_factory.mktemp("student") / "tt-exercises"
    shutil.copytree(release, student)
    source = (ROOT / "solutions" / "ex04_layernorm.py").read_text()
    line = "    dx = dxmu + dmean / C"
    assert line in source
    (student / "exercises" / "ex04_layernorm.py").write_text(source.replace(line, "    dx = dxmu  #"))
    r = subprocess.run([sys.executable, "-m", "tt", "check", "4"], cwd=student, capture_output=True,
                       text=True, timeout=600, env={**__import__("os").environ, "PYTHONPATH": str(student)})
    return r


def test_a_typical_mistake_fits_on_a_screen(layernorm_bug):
    r = layernorm_bug
    assert r.returncode == 1 and "5 failed" in r.stdout, r.stdout[-3000:] + r.stderr[-2000:]
    assert len(r.stdout.splitlines()) <= 40, r.stdout          # 5 failing tests, a few lines each
    assert "hint: each row of dx should sum to 0" in r.stdout


def test_a_failure_shows_the_tests_line_and_the_message_but_no_harness_source(layernorm_bug):
    out = layernorm_bug.stdout
    assert 'h.check("layernorm_backward", "dx", dx, expected["x"], like=inp["x"])' in out
    assert "harness.py" not in out and "raise AssertionError" not in out and "_check_values" not in out, out


def test_the_error_says_what_it_is_relative_to(layernorm_bug):
    # the assertion lines (pytest's "E" lines); the short summary at the end repeats them,
    # cut to the terminal's width, so it is left out: it depends on COLUMNS
    messages = [line for line in layernorm_bug.stdout.splitlines()
                if line.startswith("E ") and "dx is wrong" in line]
    assert len(messages) == 5, layernorm_bug.stdout
    for line in messages:
        m = re.search(r"Largest error (\S+) at index \([\d, ]+\) \(expected (\S+), got (\S+)\); relative to "
                      r"the largest expected entry, (\S+), that is (\S+) \(tolerance", line)
        assert m, line
        err, expected, got, largest, relative = (float(m.group(i).rstrip(",")) for i in range(1, 6))
        # the message rounds to 3 significant digits
        assert abs(abs(got - expected) - err) <= 5e-3 * err and abs(err / largest - relative) <= 1e-2 * relative


@pytest.mark.slow
def test_the_recordings_are_central_differences_of_todays_forward_passes(tmp_path):
    """Re-record exercise 4's and 5's public tests and compare with the committed files:
    a stale recording (a forward pass or a test changed since) shows up here.

    Another machine's numpy or CPU rounds each forward pass differently by a few ulps of
    its outputs (O(1) here), and a central difference divides that by its step: entries
    may differ by about ulps * eps64 / EPS, measured up to 4e-11 between two machines. A
    thousand ulps is the bound; a stale recording is off by O(1)."""
    import json

    import numpy as np
    from grader.public_expected import EPS, record

    round_off = 1000 * np.finfo(np.float64).eps / EPS          # 2.2e-8

    assert record(tmp_path, ["-m", "ex04 or ex05"]) == 0
    for stem in ("test_ex04_layernorm", "test_ex05_attention"):
        with np.load(tmp_path / f"{stem}.npz") as new, \
                np.load(ROOT / "exercises" / "tests" / "expected" / f"{stem}.npz") as old:
            a, b = json.loads(str(new["index"])), json.loads(str(old["index"]))
            assert a.keys() == b.keys(), sorted(set(a) ^ set(b))
            for key in a:
                for p, q in zip(a[key], b[key], strict=True):
                    for part in ("at", "jac"):
                        for leaf in p[part]:
                            x, y = new[p[part][leaf]], old[q[part][leaf]]
                            assert x.shape == y.shape and np.allclose(x, y, rtol=1e-9, atol=round_off), (key, leaf)


def test_build_exercises_can_re_record(monkeypatch):
    import grader.build as build
    import grader.public_expected as pe

    calls = []
    monkeypatch.setattr(pe, "record", lambda: calls.append(1) or 0)
    monkeypatch.setattr(build, "build_exercises", lambda check=False: [])
    assert build.main_build_exercises(["--expected"]) == 0 and calls == [1]
