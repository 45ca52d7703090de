"""grader/report.py: Gradescope results.json, the feedback page and the gradebook CSV."""
from __future__ import annotations

import csv
import json

import pytest

from grader.report import (OUTPUT_CAP, Report, TestResult, render_feedback_html, results_json,
                           write_class_csv, write_feedback_html, write_results_json)

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
