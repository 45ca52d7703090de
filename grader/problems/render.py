"""Render a student's set as Markdown, HTML and a Jupyter notebook, plus the blank
answers file and the instructor's key rows.

Statements are jinja2 templates under grader/problems/templates/ that write Markdown.
The HTML page renders the same Markdown through a small converter that knows only what
the templates use (paragraphs, fenced code, lists, `code`, **bold**, $maths$ and $$maths$$
blocks) and escapes everything else; the page template itself autoescapes.

Formulas are LaTeX between dollars. The Markdown and the notebook keep them so (Jupyter
typesets them with the MathJax it bundles); the HTML page gets them as MathML, converted
here by grader/problems/mathml.py, which browsers draw natively: no script, no network.
A formula outside mathml.py's subset stops generation with the template and the formula. Text from the roster (names)
is escaped in every format, since a notebook's Markdown cells render HTML.

All output is a pure function of (student, variant): no dates, no random cell ids, no
float formatting. Regenerating a set gives the same bytes.
"""
from __future__ import annotations

import html
import re
from functools import lru_cache
from pathlib import Path

import jinja2
import sympy as sp
from markupsafe import Markup, escape

from grader.problems import notebook_json
from grader.problems.mathml import MathError, to_mathml
from grader.problems.core import (NON_NUMERIC, TEXT, Instance, decimal30, fmt, fmt_exact,
                                  fmt_mat, fmt_value, fmt_vec)

TEMPLATES = Path(__file__).parent / "templates"


def _vec1(x) -> str:
    return "[" + fmt(x) + "]"


def minus(x) -> str:
    """'− 3' for x = 3 and '+ 4.5' for x = -4.5: 'W {{ c | minus }}' never prints 'W − -4.5'."""
    x = sp.Integer(x) if isinstance(x, int) else x
    return f"− {fmt(x)}" if x >= 0 else f"+ {fmt(-x)}"


def tex_minus(x) -> str:
    """minus() for a formula: '- 3' for 3 and '+ 4.5' for -4.5 (ASCII signs: LaTeX)."""
    return minus(x).replace("−", "-")


def tex_plus(x) -> str:
    """plus() for a formula: '+ 3' for 3 and '- 4.5' for -4.5."""
    return plus(x).replace("−", "-")


def plus(x) -> str:
    """'+ 3' for x = 3 and '− 4.5' for x = -4.5."""
    x = sp.Integer(x) if isinstance(x, int) else x
    return f"+ {fmt(x)}" if x >= 0 else f"− {fmt(-x)}"


def article(n) -> str:
    """'a' or 'an' before a number read aloud: an 8-layer, an 11-layer, an 18-layer,
    an 80-layer, an 800-layer, a 5-layer, a 100-layer."""
    digits = str(int(n))
    if digits.startswith("8"):
        return "an"
    if len(digits) % 3 == 2 and digits[:2] in ("11", "18"):    # eleven, eighteen (thousand)
        return "an"
    return "a"


def md_escape(text: str) -> str:
    """Roster text inside Markdown: HTML-escaped, and Markdown's own marks neutralized."""
    text = html.escape(str(text), quote=True)
    return re.sub(r"([\\`*_{}\[\]#|$])", r"\\\1", text)


@lru_cache(maxsize=None)
def _env(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             autoescape=autoescape, undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, trim_blocks=False)
    env.filters.update(num=fmt, vec=fmt_vec, mat=fmt_mat, vec1=_vec1, md=md_escape,
                       markdown=markdown_to_html, article=article,
                       minus=minus, plus=plus, tex_minus=tex_minus, tex_plus=tex_plus)
    return env


def statement(inst: Instance) -> str:
    """The Markdown statement of one problem instance."""
    if not inst.statement:
        template = _env(False).get_template(inst.problem.template)
        inst.statement = template.render(p=inst.params).strip() + "\n"
    return inst.statement


# ------------------------------------------------------------ Markdown subset -> HTML
_INLINE_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
# Inline maths: $...$ (no $ inside; \$ is a literal dollar). Display maths is a block of
# lines between two lines that are "$$", or one line "$$ ... $$".
_MATH = re.compile(r"(?<!\\)\$([^$]+?)(?<!\\)\$")


def _math(tex: str, display: bool, where: str) -> str:
    try:
        out = to_mathml(tex, display)
    except MathError as e:
        raise MathError(f"{where or 'a statement'}: {e}") from None
    return f'<div class="math-display">{out}</div>' if display else out


def _text(text: str, where: str) -> str:
    """Prose outside code spans: $maths$ to MathML, the rest escaped, **bold** marked
    (also around a formula: each formula is held out as a placeholder meanwhile)."""
    maths: list[str] = []

    def hold(m) -> str:
        maths.append(_math(m.group(1), False, where))
        return f"\x00{len(maths) - 1}\x00"

    held = _MATH.sub(hold, text.replace("\x00", ""))
    if re.search(r"(?<!\\)\$", held):
        raise MathError(f"{where or 'a statement'}: a $ that opens no formula or closes none, "
                        f"in {text!r} (write \\$ for a dollar sign)")
    out = _BOLD.sub(r"<strong>\1</strong>", str(escape(held))).replace("\\$", "$")
    return re.sub("\x00(\\d+)\x00", lambda m: maths[int(m.group(1))], out)


def _inline(text: str, where: str = "") -> str:
    """Escape, then turn `code`, $maths$ and **bold** into tags (only on escaped text)."""
    out, pos = [], 0
    for m in _INLINE_CODE.finditer(text):
        out.append(_text(text[pos:m.start()], where))
        out.append(f"<code>{escape(m.group(1))}</code>")
        pos = m.end()
    out.append(_text(text[pos:], where))
    return "".join(out)


def markdown_to_html(text: str, where: str = "") -> Markup:
    """The Markdown our templates write, as safe HTML; `where` (the template) names the
    statement in the MathError of a formula outside mathml.py's subset."""
    html_out: list[str] = []
    para: list[str] = []
    list_tag: str | None = None
    lines = text.split("\n")

    def flush_para():
        if para:
            html_out.append("<p>" + _inline(" ".join(para), where) + "</p>")
            para.clear()

    def close_list():
        nonlocal list_tag
        if list_tag:
            html_out.append(f"</{list_tag}>")
            list_tag = None

    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            flush_para()
            close_list()
            block = []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                block.append(lines[i])
                i += 1
            html_out.append("<pre>" + str(escape("\n".join(block))) + "</pre>")
        elif line.strip().startswith("$$"):
            flush_para()
            close_list()
            block = [line.strip()[2:]]
            while not (block[-1].endswith("$$") and (len(block) > 1 or block[0] != "")):
                i += 1
                if i >= len(lines):
                    raise MathError(f"{where or 'a statement'}: a $$ block that is never closed")
                block.append(lines[i].strip())
            tex = " ".join(block).strip().removesuffix("$$").strip()
            html_out.append(_math(tex, True, where))
        elif re.match(r"\s*(- |\d+\. )", line):
            flush_para()
            tag = "ul" if line.lstrip().startswith("- ") else "ol"
            if list_tag != tag:
                close_list()
                html_out.append(f"<{tag}>")
                list_tag = tag
            item = re.sub(r"^\s*(- |\d+\. )", "", line)
            # Continuation lines of a list item are indented.
            while i + 1 < len(lines) and lines[i + 1].startswith("  ") and lines[i + 1].strip():
                i += 1
                item += " " + lines[i].strip()
            html_out.append("<li>" + _inline(item, where) + "</li>")
        elif not line.strip():
            flush_para()
            close_list()
        else:
            close_list()
            para.append(line.strip())
        i += 1
    flush_para()
    close_list()
    return Markup("\n".join(html_out))


# ------------------------------------------------------------------- tolerances
def tolerance_text(part) -> str:
    """What the grader accepts for this part, and the precision that is sure to pass:
    'exact', '|yours − key| ≤ max(0.000001, 0.001·|key|): 4 significant digits are
    enough', '|yours − key| ≤ 0.000000719: give at least 7 decimals'."""
    return _tolerance_text(part.kind, part.tol, tuple(part.symbols))


@lru_cache(maxsize=None)
def _tolerance_text(kind: str, tol, symbols: tuple[str, ...]) -> str:
    """tolerance_text by what it depends on: a few hundred distinct values for a class,
    where it was computed for every part of every student in every format."""
    from grader.problems.marking import SAMPLE_POINTS, is_exact
    if kind == TEXT:
        return "graded by your instructor"
    if kind == "choice":
        return "one of the words listed"
    if kind in NON_NUMERIC:
        return "exact"
    if is_exact(tol):
        return "exact: the same polynomial (any arrangement)" if kind == "expression" else "exact"
    rule = tol.describe().replace("<=", "≤").replace("yours - key", "yours − key")
    if kind == "expression":
        points = ", ".join(fmt(t) for t in SAMPLE_POINTS)
        return f"{rule} at each of {', '.join(symbols)} = {points}"
    return f"{rule}: {precision_advice(tol)}"


def precision_advice(tol) -> str:
    """The precision that always passes. A relative tolerance r: rounding to s significant
    digits errs by at most 5·10^-s relative, so s is the least with 5·10^-s ≤ r. An
    absolute one a: rounding to n decimals errs by at most 5·10^-(n+1), so n is the least
    with 5·10^-(n+1) ≤ a."""
    if tol.rel > 0:
        s = 1
        while 5 * sp.Rational(1, 10**s) > tol.rel:
            s += 1
        return f"{s} significant digits are enough"
    n = 0
    while 5 * sp.Rational(1, 10 ** (n + 1)) > tol.abs:
        n += 1
    return f"give at least {n} decimals"


# ---------------------------------------------------------------------- whole sets
def _context(student, variant: str, assignment: str, instances: list[Instance]) -> dict:
    problems = []
    for n, inst in enumerate(instances, start=1):
        problems.append({"number": n, "key": inst.problem.key, "title": inst.problem.title,
                         "source": inst.problem.source, "points": inst.points,
                         "template": inst.problem.template,
                         "statement": statement(inst),
                         "parts": [{"key": inst.answer_key(p), "prompt": p.prompt,
                                    "form": p.form(), "points": p.points,
                                    "tolerance": tolerance_text(p)}
                                   for p in inst.parts]})
    return {"student": student, "variant": variant, "assignment": assignment,
            "problems": problems, "total": sum(i.points for i in instances)}


def render_markdown(student, variant, assignment, instances, ctx=None) -> str:
    ctx = ctx or _context(student, variant, assignment, instances)
    return _env(False).get_template("problem_set.md.j2").render(**ctx)


def render_html(student, variant, assignment, instances, ctx=None) -> str:
    ctx = ctx or _context(student, variant, assignment, instances)
    return _env(True).get_template("problem_set.html.j2").render(**ctx)


def render_answers(student, variant, assignment, instances, ctx=None) -> str:
    ctx = ctx or _context(student, variant, assignment, instances)
    return _env(False).get_template("answers.txt.j2").render(**ctx)


def render_all(student, variant, assignment, instances) -> dict[str, str]:
    """The four files of one student's set, by file name."""
    ctx = _context(student, variant, assignment, instances)
    args = (student, variant, assignment, instances, ctx)
    return {"problem_set.md": render_markdown(*args), "problem_set.html": render_html(*args),
            "problem_set.ipynb": render_notebook(*args),
            # The answers file goes last: its presence marks the student as done.
            "answers.txt": render_answers(*args)}


def render_notebook(student, variant, assignment, instances, ctx=None) -> str:
    """A notebook with one Markdown cell per problem and a scratch code cell after it.

    Cell ids are fixed (problem keys), so the file is the same on every run.
    """
    ctx = ctx or _context(student, variant, assignment, instances)
    head = _env(False).get_template("notebook_intro.md.j2").render(**ctx).strip()
    # Written as nbformat's v4 writer would, without importing nbformat (notebook_json.py;
    # the tests validate generated notebooks with nbformat.validate).
    cell = notebook_json.cell
    cells = [cell("markdown", head, "intro")]
    for prob in ctx["problems"]:
        title = f"## {prob['number']}. {prob['title']} ({prob['points']} points)\n\n"
        keys = "\n".join(f"- `{p['key']}`: {p['prompt']}, {p['form']} ({p['points']} "
                         f"point{'s' if p['points'] != 1 else ''}; tolerance: {p['tolerance']})"
                         for p in prob["parts"])
        cells.append(cell("markdown", title + prob["statement"] + "\n**Answers file keys:**\n\n"
                          + keys, f"{prob['key']}-statement"))
        cells.append(cell("code", f"# Scratch work for problem {prob['number']}\n",
                          f"{prob['key']}-work"))
    return notebook_json.writes(cells, {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}}) + "\n"


# ----------------------------------------------------------------------------- keys
def key_rows(student, variant: str, instances: list[Instance]) -> list[dict]:
    """One row per answer part: the instructor's key, exact and to 30 digits."""
    rows = []
    for inst in instances:
        for p in inst.parts:
            rows.append({"student_id": student.student_id, "variant": variant,
                         "answer_key": inst.answer_key(p), "kind": p.kind, "points": p.points,
                         "tolerance": "manual" if p.manual else "exact"
                         if p.kind in NON_NUMERIC else p.tol.name,
                         "answer": fmt_value(p.kind, p.answer),
                         "exact": _exact(p), "decimal": decimal30(p.answer, p.kind),
                         "rubric": "; ".join(f"{c} ({n} pt{'s' * (n != 1)})" for c, n in p.rubric),
                         "options": " | ".join(f"{chr(65 + i)}. {o}" for i, o in enumerate(p.options))})
    return rows


def _exact(part) -> str:
    if isinstance(part.answer, str) or part.kind in NON_NUMERIC:
        return fmt_value(part.kind, part.answer)
    if part.kind == "vector":
        return "[" + ", ".join(fmt_exact(x) for x in part.answer) + "]"
    if part.kind == "matrix":
        return "[" + ", ".join("[" + ", ".join(fmt_exact(x) for x in r) + "]"
                               for r in part.answer) + "]"
    return fmt_exact(part.answer)
