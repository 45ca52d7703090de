"""tt.io: every output is written atomically, with the mode a plain open() would give."""
import os
import stat

import numpy as np
import pytest

from tt import io


def test_a_written_file_has_the_umasks_mode_and_no_temporary_is_left(tmp_path):
    mask = os.umask(0o022)
    os.umask(mask)
    path = io.atomic_write_text(tmp_path / "gradebook.csv", "student,total\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask
    assert [p.name for p in tmp_path.iterdir()] == ["gradebook.csv"]


def test_an_interrupted_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "results.json"
    io.atomic_write_json(path, {"score": 1})

    def fail(*args):
        raise KeyboardInterrupt
    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(KeyboardInterrupt):
        io.atomic_write_json(path, {"score": 2})
    assert path.read_text() == '{\n  "score": 1\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_npz_holds_no_pickled_objects(tmp_path):
    path = io.atomic_save_npz(tmp_path / "checkpoint.npz", {"W": np.arange(3.0)})
    with np.load(path, allow_pickle=False) as f:
        assert f["W"].tolist() == [0.0, 1.0, 2.0]
