"""Read a student's answer text as an exact value, without eval and without sympify.

The text is parsed by Python's own parser (`ast.parse`, which builds a tree and runs
nothing), and then a whitelist walker builds the value node by node. Anything the
walker does not know is refused with a message that says what and where.

Accepted:
    numbers      12   -0.25   .5   2.5e-3   1E5   3/40      (read exactly, never as floats)
    arithmetic   + - * / ** and ^ (read as **), parentheses
    vectors      [1, -2, 0.5]        matrices  [[1, 2], [3, 4]]   (lists only at the top)
    functions    sqrt(...)  exp(...)  log(...)   and the constant pi
    variables    only those a question names (x in "f'(x) = 2*x + 3"), only there
    whole numbers may use thousands separators: 102,036
    the usual other forms, rewritten by parse_forms.py: a trailing ';', the part's unit
    after a number (237056 bytes), NumPy's printed arrays ([0.22 0.33], array([1., 2.])),
    (1, 2) and a bare 1, 2 as vectors, ';' between rows ([1, 2; 3, 4]), superscripts (x²)
    and implicit products in expressions (4x, 2(x + 1)); a decimal comma (-2,28) and
    another unit (1.6 MB for bytes) are refused with a message that names them

Expressions (answers in the variables a question names) are polynomials with rational
coefficients: that is all the questions ask for (the derivative of a quadratic), and it
makes their cost predictable. The walker builds them itself, as {exponents: Fraction}
dictionaries, never through sympy's Poly or expand, and refuses before computing:
    - a function of a variable (exp(x), sqrt(x)) and a division by an expression in a
      variable (1/(x + 2)), including negative powers of one;
    - a number that is not rational (pi, sqrt(2)); sqrt(4) = 2 and log(1) = 0 are fine;
    - a degree above MAX_DEGREE, known from the degrees of the operands before a product
      or a power is multiplied out;
    - more than MAX_TERM_PRODUCTS products of terms in all (the work of multiplying out).

Limits (each gets its own message):
    MAX_CHARS          2,000 characters per answer
    MAX_DEPTH          20 levels of brackets, 100 levels of operators
    MAX_EXPONENT       |n| <= 64 in a ** n, and n must be a whole number (use sqrt for ½)
    MAX_DIGITS         40 digits in one number, 40 in its exponent (1e-40 is fine, 1e400 is not)
    MAX_RESULT         a result (or a coefficient) may not exceed 400 digits
                       (so 10**64**64 fails before it runs)
    MAX_ELEMENTS       400 numbers in a vector or matrix
    MAX_DEGREE         64: the polynomial degree of an expression answer
    MAX_TERM_PRODUCTS  10,000 products of two terms while multiplying out an expression
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass

import sympy as sp

MAX_CHARS = 2000
MAX_DEPTH = 20
MAX_AST_DEPTH = 100
MAX_EXPONENT = 64
MAX_DIGITS = 40
MAX_RESULT_DIGITS = 400
MAX_ELEMENTS = 400
MAX_DEGREE = 64
MAX_TERM_PRODUCTS = 10_000
MAX_EXP_ARGUMENT = 1000
# A coefficient's size is checked in bits (cheap) against MAX_RESULT_DIGITS decimal digits.
MAX_RESULT_BITS = int(MAX_RESULT_DIGITS * 3.3219280948873626) + 1

FUNCTIONS = {"sqrt": sp.sqrt, "exp": sp.exp, "log": sp.log}
CONSTANTS = {"pi": sp.pi}
THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+")


class ParseError(ValueError):
    """The answer cannot be read; the message says why and where, for the student."""


@dataclass(frozen=True)
class Parsed:
    """A scalar (sympy), a vector (tuple of scalars) or a matrix (tuple of row tuples)."""
    value: object
    shape: tuple[int, ...]       # () scalar, (n,) vector, (r, c) matrix


def normalize(text: str) -> str:
    """The spellings people type that mean our operators: −, ×, ·, ^."""
    text = text.strip()
    text = text.replace("\u2212", "-").replace("\u00d7", "*").replace("\u00b7", "*")
    text = text.replace("\u22c5", "*").replace("^", "**")
    return text


def parse_answer(text: str, symbols: tuple[str, ...] = (), unit: str = "") -> Parsed:
    """Parse one answer. `symbols` are the variable names this question allows, `unit` the
    unit its answer is counted in ("bytes"), which may follow the number."""
    if not isinstance(text, str):
        raise ParseError("the answer is not text")
    if len(text) > MAX_CHARS:
        raise ParseError(f"the answer is {len(text):,} characters long; "
                         f"answers are limited to {MAX_CHARS:,}")
    from grader.problems.parse_forms import rewrite
    text = normalize(text)
    if not text:
        raise ParseError("the answer is empty")
    text = rewrite(text, tuple(symbols), unit)
    if THOUSANDS.fullmatch(text):
        text = text.replace(",", "")
    _check_brackets(text)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ParseError(_syntax_message(text, exc, symbols)) from None
    except (RecursionError, MemoryError, ValueError):
        raise ParseError("the answer is too deeply nested to read") from None
    _refuse_calls(tree)
    from grader.problems.parse_numbers import NumberWalker
    from grader.problems.parse_poly import PolynomialWalker
    walker = (PolynomialWalker if symbols else NumberWalker)(text, tuple(symbols))
    body = tree.body
    if isinstance(body, (ast.List, ast.Tuple)):
        # (1, 2) and a bare 1, 2 are vectors too; ((1, 2), (3, 4)) a matrix.
        return walker.array(_as_lists(body))
    return Parsed(walker.scalar(body, 0), ())


def _as_lists(node: ast.AST) -> ast.AST:
    """Tuples at the top (and as rows) read as lists; arithmetic inside is untouched."""
    if isinstance(node, (ast.List, ast.Tuple)):
        out = ast.List(elts=[e if not isinstance(e, (ast.List, ast.Tuple)) else
                             _as_lists_row(e) for e in node.elts], ctx=ast.Load())
        return ast.copy_location(out, node)
    return node


def _as_lists_row(node: ast.AST) -> ast.AST:
    out = ast.List(elts=list(node.elts), ctx=ast.Load())
    return ast.copy_location(out, node)


def _refuse_calls(tree: ast.AST) -> None:
    """Name a forbidden function first: `__import__('os').system(...)` is reported as
    the call to __import__, the most telling thing wrong with it."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id not in FUNCTIONS:
            raise ParseError(f"column {node.col_offset + 1}: the function {node.func.id!r} is not "
                             f"allowed; the functions allowed are: {', '.join(FUNCTIONS)}")


def _check_brackets(text: str) -> None:
    """Refuse deep or unbalanced brackets before Python's parser sees them."""
    pairs = {")": "(", "]": "["}
    stack = []
    for col, ch in enumerate(text, start=1):
        if ch in "([":
            stack.append(ch)
            if len(stack) > MAX_DEPTH:
                raise ParseError(f"brackets are nested more than {MAX_DEPTH} levels deep "
                                 f"(at column {col})")
        elif ch in ")]":
            if not stack or stack[-1] != pairs[ch]:
                raise ParseError(f"unmatched {ch!r} at column {col}")
            stack.pop()
    if stack:
        raise ParseError(f"{len(stack)} bracket(s) opened but never closed")


def _syntax_message(text: str, exc: SyntaxError, symbols=()) -> str:
    col = exc.offset or 0
    hint = ""
    if symbols and re.search(r"\d\s*[A-Za-z(]", text):
        hint = "; write products with *, e.g. 2*x"
    elif re.search(r"\d\s*[A-Za-z]", text):
        hint = "; write the number alone, without letters or a unit after it"
    elif "'" in text or '"' in text:
        hint = "; quotes are not needed (or allowed) in answers"
    return f"could not read {text[:60]!r}: {exc.msg} at column {col}{hint}"
