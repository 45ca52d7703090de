"""`tt problems generate`: a re-run rewrites exactly the stale sets; the key CSV keeps
its values as they are; rationals get 30 significant digits."""
from __future__ import annotations

import csv
import json
import shutil
from decimal import Decimal, localcontext
from fractions import Fraction
from pathlib import Path

from grader.problems.generate import generate
from grader.problems.grading import grade
from grader.problems.roster import Student

SECRET = "generate-tests-course-secret"


def run(students, out, **kw):
    return generate(students, SECRET, "hw10", out, jobs=1, show_progress=False, **kw)


def test_a_rerun_regenerates_exactly_the_stale_sets(tmp_path, monkeypatch):
    out = tmp_path / "sets"
    students = [Student("s001", "Ada"), Student("s002", "Alan"), Student("s003", "Grace")]
    assert run(students, out).written == 3
    assert (run(students, out).written, run(students, out).skipped) == (0, 3)
    # A new name on the roster (same id, same variant): that set is stale.
    renamed = [students[0], Student("s002", "Alan M. Turing"), students[2]]
    summary = run(renamed, out)
    assert (summary.written, summary.skipped) == (1, 2)
    md = (out / "students" / "s002" / "problem_set.md").read_text(encoding="utf-8")
    assert "Alan M. Turing" in md
    # A set file edited or cut short after it was written: rewritten.
    (out / "students" / "s003" / "problem_set.html").write_text("<html>half", "utf-8")
    assert run(renamed, out).written == 1
    assert "<html>half" not in (out / "students" / "s003" / "problem_set.html").read_text("utf-8")
    # Another version of the bank (code, templates, libraries): every set is rewritten.
    import grader.problems.fingerprint as fingerprint
    monkeypatch.setattr(fingerprint, "bank_version", lambda: "another bank")
    assert run(renamed, out).written == 3
    assert run(renamed, out).written == 0


def test_the_bank_version_covers_code_and_templates(tmp_path, monkeypatch):
    import grader.problems.fingerprint as fingerprint
    copy = tmp_path / "problems"
    shutil.copytree(fingerprint.HERE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(fingerprint, "HERE", copy)
    base = fingerprint.bank_version.__wrapped__()
    assert base == fingerprint.bank_version.__wrapped__()          # deterministic
    template = copy / "templates" / "q17.md.j2"
    template.write_text(template.read_text("utf-8") + " ", "utf-8")
    assert fingerprint.bank_version.__wrapped__() != base
    template.write_text(template.read_text("utf-8")[:-1], "utf-8")
    assert fingerprint.bank_version.__wrapped__() == base
    (copy / "q33_gradient_clipping.py").write_text("# changed\n", "utf-8")
    assert fingerprint.bank_version.__wrapped__() != base
    (copy / "q33_gradient_clipping.py").unlink()
    shutil.copy(fingerprint.REPO / "grader/problems/q33_gradient_clipping.py", copy)
    (copy / "parse.py").write_text("# grading only: not part of a set\n", "utf-8")
    assert fingerprint.bank_version.__wrapped__() == base


def key_rows(out: Path) -> list[dict]:
    with (out / "key" / "answer_key.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_the_key_csv_keeps_values_as_they_are(tmp_path):
    out = tmp_path / "sets"
    generate([Student("s001", "=HYPERLINK(\"http://x\")")], "", "hw10", out, jobs=1,
             show_progress=False, variant0=True)
    rows = key_rows(out)
    by_key = {r["answer_key"]: r for r in rows}
    assert by_key["q07.dlogits"]["answer"] == "[0.12, 0.24, 0.05, -0.41]"
    # -0.52 = -13/25 by hand (0.98 - 1.5)
    assert (by_key["ex1.dout"]["answer"], by_key["ex1.dout"]["exact"],
            by_key["ex1.dout"]["decimal"]) == ("-0.52", "-13/25", "-0.52")
    assert not any(cell.startswith("'") for r in rows for cell in r.values())
    negatives = [r for r in rows if r["exact"].startswith("-")]
    assert len(negatives) >= 2                       # ex1.dout and ex1.db2: -0.52
    # The JSON is the canonical key, and the CSV says the same.
    key = json.loads((out / "key" / "answer_key.json").read_text(encoding="utf-8"))
    parts = {p["answer_key"]: p for prob in key["students"][0]["problems"] for p in prob["parts"]}
    assert all(parts[r["answer_key"]]["exact"] == r["exact"] for r in rows)
    assert all(parts[r["answer_key"]]["decimal"] == r["decimal"] for r in rows)


def thirty_digits(q: Fraction) -> str:
    """q to 30 significant digits with Python's decimal module (not the code under test)."""
    with localcontext() as ctx:
        ctx.prec = 30
        return str(Decimal(q.numerator) / Decimal(q.denominator))


def test_the_decimal_column_gives_30_digits_of_every_rational(tmp_path):
    out = tmp_path / "sets"
    generate([Student("s001"), Student("s002")], SECRET, "hw10", out, jobs=1,
             show_progress=False)
    checked = 0
    for r in key_rows(out):
        if r["kind"] not in ("number", "integer"):
            continue
        try:
            q = Fraction(r["exact"])
        except ValueError:
            continue                                     # irrational (Adam's square roots)
        d = Fraction(r["decimal"])
        if q == d:
            continue                                     # a terminating decimal: exact
        checked += 1
        assert r["decimal"] == thirty_digits(q), r
    # Exercise 3's ratio of two decimals is 1/30 in variant 0, and rarely terminates.
    v0 = tmp_path / "v0"
    generate([Student("x")], "", "hw10", v0, jobs=1, show_progress=False, variant0=True)
    ratio = {r["answer_key"]: r for r in key_rows(v0)}["ex3.ratio"]
    assert ratio["exact"] == "1/30"
    assert ratio["decimal"] == "0.0333333333333333333333333333333" == thirty_digits(Fraction(1, 30))
    assert checked >= 1


def test_the_class_csv_keeps_its_formula_guard(tmp_path):
    # class.csv holds roster names and students' file names and is opened in
    # spreadsheets: text that would run as a formula keeps its leading quote there.
    out = tmp_path / "sets"
    students = [Student("s001", "=HYPERLINK(\"http://x\")")]
    generate(students, "", "hw10", out, jobs=1, show_progress=False, variant0=True)
    answers = tmp_path / "answers"
    answers.mkdir()
    shutil.copy(out / "students" / "s001" / "answers.txt", answers / "s001.txt")
    grade(answers, students, "", "hw10", tmp_path / "grades", show_progress=False,
          variant0=True)
    with (tmp_path / "grades" / "class.csv").open(encoding="utf-8") as f:
        row = next(csv.DictReader(f))
    assert row["name"] == "'=HYPERLINK(\"http://x\")"


def test_the_notebook_is_what_nbformat_itself_writes(tmp_path):
    # notebook_json writes the set's notebook without importing nbformat (3 s of CPU
    # per worker): read back, validated and rewritten by nbformat, it is the same bytes.
    import nbformat
    run([Student("s001", "Ada <b>&"), Student("s002", "Алан Тьюринг")], tmp_path)
    for sid in ("s001", "s002"):
        text = (tmp_path / "students" / sid / "problem_set.ipynb").read_text("utf-8")
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
        assert len(nb.cells) > 40 and nb.nbformat_minor == 5
        assert nbformat.v4.writes(nb) + "\n" == text


def test_the_key_json_is_what_json_dumps_writes(tmp_path):
    # The workers encode their students' entries; joined, they must be exactly
    # json.dumps(key, indent=2): compared here on a class, one student and none.
    from grader.problems.generate import key_json
    students = [Student("s001", "Ada \"quoted\"\nnew line"), Student("s002", "Алан")]
    for roster in (students, students[:1]):
        run(roster, tmp_path / str(len(roster)))
        text = (tmp_path / str(len(roster)) / "key" / "answer_key.json").read_text("utf-8")
        assert text == json.dumps(json.loads(text), indent=2) + "\n"
        assert len(json.loads(text)["students"]) == len(roster)
    empty = key_json("hw10 ünï", [])
    assert empty == json.dumps({"assignment": "hw10 ünï", "generator": "tt problems generate",
                                "students": []}, indent=2) + "\n"


def test_fast_json_dumps_matches_the_standard_library():
    # json_text.dumps replaces json.dumps(indent=...) for the key entries and the
    # notebooks: it must give the same bytes, including escapes, nesting, empty
    # containers, special floats, sorted keys, and fall back for anything else.
    import random
    from grader.json_text import dumps
    rng = random.Random(13)
    words = ["", "a", "é ü", "tab\there", 'quote"back\\slash', "line\nbreak", "\x00\x1f",
             "− ×²", "emoji 😀", "</script>"]

    def value(depth):
        r = rng.random()
        if depth > 3 or r < 0.4:
            return rng.choice([None, True, False, 0, -7, 2**70, 0.1, -2.5e-300, 1e22,
                               float("nan"), float("inf"), float("-inf"), rng.choice(words)])
        if r < 0.7:
            return [value(depth + 1) for _ in range(rng.randint(0, 4))]
        if r < 0.8:
            return tuple(value(depth + 1) for _ in range(rng.randint(0, 3)))
        return {rng.choice(words) + str(i): value(depth + 1) for i in range(rng.randint(0, 4))}

    for _ in range(400):
        obj = value(0)
        for indent in (1, 2):
            for sort_keys in (False, True):
                for ascii_ in (False, True):
                    assert dumps(obj, indent, sort_keys, ascii_) == json.dumps(
                        obj, indent=indent, sort_keys=sort_keys, ensure_ascii=ascii_)
    odd = {"k": {1: "int key"}, "d": Decimal("1.5")}
    assert dumps({"k": {1: "int key"}}, 2) == json.dumps({"k": {1: "int key"}}, indent=2)
    try:
        dumps(odd, 2)
    except TypeError:
        pass
    else:
        raise AssertionError("a Decimal must fail as json.dumps fails")
