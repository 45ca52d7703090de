"""Typeset mathematics in the problem sets (issue 13, point 6): the LaTeX -> MathML
converter (grader/problems/mathml.py) against hand-written MathML for each construct of
its subset; its errors; and, over 200 students, every formula of every item converts,
none prints two signs in a row, and the seed's formulas reach the HTML as maths while the
Markdown and the notebook keep them as $...$ for Jupyter's MathJax.

The pages in a real browser: tests/test_problems_math_browser.py.
"""
from __future__ import annotations

import json
import re

import pytest

from grader.problems import BANK, BY_KEY, build_set
from grader.problems.core import MAX_DRAWS, Instance
from grader.problems.mathml import MathError, to_mathml
from grader.problems.render import TEMPLATES, markdown_to_html, render_all, statement
from grader.problems.roster import Student
from grader.problems.variants import Dice, student_seed, variant_id


def body(tex: str) -> str:
    """The MathML inside <math><semantics><mrow>...</mrow><annotation>."""
    m = re.fullmatch(r'<math><semantics><mrow>(.*)</mrow><annotation encoding="application/'
                     r'x-tex">(.*)</annotation></semantics></math>', to_mathml(tex), re.S)
    assert m, to_mathml(tex)
    return m.group(1)


# ------------------------------------------------------------- each construct, by hand
@pytest.mark.parametrize("tex, mathml", [
    ("x", "<mi>x</mi>"),
    ("0.25", "<mn>0.25</mn>"),
    ("2x", "<mn>2</mn><mi>x</mi>"),
    ("a + b = c", "<mi>a</mi><mo>+</mo><mi>b</mi><mo>=</mo><mi>c</mi>"),
    ("a - b", "<mi>a</mi><mo>−</mo><mi>b</mi>"),
    ("x_i", "<msub><mi>x</mi><mi>i</mi></msub>"),
    ("x^2", "<msup><mi>x</mi><mn>2</mn></msup>"),
    ("x_i^2", "<msubsup><mi>x</mi><mi>i</mi><mn>2</mn></msubsup>"),
    ("x^2_i", "<msubsup><mi>x</mi><mi>i</mi><mn>2</mn></msubsup>"),
    ("x_{k-1}", "<msub><mi>x</mi><mrow><mi>k</mi><mo>−</mo><mn>1</mn></mrow></msub>"),
    ("10^{-8}", "<msup><mn>10</mn><mrow><mn>−8</mn></mrow></msup>"),
    ("f'(x)", '<msup><mi>f</mi><mo>′</mo></msup><mo stretchy="false">(</mo><mi>x</mi>'
              '<mo stretchy="false">)</mo>'),
    (r"\frac{a}{b}", "<mfrac><mrow><mi>a</mi></mrow><mrow><mi>b</mi></mrow></mfrac>"),
    (r"\frac1x", "<mfrac><mn>1</mn><mi>x</mi></mfrac>"),
    (r"\dfrac{1}{\varepsilon}", '<mfrac displaystyle="true"><mrow><mn>1</mn></mrow><mrow>'
                                "<mi>ε</mi></mrow></mfrac>"),
    (r"\sqrt{d}", "<msqrt><mrow><mi>d</mi></mrow></msqrt>"),
    (r"\hat{m}", '<mover accent="true"><mrow><mi>m</mi></mrow><mo stretchy="false">^</mo></mover>'),
    (r"\alpha \beta \gamma \delta \mu \sigma", "<mi>α</mi><mi>β</mi><mi>γ</mi><mi>δ</mi>"
                                               "<mi>μ</mi><mi>σ</mi>"),
    (r"\varepsilon \epsilon", "<mi>ε</mi><mi>ϵ</mi>"),
    (r"\Sigma", '<mi mathvariant="normal">Σ</mi>'),
    (r"\partial \mathrm{loss} / \partial W_1",
     "<mi>∂</mi><mi>loss</mi><mo>/</mo><mi>∂</mi><msub><mi>W</mi><mn>1</mn></msub>"),
    (r"\mathrm{d}", '<mi mathvariant="normal">d</mi>'),
    (r"\mathrm{max\_norm}", "<mi>max_norm</mi>"),
    (r"a \cdot b \times c \odot d", "<mi>a</mi><mo>⋅</mo><mi>b</mi><mo>×</mo><mi>c</mi>"
                                    "<mo>⊙</mo><mi>d</mi>"),
    (r"W \leftarrow W", "<mi>W</mi><mo>←</mo><mi>W</mi>"),
    (r"x \le 0 \to y \approx z", "<mi>x</mi><mo>≤</mo><mn>0</mn><mo>→</mo><mi>y</mi>"
                                 "<mo>≈</mo><mi>z</mi>"),
    (r"\sum_j p_j", '<munder><mo largeop="true" movablelimits="true">∑</mo><mi>j</mi></munder>'
                    "<msub><mi>p</mi><mi>j</mi></msub>"),
    (r"\operatorname{softmax}(s)", '<mi>softmax</mi><mo stretchy="false">(</mo><mi>s</mi>'
                                   '<mo stretchy="false">)</mo>'),
    (r"\min(1, t)", '<mi>min</mi><mo stretchy="false">(</mo><mn>1</mn><mo>,</mo><mi>t</mi>'
                    '<mo stretchy="false">)</mo>'),
    (r"\| g \|", '<mo stretchy="false">‖</mo><mi>g</mi><mo stretchy="false">‖</mo>'),
    (r"\left( a \right)", '<mrow><mo fence="true" stretchy="true">(</mo><mi>a</mi>'
                          '<mo fence="true" stretchy="true">)</mo></mrow>'),
    (r"a \, b \qquad c", '<mi>a</mi><mspace width="0.1667em"></mspace><mi>b</mi>'
                         '<mspace width="2em"></mspace><mi>c</mi>'),
    (r"W_1, \ldots, W_{10}", "<msub><mi>W</mi><mn>1</mn></msub><mo>,</mo><mo>…</mo><mo>,</mo>"
                             "<msub><mi>W</mi><mrow><mn>10</mn></mrow></msub>"),
    (r"\text{if } j = k", "<mtext>if\u00a0</mtext><mi>j</mi><mo>=</mo><mi>k</mi>"),
    # signs: a sign starting a term belongs to its number; a subtraction stays an operator
    ("[1, -0.5, 2]", '<mo stretchy="false">[</mo><mn>1</mn><mo>,</mo><mn>−0.5</mn><mo>,</mo>'
                     '<mn>2</mn><mo stretchy="false">]</mo>'),
    ("-3", "<mn>−3</mn>"),
    ("x = -3", "<mi>x</mi><mo>=</mo><mn>−3</mn>"),
    ("-x", '<mo form="prefix">−</mo><mi>x</mi>'),
    ("(-2)^j", '<mo stretchy="false">(</mo><mn>−2</mn><msup><mo stretchy="false">)</mo>'
               "<mi>j</mi></msup>"),
    ("x - 3", "<mi>x</mi><mo>−</mo><mn>3</mn>"),
    (r"x = \, -3", '<mi>x</mi><mo>=</mo><mspace width="0.1667em"></mspace><mn>−3</mn>'),
    (r"x \, - 3", '<mi>x</mi><mspace width="0.1667em"></mspace><mo>−</mo><mn>3</mn>'),
    # everything escaped
    ("x < y", "<mi>x</mi><mo>&lt;</mo><mi>y</mi>"),
    (r"\text{<b>&}", "<mtext>&lt;b&gt;&amp;</mtext>"),
])
def test_each_construct_gives_the_hand_written_mathml(tex, mathml):
    assert body(tex) == mathml


@pytest.mark.parametrize("command, mathml", [
    (r"\bar{x}", '<mover accent="true"><mrow><mi>x</mi></mrow><mo stretchy="false">¯</mo></mover>'),
    (r"\tilde{x}", '<mover accent="true"><mrow><mi>x</mi></mrow><mo stretchy="false">~</mo></mover>'),
    (r"\nabla", '<mi mathvariant="normal">∇</mi>'), (r"\top", '<mi mathvariant="normal">⊤</mi>'),
    (r"\infty", "<mi>∞</mi>"), (r"\ell", "<mi>ℓ</mi>"),
    (r"\pm", "<mo>±</mo>"), (r"\in", "<mo>∈</mo>"), (r"\mid", "<mo>∣</mo>"),
    (r"\ne", "<mo>≠</mo>"), (r"\neq", "<mo>≠</mo>"), (r"\ge", "<mo>≥</mo>"),
    (r"\geq", "<mo>≥</mo>"), (r"\leq", "<mo>≤</mo>"), (r"\gets", "<mo>←</mo>"),
    (r"\rightarrow", "<mo>→</mo>"), (r"\cdots", "<mo>⋯</mo>"), (r"\dots", "<mo>…</mo>"),
    (r"\{", '<mo stretchy="false">{</mo>'), (r"\}", '<mo stretchy="false">}</mo>'),
    (r"\log", "<mi>log</mi>"), (r"\exp", "<mi>exp</mi>"), (r"\ln", "<mi>ln</mi>"),
    (r"\max", "<mi>max</mi>"), (r"\;", '<mspace width="0.2778em"></mspace>'),
    (r"\:", '<mspace width="0.2222em"></mspace>'), (r"\quad", '<mspace width="1em"></mspace>'),
    (r"\sum_{i=1}^n", '<munderover><mo largeop="true" movablelimits="true">∑</mo><mrow><mi>i</mi>'
                      "<mo>=</mo><mn>1</mn></mrow><mi>n</mi></munderover>"),
    (r"\prod^n", '<mover><mo largeop="true" movablelimits="true">∏</mo><mi>n</mi></mover>'),
    (r"\left\{ a \right.", '<mrow><mo fence="true" stretchy="true">{</mo><mi>a</mi></mrow>'),
    (r"\left| a \right|", '<mrow><mo fence="true" stretchy="true">|</mo><mi>a</mi>'
                         '<mo fence="true" stretchy="true">|</mo></mrow>'),
    (r"\Gamma \Delta \Omega", '<mi mathvariant="normal">Γ</mi><mi mathvariant="normal">Δ</mi>'
                              '<mi mathvariant="normal">Ω</mi>'),
    (r"\lambda \eta \theta \tau \pi \rho \phi \omega",
     "<mi>λ</mi><mi>η</mi><mi>θ</mi><mi>τ</mi><mi>π</mi><mi>ρ</mi><mi>ϕ</mi><mi>ω</mi>"),
])
def test_the_rest_of_the_subset(command, mathml):
    assert body(command) == mathml


def test_display_formulas_are_blocks_and_keep_their_tex():
    out = to_mathml(r"x < \frac{1}{2}", display=True)
    assert out.startswith('<math display="block"><semantics>')
    assert '<annotation encoding="application/x-tex">x &lt; \\frac{1}{2}</annotation>' in out
    assert not to_mathml("x").startswith('<math display')


@pytest.mark.parametrize("tex, says", [
    (r"\foo{x}", r"the command \foo is not in the subset"),
    ("x^10", "needs braces: {10}"),
    (r"\frac12", "needs braces: {12}"),
    (r"\frac{a}{b", "a { that is never closed"),
    ("a}", "a } that closes nothing"),
    ("x^", "without its argument"),
    ("^2", "with nothing before it"),
    ("x^2^3", "a double ^"),
    ("a − b", "U+2212"),
    ("a # b", "the character '#'"),
    (r"\left( a", r"a \left without its \right"),
    (r"\sqrt[3]{x}", r"\sqrt[n]{...} is not in the subset"),
    (r"\mathrm{a b}", r"holds one word"),
])
def test_anything_outside_the_subset_is_a_clear_error(tex, says):
    with pytest.raises(MathError) as e:
        to_mathml(tex)
    assert says in str(e.value) and f"${tex}$" in str(e.value), str(e.value)


def test_the_error_names_the_template_and_the_formula():
    with pytest.raises(MathError, match=r"ex9\.md\.j2: formula \$\\foo\$: the command"):
        markdown_to_html("Compute $x$ and $\\foo$.", where="ex9.md.j2")
    with pytest.raises(MathError, match=r"ex9\.md\.j2: a \$ that opens"):
        markdown_to_html("It costs $5.", where="ex9.md.j2")
    with pytest.raises(MathError, match=r"ex9\.md\.j2: a \$\$ block that is never closed"):
        markdown_to_html("$$\nx = 1\n", where="ex9.md.j2")


def test_markdown_keeps_code_and_escaped_dollars_out_of_the_maths():
    out = str(markdown_to_html(r"Price \$5, `$x$` and $y$ **bold**"))
    assert out == ("<p>Price $5, <code>$x$</code> and " + to_mathml("y") +
                   " <strong>bold</strong></p>")
    block = str(markdown_to_html("Before\n\n$$\n\\frac{a}{b}\n$$\n\nafter"))
    assert block == ("<p>Before</p>\n<div class=\"math-display\">"
                     + to_mathml(r"\frac{a}{b}", display=True) + "</div>\n<p>after</p>")
    bold = str(markdown_to_html("Compute **$x_1$** and **b**"))
    assert bold == ("<p>Compute <strong>" + to_mathml("x_1") + "</strong> and "
                    "<strong>b</strong></p>")
    one_line = str(markdown_to_html("$$x = 1$$"))
    assert one_line == '<div class="math-display">' + to_mathml("x = 1", True) + "</div>"


# --------------------------------------------------------------- every item, many students
FORMULA = re.compile(r"(?<!\\)\$\$(.+?)\$\$|(?<!\\)\$([^$]+?)(?<!\\)\$", re.S)
MATH_ELEMENT = re.compile(r"<math[ >].*?</math>", re.S)
# Two signs in a row in what the reader sees: "− −3", "+ −2", "−+1" ...
TWO_SIGNS = re.compile(r"[+\-−±]\s*[+\-−]\s*\d")


def _drawn(problem, seed) -> Instance:
    """The params one student gets (as core.make_instance draws them), without solving."""
    dice = Dice(seed, problem.key)
    for draws in range(1, MAX_DRAWS + 1):
        params = problem.generate(dice)
        if not problem.check(params):
            return Instance(problem, params, [], draws)
    raise AssertionError(f"{problem.key}: no well-posed draw")


def _seen(mathml: str) -> str:
    """The characters a <math> element shows, in order (its TeX annotation left out)."""
    shown = re.sub(r"<annotation.*?</annotation>", "", mathml, flags=re.S)
    return re.sub(r"<[^>]+>", " ", shown)


def test_every_formula_of_every_item_converts_for_200_students():
    formulas = 0
    with_maths = set()
    for i in range(200):
        seed = student_seed("sweep secret for the maths", "stage10", f"m{i:03d}")
        for problem in BANK:
            inst = _drawn(problem, seed)
            text = statement(inst)
            html = str(markdown_to_html(text, where=problem.template))  # raises on a bad one
            assert "**" not in html, problem.key
            found = FORMULA.findall(text)
            assert len(MATH_ELEMENT.findall(html)) == len(found), problem.key
            for tex in (a or b for a, b in found):
                assert not TWO_SIGNS.search(tex), (problem.key, tex)
            for element in MATH_ELEMENT.findall(html):
                assert not TWO_SIGNS.search(_seen(element)), (problem.key, element)
            formulas += len(found)
            if found:
                with_maths.add(problem.template)
    assert formulas > 200 * 80, formulas
    # every statement template with a formula in it was exercised
    templated = {p.template for p in BANK if "$" in (TEMPLATES / p.template).read_text("utf-8")}
    assert with_maths == templated and len(templated) >= 15, sorted(templated - with_maths)


def test_negative_values_print_with_one_sign():
    """ex5 with a negative centre: (W + 4.5)^2, shown as a plus and a positive number."""
    for i in range(200):
        seed = student_seed("sweep secret for the maths", "stage10", f"m{i:03d}")
        inst = _drawn(BY_KEY["ex5"], seed)
        if inst.params["c"] < 0:
            break
    else:
        pytest.fail("no student drew a negative centre: the test would prove nothing")
    text = statement(inst)
    html = str(markdown_to_html(text))
    loss = MATH_ELEMENT.findall(html)[0]
    assert "<mo>+</mo>" in loss and "<mo>−</mo>" not in loss.split("<annotation")[0], loss
    assert "(W + " in text and "(W - -" not in text


def test_the_seeds_formulas_are_maths_in_the_html_and_tex_in_the_markdown_and_notebook():
    student = Student("s001", "Ada")
    seed = student_seed("test secret", "stage10", "s001")
    files = render_all(student, variant_id(seed), "stage10", build_set(seed))
    html = files["problem_set.html"]
    maths = " ".join(MATH_ELEMENT.findall(html))
    # ∂loss/∂W₂, Adam's update with its bias corrections, LayerNorm, the softmax Jacobian
    assert "<mi>∂</mi><mi>loss</mi><mo>/</mo><mi>∂</mi><msub><mi>W</mi><mn>2</mn></msub>" in maths
    assert ('<mover accent="true"><mrow><mi>m</mi></mrow><mo stretchy="false">^</mo></mover>'
            "<mo>=</mo><mfrac><mrow><mi>m</mi></mrow><mrow><mn>1</mn><mo>−</mo><msubsup>"
            "<mi>β</mi><mn>1</mn><mi>t</mi></msubsup></mrow></mfrac>") in maths
    assert "<msqrt><mrow><mover accent=\"true\"><mrow><mi>v</mi></mrow>" in maths
    assert ("<mi>y</mi><mo>=</mo><mi>γ</mi><mo>⊙</mo><mfrac><mrow><mi>x</mi><mo>−</mo><mi>μ</mi>"
            "</mrow><mrow><mi>σ</mi></mrow></mfrac><mo>+</mo><mi>β</mi>") in maths
    assert ("<msub><mi>p</mi><mi>k</mi></msub><mo stretchy=\"false\">(</mo><msub><mi>δ</mi>"
            "<mrow><mi>j</mi><mi>k</mi></mrow></msub><mo>−</mo><msub><mi>p</mi><mi>j</mi></msub>"
            ) in maths
    # no formula left as raw TeX in the page's text (the annotations hold the TeX)
    text_only = re.sub(r"<annotation.*?</annotation>", "", html, flags=re.S)
    assert "$" not in text_only and "\\partial" not in text_only and "\\frac" not in text_only
    # the Markdown and the notebook carry the same formulas as TeX between dollars
    md = files["problem_set.md"]
    nb = "\n".join("".join(c["source"]) for c in json.loads(files["problem_set.ipynb"])["cells"])
    for tex in (r"$\hat{m} = \frac{m}{1 - \beta_1^t}", r"$\partial \mathrm{loss} / \partial W_2$",
                r"\partial p_k / \partial s_j = p_k (\delta_{jk} - p_j)$"):
        assert tex in md and tex in nb, tex
