"""The sandbox worker: runs student code in a confined process and answers the parent.

Copied with worker_setup.py, wire.py, confine.py and supervisor.py into a private directory, started by
grader.sandbox.proxy as

    python -I -B -S <dir>/worker_main.py '<json config>'

That process is the *supervisor*: it enters new namespaces where it can, forks the
*worker*, and then only waits. When the parent closes the lifeline pipe (or dies), or
the worker exits, the supervisor kills every process the worker left behind (with a
PID namespace the kernel does it; otherwise it is their subreaper) and exits with the
worker's status: the code, or 128 + the signal number.

The worker confines itself before any student code runs (worker_setup.py: mount
namespace, resource limits, Landlock, capabilities or a dedicated uid, seccomp; each
where available),
sends a "hello" naming the protections that held, and then serves requests:

    {"op": "ping", "id"}                         -> value "pong"
    {"op": "import", "id", "module"}             -> value {"functions": [...]}
    {"op": "call", "id", "module", "function", "args", "kwargs"[, "echo"][, "then"]}
                                                 -> the return value
    responses: {"op": "result", "id", "ok": true, "value", "threads"[, "echo"][, "changed"]}
               {"op": "result", "id", "ok": false, "error": {kind, type, message, traceback}
                [, "echo"]}

"changed": [{"at": [scope, arg, *indices], "param": name}, ...] lists the input arrays the
call changed in place (grader/sandbox/inputs.py); the parent checks each against its own
inputs and fails the call ("mutated-input").

A call's top-level arguments may hold wire.Callback placeholders: each becomes a
function that calls the parent back, with the current values of the arguments it binds.
"echo": [i, ...] sends those positional arguments back after the call (as the student's
code left them), with the result or the error. "then": [{"attr", "args", "kwargs"}, ...]
calls a method of the value, and so on (student_ops().layernorm_backward(...)).

During a call the worker may send {"op": "callback", "id", "seq", "name", "args",
"kwargs"} and then waits for {"op": "callback-result", "id", "seq", "ok", "value" |
"error"}. Student stdout and stderr go to a third pipe that the parent reads, capped.
"""
import _thread
import collections
import importlib
import importlib.machinery
import inspect
import json
import os
import signal
import sys
import threading
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
STDLIB = [p for p in sys.path if p]       # with -I -S this is exactly the standard library
CFG = json.loads(sys.argv[1]) if __name__ == "__main__" else {}
sys.path[:0] = [HERE, CFG.get("np", HERE)]
import confine  # noqa: E402
import inputs  # noqa: E402
import numpy  # noqa: E402,F401   before the fork, so the worker starts with it loaded
import wire  # noqa: E402
from supervisor import supervise  # noqa: E402
from worker_setup import Report, Setup, readable  # noqa: E402

del sys.path[0]                           # the worker's own files; numpy's directory stays


def main():
    cfg = CFG
    for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    report = Report(cfg["disable"])
    try:
        confine.prctl(confine.PR_SET_CHILD_SUBREAPER, 1)
    except OSError:
        pass
    if os.getuid() != 0:
        report.attempt("user-namespace", confine.enter_user_namespace)
    report.attempt("pid-namespace", confine.unshare, confine.CLONE_NEWPID)
    report.attempt("net-namespace", confine.unshare, confine.CLONE_NEWNET)
    # System V IPC objects of its own, which the kernel removes with the namespace
    report.attempt("ipc-namespace", confine.unshare, confine.CLONE_NEWIPC)
    pid = os.fork()
    if pid == 0:
        code = 70
        try:
            code = Worker(cfg, report).serve()
        except BaseException as e:       # a bug of ours: say so on stderr, which the parent keeps
            where = ""
            tb = e.__traceback__
            while tb is not None:
                where = f" (at {os.path.basename(tb.tb_frame.f_code.co_filename)}:{tb.tb_lineno})"
                tb = tb.tb_next
            os.write(2, f"sandbox worker failed: {type(e).__name__}: {e}{where}\n".encode(errors="replace"))
        finally:
            os._exit(code)
    supervise(cfg, pid)


# ------------------------------------------------------------------------------ worker
class CallbackError(Exception):
    """A callback (a reference operation run by the grader) raised an exception."""


class Worker:
    def __init__(self, cfg, report):
        self.cfg, self.report = cfg, report
        self.req, self.resp = cfg["req_fd"], cfg["resp_fd"]
        self.limits = wire.Limits(**cfg["wire"])
        self.sub, self.lib = cfg["sub"], cfg["lib"]
        self.in_call, self.seq, self.records = None, 0, {}
        self.current, self.broken = None, {}     # the request being served; modules known to fail

    # ---------------------------------------------------------------------- set-up
    def confine(self):
        Setup(self.cfg, self.report, STDLIB, (self.req, self.resp)).apply()
        sys.path[:0] = [self.lib, self.sub]
        finders = sys.meta_path
        at = next((i for i, f in enumerate(finders) if f is importlib.machinery.PathFinder), len(finders))
        finders.insert(at, ImportNotes(self))
        sys.stdout.reconfigure(line_buffering=True)
        sys.stderr.reconfigure(line_buffering=True)

    # ------------------------------------------------------------------- protocol
    def send(self, value):
        wire.write_frame(self.resp, value, self.limits)

    def recv(self):
        """The next request; its decoding problems become a dict with op 'undecodable'."""
        (hlen,) = wire._PREFIX.unpack(wire.read_exact(self.req, 4))
        header, blen = wire.parse_header(wire.read_exact(self.req, hlen), self.limits)
        body = wire.read_exact(self.req, blen)
        try:
            return wire.decode_parts(header, body, self.limits, records=self.record_class,
                                     callbacks=self.callbacks, callback=lambda c: c)
        except Exception as e:
            m = header["m"] if type(header["m"]) is dict else {}
            return {"op": "undecodable", "id": m.get("id"), "was": m.get("op"),
                    "seq": m.get("seq"), "error": f"{type(e).__name__}: {e}"}

    def serve(self):
        self.confine()                 # everything the worker imports is imported by now
        self.send({"op": "hello", "pid": os.getpid(), "uid": os.getuid(),
                   "protections": self.report.active, "unavailable": self.report.unavailable,
                   "readable": [p for p in self.cfg.get("secrets", []) if readable(p)],
                   "python": sys.version.split()[0], "numpy": numpy.__version__})
        while True:
            try:
                msg = self.recv()
            except (EOFError, OSError):
                return 0
            op, mid = msg.get("op"), msg.get("id")
            broken = msg.get("broken")
            self.current = mid
            self.broken = {k: v for k, v in broken.items() if type(v) is str} if type(broken) is dict else {}
            if op == "ping":
                self.reply(mid, "pong")
            elif op == "import":
                self.do_import(mid, msg["module"])
            elif op == "call":
                self.do_call(mid, msg)
            elif op == "undecodable":
                self.fail(mid, "exception", "ValueError",
                          f"the worker could not rebuild the arguments: {msg['error']}")
            else:
                return 65

    def note(self, module, done):
        """Tell the parent a submission module's import started (or ended) within the
        current request, so that a hang or a crash in it can be put down to that module."""
        if self.current is not None:
            safe(lambda: self.send({"op": "note", "id": self.current, "import": module, "done": done}), None)

    def reply(self, mid, value, echo=None, changed=()):
        threads = max(threading.active_count() - 1, _thread._count())
        msg = {"op": "result", "id": mid, "ok": True, "value": value, "threads": threads}
        if changed:                        # inputs the call changed in place (the parent decides)
            msg["changed"] = list(changed)
        if echo is not None and safe(lambda: wire.encode(echo, self.limits) and True, False):
            msg["echo"] = echo             # only if it can be sent: never at the value's cost
        try:
            frame = wire.encode(msg, self.limits)
        except BaseException as e:      # the student's value (or its __iter__...) was bad
            return self.fail(mid, "bad-output", type(e).__name__, describe_bad(value, e), echo=echo)
        flush()
        for chunk in frame:
            mv = memoryview(chunk).cast("B")
            while mv:
                mv = mv[os.write(self.resp, mv):]

    def fail(self, mid, kind, etype, message, tb="", echo=None):
        flush()
        msg = {"op": "result", "id": mid, "ok": False,
               "error": {"kind": kind, "type": clip(etype, 200), "message": clip(message, 2000),
                         "traceback": clip(tb, 4000)}}
        if echo is not None:
            msg["echo"] = echo
        try:
            self.send(msg)
        except wire.WireError:          # the echo could not be sent: the error alone
            msg.pop("echo", None)
            self.send(msg)

    def fail_exc(self, mid, kind, e, while_importing=None, echo=None):
        safe(lambda: traceback.clear_frames(e.__traceback__), None)   # free a MemoryError's hoard
        etype = safe(lambda: type(e).__name__, "BaseException")
        if isinstance(e, SystemExit):
            msg = f"called sys.exit({safe(lambda: repr(e.code)[:100], '?')})"
        else:
            text = safe(lambda: str(e), "<unprintable exception>")
            msg = f"{etype}: {text}" if text else etype
        msg += safe(lambda: refusal_hint(e, self.report.active), "")
        if while_importing:
            msg = f"importing {while_importing} failed: {msg}"
        self.fail(mid, kind, etype, msg, safe(lambda: self.student_traceback(e), ""), echo=echo)

    def student_traceback(self, e):
        """The student's own frames only, with paths relative to the submission."""
        prefix = self.sub.rstrip("/") + "/"
        lines = []
        for f in traceback.extract_tb(e.__traceback__)[-30:]:
            if f.filename.startswith(prefix):
                lines.append(f'  File "{f.filename[len(prefix):]}", line {f.lineno}, in {f.name}')
                if f.line:
                    lines.append("    " + f.line.strip())
        tail = "".join(traceback.format_exception_only(type(e), e)).replace(prefix, "")
        head = "Traceback (your code, most recent call last):\n" if lines else ""
        return head + "\n".join(lines[-16:]) + ("\n" if lines else "") + tail

    def do_import(self, mid, name):
        if not isinstance(name, str) or not all(p.isidentifier() for p in name.split(".")):
            return self.fail(mid, "import-error", "ValueError", f"bad module name {name!r}")
        try:
            mod = importlib.import_module(name)
        except BaseException as e:
            sys.modules.pop(name, None)
            return self.fail_exc(mid, "import-error", e, while_importing=name)
        finally:
            os.chdir(os.path.join(self.cfg["run"], "cwd"))
        names = safe(lambda: sorted(k for k, v in vars(mod).items()
                                    if type(k) is str and not k.startswith("_") and callable(v)), [])
        self.reply(mid, {"functions": names[:1000]})

    def do_call(self, mid, msg):
        name, function = msg["module"], msg["function"]
        mod = sys.modules.get(name)
        if mod is None:
            try:
                mod = importlib.import_module(name)
            except BaseException as e:
                sys.modules.pop(name, None)
                return self.fail_exc(mid, "import-error", e, while_importing=name)
        fn = safe(lambda: getattr(mod, function, None), None)
        if fn is None or not callable(fn):
            return self.fail(mid, "missing", "AttributeError",
                             f"{name} has no function {function}"
                             + (" (it is not callable)" if fn is not None else ""))
        args = msg["args"]
        try:
            args = [a.resolve(args, self.rpc(a.name)) if isinstance(a, wire.Callback) else a for a in args]
            kwargs = {k: v.resolve(args, self.rpc(v.name)) if isinstance(v, wire.Callback) else v
                      for k, v in msg["kwargs"].items()}
            echo_at = [i for i in msg.get("echo") or () if type(i) is int and 0 <= i < len(args)]
            then = list(msg.get("then") or ())
        except Exception as e:
            return self.fail(mid, "exception", "ValueError", f"malformed call: {type(e).__name__}: {e}")
        echo = lambda: [args[i] for i in echo_at] if "echo" in msg else None
        # the arguments a test binds to a callback or asks back are its own to check
        skip = set(echo_at) | {i for a in msg["args"] if isinstance(a, wire.Callback) for i in a.bind}
        steps = [(step.get("args", ()), step.get("kwargs", {})) for step in then]
        watch = safe(lambda: inputs.snapshot(args, kwargs, steps, skip), [])
        called = [fn]
        self.in_call, self.seq = mid, 0
        try:
            value = fn(*args, **kwargs)
            for step in then:          # e.g. student_ops().layernorm_backward(dout, cache)
                method = getattr(value, step["attr"])
                called.append(method)
                value = method(*step.get("args", ()), **step.get("kwargs", {}))
        except BaseException as e:
            self.in_call = None
            return self.fail_exc(mid, "exception", e, echo=safe(echo, None))
        finally:
            self.in_call = None
            safe(lambda: os.chdir(os.path.join(self.cfg["run"], "cwd")), None)
        changes = safe(lambda: inputs.changed(watch), [])
        report = [{"at": path, "param": safe(lambda: parameter(called[path[0] + 1], path[1]), None)}
                  for path in changes]
        self.reply(mid, value, echo=safe(echo, None), changed=report)

    # ------------------------------------------------------------------ records, callbacks
    def record_class(self, name, fields):
        """The student library's NamedTuple called `name` with these fields, else a stand-in."""
        key = (name, fields)
        if key not in self.records:
            cls = None
            modname = self.cfg["record_module"]
            if modname:
                try:
                    importlib.import_module(modname)
                except Exception:
                    pass
                for mname, m in list(sys.modules.items()):
                    if mname == modname or mname.startswith(modname + "."):
                        c = getattr(m, name, None)
                        if isinstance(c, type) and issubclass(c, tuple) \
                                and getattr(c, "_fields", None) == fields:
                            cls = c
                            break
            if cls is None:
                cls = collections.namedtuple(name, fields)
            self.records[key] = cls
        return self.records[key]

    def callbacks(self, names):
        """The namespace a Callbacks placeholder becomes: attributes that call the parent.

        It is itself a wire.Callbacks, so student code may pass it on to a callback
        (e.g. ops.attention_backward(d, cache, ops)); the parent then sees its own
        functions of those names.
        """
        ns = wire.Callbacks(names)
        for n in names:
            setattr(ns, n, self.rpc(n))
        return ns

    def rpc(self, name):
        def callback(*args, **kwargs):
            if self.in_call is None:
                raise RuntimeError(f"{name} can only be called during the call that received it")
            self.seq += 1
            try:
                self.send({"op": "callback", "id": self.in_call, "seq": self.seq, "name": name,
                           "args": list(args), "kwargs": kwargs})
            except wire.WireError as e:
                raise TypeError(f"cannot pass these arguments to {name}: {e}") from None
            reply = self.recv()
            if reply.get("op") == "undecodable" and reply.get("was") == "callback-result" \
                    and reply.get("seq") == self.seq:
                raise CallbackError(f"the result of {name} could not be rebuilt: {reply['error']}")
            if reply.get("op") != "callback-result" or reply.get("seq") != self.seq:
                os._exit(66)                   # the parent broke the protocol: give up
            if reply["ok"]:
                return reply["value"]
            raise CallbackError(f"{name} raised {reply['error']}")
        callback.__name__ = callback.__qualname__ = name
        return callback


class ImportNotes:
    """A meta-path finder just before the path finder (so the order of sys.path holds):
    for a module that the search finds in the submission it has the loader tell the parent
    when the import starts and ends, and it refuses at once a module the parent knows
    fails to import (no second timeout for ex01 when ex15 imports it)."""

    def __init__(self, worker):
        self.worker = worker

    def find_spec(self, name, path=None, target=None):
        w = self.worker
        if path is not None or w.current is None:
            return None
        if name in w.broken:
            raise ImportError(f"{name} could not be imported: {w.broken[name]}", name=name)
        spec = importlib.machinery.PathFinder.find_spec(name)
        origin = getattr(spec, "origin", None)
        if spec is None or type(origin) is not str or not origin.startswith(w.sub.rstrip("/") + "/") \
                or not hasattr(spec.loader, "exec_module"):
            return None
        run = spec.loader.exec_module

        def exec_module(module):
            w.note(name, False)
            try:
                run(module)
            finally:
                w.note(name, True)
        spec.loader.exec_module = exec_module
        return spec


# ---------------------------------------------------------------------------- helpers
NO_PROCESSES = (" (the grader's sandbox does not let student code start processes{threads}, run "
                "programs or open sockets: os.fork, subprocess, multiprocessing, os.system{thread_api} and "
                "the network are refused; compute everything in this process)")


def refusal_hint(e, active):
    """What a refused system call means, for an error that seccomp caused."""
    if "seccomp" not in active:
        return ""
    if type(e) is PermissionError and e.errno == 1:        # EPERM: what the filter answers
        return NO_PROCESSES.format(threads=" or threads", thread_api=", threading")
    if type(e) is RuntimeError and "can't start new thread" in str(e):
        return NO_PROCESSES.format(threads=" or threads", thread_api=", threading")
    return ""


def parameter(fn, arg):
    """The name of positional parameter `arg` of the student's function, for messages."""
    if type(arg) is not int:
        return arg
    params = [p for p in inspect.signature(fn).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)]
    if arg < len(params) and params[arg].kind != params[arg].VAR_POSITIONAL:
        return params[arg].name
    return None


def safe(fn, default):
    try:
        return fn()
    except BaseException:
        return default


def clip(s, n):
    s = s if type(s) is str else safe(lambda: str(s), "?")
    return s if len(s) <= n else s[:n] + f"... [{len(s) - n} more characters]"


def flush():
    for stream in (sys.stdout, sys.stderr):
        safe(stream.flush, None)


def describe_bad(value, e):
    what = safe(lambda: wire._describe(value), "a value")
    if isinstance(e, wire.WireError):
        return f"the function returned something the grader cannot receive: {e}"
    return f"the function returned {what}, which could not be sent: " \
           f"{safe(lambda: type(e).__name__ + ': ' + str(e), 'error')}"


if __name__ == "__main__":
    main()
