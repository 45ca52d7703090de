"""Did a call change its inputs? Digests of every array a function was given, before and after.

Copied into each worker's private directory (stdlib and NumPy only) and used there, and
by the in-process path (grader/export/inprocess.py); the parent names what changed.

    watch = snapshot(args, kwargs, steps, skip={1})   # before the call
    ...the call...
    changes = changed(watch)       # [[scope, arg, *indices], ...] of the arrays now different

A path's `scope` is -1 for the call itself and k for the k-th `then` step (a method
called on the value); `arg` is a positional index (int) or a keyword (str); the indices
go down through tuples, NamedTuples and lists by position and through dicts by the
position of the key. Only arrays count (their bytes, dtype and shape): a dict whose entry
is replaced by another array is not an array changed in place. Arguments a test binds to
a callback or asks back with `echo` are the test's to check and are skipped (`skip`).

The parent turns a path into words with `label` (`cache.xhat`, `grads['W1']`, `dout`),
resolving it in its OWN copy of the inputs: a path that does not lead to an array there
is not believed (see `resolve`).
"""
import hashlib

import numpy as np

MAX_DEPTH = 32             # as the wire's nesting cap
MAX_ARRAYS = 10_000        # arrays watched per call; more are left unwatched
MAX_REPORTED = 20          # changed paths sent back


def digest(a) -> bytes:
    """A digest of an array's dtype, shape and bytes (C order)."""
    a = np.ndarray.view(a, np.ndarray)          # unbound: a subclass cannot intercept it
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{a.dtype.str}|{a.shape}".encode())
    data = np.ascontiguousarray(a).reshape(-1)
    h.update(data.tobytes() if data.dtype.hasobject else data.view(np.uint8))
    return h.digest()


def leaves(value, path=(), depth=0):
    """(path, array) for every ndarray reachable from `value` (tuples, lists, dict values)."""
    if isinstance(value, np.ndarray):
        yield path, value
    elif depth < MAX_DEPTH:
        if isinstance(value, (tuple, list)):
            items = enumerate(tuple.__iter__(value) if isinstance(value, tuple) else list.__iter__(value))
        elif isinstance(value, dict):
            items = enumerate(v for _, v in dict.items(value))
        else:
            return
        for i, v in items:
            yield from leaves(v, (*path, i), depth + 1)


def snapshot(args, kwargs, steps=(), skip=()):
    """[(path, array, digest)] of the arrays among a call's arguments and its steps' arguments."""
    tops = [((-1, i), a) for i, a in enumerate(args) if i not in skip]
    tops += [((-1, k), v) for k, v in dict.items(kwargs)]
    for s, (s_args, s_kwargs) in enumerate(steps):
        tops += [((s, i), a) for i, a in enumerate(s_args)]
        tops += [((s, k), v) for k, v in dict.items(s_kwargs)]
    watch = []
    for top, value in tops:
        for path, a in leaves(value, top):
            if len(watch) >= MAX_ARRAYS:
                return watch
            watch.append((list(path), a, digest(a)))
    return watch


def changed(watch) -> list:
    """The paths of the watched arrays whose digest is no longer the one taken before."""
    return [path for path, a, before in watch if digest(a) != before][:MAX_REPORTED]


# ------------------------------------------------------------------------ parent side
def mismatch(sent, got, depth=0) -> str:
    """"" if `got` (from the worker) has the skeleton of `sent` (ours): the same types of
    containers, lengths, keys, and arrays of the same shape and dtype; else what differs."""
    if isinstance(sent, np.ndarray):
        if type(got) is not np.ndarray:
            return f"an array became {type(got).__name__}"
        if got.shape != sent.shape or got.dtype != sent.dtype:
            return f"an array of shape {sent.shape} and dtype {sent.dtype} became {got.shape} {got.dtype}"
        return ""
    if depth >= MAX_DEPTH:
        return ""
    if isinstance(sent, (tuple, list, dict)):
        if type(got) is not type(sent) and not (isinstance(sent, tuple) and isinstance(got, tuple)):
            return f"a {type(sent).__name__} became {type(got).__name__}"
        if len(got) != len(sent):
            return f"a {type(sent).__name__} of {len(sent)} entries has {len(got)}"
        if isinstance(sent, dict):
            if list(got) != list(sent):
                return "a dict's keys changed"
            pairs = zip(sent.values(), got.values())
        else:
            pairs = zip(sent, got)
        return next((p for p in (mismatch(a, b, depth + 1) for a, b in pairs) if p), "")
    if isinstance(sent, (bool, np.bool_)) or sent is None or isinstance(sent, str):
        return "" if type(got) is type(sent) else f"a {type(sent).__name__} became {type(got).__name__}"
    if isinstance(sent, (int, float, np.number)):
        ok = isinstance(got, (int, float, np.number)) and not isinstance(got, (bool, np.bool_))
        return "" if ok else f"a number became {type(got).__name__}"
    return ""



def resolve(path, args, kwargs, steps=()):
    """(the array at `path` in these inputs, its words) or None if it does not lead to one.

    `path` comes from the worker: it is checked element by element against our inputs.
    """
    if type(path) is not list or len(path) < 2 or len(path) > MAX_DEPTH + 2:
        return None
    scope, arg, *indices = path
    if type(scope) is not int or not -1 <= scope < len(steps):
        return None
    s_args, s_kwargs = (args, kwargs) if scope == -1 else steps[scope]
    if type(arg) is int and 0 <= arg < len(s_args):
        value, words = s_args[arg], None
    elif type(arg) is str and arg in s_kwargs:
        value, words = s_kwargs[arg], arg
    else:
        return None
    tail = ""
    for i in indices:
        if type(i) is not int or i < 0:
            return None
        if isinstance(value, (tuple, list)) and i < len(value):
            fields = getattr(type(value), "_fields", None)
            tail += f".{fields[i]}" if isinstance(fields, tuple) and i < len(fields) else f"[{i}]"
            value = value[i]
        elif isinstance(value, dict) and i < len(value):
            key, value = list(value.items())[i]
            tail += f"[{key!r}]"
        else:
            return None
    if not isinstance(value, np.ndarray):
        return None
    return value, words, tail


def label(words, arg, tail, param=None) -> str:
    """`cache.xhat`: the parameter's name (the student's own, if it is a plain identifier
    of a sensible length, else "argument N") and the way down to the array."""
    if words is None:
        ok = type(param) is str and param.isidentifier() and len(param) <= 60
        words = param if ok else f"argument {arg + 1}"
    return words + tail


def message(function, labels) -> str:
    """What the student is told: which inputs their function changed, and why that is wrong."""
    shown = ", ".join(f"`{w}`" for w in labels[:3]) + (f" and {len(labels) - 3} more" if len(labels) > 3 else "")
    what = "its input" if len(labels) == 1 else "its inputs"
    rule = "a backward pass" if str(function).split(" ")[0].endswith("_backward") else "a function"
    return (f"{function} changed {what} {shown} in place; {rule} must not modify its inputs "
            f"(the caller still needs them): compute into new arrays (dx = dout * mask, not "
            f"dout *= mask), or work on a copy (x = x.copy())")
