"""The walker for expression answers: polynomials with rational coefficients in the
question's variables, built as {exponents: Fraction} with every cost known in advance
(see parse.py for the limits)."""
from __future__ import annotations

import ast
from fractions import Fraction
from math import isqrt

import sympy as sp

from grader.problems.parse import (CONSTANTS, FUNCTIONS, MAX_AST_DEPTH, MAX_DEGREE,
                                   MAX_RESULT_BITS, MAX_RESULT_DIGITS, MAX_TERM_PRODUCTS,
                                   ParseError)
from grader.problems.parse_numbers import NumberWalker, _describe


class PolynomialWalker(NumberWalker):
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

    # The array code of NumberWalker calls scalar() for every entry.
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
