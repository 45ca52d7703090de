"""The isolation layer of the autograder: student code runs only in a confined worker.

    Sandbox          run a submission's functions in a worker process (proxy.py)
    StudentError     a failed call, with .kind, .message, .traceback, .output
    SandboxError     the sandbox itself failed (not the student's fault)
    CALLBACKS        placeholder argument for a namespace of parent-side callbacks
    Callback         placeholder argument for one parent-side callback function
    InsecureSandboxError   the worker would keep the grader's uid unconfined: refused
    compare          shape, dtype kind, finiteness, then scale-aware relative error
    WireError, Limits, Records   the wire format (wire.py)

See docs/sandbox.md for the threat model and what each protection does and does not stop.
"""
from grader.sandbox.compare import Comparison, compare, compare_all
from grader.sandbox.proxy import (CALLBACKS, KINDS, InsecureSandboxError, Sandbox, SandboxError,
                                  StudentError, exposure)
from grader.sandbox.wire import Callback, Callbacks, Limits, Records, WireError

__all__ = ["CALLBACKS", "Callback", "Callbacks", "Comparison", "InsecureSandboxError", "KINDS",
           "Limits", "Records", "Sandbox", "SandboxError", "StudentError", "WireError", "compare",
           "compare_all", "exposure"]
