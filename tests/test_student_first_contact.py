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
def test_a_command_piped_to_head_stops_quietly():
    """`tt gradflow | head -0`: the reader is gone before the first line; no traceback."""
    p = subprocess.Popen([sys.executable, "-m", "tt", "gradflow"], stdout=subprocess.PIPE,
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
