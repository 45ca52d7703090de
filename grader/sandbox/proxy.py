"""The parent side of the sandbox: run a submission's functions in a confined worker.

    from grader.sandbox import CALLBACKS, Sandbox, StudentError

    with Sandbox("submissions/alice", library_dir="build/student", records=[tt.layers]) as sb:
        dx, dgamma, dbeta = sb.call("ex_layernorm", "layernorm_backward", dout, cache)
        dx, *dparams = sb.call("ex_ffn", "ffn_backward", dout, cache, CALLBACKS,
                               callbacks={"linear_backward": tt.linear_backward,
                                          "relu_backward": tt.relu_backward})
        sb.protections    # e.g. ["process", "timeout", "rlimits", "pid-namespace", ...]

The student's code runs only in the worker (grader/sandbox/worker_main.py), a separate
process that sees a private copy of the submission, the student edition of the library,
the standard library and NumPy, under whatever confinement this machine allows. Values
cross as copies on the wire (grader/sandbox/wire.py): arrays come back rebuilt from raw
bytes, records only as classes registered here. A failed call raises StudentError with
a `kind`; the next call runs on a fresh worker if the old one had to go.

Not thread-safe: use one Sandbox per thread (each is cheap: one worker process).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import weakref
from pathlib import Path
from typing import Any, Callable, Mapping

from grader.sandbox import replies, wire
from grader.sandbox.callbacks import CallbackServer
from grader.sandbox.channel import Channel, Dead, Garbage, Output, Timeout
from grader.sandbox.errors import KINDS, SandboxError, StudentError, clean, exit_reason
from grader.sandbox.files import default_hide, default_secrets, rmtree, worker_uid
from grader.sandbox.launch import launch, prepare_private_dir
from grader.sandbox.policy import DISABLEABLE, InsecureSandboxError, exposure
from grader.sandbox.wire import Callback, Callbacks, Limits, Records, WireError

CALLBACKS = Callbacks(())
"""Placeholder argument: replaced by a namespace of every function in `callbacks=`."""


class Sandbox:
    """Runs one submission's functions in a confined worker process.

    submission_dir: the student's files (copied; symlinks and special files are skipped).
    library_dir: the directory holding the student edition of the library; only the
        packages named in `library_packages` are copied from it. Never the reference!
    timeout: wall-clock seconds per call, unless call() says otherwise.
    import_timeout: wall-clock seconds to import a module (default max(timeout, 10)):
        generous, because a failed import is remembered for the whole session.
    memory_limit: bytes of address space (RLIMIT_AS) for the worker.
    records: NamedTuple classes (or modules, meaning all NamedTuples defined in them)
        that values coming back may be rebuilt as, by name. Other records are refused.
    record_module: where the worker looks up the classes of records it receives (in the
        student library, e.g. "tt" and its submodules); unknown ones become namedtuples.
    cpu_limit: CPU seconds for a worker's whole life (RLIMIT_CPU), default 20 x timeout
        (at least 60). file_limit: largest file it may write (RLIMIT_FSIZE); disk_limit:
        size of its private writable tmpfs (when a mount namespace is available);
        max_files: RLIMIT_NOFILE; max_procs: RLIMIT_NPROC (counts the uid's processes).
    output_limit: bytes of a call's stdout+stderr kept; the rest is counted only.
    uid: "auto" (when running as root, a uid of its own for each Sandbox: files.worker_uid),
        an int, or None: the uid the worker drops to.
    hide: directories the worker's mount namespace covers with an empty tmpfs; default:
        the repository, the site-packages directories, $HOME and the current directory.
    secrets: files and directories student code must never read; the worker tries each
        once it is confined, before any student code runs, and one it can read is refused
        like an unconfined worker. Default: the hidden suites, the reference, the solutions.
    disable: protections not to attempt, from DISABLEABLE (e.g. {"seccomp"}), for tests;
        "uid-drop" (or uid=None) stops the uid change.
    insecure: run student code even when the worker keeps the grader's uid without
        filesystem or process confinement (see `exposure`); otherwise starting such a
        worker raises InsecureSandboxError before any student code runs.
    allow_threads: let student code start threads (seccomp refuses them by default).
    limits: wire.Limits for every message in both directions.
    """

    def __init__(self, submission_dir, library_dir=None, *, timeout: float = 5.0,
                 import_timeout: float | None = None,
                 memory_limit: int = 2 << 30, records=(), record_module: str | None = "tt",
                 library_packages=("tt",), cpu_limit: int | None = None,
                 file_limit: int = 16 << 20, disk_limit: int = 64 << 20, max_files: int = 64,
                 max_procs: int = 64, output_limit: int = 10_000, uid="auto", hide=None, secrets=None,
                 disable=(), allow_threads: bool = False, limits: Limits = wire.LIMITS,
                 start_timeout: float = 30.0, python: str = sys.executable, insecure: bool = False):
        self.submission_dir = Path(submission_dir)
        self.library_dir = None if library_dir is None else Path(library_dir)
        if not self.submission_dir.is_dir():
            raise SandboxError(f"submission directory {submission_dir} does not exist")
        self.timeout, self.memory_limit = float(timeout), int(memory_limit)
        self.import_timeout = float(import_timeout or max(self.timeout, 10.0))
        self.records = records if isinstance(records, Records) else Records(*records)
        self.record_module, self.library_packages = record_module, tuple(library_packages)
        self.cpu_limit = int(cpu_limit or max(60, 20 * self.timeout))
        self.file_limit, self.disk_limit = int(file_limit), int(disk_limit)
        self.max_files, self.max_procs = int(max_files), int(max_procs)
        self.output_limit, self.limits = int(output_limit), limits
        self.uid = (worker_uid() if os.geteuid() == 0 else None) if uid == "auto" else uid
        self.hide = list(default_hide() if hide is None else hide)
        self.secrets = list(default_secrets() if secrets is None else secrets)
        self.disable, self.allow_threads = sorted(set(disable)), bool(allow_threads)
        if set(self.disable) - DISABLEABLE:
            raise ValueError(f"unknown protections {sorted(set(self.disable) - DISABLEABLE)}; "
                             f"known: {sorted(DISABLEABLE)}")
        if "uid-drop" in self.disable:
            self.uid = None
        self.insecure = bool(insecure)
        self.start_timeout, self.python = float(start_timeout), python
        self.skipped_files: list[str] = []     # not copied from the submission, and why
        self.restarts = 0                      # workers started after the first
        self.last_output = ""                  # what the last call printed (truncated)
        self._root = None
        self._w: Channel | None = None
        self._imported: list[str] = []
        self._importing: list[str] = []        # submission modules whose import is under way
        self._import_errors: dict[str, StudentError] = {}
        self._next_id = 1
        self._output = Output(self.output_limit)
        self._started = 0
        self._hello = None                     # the last worker's hello, kept after it is gone
        self._closed = False

    # ------------------------------------------------------------------ public API
    def __enter__(self) -> "Sandbox":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def start(self) -> "Sandbox":
        """Start the worker now (calls start it on demand anyway). Returns self."""
        if self._closed:
            raise SandboxError("this sandbox is closed")
        if self._w is None:
            self._spawn()
        return self

    def close(self) -> None:
        """Kill the worker and everything it started, and delete the private directory.
        Final: a closed sandbox never starts a worker again."""
        self._closed = True
        if self._w is not None:
            self._stop()
        if self._root is not None:
            self._remove_root()                # runs rmtree once, then never again
            self._root = None

    @property
    def private_dir(self) -> Path | None:
        """The worker's private directory (bin/, np/, lib/, sub/, run-*/), once prepared."""
        return self._root

    def _last_hello(self) -> dict:
        """The hello of the current worker, else of the last one; starts a worker only if
        none has started yet and the sandbox is open."""
        if self._w is not None and self._w.hello is not None:
            return self._w.hello
        if self._hello is None:
            self.start()                       # SandboxError once closed
        return self._hello

    @property
    def protections(self) -> list[str]:
        """The protections the worker reported active: the current one's, else the last
        one's (a worker is started only if none ever was, and never after close())."""
        return ["process", "timeout"] + list(self._last_hello()["protections"])

    @property
    def unavailable(self) -> dict[str, str]:
        """Protections that were not active, each with the reason."""
        return dict(self._last_hello()["unavailable"])

    @property
    def exposure(self) -> list[str]:
        """What the worker could do to this machine for want of confinement ([] if nothing):
        non-empty only with insecure=True, as such a worker is refused otherwise."""
        return exposure(self.protections, self._readable(self._last_hello()))

    @staticmethod
    def _readable(hello) -> list[str]:
        found = hello.get("readable", [])
        return [p for p in found if type(p) is str] if type(found) is list else []

    @property
    def worker_info(self) -> dict:
        """The worker's hello: pid (as it sees itself), uid, python and numpy versions."""
        return {k: v for k, v in self._last_hello().items() if k != "op"}

    @property
    def starts(self) -> int:
        """How many workers this sandbox has started (the first, and each restart)."""
        return self._started

    def ping(self, timeout: float | None = None) -> bool:
        """True if the worker answers (starting one if needed)."""
        return self._run({"op": "ping"}, timeout, None, "", "") == "pong"

    def import_module(self, name: str, timeout: float | None = None) -> list[str]:
        """Import a submission module in the worker; returns its public callables' names.

        Raises StudentError(kind="import-error"); the failure is remembered, so later
        calls into that module fail at once with the same error instead of re-running it.
        """
        if name in self._import_errors:
            raise self._import_errors[name].copy()
        timeout = self.import_timeout if timeout is None else timeout
        try:
            result = self._run({"op": "import", "module": name}, timeout, None, name, "")
        except StudentError as e:
            if e.kind != "import-error":     # a timeout, crash or garbage while importing
                e = StudentError("import-error", e.message, traceback=e.traceback,
                                 output=e.output, type=e.type, module=name)
            self._import_errors[name] = e
            raise e.copy() from None
        if name not in self._imported:
            self._imported.append(name)
        return list(result["functions"]) if isinstance(result, dict) else []

    def call(self, module: str, function: str, *args, callbacks: Mapping[str, Callable] | None = None,
             timeout: float | None = None, kwargs: Mapping[str, Any] | None = None,
             echo=(), then=()) -> Any:
        """module.function(*args, **kwargs) in the worker; returns a copy of its value.

        Arrays come back as plain ndarrays rebuilt from raw bytes, tuples as tuples,
        records as the registered classes. `callbacks` are functions of the parent the
        student code may call: through the CALLBACKS placeholder among the arguments, a
        namespace of all of them (e.g. reference sub-operations), or through a
        wire.Callback(name, bind) placeholder, one of them as a plain function (bound to
        the worker's current values of some arguments: an f() of the x being nudged).
        Any other name the worker asks for is refused.

        echo: indices of positional arguments to send back after the call, as the
        student's code left them; the call then returns (value, [those arguments]), and a
        StudentError of kind "exception" carries them as .echo (None if they could not
        come back). then: [(attribute, args, kwargs), ...], methods called on the value in
        the worker, in turn: call("ex15_capstone", "student_ops", then=[("relu_backward",
        (dout, cache), {})]) is student_ops().relu_backward(dout, cache), with no helper of
        the student's in between.

        Raises StudentError (see its kinds); after a timeout, crash or protocol garbage
        the worker is replaced and the next call starts a fresh one.
        """
        if module not in self._imported:
            self.import_module(module)
        callbacks = dict(callbacks or {})
        ns = Callbacks(sorted(callbacks))
        swap = lambda v: ns if v is CALLBACKS else v
        args = [swap(a) for a in args]
        kwargs = {k: swap(v) for k, v in (kwargs or {}).items()}
        steps = [{"attr": str(attr), "args": [swap(a) for a in a_args], "kwargs": {k: swap(v) for k, v in a_kw.items()}}
                 for attr, a_args, a_kw in then]
        used = [v for v in (*args, *kwargs.values(), *(x for s in steps for x in (*s["args"], *s["kwargs"].values())))]
        if any(v is ns for v in used) and not callbacks:
            raise ValueError("CALLBACKS was passed but callbacks= is empty")
        for v in used:
            if isinstance(v, Callback):
                if v.name not in callbacks:
                    raise ValueError(f"Callback {v.name!r} is not among callbacks=")
                if any(i >= len(args) or isinstance(args[i], (Callback, Callbacks)) for i in v.bind):
                    raise ValueError(f"Callback {v.name!r} binds {list(v.bind)}, which are not data arguments")
        echo = [int(i) for i in echo]
        if any(not 0 <= i < len(args) or isinstance(args[i], (Callback, Callbacks)) for i in echo):
            raise ValueError(f"echo={echo} must name data arguments among the {len(args)} given")
        msg = {"op": "call", "module": module, "function": function, "args": args, "kwargs": kwargs}
        if echo:
            msg["echo"] = echo
        if steps:
            msg["then"] = steps
        return self._run(msg, timeout, callbacks, module, function, echo=bool(echo))

    # ------------------------------------------------------------------ the worker
    def _prepare(self):
        """The private directory: worker code, numpy links, submission and library copies."""
        root, self.skipped_files = prepare_private_dir(self.submission_dir, self.library_dir,
                                                       self.library_packages, self.uid)
        self._root = root
        # removes the directory even if close() is never called (at exit at the latest)
        self._remove_root = weakref.finalize(self, rmtree, str(root))

    def _spawn(self):
        if self._closed:
            raise SandboxError("this sandbox is closed")
        if self._root is None:
            self._prepare()
        options = {
            "record_module": self.record_module, "uid": self.uid, "hide": self.hide,
            "secrets": self.secrets, "disable": self.disable, "allow_threads": self.allow_threads,
            "memory_limit": self.memory_limit, "cpu_limit": self.cpu_limit,
            "file_limit": self.file_limit, "disk_limit": self.disk_limit, "max_files": self.max_files,
            "max_procs": self.max_procs, "wire": self.limits.__dict__}
        self._w = w = launch(self.python, self._root, options, self._next_id, self.limits, self._output)
        self.restarts += self._started > 0
        self._started += 1
        self._output.clear()
        try:
            header, body = self._w.read_frame(time.monotonic() + self.start_timeout)
            hello = wire.decode_parts(header, body, self.limits)
            if not (type(hello) is dict and hello.get("op") == "hello"
                    and type(hello.get("protections")) is list
                    and type(hello.get("unavailable")) is dict):
                raise Garbage("bad hello")
        except (Dead, Timeout, Garbage, WireError) as e:
            output = self._output.take()
            self._stop()
            raise SandboxError(f"the sandbox worker did not start ({type(e).__name__.strip('_')}"
                               f"{': ' + str(e) if str(e) else ''}); its output: {output[:2000]!r}") from None
        w.hello = self._hello = hello
        gaps = exposure(["process", "timeout", *hello["protections"]], self._readable(hello))
        if gaps and not self.insecure:         # before any student code: nothing ran yet
            self._stop()
            uid = hello.get("uid")
            why = "; ".join(f"{k}: {v}" for k, v in sorted(hello["unavailable"].items())) or "none reported"
            raise InsecureSandboxError(
                f"refusing to run student code: the worker (uid {uid} as it sees itself) could "
                + ", and could ".join(gaps)
                + f". Unavailable protections: {why[:1500]}. Grade on a machine that allows a "
                  f"mount namespace, Landlock or seccomp (or where the uid drop works), make the "
                  f"grader's files unreadable to other users (chmod -R o-rwx), or pass "
                  f"--insecure to grade anyway, with a warning in every report.")
        for name in list(self._imported):    # a fresh worker: bring back the modules
            try:
                reply = self._exchange({"op": "import", "module": name}, self.import_timeout, None)
                if reply["ok"]:
                    continue
                error = StudentError(**{k: reply["error"][k] for k in ("kind", "message",
                                        "traceback", "type")}, module=name)
            except (Dead, Timeout, Garbage, WireError) as e:
                self._stop()
                error = StudentError("import-error", f"importing {name} again in a fresh worker "
                                     f"failed ({type(e).__name__.strip('_').lower()})", module=name)
            self._imported.remove(name)      # it worked before, not now: remember the failure
            self._import_errors[name] = error
            if self._w is None:
                return self._spawn()

    def _stop(self, dying=False) -> int | None:
        """Stop the worker (the supervisor kills its whole tree); its exit status.

        dying: the worker is known to have gone (its pipe closed), so first give the
        supervisor a moment to exit by itself with the worker's own status.
        """
        w, self._w = self._w, None
        if w is None:
            return None
        if dying:
            try:
                w.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
        os.close(w.lifeline)                 # the supervisor wakes up and kills everything
        try:
            code = w.proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(w.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            code = w.proc.wait()
        w.drain_output()
        w.close_fds()
        rmtree(w.run)
        return code

    # ------------------------------------------------------------------ one request
    def _run(self, msg, timeout, callbacks, module, function, echo=False):
        """Send one request on a live worker and turn the answer into a value or error."""
        timeout = self.timeout if timeout is None else float(timeout)
        w = self._w
        if w is not None and (w.threads or w.proc.poll() is not None or w.hung_up()):
            self._stop()                     # died or left threads behind between calls
        if self._w is None:
            self._spawn()
        self._w.drain_output()
        self._output.clear()
        what = f"{module}.{function}()" if function else (f"the import of {module}" if module else "ping")
        err = lambda kind, message: StudentError(kind, message, output=self._output.take(),
                                                 module=module, function=function)
        try:
            reply = self._exchange(msg, timeout, callbacks)
        except Timeout:
            self._stop()
            where = self._culprit(module, f"its import timed out after {timeout:.1f} s (an infinite loop "
                                          f"at the top level of its file?)")
            raise err("timeout", f"{what} timed out after {timeout:.1f} s{where} "
                                 "(an infinite loop, or far too slow?)") from None
        except Dead:
            code = self._stop(dying=True)
            reason = exit_reason(code, self.memory_limit, self.cpu_limit)
            where = self._culprit(module, f"the worker died while importing it: {reason}")
            raise err("crash", f"the worker died during {what}{where}: {reason}") from None
        except (Garbage, WireError) as e:
            self._stop()
            raise err("bad-output", f"{what} sent something that is not a valid answer "
                                    f"({clean(e, 300)})") from None
        self._w.drain_output()
        self.last_output = self._output.take()
        echoed, why = replies.echoed(msg, reply) if echo else (None, "")
        if reply["ok"]:
            if reply.get("changed"):
                raise replies.changed_inputs(msg, reply["changed"], module, function, self.last_output)
            if why:
                raise StudentError("bad-output", f"{what} {why}", output=self.last_output, module=module,
                                   function=function)
            return (reply["value"], echoed) if echo else reply["value"]
        e = reply["error"]
        error = StudentError(e["kind"], e["message"], traceback=e["traceback"], output=self.last_output,
                             type=e["type"], module=module, function=function)
        error.echo = echoed                  # None if they could not come back as they were sent
        raise error

    def _exchange(self, msg, timeout, callbacks):
        """Send `msg` with a fresh id and return the validated result message."""
        w = self._w
        mid = msg["id"] = self._next_id
        self._next_id += 1
        self._importing = []
        if self._import_errors:          # the worker refuses these at once, however imported
            msg["broken"] = {k: e.message[:500] for k, e in self._import_errors.items()}
        deadline = time.monotonic() + timeout
        self._w.write(wire.encode_bytes(msg, self.limits), deadline)
        stale = 0
        server = CallbackServer(callbacks, self.limits, self.records, mid)
        while True:
            header, body = self._w.read_frame(deadline)
            m = header["m"]
            op, rid = (m.get("op"), m.get("id")) if type(m) is dict else (None, None)
            if type(rid) is int and w.first_id <= rid < mid and stale < 1000:
                stale += 1                   # a late or forged frame of an earlier request
                continue
            if rid == mid and op == "note":    # a submission module's import started or ended
                name, done = m.get("import"), m.get("done")
                if type(name) is str and type(done) is bool and len(self._importing) < 100:
                    if not done:
                        self._importing.append(name[:200])
                    elif name[:200] in self._importing:
                        del self._importing[len(self._importing) - 1 - self._importing[::-1].index(name[:200])]
                continue
            if rid != mid or op not in ("result", "callback"):
                raise Garbage(f"unexpected message (op {str(op)[:20]!r}, id {str(rid)[:20]})")
            if op == "callback":
                answer, body = server.answer(m, header, body, deadline), None   # the frame goes now
                w.write(answer, deadline)
                continue
            try:
                reply = wire.decode_parts(header, body, self.limits, records=self.records)
                body = None                  # the decoded arrays are the only copy kept
            except WireError as e:
                if type(m.get("ok")) is not bool:
                    raise
                return {"ok": False, "error": {"kind": "bad-output", "type": "WireError",
                        "message": f"the function returned something the grader cannot receive: {e}",
                        "traceback": ""}}
            reply, w.threads = replies.checked(reply)
            return reply

    def _culprit(self, module, failure) -> str:
        """', while importing exNN' when another submission module's import was under way
        when the worker hung or died; that module is then remembered as failing to import."""
        if not self._importing or self._importing[-1] == module:
            return ""
        name = self._importing[-1]
        self._import_errors.setdefault(name, StudentError("import-error", f"importing {name} failed: {failure}",
                                                          module=name))
        return f", while importing {name} (which it imports, directly or not)"
