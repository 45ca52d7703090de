"""The similarity pages: an index of the listed pairs, a side-by-side page per pair with the
matching passages marked, and a CSV of the same numbers.

    section = write_pages(found, "similarity/")    -> similarity/index.html,
                                                      similarity/pair-0001.html, ...,
                                                      similarity/similarity.csv

The code shown is the students' text, escaped by jinja2 (autoescape), never markup. Pages are
named by rank, never by student id, and nothing is written into a student's folder.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from grader.similarity.detect import K_GUARANTEE, K_NOISE, MIN_OVERLAP, Similarity
from tt.io import atomic_write_text

DISPLAY_CAP = 60_000           # characters of one file shown on a pair page
LIMITS = ("Similarity is a reason to look, not a verdict. A high score says that two submissions share "
          "long passages of the same token sequence once names, comments, whitespace and the release's "
          "stubs are set aside; it does not say who wrote them, or that anyone copied. Short exercises "
          "have few natural ways to be written, so independent correct work can match; passages that many "
          "students share are ignored, so code copied by a large group can go unseen; and code rewritten "
          "by hand (statements reordered, expressions restated, loops for vectorised lines) or generated "
          "by a tool is not found. Read the marked passages side by side, and talk to the students, "
          "before concluding anything.")


@dataclass
class Section:
    """What the class report shows of a similarity run."""
    result: Similarity
    index: str                 # link to the index page
    rows: list[dict]           # one per listed pair
    limits: str = LIMITS
    k_noise: int = K_NOISE
    k_guarantee: int = K_GUARANTEE
    min_overlap: int = MIN_OVERLAP


def segments(text: str, slices) -> list[tuple[str, bool]]:
    """The text cut into (piece, matched) runs along the matching slices."""
    out, at = [], 0
    text = text[:DISPLAY_CAP]
    for start, end in sorted(slices):
        start, end = max(start, at), min(end, len(text))
        if start >= end:
            continue
        if start > at:
            out.append((text[at:start], False))
        out.append((text[start:end], True))
        at = end
    if at < len(text):
        out.append((text[at:], False))
    return out


def _rows(result: Similarity, prefix: str) -> list[dict]:
    rows = []
    for i, pair in enumerate(result.pairs, start=1):
        flagged = pair.flagged(result.threshold)
        rows.append({"rank": i, "a": pair.a, "b": pair.b, "score": pair.score, "page": f"{prefix}pair-{i:04d}.html",
                     "flagged": [(m.exercise[:4], m.score) for m in flagged], "matched": len(pair.exercises)})
    return rows


def write_pages(result: Similarity, out_dir, link_prefix: str = "", protect=()) -> Section:
    """index.html, a page per listed pair and similarity.csv in out_dir."""
    from grader.classreport.render import render
    from grader.report import write_class_csv
    out = Path(out_dir)
    if (out / "results.json").exists() or out.name in set(protect):
        raise FileExistsError(f"{out} is a student's folder of results: write the similarity pages elsewhere")
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("pair-*.html"):           # a listing of fewer pairs than last time
        old.unlink()
    rows = _rows(result, "")
    for row, pair in zip(rows, result.pairs):
        views = []
        for m in pair.exercises:
            views.append({"m": m, "flagged": m in pair.flagged(result.threshold),
                          "left": segments(result.texts.get((pair.a, m.exercise), ""), m.slices_a),
                          "right": segments(result.texts.get((pair.b, m.exercise), ""), m.slices_b),
                          "cut": max(len(result.texts.get((pair.a, m.exercise), "")),
                                     len(result.texts.get((pair.b, m.exercise), ""))) > DISPLAY_CAP})
        atomic_write_text(out / row["page"], render("pair.html.j2", row=row, pair=pair, views=views,
                                                    limits=LIMITS, threshold=result.threshold))
    section = Section(result, link_prefix + "index.html", _rows(result, link_prefix))
    atomic_write_text(out / "index.html", render("similarity.html.j2", sim=Section(result, "index.html", rows)))
    columns = ["rank", "student_a", "student_b", "overall", "exercises_flagged"]
    write_class_csv([{"rank": r["rank"], "student_a": r["a"], "student_b": r["b"], "overall": round(r["score"], 3),
                      "exercises_flagged": " ".join(f"{ex}:{s:.2f}" for ex, s in r["flagged"])} for r in rows],
                    columns, out / "similarity.csv")
    return section
