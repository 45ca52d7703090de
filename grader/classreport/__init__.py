"""The instructor's view of a class (issue 14): what the class got wrong, and which
submissions look alike.

    tt report graded/ [--submissions submissions/]     after tt grade-all
    tt grade-all submissions/ --report                 the same, at the end of grading
    tt problems grade ...                              writes the problem sets' report too

`write_report` reads `tt grade-all`'s folder (grader.classreport.collect), works out the
statistics and the named mistakes (analysis), draws the figures (figures) and writes
`report.html` beside the gradebook, with `report_totals.png` and `report_exercises.png`.
Given the submissions folder it adds the similarity section (grader.similarity), whose
pages go to `<graded>/similarity/`. The problem sets' report is grader.classreport.problems.
See docs/report.md.
"""
from __future__ import annotations

import datetime
from pathlib import Path

from tt.io import atomic_write_text
from grader.classreport.progress import bar_for

REPORT = "report.html"
TOTALS_PNG = "report_totals.png"
EXERCISES_PNG = "report_exercises.png"


def write_report(graded_dir, submissions=None, *, similarity_threshold: float | None = None,
                 jobs: int | None = None, show_progress: bool = True, skipped=None) -> Path:
    """report.html (and its figures) in graded_dir; returns its path."""
    from grader.classreport.analysis import analyse
    from grader.classreport.collect import class_ids, read_class
    from grader.classreport.figures import histogram_png, panels_png
    from grader.classreport.render import render

    folder = Path(graded_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder (the --out of tt grade-all)")
    bar = bar_for(len(class_ids(folder)), "reading results", show_progress)
    results = read_class(folder, progress=bar)
    bar.close()
    summary = analyse(results)
    histogram_png(summary.totals, summary.max_total, "Totals", folder / TOTALS_PNG)
    panels_png([(e.exercise, e.max_score, e.scores) for e in summary.exercises], folder / EXERCISES_PNG)
    similarity = None
    if submissions is not None:
        from grader.similarity import DEFAULT_THRESHOLD, find_similar, write_pages
        if skipped is None:
            from grader.grade_all import _entries
            skipped = _entries(Path(submissions))[1]
        found = find_similar(submissions, threshold=similarity_threshold or DEFAULT_THRESHOLD, jobs=jobs,
                             show_progress=show_progress)
        similarity = write_pages(found, folder / "similarity", link_prefix="similarity/",
                                 protect=[s.sid for s in results.students])
    from grader.grading import TITLE
    html = render(REPORT + ".j2", s=summary, title=TITLE, folder=str(folder.resolve()),
                  titles=results.titles, figures={"totals": TOTALS_PNG, "exercises": EXERCISES_PNG},
                  generated=datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), skipped=skipped or [],
                  similarity=similarity, sim=similarity)
    return atomic_write_text(folder / REPORT, html)
