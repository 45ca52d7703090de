"""What the worker's answer to a call must be before the parent believes it.

    reply, threads = checked(reply)                 # Garbage unless it is a well-formed answer
    echoed, why = echoed(msg, reply)                # the arguments sent back, as the code left them
    raise changed_inputs(msg, changes, module, function, output)   # inputs changed in place

A reply is the worker's message {"ok": True, "value", "threads", "echo"?, "changed"?} or
{"ok": False, "error": {"kind", "type", "message", "traceback"}}. Everything in it is the
student's doing: what is malformed is Garbage (the call's bad output), never trusted.
"""
from __future__ import annotations

from grader.sandbox import inputs
from grader.sandbox.channel import Garbage
from grader.sandbox.errors import KINDS, StudentError


def checked(reply) -> tuple[dict, int]:
    """(reply, the threads the student's code left running) for a well-formed reply."""
    ok = reply.get("ok")
    if type(reply.get("echo", [])) is not list:
        raise Garbage("a malformed echo")
    if ok is True and "value" in reply:
        threads = reply.get("threads")
        return reply, threads if type(threads) is int and threads > 0 else 0
    e = reply.get("error")
    if ok is False and type(e) is dict and e.get("kind") in KINDS and all(
            type(e.get(k)) is str for k in ("type", "message", "traceback")):
        return reply, 0
    raise Garbage("a malformed result")


def echoed(msg, reply):
    """(the echoed arguments, "") if they came back shaped as we sent them, else (None, why):
    an argument is changed in place, never replaced by something else."""
    echo = reply.get("echo")
    sent = [msg["args"][i] for i in msg.get("echo", ())]
    if type(echo) is not list or len(echo) != len(sent):
        return None, ("left arguments that cannot be sent back (the grader asked for them "
                      "after the call, as your code left them)")
    for i, before, after in zip(msg.get("echo", ()), sent, echo):
        problem = inputs.mismatch(before, after)
        if problem:
            return None, f"left its argument {i + 1} changed into something else: {problem}"
    return echo, ""


def changed_inputs(msg, changes, module, function, output) -> StudentError:
    """The error for a call that changed some of its inputs in place: the worker's
    report, each path checked against our own copy of the inputs and named from it."""
    steps = [(s["args"], s["kwargs"]) for s in msg.get("then", ())]
    labels, scope = [], None
    for change in changes[:inputs.MAX_REPORTED] if type(changes) is list else [None]:
        at = change.get("at") if type(change) is dict else None
        found = inputs.resolve(at, msg.get("args", []), msg.get("kwargs", {}), steps)
        if found is None:
            return StudentError("bad-output", f"{module}.{function}() sent a malformed report of the "
                                f"inputs it changed", output=output, module=module, function=function)
        _, words, tail = found
        scope = at[0] if scope is None else scope
        if at[0] == scope:
            labels.append(inputs.label(words, at[1], tail, change.get("param")))
    name = function if scope == -1 else f"{msg['then'][scope]['attr']} (of {function}())"
    return StudentError("mutated-input", inputs.message(name, labels), output=output,
                        module=module, function=function)
