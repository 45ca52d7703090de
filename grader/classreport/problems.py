"""The class report of a graded problem set: `tt problems grade` writes it at the end, and
`tt report GRADES_DIR` renders it again from the data it kept.

    write_problem_report(out, students, seeds, assignment, outcomes)
        -> out/report.html, out/report_totals.png, out/report_items.png, out/report_problems.json

What it shows:
    - the distribution of totals and of each item's points (one small panel per item);
    - every part by its success rate (full marks), the lowest first;
    - for each part, the most frequent wrong answers, each named when it is one of the
      wrong answers the key knows (Part.mistakes, filled by the bank's items) or one that
      can be computed from any key: the sign flipped, a matrix transposed, the key of
      another part of the same item, the key times a constant (named when the constant is
      one of the item's whole-number parameters, such as a batch size). Sets are
      randomized, so wrong answers are grouped by what they are relative to the student's
      own key, not by their numbers; an answer none of these explains is "unrecognised"
      (grouped by value only among students who share the same key, as in variant 0).

The scores are the grader's: read from each student's results.json, never re-marked here.
Only the wrong answers' text is parsed again (grader.problems.parse: bounded, nothing
evaluated) to compare it with the variants, in forked processes when the class is large.
"""
from __future__ import annotations

import json
import multiprocessing
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from tt.io import atomic_write_json, atomic_write_text
from grader.classreport.progress import bar_for, pool_worker_init

DATA = "report_problems.json"
REPORT = "report.html"
TOTALS_PNG = "report_totals.png"
ITEMS_PNG = "report_items.png"
TOP_GROUPS = 4
MAX_FACTOR_DENOMINATOR = 1000


# ------------------------------------------------------------------ wrong answers, named
@dataclass(frozen=True)
class Variant:
    label: str
    value: object            # in the answer's own form (a number, a tuple, rows of tuples, a word)
    source: str              # "key": Part.mistakes; "generic": computed from the key
    kind: str = ""           # the form of `value` when it is not the part's own (another part's key)


def _shape(kind, value):
    from grader.problems.core import MATRIX, VECTOR
    if kind == VECTOR:
        return (len(value),)
    if kind == MATRIX:
        return (len(value), len(value[0]))
    return ()


def generic_variants(inst, part) -> list[Variant]:
    """Wrong answers any key gives: the sign flipped, the transpose, another part's key."""
    from grader.problems.core import EXPRESSION, MATRIX, VECTOR
    out = []
    if part.kind not in (EXPRESSION, MATRIX, VECTOR, "number", "integer"):
        return out
    if part.kind == EXPRESSION:
        return [Variant("the sign flipped", -part.answer, "generic")] if part.answer != 0 else []
    flat = _entries(part.kind, part.answer)
    if any(x != 0 for x in flat):
        neg = (tuple(tuple(-x for x in row) for row in part.answer) if part.kind == MATRIX else
               tuple(-x for x in part.answer) if part.kind == VECTOR else -part.answer)
        out.append(Variant("the sign flipped", neg, "generic"))
    if part.kind == MATRIX:
        rows = part.answer
        t = tuple(tuple(rows[i][j] for i in range(len(rows))) for j in range(len(rows[0])))
        if t != tuple(tuple(r) for r in rows):
            out.append(Variant("the matrix transposed", t, "generic"))
    for other in inst.parts:
        if other is not part and other.kind in ("number", "integer", "vector", "matrix") \
                and len(_entries(other.kind, other.answer)) == len(flat) and other.answer != part.answer:
            out.append(Variant(f"the answer to {inst.answer_key(other)}", other.answer, "generic", other.kind))
    return out


def _entries(kind, value) -> list:
    from grader.problems.core import MATRIX, VECTOR
    if kind == MATRIX:
        return [x for row in value for x in row]
    if kind == VECTOR:
        return list(value)
    return [value]


def _matches(part, parsed, kind, value) -> bool:
    """Whether a parsed answer equals `value` (of `kind`'s form) within the part's tolerance."""
    from grader.problems.marking import _close, _reshape
    from grader.problems.parse import Parsed
    want = _shape(kind, value)
    got = _reshape(parsed, want) if isinstance(parsed, Parsed) else None
    keys = _entries(kind, value)
    return got is not None and len(got) == len(keys) and all(_close(y, k, part) for y, k in zip(got, keys))


def _factor(part, parsed, params) -> str:
    """'the key times 4 (B = 4)' when every entry is the key times one constant."""
    from grader.problems.marking import _close, _expected_shape, _reshape
    got = _reshape(parsed, _expected_shape(part))
    keys = _entries(part.kind, part.answer)
    if got is None or not any(k != 0 for k in keys):
        return ""
    ratio = next(y / k for y, k in zip(got, keys) if k != 0)
    if ratio == 0 or ratio == 1 or ratio == -1 or getattr(ratio, "free_symbols", None):
        return ""
    if not all(_close(y, ratio * k, part) for y, k in zip(got, keys)):
        return ""
    if not getattr(ratio, "is_Rational", False):
        return ""                    # an irrational factor is not a slip anyone makes
    r = Fraction(int(ratio.p), int(ratio.q))
    if r.denominator > MAX_FACTOR_DENOMINATOR or abs(r.numerator) > 10**6:
        return ""
    text = str(r.numerator) if r.denominator == 1 else f"{r.numerator}/{r.denominator}"
    names = [name for name, v in sorted(params.items())
             if isinstance(v, int) and not isinstance(v, bool) and v > 1 and (r == v or r == Fraction(1, v))]
    return f"the key times {text}" + (f" ({', '.join(f'{n} = {params[n]}' for n in names)})" if names else "")


def classify(inst, part, text: str) -> tuple[str, str]:
    """(group, source) of a wrong answer: source "key", "generic", "shape", "unreadable" or
    "value" (unrecognised: the group is then the answer's value beside the key's)."""
    from grader.problems.core import CHOICE, EXPRESSION, fmt_value
    from grader.problems.marking import _expected_shape, _reshape, normalize_word
    from grader.problems.parse import ParseError, parse_answer
    from grader.problems import choices
    if part.kind in choices.KINDS:
        if part.manual:
            return "graded by hand", "manual"
        return f"'{text.strip()[:40]}' for '{fmt_value(part.kind, part.answer)}'", "value"
    if part.kind == CHOICE:
        word = normalize_word(text)
        for label, value in part.mistakes:
            if normalize_word(str(value)) == word:
                return label, "key"
        return f"'{word[:40]}' for '{part.answer}'", "value"
    try:
        parsed = parse_answer(text, part.symbols if part.kind == EXPRESSION else ())
    except (ParseError, RecursionError, MemoryError, ValueError):
        return "could not be read", "unreadable"
    variants = [Variant(label, value, "key") for label, value in part.mistakes] + generic_variants(inst, part)
    if part.kind == EXPRESSION:
        import sympy as sp
        for v in variants:
            if parsed.shape == () and sp.expand(parsed.value - v.value) == 0:
                return v.label, v.source
        return f"{text.strip()[:60]} for {fmt_value(part.kind, part.answer)}", "value"
    for v in variants:
        try:
            if _matches(part, parsed, v.kind or part.kind, v.value):
                return v.label, v.source
        except (TypeError, ValueError, IndexError, AttributeError):
            continue                 # a known mistake in another form than the key's
    if _reshape(parsed, _expected_shape(part)) is None:
        return "the wrong shape", "shape"
    factor = _factor(part, parsed, inst.params)
    if factor:
        return factor, "generic"
    return f"{_shown(parsed)} for {fmt_value(part.kind, part.answer)}", "value"


def _shown(parsed) -> str:
    from grader.problems.core import fmt
    def one(x):
        try:
            return fmt(x) if x.is_Rational else str(x)
        except Exception:            # noqa: BLE001
            return str(x)
    if parsed.shape == ():
        return one(parsed.value)[:60]
    if len(parsed.shape) == 1:
        return ("[" + ", ".join(one(x) for x in parsed.value) + "]")[:120]
    return ("[" + ", ".join("[" + ", ".join(one(x) for x in r) + "]" for r in parsed.value) + "]")[:160]


# ------------------------------------------------------------------ one student, in a worker
def _answer_text(message: str) -> str:
    head, sep, rest = message.partition("): ")
    return rest if sep and head.startswith("Your answer (line ") else ""


def _student(task):
    """[(answer key, status, score, points, group, source)] for one graded student."""
    from grader.classreport.collect import split_output
    from grader.problems import build_set
    sid, seed, tests = task
    try:
        instances = build_set(seed)
    except Exception as exc:         # noqa: BLE001  the grader built it; a failure here is ours
        return sid, f"{type(exc).__name__}: {exc}"[:300]
    by_key = {inst.answer_key(p): (inst, p) for inst in instances for p in inst.parts}
    rows = []
    for t in tests:
        key = str(t.get("name", "")).split(":", 1)[0]
        if key not in by_key:
            continue
        inst, part = by_key[key]
        if part.manual:              # graded by a person: counted, never named as wrong
            rows.append((key, "manual", float(t.get("score") or 0), part.points, "", ""))
            continue
        score, top = float(t.get("score") or 0), float(t.get("max_score") or part.points)
        _, message, _ = split_output(str(t.get("output", ""))[:8000])
        text = _answer_text(message)
        if t.get("status") == "passed":
            rows.append((key, "right", score, top, "", ""))
        elif not text.strip():
            rows.append((key, "blank", score, top, "", ""))
        else:
            try:
                group, source = classify(inst, part, text)
            except Exception as exc:     # noqa: BLE001  one odd answer costs only its own naming
                group, source = f"not compared ({type(exc).__name__})", "unreadable"
            rows.append((key, "partial" if score > 0 else "wrong", score, top, group, source))
    return sid, rows


def _read_tests(path: Path) -> list[dict]:
    from grader.classreport.collect import MAX_RESULTS_BYTES
    try:
        if path.stat().st_size > MAX_RESULTS_BYTES:
            return []
        data = json.loads(path.read_bytes().decode("utf-8", errors="replace"))
    except (OSError, ValueError, RecursionError):
        return []
    tests = data.get("tests") if isinstance(data, dict) else None
    return [t for t in tests if isinstance(t, dict)] if isinstance(tests, list) else []


# ------------------------------------------------------------------ the class
def analyse(out: Path, students, seeds: dict, outcomes, jobs: int | None = None,
            show_progress: bool = True) -> dict:
    from grader.problems import BANK, build_set
    status = {o.student.student_id: o.status for o in outcomes}
    graded = [s.student_id for s in students if status.get(s.student_id) == "graded"]
    tasks = [(sid, seeds[sid], _read_tests(out / sid / "results.json")) for sid in graded]
    bar = bar_for(len(tasks), "class report", show_progress)
    results: dict[str, list] = {}
    errors = []
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(tasks) // 20 or 1))
    build_set(None)                  # fill the symbolic caches once; forked workers inherit them
    if jobs > 1 and "fork" in multiprocessing.get_all_start_methods():
        with multiprocessing.get_context("fork").Pool(jobs, initializer=pool_worker_init) as pool:
            done = pool.imap_unordered(_student, tasks, chunksize=4)
            for sid, rows in done:
                (results.__setitem__(sid, rows) if isinstance(rows, list) else errors.append((sid, rows)))
                bar.update()
    else:
        for task in tasks:
            sid, rows = _student(task)
            (results.__setitem__(sid, rows) if isinstance(rows, list) else errors.append((sid, rows)))
            bar.update()
    bar.close()

    reference = build_set(None)
    titles = {inst.problem.key: f"{inst.problem.title} ({inst.problem.source})" for inst in reference}
    item_max = {inst.problem.key: inst.points for inst in reference}
    parts = {}
    for inst in reference:
        for p in inst.parts:
            key = inst.answer_key(p)
            if p.manual:
                continue
            parts[key] = {"key": key, "item": inst.problem.key, "prompt": p.prompt, "points": p.points,
                          "right": 0, "partial": 0, "wrong": 0, "blank": 0, "total": 0,
                          "known": [label for label, _ in p.mistakes], "groups": {}}
    item_scores = {k: [] for k in item_max}
    totals = []
    for sid in graded:
        rows = results.get(sid)
        if rows is None:
            continue
        per_item = dict.fromkeys(item_max, 0.0)
        for key, state, score, _top, group, source in rows:
            if state == "manual":
                item = key.split(".", 1)[0]
                if item in per_item:
                    per_item[item] += score
                continue
            part = parts.get(key)
            if part is None:
                continue
            part["total"] += 1
            part[state] += 1
            per_item[part["item"]] = per_item.get(part["item"], 0.0) + score
            if group:
                g = part["groups"].setdefault(group, {"label": group, "source": source, "students": []})
                g["students"].append(sid)
        for k, v in per_item.items():
            item_scores[k].append(round(v, 4))
        totals.append(round(sum(per_item.values()), 4))
    for part in parts.values():
        groups = sorted(part["groups"].values(), key=lambda g: (g["source"] == "value", -len(g["students"]), g["label"]))
        named = [g for g in groups if g["source"] != "value" or len(g["students"]) > 1]
        part["groups"] = named[:TOP_GROUPS] if len(named) > TOP_GROUPS else named
        part["more_groups"] = max(0, len(named) - TOP_GROUPS)
        part["unrecognised"] = sum(len(g["students"]) for g in groups if g["source"] == "value")
        part["rate"] = part["right"] / part["total"] if part["total"] else 0.0
        known = {g["label"]: len(g["students"]) for g in groups if g["source"] == "key"}
        part["known"] = [(label, known.get(label, 0)) for label in part["known"]]
    counts: dict[str, int] = {}
    for s in students:
        counts[status.get(s.student_id, "missing")] = counts.get(status.get(s.student_id, "missing"), 0) + 1
    return {"size": len(students), "statuses": counts, "graded": len(totals), "totals": totals,
            "max_total": sum(item_max.values()), "errors": errors,
            "items": [{"key": k, "title": titles[k], "max": item_max[k], "scores": item_scores[k]} for k in item_max],
            "parts": list(parts.values()),
            "not_graded": [(s.student_id, status.get(s.student_id, "missing")) for s in students
                           if status.get(s.student_id) != "graded"]}


def render_report(out: Path, data: dict) -> Path:
    from grader.classreport.analysis import quartiles
    from grader.classreport.figures import histogram_png, panels_png
    from grader.classreport.render import render
    histogram_png(data["totals"], data["max_total"], "Totals", out / TOTALS_PNG)
    panels_png([(i["key"], i["max"], i["scores"]) for i in data["items"]], out / ITEMS_PNG, columns=4)
    hardest = sorted(data["parts"], key=lambda p: (p["rate"], p["key"]))
    wrong_answers = {}
    for p in data["parts"]:
        for g in p["groups"]:
            if g["source"] in ("key", "generic"):
                wrong_answers[(p["key"], g["label"])] = len(g["students"])
    top = sorted(wrong_answers.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    html = render("problems.html.j2", d=data, stats=quartiles(data["totals"]), hardest=hardest,
                  items={i["key"]: dict(i, stats=quartiles(i["scores"])) for i in data["items"]},
                  top=top, figures={"totals": TOTALS_PNG, "panels": ITEMS_PNG})
    return atomic_write_text(out / REPORT, html)


def write_problem_report(out, students, seeds: dict, assignment: str, outcomes, jobs: int | None = None,
                         show_progress: bool = True) -> Path:
    """report.html of a graded problem set (and the data to render it again)."""
    out = Path(out)
    data = analyse(out, students, seeds, outcomes, jobs, show_progress)
    data["assignment"] = assignment
    data["folder"] = str(out.resolve())
    atomic_write_json(out / DATA, data)
    return render_report(out, data)


def rerender(out) -> Path:
    """report.html again from the data `tt problems grade` kept (tt report GRADES_DIR)."""
    out = Path(out)
    data = json.loads((out / DATA).read_text(encoding="utf-8"))
    return render_report(out, data)
