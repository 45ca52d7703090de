"""The class report of a problem set, written by `tt problems grade` for a class built here.

Every student has their own numbers (a secret and an assignment), and each answers file is
made from that student's own key (answer_key.json), so what each one got wrong is known:

    s1        every answer right
    s2, s3    q07.dlogits with every sign flipped
    s4        ex1.dW1 transposed
    s5        ex1.db1 answered with ex1.dhidden's key (another part of the same item)
    s6        q33.clipped as twice the key; q18.steps left blank
    s7        no answers file                                     (status missing)
"""
from __future__ import annotations

import json
import re
from fractions import Fraction

import pytest

from grader.problems.cli import main

ROSTER = "student_id,name\n" + "".join(f"s{i},Student <b>{i}</b>\n" for i in range(1, 8))


def fill(blank: str, answers: dict[str, str]) -> str:
    return re.sub(r"^([A-Za-z0-9_.]+) =$", lambda m: f"{m.group(1)} = {answers[m.group(1)]}", blank, flags=re.M)


def numbers(text: str) -> list[str]:
    return re.findall(r"-?[\d./]+", text)


def negate(text: str) -> str:
    return re.sub(r"-?[\d./]+", lambda m: m.group(0)[1:] if m.group(0).startswith("-") else "-" + m.group(0), text)


def transpose(text: str) -> str:
    rows = [r.split(", ") for r in text.strip("[]").split("], [")]
    return "[" + ", ".join("[" + ", ".join(col) + "]" for col in zip(*rows)) + "]"


def twice(text: str) -> str:
    return re.sub(r"-?[\d./]+", lambda m: str(2 * Fraction(m.group(0))), text)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("problems-report")
    (root / "roster.csv").write_text(ROSTER)
    (root / "secret.txt").write_text("a-long-enough-course-secret\n")
    common = ["--roster", str(root / "roster.csv"), "--secret-file", str(root / "secret.txt"),
              "--assignment", "hw", "--quiet", "--jobs", "2"]
    assert main(["generate", "--out", str(root / "sets"), *common]) == 0
    key = json.loads((root / "sets" / "key" / "answer_key.json").read_text())
    keys = {s["student_id"]: {p["answer_key"]: p["answer"] for prob in s["problems"] for p in prob["parts"]}
            for s in key["students"]}
    answers = root / "answers"
    answers.mkdir()
    for sid in ("s1", "s2", "s3", "s4", "s5", "s6"):
        a = dict(keys[sid])
        if sid in ("s2", "s3"):
            a["q07.dlogits"] = negate(a["q07.dlogits"])
        if sid == "s4":
            assert transpose(a["ex1.dW1"]) != a["ex1.dW1"]
            a["ex1.dW1"] = transpose(a["ex1.dW1"])
        if sid == "s5":
            assert a["ex1.dhidden"] != a["ex1.db1"]
            a["ex1.db1"] = a["ex1.dhidden"]
        if sid == "s6":
            a["q33.clipped"] = twice(a["q33.clipped"])
            a["q18.steps"] = ""
        blank = (root / "sets" / "students" / sid / "answers.txt").read_text()
        (answers / f"{sid}.txt").write_text(fill(blank, a))
    rc = main(["grade", str(answers), "--out", str(root / "grades"), *common])
    data = json.loads((root / "grades" / "report_problems.json").read_text())
    return root, rc, data, keys


def part(data, key):
    return next(p for p in data["parts"] if p["key"] == key)


def groups(data, key):
    return {g["label"]: sorted(g["students"]) for g in part(data, key)["groups"]}


def test_statuses_and_counts(course):
    _, rc, data, _ = course
    assert rc == 0
    assert data["size"] == 7 and data["statuses"] == {"graded": 6, "missing": 1} and data["graded"] == 6
    assert data["not_graded"] == [["s7", "missing"]]
    q07 = part(data, "q07.dlogits")
    assert (q07["right"], q07["total"]) == (4, 6)
    assert sorted(p["key"] for p in data["parts"] if p["right"] < p["total"]) == sorted(
        ["q07.dlogits", "ex1.dW1", "ex1.db1", "q33.clipped", "q18.steps"])
    assert part(data, "q18.steps")["blank"] == 1


def test_wrong_answers_are_named_against_each_students_own_key(course):
    _, _, data, _ = course
    assert groups(data, "q07.dlogits") == {"the sign flipped": ["s2", "s3"]}
    assert groups(data, "ex1.dW1") == {"the matrix transposed": ["s4"]}
    assert groups(data, "ex1.db1") == {"the answer to ex1.dhidden": ["s5"]}
    assert groups(data, "q33.clipped") == {"the key times 2": ["s6"]}
    assert groups(data, "q18.steps") == {}                              # blank: no wrong answer


def test_report_page(course):
    from browser import load
    root, _, data, _ = course
    page = root / "grades" / "report.html"
    html = page.read_text()
    assert "Student <b>" not in html
    got = load(page, probe="return {images: [...document.images].map(i => i.naturalWidth),"
                           " text: document.body.innerText}")
    assert len(got.probe["images"]) == 2 and all(w > 0 for w in got.probe["images"])
    text = got.probe["text"]
    assert "Lowest success rates: q07.dlogits 67%" in text
    assert "2 students, q07.dlogits: the sign flipped" in text
    # tt report renders it again from the data kept
    page.unlink()
    from grader.classreport.cli import main as report
    assert report([str(root / "grades"), "--quiet"]) == 0 and page.is_file()


def test_known_mistakes_of_a_part_are_named_first():
    """Part.mistakes (the bank's own known wrong answers) win over the computed variants."""
    import sympy as sp

    from grader.classreport.problems import classify
    from grader.problems import build_set
    from grader.problems.core import Part
    inst = next(i for i in build_set(None) if i.problem.key == "q07")   # variant 0: the seed's logits
    key = inst.parts[0]
    known = Part(key.name, key.prompt, key.kind, key.answer, key.points, key.tol,
                 mistakes=(("one_hot - p", tuple(-x for x in key.answer)),
                           ("p without the one-hot", tuple(sp.Rational(0) for _ in key.answer))))
    inst.parts[0] = known
    flipped = "[" + ", ".join(str(-x) for x in key.answer) + "]"
    assert classify(inst, known, flipped) == ("one_hot - p", "key")
    assert classify(inst, known, "[0, 0, 0, 0]") == ("p without the one-hot", "key")
    assert classify(inst, known, "[1, 2]") == ("the wrong shape", "shape")
    assert classify(inst, known, "__import__('os')")[1] == "unreadable"
    label, source = classify(inst, known, "[9, 9, 9, 9]")
    assert source == "value" and label.startswith("[9, 9, 9, 9] for ")
