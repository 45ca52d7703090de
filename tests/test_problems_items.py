"""The conceptual items (issue 13): every seed question is an item, choices are
randomized per student, the new kinds are marked as documented, and free-text answers
are read from the answers file as text. Expected values are written out by hand."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from grader.problems import BANK, BY_KEY, build_set
from grader.problems.answers import parse_answers
from grader.problems.core import LETTERS, MCQ, MULTI, ORDER, SHAPE, TEXT, Part, make_instance
from grader.problems.marking import mark
from grader.problems.variants import student_seed

SEED = Path(__file__).resolve().parents[1] / "docs" / "seed" / "stage10_backpropagation.md"


def test_every_question_and_exercise_of_the_seed_is_an_item():
    text = SEED.read_text(encoding="utf-8")
    questions = {int(n) for n in re.findall(r"^(\d+)\. \*\*", text, flags=re.M)}
    exercises = {int(n) for n in re.findall(r"^### Exercise (\d+):", text, flags=re.M)}
    assert questions == set(range(1, 36)) and exercises == set(range(1, 6))
    sources = " ".join(p.source for p in BANK)
    covered = {int(n) for n in re.findall(r"[Qq]uestions? (\d+)", sources)}
    covered |= {int(n) for n in re.findall(r"[Qq]uestions \d+, (\d+)", sources)}
    covered.add(29)        # `model`: memory of training vs inference (Practical Insights)
    assert BY_KEY["model"].source == "Practical Insights"
    assert questions - covered == set(), sorted(questions - covered)
    assert {int(n) for n in re.findall(r"Exercise (\d+)", sources)} == exercises


def test_every_explain_prompt_has_a_slot_with_a_rubric():
    parts = [(i.problem.key, p) for i in build_set(None) for p in i.parts]
    text = [(k, p) for k, p in parts if p.kind == TEXT]
    assert {k for k, _ in text} >= {"q09", "q12", "ex2", "ex3", "ex5", "layernorm", "attention",
                                    "embedding", "q01", "q35"}
    for key, p in text:
        assert p.rubric and sum(n for _, n in p.rubric) == p.points > 0, key
        assert p.answer.strip(), key                     # a model answer for the grader


def _choice_parts(seed):
    return {f"{i.problem.key}.{p.name}": p for i in build_set(seed) for p in i.parts
            if p.kind in (MCQ, MULTI, ORDER)}


def test_options_and_their_order_differ_between_students():
    seeds = [student_seed("k", "hw", f"s{i}") for i in range(6)]
    sets = [_choice_parts(s) for s in seeds]
    for key in sets[0]:
        shown = {sets[n][key].options for n in range(6)}
        assert len(shown) >= 3, key                      # order or distractors differ
    # A student's right letter is not always the same.
    assert len({s["q01.flows"].answer for s in sets}) > 1


def test_the_key_letters_name_the_right_options():
    # Written from the seed: the right option of q04.target says p_target − 1.
    v0 = _choice_parts(None)
    p = v0["q04.target"]
    assert "p_target − 1" in p.options[LETTERS.index(p.answer)]
    order = v0["q01.path"]
    got = [order.options[LETTERS.index(x.strip())] for x in order.answer.split(",")]
    assert got == ["∂loss/∂logits", "the output projection W_output", "Transformer Block 2",
                   "Transformer Block 1", "the embedding matrix"]


def _part(kind, answer, n=4, points=4):
    return Part("x", "x", kind, answer, points, options=tuple(f"o{i}" for i in range(n)))


@pytest.mark.parametrize("text, score", [
    ("B", 2), ("b", 2), (" (B). ", 2), ("[b]", 2), ("A", 0), ("B, C", 0), ("E", 0), ("", 0)])
def test_mcq(text, score):
    assert mark(_part(MCQ, "B", points=2), text).score == score


@pytest.mark.parametrize("text, score", [
    ("A, C", 4), ("c a", 4), ("A and C.", 4), ("[A; C]", 4), ("A", 2), ("A, B", 0),
    ("A, B, C", 2), ("A, B, C, D", 0), ("A, A", 0), ("Z", 0)])
def test_multi_select_right_minus_wrong(text, score):
    assert mark(_part(MULTI, "A, C"), text).score == score


@pytest.mark.parametrize("text, score", [
    ("C, A, B, D", 3), ("c a b d", 3), ("A, B, C, D", 1), ("C, A, D, B", 1), ("D, B, A, C", 0), ("C, A, B", 0)])
def test_order_counts_neighbouring_pairs(text, score):
    # key C→A→B→D has 3 neighbouring pairs: (C,A), (A,B), (B,D).
    assert mark(_part(ORDER, "C, A, B, D", points=3), text).score == score


@pytest.mark.parametrize("text, score", [
    ("8×16", 1), ("8 x 16", 1), ("(8, 16)", 1), ("[8,16]", 1), ("8 by 16", 1), ("16×8", 0),
    ("8", 0), ("8×16×1", 0), ("eight", 0)])
def test_shape(text, score):
    assert mark(Part("s", "s", SHAPE, (8, 16), 1), text).score == score


def test_shape_diagnosis_names_a_transpose():
    assert "transposed" in mark(Part("s", "s", SHAPE, (8, 16), 1), "16 x 8").diagnosis


def test_text_is_never_auto_graded():
    p = Part("e", "why", TEXT, "model", 2, rubric=(("a", 1), ("b", 1)))
    m = mark(p, "the model answer word for word")
    assert m.score == 0 and "instructor" in m.diagnosis
    with pytest.raises(ValueError):
        Part("e", "why", TEXT, "model", 3, rubric=(("a", 1),))


def test_free_text_answers_span_lines_and_keep_hash_and_brackets():
    text = ("student_id = s1\nq01.flows = B\nq01.explain = first (line # not a comment\n"
            "second line\n\nthird = also text\n# ---- next problem\nq02.without = A\n")
    known = {"q01.flows", "q01.explain", "q02.without"}
    a = parse_answers(text, "f.txt", known, {"q01.explain"})
    assert a.values["q01.explain"][0] == ("first (line # not a comment\nsecond line\n\n"
                                          "third = also text")
    assert a.values["q02.without"][0] == "A" and a.values["q01.flows"][0] == "B"
    # Without text keys the unclosed bracket is an error, as before.
    with pytest.raises(Exception):
        parse_answers(text, "f.txt", known)


def test_new_numeric_parts_have_named_mistakes_and_seed_values():
    v0 = {f"{i.problem.key}.{p.name}": p for i in build_set(None) for p in i.parts}
    # q03: g = 0.5, f' = 0.1: total 0.5 * 1.1 = 0.55; four blocks 0.5 * 1.1^4 = 0.73205.
    assert v0["q03.total"].answer == pytest.approx(0.55)
    assert float(v0["q03.residual_n"].answer) == pytest.approx(0.73205)
    assert float(v0["q03.plain_n"].answer) == pytest.approx(0.5 * 0.1**4)
    # q21: the seed's 0.12 / 0.45 is overfitting, gap 0.33.
    assert float(v0["q21.gap"].answer) == pytest.approx(0.33) and v0["q21.run_a"].answer == "overfitting"
    # q26: 16 layers of 68,048 bytes, k = 4: (4 + 4) * 68048 = 544,384 bytes.
    assert int(v0["q26.ckpt_bytes"].answer) == 544_384 and int(v0["q26.best_k"].answer) == 4
    # q10: ∂loss/∂W₁ has W₁'s shape 64 × 256.
    assert tuple(v0["q10.dW1_shape"].answer) == (64, 256)
    # q30: 1 + 0.0001 in float16 is 1 (spacing 2^-10 ≈ 0.000977): the update is lost.
    assert v0["q30.update"].answer == "lost"
    for key in ("q03.total", "q06.p_target", "q20.adam_step", "q25.noise", "q26.ckpt_bytes",
                "q31.backward", "q32.total", "q35.ratios"):
        assert v0[key].mistakes, key
    # A named mistake is wrong: marking it scores 0.
    label, value = v0["q03.total"].mistakes[0]
    from grader.problems.core import fmt
    assert mark(v0["q03.total"], fmt(value)).score == 0


@pytest.mark.parametrize("key", ["q21", "q30", "q31", "q32"])
def test_generated_conceptual_numbers_differ(key):
    answers = {repr([p.answer for p in make_instance(BY_KEY[key], student_seed("k", "a", f"s{i}")).parts
                     if p.kind != TEXT]) for i in range(10)}
    assert len(answers) >= 4


def test_hostile_answers_to_the_new_kinds_never_crash():
    import random
    rng = random.Random(13)
    alphabet = "ABCDEabcde ,;.()[]{}×x*0123456789-+=#'\"\\\n\t andby\u00a0∂"
    parts = [_part(MCQ, "B"), _part(MULTI, "A, C"), _part(ORDER, "C, A, B, D"),
             Part("s", "s", SHAPE, (8, 16), 1), Part("t", "t", TEXT, "m", 1, rubric=(("a", 1),))]
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 300))) for _ in range(2000)]
    texts += ["A" * 100_000, " ," * 50_000, "8 x " * 20_000, "(" * 10_000]
    for text in texts:
        for p in parts:
            m = mark(p, text)
            assert 0 <= m.score <= p.points


@pytest.mark.parametrize("key", ["ex4", "q07", "ex1", "layernorm"])
def test_named_mistakes_of_the_worked_items_are_wrong_for_every_variant(key):
    """A named mistake is never the key: marked, it never earns the part's full points, and the
    class report names it by its own label (no earlier mistake or generic variant shadows it)."""
    from grader.classreport.problems import classify
    from grader.problems.core import fmt_value
    named = set()
    for i in [None] + list(range(40)):
        inst = make_instance(BY_KEY[key], None if i is None else student_seed("k", "m", f"s{i}"))
        for p in inst.parts:
            for label, value in p.mistakes:
                text = fmt_value(p.kind, value)
                assert mark(p, text).score < p.points, (i, p.name, label)
                assert classify(inst, p, text) == (label, "key"), (i, p.name, label)
                named.add((p.name, label))
    assert named, key
    if key == "ex4":
        assert ("adam", "no bias correction (m and v not divided by 1-β^t)") in named
