"""Linux confinement primitives for the worker, through ctypes and the stdlib only.

Copied next to worker_main.py into each worker's private directory. Every function
either works or raises OSError; the worker decides what to try and reports what held.

    unshare, enter_user_namespace     namespaces (Python 3.11 has no os.unshare)
    make_mounts_private, cover, mount_proc, make_readonly, mount_tmpfs
    landlock_abi, landlock            filesystem (and TCP, signal) access control
    seccomp_filter                    a syscall filter: no fork, exec, ptrace, mount, socket...
    drop_capabilities, reachable      privileges
"""
from __future__ import annotations

import ctypes
import os
import stat
import struct
import sys

LINUX = sys.platform.startswith("linux")
_libc = ctypes.CDLL(None, use_errno=True)
if LINUX:
    _libc.syscall.restype = ctypes.c_long
    _libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                            ctypes.c_char_p]
MACHINE = os.uname().machine


def _check(ret, what):
    if ret == -1:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return ret


def _syscall(nr, *args, what="syscall"):
    if not LINUX:              # the numbers below are Linux's; elsewhere they mean other things
        raise OSError(0, f"{what}: Linux only")
    return _check(_libc.syscall(ctypes.c_long(nr), *args), what)


def prctl(option, arg2=0, arg3=0, arg4=0, arg5=0):
    if not LINUX or not hasattr(_libc, "prctl"):
        raise OSError(0, "prctl is Linux-only")
    return _check(_libc.prctl(option, ctypes.c_ulong(arg2), ctypes.c_ulong(arg3),
                              ctypes.c_ulong(arg4), ctypes.c_ulong(arg5)), f"prctl({option})")


PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_SET_CHILD_SUBREAPER = 1, 38, 36
PR_CAPBSET_DROP, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 24, 47, 4

# ------------------------------------------------------------------------- namespaces
CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x20000, 0x10000000, 0x20000000, 0x40000000
CLONE_NEWIPC = 0x08000000


def unshare(flags: int) -> None:
    if not LINUX:
        raise OSError(0, "unshare: Linux only")
    _check(_libc.unshare(ctypes.c_int(flags)), "unshare")


def enter_user_namespace() -> None:
    """Become uid 0 of a new user namespace, mapped to our own uid (for a non-root caller)."""
    uid, gid = os.getuid(), os.getgid()
    unshare(CLONE_NEWUSER)
    for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"), ("gid_map", f"0 {gid} 1")):
        with open(f"/proc/self/{name}", "w") as f:
            f.write(text)


# ----------------------------------------------------------------------------- mounts
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18


def mount(source, target, fstype, flags, data=None):
    if not LINUX:
        raise OSError(0, "mount: Linux only")
    enc = lambda s: None if s is None else os.fsencode(s)
    _check(_libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)),
           f"mount {target}")


def make_mounts_private() -> None:
    """Nothing mounted in this namespace propagates back to the host."""
    mount(None, "/", None, MS_REC | MS_PRIVATE)


def mount_proc() -> None:
    """A /proc that shows only this PID namespace's processes."""
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)


def mount_tmpfs(path: str, size: int, mode: str = "0755") -> None:
    mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, f"mode={mode},size={size}")


def cover(path: str, keep=()) -> None:
    """Hide `path` under an empty tmpfs, then bind back the paths of `keep` inside it."""
    fds = [(k, os.open(k, os.O_PATH | os.O_CLOEXEC)) for k in keep]
    try:
        mount_tmpfs(path, 1 << 20)
        for k, fd in fds:
            target = os.path.join(path, os.path.relpath(k, path))
            if os.path.isdir(f"/proc/self/fd/{fd}"):
                os.makedirs(target, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(target), exist_ok=True)
                open(target, "a").close()
            mount(f"/proc/self/fd/{fd}", target, None, MS_BIND | MS_REC)
    finally:
        for _, fd in fds:
            os.close(fd)


AT_FDCWD, AT_RECURSIVE, MOUNT_ATTR_RDONLY, MOUNT_ATTR_NOSUID = -100, 0x8000, 1, 2


def make_readonly(path: str = "/") -> None:
    """Every mount at or below `path` becomes read-only (mount_setattr, Linux >= 5.12)."""
    attr = struct.pack("<QQQQ", MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID, 0, 0, 0)
    buf = ctypes.create_string_buffer(attr, len(attr))
    _syscall(442, ctypes.c_int(AT_FDCWD), os.fsencode(path), ctypes.c_uint(AT_RECURSIVE),
             buf, ctypes.c_size_t(len(attr)), what="mount_setattr")


# ---------------------------------------------------------------------------- landlock
LL_EXECUTE, LL_WRITE_FILE, LL_READ_FILE, LL_READ_DIR = 1, 2, 4, 8
LL_REMOVE_DIR, LL_REMOVE_FILE, LL_MAKE_CHAR, LL_MAKE_DIR, LL_MAKE_REG = 16, 32, 64, 128, 256
LL_MAKE_SOCK, LL_MAKE_FIFO, LL_MAKE_BLOCK, LL_MAKE_SYM = 512, 1024, 2048, 4096
LL_REFER, LL_TRUNCATE, LL_IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
LL_FILE_RIGHTS = LL_EXECUTE | LL_WRITE_FILE | LL_READ_FILE | LL_TRUNCATE | LL_IOCTL_DEV
LL_READ = LL_READ_FILE | LL_READ_DIR
LL_WRITE = (LL_READ | LL_WRITE_FILE | LL_REMOVE_DIR | LL_REMOVE_FILE | LL_MAKE_DIR | LL_MAKE_REG
            | LL_MAKE_SYM | LL_REFER | LL_TRUNCATE)
LL_NET_TCP = 3                           # bind and connect
LL_SCOPE = 3                             # abstract unix sockets and signals


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, 0 if Landlock is absent or disabled."""
    if not LINUX:
        return 0
    ret = _libc.syscall(ctypes.c_long(444), None, ctypes.c_size_t(0), ctypes.c_uint(1))
    return max(int(ret), 0)


def landlock(read_paths, write_paths, rw_files=()) -> list[str]:
    """Restrict this process (and its future children) to the given paths, for good.

    read_paths: directories or files it may read; write_paths: directories it may also
    modify; rw_files: files such as /dev/null it may read and write. Nothing may be
    executed. With ABI >= 4, TCP bind/connect is denied; with ABI >= 6, signals to and
    abstract sockets of processes outside the sandbox are too. Needs no_new_privs.
    Returns what was restricted, e.g. ["landlock-fs", "landlock-net", "landlock-scope"].
    """
    abi = landlock_abi()
    if abi < 1:
        raise OSError(0, "Landlock is not available")
    fs = (1 << 13) - 1 | (LL_REFER if abi >= 2 else 0) | (LL_TRUNCATE if abi >= 3 else 0) \
        | (LL_IOCTL_DEV if abi >= 5 else 0)
    net = LL_NET_TCP if abi >= 4 else 0
    scoped = LL_SCOPE if abi >= 6 else 0
    attr = struct.pack("<QQQ", fs, net, scoped)[:8 if abi < 4 else 16 if abi < 6 else 24]
    buf = ctypes.create_string_buffer(attr, len(attr))
    rfd = _syscall(444, buf, ctypes.c_size_t(len(attr)), ctypes.c_uint(0), what="landlock_create_ruleset")
    try:
        rules = [(p, LL_READ) for p in read_paths] + [(p, LL_WRITE) for p in write_paths] \
            + [(p, LL_READ_FILE | LL_WRITE_FILE) for p in rw_files]
        for path, access in rules:
            try:
                pfd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except FileNotFoundError:
                continue
            try:
                if not stat.S_ISDIR(os.fstat(pfd).st_mode):
                    access &= LL_FILE_RIGHTS
                rule = ctypes.create_string_buffer(struct.pack("<Qi", access & fs, pfd), 12)
                _syscall(445, ctypes.c_int(rfd), ctypes.c_int(1), rule, ctypes.c_uint(0),
                         what=f"landlock_add_rule {path}")
            finally:
                os.close(pfd)
        prctl(PR_SET_NO_NEW_PRIVS, 1)
        _syscall(446, ctypes.c_int(rfd), ctypes.c_uint(0), what="landlock_restrict_self")
    finally:
        os.close(rfd)
    return ["landlock-fs"] + (["landlock-net"] if net else []) + (["landlock-scope"] if scoped else [])


# ----------------------------------------------------------------------------- seccomp
AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
SYSCALLS = {  # name: (x86_64, aarch64); None where the architecture lacks it
    "close": (3, 57), "dup2": (33, None), "dup3": (292, 24), "close_range": (436, 436),
    "clone": (56, 220), "clone3": (435, 435), "fork": (57, None), "vfork": (58, None),
    "execve": (59, 221), "execveat": (322, 281), "kill": (62, 129), "tkill": (200, 130),
    "tgkill": (234, 131), "socket": (41, 198), "socketpair": (53, 199),
    "setsid": (112, 157), "setpgid": (109, 154),
    "ptrace": (101, 117), "mount": (165, 40), "umount2": (166, 39), "pivot_root": (155, 41),
    "chroot": (161, 51), "unshare": (272, 97), "setns": (308, 268),
    "init_module": (175, 105), "finit_module": (313, 273), "delete_module": (176, 106),
    "kexec_load": (246, 104), "kexec_file_load": (320, 294), "bpf": (321, 280),
    "perf_event_open": (298, 241), "keyctl": (250, 219), "add_key": (248, 217),
    "request_key": (249, 218), "reboot": (169, 142), "swapon": (167, 224),
    "swapoff": (168, 225), "userfaultfd": (323, 282), "process_vm_readv": (310, 270),
    "process_vm_writev": (311, 271), "io_uring_setup": (425, 425),
    "io_uring_enter": (426, 426), "io_uring_register": (427, 427),
    "name_to_handle_at": (303, 264), "open_by_handle_at": (304, 265),
    "pidfd_open": (434, 434), "pidfd_getfd": (438, 438), "pidfd_send_signal": (424, 424),
    "personality": (135, 92), "syslog": (103, 116), "acct": (163, 89),
    "sethostname": (170, 161), "setdomainname": (171, 162), "iopl": (172, None),
    "ioperm": (173, None), "quotactl": (179, 60), "kcmp": (312, 272), "uselib": (134, None),
    "open_tree": (428, 428), "move_mount": (429, 429), "fsopen": (430, 430),
    "fsconfig": (431, 431), "fsmount": (432, 432), "fspick": (433, 433),
    "mount_setattr": (442, 442),
    # System V IPC: segments, queues and semaphores outlive the worker and are found by key
    "shmget": (29, 194), "shmat": (30, 196), "shmctl": (31, 195), "shmdt": (67, 197),
    "semget": (64, 190), "semop": (65, 193), "semctl": (66, 191), "semtimedop": (220, 192),
    "msgget": (68, 186), "msgsnd": (69, 189), "msgrcv": (70, 188), "msgctl": (71, 187),
    "mq_open": (240, 180), "mq_unlink": (241, 181),
}
# Refused outright: new processes and programs, other processes' memory, sockets (no
# network, no host daemons), everything that changes mounts, namespaces or the kernel, and
# System V and POSIX message-queue IPC (which would let one student's worker leave data
# for another's).
DENIED = ("fork", "vfork", "execve", "execveat", "socket", "socketpair", "setsid", "setpgid",
          "ptrace", "mount", "umount2", "pivot_root", "chroot", "unshare", "setns",
          "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
          "bpf", "perf_event_open", "keyctl", "add_key", "request_key", "reboot", "swapon",
          "swapoff", "userfaultfd", "process_vm_readv", "process_vm_writev",
          "io_uring_setup", "io_uring_enter", "io_uring_register", "name_to_handle_at",
          "open_by_handle_at", "pidfd_open", "pidfd_getfd", "pidfd_send_signal",
          "personality", "syslog", "acct", "sethostname", "setdomainname", "iopl", "ioperm",
          "quotactl", "kcmp", "uselib", "open_tree", "move_mount", "fsopen", "fsconfig",
          "fsmount", "fspick", "mount_setattr", "shmget", "shmat", "shmctl", "shmdt", "semget",
          "semop", "semctl", "semtimedop", "msgget", "msgsnd", "msgrcv", "msgctl", "mq_open",
          "mq_unlink")
RET_ALLOW, RET_ERRNO, RET_KILL_PROCESS = 0x7FFF0000, 0x00050000, 0x80000000
EPERM, ENOSYS, CLONE_THREAD = 1, 38, 0x10000
_LD_ABS, _JEQ, _JGE, _JGT, _JSET, _RET = 0x20, 0x15, 0x35, 0x25, 0x45, 0x06


def seccomp_filter(protected_fds=(), self_pid=None, allow_threads=False) -> None:
    """Install a syscall filter on this process (all threads) and its future children.

    Refuses (EPERM) the DENIED syscalls; clone unless it makes a thread and threads are
    allowed (clone3 gets ENOSYS, so libc falls back to clone); close, dup2/dup3 onto and
    close_range over `protected_fds`; kill/tgkill/tkill of any process but `self_pid`.
    Any other architecture's syscall ABI (e.g. i386 or x32 on x86_64) kills the process.
    Needs no_new_privs, which it sets.
    """
    if MACHINE not in AUDIT_ARCH:
        raise OSError(0, f"no seccomp syscall table for {MACHINE}")
    col = 0 if MACHINE == "x86_64" else 1
    nr = {name: nums[col] for name, nums in SYSCALLS.items() if nums[col] is not None}
    deny = (_RET, 0, 0, RET_ERRNO | EPERM)
    allow = (_RET, 0, 0, RET_ALLOW)
    arg = lambda i: (_LD_ABS, 0, 0, 16 + 8 * i)          # low 32 bits of args[i]
    load_nr = (_LD_ABS, 0, 0, 0)

    def when(name, block):        # if nr == name: run block (which must end in a return)
        return [] if name not in nr else [(_JEQ, 0, len(block), nr[name])] + block

    prog = [(_LD_ABS, 0, 0, 4), (_JEQ, 1, 0, AUDIT_ARCH[MACHINE]), (_RET, 0, 0, RET_KILL_PROCESS),
            load_nr]
    if MACHINE == "x86_64":       # x32 syscalls set bit 30 of the number
        prog += [(_JGE, 0, 1, 0x40000000), (_RET, 0, 0, RET_ERRNO | ENOSYS)]
    for name in DENIED:
        if name in nr:
            prog += [(_JEQ, 0, 1, nr[name]), deny]
    prog += when("clone3", [(_RET, 0, 0, RET_ERRNO | ENOSYS)])
    prog += when("clone", [arg(0), (_JSET, 0, 1, CLONE_THREAD), allow if allow_threads else deny, deny])
    fds = sorted(set(protected_fds))
    if fds:
        checks = lambda: sum(([(_JEQ, 0, 1, fd), deny] for fd in fds), [])
        prog += when("close", [arg(0)] + checks() + [allow])
        for name in ("dup2", "dup3"):
            prog += when(name, [arg(1)] + checks() + [allow])
        # close_range(first, last): refuse when first <= max(fds) and last >= min(fds)
        prog += when("close_range", [arg(0), (_JGT, 3, 0, fds[-1]), arg(1),
                                     (_JGE, 0, 1, fds[0]), deny, allow])
    if self_pid is not None:
        for name in ("kill", "tgkill", "tkill"):
            prog += when(name, [arg(0), (_JEQ, 0, 1, self_pid), allow, deny])
    prog.append(allow)
    if len(prog) > 4096:
        raise OSError(0, "seccomp program too long")

    class SockFilter(ctypes.Structure):
        _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte),
                    ("k", ctypes.c_uint)]

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(SockFilter))]

    filters = (SockFilter * len(prog))(*[SockFilter(*ins) for ins in prog])
    fprog = SockFprog(len(prog), filters)
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    seccomp_nr = 317 if MACHINE == "x86_64" else 277
    try:       # SECCOMP_SET_MODE_FILTER with SECCOMP_FILTER_FLAG_TSYNC: every thread
        _syscall(seccomp_nr, ctypes.c_uint(1), ctypes.c_uint(1), ctypes.byref(fprog), what="seccomp")
    except OSError:
        prctl(22, 2, ctypes.addressof(fprog))          # PR_SET_SECCOMP, this thread only


# ------------------------------------------------------------------------ privileges
def drop_capabilities(bounding_only=False) -> None:
    """Empty the bounding and ambient capability sets, and unless `bounding_only` also the
    effective, permitted and inheritable ones (which a change to a non-root uid clears)."""
    for cap in range(64):
        try:
            prctl(PR_CAPBSET_DROP, cap)
        except OSError:
            break                                      # EINVAL past the last capability
    try:
        prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    except OSError:
        pass
    if bounding_only:
        return
    header = ctypes.create_string_buffer(struct.pack("<Ii", 0x20080522, 0), 8)   # v3, self
    data = ctypes.create_string_buffer(bytes(24), 24)                           # all zero
    _syscall(126 if MACHINE == "x86_64" else 91, header, data, what="capset")


def reachable(path: str, uid: int, gids) -> str | None:
    """None if `uid` (with groups `gids`) can reach and read `path`; else the blocking path.

    Follows the classic permission bits only (no ACLs), which is what matters for the
    directories we hand the worker.
    """
    parts = os.path.abspath(path).split(os.sep)
    for i in range(1, len(parts) + 1):
        p = os.sep.join(parts[:i]) or os.sep
        try:
            st = os.stat(p)
        except OSError:
            return p
        need = 1 if i < len(parts) else (5 if stat.S_ISDIR(st.st_mode) else 4)
        bits = (st.st_mode >> 6 if st.st_uid == uid else
                st.st_mode >> 3 if st.st_gid in gids else st.st_mode) & 7
        if bits & need != need:
            return p
    return None
