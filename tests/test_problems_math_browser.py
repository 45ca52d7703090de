"""The problem sets' formulas in a real headless browser (tests/browser.py, Debian's
chromium), offline: every <math> element is laid out as mathematics (nonzero box,
numerators above denominators, subscripts below and right of their base), nothing is
wider than the page, on screen or at the printed width, and the page logs nothing.
Then `tt problems generate --pdf`: a PDF per student, with pages; and the clear error
where no Chromium is on PATH. Skipped, with the reason, where chromium is absent.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from browser import chromium_or_skip, load
from grader.problems import cli
from grader.problems import printing

SECRET = "a course secret for the browser tests"

PROBE = """
var de = document.documentElement;
function box(e) { return e.getBoundingClientRect(); }
function measure() {
  var maths = Array.prototype.slice.call(document.querySelectorAll("math"));
  var empty = maths.filter(function (m) { var r = box(m); return !(r.width > 0 && r.height > 0); });
  var fracs = Array.prototype.slice.call(document.querySelectorAll("mfrac"));
  var flat = fracs.filter(function (f) {
    return !(box(f.children[0]).bottom <= box(f.children[1]).top + 1); });
  var subs = Array.prototype.slice.call(document.querySelectorAll("msub"));
  var unsub = subs.filter(function (s) {
    var b = box(s.children[0]), i = box(s.children[1]);
    return !(i.bottom > b.bottom && i.left >= b.right - 1); });
  var sqrts = Array.prototype.slice.call(document.querySelectorAll("msqrt"));
  var thin = sqrts.filter(function (s) { return !(box(s).width > box(s.children[0]).width); });
  var page = box(document.body);        // the page's text column
  var wide = Array.prototype.slice.call(document.querySelectorAll("body *")).filter(function (e) {
    var r = box(e);                     // (the hidden TeX annotations have no box)
    return r.width > 0 && (r.right > page.right + 0.5 || r.left < page.left - 0.5); });
  var seenTex = Array.prototype.slice.call(document.querySelectorAll("annotation")).filter(
    function (a) { return box(a).width > 0; });
  return {maths: maths.length, column: page.width, fracs: fracs.length, subs: subs.length, sqrts: sqrts.length,
          empty: empty.map(function (m) { return m.outerHTML.slice(0, 300); }),
          flat: flat.length, unsub: unsub.length, thin: thin.length,
          wide: wide.slice(0, 5).map(function (e) { return e.tagName + ": " + e.textContent.slice(0, 80); }),
          scroll: de.scrollWidth, client: de.clientWidth, seenTex: seenTex.length};
}
var screen = measure();
// The printed width: A4 less the page margins of the print style, about 690 CSS pixels.
document.body.style.maxWidth = "690px"; document.body.style.padding = "0";
var printed = measure();
return {screen: screen, printed: printed};
"""


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    chromium_or_skip()
    root = tmp_path_factory.mktemp("math-course")
    (root / "roster.csv").write_text("student_id,name\ns001,Ada\ns002,Alan\ns003,Grace\n",
                                     encoding="utf-8")
    (root / "secret.txt").write_text(SECRET, encoding="utf-8")
    rc = cli.main(["generate", "--roster", str(root / "roster.csv"), "--out", str(root / "sets"),
                   "--secret-file", str(root / "secret.txt"), "--quiet", "--jobs", "1", "--pdf"])
    assert rc == 0
    return root


@pytest.mark.parametrize("sid", ["s001", "s002", "s003"])
def test_formulas_render_as_maths_and_nothing_overflows(course, sid):
    page = load(course / "sets" / "students" / sid / "problem_set.html", probe=PROBE)
    assert page.console == [], page.console
    for where, m in page.probe.items():
        assert m["maths"] > 80 and m["fracs"] >= 10 and m["subs"] > 50 and m["sqrts"] >= 3, (where, m)
        assert m["empty"] == [], (where, m["empty"])
        assert (m["flat"], m["unsub"], m["thin"]) == (0, 0, 0), (where, m)
        assert m["seenTex"] == 0, where
        assert m["wide"] == [] and m["scroll"] <= m["client"], (where, m)
    assert page.probe["printed"]["column"] <= 690 < page.probe["screen"]["column"]


def test_pdf_per_student_with_pages(course):
    for sid in ("s001", "s002", "s003"):
        folder = course / "sets" / "students" / sid
        data = (folder / "problem_set.pdf").read_bytes()
        assert data.startswith(b"%PDF-")
        pages = len(re.findall(rb"/Type\s*/Page(?!s)", data))
        assert pages >= 10, pages
        assert sorted(p.name for p in folder.iterdir()) == [
            "answers.txt", "problem_set.html", "problem_set.ipynb", "problem_set.md",
            "problem_set.pdf"]          # no temporary file left behind


def test_pdfs_are_reprinted_only_when_missing_or_older_than_the_html(course, capsys):
    sets = course / "sets"
    (sets / "students" / "s002" / "problem_set.pdf").unlink()
    args = ["generate", "--roster", str(course / "roster.csv"), "--out", str(sets),
            "--secret-file", str(course / "secret.txt"), "--quiet", "--jobs", "1", "--pdf"]
    capsys.readouterr()
    assert cli.main(args) == 0
    assert "PDF: 1 sets printed, 2 already there" in capsys.readouterr().out
    assert (sets / "students" / "s002" / "problem_set.pdf").read_bytes().startswith(b"%PDF-")


def test_one_set_that_cannot_print_does_not_stop_the_others(course, tmp_path):
    good = tmp_path / "good"
    good.mkdir()
    (good / "problem_set.html").write_text("<!DOCTYPE html><p>x</p>", encoding="utf-8")
    missing = tmp_path / "missing"
    summary = printing.print_sets([missing, good], chromium_or_skip(), jobs=1)
    assert summary.printed == 1 and len(summary.failed) == 1
    assert "missing" in summary.failed[0] and "no such set" in summary.failed[0]
    assert (good / "problem_set.pdf").read_bytes().startswith(b"%PDF-")


def test_pdf_without_chromium_is_a_clear_error_before_anything_is_written(tmp_path, monkeypatch,
                                                                        capsys):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    (tmp_path / "roster.csv").write_text("student_id\ns001\n", encoding="utf-8")
    (tmp_path / "secret.txt").write_text(SECRET, encoding="utf-8")
    rc = cli.main(["generate", "--roster", str(tmp_path / "roster.csv"), "--out",
                   str(tmp_path / "sets"), "--secret-file", str(tmp_path / "secret.txt"),
                   "--quiet", "--pdf"])
    err = capsys.readouterr().err
    assert rc == 2 and "apt-get install chromium" in err and "prints from any browser" in err
    assert not Path(tmp_path / "sets").exists()
