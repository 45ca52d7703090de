"""Forked worker processes for `tt problems grade`: each grades students one at a time
under a memory limit, and the parent kills and replaces a worker that runs over its time.

    run_isolated(tasks, jobs, timeout, memory, done, work, fail)

`work(task) -> outcome` runs in the worker; `fail(task, why) -> outcome` in the parent,
for a student whose worker crashed or ran over; `done(outcome)` in the parent as each
student finishes.
"""
from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import time
from collections import deque

WORKER_TASKS = 50            # students one worker process grades before it is replaced


def _limit_memory(extra: int) -> None:
    """Let this process grow by at most `extra` bytes of address space (Linux)."""
    try:
        import resource
        with open("/proc/self/statm") as f:
            size = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = size + extra
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, OSError, ValueError):
        pass


def _serve(conn, memory: int, work) -> None:
    """A worker: grade the tasks the parent sends, one at a time, until told to stop."""
    if memory:
        _limit_memory(memory)
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            break
        if task is None:
            break
        try:
            result = ("ok", work(task))
        except BaseException as exc:   # noqa: BLE001 - reported to the parent
            result = ("failed", f"{type(exc).__name__}: {str(exc)[:200]}")
        try:
            conn.send(result)
        except Exception as exc:       # e.g. MemoryError while pickling
            conn.send(("failed", f"the result could not be returned ({type(exc).__name__})"))
    conn.close()


class _Worker:
    """One forked grading process and the task it is working on."""

    def __init__(self, ctx, memory: int, work):
        self.conn, theirs = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(theirs, memory, work), daemon=True)
        self.proc.start()
        theirs.close()
        self.task = None
        self.deadline = 0.0
        self.graded = 0

    def start(self, task, timeout: float) -> None:
        self.task, self.deadline = task, time.monotonic() + timeout
        self.conn.send(task)

    def stop(self) -> None:
        try:
            self.conn.send(None)
            self.proc.join(5)
        except (OSError, ValueError):
            pass
        self.kill()

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join()
        self.conn.close()


def run_isolated(tasks: list, jobs: int, timeout: float, memory: int, done, work, fail) -> None:
    """Grade the tasks in `jobs` forked worker processes. A worker that is still on one
    student after `timeout` seconds is killed (it is one of ours) and replaced; the
    student gets status error. Workers are replaced after WORKER_TASKS students, so no
    one inherits much of another's memory."""
    ctx = multiprocessing.get_context("fork")
    queue = deque(tasks)
    workers: list[_Worker] = []
    try:
        def refill():
            for i, w in enumerate(workers):
                if w.task is None and queue:
                    if w.graded >= WORKER_TASKS:
                        w.stop()
                        workers[i] = w = _Worker(ctx, memory, work)
                    w.start(queue.popleft(), timeout)
            while queue and len(workers) < jobs:
                workers.append(_Worker(ctx, memory, work))
                workers[-1].start(queue.popleft(), timeout)

        while queue or any(w.task for w in workers):
            refill()
            busy = {w.conn: w for w in workers if w.task is not None}
            wait = max(0.0, min(w.deadline for w in busy.values()) - time.monotonic())
            ready = multiprocessing.connection.wait(list(busy), timeout=wait)
            for conn in ready:
                w = busy[conn]
                task, w.task = w.task, None
                try:
                    kind, value = conn.recv()
                except (EOFError, OSError):
                    w.proc.join(5)
                    kind, value = "failed", (f"the grading process ended without a result "
                                             f"(exit code {w.proc.exitcode})")
                    w.kill()
                    workers.remove(w)
                w.graded += 1
                refill()            # the worker starts its next student while we record this one
                done(value if kind == "ok" else fail(task, value))
            now = time.monotonic()
            for conn, w in busy.items():
                if conn not in ready and w.task is not None and now >= w.deadline:
                    task = w.task
                    w.kill()
                    workers.remove(w)
                    done(fail(task, f"it took longer than {timeout:g} s"))
    finally:
        for w in workers:
            if w.task is None:
                w.stop()
            else:
                w.kill()
