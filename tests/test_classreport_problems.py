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


def generated(root, roster: str, secret: str, jobs: int):
    """Problem sets generated for `roster` in root/sets: (the options that name the course,
    {student: {answer key: the key's answer}}, an empty root/answers folder)."""
    (root / "roster.csv").write_text(roster)
    (root / "secret.txt").write_text(secret + "\n")
    common = ["--roster", str(root / "roster.csv"), "--secret-file", str(root / "secret.txt"),
              "--assignment", "hw", "--quiet", "--jobs", str(jobs)]
    assert main(["generate", "--out", str(root / "sets"), *common]) == 0
    key = json.loads((root / "sets" / "key" / "answer_key.json").read_text())
    keys = {s["student_id"]: {p["answer_key"]: p["answer"] for prob in s["problems"] for p in prob["parts"]}
            for s in key["students"]}
    answers = root / "answers"
    answers.mkdir()
    return common, keys, answers


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("problems-report")
    common, keys, answers = generated(root, ROSTER, "a-long-enough-course-secret", jobs=2)
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


# ------------------------------------------------------------------ the bank's named mistakes
# A second class, for the mistakes the items name themselves (Part.mistakes): each wrong
# answer is computed here from the student's own parameters in plain Python (Fractions for
# the moments, floats for the square roots), not by the items' code.
#     a1        every answer right
#     a2, a3    ex4.adam without the bias corrections (m_t, v_t used as they are)
#     a4        ex4.adam with m's correction only; q07.dlogits as p (the one-hot not subtracted)
MISTAKE_ROSTER = "student_id,name\n" + "".join(f"a{i},Student {i}\n" for i in range(1, 5))
SECRET = "another-long-enough-course-secret"


def adam_by_hand(W0, lr, grads, correct_m=True, correct_v=True):
    import math
    b1, b2, eps = Fraction(9, 10), Fraction(999, 1000), 1e-8
    W, m, v, out = float(W0), Fraction(0), Fraction(0), []
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1**t) if correct_m else m
        v_hat = v / (1 - b2**t) if correct_v else v
        W -= float(lr) * float(m_hat) / (math.sqrt(v_hat) + eps)
        out.append(W)
    return "[" + ", ".join(repr(w) for w in out) + "]"


@pytest.fixture(scope="module")
def mistakes_course(tmp_path_factory):
    from grader.problems import BY_KEY
    from grader.problems.core import make_instance
    from grader.problems.variants import student_seed
    root = tmp_path_factory.mktemp("problems-mistakes")
    common, keys, answers = generated(root, MISTAKE_ROSTER, SECRET, jobs=1)
    for sid in ("a1", "a2", "a3", "a4"):
        seed = student_seed(SECRET, "hw", sid)
        ex4 = make_instance(BY_KEY["ex4"], seed).params          # the numbers on the set only
        W0, lr = Fraction(str(ex4["W0"])), Fraction(str(ex4["lr"]))
        grads = [Fraction(str(g)) for g in ex4["grads"]]
        a = dict(keys[sid])
        if sid in ("a2", "a3"):
            a["ex4.adam"] = adam_by_hand(W0, lr, grads, correct_m=False, correct_v=False)
        if sid == "a4":
            a["ex4.adam"] = adam_by_hand(W0, lr, grads, correct_v=False)
            q07 = make_instance(BY_KEY["q07"], seed).params
            a["q07.dlogits"] = "[" + ", ".join(str(Fraction(str(q))) for q in q07["probs"]) + "]"
        # the right answer by hand is the key: the computation above is the item's own
        assert sid != "a1" or float(numbers(adam_by_hand(W0, lr, grads))[-1]) == pytest.approx(
            float(Fraction(numbers(a["ex4.adam"])[-1])), rel=1e-9)
        blank = (root / "sets" / "students" / sid / "answers.txt").read_text()
        (answers / f"{sid}.txt").write_text(fill(blank, a))
    assert main(["grade", str(answers), "--out", str(root / "grades"), *common]) == 0
    return json.loads((root / "grades" / "report_problems.json").read_text())


NO_CORRECTION = "no bias correction (m and v not divided by 1-β^t)"
M_ONLY = "the bias correction of m only (v not divided by 1-β₂^t)"


def test_adam_without_bias_correction_is_named(mistakes_course):
    data = mistakes_course
    adam = part(data, "ex4.adam")
    assert (adam["right"], adam["wrong"] + adam["partial"], adam["total"]) == (1, 3, 4)
    assert groups(data, "ex4.adam") == {NO_CORRECTION: ["a2", "a3"], M_ONLY: ["a4"]}
    assert adam["unrecognised"] == 0
    known = dict((label, n) for label, n in adam["known"])
    assert known[NO_CORRECTION] == 2 and known[M_ONLY] == 1
    assert "bias correction" in NO_CORRECTION
    assert known["the bias correction of v only (m not divided by 1-β₁^t)"] == 0


def test_softmax_without_the_one_hot_is_named(mistakes_course):
    data = mistakes_course
    assert groups(data, "q07.dlogits") == {"p without subtracting the one-hot": ["a4"]}
    assert dict((label, n) for label, n in part(data, "q07.dlogits")["known"]) == {
        "p without subtracting the one-hot": 1, "∂loss/∂p instead of ∂loss/∂logits": 0}


def test_the_class_report_of_the_problem_sets_shows_its_progress(course, tmp_path, capsys):
    root = course[0]
    common = [a for a in generated(tmp_path, ROSTER, "a-long-enough-course-secret", jobs=1)[0] if a != "--quiet"]
    capsys.readouterr()
    main(["grade", str(root / "answers"), "--out", str(tmp_path / "grades"), *common])
    err = capsys.readouterr().err
    assert re.search(r"class report: \[#+\] (\d+)/\1\b", err), err
