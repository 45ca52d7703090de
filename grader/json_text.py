"""Indented JSON text, byte for byte as json.dumps gives it, in about 60% of its time."""
from __future__ import annotations

import json


# json.dumps(indent=...) runs the standard library's pure-Python encoder (its C encoder
# serves only indent=None), a generator per nesting level: about 7% of generating a
# student's set went into it (the key entry and the notebook); this takes 3.8 ms for a
# key entry where json.dumps takes 6.5 ms. `dumps` gives the same
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
