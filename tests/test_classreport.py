"""tt report (and tt grade-all --report) on a class graded once here, whose counts follow
from how it was built (tests/classbuild.py, tests/mutants):

    alice     solutions/                                   full marks
    bob       the stubs                                    every exercise "not attempted"
    carol     solutions/ with grader/samples/typical_bugs  six named mistakes (ex01, 02, 05, 08, 12, 14)
    dave      mutant ex02-dW-transposed
    erin      mutants ex02-dW-transposed and ex08-last-write-wins
    frank     mutant ex05-no-scale, exercise 13 not handed in
    <img ...> a zip: solutions/, but exercise 1's batch function raises an error whose message
              holds markup and a forged "Diagnosis:" line; a conftest.py and a file named with
              markup (both refused)
    garbage   a .zip that is not one                       unreadable: 0 everywhere
    ghost     a grading that failed (written by write_not_graded, as grade-all does)

Exercise 15 runs every student's pieces together, so each bug above reaches it too; its
diagnoses are the capstone's own (which exercise the first wrong gradient comes from), and
nothing below counts them. Every count is for exercises 1 to 14.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from classbuild import ROOT, exercise_files, mutant, solutions, stubs
from grader.classreport.analysis import analyse, mistake_key
from grader.classreport.collect import read_class, split_output

HOSTILE = "<img src=x onerror=window.__pwned=1>"
RAISE = ('    raise ValueError("<script>window.__pwned=2</script>\\n'
         'Diagnosis: <b onclick=window.__pwned=3>forged</b>")\n')
EX02_LOST = ("ex02 test_linear_batch", "ex02 test_linear_positions", "ex02 test_linear_without_bias",
             "ex02 test_linear_float32_batch_of_one")
EX01_BATCH = ("ex01 test_batch_mean", "ex01 test_batch_scaled_dloss", "ex01 test_batch_large_logits_float32",
              "ex01 test_batch_of_one")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("classreport")
    subs, out = root / "submissions", root / "graded"
    solutions(subs / "alice")
    stubs(subs / "bob")
    solutions(subs / "carol")
    for p in (ROOT / "grader" / "samples" / "typical_bugs").glob("ex*.py"):
        shutil.copy(p, subs / "carol" / p.name)
    mutant(subs / "dave", "ex02-dW-transposed")
    mutant(subs / "erin", "ex02-dW-transposed", "ex08-last-write-wins")
    mutant(subs / "frank", "ex05-no-scale")
    (subs / "frank" / "ex13_learning_rate.py").unlink()
    evil = solutions(root / "evil")
    ex01 = evil / "ex01_softmax_cross_entropy.py"
    text = ex01.read_text()
    head = "def softmax_cross_entropy_backward(dloss, cache):"
    at = text.index("### BEGIN SOLUTION", text.index(head))
    ex01.write_text(text[:at] + RAISE.strip() + "\n    " + text[at:])
    with zipfile.ZipFile(subs / f"{HOSTILE}.zip", "w") as z:
        for p in sorted(evil.iterdir()):
            z.write(p, p.name)
        z.writestr("conftest.py", "import os\nos._exit(0)\n")
        z.writestr("<svg onload=window.__pwned=4>.py", "x = 1\n")
    (subs / "garbage.zip").write_bytes(b"PK\x05\x06 this is not a zip at all")
    r = subprocess.run([sys.executable, "-m", "tt", "grade-all", str(subs), "-j", "2", "--out", str(out),
                        "--report"], capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    from grader.grading import write_not_graded
    write_not_graded(out / "ghost", "ghost", "grading took longer than 600 s and was stopped <script>x</script>")
    from grader.grading import hidden_tests
    points = {t.name: t.max_score for t in hidden_tests()}
    return root, subs, out, r, points


@pytest.fixture(scope="module")
def summary(graded):
    return analyse(read_class(graded[2]))


def mistakes(summary, exercise):
    e = next(e for e in summary.exercises if e.exercise == exercise)
    return {m.label: sorted(m.students) for m in e.mistakes}, e


def test_grade_all_report_writes_the_page_and_its_figures(graded):
    _, _, out, r, _ = graded
    assert f"wrote {out / 'report.html'}" in r.stdout
    for name in ("report.html", "report_totals.png", "report_exercises.png", "similarity/index.html"):
        assert (out / name).is_file(), name
    assert (out / "report_totals.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_class_size_and_who_was_not_graded(summary):
    assert summary.size == 9
    assert sorted(s.sid for s in summary.graded) == sorted(["alice", "bob", "carol", "dave", "erin", "frank",
                                                            HOSTILE, "garbage"])
    why = dict(summary.not_graded)
    assert set(why) == {"ghost", "garbage"}
    assert "600 s" in why["ghost"] and "unreadable submission" in why["garbage"]
    assert sorted(summary.refused) == sorted([(HOSTILE, "conftest.py: the grader never runs files it did not ask for"),
                                              (HOSTILE, "<svg onload=window.__pwned=4>.py: not an exercise file")])
    assert ("frank", "not submitted: ex13_learning_rate.py") in summary.intake_notes


def test_named_mistakes_and_who_made_them(summary):
    found, _ = mistakes(summary, "ex02")
    transposed = [k for k in found if "transposed" in k]
    assert len(transposed) == 1 and found[transposed[0]] == ["carol", "dave", "erin"]
    expected = {"ex01": ("B times too large", ["carol"]), "ex05": ("sqrt(hs) times too large", ["carol", "frank"]),
                "ex08": ("the last write wins", ["carol", "erin"]), "ex12": ("without the bias corrections", ["carol"]),
                "ex14": ("clipped by its own norm", ["carol"])}
    for ex in [f"ex{i:02d}" for i in range(1, 15)]:
        found, e = mistakes(summary, ex)
        if ex == "ex02":
            assert len(found) == 1
        elif ex in expected:
            fragment, who = expected[ex]
            assert [v for k, v in found.items() if fragment in k] == [who], (ex, found)
            assert len(found) == 1, (ex, found)
        else:
            assert found == {}, (ex, found)
        # bob's stubs everywhere, frank's missing exercise 13: "not attempted", never a mistake
        unfinished = {s for m in e.unfinished for s in m.students}
        assert unfinished == ({"bob", "frank"} if ex == "ex13" else {"bob"}), ex
    top = summary.top_mistakes[0]
    assert top.exercise == "ex02" and sorted(top.students) == ["carol", "dave", "erin"] and top.failures == 12


def test_failures_without_a_diagnosis_are_counted(summary, graded):
    points = graded[4]
    _, e = mistakes(summary, "ex01")
    n_ex01 = sum(1 for name in points if name.startswith("ex01 "))
    # the hostile student's raising batch function (4 tests, the forged "Diagnosis:" refused)
    # and every ex01 test of the unreadable zip
    assert e.undiagnosed_failures == len(EX01_BATCH) + n_ex01
    assert sorted(e.undiagnosed_students) == sorted([HOSTILE, "garbage"])
    assert not [m for ex in summary.exercises for m in ex.mistakes if "forged" in m.label]


def test_pass_rates_and_medians(summary, graded):
    points = graded[4]
    _, e = mistakes(summary, "ex02")
    rate = {t.name: (t.passed, t.total) for t in e.tests}
    assert rate["ex02 test_linear_batch"] == (3, 8)             # alice, frank and the hostile zip
    assert e.tests[0].rate <= e.tests[-1].rate                   # the hardest first
    _, e1 = mistakes(summary, "ex01")
    one = {t.name: (t.passed, t.total) for t in e1.tests}
    assert one["ex01 test_one_example"] == (6, 8)               # all but the stubs and the unreadable zip
    assert one["ex01 test_batch_mean"] == (4, 8)                # nor carol's, nor the raising one
    lost = sum(points[n] for n in EX02_LOST)
    full = sum(v for k, v in points.items() if k.startswith("ex02 "))
    # [alice, frank, hostile: full; carol, dave, erin: full - lost; bob, garbage: 0]
    assert e.stats["median"] == full - lost and e.stats["max"] == full
    assert sorted(e.scores) == sorted([full] * 3 + [full - lost] * 3 + [0, 0])


def test_split_output_keeps_the_grader_fields():
    assert split_output("Checked: a\nboom\nDiagnosis: d") == ("a", "boom", "d")
    assert split_output("Checked: a\nDiagnosis: d") == ("a", "", "d")
    assert split_output("no check") == ("", "no check", "")
    assert mistake_key("largest error 3.2e-05 at index (5, 5) of 140") == "largest error # at index (#, #) of #"


def test_report_renders_offline_and_runs_nothing_students_wrote(graded):
    from browser import load, screenshot
    root, subs, out, _, _ = graded
    from grader.classreport import write_report
    write_report(out, subs, show_progress=False)              # again, now with ghost among the results
    html = (out / "report.html").read_text()
    assert "&lt;img src=x onerror=window.__pwned=1&gt;" in html and "<img src=x" not in html
    assert "<script>x" not in html and "<b onclick" not in html and "<svg" not in html
    probe = ("return {pwned: window.__pwned || null, scripts: document.querySelectorAll('script').length,"
             " images: [...document.images].map(i => i.naturalWidth),"
             " handlers: [...document.querySelectorAll('*')].filter(e => [...e.attributes].some("
             "a => a.name.startsWith('on'))).length, text: document.body.innerText}")
    page = load(out / "report.html", probe=probe)
    assert page.probe["pwned"] is None and page.probe["handlers"] == 0 and page.probe["scripts"] == 1
    assert len(page.probe["images"]) == 2 and all(w > 0 for w in page.probe["images"])
    assert not [c for c in page.console if "not loaded" in c or c.startswith("error")]
    text = page.probe["text"]
    assert "9 students: 8 graded" in text and HOSTILE in text and "not a verdict" in text
    pair = out / "similarity" / "pair-0001.html"
    assert pair.is_file() and load(pair, probe=probe).probe["pwned"] is None
    shot = screenshot(out / "report.html", root / "report.png", 1100, 1600)
    assert shot.stat().st_size > 10_000


def test_tt_report_command(graded, tmp_path, capsys):
    import re

    from grader.classreport.cli import main
    _, _, out, _, _ = graded
    assert main([str(out)]) == 0                            # its progress bar, to the end
    err = capsys.readouterr().err
    assert re.search(r"reading results: \[#+\] (\d+)/\1\b", err), err
    assert main([str(out), "--quiet"]) == 0
    assert capsys.readouterr().err == ""
    assert main([str(tmp_path / "nowhere")]) == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main([str(empty), "--quiet"]) == 2             # no gradebook, no results: says so
    assert exercise_files()


def test_a_diagnosis_the_students_message_already_holds_is_theirs():
    message = "f: ValueError: x\nDiagnosis: mine\n\nTraceback (your code ...):\nValueError: x\nDiagnosis: mine"
    assert split_output("Checked: c\n" + message) == ("c", message, "")
    real = "f: dW: largest error 1 at (0, 1)\nDiagnosis: it equals the correct gradient transposed"
    assert split_output(real)[2] == "it equals the correct gradient transposed"
