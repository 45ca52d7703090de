"""Mistakes named from what a call did rather than from the values it returned.

    except GradeFailure as failure:
        if matmul_mismatch(failure.message) == cache.W.shape: ...     # dout @ W raised, in != out
    callbacks, misused = wiring_pieces(("linear_backward", "relu_backward"), top=dout, top_cache=cache.lin2)
    ...call_with(..., callbacks=callbacks)...                           # then, on a failure:
    raise named_misuse(failure, misused)                                 # "ops.relu_backward was given ..."

A wrong formula often raises instead of returning a wrong answer (`dout @ W` when W is not
square, a sum that lost its axis); NumPy's message then holds enough to name it. A composite
that hands one of its `ops` the wrong cache, or its own dout, is seen by the callbacks.
support._sharpen adds IN_PLACE and KEEPDIMS to any failed call's feedback.
"""
from __future__ import annotations

import re

import numpy as np

import tt
from grader.checks import GradeFailure

IN_PLACE = ("a name given to an input (`grad = probs`, `dz = dout`), or a slice or reshape of it, is the "
            "same memory, not a copy: writing into it (`grad[t] -= 1`, `dz[z <= 0] = 0`, `+=`, `*=`) changes "
            "the caller's array; start from a copy (np.array(x), x.copy()) or build a new array (dout * mask)")
KEEPDIMS = ("a sum or mean over the last axis lost that axis: (B, T, C) summed over C is (B, T), which does "
            "not broadcast against (B, T, C); keep it with keepdims=True (shape (B, T, 1)), or index [..., None]")
_BROADCAST = re.compile(r"operands could not be broadcast together with shapes ((?:\([\d,]*\) ?)+)")


_MATMUL = re.compile(r"matmul: Input operand 1 has a mismatch in its core dimension 0.*\(size (\d+) is different "
                     r"from (\d+)\)")
_DOT = re.compile(r"not aligned: (\d+) \(dim \d+\) != (\d+) \(dim \d+\)")


def matmul_mismatch(message):
    """(rows of the right operand, columns of the left) of a product whose shapes do not line up,
    from NumPy's message for `a @ b` or np.dot(a, b); None for any other message."""
    m = _MATMUL.search(message)
    if m:
        return int(m.group(1)), int(m.group(2))
    m = _DOT.search(message)
    return (int(m.group(2)), int(m.group(1))) if m else None


def lost_axis(message):
    """True if a broadcast error is between a shape and the same shape without its last axis."""
    m = _BROADCAST.search(message)
    if not m:
        return False
    shapes = [tuple(int(d) for d in part.split(",") if d) for part in re.findall(r"\(([\d,]*)\)", m.group(1))]
    return any(len(a) >= 2 and a[:-1] == b for a in shapes for b in shapes)


CACHES = {"linear_backward": "LinearCache", "relu_backward": "ReluCache", "softmax_backward": "SoftmaxCache",
          "layernorm_backward": "LayerNormCache", "attention_backward": "AttentionCache",
          "add_norm_backward": "AddNormCache", "ffn_backward": "FFNCache", "mha_backward": "MHACache"}


def wiring_pieces(names, owner=None, top=None, top_cache=None):
    """Reference pieces as callbacks that note a cache of the wrong kind: (callbacks, misused).

    A composite that hands ops.relu_backward the linear layer's cache fails (a shape error, or
    wrong values when the shapes agree); misused then holds the diagnosis that names it.
    owner: {cache class name: where that cache is in the composite's own cache}, for the message.
    top, top_cache: the composite's dout, and the only sub-cache whose piece may be given it (the
    last layer's): another piece given dout itself skipped the steps in between.
    """
    misused = []
    owner = owner or {}

    def piece(name):
        ref = getattr(tt, name)

        def fn(dout, cache, ops=None):
            kind = type(cache).__name__
            want = CACHES.get(name)
            if want and kind != want and not misused:
                given = f"a {kind}" + (f" ({owner[kind]})" if kind in owner else "")
                needs = f" ({owner[want]})" if want in owner else ""
                misused.append(f"ops.{name} was given {given}: it needs its own kind of cache, a {want}{needs}")
            elif (top is not None and not misused and isinstance(dout, np.ndarray) and dout.shape == top.shape
                  and np.array_equal(dout, top) and not _same(cache, top_cache)):
                misused.append(f"ops.{name} was given the composite's own dout: it needs the gradient that comes "
                               f"out of the step after it (undo the steps from the last one back)")
            return ref(dout, cache)
        return fn
    return {name: piece(name) for name in names}, misused


def _same(a, b):
    """Two caches (NamedTuples of arrays) hold the same values."""
    if type(a).__name__ != type(b).__name__ or len(a) != len(b):
        return False
    return all(np.array_equal(x, y) if isinstance(x, np.ndarray) else x == y for x, y in zip(a, b))


def named_misuse(failure, misused):
    """The failure, with the wiring mistake as its diagnosis when it has none."""
    __tracebackhide__ = True
    if misused and not failure.diagnosis:
        return GradeFailure(failure.message, misused[0])
    return failure
