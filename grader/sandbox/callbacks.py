"""The parent's side of callbacks: running the functions a call offered, for the worker.

During a call the student's code may call a function of the parent (a reference piece
passed as `ops`, an f() of exercise 10): the worker sends {"op": "callback", "id", "seq",
"name", "args", "kwargs"} and waits for the answer. Only the names in that call's
`callbacks=` run; the answer, or the exception as text, goes back to the student's code.
"""
from __future__ import annotations

import contextlib
import os
import resource
import time

import numpy as np

from grader.sandbox import inputs, wire
from grader.sandbox.channel import Garbage, Timeout
from grader.sandbox.errors import clean

# What one callback may be handed (the parent runs it, on its own memory and time):
MAX_ELEMENTS = 1 << 23        # elements of any array, or of any two arrays broadcast together
MAX_ARRAYS = 64               # arrays among its arguments
MAX_DEPTH = 8                 # nesting of its arguments
# ... and what it may take while it runs: small arguments can still ask for a large result
# (np.outer of two vectors, a matrix product of an (N, 1) and a (1, N) array)
MAX_MEMORY = 1 << 30          # bytes of address space a running callback may add


class TooLarge(ValueError):
    """Callback arguments over the parent's budget: the callback is not run."""


def check_budget(args, kwargs) -> None:
    """TooLarge unless the arguments fit the parent's budget: at most MAX_ARRAYS arrays,
    nested at most MAX_DEPTH deep, none larger than MAX_ELEMENTS, and no two of them
    broadcasting to more (a (N, 1) and a (1, N) array are small on the wire, N**2 here)."""
    arrays = []
    for path, a in inputs.leaves([args, kwargs]):
        if len(path) > MAX_DEPTH + 1:
            raise TooLarge(f"the arguments are nested more than {MAX_DEPTH} levels deep")
        arrays.append(a)
        if len(arrays) > MAX_ARRAYS:
            raise TooLarge(f"more than {MAX_ARRAYS} arrays")
    shapes = sorted({a.shape for a in arrays})
    for i, s in enumerate(shapes):
        for t in shapes[i:]:
            try:
                size = int(np.prod(np.broadcast_shapes(s, t), dtype=np.float64))
            except ValueError:
                continue
            if size > MAX_ELEMENTS:
                raise TooLarge(f"arrays of shapes {s} and {t} would broadcast to {size:.3g} elements, "
                               f"more than the {MAX_ELEMENTS} a callback accepts")


def own_memory() -> tuple[int, int]:
    """(address space, resident memory) of this process in bytes; (0, 0) without /proc."""
    try:
        with open("/proc/self/statm") as f:
            size, resident = f.read().split()[:2]
        return int(size) * os.sysconf("SC_PAGE_SIZE"), int(resident) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0, 0


@contextlib.contextmanager
def memory_cap(extra: int = MAX_MEMORY):
    """While the block runs, this process may map at most `extra` more bytes (RLIMIT_AS,
    lowered from the current size and restored after): an allocation past it raises
    MemoryError in the block, not the machine's out-of-memory killer in the grader. Where
    the limit cannot be read or is already tighter, the block runs as it is."""
    size = own_memory()[0]
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    except (OSError, ValueError):
        size = 0
    if not size:
        yield
        return
    cap = size + extra
    tighter = lambda limit: limit != resource.RLIM_INFINITY and limit <= cap
    if tighter(soft) or tighter(hard):
        yield
        return
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


class ParentOps:
    """What a callback namespace sent back by the worker becomes here: our own functions."""

    def __init__(self, table):
        self.__dict__.update(table)

    def __getattr__(self, name):
        raise AttributeError(f"no callback {name!r} was offered to this call (add it to callbacks=)")

    def __repr__(self):
        return f"<callbacks {', '.join(sorted(self.__dict__))}>"


class CallbackServer:
    """Answers the callback requests of one call."""

    def __init__(self, callbacks, limits, records, call_id):
        self.callbacks, self.limits, self.records, self.call_id = callbacks or {}, limits, records, call_id

    def answer(self, m, header, body, deadline) -> bytes:
        """The frame answering callback request `m` (whose frame is header, body).

        Raises Timeout if the call's deadline has passed: the time a call spends in its
        callbacks counts against it, however many requests the worker queued up."""
        if time.monotonic() >= deadline:
            raise Timeout()
        seq = m.get("seq")
        if type(seq) is not int:
            raise Garbage("a callback without a sequence number")
        answer = {"op": "callback-result", "id": self.call_id, "seq": seq}
        name = m.get("name")
        table = self.callbacks
        fn = table.get(name) if type(name) is str else None
        try:
            if fn is None:
                raise LookupError(f"{str(name)[:100]!r} is not a callback offered to this call")
            req = wire.decode_parts(header, body, self.limits, records=self.records, callbacks=lambda
                                    names: ParentOps({n: table[n] for n in names if n in table}))
            args, kwargs = req.get("args"), req.get("kwargs")
            if type(args) is not list or type(kwargs) is not dict:
                raise TypeError("malformed callback arguments")
            check_budget(args, kwargs)
            with memory_cap():
                value = fn(*args, **kwargs)
            return wire.encode_bytes(dict(answer, ok=True, value=value), self.limits)
        except MemoryError:
            text = (f"TooLarge: the grader stopped {name} on these arguments: it needed more than "
                    f"{MAX_MEMORY >> 30} GiB of memory")
            return wire.encode_bytes(dict(answer, ok=False, error=text), self.limits)
        except TooLarge as e:
            text = clean(f"TooLarge: the grader does not run {name} on these arguments: {e}", 1000)
            return wire.encode_bytes(dict(answer, ok=False, error=text), self.limits)
        except Exception as e:
            text = clean(f"{type(e).__name__}: {e}", 1000)
            return wire.encode_bytes(dict(answer, ok=False, error=text), self.limits)
