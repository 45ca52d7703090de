"""The parent's side of callbacks: running the functions a call offered, for the worker.

During a call the student's code may call a function of the parent (a reference piece
passed as `ops`, an f() of exercise 10): the worker sends {"op": "callback", "id", "seq",
"name", "args", "kwargs"} and waits for the answer. Only the names in that call's
`callbacks=` run; the answer, or the exception as text, goes back to the student's code.
"""
from __future__ import annotations

from grader.sandbox import wire
from grader.sandbox.channel import Garbage
from grader.sandbox.errors import clean


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

    def answer(self, m, header, body) -> bytes:
        """The frame answering callback request `m` (whose frame is header, body)."""
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
            value = fn(*args, **kwargs)
            return wire.encode_bytes(dict(answer, ok=True, value=value), self.limits)
        except Exception as e:
            text = clean(f"{type(e).__name__}: {e}", 1000)
            return wire.encode_bytes(dict(answer, ok=False, error=text), self.limits)
