"""The usual ways of writing an answer, rewritten into the one syntax the walkers read.

Each rewrite is a plain text transformation of at most MAX_CHARS characters by regular
expressions without nested quantifiers (linear time), done before Python's parser sees
the text; nothing here evaluates anything. In the order applied:

    a trailing ';'              0.25;                  -> 0.25
    NumPy's array(...)          array([1., 2.])        -> [1., 2.]
    a unit after a number       237056 bytes           -> 237056     (the part's unit only;
                                                          another unit is refused, naming it)
    a decimal comma             -2,28                  -> refused: "write -2.28"
    semicolons between rows     [1, 2; 3, 4]           -> [[1, 2], [3, 4]]
                                0.2; 0.3               -> [0.2, 0.3]
    NumPy's printed arrays      [0.22 0.33 -0.85]      -> [0.22, 0.33, -0.85]
                                [[-4 -1.6] [6 2.4]]    -> [[-4, -1.6], [6, 2.4]]
    superscript powers          3x²                    -> 3x**2
    implicit products           4x, 3x**2, 2(x + 1)    -> 4*x, 3*x**2, 2*(x + 1)
                                (expression answers only, in the question's variables)

Parentheses and bare comma lists, `(1, 2)` and `1, 2`, need no rewriting: Python reads
them as tuples, which parse.py takes as vectors (tuples of tuples as matrices).
"""
from __future__ import annotations

import re

from grader.problems.parse import CONSTANTS, FUNCTIONS, THOUSANDS, ParseError

# One number as NumPy or a person prints it: 1, -0.5, 1., .5, 1.e-05, 2.5E3.
UNSIGNED = r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
NUMBER = r"[+-]?" + UNSIGNED
_NUMBER = re.compile(NUMBER)
DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+")
ARRAY_CALL = re.compile(r"(?:np\.|numpy\.)?array\((.*?)(?:,\s*dtype\s*=\s*\w+)?\)", re.S)
# A trailing run of words (searched for in the last 80 characters only, so the search
# is bounded): '237056 bytes', '1.6 MB'.
TRAILING_WORDS = re.compile(r"[A-Za-z%][A-Za-z%\s]*$")
HEAD = re.compile(r"[\d\s.,+\-*/()\[\]eE]*")

# The units a part may name, with the spellings that mean them.
UNITS = {
    "bytes": {"b", "byte", "bytes"},
    "FLOPs": {"flop", "flops"},
    "parameters": {"parameter", "parameters", "param", "params", "weights"},
    "rows": {"row", "rows"},
    "updates": {"update", "updates", "step", "steps", "iteration", "iterations"},
}
SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")
_SUPER_RUN = re.compile(r"[⁰¹²³⁴⁵⁶⁷⁸⁹]+")
_TOKEN = re.compile(rf"\s*({UNSIGNED}|[A-Za-z_]\w*|\*\*|.)", re.S)


def rewrite(text: str, symbols: tuple[str, ...] = (), unit: str = "") -> str:
    """`text` in the walkers' syntax, or a ParseError for a form we can name but not read."""
    text = re.sub(r"[\s;]+$", "", text)
    m = ARRAY_CALL.fullmatch(text)
    if m:
        text = m.group(1).strip()
    if not symbols:
        text = strip_unit(text, unit)
        refuse_decimal_comma(text)
    text = semicolons(text)
    text = numpy_print(text)
    text = _SUPER_RUN.sub(lambda m: "**" + m.group(0).translate(SUPERSCRIPTS), text)
    if symbols:
        text = implicit_products(text, symbols)
    return text


def strip_unit(text: str, unit: str) -> str:
    """Drop a trailing unit that is the part's own; refuse any other with its name."""
    body = text[:-1] if text.endswith(".") else text
    start = max(0, len(body) - 80)
    m = TRAILING_WORDS.search(body, start)
    if not m:
        return text
    head, word = body[:m.start()].strip(), m.group(0).strip()
    if not head or head[-1] not in "0123456789.])" or not HEAD.fullmatch(head) \
            or word.lower() in FUNCTIONS \
            or word.lower() in CONSTANTS or re.fullmatch(r"[eE][+-]?", word):
        return text
    spellings = UNITS.get(unit, {unit.lower()} if unit else set())
    if word.lower() in spellings:
        return head
    if unit:
        raise ParseError(f"'{word}' is not the unit of this answer: give the number of {unit}, "
                         f"alone or followed by '{unit}' (no other unit is converted)")
    raise ParseError(f"this answer has no unit: write the number alone, without '{word}'")


def refuse_decimal_comma(text: str) -> None:
    """'-2,28' is -2.28 written with a decimal comma (thousands, '102,036', are fine)."""
    if text.startswith(("[", "(")):
        return                      # [1,5] is a vector of two numbers
    for piece in re.split(r"[;\s]+", text):
        if DECIMAL_COMMA.fullmatch(piece) and not THOUSANDS.fullmatch(piece):
            raise ParseError(f"{piece!r} has a decimal comma: write a decimal point, "
                             f"{piece.replace(',', '.')} (a comma separates the entries of a "
                             f"vector: for two numbers write [{piece.replace(',', ', ')}])")


def semicolons(text: str) -> str:
    """Rows separated by ';' (MATLAB's [1, 2; 3, 4]) or entries separated by ';'."""
    if ";" not in text:
        return text
    inner, bracketed = text, False
    if text.startswith("[") and text.endswith("]") and text.count("[") == 1:
        inner, bracketed = text[1:-1], True
    if "[" in inner or "(" in inner:
        return text.replace(";", ",")
    rows = [r.strip() for r in inner.split(";")]
    if any("," in r for r in rows):
        return "[" + ", ".join(f"[{r}]" for r in rows) + "]"
    return "[" + ", ".join(rows) + "]" if bracketed or len(rows) > 1 else text


def numpy_print(text: str) -> str:
    """NumPy prints arrays with spaces between the entries and no commas."""
    if "," in text or "[" not in text:
        return text
    tokens = re.findall(r"\[|\]|[^\s\[\]]+", text)
    if not all(t in "[]" or _NUMBER.fullmatch(t) for t in tokens):
        return text
    out = []
    for prev, tok in zip([None, *tokens], tokens):
        if prev is not None and prev != "[" and tok != "]":
            out.append(", ")
        out.append(tok)
    return "".join(out)


def implicit_products(text: str, symbols: tuple[str, ...]) -> str:
    """'4x' -> '4*x', '2(x + 1)' -> '2*(x + 1)', 'x(x + 1)' -> 'x*(x + 1)', '3x**2' ->
    '3*x**2'. A product is inserted only between a number, a variable or ')' on the left
    and a variable, function or '(' on the right, where nothing else can be meant
    (a number's exponent, '2e-3', is read as one token first)."""
    values = set(symbols) | set(CONSTANTS)
    tokens, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            break
        tokens.append(m.group(1))
        pos = m.end()
    if pos < len(text) or "".join(tokens) == "":
        return text

    def kind(tok: str) -> str:
        if _NUMBER.fullmatch(tok):
            return "number"
        if tok in values:
            return "value"
        if tok in FUNCTIONS:
            return "function"
        return tok

    out, changed = [], False
    for i, tok in enumerate(tokens):
        prev = tokens[i - 1] if i else None
        if prev is not None and kind(prev) in ("number", "value", ")") \
                and kind(tok) in ("value", "function", "("):
            if kind(prev) == "number" and i >= 2 and tokens[i - 2] == "/":
                shown = "".join(tokens[max(0, i - 3):i + 1])
                raise ParseError(f"{shown!r} can be read two ways: write "
                                 f"{''.join(tokens[max(0, i - 3):i])}*{tok} or "
                                 f"{''.join(tokens[max(0, i - 3):i - 1])}({prev}*{tok})")
            out.append("*")
            changed = True
        out.append(tok)
    return " ".join(out) if changed else text
