"""Statements carry what grading needs, in every format, and print no double signs.

Over many students: every part's tolerance appears in the Markdown, the HTML, the
notebook and the answers file; the precision advice given is enough to pass (a key
rounded as advised scores full marks, checked with the grader's own tolerance rule);
and no statement prints '− -', '+ -' or the like.
"""
from __future__ import annotations

import json
import re

import pytest
import sympy as sp

from grader.problems import build_set
from grader.problems.core import fmt
from grader.problems.marking import mark
from grader.problems.render import (markdown_to_html, minus, plus, render_all,
                                    tolerance_text)
from grader.problems.roster import Student
from grader.problems.variants import student_seed, variant_id

STUDENTS = 40
# Two signs in a row around a number: '− -4.5', '+ -2', '- -1', '+ +3', '− −2'.
DOUBLE_SIGN = re.compile(r"[+\-−]\s*[+\-−]\s*\d")


def _sets(n=STUDENTS):
    for i in range(n):
        student = Student(f"s{i:03d}")
        seed = student_seed("test secret for rendering", "stage10", student.student_id)
        yield student, variant_id(seed), build_set(seed)


@pytest.fixture(scope="module")
def rendered():
    out = []
    for student, variant, instances in _sets():
        out.append((instances, render_all(student, variant, "stage10", instances)))
    return out


def test_minus_and_plus_never_double_a_sign():
    assert minus(sp.Integer(3)) == "− 3" and minus(sp.Rational(-9, 2)) == "+ 4.5"
    assert plus(sp.Rational(-9, 2)) == "− 4.5" and plus(sp.Integer(0)) == "+ 0"


def test_no_statement_prints_a_double_sign(rendered):
    seen = 0
    for instances, files in rendered:
        for inst in instances:
            text = inst.statement
            assert not DOUBLE_SIGN.search(text), (inst.problem.key, DOUBLE_SIGN.search(text))
            seen += 1
        for name in ("problem_set.md", "problem_set.html"):
            m = DOUBLE_SIGN.search(files[name].replace("----", ""))
            assert not m, (name, files[name][max(0, m.start() - 60):m.end() + 20])
    assert seen == STUDENTS * len(rendered[0][0])


def test_ex5_writes_a_negative_centre_with_one_sign(rendered):
    negative = [inst for instances, _ in rendered for inst in instances
                if inst.problem.key == "ex5" and inst.params["c"] < 0]
    assert negative, "no set drew a negative c: the test would prove nothing"
    for inst in negative:
        assert f"(W + {fmt(-inst.params['c'])})^2$" in inst.statement


def test_every_part_states_its_tolerance_in_every_format(rendered):
    for instances, files in rendered:
        nb = json.loads(files["problem_set.ipynb"])
        nb_text = "\n".join("".join(c["source"]) for c in nb["cells"])
        answers = files["answers.txt"].split("\n")
        for inst in instances:
            for part in inst.parts:
                key, tol = inst.answer_key(part), tolerance_text(part)
                assert f"`{key}`" in files["problem_set.md"]
                md_line = next(ln for ln in files["problem_set.md"].split("\n")
                               if ln.startswith(f"- `{key}`:"))
                assert tol in md_line, (key, md_line)
                html_row = next(ln for ln in files["problem_set.html"].split("\n")
                                if f"<code>{key}</code>" in ln)
                assert str(markdown_to_html(tol)).removeprefix("<p>").removesuffix("</p>") \
                    in html_row, (key, html_row)
                nb_line = next(ln for ln in nb_text.split("\n") if ln.startswith(f"- `{key}`:"))
                assert tol in nb_line, key
                i = answers.index(f"{key} =")
                assert f"tolerance: {tol}" in answers[i - 1], (key, answers[i - 1])


def test_the_advice_is_enough_and_q18_says_how_many_decimals(rendered):
    """Round each key as its tolerance text advises and grade it: full marks."""
    checked = 0
    for instances, _ in rendered[:20]:
        for inst in instances:
            for part in inst.parts:
                if part.kind not in ("number", "vector", "matrix"):
                    continue
                tol = tolerance_text(part)
                m = re.search(r"(\d+) significant digits are enough|give at least (\d+) "
                              r"decimals", tol)
                if not m:
                    assert tol == "exact" or part.kind == "integer", tol
                    continue
                entries = part.answer if part.kind == "vector" else (
                    [x for row in part.answer for x in row] if part.kind == "matrix"
                    else [part.answer])
                if m.group(1):
                    digits = int(m.group(1))
                    shown = [sp.Float(sp.N(x, 40), digits) for x in entries]
                    text_entries = [sp.sstr(v, full_prec=False) for v in shown]
                else:
                    places = int(m.group(2))
                    text_entries = [f"{sp.N(x, 40):.{places}f}" for x in entries]
                text = text_entries[0] if part.kind == "number" else \
                    "[" + ", ".join(text_entries) + "]"
                if part.kind == "matrix":
                    c = len(part.answer[0])
                    rows = [text_entries[r * c:(r + 1) * c] for r in range(len(part.answer))]
                    text = "[" + ", ".join("[" + ", ".join(r) + "]" for r in rows) + "]"
                assert mark(part, text).passed, (inst.answer_key(part), tol, text)
                checked += 1
    assert checked > 100
    q18 = next(i for i in rendered[0][0] if i.problem.key == "q18")
    assert re.search(r"give at least \d+ decimals", tolerance_text(q18.parts[0]))


def test_later_parts_say_which_values_of_an_earlier_step_to_use(rendered):
    for instances, _ in rendered[:5]:
        att = next(i for i in instances if i.problem.key == "attention")
        assert r"from your $\partial \mathrm{loss} / \partial s$ of step 3" in att.statement
        assert "rounded weights" in att.statement
        dq = next(p for p in att.parts if p.name == "dq")
        assert "rounded probabilities" in dq.prompt
        ln = next(i for i in instances if i.problem.key == "layernorm")
        assert "exact values of step 1" in ln.statement
