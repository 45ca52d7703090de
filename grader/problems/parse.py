"""Read a student's answer text as an exact value, without eval and without sympify.

The text is parsed by Python's own parser (`ast.parse`, which builds a tree and runs
nothing), and then a whitelist walker builds the sympy value node by node. Anything the
walker does not know is refused with a message that says what and where.

Accepted:
    numbers      12   -0.25   .5   2.5e-3   1E5   3/40      (read exactly, never as floats)
    arithmetic   + - * / ** and ^ (read as **), parentheses
    vectors      [1, -2, 0.5]        matrices  [[1, 2], [3, 4]]   (lists only at the top)
    functions    sqrt(...)  exp(...)  log(...)   and the constant pi
    variables    only those a question names (x in "f'(x) = 2*x + 3"), only there
    whole numbers may use thousands separators: 102,036

Limits (each gets its own message):
    MAX_CHARS      2,000 characters per answer
    MAX_DEPTH      20 levels of brackets, 100 levels of operators
    MAX_EXPONENT   |n| <= 64 in a ** n, and n must be a whole number (use sqrt for ½)
    MAX_DIGITS     40 digits in one number, 40 in its exponent (1e-40 is fine, 1e400 is not)
    MAX_RESULT     a result may not exceed 400 digits (so 10**64**64 fails before it runs)
    MAX_ELEMENTS   400 numbers in a vector or matrix
    MAX_DEGREE     64: the polynomial degree of an expression answer
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from fractions import Fraction

import sympy as sp

MAX_CHARS = 2000
MAX_DEPTH = 20
MAX_AST_DEPTH = 100
MAX_EXPONENT = 64
MAX_DIGITS = 40
MAX_RESULT_DIGITS = 400
MAX_ELEMENTS = 400
MAX_DEGREE = 64
MAX_EXP_ARGUMENT = 1000

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
    """The spellings people type that mean our operators: −, ×, ·, ^ and thousands commas."""
    text = text.strip()
    text = text.replace("\u2212", "-").replace("\u00d7", "*").replace("\u00b7", "*")
    text = text.replace("^", "**")
    if THOUSANDS.fullmatch(text):
        text = text.replace(",", "")
    return text


def parse_answer(text: str, symbols: tuple[str, ...] = ()) -> Parsed:
    """Parse one answer. `symbols` are the variable names this question allows."""
    if not isinstance(text, str):
        raise ParseError("the answer is not text")
    if len(text) > MAX_CHARS:
        raise ParseError(f"the answer is {len(text):,} characters long; "
                         f"answers are limited to {MAX_CHARS:,}")
    text = normalize(text)
    if not text:
        raise ParseError("the answer is empty")
    _check_brackets(text)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ParseError(_syntax_message(text, exc)) from None
    except (RecursionError, MemoryError, ValueError):
        raise ParseError("the answer is too deeply nested to read") from None
    _refuse_calls(tree)
    walker = _Walker(text, tuple(symbols))
    body = tree.body
    if isinstance(body, ast.List):
        return walker.array(body)
    if isinstance(body, ast.Tuple):
        raise ParseError("write vectors in square brackets, like [1, 2, 3]")
    return Parsed(walker.scalar(body, 0), ())


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


def _syntax_message(text: str, exc: SyntaxError) -> str:
    col = exc.offset or 0
    hint = ""
    if re.search(r"\d\s*[A-Za-z(]", text):
        hint = "; write products with *, e.g. 2*x rather than 2x"
    elif "'" in text or '"' in text:
        hint = "; quotes are not needed (or allowed) in answers"
    return f"could not read {text[:60]!r}: {exc.msg} at column {col}{hint}"


class _Walker:
    """Builds the sympy value of a whitelisted expression tree, node by node."""

    def __init__(self, text: str, symbols: tuple[str, ...]):
        self.text = text
        self.symbols = {name: sp.Symbol(name) for name in symbols}

    # ------------------------------------------------------------------ arrays
    def array(self, node: ast.List) -> Parsed:
        rows = node.elts
        if not rows:
            raise ParseError("the vector is empty")
        if all(isinstance(r, ast.List) for r in rows):
            widths = {len(r.elts) for r in rows}
            if len(widths) != 1:
                lens = ", ".join(str(len(r.elts)) for r in rows)
                raise ParseError(f"the rows of the matrix have different lengths ({lens})")
            if len(rows) * len(rows[0].elts) > MAX_ELEMENTS:
                raise ParseError(f"more than {MAX_ELEMENTS} numbers")
            if not rows[0].elts:
                raise ParseError("the matrix rows are empty")
            value = tuple(tuple(self.element(e) for e in r.elts) for r in rows)
            return Parsed(value, (len(rows), len(rows[0].elts)))
        if any(isinstance(r, ast.List) for r in rows):
            raise ParseError("mixes numbers and rows: write a vector [1, 2] or a matrix "
                             "[[1, 2], [3, 4]]")
        if len(rows) > MAX_ELEMENTS:
            raise ParseError(f"more than {MAX_ELEMENTS} numbers")
        return Parsed(tuple(self.element(e) for e in rows), (len(rows),))

    def element(self, node: ast.AST):
        if isinstance(node, (ast.List, ast.Tuple)):
            raise ParseError(f"{self.where(node)}: vectors can hold numbers and matrices rows, "
                             "nothing nested deeper")
        return self.scalar(node, 0)

    # ----------------------------------------------------------------- scalars
    def scalar(self, node: ast.AST, depth: int):
        if depth > MAX_AST_DEPTH:
            raise ParseError(f"the answer is nested more than {MAX_AST_DEPTH} operators deep")
        if isinstance(node, ast.Constant):
            return self.number(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = self.scalar(node.operand, depth + 1)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp):
            return self.binop(node, depth)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.Call):
            return self.call(node, depth)
        if isinstance(node, ast.List):
            raise ParseError(f"{self.where(node)}: a vector cannot be used inside arithmetic")
        raise ParseError(f"{self.where(node)}: {_describe(node)} is not allowed in an answer")

    def number(self, node: ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            kind = ("text in quotes" if isinstance(node.value, str)
                    else repr(node.value) if isinstance(node.value, bool)
                    else f"a {type(node.value).__name__} value")
            raise ParseError(f"{self.where(node)}: {kind} is not allowed; answers are numbers")
        literal = (ast.get_source_segment(self.text, node) or "").replace("_", "")
        mantissa, _, exponent = literal.lower().partition("e")
        if sum(ch.isdigit() for ch in mantissa) > MAX_DIGITS:
            raise ParseError(f"{self.where(node)}: a number with more than {MAX_DIGITS} digits")
        if exponent and abs(int(exponent)) > MAX_DIGITS:
            raise ParseError(f"{self.where(node)}: the exponent {exponent} is out of range "
                             f"(|e| <= {MAX_DIGITS})")
        try:
            f = Fraction(literal)      # exact: Fraction("0.1") == 1/10, unlike float 0.1
        except ValueError:
            raise ParseError(f"{self.where(node)}: cannot read the number {literal!r}") from None
        return sp.Rational(f.numerator, f.denominator)

    def name(self, node: ast.Name):
        if node.id in self.symbols:
            return self.symbols[node.id]
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        if node.id in FUNCTIONS:
            raise ParseError(f"{self.where(node)}: {node.id} is a function: write {node.id}(...)")
        allowed = ", ".join([*self.symbols, *CONSTANTS])
        raise ParseError(f"{self.where(node)}: unknown name {node.id!r}; "
                         f"the names allowed here are: {allowed}")

    def call(self, node: ast.Call, depth: int):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            what = (f"the function {node.func.id!r}" if isinstance(node.func, ast.Name)
                    else _describe(node.func))
            raise ParseError(f"{self.where(node)}: {what} is not allowed; "
                             f"the functions allowed are: {', '.join(FUNCTIONS)}")
        if node.keywords or len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
            raise ParseError(f"{self.where(node)}: {node.func.id}() takes exactly one argument")
        arg = self.scalar(node.args[0], depth + 1)
        name = node.func.id
        if arg.is_number:
            if name == "sqrt" and arg.is_negative:
                raise ParseError(f"{self.where(node)}: the square root of a negative number")
            if name == "log" and not arg.is_positive:
                raise ParseError(f"{self.where(node)}: log of a number that is not positive")
            if name == "exp" and abs(sp.N(arg, 15)) > MAX_EXP_ARGUMENT:
                raise ParseError(f"{self.where(node)}: exp of a number larger than "
                                 f"{MAX_EXP_ARGUMENT}")
        return FUNCTIONS[name](arg)

    def binop(self, node: ast.BinOp, depth: int):
        ops = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
        op = ops.get(type(node.op))
        if op is None:
            raise ParseError(f"{self.where(node)}: the operator {_describe(node.op)} "
                             "is not allowed; use + - * / ** (or ^)")
        left = self.scalar(node.left, depth + 1)
        right = self.scalar(node.right, depth + 1)
        if op == "+":
            value = left + right
        elif op == "-":
            value = left - right
        elif op == "*":
            value = left * right
        elif op == "/":
            if right.is_number and right.is_zero:
                raise ParseError(f"{self.where(node)}: division by zero")
            value = left / right
        else:
            value = self.power(node, left, right)
        self.limit_size(node, value)
        return value

    def power(self, node: ast.BinOp, base, exponent):
        if not (exponent.is_Integer):
            raise ParseError(f"{self.where(node)}: exponents must be whole numbers "
                             f"(write sqrt(...) for a square root)")
        n = int(exponent)
        if abs(n) > MAX_EXPONENT:
            shown = str(n) if len(str(n)) <= 20 else f"with {len(str(abs(n)))} digits"
            raise ParseError(f"{self.where(node)}: the exponent {shown} is too large "
                             f"(the limit is {MAX_EXPONENT})")
        if base.is_number and base.is_zero and n < 0:
            raise ParseError(f"{self.where(node)}: division by zero (0 to a negative power)")
        if base.is_Rational:
            # Decide from the size of the base, before computing anything large.
            digits = max(len(str(abs(int(base.p)))), len(str(int(base.q))))
            if digits * abs(n) > MAX_RESULT_DIGITS:
                raise ParseError(f"{self.where(node)}: the result would have about "
                                 f"{digits * abs(n)} digits (the limit is {MAX_RESULT_DIGITS})")
        if not base.is_number and _degree(base) * abs(n) > MAX_DEGREE:
            raise ParseError(f"{self.where(node)}: the expression's degree would exceed "
                             f"{MAX_DEGREE}")
        return base**n

    def limit_size(self, node: ast.AST, value) -> None:
        if value.is_Rational:
            digits = max(len(str(abs(int(value.p)))), len(str(int(value.q))))
            if digits > MAX_RESULT_DIGITS:
                raise ParseError(f"{self.where(node)}: a number with more than "
                                 f"{MAX_RESULT_DIGITS} digits")
        elif not value.is_number and _degree(value) > MAX_DEGREE:
            raise ParseError(f"{self.where(node)}: the expression's degree exceeds {MAX_DEGREE}")

    def where(self, node: ast.AST) -> str:
        col = getattr(node, "col_offset", None)
        return f"column {col + 1}" if col is not None else "here"


def _degree(expr) -> int:
    """The total polynomial degree if expr is a polynomial in its symbols, else 1.

    Only used to bound the cost of expanding a student's expression.
    """
    try:
        return int(sp.Poly(expr, *sorted(expr.free_symbols, key=str)).total_degree())
    except (sp.PolynomialError, sp.GeneratorsNeeded, ValueError):
        return 1


def _describe(node: ast.AST) -> str:
    names = {ast.Attribute: "attribute access (a dot after a name)",
             ast.Subscript: "indexing with [...] after a value",
             ast.Lambda: "a lambda", ast.Compare: "a comparison", ast.BoolOp: "and/or",
             ast.IfExp: "an if-expression", ast.Dict: "a dictionary", ast.Set: "a set",
             ast.Tuple: "a tuple (use [ ] for vectors)", ast.Starred: "a starred argument",
             ast.ListComp: "a comprehension", ast.GeneratorExp: "a generator",
             ast.JoinedStr: "an f-string", ast.NamedExpr: "an assignment (:=)",
             ast.Await: "await", ast.Yield: "yield", ast.Slice: "a slice",
             ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.BitXor: "^ (bitwise)",
             ast.BitAnd: "&", ast.BitOr: "|", ast.LShift: "<<", ast.RShift: ">>",
             ast.Invert: "~", ast.Not: "not", ast.Call: "a function call"}
    return names.get(type(node), type(node).__name__)
