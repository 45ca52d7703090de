"""Submissions are read defensively: only exercise files, never where a zip says."""
import os
import stat
import zipfile

import pytest

from grader.intake import MAX_FILE, IntakeError, read_submission

NAMES = ["ex01_softmax_cross_entropy.py", "ex04_layernorm.py"]


def zip_with(path, entries, symlink=None):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink[0])
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, symlink[1])
    return path


def test_folder_with_extras(tmp_path):
    sub = tmp_path / "alice"
    (sub / "exercises").mkdir(parents=True)
    (sub / "exercises" / "ex04_layernorm.py").write_text("x = 1\n")
    (sub / "conftest.py").write_text("import os; os._exit(0)\n")
    (sub / "sitecustomize.py").write_text("")
    (sub / "notes.py").write_text("")
    os.symlink("/etc/passwd", sub / "ex01_softmax_cross_entropy.py")
    intake = read_submission(sub, NAMES)
    assert intake.files == {"ex04_layernorm.py": b"x = 1\n"}
    text = "\n".join(intake.notes)
    assert "conftest.py: the grader never runs files it did not ask for" in text
    assert "sitecustomize.py" in text and "notes.py: not an exercise file" in text
    assert "ex01_softmax_cross_entropy.py: a symbolic link" in text
    assert "not submitted: ex01_softmax_cross_entropy.py" in text


def test_zip_traversal_symlink_and_size(tmp_path):
    z = zip_with(tmp_path / "s.zip", {
        "../../ex01_softmax_cross_entropy.py": "evil",
        "/abs/ex04_layernorm.py": "evil",
        "sub/ex04_layernorm.py": "ok = 1\n",
        "big/ex01_softmax_cross_entropy.py": "#" * (MAX_FILE + 1),
    }, symlink=("ex01_softmax_cross_entropy.py", "/etc/passwd"))
    intake = read_submission(z, NAMES)
    assert intake.files == {"ex04_layernorm.py": b"ok = 1\n"}
    text = "\n".join(intake.notes)
    assert "climbs out with '..'" in text and "an absolute path" in text
    assert "a symbolic link" in text and "larger than 256 KiB" in text
    assert not (tmp_path / "ex01_softmax_cross_entropy.py").exists()


def test_digest_is_content_based(tmp_path):
    a = zip_with(tmp_path / "a.zip", {"ex04_layernorm.py": "x = 1\n"})
    b = tmp_path / "b"
    b.mkdir()
    (b / "ex04_layernorm.py").write_text("x = 1\n")
    assert read_submission(a, NAMES).digest == read_submission(b, NAMES).digest
    (b / "ex04_layernorm.py").write_text("x = 2\n")
    assert read_submission(a, NAMES).digest != read_submission(b, NAMES).digest


@pytest.mark.parametrize("make,message", [
    (lambda p: p / "missing", "does not exist"),
    (lambda p: (p / "f.txt").write_text("hi") and p / "f.txt", "neither a folder nor a zip"),
])
def test_unreadable_submissions(tmp_path, make, message):
    with pytest.raises(IntakeError, match=message):
        read_submission(make(tmp_path), NAMES)


def test_too_many_entries(tmp_path):
    z = zip_with(tmp_path / "many.zip", {f"f{i}.txt": "" for i in range(600)})
    with pytest.raises(IntakeError, match="more than 500"):
        read_submission(z, NAMES)
