"""Which protections a worker may lack, and what a worker lacking them could do.

    exposure(["process", "timeout", "seccomp"])   # -> ["write every file the grader's uid ..."]

A worker that drops to a uid of its own is confined enough; one that keeps the grader's
own uid (root, or the instructor's user) needs filesystem confinement AND process
confinement, and one that can read a secret is refused whatever its uid. The Sandbox
applies this rule right after the worker's hello, before any student code runs.
"""
from __future__ import annotations

from grader.sandbox.errors import SandboxError

DISABLEABLE = frozenset(["user-namespace", "pid-namespace", "net-namespace", "ipc-namespace", "mount-namespace",
                         "proc-private", "fs-hidden", "fs-readonly", "rlimits", "landlock",
                         "caps-dropped", "seccomp", "uid-drop"])
# A worker that keeps the grader's own uid (uid 0, or the grader's user) needs both:
FS_CONFINEMENT = ("landlock-fs", "fs-readonly")              # it cannot write the host's files
PROCESS_CONFINEMENT = ("pid-namespace", "seccomp", "landlock-scope")   # nor signal its processes


def exposure(protections, readable=()) -> list[str]:
    """What a worker with these protections could do to the machine that grades.

    One sentence per gap, [] if none. `readable` lists the secrets (the hidden suites,
    the reference, the solutions) the confined worker found it could still read: that
    is a gap whatever the uid, e.g. a uid of its own but neither Landlock nor a mount
    namespace, and a repository readable by everyone. Otherwise a worker that dropped to
    a uid of its own (a "uid:N" protection) is confined enough. One that runs as the
    grader's own uid (root, or the instructor's user) with no filesystem confinement can
    rewrite the repository, the hidden tests (which the grader imports next time) and any
    file of that user; with no process confinement it can kill(-1) every process of that
    uid, which for root is every process on the machine.
    """
    active = set(protections)
    gaps = []
    if readable:
        shown = ", ".join(list(readable)[:3])
        gaps.append(f"read the hidden tests or the reference ({shown}), which neither Landlock "
                    f"nor a mount namespace hides here and whose permissions let it")
    if any(p.startswith("uid:") for p in active):
        return gaps
    if not active & set(FS_CONFINEMENT):
        gaps.append("write every file the grader's uid may write, the repository and the hidden "
                    "tests included (neither landlock-fs nor fs-readonly is active)")
    if not active & set(PROCESS_CONFINEMENT):
        gaps.append("signal or kill every process of the grader's uid, kill(-1) included (neither a "
                    "pid namespace, seccomp nor landlock-scope is active)")
    return gaps


class InsecureSandboxError(SandboxError):
    """The worker would run as the grader's own uid without the confinement that keeps it
    from the host's files or processes, and `insecure` was not given: no student code ran."""
