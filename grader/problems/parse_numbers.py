"""The walker for numbers, vectors and matrices: it builds the exact sympy value of a
whitelisted expression tree node by node (see parse.py for what is accepted and the limits)."""
from __future__ import annotations

import ast
from fractions import Fraction

import sympy as sp

from grader.problems.parse import (CONSTANTS, FUNCTIONS, MAX_AST_DEPTH, MAX_DIGITS,
                                   MAX_ELEMENTS, MAX_EXP_ARGUMENT, MAX_EXPONENT,
                                   MAX_RESULT_DIGITS, Parsed, ParseError)


class NumberWalker:
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
