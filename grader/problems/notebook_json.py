"""A Jupyter notebook (format 4.5) as text, without importing nbformat.

Importing nbformat costs about 3 s of CPU (its validator builds jsonschema's format
checkers), once in every process that writes a notebook: for `tt problems generate`
that is every worker. The notebooks of a problem set have a fixed structure (Markdown
cells and empty code cells with fixed ids), so they are written here the way
nbformat.v4.writes writes them: sources split into lines (str.splitlines(True)), keys
sorted, indent 1, separators (",", ": "), non-ASCII kept. The tests check the files
with nbformat.validate and against nbformat's own writer.
"""
from __future__ import annotations

from grader.json_text import dumps

NBFORMAT, NBFORMAT_MINOR = 4, 5


def cell(kind: str, source: str, cell_id: str) -> dict:
    """A Markdown or (empty-output) code cell."""
    node = {"cell_type": kind, "id": cell_id, "metadata": {}, "source": source}
    if kind == "code":
        node.update(execution_count=None, outputs=[])
    return node


def writes(cells: list[dict], metadata: dict) -> str:
    """The notebook's JSON text, byte for byte as nbformat.v4.writes gives it."""
    nb = {"cells": [{**c, "source": c["source"].splitlines(True)} for c in cells],
          "metadata": metadata, "nbformat": NBFORMAT, "nbformat_minor": NBFORMAT_MINOR}
    return dumps(nb, indent=1, sort_keys=True, ensure_ascii=False)

