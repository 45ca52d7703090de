"""tt similarity: every pair of submissions, exercise by exercise, on a class built here.

The class (see tests/classbuild.py):
    ref1, ref2     copies of solutions/ (ref2's exercise 2 as a notebook, in a zip)
    disguised      solutions/ renamed, comments rewritten, re-laid-out, exercise 8 in UTF-16
    buggy-copy     grader/samples/typical_bugs: six files copied from solutions/, one bug each
    amara, bruno   independent correct work on exercises 1, 2 and 8 (the rest: the stubs)
    chen           independent work with bugs of her own, exercises 1 and 2
    stubs          the release untouched
    <img ...>      a hostile id: solutions/ exercise 3 with markup in its code, and a file
                   that would write a marker if it ever ran
So the copied group is {ref1, ref2, disguised, <img ...>} (the hostile id handed in solutions/
too) on all 15 exercises, and buggy-copy with each of them on 5 of its 6 files (the sixth,
exercise 8, is four lines, one of which is its bug); nobody else shares
a long passage: 6 + 4 = 10 pairs, no more.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from classbuild import EXERCISES, ROOT, exercise_files, honest, renamed, solutions, stubs
from grader.similarity import compare_class, find_similar, write_pages
from grader.similarity.pages import segments
from grader.similarity.sources import decode, read_submissions

HOSTILE = "<img src=x onerror=window.__pwned=1>"
MARKER = Path("/tmp/tt-similarity-ran-student-code")
COPIED = {"ref1", "ref2", "disguised", HOSTILE}
BUGGY = sorted(p.name for p in (ROOT / "grader" / "samples" / "typical_bugs").glob("ex*.py"))


def notebook(code: str) -> str:
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                       "cells": [{"cell_type": "markdown", "metadata": {}, "source": "# my notes", "id": "a"},
                                 {"cell_type": "code", "metadata": {}, "source": code, "outputs": [],
                                  "execution_count": None, "id": "b"}]})


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    root = tmp_path_factory.mktemp("similarity")
    subs = root / "submissions"
    solutions(subs / "ref1")
    folder = solutions(root / "ref2")
    ex02 = folder / "ex02_linear.py"
    with zipfile.ZipFile(subs / "ref2.zip", "w") as z:
        for p in sorted(folder.iterdir()):
            if p != ex02:
                z.write(p, f"exercises/{p.name}")
        z.writestr("exercises/ex02_linear.ipynb", notebook(ex02.read_text()))
    disguised = subs / "disguised"
    disguised.mkdir()
    for name in exercise_files():
        text = renamed((ROOT / "solutions" / name).read_text())
        (disguised / name).write_bytes(text.encode("utf-16") if name.startswith("ex08") else text.encode())
    shutil.copytree(ROOT / "grader" / "samples" / "typical_bugs", subs / "buggy-copy")
    for author in ("amara", "bruno", "chen"):
        honest(subs / author, author)
    stubs(subs / "stubs")
    evil = solutions(subs / HOSTILE)
    text = (evil / "ex03_relu_ffn.py").read_text()
    (evil / "ex03_relu_ffn.py").write_text(text.replace("    z = cache.x\n", "    z = cache.x  # </pre><script>window.__pwned=2</script>\n"
                                                        "    note = '<img src=y onerror=window.__pwned=3>'\n"))
    (evil / "ex13_learning_rate.py").write_text(
        (evil / "ex13_learning_rate.py").read_text() + f"\nopen({str(MARKER)!r}, 'w').write('ran')\n"
        "raise SystemExit(0)\n" + "\xe9\udcff".encode("utf-8", "surrogatepass").decode("latin-1") * 3)
    (subs / "notes.txt").write_text("not a submission")
    MARKER.unlink(missing_ok=True)
    found = find_similar(subs, threshold=0.6, jobs=2, show_progress=False)
    section = write_pages(found, root / "out")
    return root, found, section


def pair_names(found):
    return {frozenset((p.a, p.b)) for p in found.pairs}


def test_the_copies_and_only_the_copies_are_listed(klass):
    _, found, _ = klass
    expected = {frozenset((a, b)) for a in COPIED for b in COPIED if a < b}
    expected |= {frozenset(("buggy-copy", c)) for c in COPIED}
    assert len(expected) == 10 and pair_names(found) == expected
    for p in found.pairs:
        flagged = {m.exercise for m in p.flagged(found.threshold)}
        if "buggy-copy" in (p.a, p.b):
            # its six files, each one bug away; but exercise 8's own code is four lines, one of
            # them the bug: the passage left (29 tokens) is shorter than MIN_OVERLAP
            assert flagged == set(BUGGY) - {"ex08_embedding.py"}
        else:
            assert flagged == set(exercise_files())             # renaming, comments, layout change nothing
            assert p.score > 0.9


def test_identical_files_score_one_and_the_disguise_changes_little(klass):
    _, found, _ = klass
    by = {frozenset((p.a, p.b)): p for p in found.pairs}
    same = by[frozenset(("ref1", "ref2"))]
    assert all(m.score == pytest.approx(1.0) for m in same.exercises)   # the notebook's code cell too
    disguised = by[frozenset(("ref1", "disguised"))]
    assert min(m.score for m in disguised.exercises) > 0.8


def test_honest_work_and_the_stubs_are_not_listed(klass):
    _, found, _ = klass
    listed = {s for p in found.pairs for s in (p.a, p.b)}
    assert not listed & {"amara", "bruno", "chen", "stubs"}
    assert "notes.txt: neither a folder nor a .zip" in found.skipped
    # the stubs have no code of their own: all 15 of their files are left out, and the honest
    # students' untouched files with them
    assert all(found.empty[name] >= 1 for name in exercise_files())
    assert found.empty["ex08_embedding.py"] == 2          # stubs and chen: amara and bruno wrote exercise 8


def test_student_code_is_read_never_run(klass):
    _, found, _ = klass
    assert not MARKER.exists()
    text = found.texts[(HOSTILE, "ex13_learning_rate.py")]
    assert "open(" in text and "\ufffd" not in text[:100]


def test_pages_escape_everything_students_wrote(klass):
    from browser import load
    root, found, _ = klass
    index = root / "out" / "index.html"
    html = index.read_text()
    assert "<img src=x" not in html and "&lt;img src=x onerror" in html
    assert "not a verdict" in html
    pages = sorted((root / "out").glob("pair-*.html"))
    assert len(pages) == len(found.pairs) == 10
    hostile_page = next(p for p in pages if "onerror=window.__pwned=1" in p.read_text())
    text = hostile_page.read_text()
    assert "<script>window" not in text and "&lt;/pre&gt;&lt;script&gt;" in text
    assert "<mark>" in text
    probe = ("return {pwned: window.__pwned || null, scripts: document.querySelectorAll('script').length,"
             " marks: document.querySelectorAll('mark').length,"
             " handlers: [...document.querySelectorAll('*')].filter(e => [...e.attributes].some("
             "a => a.name.startsWith('on'))).length}")
    for page in (index, hostile_page):
        got = load(page, probe=probe)
        assert got.probe["pwned"] is None and got.probe["handlers"] == 0
        assert got.probe["scripts"] == 1                    # the probe's own
        assert not [c for c in got.console if "not loaded" in c or c.startswith("error")]
    assert load(hostile_page, probe=probe).probe["marks"] >= 15


def test_csv_lists_the_pairs(klass):
    import csv
    root, found, _ = klass
    rows = list(csv.DictReader((root / "out" / "similarity.csv").open()))
    assert len(rows) == 10 and {r["student_a"] for r in rows} | {r["student_b"] for r in rows} >= COPIED
    assert any(r["student_a"].startswith("'") or r["student_b"] == HOSTILE or r["student_a"] == HOSTILE
               for r in rows)


def test_decode_takes_any_encoding():
    assert decode("x = 'é'\r\n".encode("utf-16")) == "x = 'é'\n"
    assert decode(b"\xef\xbb\xbfa = 1\r") == "a = 1\n"
    assert decode(b"a = '\xe9'\x00\n") == "a = '\ufffd'\n"         # Latin-1 bytes: the code still compares


def test_segments_mark_the_matching_slices():
    assert segments("abcdefgh", [(2, 4), (3, 6)]) == [("ab", False), ("cd", True), ("ef", True), ("gh", False)]
    assert segments("abc", []) == [("abc", False)]


def test_common_passages_are_ignored():
    """A passage found in more submissions than `common` is the class's, not a pair's."""
    from grader.similarity.sources import Submission
    body = (ROOT / "solutions" / "ex08_embedding.py").read_text()
    subs = [Submission(f"s{i}", {"ex08_embedding.py": body}) for i in range(5)]
    assert len(compare_class(subs, common=10, show_progress=False).pairs) == 10     # C(5, 2)
    assert compare_class(subs, common=4, show_progress=False).pairs == []


def test_unreadable_submissions_are_reported(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "broken.zip").write_bytes(b"PK\x03\x04 not really a zip")
    solutions(subs / "ok")
    found, skipped = read_submissions(subs)
    assert [s.sid for s in found] == ["broken", "ok"] and found[0].unreadable and not skipped
    result = compare_class(found, show_progress=False)
    assert result.unreadable[0][0] == "broken" and result.pairs == []


def test_cli(tmp_path, capsys):
    from grader.similarity.cli import main
    subs = tmp_path / "subs"
    solutions(subs / "a")
    solutions(subs / "b")
    assert main([str(subs), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "a ~ b: overall 100%" in out and "not a verdict" in out
    assert main([str(tmp_path / "nope"), "--quiet"]) == 2
    assert main([str(subs), "--threshold", "2", "--quiet"]) == 2
    (tmp_path / "out" / "results.json").write_text("{}")          # a student's folder: never written into
    assert main([str(subs), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert EXERCISES.is_dir()


def test_every_long_step_shows_its_progress(tmp_path, capsys):
    from grader.similarity.cli import main
    subs = tmp_path / "subs"
    solutions(subs / "a")
    stubs(subs / "b")
    assert main([str(subs), "--out", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    # each step's bar reaches its own count: 2 submissions, 15 files each, 15 exercises
    for step, count in (("reading submissions", "2/2"), ("fingerprinting", "30/30"), ("comparing", "15/15")):
        assert re.search(rf"{step}: \[#+\] {count}\b", err), (step, err)
    assert main([str(subs), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_the_same_class_gives_the_same_figures_in_every_run(tmp_path):
    """copydetect's own k-gram hash is Python's salted hash(): with it, the scores moved
    by about a percent between runs. Two runs under different hash salts must agree."""
    subs = tmp_path / "subs"
    solutions(subs / "a")
    (subs / "b").mkdir()
    for name in exercise_files():
        (subs / "b" / name).write_text(renamed((ROOT / "solutions" / name).read_text()))
    honest(subs / "c", "amara")
    outputs = []
    for salt in ("1", "2"):
        out = tmp_path / f"out{salt}"
        env = dict(os.environ, PYTHONHASHSEED=salt)
        subprocess.run([sys.executable, "-m", "tt", "similarity", str(subs), "--out", str(out), "--quiet",
                        "--threshold", "0.01"], check=True, cwd=ROOT, env=env, timeout=600)
        outputs.append((out / "similarity.csv").read_text())
    assert outputs[0] == outputs[1] and outputs[0].count("\n") > 1


def test_a_file_the_intake_left_out_is_named_as_not_compared(tmp_path):
    """An exercise file over the intake's size cap is not compared: the section says so
    for that student and that file, rather than leaving it out without a word."""
    from grader.intake import MAX_FILE
    subs = tmp_path / "subs"
    solutions(subs / "a")
    big = solutions(subs / "b") / "ex03_relu_ffn.py"
    big.write_text(big.read_text() + "#" * (MAX_FILE + 1) + "\n")
    found = find_similar(subs, threshold=0.6, jobs=1, show_progress=False)
    notes = [(sid, why) for sid, why in found.unreadable if "ex03_relu_ffn.py" in why]
    assert notes and notes[0][0] == "b" and "larger than" in notes[0][1], found.unreadable
    write_pages(found, tmp_path / "out")
    assert "ex03_relu_ffn.py: larger than" in (tmp_path / "out" / "index.html").read_text()
