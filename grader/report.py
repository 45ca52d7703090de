"""Report formats shared by every grader: Gradescope's results.json, a feedback page, and
a class gradebook CSV.

    report = Report(student="s001", title="Stage 10 problem set",
                    tests=[TestResult("q07.dlogits", 3.0, 4, "failed", output="[...]",
                                      checked="a vector of 4 numbers",
                                      diagnosis="entry 4: the sign is flipped",
                                      group="1. ∂loss/∂logits")],
                    execution_time=0.12, notes=[])
    write_results_json(report, "out/s001/results.json")
    write_feedback_html(report, "out/s001/feedback.html")
    write_class_csv(rows, ["student_id", "score"], "out/class.csv")

results.json follows the Gradescope autograder specification
(https://gradescope-autograders.readthedocs.io/en/latest/specs/): top-level `score`,
`execution_time` (seconds), `output`, `visibility`, `stdout_visibility` and `tests`; each
test has `name`, `score`, `max_score`, `status` ("passed" or "failed"), `output` and
`visibility` ("hidden", "after_due_date", "after_published" or "visible"), plus `tags`
when the test belongs to a group.

Student-provided text (a test's `output`) is capped at OUTPUT_CAP characters everywhere,
and the feedback page is rendered by jinja2 with autoescaping on, so nothing a student
writes becomes markup. Every file is written atomically (tt.io).
"""
from __future__ import annotations

import csv
import io
import math
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import jinja2

from tt.io import atomic_write_json, atomic_write_text

VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
STATUSES = ("passed", "failed")
OUTPUT_CAP = 4000      # characters of a test's output (student-provided text)
TEXT_CAP = 2000        # characters of the grader's own fields (checked, diagnosis)
NAME_CAP = 200
TEMPLATES = Path(__file__).parent / "templates"


_UNSAFE = ("Cc", "Cf", "Co", "Cs", "Zl", "Zp")     # controls, format (bidi overrides), private, lines


def terminal(text, keep_newlines: bool = False) -> str:
    """`text` safe to print: control and format characters (ESC, CR, bidi overrides, ...)
    written as escapes (\\x1b), so nothing a student named or printed drives the terminal."""
    text = "" if text is None else str(text)
    return "".join(c if (c == "\n" and keep_newlines) or unicodedata.category(c) not in _UNSAFE
                   else repr(c)[1:-1] if c.isascii() or len(repr(c)) > 3 else f"\\u{ord(c):04x}"
                   for c in text)


def shorten(text, cap: int) -> str:
    """At most about `cap` characters, cut at a word boundary and marked with "…"."""
    text = "" if text is None else str(text)
    if len(text) <= cap:
        return text
    cut = text[:cap]
    space = cut.rfind(" ")
    return (cut[:space] if space > cap // 2 else cut).rstrip(" ;,:") + " …"


def truncate(text: str, cap: int) -> str:
    """At most `cap` characters, with a note saying how much was cut."""
    text = "" if text is None else str(text)
    if len(text) <= cap:
        return text
    return text[:cap] + f"\n… [truncated: {len(text) - cap:,} more characters]"


@dataclass
class TestResult:
    """One graded check. `checked` says what was tested; `diagnosis` what went wrong."""
    name: str
    score: float
    max_score: float
    status: str
    output: str = ""
    visibility: str | None = None      # None: not set by the test; written as "visible", and an
    checked: str = ""                  # exporter's default applies (an explicit mark wins)
    diagnosis: str = ""
    group: str = ""
    title: str = ""                    # readable title ("Exercise 2 (linear): positions"); else name

    __test__ = False          # not a pytest test class, despite the name

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"TestResult {self.name!r}: status must be one of {STATUSES}, "
                             f"got {self.status!r}")
        if self.visibility is not None and self.visibility not in VISIBILITIES:
            raise ValueError(f"TestResult {self.name!r}: visibility must be one of "
                             f"{VISIBILITIES}, got {self.visibility!r}")
        for what in ("score", "max_score"):
            value = getattr(self, what)
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"TestResult {self.name!r}: {what} must be a finite number, "
                                 f"got {value!r}")


@dataclass
class Report:
    student: str
    title: str
    tests: list[TestResult]
    execution_time: float = 0.0
    notes: list[str] = field(default_factory=list)
    visibility: str = "visible"
    stdout_visibility: str = "hidden"
    instructor_notes: list[str] = field(default_factory=list)   # how it was graded (the sandbox):
                                                                  # never at the top of a student's view

    @property
    def score(self) -> float:
        return round(sum(t.score for t in self.tests), 4)

    @property
    def max_score(self) -> float:
        return round(sum(t.max_score for t in self.tests), 4)

    def groups(self) -> list[tuple[str, list[TestResult]]]:
        """Tests grouped by `group`, in the order the groups first appear."""
        order: dict[str, list[TestResult]] = {}
        for t in self.tests:
            order.setdefault(t.group, []).append(t)
        return list(order.items())


# ------------------------------------------------------------------ titles and folding
_WORDS = {"rel": "relative", "lr": "learning rate", "ffn": "FFN", "relu": "ReLU", "layernorm": "LayerNorm",
          "ops": "ops", "gradflow": "gradient flow", "exercise4": "exercise 4", "exercise5": "exercise 5",
          "tinygrads": "TinyGrads", "dtype": "dtype", "nan": "NaN"}


def _words(snake: str) -> str:
    return " ".join(_WORDS.get(w, w) for w in snake.split("_") if w)


def readable_title(number: int, topic: str, test: str) -> str:
    """A readable title for a hidden test: readable_title(2, "linear", "test_linear_positions")
    is "Exercise 2 (linear): positions" (the topic is not repeated)."""
    words = test.removeprefix("test_")
    if words.startswith(topic + "_"):
        words = words[len(topic) + 1:]
    what = _words(words)
    return f"Exercise {number} ({_words(topic)}): {what[:1].upper() + what[1:]}"


def title_of(t: TestResult) -> str:
    return t.title or t.name


def fold_failures(tests: list[TestResult]) -> list[tuple[TestResult, list[TestResult]]]:
    """Tests in order, each failure with the later ones that failed with the very same
    output and diagnosis: [(first, [same, ...]), ...]; a passed test stands alone."""
    folded, first = [], {}
    for t in tests:
        key = (t.output, t.diagnosis) if t.status == "failed" and (t.output or t.diagnosis) else None
        if key is not None and key in first:
            first[key][1].append(t)
            continue
        entry = (t, [])
        folded.append(entry)
        if key is not None:
            first[key] = entry
    return folded


def instructor_text(report: Report) -> str:
    """The instructor's details of a grading (the sandbox's protections...), for stdout."""
    return "\n".join(f"{terminal(report.student)}: {terminal(n)}" for n in report.instructor_notes)


# ----------------------------------------------------------------------- results.json
def _test_output(t: TestResult) -> str:
    lines = []
    if t.checked:
        lines.append("Checked: " + truncate(t.checked, TEXT_CAP))
    if t.output:
        lines.append(truncate(t.output, OUTPUT_CAP))
    if t.diagnosis:
        lines.append("Diagnosis: " + truncate(t.diagnosis, TEXT_CAP))
    return "\n".join(lines)


def _number(x: float):
    """Whole numbers as ints, so 4.0 is written 4 (Gradescope accepts both)."""
    return int(x) if float(x).is_integer() else round(float(x), 4)


def results_json(report: Report) -> dict:
    """The report as a Gradescope results.json object."""
    tests = []
    for t in report.tests:
        entry = {"name": truncate(t.name, NAME_CAP), "score": _number(t.score),
                 "max_score": _number(t.max_score), "status": t.status,
                 "output": _test_output(t), "visibility": t.visibility or "visible"}
        if t.group:
            entry["tags"] = [truncate(t.group, NAME_CAP)]
        tests.append(entry)
    summary = f"{report.title}: {_number(report.score)} / {_number(report.max_score)}"
    output = "\n".join([summary, *(shorten(n, TEXT_CAP) for n in [*report.notes, *report.instructor_notes])])
    return {"score": _number(report.score),
            "execution_time": round(float(report.execution_time), 3),
            "output": output, "visibility": report.visibility,
            "stdout_visibility": report.stdout_visibility, "tests": tests}


def summary_lines(report: Report) -> list[str]:
    """A line per exercise (points, and checks passed), as the feedback page's table."""
    rows = [(truncate(name or "Other checks", NAME_CAP), _number(sum(t.score for t in tests)),
             _number(sum(t.max_score for t in tests)), sum(t.status == "passed" for t in tests), len(tests))
            for name, tests in report.groups()]
    width = max((len(r[0]) for r in rows), default=0)
    return [f"  {name:<{width}}  {score:>5} / {most:<5}  {passed} of {total} checks passed"
            for name, score, most, passed, total in rows]


def gradescope_results(report: Report) -> dict:
    """results.json as Gradescope shows it to the student: readable test titles (the id in
    each test's extra_data), a failure repeated word for word told once (the others point
    to it), and the sandbox's details kept out of `output`, in the top-level extra_data
    that only the instructor's side stores (and in run_autograder's stdout, which Gradescope
    shows only to instructors)."""
    data = results_json(report)
    summary = f"{report.title}: {_number(report.score)} / {_number(report.max_score)}"
    data["output"] = "\n".join([summary, *summary_lines(report), *(shorten(n, TEXT_CAP) for n in report.notes)])
    if report.instructor_notes:
        data["extra_data"] = {"instructor_notes": [shorten(n, TEXT_CAP) for n in report.instructor_notes]}
    entries = {id(t): e for t, e in zip(report.tests, data["tests"])}
    for t, e in zip(report.tests, data["tests"]):
        e["name"] = truncate(title_of(t), NAME_CAP)
        e["extra_data"] = {"id": truncate(t.name, NAME_CAP)}
    for first, same in fold_failures(report.tests):
        for t in same:
            entries[id(t)]["output"] = "\n".join(
                ([f"Checked: {truncate(t.checked, TEXT_CAP)}"] if t.checked else [])
                + [f"Failed the same way as \"{title_of(first)}\" (its output says how)."])
    return data


def write_results_json(report: Report, path) -> Path:
    return atomic_write_json(path, results_json(report))


def write_gradescope_json(report: Report, path) -> Path:
    return atomic_write_json(path, gradescope_results(report))


# ---------------------------------------------------------------------- feedback page
@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                              autoescape=jinja2.select_autoescape(["html", "j2"],
                                                                  default=True),
                              undefined=jinja2.StrictUndefined)


def _page_test(t: TestResult, same: list[TestResult]) -> dict:
    return {"name": truncate(title_of(t), NAME_CAP), "status": t.status,
            "score": _number(t.score), "max_score": _number(t.max_score),
            "checked": truncate(t.checked, TEXT_CAP), "output": truncate(t.output, OUTPUT_CAP),
            "diagnosis": truncate(t.diagnosis, TEXT_CAP),
            "same": [{"name": truncate(title_of(o), NAME_CAP), "checked": truncate(o.checked, TEXT_CAP),
                      "score": _number(o.score), "max_score": _number(o.max_score)} for o in same]}


def render_feedback_html(report: Report) -> str:
    """A self-contained page: the total and a summary table (points per group), then per
    test what was checked, the score, the status, the (truncated) output and the diagnosis,
    grouped by `group`; failures repeated word for word are shown once, with the names of
    the checks that failed the same way. The page is the student's: the instructor's notes
    (the sandbox) stay in results.json, the gradebook and tt grade's output."""
    groups = []
    for n, (name, tests) in enumerate(report.groups(), 1):
        groups.append({"name": name, "anchor": f"group-{n}",
                       "score": _number(sum(t.score for t in tests)),
                       "max_score": _number(sum(t.max_score for t in tests)),
                       "passed": sum(t.status == "passed" for t in tests), "total": len(tests),
                       "tests": [_page_test(t, same) for t, same in fold_failures(tests)]})
    return _env().get_template("feedback.html.j2").render(
        student=truncate(report.student, NAME_CAP), title=truncate(report.title, NAME_CAP),
        score=_number(report.score), max_score=_number(report.max_score),
        execution_time=round(float(report.execution_time), 3),
        notes=[shorten(n, TEXT_CAP) for n in report.notes], groups=groups,
        passed=sum(t.status == "passed" for t in report.tests), total=len(report.tests),
        output_cap=OUTPUT_CAP)


def write_feedback_html(report: Report, path) -> Path:
    return atomic_write_text(path, render_feedback_html(report))


# ---------------------------------------------------------------------------- gradebook
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    """A CSV cell; text that a spreadsheet would run as a formula gets a leading '."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(_number(value)) if math.isfinite(value) else ""
    text = str(value)
    if text.startswith(FORMULA_START):
        try:
            float(text)
        except ValueError:
            return "'" + text
    return text


def write_class_csv(rows: Iterable[dict], columns: list[str], path) -> Path:
    """A gradebook: one row per dict, the given columns in order (missing cells empty)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return atomic_write_text(path, buf.getvalue())
