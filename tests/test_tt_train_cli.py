"""Training beats chance, and the command line works as a user would run it."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import tt
from tt.train import TrainConfig, attention_maps, load_checkpoint, train


def run_tt(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "tt", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def test_short_training_run_clearly_beats_chance(tmp_path):
    result = train(TrainConfig(epochs=1, eval_every=40, out_dir=str(tmp_path), plots=False,
                               progress=False))
    h = result["history"]
    assert h["steps"] == 125
    assert h["final"]["val_acc"] > 0.5            # chance is 0.1 (ten digits)
    assert h["history"][-1]["train_loss"] < h["history"][0]["train_loss"]
    saved = load_checkpoint(tmp_path / "checkpoint.npz")
    assert set(saved) == set(result["params"])
    assert all(np.array_equal(saved[k], result["params"][k]) for k in saved)
    on_disk = json.loads((tmp_path / "history.json").read_text())
    assert on_disk["final"] == h["final"]
    assert set(on_disk["history"][0]["grad_norms"]) == {
        "logits", "W_output", "final_repr", "block2_params", "block1_params", "embeddings"}


def test_training_with_plugged_in_update_rule_and_clipping():
    from tt import optim
    result = train(TrainConfig(epochs=1, eval_every=125, out_dir=None, clip=1.0, progress=False),
                   update=optim.adam)
    assert result["history"]["final"]["val_acc"] > 0.5


def test_attention_maps_are_distributions():
    maps = attention_maps(tt.init_params())
    assert maps.shape == (2, 4, 8, 8)
    assert np.allclose(maps.sum(-1), 1.0)


def test_cli_help_and_unknown_command():
    r = run_tt("--help")
    assert r.returncode == 0 and "train" in r.stdout and "grade" in r.stdout
    r = run_tt("no-such-command")
    assert r.returncode == 2 and "unknown command" in r.stderr


def test_cli_train_writes_run_folder(tmp_path):
    out = tmp_path / "run"
    r = run_tt("train", "--epochs", "2", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "reached 99% validation accuracy" in r.stdout
    assert "Max(1,6,2) -> 6" in r.stdout
    files = {p.name for p in out.iterdir()}
    assert {"checkpoint.npz", "history.json"} <= files
    pytest.importorskip("matplotlib")
    assert {"loss.png", "gradnorms.png", "attention.png"} <= files
    assert (out / "attention.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # and gradflow reads the checkpoint back
    r = run_tt("gradflow", str(out / "checkpoint.npz"))
    assert r.returncode == 0 and "dloss/dembeddings" in r.stdout


def test_cli_train_rejects_bad_options():
    r = run_tt("train", "--epochs", "0")
    assert r.returncode == 2 and "must be positive" in r.stderr


def test_cli_gradcheck_passes():
    r = run_tt("gradcheck", "--batch", "3", "--coords", "2", "--dirs", "1")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "PASS" in r.stdout and "blocks.1.W_q" in r.stdout


def test_cli_gradflow_fresh_and_bad_checkpoint(tmp_path):
    r = run_tt("gradflow")
    assert r.returncode == 0 and "dloss/dlogits" in r.stdout and "seed says" in r.stdout
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    r = run_tt("gradflow", str(bad))
    assert r.returncode == 2 and "cannot read checkpoint" in r.stderr
