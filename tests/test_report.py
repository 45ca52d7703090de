"""grader/report.py: Gradescope results.json, the feedback page and the gradebook CSV."""
from __future__ import annotations

import csv
import json
import re

import pytest

from grader.report import (OUTPUT_CAP, Report, TestResult, gradescope_results, render_feedback_html,
                           results_json, shorten, readable_title, write_class_csv, write_feedback_html,
                           write_results_json)

VIS = {"hidden", "after_due_date", "after_published", "visible"}


def sample(output="your answer: [1, 2]") -> Report:
    return Report("s001", "Stage 10 problem set", [
        TestResult("q07.dlogits: ∂loss/∂logits", 3.0, 4, "failed", output=output,
                   checked="a vector of 4 numbers", diagnosis="entry 4: the sign is flipped",
                   group="1. ∂loss/∂logits"),
        TestResult("q08.rows", 1.0, 1, "passed", group="2. column")], 0.25, ["a note"])


def test_results_json_follows_the_gradescope_spec():
    r = results_json(sample())
    assert set(r) == {"score", "execution_time", "output", "visibility", "stdout_visibility",
                      "tests"}
    assert r["score"] == 4 and r["execution_time"] == 0.25
    assert r["visibility"] in VIS and r["stdout_visibility"] in VIS
    assert "a note" in r["output"]
    for t in r["tests"]:
        assert {"name", "score", "max_score", "status", "output", "visibility"} <= set(t)
        assert set(t) <= {"name", "score", "max_score", "status", "output", "visibility", "tags"}
        assert t["status"] in {"passed", "failed"} and t["visibility"] in VIS
    first = r["tests"][0]
    assert first["score"] == 3 and first["max_score"] == 4 and first["tags"] == ["1. ∂loss/∂logits"]
    assert "Checked: a vector" in first["output"] and "Diagnosis: entry 4" in first["output"]
    json.dumps(r)                                  # serializable as is


def test_invalid_status_visibility_and_scores_are_refused():
    with pytest.raises(ValueError, match="status"):
        TestResult("t", 1, 1, "ok")
    with pytest.raises(ValueError, match="visibility"):
        TestResult("t", 1, 1, "passed", visibility="public")
    with pytest.raises(ValueError, match="finite"):
        TestResult("t", float("nan"), 1, "passed")


def test_student_text_is_escaped_and_truncated(tmp_path):
    evil = "<script>alert('x')</script>" + "A" * (OUTPUT_CAP * 3)
    page = render_feedback_html(sample(output=evil))
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert "truncated" in page and "A" * (OUTPUT_CAP + 10) not in page
    assert len(results_json(sample(output=evil))["tests"][0]["output"]) < OUTPUT_CAP + 500
    assert "What was checked" in page and "3 / 4" in page and "sign is flipped" in page
    write_feedback_html(sample(), tmp_path / "f.html")
    write_results_json(sample(), tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text())["score"] == 4
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*"))


def test_class_csv_and_formula_injection(tmp_path):
    rows = [{"student_id": "s001", "name": "=HYPERLINK(\"x\")", "score": 12.5},
            {"student_id": "s002", "name": "Ada, \"the first\"", "score": -0.5}]
    write_class_csv(rows, ["student_id", "name", "score", "missing"], tmp_path / "c.csv")
    got = list(csv.DictReader((tmp_path / "c.csv").open(encoding="utf-8")))
    assert got[0]["name"].startswith("'=") and got[0]["score"] == "12.5"
    assert got[1]["name"] == "Ada, \"the first\"" and got[1]["score"] == "-0.5"
    assert got[0]["missing"] == ""


def stubs_like() -> Report:
    """Three failures word for word alike, one different, one pass; a sandbox detail."""
    same = "ex04.layernorm_backward: NotImplementedError: Exercise 4: layernorm_backward"
    tests = [TestResult(f"ex04 test_{n}", 0.0, 2, "failed", output=same, checked=f"case {n}",
                        diagnosis="this function is still the stub", group="Exercise 4: LayerNorm",
                        title=f"Exercise 4 (LayerNorm): {n}") for n in ("a", "b", "c")]
    tests.append(TestResult("ex04 test_d", 0.0, 1, "failed", output="shape (2, 3), expected (3, 2)",
                            group="Exercise 4: LayerNorm"))
    tests.append(TestResult("ex05 test_e", 3.0, 3, "passed", group="Exercise 5: attention"))
    return Report("s002", "Stage 10", tests, 1.0, notes=["not submitted: ex06_x.py"],
                  instructor_notes=["student code ran in an isolated worker with: pid-namespace, seccomp"])


def test_the_page_opens_with_a_summary_and_folds_identical_failures():
    page = render_feedback_html(stubs_like())
    summary = page[page.index('<table class="summary">'):page.index("</table>")]
    rows = re.findall(r"<tr class=\"(\w+)\">\s*<td><a href=\"#(group-\d)\">([^<]*)</a></td>\s*"
                      r"<td class=\"num\">([^<]*)</td>\s*<td class=\"num\">([^<]*)</td>", summary)
    assert rows == [("none", "group-1", "Exercise 4: LayerNorm", "0 / 7", "0 of 4"),
                    ("full", "group-2", "Exercise 5: attention", "3 / 3", "1 of 1")]
    assert page.index("summary") < page.index('<div class="test')
    assert page.count('<div class="test') == 3                 # a (with b, c), d, e
    assert page.count("NotImplementedError") == 1
    assert "2 more checks failed the same way" in page
    assert "Exercise 4 (LayerNorm): b (0 / 2): case b" in page
    assert "ex04 test_d" in page                                # no title: the id


def test_sandbox_details_are_the_instructors_never_on_the_students_page():
    page = render_feedback_html(stubs_like())
    assert "pid-namespace" not in page and "seccomp" not in page
    assert "not submitted: ex06_x.py" in page[:page.index("<table")]       # the student's notes on top
    # tt grade's results.json is the instructor's file: everything is in its output
    assert "pid-namespace" in results_json(stubs_like())["output"]


def test_gradescope_shows_titles_folds_and_keeps_the_sandbox_for_the_instructor():
    data = gradescope_results(stubs_like())
    assert "pid-namespace" not in json.dumps({k: v for k, v in data.items() if k != "extra_data"})
    assert data["extra_data"]["instructor_notes"] == [
        "student code ran in an isolated worker with: pid-namespace, seccomp"]
    assert "not submitted: ex06_x.py" in data["output"]
    # Gradescope's output opens as the page does: the total, then a line per exercise
    assert data["output"].splitlines()[:3] == [
        "Stage 10: 3 / 10",
        "  Exercise 4: LayerNorm      0 / 7      0 of 4 checks passed",
        "  Exercise 5: attention      3 / 3      1 of 1 checks passed"]
    names = [t["name"] for t in data["tests"]]
    assert names == ["Exercise 4 (LayerNorm): a", "Exercise 4 (LayerNorm): b", "Exercise 4 (LayerNorm): c",
                     "ex04 test_d", "ex05 test_e"]
    assert [t["extra_data"]["id"] for t in data["tests"]] == [f"ex04 test_{n}" for n in "abcd"] + ["ex05 test_e"]
    a, b = data["tests"][0]["output"], data["tests"][1]["output"]
    assert "NotImplementedError" in a and "NotImplementedError" not in b
    assert b == 'Checked: case b\nFailed the same way as "Exercise 4 (LayerNorm): a" (its output says how).'
    assert "shape (2, 3)" in data["tests"][3]["output"]
    assert data["score"] == 3 and [t["score"] for t in data["tests"]] == [0, 0, 0, 0, 3]


@pytest.mark.parametrize("number,topic,test,title", [
    (2, "linear", "test_linear_positions", "Exercise 2 (linear): Positions"),
    (3, "relu_ffn", "test_ffn_square_float32", "Exercise 3 (ReLU FFN): FFN square float32"),
    (10, "gradient_check", "test_rel_error_zeros_and_nan", "Exercise 10 (gradient check): Relative error zeros and NaN"),
    (13, "learning_rate", "test_classify_lr", "Exercise 13 (learning rate): Classify learning rate"),
])
def test_readable_test_titles(number, topic, test, title):
    assert readable_title(number, topic, test) == title


def test_notes_are_shortened_at_a_word():
    text = "ignored exercises/tests/test_ex04_layernorm.py: not an exercise file; " * 10
    short = shorten(text, 100)
    assert len(short) <= 102 and short.endswith(" …")
    assert text.startswith(short[:-2]) and text[len(short) - 2] == " "      # the cut is at a space
    assert shorten("short", 100) == "short"


def test_in_a_browser_the_summary_comes_first_and_the_sandbox_is_not_there(tmp_path):
    from browser import chromium_or_skip, load
    chromium_or_skip()
    page = write_feedback_html(stubs_like(), tmp_path / "feedback.html")
    got = load(page, probe="""
      var table = document.querySelector("table.summary").getBoundingClientRect();
      var first = document.querySelector("div.test").getBoundingClientRect();
      return {rows: document.querySelectorAll("table.summary tbody tr").length,
              table_above: table.bottom <= first.top,
              shown: document.body.innerText.includes("pid-namespace"),
              tests: document.querySelectorAll("div.test").length};""").probe
    assert got == {"rows": 2, "table_above": True, "shown": False, "tests": 3}
