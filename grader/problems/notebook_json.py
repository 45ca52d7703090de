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

import json

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


# json.dumps(indent=...) runs the standard library's pure-Python encoder (its C encoder
# serves only indent=None), a generator per nesting level: about a tenth of generating a
# student's set went into it (the key entry and the notebook). `dumps` gives the same
# bytes for the JSON types we write (dict with str keys, list, tuple, str, int, float,
# bool, None), with the string escaping of the C encoder; anything else goes to json.dumps.
class _Other(Exception):
    pass


def _float(x: float) -> str:
    if x != x:
        return "NaN"
    if x in (float("inf"), float("-inf")):
        return "Infinity" if x > 0 else "-Infinity"
    return float.__repr__(x)


def dumps(obj, indent: int, sort_keys: bool = False, ensure_ascii: bool = True) -> str:
    """json.dumps(obj, indent=indent, sort_keys=sort_keys, ensure_ascii=ensure_ascii)
    with the default separators (", " becomes "," with indent; ": ")."""
    string = json.encoder.encode_basestring_ascii if ensure_ascii else json.encoder.encode_basestring
    out: list[str] = []
    put = out.append

    def enc(o, level: int) -> None:
        if isinstance(o, str):
            put(string(o))
        elif o is None:
            put("null")
        elif o is True:
            put("true")
        elif o is False:
            put("false")
        elif isinstance(o, int):
            put(int.__repr__(o))
        elif isinstance(o, float):
            put(_float(o))
        elif isinstance(o, (list, tuple)):
            if not o:
                put("[]")
                return
            inner = "\n" + " " * (indent * (level + 1))
            put("[")
            for i, v in enumerate(o):
                put("," + inner if i else inner)
                enc(v, level + 1)
            put("\n" + " " * (indent * level) + "]")
        elif isinstance(o, dict):
            if not o:
                put("{}")
                return
            items = o.items()
            if any(not isinstance(k, str) for k in o):
                raise _Other
            if sort_keys:
                items = sorted(items)
            inner = "\n" + " " * (indent * (level + 1))
            put("{")
            for i, (k, v) in enumerate(items):
                put("," + inner if i else inner)
                put(string(k))
                put(": ")
                enc(v, level + 1)
            put("\n" + " " * (indent * level) + "}")
        else:
            raise _Other

    try:
        enc(obj, 0)
    except (_Other, RecursionError):
        return json.dumps(obj, indent=indent, sort_keys=sort_keys, ensure_ascii=ensure_ascii)
    return "".join(out)
