"""What a failed call into student code looks like to the hidden tests.

StudentError carries a `kind` and a message that is safe to show the student: control
characters escaped, lengths capped, only the student's own traceback frames. It never
contains expected values: the worker never has them.
"""
from __future__ import annotations

import signal

KINDS = ("import-error", "missing", "exception", "timeout", "crash", "bad-output", "mutated-input")


class StudentError(Exception):
    """A call into student code failed. Safe to show the student.

    kind: "import-error"  the module could not be imported (SyntaxError, ImportError,
                          sys.exit or a crash or timeout while importing)
          "missing"       the module has no such function
          "exception"     the function raised (any BaseException, SystemExit included)
          "timeout"       the call ran past its wall-clock limit
          "crash"         the worker process died during the call (os._exit, a signal,
                          the memory or CPU limit)
          "bad-output"    the function returned something that cannot be received (an
                          object array, a set, an unknown record...) or the worker sent
                          garbage on the protocol pipe
          "mutated-input" the function returned, but changed an array it was given (an
                          argument, or one inside a cache, tuple, list or dict) in place;
                          the message names which (`cache.xhat`)
    message: one paragraph, control characters escaped, at most a few hundred characters;
    traceback: the student's own frames only ("" if none); output: what the call
    printed, truncated; type: the student's exception type name ("" if none);
    echo: the arguments a call asked back (Sandbox.call(echo=...)), as the student's code
    left them, when they could come back with the error, else None.
    """
    echo = None

    def __init__(self, kind, message, *, traceback="", output="", type="", module="",
                 function=""):
        assert kind in KINDS, kind
        self.kind, self.message, self.traceback = kind, clean(message, 2000), clean(traceback, 4000)
        self.output, self.type = output, clean(type, 200)
        self.module, self.function = module, function
        super().__init__(self.message)

    def describe(self) -> str:
        """The message, then the student's traceback and output, for a feedback page."""
        parts = [self.message]
        if self.traceback:
            parts.append(self.traceback.rstrip())
        if self.output:
            parts.append("Output:\n" + self.output.rstrip())
        return "\n\n".join(parts)

    def copy(self) -> "StudentError":
        return StudentError(self.kind, self.message, traceback=self.traceback, output=self.output,
                            type=self.type, module=self.module, function=self.function)


class SandboxError(RuntimeError):
    """The sandbox itself failed (e.g. the worker could not start): not the student's fault."""


def clean(text, limit) -> str:
    """`text` as a str of at most `limit` characters with control characters escaped."""
    text = text if isinstance(text, str) else str(text)
    if len(text) > limit:
        text = text[:limit] + f"... [{len(text) - limit} more characters]"
    return "".join(c if c.isprintable() or c in "\n\t" else repr(c)[1:-1] for c in text)


def exit_reason(code, memory_limit, cpu_limit) -> str:
    """Why the worker died, from its supervisor's exit status (code, or 128 + signal)."""
    if code is None:
        return "it stopped answering"
    if code < 0:                             # the supervisor itself was killed
        code = 128 - code
    if code == 0:
        return "the process exited with status 0 in the middle of the call (os._exit?)"
    if code > 128:
        sig = code - 128
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        hints = {signal.SIGKILL: "killed: by the code itself, the out-of-memory killer "
                                 f"(the limit is {memory_limit / 2**30:.1f} GiB), or the CPU "
                                 f"limit ({cpu_limit} s)",
                 signal.SIGXCPU: f"over the CPU time limit of {cpu_limit} s",
                 signal.SIGSEGV: "a segmentation fault", signal.SIGABRT: "aborted",
                 signal.SIGSYS: "a forbidden system call", signal.SIGBUS: "a bus error"}
        return f"{name} ({hints.get(sig, 'killed by a signal')})"
    if code in (65, 66, 70):                 # worker_main's own: it broke after student code ran
        return (f"the sandbox's own code in the worker failed (status {code}) after your code ran: did "
                f"your code replace a builtin or a standard-library function (builtins.isinstance, "
                f"print, json, os.write...)? The worker needs them to send your answer back; leave them "
                f"as they are")
    return f"the process exited with status {code} in the middle of the call"
