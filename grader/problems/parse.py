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
from fractions import Fraction
from math import isqrt

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
    walker = (_ExpressionWalker if symbols else _Walker)(text, tuple(symbols))
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
        f = self.literal(node)
        return sp.Rational(f.numerator, f.denominator)

    def literal(self, node: ast.Constant) -> Fraction:
        """The exact value of a number as written (its type, digits and exponent checked
        first)."""
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
            return Fraction(literal)   # exact: Fraction("0.1") == 1/10, unlike float 0.1
        except ValueError:
            raise ParseError(f"{self.where(node)}: cannot read the number {literal!r}") from None

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

    def bounded_exponent(self, node: ast.BinOp, n: int) -> int:
        """n, or a ParseError when |n| is over the limit (10**10**10 stops here)."""
        if abs(n) > MAX_EXPONENT:
            shown = str(n) if len(str(n)) <= 20 else f"with {len(str(abs(n)))} digits"
            raise ParseError(f"{self.where(node)}: the exponent {shown} is too large "
                             f"(the limit is {MAX_EXPONENT})")
        return n

    def power(self, node: ast.BinOp, base, exponent):
        if not (exponent.is_Integer):
            raise ParseError(f"{self.where(node)}: exponents must be whole numbers "
                             f"(write sqrt(...) for a square root)")
        n = self.bounded_exponent(node, int(exponent))
        if base.is_number and base.is_zero and n < 0:
            raise ParseError(f"{self.where(node)}: division by zero (0 to a negative power)")
        if base.is_Rational:
            # Decide from the size of the base, before computing anything large.
            digits = max(len(str(abs(int(base.p)))), len(str(int(base.q))))
            if digits * abs(n) > MAX_RESULT_DIGITS:
                raise ParseError(f"{self.where(node)}: the result would have about "
                                 f"{digits * abs(n)} digits (the limit is {MAX_RESULT_DIGITS})")
        return base**n

    def limit_size(self, node: ast.AST, value) -> None:
        if value.is_Rational:
            digits = max(len(str(abs(int(value.p)))), len(str(int(value.q))))
            if digits > MAX_RESULT_DIGITS:
                raise ParseError(f"{self.where(node)}: a number with more than "
                                 f"{MAX_RESULT_DIGITS} digits")

    def where(self, node: ast.AST) -> str:
        col = getattr(node, "col_offset", None)
        return f"column {col + 1}" if col is not None else "here"


class _ExpressionWalker(_Walker):
    """An expression answer: a polynomial with rational coefficients in the question's
    variables, built as {exponents: Fraction} without sympy, every cost known in advance.

    Nothing here calls sympy's Poly, expand or simplify on the student's text: a
    product's degree is the sum of its operands' degrees and its cost the product of
    their numbers of terms, both checked before the product is formed.
    """

    def __init__(self, text: str, symbols: tuple[str, ...]):
        super().__init__(text, symbols)
        self.names = tuple(symbols)
        self.zero = (0,) * len(self.names)
        self.products = 0              # products of two terms so far, for this answer

    # The array code of _Walker calls scalar() for every entry.
    def scalar(self, node: ast.AST, depth: int):
        return self.to_sympy(self.poly(node, depth))

    def to_sympy(self, poly: dict):
        terms = []
        for exps, c in sorted(poly.items()):
            term = sp.Rational(c.numerator, c.denominator)
            for name, k in zip(self.names, exps):
                if k:
                    term = term * self.symbols[name] ** k
            terms.append(term)
        return sp.Add(*terms)

    # ----------------------------------------------------------------- polynomials
    def const(self, value: Fraction) -> dict:
        return {self.zero: value} if value else {}

    def is_const(self, poly: dict) -> bool:
        return all(e == self.zero for e in poly)

    def value(self, poly: dict) -> Fraction:
        return poly.get(self.zero, Fraction(0))

    @staticmethod
    def degree(poly: dict) -> int:
        return max((sum(e) for e in poly), default=0)

    def variables(self) -> str:
        return ", ".join(self.names)

    def polynomial_only(self) -> str:
        return f"the answer is a polynomial in {self.variables()} with rational coefficients"

    def poly(self, node: ast.AST, depth: int) -> dict:
        if depth > MAX_AST_DEPTH:
            raise ParseError(f"the answer is nested more than {MAX_AST_DEPTH} operators deep")
        if isinstance(node, ast.Constant):
            return self.const(self.literal(node))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            inner = self.poly(node.operand, depth + 1)
            return {e: -c for e, c in inner.items()} if isinstance(node.op, ast.USub) else inner
        if isinstance(node, ast.BinOp):
            return self.binop_poly(node, depth)
        if isinstance(node, ast.Name):
            if node.id in self.symbols:
                i = self.names.index(node.id)
                return {tuple(int(j == i) for j in range(len(self.names))): Fraction(1)}
            if node.id in CONSTANTS:
                raise ParseError(f"{self.where(node)}: {node.id} is not a rational number, and "
                                 f"{self.polynomial_only()}")
            self.name(node)                              # raises with the right message
        if isinstance(node, ast.Call):
            return self.call_poly(node, depth)
        if isinstance(node, ast.List):
            raise ParseError(f"{self.where(node)}: a vector cannot be used inside arithmetic")
        raise ParseError(f"{self.where(node)}: {_describe(node)} is not allowed in an answer")

    def call_poly(self, node: ast.Call, depth: int) -> dict:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            return self.call(node, depth)                # raises with the right message
        name = node.func.id
        if node.keywords or len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
            raise ParseError(f"{self.where(node)}: {name}() takes exactly one argument")
        arg = self.poly(node.args[0], depth + 1)
        if not self.is_const(arg):
            raise ParseError(f"{self.where(node)}: {name}() of an expression in "
                             f"{self.variables()} is not allowed: {self.polynomial_only()}, "
                             "so functions may only be applied to numbers")
        r = self.value(arg)
        shown = f"{name}({r})"
        if name == "sqrt":
            if r < 0:
                raise ParseError(f"{self.where(node)}: the square root of a negative number")
            top, bottom = isqrt(r.numerator), isqrt(r.denominator)
            if top * top == r.numerator and bottom * bottom == r.denominator:
                return self.const(Fraction(top, bottom))
        elif name == "log":
            if r <= 0:
                raise ParseError(f"{self.where(node)}: log of a number that is not positive")
            if r == 1:
                return {}
        elif r == 0:                                     # exp(0) = 1
            return self.const(Fraction(1))
        raise ParseError(f"{self.where(node)}: {shown} is not a rational number, and "
                         f"{self.polynomial_only()}")

    def binop_poly(self, node: ast.BinOp, depth: int) -> dict:
        op = type(node.op)
        if op not in (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow):
            raise ParseError(f"{self.where(node)}: the operator {_describe(node.op)} "
                             "is not allowed; use + - * / ** (or ^)")
        left = self.poly(node.left, depth + 1)
        right = self.poly(node.right, depth + 1)
        if op is ast.Add or op is ast.Sub:
            sign = 1 if op is ast.Add else -1
            out = dict(left)
            for e, c in right.items():
                out[e] = out.get(e, 0) + sign * c
            return {e: c for e, c in out.items() if c}
        if op is ast.Mult:
            return self.multiply(node, left, right)
        if op is ast.Div:
            if not self.is_const(right):
                raise ParseError(f"{self.where(node)}: dividing by an expression in "
                                 f"{self.variables()} is not allowed: {self.polynomial_only()}, "
                                 "so divide only by numbers")
            if not right:
                raise ParseError(f"{self.where(node)}: division by zero")
            r = self.value(right)
            return self.checked(node, {e: c / r for e, c in left.items()})
        return self.power_poly(node, left, right)

    def power_poly(self, node: ast.BinOp, base: dict, exponent: dict) -> dict:
        n = self.value(exponent)
        if not self.is_const(exponent) or n.denominator != 1:
            raise ParseError(f"{self.where(node)}: exponents must be whole numbers "
                             f"(write sqrt(...) for a square root)")
        n = self.bounded_exponent(node, int(n))
        if self.is_const(base):
            b = self.value(base)
            if b == 0 and n < 0:
                raise ParseError(f"{self.where(node)}: division by zero (0 to a negative power)")
            digits = max(len(str(abs(b.numerator))), len(str(b.denominator)))
            if digits * abs(n) > MAX_RESULT_DIGITS:
                raise ParseError(f"{self.where(node)}: the result would have about "
                                 f"{digits * abs(n)} digits (the limit is {MAX_RESULT_DIGITS})")
            return self.const(b**n)
        if n < 0:
            raise ParseError(f"{self.where(node)}: a negative power of an expression in "
                             f"{self.variables()} divides by it, which is not allowed: "
                             f"{self.polynomial_only()}")
        if self.degree(base) * n > MAX_DEGREE:
            raise ParseError(f"{self.where(node)}: the expression's degree would be "
                             f"{self.degree(base) * n}, more than {MAX_DEGREE}")
        result, square = self.const(Fraction(1)), base
        while n:
            if n & 1:
                result = self.multiply(node, result, square)
            n >>= 1
            if n:
                square = self.multiply(node, square, square)
        return result

    def multiply(self, node: ast.AST, a: dict, b: dict) -> dict:
        if self.degree(a) + self.degree(b) > MAX_DEGREE:
            raise ParseError(f"{self.where(node)}: the expression's degree would be "
                             f"{self.degree(a) + self.degree(b)}, more than {MAX_DEGREE}")
        cost = len(a) * len(b)
        if self.products + cost > MAX_TERM_PRODUCTS:
            raise ParseError(f"{self.where(node)}: multiplying this expression out would take "
                             f"more than {MAX_TERM_PRODUCTS:,} products of terms; simplify it")
        self.products += cost
        out: dict = {}
        for ea, ca in a.items():
            for eb, cb in b.items():
                e = tuple(i + j for i, j in zip(ea, eb))
                out[e] = out.get(e, 0) + ca * cb
        return self.checked(node, {e: c for e, c in out.items() if c})

    def checked(self, node: ast.AST, poly: dict) -> dict:
        for c in poly.values():
            if max(c.numerator.bit_length(), c.denominator.bit_length()) > MAX_RESULT_BITS:
                raise ParseError(f"{self.where(node)}: a coefficient with more than "
                                 f"{MAX_RESULT_DIGITS} digits")
        return poly


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
