"""`tt problems generate / grade / errata` end to end, on a small class."""
from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import sympy as sp

from grader.problems import build_set
from grader.problems.cli import main
from grader.problems.errata import ERRATA, errata_text
from grader.problems.generate import generate
from grader.problems.roster import read_roster

ROSTER = ("student_id,name,email\n"
          "s001,Ada Lovelace,ada@example.org\n"
          "s002,Alan Turing,\n"
          "s003,Grace <script>x</script> Hopper,g@example.org\n"
          "s004,Dan,\n")


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    (root / "roster.csv").write_text(ROSTER, encoding="utf-8")
    (root / "secret.txt").write_text("a-long-course-secret\n", encoding="utf-8")
    rc = main(["generate", "--roster", str(root / "roster.csv"), "--out", str(root / "sets"),
               "--secret-file", str(root / "secret.txt"), "--assignment", "hw10",
               "--jobs", "1", "--quiet"])
    assert rc == 0
    return root


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_generate_writes_every_format_and_the_key(course):
    sets = course / "sets"
    for sid in ("s001", "s002", "s003", "s004"):
        folder = sets / "students" / sid
        assert sorted(p.name for p in folder.iterdir()) == [
            "answers.txt", "problem_set.html", "problem_set.ipynb", "problem_set.md"]
        nbformat.validate(nbformat.read(folder / "problem_set.ipynb", as_version=4))
    html = (sets / "students" / "s003" / "problem_set.html").read_text(encoding="utf-8")
    assert "<script>x" not in html and "&lt;script&gt;" in html
    md = (sets / "students" / "s003" / "problem_set.md").read_text(encoding="utf-8")
    assert "<script>" not in md
    key = json.loads((sets / "key" / "answer_key.json").read_text(encoding="utf-8"))
    variants = [s["variant"] for s in key["students"]]
    assert len(set(variants)) == 4 and "0" not in variants
    rows = list(csv.DictReader((sets / "key" / "answer_key.csv").open(encoding="utf-8")))
    n_parts = sum(len(p["parts"]) for p in key["students"][0]["problems"])
    assert len(rows) == 4 * n_parts
    assert {r["answer_key"] for r in rows} >= {"q07.dlogits", "ex1.dW1", "ex5.critical_lr",
                                               "model.flops", "embedding.comma_row"}
    assert "course-secret" not in (sets / "key" / "answer_key.json").read_text()


def test_generation_is_deterministic_across_runs_and_processes(course, tmp_path):
    # A second run, in two worker processes, gives the same bytes as the first (one process).
    students = read_roster(course / "roster.csv")
    generate(students, "a-long-course-secret", "hw10", tmp_path / "b", jobs=2,
             show_progress=False)
    assert tree(course / "sets") == tree(tmp_path / "b")


def test_an_interrupted_run_resumes(course, tmp_path):
    students = read_roster(course / "roster.csv")
    out = tmp_path / "sets"
    shutil.copytree(course / "sets", out)
    before = tree(out)
    (out / "students" / "s002" / "answers.txt").unlink()       # as if killed mid-student
    (out / "students" / "s002" / "problem_set.md").write_text("half a fi")
    summary = generate(students, "a-long-course-secret", "hw10", out, jobs=1,
                       show_progress=False)
    assert (summary.written, summary.skipped) == (1, 3)
    assert tree(out) == before
    other = generate(students[:1], "another-secret", "hw10", out, jobs=1, show_progress=False)
    assert other.written == 1                                    # a new variant: rewritten


HASH_SCRIPT = """
import hashlib
from grader.problems import build_set
from grader.problems.render import key_rows, render_answers, render_html, render_markdown
from grader.problems.roster import Student
from grader.problems.variants import student_seed, variant_id
seed = student_seed("k", "hw10", "s001")
args = (Student("s001", "N"), variant_id(seed), "hw10", build_set(seed))
h = hashlib.sha256()
for render in (render_markdown, render_html, render_answers):
    h.update(render(*args).encode())
h.update(repr(key_rows(*args[:2], args[3])).encode())
print(h.hexdigest())
"""


@pytest.mark.slow
def test_outputs_do_not_depend_on_the_hash_seed():
    # Set iteration order changes with PYTHONHASHSEED; nothing we write may depend on it.
    # (The notebook is built from the same context and written by nbformat with sorted keys.)
    procs = [subprocess.Popen([sys.executable, "-c", HASH_SCRIPT], stdout=subprocess.PIPE,
                              env={**os.environ, "PYTHONHASHSEED": str(n)}, text=True)
             for n in (1, 2)]
    digests = [p.communicate(timeout=300)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert len(digests[0]) == 64 and digests[0] == digests[1]


def fill(blank: str, answers: dict[str, str]) -> str:
    return re.sub(r"^([A-Za-z0-9_.]+) =$", lambda m: f"{m.group(1)} = {answers[m.group(1)]}",
                  blank, flags=re.M)


@pytest.fixture(scope="module")
def graded(course):
    sets, answers_dir = course / "sets", course / "answers"
    answers_dir.mkdir()
    key = json.loads((sets / "key" / "answer_key.json").read_text(encoding="utf-8"))
    by_student = {s["student_id"]: {p["answer_key"]: p["answer"] for prob in s["problems"]
                                    for p in prob["parts"]} for s in key["students"]}
    blank = {sid: (sets / "students" / sid / "answers.txt").read_text(encoding="utf-8")
             for sid in by_student}
    # s001: every answer from the key, in a file that names the wrong variant.
    good = re.sub(r"^variant = .*$", "variant = 000000000000", blank["s001"], flags=re.M)
    (answers_dir / "s001.txt").write_text(fill(good, by_student["s001"]), "utf-8")
    # s002: one vector half wrong, one unreadable value, one left blank; in a sub-folder.
    wrong = dict(by_student["s002"])
    dl = wrong["q07.dlogits"].strip("[]").split(", ")
    wrong["q07.dlogits"] = "[" + ", ".join(dl[:-2] + ["5", "7"]) + "]"
    wrong["ex2.derivative"] = "__import__('os').system('echo pwned')"
    wrong["q12.gradient"] = ""
    (answers_dir / "s002").mkdir()
    (answers_dir / "s002" / "answers.txt").write_text(fill(blank["s002"], wrong), "utf-8")
    # s003: a line that is not `key = value`.
    broken = fill(blank["s003"], by_student["s003"]).replace("q08.rows =", "q08.rows is")
    (answers_dir / "s003.txt").write_text(broken, "utf-8")
    # s004 hands in nothing; s999 is not on the roster; one file is not text at all.
    (answers_dir / "s999.txt").write_text("student_id = s999\nq07.dlogits = [1]\n", "utf-8")
    (answers_dir / "junk.txt").write_bytes(b"\xff\xfe\x00\x01")
    rc = main(["grade", str(answers_dir), "--roster", str(course / "roster.csv"),
               "--secret-file", str(course / "secret.txt"), "--assignment", "hw10",
               "--out", str(course / "grades"), "--quiet"])
    return course / "grades", rc, by_student


def _manual() -> int:
    return sum(p.points for i in build_set(None) for p in i.parts if p.manual)


def test_grade_a_class_with_good_partial_bad_missing_and_unknown_files(graded):
    out, rc, _ = graded
    assert rc == 1                                    # some files had problems
    rows = {r["student_id"]: r for r in csv.DictReader((out / "class.csv").open(encoding="utf-8"))}
    assert list(rows) == ["s001", "s002", "s003", "s004"]      # roster order; no s999
    assert rows["s001"]["status"] == "graded"
    # Every auto-graded part right; the free-text parts wait for a person (0 until graded).
    assert float(rows["s001"]["score"]) == float(rows["s001"]["max_score"]) - _manual() > 100
    assert rows["s002"]["status"] == "graded"
    assert 0 < float(rows["s002"]["score"]) < float(rows["s002"]["max_score"])
    assert rows["s003"]["status"] == "malformed" and float(rows["s003"]["score"]) == 0
    assert rows["s004"]["status"] == "missing" and float(rows["s004"]["score"]) == 0
    errors = (out / "grading_errors.txt").read_text(encoding="utf-8")
    assert "s999" in errors and "not on the roster" in errors
    assert "junk.txt" in errors and "not valid UTF-8" in errors
    assert re.search(r"s003\.txt:\d+: expected 'key = value'", errors)


def test_partial_credit_and_clear_diagnoses_in_results(graded):
    out, _, by_student = graded
    r = json.loads((out / "s002" / "results.json").read_text(encoding="utf-8"))
    tests = {t["name"].split(":")[0]: t for t in r["tests"]}
    dl = tests["q07.dlogits"]
    n = len(by_student["s002"]["q07.dlogits"].split(","))
    assert dl["status"] == "failed" and dl["score"] == pytest.approx(4 * (n - 2) / n)
    assert "could not read the answer" in tests["ex2.derivative"]["output"]
    assert "'__import__' is not allowed" in tests["ex2.derivative"]["output"]
    assert "no answer given" in tests["q12.gradient"]["output"]
    assert tests["ex1.dW1"]["status"] == "passed"
    assert r["score"] == pytest.approx(sum(t["score"] for t in r["tests"]))
    good = json.loads((out / "s001" / "results.json").read_text(encoding="utf-8"))
    assert "says variant 000000000000" in good["output"]
    assert good["score"] == sum(t["max_score"] for t in good["tests"]) - _manual()
    pending = [t for t in good["tests"] if "awaiting manual grading" in t["output"]]
    assert len(pending) == sum(1 for i in build_set(None) for p in i.parts if p.manual)
    bad = json.loads((out / "s003" / "results.json").read_text(encoding="utf-8"))
    assert bad["score"] == 0 and "expected 'key = value'" in bad["output"]
    page = (out / "s002" / "feedback.html").read_text(encoding="utf-8")
    assert "__import__(&#39;os&#39;)" in page and "What was checked" in page


def test_errata_is_generated_and_up_to_date():
    assert ERRATA.read_text(encoding="utf-8") == errata_text()
    assert main(["errata", "--check"]) == 0
    text = errata_text()
    for needle in ("0.000024", "- exact: 1.2", "-0.0720", "1,608,192", "FFN second matmul",
                   "102,036", "Q, K, V projections"):
        assert needle in text, needle


def test_errata_rounding_accepts_every_correct_rounding_and_nothing_else():
    from decimal import Decimal
    from fractions import Fraction as F

    from grader.problems.errata import printed_agrees
    q = lambda f: sp.Rational(f.numerator, f.denominator)
    # An exact tie at 4 decimals: half-up, half-down and half-even each give one of the
    # two neighbours, so both are correct roundings; the next ones out are not.
    for tie in (F("0.00125"), F("-0.00125"), F("0.07195")):
        lo = F(int(tie * 10**4 // 1), 10**4)            # floor to 4 decimals
        for printed, ok in ((lo, True), (lo + F(1, 10**4), True), (lo - F(1, 10**4), False),
                            (lo + F(2, 10**4), False)):
            text = format(Decimal(printed.numerator) / Decimal(printed.denominator), ".4f")
            assert printed_agrees(text, q(tie)) is ok, (tie, text)
    # The seed's 0.234 × (-0.3075) = -0.071955 is 719.55 units of 1e-4 from 0: not a
    # tie, so only -0.0720 (0.45 units away) is a correct rounding; -0.0719 is 0.55 away.
    exact = F("0.234") * F("-0.3075")
    assert exact == F("-0.071955") and abs(exact * 10**4) == F("719.55")
    assert printed_agrees("-0.0720", q(exact)) and not printed_agrees("-0.0719", q(exact))
    assert printed_agrees("0.00007", q(F("0.0000719")))  # the seed's SGD step: 0.000002 away


def test_cli_errors_are_clear(course, tmp_path, capsys):
    bad = tmp_path / "roster.csv"
    bad.write_text("student_id\ns1\ns1\n\n", encoding="utf-8")
    rc = main(["generate", "--roster", str(bad), "--out", str(tmp_path / "o"),
               "--secret", "x", "--quiet"])
    assert rc == 2 and f"{bad}:3: duplicate student_id 's1'" in capsys.readouterr().err
    rc = main(["generate", "--roster", str(course / "roster.csv"), "--out", str(tmp_path / "o"),
               "--secret", "x", "--secret-file", str(course / "secret.txt")])
    assert rc == 2 and "not both" in capsys.readouterr().err
    (tmp_path / "empty").write_text("\n")
    rc = main(["grade", str(tmp_path), "--roster", str(course / "roster.csv"), "--out",
               str(tmp_path / "g"), "--secret-file", str(tmp_path / "empty")])
    assert rc == 2 and "empty" in capsys.readouterr().err


def test_variant0_for_a_whole_class(tmp_path):
    (tmp_path / "r.csv").write_text("student_id\nx1\n", encoding="utf-8")
    assert main(["generate", "--roster", str(tmp_path / "r.csv"), "--out", str(tmp_path / "o"),
                 "--variant0", "--jobs", "1", "--quiet"]) == 0
    assert "\nvariant = 0\n" in (tmp_path / "o/students/x1/answers.txt").read_text("utf-8")
    rows = list(csv.DictReader((tmp_path / "o/key/answer_key.csv").open(encoding="utf-8")))
    assert {r["answer_key"]: r["answer"] for r in rows}["ex1.dW1"] == "[[-0.624, 0], [-0.312, 0]]"


def test_preview_prints_variant0(capsys):
    assert main(["preview", "--show", "key"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"q07\.dlogits\s+\[0\.12, 0\.24, 0\.05, -0\.41\]", out)
    assert re.search(r"model\.n_params\s+102036", out)


def test_a_short_secret_gets_a_warning(tmp_path, capsys):
    (tmp_path / "r.csv").write_text("student_id\nx1\n", encoding="utf-8")
    args = ["generate", "--roster", str(tmp_path / "r.csv"), "--jobs", "1", "--quiet"]
    assert main([*args, "--out", str(tmp_path / "a"), "--secret", "fifteen-bytes!!"]) == 0
    err = capsys.readouterr().err
    assert "warning: the course secret is only 15 bytes" in err and "48 bits" in err
    assert main([*args, "--out", str(tmp_path / "b"), "--secret", "sixteen-bytes!!!"]) == 0
    assert "warning" not in capsys.readouterr().err
    (tmp_path / "s.txt").write_text("é" * 8 + "\n", encoding="utf-8")      # 16 bytes in UTF-8
    assert main([*args, "--out", str(tmp_path / "c"), "--secret-file", str(tmp_path / "s.txt")]) == 0
    assert "warning" not in capsys.readouterr().err
