"""The worker's supervisor: waits for the worker, then kills everything it left behind.

Part of the worker's private copy (with worker_main.py). The supervisor runs no student
code. It is the worker's parent and, through PR_SET_CHILD_SUBREAPER, the new parent of
every orphan below it, so even a process that called setsid() is found: via
/proc/<pid>/task/<tid>/children, frozen with SIGSTOP (a fork bomb cannot outrun that),
then killed. With a PID namespace the kernel does this anyway when the worker, its
init, dies.
"""
import os
import select
import signal


def supervise(cfg, child):
    """Wait for the worker `child` or the parent's hang-up; then clean up and exit."""
    for fd in (cfg["req_fd"], cfg["resp_fd"]):
        os.close(fd)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    lifeline = cfg["lifeline_fd"]
    signal.signal(signal.SIGTERM, lambda *_: (kill_all(child), os._exit(143)))
    try:
        pidfd = os.pidfd_open(child)
    except (AttributeError, OSError):
        pidfd = None
    poller = select.poll()
    poller.register(lifeline, select.POLLIN | select.POLLHUP)
    if pidfd is not None:
        poller.register(pidfd, select.POLLIN)
    status = None
    while status is None:
        events = poller.poll(None if pidfd is not None else 100)
        done, st = os.waitpid(child, os.WNOHANG)
        if done:
            status = st                 # the worker's own status wins over a lifeline hang-up
        elif any(fd == lifeline for fd, _ in events):
            kill_all(child)
            remove_ipc(cfg.get("uid"))
            os._exit(143)
    kill_all(None)
    remove_ipc(cfg.get("uid"))
    code = os.waitstatus_to_exitcode(status)
    os._exit(code if code >= 0 else 128 - code)


def children_of(pid):
    """Direct children of `pid` (all threads), from /proc."""
    kids = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids += [int(p) for p in f.read().split()]
    except OSError:
        pass
    return kids


def descendants():
    seen, todo = [], children_of(os.getpid())
    while todo:
        p = todo.pop()
        if p not in seen:
            seen.append(p)
            todo += children_of(p)
    return seen


def kill_all(child):
    """SIGKILL the worker, then freeze and kill every process left below us, and reap."""
    if child is not None:
        try:
            os.kill(child, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for _ in range(200):                # a PID namespace needs one round; a fork bomb more
        procs = descendants()
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            for p in procs:
                try:
                    os.kill(p, sig)
                except ProcessLookupError:
                    pass
        while True:
            try:
                done, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if not done:
                break
        if not procs:
            try:
                os.waitpid(-1, 0)       # something is still exiting: wait for it
            except ChildProcessError:
                return


IPC_RMID = 0
IPC_TABLES = (("shm", "shmid", "shmctl"), ("msg", "msqid", "msgctl"), ("sem", "semid", "semctl"))


def remove_ipc(uid):
    """Remove the System V IPC objects owned by the worker's own uid (a uid no one else
    has), where neither an IPC namespace nor seccomp kept the worker from making them."""
    if type(uid) is not int:
        return
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return
    for table, id_column, ctl in IPC_TABLES:
        try:
            with open(f"/proc/sysvipc/{table}") as f:
                header, *rows = [line.split() for line in f]
            at = [header.index(c) for c in ("uid", "cuid")]
            ident_at = header.index(id_column)
        except (OSError, ValueError):
            continue
        for row in rows:
            try:
                ident, owners = int(row[ident_at]), {int(row[i]) for i in at}
            except (ValueError, IndexError):
                continue
            if uid in owners:
                getattr(libc, ctl)(ctypes.c_int(ident), ctypes.c_int(IPC_RMID), ctypes.c_void_p(0))
