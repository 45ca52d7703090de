"""The answers file format: `key = value` lines, comments, multi-line matrices, and
validation that names the file and line of every problem."""
from __future__ import annotations

import pytest

from grader.problems.answers import MAX_FILE_BYTES, AnswersError, parse_answers, read_answers

KEYS = {"q07.dlogits", "ex1.dW1", "ex2.derivative"}


def test_reads_keys_values_comments_and_continued_matrices():
    text = ("# a comment\n"
            "student_id = s001\n"
            "variant = abc123\n"
            "\n"
            "q07.dlogits = [0.12, 0.24, 0.05, -0.41]   # trailing comment\n"
            "ex1.dW1 = [[-0.624, 0],\n"
            "           [-0.312, 0]]\n"
            "ex2.derivative =\n")
    f = parse_answers(text, "a.txt", KEYS)
    assert (f.student_id, f.variant) == ("s001", "abc123")
    assert f.values["q07.dlogits"] == ("[0.12, 0.24, 0.05, -0.41]", 5)
    assert f.values["ex1.dW1"][0].replace(" ", "") == "[[-0.624,0],[-0.312,0]]"
    assert f.values["ex2.derivative"] == ("", 8)


def test_every_problem_is_listed_with_its_line():
    text = ("q07.dlogits = [1]\n"
            "this is not an answer\n"
            "q07.dlogits = [2]\n"
            "bogus.key = 3\n"
            "ex1.dW1 = [[1, 2],\n")
    with pytest.raises(AnswersError) as err:
        parse_answers(text, "b.txt", KEYS)
    problems = err.value.problems
    assert "b.txt:2: expected 'key = value', got 'this is not an answer'" in problems
    assert "b.txt:3: q07.dlogits is given twice (first on line 1)" in problems
    assert "b.txt:5: ex1.dW1: a bracket is opened and never closed" in problems
    assert "b.txt: no 'student_id = ...' line" in problems
    # Unknown keys are reported in the same pass, as warnings (they alone never reject).
    assert err.value.warnings == ["b.txt:4: unknown key 'bogus.key', not graded (the blank "
                                  "answers file lists every key)"]


def test_an_unknown_key_is_a_warning_with_a_suggestion_and_the_rest_is_read():
    text = ("student_id = s001\n"
            "q07.dlogits = [1, 2]\n"
            "ex1.dw1 = [[1, 2], [3, 4]]\n"        # a typo of ex1.dW1
            "ex2.derivative = 2*x\n"
            "zzz = 1\n")
    f = parse_answers(text, "c.txt", KEYS)
    assert set(f.values) == {"q07.dlogits", "ex2.derivative"}
    assert f.warnings == [
        "c.txt:3: unknown key 'ex1.dw1', not graded (did you mean 'ex1.dW1'?)",
        "c.txt:5: unknown key 'zzz', not graded (the blank answers file lists every key)"]


def test_files_that_are_too_big_or_not_text(tmp_path):
    big = tmp_path / "big.txt"
    big.write_bytes(b"student_id = s1\n" + b"#" * MAX_FILE_BYTES)
    with pytest.raises(AnswersError, match="limited to"):
        read_answers(big)
    latin = tmp_path / "latin.txt"
    latin.write_bytes(b"student_id = s1\nq07.dlogits = caf\xe9\n")
    with pytest.raises(AnswersError, match=r"latin\.txt:2: not valid UTF-8"):
        read_answers(latin)
    nul = tmp_path / "nul.txt"
    nul.write_bytes(b"student_id = s1\x00\n")
    with pytest.raises(AnswersError, match="NUL"):
        read_answers(nul)


def test_the_blank_file_gives_each_prompt_its_own_line_and_reads_back_empty():
    # Prompts are noun phrases, questions and whole sentences: a ":" after them read
    # "What flows backward?: one letter". Each part is its prompt, the form of the answer
    # (free text said once, not "graded by your instructor" twice), points and tolerance.
    import re

    from grader.problems import build_set
    from grader.problems.render import render_answers, tolerance_text
    from grader.problems.roster import Student
    from grader.problems.variants import student_seed, variant_id
    for sid in ("s001", "s002"):
        seed = student_seed("answers-file-test", "hw10", sid)
        instances = build_set(seed)
        text = render_answers(Student(sid, "A"), variant_id(seed), "hw10", instances)
        lines = text.split("\n")
        assert not [ln for ln in lines if re.search(r"[?.!]:", ln)]
        keys = {i.answer_key(p) for i in instances for p in i.parts}
        for inst in instances:
            for part in inst.parts:
                at = lines.index(f"{inst.answer_key(part)} =")
                head = [ln for ln in lines[at - 4:at] if not ln.startswith("# ----")]
                assert f"# {part.prompt}" in head
                assert lines[at - 1] == (f"#   ({part.points} point{'s' * (part.points != 1)}; "
                                         f"tolerance: {tolerance_text(part)})")
                if part.manual:
                    assert lines[at - 3].startswith("#   Answer: free text")
                    assert text.count("graded by your instructor") <= len(keys)
                else:
                    assert lines[at - 2] == f"#   Answer: {part.form()}"
        blank = parse_answers(text, f"{sid}.txt", keys)
        assert (blank.student_id, blank.variant) == (sid, variant_id(seed))
        assert set(blank.values) == keys and not any(v for v, _ in blank.values.values())
