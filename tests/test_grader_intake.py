"""Submissions are read defensively: only exercise files, never where a zip says."""
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.intake import MAX_FILE, IntakeError, NotASubmission, read_submission

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
    (lambda p: p / "missing.zip", "does not exist"),
    (lambda p: (p / "f.pdf").write_bytes(b"%PDF-1.4") and p / "f.pdf", "neither a folder nor a .zip"),
])
def test_what_is_no_submission_at_all(tmp_path, make, message):
    with pytest.raises(NotASubmission, match=message):
        read_submission(make(tmp_path), NAMES)


def test_a_zip_that_is_not_one_is_the_students_unreadable_submission(tmp_path):
    fake = tmp_path / "alice.zip"
    fake.write_bytes(b"%PDF-1.4 a pdf renamed")
    with pytest.raises(IntakeError) as info:
        read_submission(fake, NAMES)
    assert not isinstance(info.value, NotASubmission)


def test_too_many_entries(tmp_path):
    z = zip_with(tmp_path / "many.zip", {f"f{i}.txt": "" for i in range(600)})
    with pytest.raises(IntakeError, match="more than 500"):
        read_submission(z, NAMES)


def test_a_file_named_like_an_exercise_of_another_type_gets_a_note(tmp_path):
    sub = tmp_path / "bob"
    sub.mkdir()
    (sub / "ex04_layernorm.pdf").write_bytes(b"%PDF")
    (sub / "ex01_softmax_cross_entropy (1).py").write_text("x = 1\n")
    (sub / "ex99_nothing.txt").write_text("")          # no exercise 99: no note
    notes = read_submission(sub, NAMES).notes
    assert ("ignored ex04_layernorm.pdf: named like ex04_layernorm.py but not it; the grader takes "
            "ex04_layernorm.py or ex04_layernorm.ipynb") in notes
    assert any(n.startswith("ignored ex01_softmax_cross_entropy (1).py: named like ex01_") for n in notes)
    assert not any("ex99" in n for n in notes)


def release_folder(root):
    """The student release's layout (grader/build.py): exercises/ with tests/, tt/, README..."""
    ex = root / "tt-exercises" / "exercises"
    (ex / "tests" / "__pycache__").mkdir(parents=True)
    (root / "tt-exercises" / "tt").mkdir()
    (root / "tt-exercises" / "README.md").write_text("# read me")
    (root / "tt-exercises" / "requirements.txt").write_text("numpy\n")
    (root / "tt-exercises" / "tt" / "model.py").write_text("")
    (root / "tt-exercises" / "tt" / "ops.py").write_text("")
    for name in ("__init__.py", "conftest.py", "harness.py", "notebook.py", "test_ex04_layernorm.py"):
        (ex / "tests" / name).write_text("")
    (ex / "tests" / "__pycache__" / "harness.cpython-311.pyc").write_bytes(b"\0")
    (ex / "README.md").write_text("")
    (ex / "__init__.py").write_text("")
    (ex / ".ipynb_checkpoints").mkdir()
    (ex / ".ipynb_checkpoints" / "ex04_layernorm-checkpoint.ipynb").write_text("{}")
    (ex / "ex04_layernorm.py").write_text("x = 1\n")
    (ex / "ex01_softmax_cross_entropy.py").write_text("y = 2\n")
    (ex / "helpers.py").write_text("")                 # the student's own: noted
    return root / "tt-exercises"


def zip_folder(folder, path, top):
    with zipfile.ZipFile(path, "w") as zf:
        for p in sorted(folder.rglob("*")):
            zf.write(p, str(p.relative_to(top)))        # directory entries too, as zip -r does
        zf.writestr("__MACOSX/exercises/._ex04_layernorm.py", "\0")
    return path


@pytest.mark.parametrize("what", ["exercises", "tt-exercises"])
def test_a_zip_and_its_folder_give_the_same_notes_and_the_release_is_not_listed(tmp_path, what):
    release = release_folder(tmp_path)
    folder = release / "exercises" if what == "exercises" else release
    z = zip_folder(folder, tmp_path / "sub.zip", folder.parent)
    from_folder, from_zip = read_submission(folder, NAMES), read_submission(z, NAMES)
    assert from_zip.files == from_folder.files == {"ex04_layernorm.py": b"x = 1\n",
                                                   "ex01_softmax_cross_entropy.py": b"y = 2\n"}
    assert from_zip.notes == from_folder.notes
    inside = "" if what == "exercises" else "exercises/"
    assert from_zip.notes == [f"ignored {inside}helpers.py: not an exercise file"]


# ----------------------------------------------------------------- the command line
ROOT = Path(__file__).resolve().parents[1]


def tt(*args, cwd):
    return subprocess.run([sys.executable, "-m", "tt", *args], capture_output=True, text=True, timeout=300,
                          cwd=cwd, env=dict(os.environ, PYTHONPATH=str(ROOT)))


@pytest.mark.parametrize("make,message", [
    (lambda p: "nosuch.zip", "nosuch.zip: does not exist"),
    (lambda p: (p / "essay.pdf").write_bytes(b"%PDF-1.4\n") and "essay.pdf", "essay.pdf: is neither a folder nor a .zip"),
])
def test_tt_grade_of_no_submission_is_an_error_and_writes_nothing(tmp_path, make, message):
    r = tt("grade", make(tmp_path), cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert f"tt grade: nothing graded: {message}" in r.stderr and r.stdout == ""
    assert not (tmp_path / "graded").exists()


@pytest.mark.parametrize("content", [[], ["notes.txt"]], ids=["empty", "no-submission-in-it"])
def test_grade_all_of_a_folder_without_submissions_is_an_error_and_writes_nothing(tmp_path, content):
    klass = tmp_path / "class"
    klass.mkdir()
    for name in content:
        (klass / name).write_text("hi")
    r = tt("grade-all", "class", "--out", "out", cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert "tt grade-all: nothing graded: class holds no submission" in r.stderr
    assert not (tmp_path / "out").exists()
    r = tt("grade-all", "nosuch", cwd=tmp_path)
    assert r.returncode == 2 and "nosuch does not exist" in r.stderr


def test_nbgraders_layout_names_the_student_not_the_assignment(tmp_path):
    from grader.cli import default_student
    sub = tmp_path / "mycourse" / "submitted" / "alice" / "stage10"
    sub.mkdir(parents=True)
    assert default_student(sub) == "alice"
    assert default_student(tmp_path / "class" / "bob.zip") == "bob"
    assert default_student(tmp_path / "mycourse" / "submitted" / "alice") == "alice"


def test_an_interrupted_force_run_resumes_without_force_and_says_so(tmp_path, monkeypatch, capsys):
    """grade-all --force stopped after the first student: the advice is to run without
    --force, and that run grades exactly the students the forced one had not reached."""
    import json
    import signal
    import time

    import grader.build
    import grader.grading
    from grader import grade_all
    klass, out = tmp_path / "class", tmp_path / "out"
    for sid in ("s1", "s2", "s3"):
        (klass / sid).mkdir(parents=True)
        (klass / sid / "ex04_layernorm.py").write_text(f"x = '{sid}'\n")
    graded, stop_at = [], []

    def fake_grade(self, sid, path, out_dir):
        if sid in stop_at:                   # Ctrl-C while this one is being graded
            time.sleep(0.5)
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1.0)
            return None
        graded.append(sid)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "results.json").write_text(json.dumps({"score": 1, "output": "t", "tests": [
            {"name": "ex04 test_x", "score": 1, "max_score": 1}]}))
        return ""

    monkeypatch.setattr(grade_all._Batch, "grade", fake_grade)
    monkeypatch.setattr(grader.grading, "check_sandbox", lambda *a, **k: [])
    monkeypatch.setattr(grader.build, "student_tt", lambda *a, **k: None)
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        assert grade_all.main_grade_all([str(klass), "--out", str(out)]) == 0
        assert graded == ["s1", "s2", "s3"]
        graded.clear()
        stop_at.append("s2")
        capsys.readouterr()
        assert grade_all.main_grade_all([str(klass), "--out", str(out), "--force", "-j", "1"]) == 130
        err = capsys.readouterr().err
        assert "To resume, run the same command without --force" in err and "run the same command again" not in err
        assert graded == ["s1"]
        graded.clear()
        stop_at.clear()
        assert grade_all.main_grade_all([str(klass), "--out", str(out)]) == 0
        assert graded == ["s2", "s3"]                 # not s1, graded by the forced run
        assert "1 unchanged since last graded, 2 to grade" in capsys.readouterr().out
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def test_the_real_release_zipped_whole_gives_no_notes_and_asks_for_jupyter(tmp_path):
    """What the student README suggests: zip the exercises/ folder (or the whole release)."""
    from grader.build import build_release
    from grader.grading import exercise_names
    folder, _ = build_release(tmp_path / "dist")
    assert "jupyterlab" in (folder / "requirements.txt").read_text()
    for top in (folder / "exercises", folder):
        z = shutil.make_archive(str(tmp_path / top.name), "zip", root_dir=top.parent, base_dir=top.name)
        from_zip, from_folder = read_submission(z, exercise_names()), read_submission(top, exercise_names())
        assert from_zip.notes == from_folder.notes == []
        assert from_zip.files == from_folder.files and len(from_zip.files) == 15


def test_the_gradebook_note_is_cut_at_a_word_and_leaves_the_sandbox_out(tmp_path):
    import json

    from grader.grade_all import NOTE_CAP, _row
    notes = [f"ignored exercises/helper_number_{i}.py: not an exercise file" for i in range(20)]
    output = "\n".join(["Stage 10: 0 / 1", *notes, "student code ran in an isolated worker with: seccomp"])
    (tmp_path / "results.json").write_text(json.dumps({"score": 0, "output": output, "tests": [
        {"name": "ex04 test_x", "score": 0, "max_score": 1}]}))
    note = _row("s", tmp_path, ["ex04"], "")["note"]
    assert len(note) <= NOTE_CAP + 2 and note.endswith(" …") and "seccomp" not in note
    assert "; ".join(notes).startswith(note[:-2]) and "; ".join(notes)[len(note) - 2] in " ;"


# ----------------------------------------------------------------- how the files are saved
SOURCE = 'def f(x):\n    """The café\'s function."""\n    return x\n'
GRADED_AS_IS = "; save it as UTF-8. It is graded as it is: Python cannot read it, so its tests fail"


def folder_with(tmp_path, ex04: bytes):
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "ex01_softmax_cross_entropy.py").write_text("x = 1\n", encoding="utf-8")
    (sub / "ex04_layernorm.py").write_bytes(ex04)
    return sub


@pytest.mark.parametrize("encoding,reason", [
    ("utf-16", "is saved as UTF-16 (it starts with a UTF-16 byte-order mark)"),
    ("utf-32", "is saved as UTF-32 (it starts with a UTF-32 byte-order mark)"),
    ("utf-16-le", "contains NUL bytes (the first on line 1; saved as UTF-16 or UTF-32 without a byte-order mark?)"),
    ("latin-1", "is not valid UTF-8 (byte 0xe9 on line 2 does not decode)"),
])
def test_a_file_python_cannot_read_as_text_is_graded_with_a_note_that_says_why(tmp_path, encoding, reason):
    data = SOURCE.encode(encoding)
    with pytest.raises(SyntaxError):             # what the worker's import would meet
        compile(data, "ex04_layernorm.py", "exec")
    intake = read_submission(folder_with(tmp_path, data), NAMES)
    assert intake.files["ex04_layernorm.py"] == data          # still handed on: the student's zero
    assert intake.notes == [f"ex04_layernorm.py {reason}{GRADED_AS_IS}"]


def test_the_encoding_note_is_the_same_from_a_zip_and_names_the_path_in_it(tmp_path):
    z = zip_with(tmp_path / "s.zip", {"exercises/ex04_layernorm.py": SOURCE.encode("utf-16"),
                                      "exercises/ex01_softmax_cross_entropy.py": "x = 1\n",
                                      "notes/ex99.txt": ""})
    assert read_submission(z, NAMES).notes == [
        "exercises/ex04_layernorm.py is saved as UTF-16 (it starts with a UTF-16 byte-order mark)" + GRADED_AS_IS]


@pytest.mark.parametrize("data", [
    b"\xef\xbb\xbf" + SOURCE.encode(),                                  # UTF-8 with a byte-order mark
    b"# -*- coding: latin-1 -*-\n" + SOURCE.encode("latin-1"),          # PEP 263 on the first line
    b"#!/usr/bin/env python3\n# vim: set fileencoding=cp1252 :\n" + SOURCE.encode("cp1252"),   # second line
    b"\xef\xbb\xbf# coding: utf-8\n" + SOURCE.encode(),
], ids=["utf8-bom", "latin1-coding-line", "cp1252-second-line", "bom-and-utf8-coding-line"])
def test_what_python_reads_as_text_gets_no_note(tmp_path, data):
    compile(data, "ex04_layernorm.py", "exec")
    intake = read_submission(folder_with(tmp_path, data), NAMES)
    assert intake.files["ex04_layernorm.py"] == data and intake.notes == []


@pytest.mark.parametrize("data,reason", [
    (b"x = 1\n# coding: latin-1\ns = '\xe9'\n", "is not valid UTF-8 (byte 0xe9 on line 3 does not decode)"),
    (b"# coding: klingon\nx = 1\n", "declares an encoding Python does not know (coding: klingon)"),
    (b"\xef\xbb\xbf# coding: latin-1\nx = 1\n", "starts with a UTF-8 byte-order mark but declares coding: latin-1"),
], ids=["coding-line-too-late", "unknown-coding", "bom-and-latin1"])
def test_a_coding_line_python_does_not_honour_gets_a_note(tmp_path, data, reason):
    with pytest.raises(SyntaxError):
        compile(data, "ex04_layernorm.py", "exec")
    assert read_submission(folder_with(tmp_path, data), NAMES).notes == [f"ex04_layernorm.py {reason}{GRADED_AS_IS}"]


ENCRYPTED_NOTE = ("ignored {}: the zip encrypts it (a password-protected zip cannot be read; "
                  "zip it again without a password)")


def test_a_password_protected_zip_gives_one_clear_note_per_encrypted_entry_in_sorted_order(tmp_path):
    if not shutil.which("zip"):
        pytest.skip("needs the zip command")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "ex04_layernorm.py").write_text("x = 4\n")
    (sub / "ex01_softmax_cross_entropy.py").write_text("x = 1\n")
    (sub / "ex02_linear.ipynb").write_text("{}")
    (sub / "readme.txt").write_text("hi")
    (sub / "extra.py").write_text("")
    z = tmp_path / "s.zip"                 # entries in this order, not sorted; extra.py without a password
    subprocess.run(["zip", "-q", "-P", "pw", str(z), "ex04_layernorm.py", "readme.txt", "ex02_linear.ipynb",
                    "ex01_softmax_cross_entropy.py"], cwd=sub, check=True)
    subprocess.run(["zip", "-q", str(z), "extra.py"], cwd=sub, check=True)
    intake = read_submission(z, [*NAMES, "ex02_linear.py"])
    assert intake.files == {}
    assert intake.notes == [
        "ignored extra.py: not an exercise file",
        *(ENCRYPTED_NOTE.format(n) for n in ("ex01_softmax_cross_entropy.py", "ex02_linear.ipynb",
                                             "ex04_layernorm.py")),
        "not submitted: ex01_softmax_cross_entropy.py, ex02_linear.py, ex04_layernorm.py"]


def test_an_entry_flagged_encrypted_gets_the_same_note_whole(tmp_path):
    """The encryption bit set by hand (as the corpus does): the note holds no ZipInfo and is not cut."""
    z = zip_with(tmp_path / "s.zip", {"ex04_layernorm.py": "x = 4\n", "ex01_softmax_cross_entropy.py": "x = 1\n"})
    data = bytearray(z.read_bytes())
    for sig, flags_at, name_at in ((b"PK\x03\x04", 6, 30), (b"PK\x01\x02", 8, 46)):
        at = data.find(sig)
        while at != -1:
            if data[at + name_at:].startswith(b"ex04_layernorm.py"):
                data[at + flags_at] |= 1
            at = data.find(sig, at + 4)
    z.write_bytes(bytes(data))
    intake = read_submission(z, NAMES)
    assert intake.files == {"ex01_softmax_cross_entropy.py": b"x = 1\n"}
    assert intake.notes == [ENCRYPTED_NOTE.format("ex04_layernorm.py"), "not submitted: ex04_layernorm.py"]
