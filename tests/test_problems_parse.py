"""The answer parser reads exact values and refuses everything else with a clear message;
marking applies each part's tolerance and gives partial credit."""
from __future__ import annotations

import ast
import builtins
import multiprocessing
import os
import resource
import sys
import time
from pathlib import Path

import pytest
import sympy as sp

from grader.problems.core import (CHOICE, EXACT, EXPRESSION, INTEGER, MATRIX, NUMBER, STANDARD,
                                  TRAJECTORY, VECTOR, Part)
from grader.problems.marking import mark
from grader.problems.parse import ParseError, parse_answer

Q = sp.Rational


@pytest.mark.parametrize("text, value", [
    ("0.25", Q(1, 4)), ("-1/40", Q(-1, 40)), ("2.5e-3", Q(1, 400)), ("1E5", 100000),
    (".5", Q(1, 2)), ("0.1", Q(1, 10)),                  # exact, not the float 0.1
    ("10**(-3)", Q(1, 1000)), ("2^3", 8), ("−0.5", Q(-1, 2)), ("2×3", 6),
    ("102,036", 102036), ("1_000", 1000), ("(1 + 2) * 3 / 4", Q(9, 4)),
    ("sqrt(4)", 2), ("sqrt(2)/2", sp.sqrt(2) / 2), ("pi", sp.pi),
])
def test_accepts_numbers(text, value):
    parsed = parse_answer(text)
    assert parsed.shape == ()
    assert sp.simplify(parsed.value - value) == 0


def test_accepts_vectors_matrices_and_expressions():
    assert parse_answer("[1, -2, 0.5]").value == (1, -2, Q(1, 2))
    assert parse_answer("[1, -2, 0.5]").shape == (3,)
    m = parse_answer("[[1, 2], [3, 4.5]]")
    assert m.shape == (2, 2) and m.value == ((1, 2), (3, Q(9, 2)))
    x = sp.Symbol("x")
    assert sp.expand(parse_answer("2*x + 3", ("x",)).value - (2 * x + 3)) == 0
    assert sp.expand(parse_answer("x^2 - 1/2*x", ("x",)).value - (x**2 - x / 2)) == 0


@pytest.mark.parametrize("text, message", [
    ("10**10**10", "exponent 10000000000 is too large"),
    ("__import__('os')", "the function '__import__' is not allowed"),
    ("__import__('os').system('ls')", "the function '__import__' is not allowed"),
    ("().__class__", "attribute access"),
    ("x.real", "attribute access"),
    ("open('f')", "the function 'open' is not allowed"),
    ("a" * (1 << 20), "1,048,576 characters long"),
    ("(" * 30 + "1" + ")" * 30, "nested more than 20 levels"),
    ("[" * 30 + "1" + "]" * 30, "nested more than 20 levels"),
    ("-" * 1500 + "1", "nested more than 100 operators"),
    ("1e999999", "exponent 999999 is out of range"),
    ("(10**64)**64", "would have about 4160 digits"),
    ("1/0", "division by zero"),
    ("'abc'", "text in quotes"),
    ("lambda: 1", "a lambda"),
    ("x", "unknown name 'x'"),
    ("2x+3", "write the number alone, without letters or a unit"),
    ("[1, [2]]", "mixes numbers and rows"),
    ("[[1, 2], [3]]", "different lengths"),
    ("2**0.5", "exponents must be whole numbers"),
    ("sqrt(-1)", "square root of a negative number"),
    ("exp(5000)", "exp of a number larger than 1000"),
    ("((1, 2), 3)", "mixes numbers and rows"),
    ("[x for x in y]", "comprehension"),
    ("1 < 2", "comparison"),
    ("3 % 2", "%"),
    ("", "empty"),
    ("(1", "never closed"),
])
def test_refuses_with_a_clear_message(text, message):
    with pytest.raises(ParseError) as err:
        parse_answer(text)
    assert message in str(err.value)


def test_degree_limit_for_expressions():
    with pytest.raises(ParseError, match="degree"):
        parse_answer("((x + 1)**8)**9", ("x",))
    with pytest.raises(ParseError, match="too large"):
        parse_answer("x**64**64", ("x",))


# --------------------------------------------- expression answers whose cost explodes
def run_bounded(fn, *args, hard_limit=30.0):
    """fn(*args) in a forked child with 1 GiB more address space than it starts with.

    Returns (outcome, message, CPU seconds the child spent in fn). CPU time, not wall
    time: on a loaded machine the wall time of a fast refusal grows with the load (this
    test failed so), its CPU time does not; work that explodes still spends CPU. A child
    still running after hard_limit seconds (wall) is killed and the test fails, instead
    of hanging for minutes.
    """
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)

    def child():
        with open("/proc/self/statm") as f:
            size = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        hard = resource.getrlimit(resource.RLIMIT_AS)[1]
        resource.setrlimit(resource.RLIMIT_AS, (size + (1 << 30), hard))
        start = time.process_time()
        try:
            result = ("accepted", str(fn(*args))[:200])
        except ParseError as exc:
            result = ("refused", str(exc))
        except BaseException as exc:          # MemoryError, RecursionError, ...
            result = ("crashed", f"{type(exc).__name__}: {exc}")
        send.send((*result, time.process_time() - start))

    proc = ctx.Process(target=child)
    proc.start()
    send.close()
    try:
        if not recv.poll(hard_limit):
            pytest.fail(f"still running after {hard_limit} s: {str(args)[:80]}")
        return recv.recv()
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join()


def test_the_bound_counts_cpu_time_not_waiting():
    # What the limits below rely on: work shows in the measured seconds, waiting does not.
    def busy(limit):
        start = time.process_time()
        while time.process_time() - start < limit:
            pass
        return "done"
    assert run_bounded(busy, 0.3)[2] >= 0.3
    assert run_bounded(time.sleep, 0.3)[2] < 0.1


CHAIN = "*".join(["((x+1)**64/(x+2)**64)"] * 5)                  # 109 characters
SQRT_FACTORS = "*".join(f"(sqrt(x)+{k})**64" for k in range(1, 7))
EXPLOSIVE = [
    # Each of these hung in parse_answer or in marking (sp.Poly / sp.expand): up to
    # 180 s and 1.9 GB for the first one.
    ("(exp(x)+x+1)**64*(exp(x)+x+2)**64", "exp() of an expression in x is not allowed"),
    ("(log(x)+x+1)**64*(log(x)+x+2)**64", "log() of an expression in x is not allowed"),
    (CHAIN, "dividing by an expression in x is not allowed"),
    (SQRT_FACTORS, "sqrt() of an expression in x is not allowed"),
    # Polynomials, but too much work to multiply out, or too large.
    ("+".join(["(x+1)**32*(x+2)**32"] * 20), "more than 10,000 products of terms"),
    ("(x+1)**33*(x+2)**32", "degree would be 65, more than 64"),
    ("(10**40*x + 10**40)**64", "a coefficient with more than 400 digits"),
    ("(x+1)**-1", "a negative power of an expression in x"),
    ("exp(2)*x", "exp(2) is not a rational number"),
    ("pi*x", "pi is not a rational number"),
]


@pytest.mark.parametrize("text, message", EXPLOSIVE, ids=lambda v: str(v)[:30])
def test_explosive_expressions_are_refused_fast(text, message):
    assert len(CHAIN) > 100
    outcome, said, seconds = run_bounded(parse_answer, text, ("x",))
    assert outcome == "refused" and message in said, said
    assert seconds < 2.0, f"refused, but only after {seconds:.1f} s of CPU"


@pytest.mark.parametrize("text, message", EXPLOSIVE[:4], ids=lambda v: str(v)[:30])
def test_explosive_expressions_cost_only_their_own_part(text, message):
    # Through the marking of Exercise 2's derivative, as the grader calls it.
    x = sp.Symbol("x")
    p = part(EXPRESSION, 2 * x + 3, points=3, symbols=("x",))
    outcome, said, seconds = run_bounded(lambda t: mark(p, t).diagnosis, text)
    assert outcome == "accepted" and said.startswith("could not read the answer"), said
    assert message in said and seconds < 2.0


def test_large_polynomials_are_still_read_exactly_and_quickly():
    # The expected values come from sympy's own expand on trees built here, not from
    # the parser's multiplication.
    x = sp.Symbol("x")
    for text, expected in (("(x+1)**64", (x + 1) ** 64),
                           ("(x+1)**32*(x+2)**32", (x + 1) ** 32 * (x + 2) ** 32),
                           ("(x/2 - 3/7)**5*sqrt(9) + log(1) - exp(0)",
                            (x / 2 - Q(3, 7)) ** 5 * 3 - 1),
                           ("(x**8+x**7+x**6+x**5+x**4+x**3+x**2+x+1)**8",
                            sum(x**k for k in range(9)) ** 8)):
        outcome, said, seconds = run_bounded(lambda t: parse_answer(t, ("x",)).value, text)
        assert outcome == "accepted" and seconds < 2.0
        assert sp.expand(parse_answer(text, ("x",)).value - sp.expand(expected)) == 0
    assert mark(part(EXPRESSION, 2 * x + 3, points=3, symbols=("x",)),
                "(x+1)**2 - x**2 + 2 - 0*(x+5)**60").passed     # = 2x + 3


def test_parser_never_calls_eval_or_sympify(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("eval/exec/sympify was called")

    real = sys.modules["sympy.core.sympify"].sympify

    def no_text(a, *args, **kwargs):          # sympy converts numbers itself; text is ours
        if isinstance(a, str):
            raise AssertionError(f"sympify called on text {a!r}")
        return real(a, *args, **kwargs)

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    monkeypatch.setattr(sp, "sympify", no_text)
    monkeypatch.setattr(sp, "parse_expr", forbidden, raising=False)
    monkeypatch.setattr(sys.modules["sympy.core.sympify"], "sympify", no_text)
    assert parse_answer("[[1/2, 2.5e-3], [sqrt(2), -3]]").shape == (2, 2)
    assert parse_answer("2*x + 3", ("x",)).shape == ()
    assert mark(part(EXPRESSION, sp.Symbol("x") + 1, symbols=("x",)), "x + 1").passed
    with pytest.raises(ParseError):
        parse_answer("__import__('os')")


def test_no_module_of_the_bank_calls_eval_exec_or_sympify():
    # A static check over every module under grader/problems and grader/report.py.
    import grader
    root = Path(grader.__file__).parent
    names = {"eval", "exec", "compile", "sympify", "parse_expr", "lambdify", "S", "__import__"}
    attributes = {"eval", "sympify", "parse_expr", "lambdify", "S"}   # re.compile is fine
    for path in [*sorted((root / "problems").glob("*.py")), root / "report.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                f = node.func
                bad = (isinstance(f, ast.Name) and f.id in names
                       or isinstance(f, ast.Attribute) and f.attr in attributes)
                assert not bad, f"{path.name}:{node.lineno} calls {ast.unparse(f)}"


# ------------------------------------------------------------------------- marking
def part(kind, answer, points=4, tol=STANDARD, **kw):
    return Part("p", "prompt", kind, answer, points, tol, **kw)


def test_tolerance_is_max_of_absolute_and_relative():
    p = part(NUMBER, Q(1, 2))
    assert mark(p, "0.5005").passed          # |d| = 0.0005 = 0.001 * 0.5: on the boundary
    assert not mark(p, "0.50051").passed
    z = part(NUMBER, sp.Integer(0))
    assert mark(z, "0.000001").passed        # the absolute floor 1e-6 for an exact zero
    assert not mark(z, "0.0000011").passed
    t = part(NUMBER, Q(1, 2), tol=TRAJECTORY)
    assert mark(t, "0.500005").passed and not mark(t, "0.50001").passed
    e = part(INTEGER, sp.Integer(102036), tol=EXACT)
    assert mark(e, "102036").passed and mark(e, "102,036").passed
    assert not mark(e, "102037").passed and not mark(e, "102036.5").passed


def test_irrational_keys_are_compared_numerically():
    p = part(NUMBER, sp.sqrt(2) / 2)
    assert mark(p, "0.7071").passed and mark(p, "sqrt(2)/2").passed
    assert not mark(p, "0.70").passed


def test_partial_credit_per_entry():
    p = part(VECTOR, (Q(12, 100), Q(24, 100), Q(5, 100), Q(-41, 100)), points=4)
    m = mark(p, "[0.12, 0.24, 0.05, 0.41]")
    assert m.score == 3.0 and not m.passed
    assert "entry 4" in m.diagnosis and "sign is flipped" in m.diagnosis
    assert mark(p, "[0.12, 0.24, 0.05, -0.41]").score == 4.0
    assert mark(p, "[1, 2, 3]").score == 0.0
    assert "expected a vector of 4 numbers" in mark(p, "[1, 2, 3]").diagnosis


def test_matrix_hints_and_lenient_shapes():
    key = ((Q(-624, 1000), sp.Integer(0)), (Q(-312, 1000), sp.Integer(0)))
    p = part(MATRIX, key, points=4)
    transposed = mark(p, "[[-0.624, -0.312], [0, 0]]")
    assert transposed.score == 2.0 and "transposed" in transposed.diagnosis
    col = part(MATRIX, ((Q(-676, 1000),), (sp.Integer(0),)), points=2)
    assert mark(col, "[[-0.676], [0]]").passed and mark(col, "[-0.676, 0]").passed
    assert mark(part(NUMBER, Q(98, 100)), "[0.98]").passed
    assert "misplaced decimal point" in mark(part(NUMBER, Q(3, 2)), "1500").diagnosis


def test_expressions_choices_and_blank_answers():
    x = sp.Symbol("x")
    p = part(EXPRESSION, 2 * x + 3, points=3, symbols=("x",))
    assert mark(p, "3 + 2*x").passed and mark(p, "x*2 + 6/2").passed
    assert not mark(p, "2*x + 4").passed
    assert mark(p, "2x + 3").passed                       # an implicit product
    assert "unknown name 'y'" in mark(p, "2*y + 3").diagnosis
    c = part(CHOICE, "diverges", points=1, choices=("converges", "oscillates", "diverges"))
    assert mark(c, " Diverges ").passed and not mark(c, "converges").passed
    assert "not one of" in mark(c, "explodes").diagnosis
    blank = mark(p, "   ")
    assert blank.score == 0 and blank.diagnosis == "no answer given"


def test_reveal_adds_the_key_only_when_asked():
    p = part(NUMBER, Q(3, 2))
    assert "1.5" not in mark(p, "2").diagnosis
    assert "the key is 1.5" in mark(p, "2", reveal=True).diagnosis


def test_malicious_answers_score_zero_without_crashing():
    p = part(VECTOR, (Q(1), Q(2)), points=2)
    for text in ("__import__('os').system('echo pwned')", "[().__class__.__bases__]",
                 "9" * 5000, "[" * 25 + "]" * 25, "10**10**10"):
        m = mark(p, text)
        assert m.score == 0 and m.diagnosis.startswith("could not read the answer")


# ------------------------------------------------------------ the usual ways of writing
# Expected values are written out by hand from the text (what the student means), never
# taken from the parser.
@pytest.mark.parametrize("text, unit, value", [
    ("237056 bytes", "bytes", 237056), ("861,696 FLOPs", "FLOPs", 861696),
    ("861,696 flops", "FLOPs", 861696), ("102,036 parameters", "parameters", 102036),
    ("102036 params.", "parameters", 102036), ("68048 B", "bytes", 68048),
    ("1e5 bytes", "bytes", 100000), ("7 steps", "updates", 7), ("7 updates", "updates", 7),
    ("20 rows", "rows", 20), ("0.25;", "", Q(1, 4)), ("0.25 ;  ", "", Q(1, 4)),
])
def test_units_of_the_part_and_trailing_semicolons_are_ignored(text, unit, value):
    parsed = parse_answer(text, (), unit)
    assert parsed.shape == () and parsed.value == value


@pytest.mark.parametrize("text, unit, message", [
    ("1.6 MB", "bytes", "'MB' is not the unit of this answer: give the number of bytes"),
    ("68 KB", "bytes", "'KB' is not the unit"),
    ("2 GFLOPs", "FLOPs", "'GFLOPs' is not the unit of this answer: give the number of FLOPs"),
    ("3 apples", "", "this answer has no unit: write the number alone, without 'apples'"),
    ("-2,28", "", "'-2,28' has a decimal comma: write a decimal point, -2.28"),
    ("0,5", "", "decimal comma"), ("3,14159", "", "decimal comma"),
    ("-2,28; 1,5", "", "decimal comma"),
])
def test_other_units_and_decimal_commas_are_refused_naming_them(text, unit, message):
    with pytest.raises(ParseError) as err:
        parse_answer(text, (), unit)
    assert message in str(err.value)


def test_a_unit_message_no_longer_speaks_of_products():
    with pytest.raises(ParseError) as err:
        parse_answer("237056 bytes")
    assert "*" not in str(err.value) and "without 'bytes'" in str(err.value)


@pytest.mark.parametrize("text, value, shape", [
    ("[0.22 0.33 0.3 -0.85]", (Q(22, 100), Q(33, 100), Q(3, 10), Q(-85, 100)), (4,)),
    ("[ 0.22  0.33  0.3  -0.85]", (Q(22, 100), Q(33, 100), Q(3, 10), Q(-85, 100)), (4,)),
    ("[1. -0.5 2.e-01]", (1, Q(-1, 2), Q(1, 5)), (3,)),
    ("[[-4 -1.6] [6 2.4]]", ((-4, Q(-8, 5)), (6, Q(12, 5))), (2, 2)),
    ("[[-4.  -1.6]\n [ 6.   2.4]]", ((-4, Q(-8, 5)), (6, Q(12, 5))), (2, 2)),
    ("array([1., 2.])", (1, 2), (2,)), ("np.array([[1, 2], [3, 4]])", ((1, 2), (3, 4)), (2, 2)),
    ("(0.22, 0.33)", (Q(22, 100), Q(33, 100)), (2,)),
    ("((1, 2), (3, 4))", ((1, 2), (3, 4)), (2, 2)),
    ("0, -0.6, 1", (0, Q(-3, 5), 1), (3,)), ("0, -0.6, 1;", (0, Q(-3, 5), 1), (3,)),
    ("[1, 2; 3, 4]", ((1, 2), (3, 4)), (2, 2)), ("1, 2; 3, 4", ((1, 2), (3, 4)), (2, 2)),
    ("0.2; 0.3; 0.5", (Q(1, 5), Q(3, 10), Q(1, 2)), (3,)),
    ("[0.2; 0.3]", (Q(1, 5), Q(3, 10)), (2,)),
    ("[1, 2, 3];", (1, 2, 3), (3,)), ("[1,5]", (1, 5), (2,)),
])
def test_numpy_parentheses_bare_and_semicolon_forms(text, value, shape):
    parsed = parse_answer(text)
    assert parsed.shape == shape and parsed.value == value


@pytest.mark.parametrize("text, expected", [
    ("4x", "4*x"), ("3x² - 2", "3*x**2 - 2"), ("6 - 6x", "6 - 6*x"), ("2(x + 1)", "2*x + 2"),
    ("x(x + 1)", "x**2 + x"), ("(x + 1)(x - 1)", "x**2 - 1"), ("2.5x", "5*x/2"),
    ("2e-3x", "x/500"), ("-6x + 6;", "6 - 6*x"), ("4 x", "4*x"), ("x²", "x**2"),
    ("3x^2", "3*x**2"), ("2sqrt(4)x", "4*x"),
])
def test_implicit_products_in_expressions(text, expected):
    x = sp.Symbol("x")
    want = sp.Poly(sp.parse_expr(expected, {"x": x}), x)     # the test's own reading
    got = parse_answer(text, ("x",)).value
    assert sp.Poly(got, x) == want


def test_an_ambiguous_implicit_product_is_refused():
    with pytest.raises(ParseError) as err:
        parse_answer("1/2x", ("x",))
    assert "can be read two ways: write 1/2*x or 1/(2*x)" in str(err.value)


@pytest.mark.parametrize("text, key", [
    ("converges.", "converges"), ("converge", "converges"), ("it converges", "converges"),
    ("Converged!", "converges"), ("CONVERGES", "converges"), ("converging", "converges"),
    ("oscillate", "oscillates"), ("It oscillates.", "oscillates"),
    ("oscillation", "oscillates"), ("diverge", "diverges"), ("divergence", "diverges"),
    ("'diverges'", "diverges"), ("W diverges", "diverges"),
])
def test_words_in_any_case_with_punctuation_and_inflections(text, key):
    c = part(CHOICE, key, points=1, choices=("converges", "oscillates", "diverges"))
    assert mark(c, text).passed
    other = "diverges" if key != "diverges" else "converges"
    assert not mark(part(CHOICE, other, points=1,
                         choices=("converges", "oscillates", "diverges")), text).passed


@pytest.mark.parametrize("text, message", [
    ("does not converge", "negated"), ("converges or diverges", "more than one"),
    ("explodes", "not one of"),
])
def test_words_that_cannot_be_read_say_why(text, message):
    c = part(CHOICE, "converges", points=1, choices=("converges", "oscillates", "diverges"))
    m = mark(c, text)
    assert m.score == 0 and message in m.diagnosis


def test_layer_names_with_spaces_dashes_and_plurals():
    layers = ("logits", "Block2_out", "Block1_FFN", "embeddings")
    for text, key in (("Block1 FFN", "Block1_FFN"), ("block1-ffn", "Block1_FFN"),
                      ("Embedding", "embeddings"), ("the logits.", "logits")):
        assert mark(part(CHOICE, key, points=1, choices=layers), text).passed, text


def test_every_unit_part_of_the_bank_accepts_its_unit():
    from grader.problems import model_facts
    for p in model_facts.solve(model_facts.seed_params()):
        assert p.unit, p.name
        assert mark(p, f"{int(p.answer):,} {p.unit}").passed, p.name
        assert "not the unit" in mark(p, f"{int(p.answer)} MB").diagnosis


@pytest.mark.parametrize("text", [
    "1" * 1999 + " bytes"[:1], "[" + " ".join(["1"] * 900) + "]", "x" * 1990 + " bytes",
    ";" * 1999, "1 " + "a " * 995, "[" + "1 " * 999 + "]", "2" + "x" * 1998,
    "(" * 19 + "x" + ")" * 19 + "x" * 1900,
])
def test_the_rewrites_finish_on_long_answers(text):
    """Linear-time rewrites: a regular expression that backtracks would hang here (the
    per-answer times are in benchmarks/bench_problems.py, not asserted)."""
    for symbols in ((), ("x",)):
        try:
            parse_answer(text[:2000], symbols, "bytes")
        except ParseError as exc:
            assert str(exc)


# ------------------------------------------------------------------ exact expressions
def _ex2_derivative():
    from grader.problems import ex2_gradient_check as ex2
    parts = ex2.solve(ex2.seed_params())
    return next(p for p in parts if p.name == "derivative")


def test_an_exact_expression_part_refuses_near_misses():
    """ex2.derivative's statement says exact: a constant of 1/1000 off, a coefficient
    0.05% off, and a polynomial built to agree with the key at the grader's own sample
    points all score 0; the key itself, rearranged, scores full marks."""
    from grader.problems.marking import SAMPLE_POINTS
    part = _ex2_derivative()
    assert part.tol == EXACT
    x = sp.Symbol("x")
    key = part.answer
    # The key, written out by hand from its coefficients (not from the grader's text).
    a1, a0 = sp.Poly(key, x).all_coeffs()
    assert mark(part, f"{a0} + ({a1})*x").passed
    assert mark(part, f"({a1})x + {a0};").passed
    assert not mark(part, f"{a0} + ({a1})*x + 1/1000").passed
    assert not mark(part, f"{a0} + ({a1})*1.0005*x").passed
    sneaky = sp.expand(key + sp.prod([x - t for t in SAMPLE_POINTS]) / 10**6)
    assert all(sneaky.subs(x, t) == key.subs(x, t) for t in SAMPLE_POINTS)
    text = str(sneaky).replace("**", "^")
    m = mark(part, text)
    assert m.score == 0 and "exactly equal" in m.diagnosis


def test_a_toleranced_expression_part_uses_its_tolerance():
    x = sp.Symbol("x")
    p = part(EXPRESSION, 6 - 6 * x, points=2, symbols=("x",))   # STANDARD tolerance
    assert mark(p, "6 - 6*x + 1/1000000").passed
    assert not mark(p, "6 - 6.1*x").passed
