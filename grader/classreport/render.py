"""Rendering the class reports: jinja2 with autoescaping on, so no text read from a
results.json, an answers file or a submission (all of which students chose) becomes markup.

The pages are self-contained: inline CSS, no script, no font or image from the network;
the figures are PNG files beside the page, linked by relative paths.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2

TEMPLATES = Path(__file__).resolve().parent / "templates"
SIMILARITY_TEMPLATES = TEMPLATES.parent.parent / "similarity" / "templates"


def fmt(x, digits: int = 3) -> str:
    """A score as people read it: 8, 6.5, 127.75, 0.333; '–' for none."""
    if x is None:
        return "–"
    x = round(float(x), digits)
    if x.is_integer():
        return str(int(x))
    return f"{x:.{digits}f}".rstrip("0").rstrip(".")


def percent(x) -> str:
    return "–" if x is None else f"{100 * float(x):.0f}%"


@lru_cache(maxsize=None)
def environment() -> jinja2.Environment:
    folders = [str(TEMPLATES), str(SIMILARITY_TEMPLATES)]
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(folders),
                             autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["fmt"] = fmt
    env.filters["percent"] = percent
    return env


def render(template: str, **context) -> str:
    return environment().get_template(template).render(**context)
