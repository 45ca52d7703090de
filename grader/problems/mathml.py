"""The LaTeX of the statements' formulas as MathML Core, which browsers draw natively
(Chromium 109+, Firefox, Safari): typeset mathematics with no script and no network.

    to_mathml(r"\\partial \\mathrm{loss} / \\partial W_1", display=False) -> '<math ...>...</math>'

Only the subset the templates write is understood, with TeX's meaning:

    numbers 0.25, letters (each one an italic identifier), operators + - = < > / , ; : | ( ) [ ]
    x_i  x^2  x_i^2  x_{k-1}  f'        sub- and superscripts (one token, or a {group})
    \\frac{a}{b}  \\sqrt{x}  \\hat{x}  \\bar{x}    fractions, roots, accents
    \\alpha ... \\omega, \\Gamma ... \\Omega      Greek letters (capitals upright)
    \\partial \\nabla \\infty \\ell              symbols
    \\cdot \\times \\odot \\pm \\leftarrow \\gets \\rightarrow \\to \\le \\ge \\ne \\approx \\in \\mid \\|
    \\sum \\prod (with limits)  \\log \\exp \\min \\max  \\operatorname{name}  \\mathrm{word}  \\text{words}
    \\dfrac (a display-size fraction)  \\_ inside \\mathrm{...} and \\text{...}
    \\left( ... \\right)   \\, \\; \\quad  \\{ \\}  \\ldots \\cdots \\top

A minus sign that starts a term (at the start, or after an operator, a relation, a comma
or an opening bracket) is a sign, not a subtraction: before a number it becomes part of
the number, so "[1, -0.5]" gives <mn>−0.5</mn>, not a spaced-out "− 0.5". Templates
never write "W - -2": their filters (render.tex_minus, tex_plus) fold the signs first.

Anything else raises MathError with the formula and what was not understood; every
character of the input reaches the output escaped.
"""
from __future__ import annotations

import re
from functools import lru_cache
from html import escape


class MathError(ValueError):
    """A formula outside the subset (the message names the formula and the problem)."""


GREEK = {name: chr(code) for name, code in (
    ("alpha", 0x3B1), ("beta", 0x3B2), ("gamma", 0x3B3), ("delta", 0x3B4), ("epsilon", 0x3F5),
    ("varepsilon", 0x3B5), ("zeta", 0x3B6), ("eta", 0x3B7), ("theta", 0x3B8), ("iota", 0x3B9),
    ("kappa", 0x3BA), ("lambda", 0x3BB), ("mu", 0x3BC), ("nu", 0x3BD), ("xi", 0x3BE),
    ("pi", 0x3C0), ("rho", 0x3C1), ("sigma", 0x3C3), ("tau", 0x3C4), ("upsilon", 0x3C5),
    ("phi", 0x3D5), ("varphi", 0x3C6), ("chi", 0x3C7), ("psi", 0x3C8), ("omega", 0x3C9))}
CAPITAL_GREEK = {name: chr(code) for name, code in (
    ("Gamma", 0x393), ("Delta", 0x394), ("Theta", 0x398), ("Lambda", 0x39B), ("Xi", 0x39E),
    ("Pi", 0x3A0), ("Sigma", 0x3A3), ("Phi", 0x3A6), ("Psi", 0x3A8), ("Omega", 0x3A9))}
SYMBOLS = {"partial": "\u2202", "infty": "\u221E", "ell": "\u2113"}
UPRIGHT_SYMBOLS = {"nabla": "\u2207", "top": "\u22A4"}
# command -> (character, kind); kinds: bin(ary), rel(ation), open, close, punct
OPERATORS = {
    "cdot": ("\u22C5", "bin"), "times": ("\u00D7", "bin"), "odot": ("\u2299", "bin"),
    "pm": ("\u00B1", "bin"), "leftarrow": ("\u2190", "rel"), "gets": ("\u2190", "rel"),
    "rightarrow": ("\u2192", "rel"), "to": ("\u2192", "rel"), "le": ("\u2264", "rel"),
    "leq": ("\u2264", "rel"), "ge": ("\u2265", "rel"), "geq": ("\u2265", "rel"),
    "ne": ("\u2260", "rel"), "neq": ("\u2260", "rel"), "approx": ("\u2248", "rel"),
    "in": ("\u2208", "rel"), "mid": ("\u2223", "rel"), "|": ("\u2016", "fence"),
    "{": ("{", "open"), "}": ("}", "close"), "ldots": ("\u2026", "ord"),
    "dots": ("\u2026", "ord"), "cdots": ("\u22EF", "ord")}
LARGE = {"sum": "\u2211", "prod": "\u220F"}
FUNCTIONS = ("log", "exp", "min", "max", "ln")
SPACES = {",": "0.1667em", ":": "0.2222em", ";": "0.2778em", "quad": "1em", "qquad": "2em"}
ACCENTS = {"hat": "^", "bar": "\u00AF", "tilde": "~"}
CHARS = {"+": "bin", "-": "bin", "*": "bin", "/": "ord", "=": "rel", "<": "rel", ">": "rel",
         ",": "punct", ";": "punct", ":": "rel", "!": "ord", ".": "ord", "|": "fence",
         "(": "open", "[": "open", ")": "close", "]": "close"}
MO_TEXT = {"-": "\u2212", "*": "\u2217"}

_TOKEN = re.compile(r"\\(text|mathrm|operatorname)\s*\{((?:[^{}\\$]|\\_)*)\}|\\([A-Za-z]+|.)"
                    r"|(\d+(?:\.\d+)?|\.\d+)|([A-Za-z])|(\s+)|(.)", re.S)


def to_mathml(tex: str, display: bool = False) -> str:
    """The formula as a <math> element (display: a block of its own)."""
    return _convert(tex, display)


@lru_cache(maxsize=4096)
def _convert(tex: str, display: bool) -> str:
    body = _Parser(tex).parse()
    attrs = ' display="block"' if display else ""
    return (f"<math{attrs}><semantics><mrow>{body}</mrow>"
            f'<annotation encoding="application/x-tex">{escape(tex)}</annotation></semantics></math>')


class _Parser:
    def __init__(self, tex: str):
        self.tex = tex
        self.tokens = []                      # (kind, value)
        for m in _TOKEN.finditer(tex):
            named, arg, cmd, num, letter, space, other = m.groups()
            if space:
                continue
            if named is not None:
                self.tokens.append((named, arg))
            elif cmd is not None:
                self.tokens.append(("cmd", cmd))
            elif num is not None:
                self.tokens.append(("num", num))
            elif letter is not None:
                self.tokens.append(("letter", letter))
            elif other in "{}^_'":
                self.tokens.append((other, other))
            elif other in CHARS:
                self.tokens.append(("char", other))
            else:
                self.fail(f"the character {other!r} (U+{ord(other):04X}) is not in the subset: "
                          "write it as a LaTeX command (\\cdot, \\partial, ...) or outside the $...$")
        self.i = 0

    def fail(self, why: str):
        raise MathError(f"formula ${self.tex}$: {why}")

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else (None, None)

    def take(self):
        tok = self.peek()
        self.i += 1
        return tok

    def parse(self) -> str:
        out = self.row(stop=None)
        if self.i < len(self.tokens):
            self.fail(f"an unmatched {self.peek()[1]!r}")
        return out

    # A row: atoms with their scripts, until `stop` ('}' or 'right') or the end.
    def row(self, stop) -> str:
        parts: list[str] = []
        prev = None                           # kind of the last atom: None at the start
        while True:
            kind, value = self.peek()
            if kind is None:
                if stop == "}":
                    self.fail("a { that is never closed")
                if stop == "right":
                    self.fail("a \\left without its \\right")
                break
            if kind == "}":
                if stop != "}":
                    self.fail("a } that closes nothing")
                break
            if kind == "cmd" and value == "right":
                if stop != "right":
                    self.fail("a \\right without its \\left")
                break
            if kind in ("^", "_", "'") and not parts:
                self.fail(f"{value} with nothing before it")
            signed = kind == "char" and value in "+-" and prev in (None, "bin", "rel", "punct", "open")
            if signed and self.tokens[self.i + 1:self.i + 2] and self.tokens[self.i + 1][0] == "num":
                self.take()
                number = self.take()[1]
                atom, akind = f"<mn>{'−' if value == '-' else '+'}{number}</mn>", "ord"
            elif signed:
                self.take()
                atom, akind = f'<mo form="prefix">{MO_TEXT.get(value, value)}</mo>', "open"
            else:
                atom, akind = self.atom()
            parts.append(self.scripts(atom))
            if akind != "space":              # spacing is transparent to the sign rule
                prev = akind
        return "".join(parts)

    def group(self) -> str:
        """A {group} (as one mrow) or a single atom, as the argument of a command."""
        kind, value = self.peek()
        if kind == "{":
            self.take()
            inner = self.row(stop="}")
            self.take()
            return f"<mrow>{inner}</mrow>"
        if kind is None or kind in ("}", "^", "_", "'"):
            self.fail("a command or script without its argument")
        if kind == "num" and len(value) > 1:
            self.fail(f"the script or argument {value} needs braces: {{{value}}} "
                      f"(TeX would take only its first digit)")
        atom, _ = self.atom()
        return atom

    def scripts(self, base: str) -> str:
        sub = sup = None
        primes = 0
        large = base.startswith("<mo largeop") or base.startswith('<mo movablelimits')
        while True:
            kind, _ = self.peek()
            if kind == "_" and sub is None:
                self.take()
                sub = self.group()
            elif kind == "^" and sup is None:
                self.take()
                sup = self.group()
            elif kind == "'":
                self.take()
                primes += 1
            elif kind in ("_", "^"):
                self.fail(f"a double {kind}: group the script in braces")
            else:
                break
        if primes:
            mark = f"<mo>{'′' * primes}</mo>"
            sup = mark if sup is None else f"<mrow>{mark}{sup}</mrow>"
        if sub is None and sup is None:
            return base
        if large:
            if sub is not None and sup is not None:
                return f"<munderover>{base}{sub}{sup}</munderover>"
            return f"<munder>{base}{sub}</munder>" if sub is not None else f"<mover>{base}{sup}</mover>"
        if sub is not None and sup is not None:
            return f"<msubsup>{base}{sub}{sup}</msubsup>"
        return f"<msub>{base}{sub}</msub>" if sub is not None else f"<msup>{base}{sup}</msup>"

    def atom(self) -> tuple[str, str]:
        """One atom (MathML) and its kind, for the sign rule."""
        kind, value = self.take()
        if kind == "num":
            return f"<mn>{value}</mn>", "ord"
        if kind == "letter":
            return f"<mi>{value}</mi>", "ord"
        if kind == "char":
            k = CHARS[value]
            text = escape(MO_TEXT.get(value, value))
            if k == "fence":
                return f'<mo stretchy="false">{text}</mo>', "ord"
            if k in ("open", "close"):
                return f'<mo stretchy="false">{text}</mo>', k
            return f"<mo>{text}</mo>", k
        if kind == "{":
            inner = self.row(stop="}")
            self.take()
            return f"<mrow>{inner}</mrow>", "ord"
        if kind == "cmd":
            return self.command(value)
        if kind == "text":
            text = value.replace("\\_", "_").replace(" ", "\u00A0")
            return f"<mtext>{escape(text)}</mtext>", "ord"
        if kind in ("mathrm", "operatorname"):
            text = value.strip().replace("\\_", "_")
            if not re.fullmatch(r"[A-Za-z0-9_]+", text):
                self.fail(f"\\{kind}{{{value}}} holds one word of letters and digits")
            variant = ' mathvariant="normal"' if len(text) == 1 else ""
            return f"<mi{variant}>{text}</mi>", "ord"
        self.fail(f"{value!r} is not expected here")

    def command(self, name: str) -> tuple[str, str]:
        if name in GREEK:
            return f"<mi>{GREEK[name]}</mi>", "ord"
        if name in CAPITAL_GREEK:
            return f'<mi mathvariant="normal">{CAPITAL_GREEK[name]}</mi>', "ord"
        if name in SYMBOLS:
            return f"<mi>{SYMBOLS[name]}</mi>", "ord"
        if name in UPRIGHT_SYMBOLS:
            return f'<mi mathvariant="normal">{UPRIGHT_SYMBOLS[name]}</mi>', "ord"
        if name in OPERATORS:
            char, kind = OPERATORS[name]
            if kind == "fence":
                return f'<mo stretchy="false">{escape(char)}</mo>', "ord"
            if kind in ("open", "close"):
                return f'<mo stretchy="false">{escape(char)}</mo>', kind
            return f"<mo>{escape(char)}</mo>", kind
        if name in LARGE:
            return f'<mo largeop="true" movablelimits="true">{LARGE[name]}</mo>', "bin"
        if name in FUNCTIONS:
            return f"<mi>{name}</mi>", "ord"
        if name in SPACES:
            return f'<mspace width="{SPACES[name]}"></mspace>', "space"
        if name in ("frac", "dfrac"):
            num, den = self.group(), self.group()
            if name == "dfrac":
                return f'<mfrac displaystyle="true">{num}{den}</mfrac>', "ord"
            return f"<mfrac>{num}{den}</mfrac>", "ord"
        if name == "sqrt":
            if self.peek() == ("char", "["):
                self.fail("\\sqrt[n]{...} is not in the subset")
            return f"<msqrt>{self.group()}</msqrt>", "ord"
        if name in ACCENTS:
            return (f'<mover accent="true">{self.group()}<mo stretchy="false">'
                    f"{escape(ACCENTS[name])}</mo></mover>"), "ord"
        if name == "left":
            opening = self.delimiter("left")
            inner = self.row(stop="right")
            self.take()
            closing = self.delimiter("right")
            return f"<mrow>{opening}{inner}{closing}</mrow>", "ord"
        self.fail(f"the command \\{name} is not in the subset (see grader/problems/mathml.py)")

    def delimiter(self, side: str) -> str:
        kind, value = self.take()
        if kind == "char" and CHARS.get(value) in ("open", "close", "fence"):
            return f'<mo fence="true" stretchy="true">{escape(value)}</mo>'
        if kind == "cmd" and value in ("{", "}", "|"):
            return f'<mo fence="true" stretchy="true">{escape(OPERATORS[value][0])}</mo>'
        if (kind, value) == ("char", "."):
            return ""
        self.fail(f"\\{side} needs a bracket after it")
