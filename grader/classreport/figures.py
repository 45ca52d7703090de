"""The report's figures, drawn with matplotlib's Agg backend (no display needed) and written
atomically as PNG files.

    histogram_png(totals, maximum, "Totals", path)
    panels_png([("ex01", 8.0, scores), ...], path)      one small panel per exercise or item

Each panel marks the median (solid), the quartiles (dashed) and the highest score reached
(dotted), and says them in its title, so the figure reads without the page.
"""
from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np

from tt.io import atomic_write_bytes

MEDIAN, QUARTILE, HIGHEST = "#c62828", "#ef6c00", "#2e7d32"


def _pyplot():
    import matplotlib
    matplotlib.use("Agg", force=True)          # files only: never a window, whatever the environment says
    import matplotlib.pyplot as plt
    return plt


def _bins(maximum: float, values) -> np.ndarray:
    """Bins one point wide for small maxima (scores are mostly whole points), else ~20."""
    top = max(float(maximum or 0), max(values, default=0.0), 1.0)
    if top <= 30:
        return np.arange(-0.5, math.floor(top) + 1.5, 1.0)
    return np.linspace(0, top, 21)


def _draw(ax, values, maximum, title, small=False):
    values = np.asarray(values, dtype=float)
    ax.hist(values, bins=_bins(maximum, values), color="#90a4ae", edgecolor="white")
    if values.size:
        q1, med, q3 = np.percentile(values, [25, 50, 75])
        ax.axvline(med, color=MEDIAN, lw=2)
        for q in (q1, q3):
            ax.axvline(q, color=QUARTILE, lw=1.2, ls="--")
        ax.axvline(values.max(), color=HIGHEST, lw=1.2, ls=":")
        stats = f"median {med:g}, quartiles {q1:g}–{q3:g}, max {values.max():g}"
    else:
        stats = "no one graded"
    ax.set_xlim(-0.6, max(float(maximum or 0), 1.0) + 0.6)
    ax.set_title(f"{title}\n{stats}" if small else f"{title}: {stats}", fontsize=8 if small else 11)
    ax.tick_params(labelsize=7 if small else 9)
    ax.yaxis.get_major_locator().set_params(integer=True)


def _save(fig, path) -> Path:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    _pyplot().close(fig)
    return atomic_write_bytes(path, buf.getvalue())


def histogram_png(values, maximum: float, title: str, path, xlabel: str = "points") -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 3.2), layout="constrained")
    _draw(ax, values, maximum, title)
    ax.set_xlabel(f"{xlabel} (of {maximum:g})")
    ax.set_ylabel("students")
    return _save(fig, path)


def panels_png(panels, path, columns: int = 5) -> Path:
    """panels: (title, maximum, values) each; one small histogram per panel."""
    plt = _pyplot()
    rows = max(1, math.ceil(len(panels) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(2.3 * columns, 1.9 * rows), layout="constrained",
                             squeeze=False)
    for ax, (title, maximum, values) in zip(axes.flat, panels):
        _draw(ax, values, maximum, f"{title} (of {maximum:g})", small=True)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    return _save(fig, path)
