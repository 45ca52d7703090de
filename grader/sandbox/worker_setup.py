"""The worker's confinement, applied in the worker before any student code runs.

Copied with worker_main.py into each worker's private directory (stdlib only, with
confine.py). Each step is attempted through a Report, which records the protections that
held and, for every other one, why not: the worker's hello sends both to the parent.

    report = Report(cfg["disable"])
    Setup(cfg, report, stdlib, (req_fd, resp_fd)).apply()
"""
import glob
import os
import resource
import signal

import confine


class Report:
    """Which protections held, and why the others did not."""

    def __init__(self, disabled):
        self.disabled = set(disabled)
        self.active, self.unavailable = [], {}

    def attempt(self, name, fn, *args):
        if name in self.disabled:
            self.unavailable[name] = "disabled by the caller"
            return None
        try:
            result = fn(*args)
        except Exception as e:          # OSError mostly; never let a probe kill the worker
            self.unavailable[name] = f"{type(e).__name__}: {e}"[:300]
            return None
        self.active.append(name)
        return True if result is None else result


def readable(path) -> bool:
    """Whether this (confined) process can read anything at `path`: a byte of a file, or
    an entry of a directory (a directory covered by an empty tmpfs shows none)."""
    try:
        if os.path.isdir(path):
            return bool(os.listdir(path))
        with open(path, "rb") as f:
            f.read(1)
        return True
    except OSError:
        return False


class Setup:
    """The steps of confining this worker, in order (see apply)."""

    def __init__(self, cfg, report, stdlib, protocol_fds):
        self.cfg, self.report, self.stdlib = cfg, report, stdlib
        self.req, self.resp = protocol_fds

    def apply(self):
        """Every confinement step, each where the machine allows it, before any student code."""
        cfg, report = self.cfg, self.report
        try:
            confine.prctl(confine.PR_SET_PDEATHSIG, signal.SIGKILL)   # if the supervisor dies
        except OSError:
            pass
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)      # too big a file: EFBIG, not death
        os.close(cfg["lifeline_fd"])
        np_dirs = [os.path.realpath(p) for p in cfg["numpy_dirs"]]
        readable = self.stdlib + np_dirs + mapped_dirs() + [cfg["root"]]
        keep = readable
        uid = cfg["uid"] if os.getuid() == 0 and "user-namespace" not in report.active else None
        run = cfg["run"]
        if report.attempt("mount-namespace", confine.unshare, confine.CLONE_NEWNS):
            confine.make_mounts_private()
            if "pid-namespace" in report.active:
                report.attempt("proc-private", confine.mount_proc)
            report.attempt("fs-hidden", self.cover_all, cfg["hide"], keep, uid)
            report.attempt("fs-readonly", self.readonly_except, run)
        if uid is not None and "fs-hidden" not in report.active:
            self.cover_all([], keep, uid, dry=True)     # only finds what would block the uid
        if uid is not None and self.uid_blocker is not None:
            report.unavailable[f"uid:{uid}"] = f"{self.uid_blocker} is not readable by uid {uid}"
            uid = None
        if "uid-drop" in report.disabled and os.getuid() == 0:
            report.unavailable["uid-drop"] = "disabled by the caller"
        for d in ("cwd", "home", "tmp"):
            path = os.path.join(run, d)
            os.makedirs(path, mode=0o700, exist_ok=True)
            if uid is not None:
                try:
                    os.chown(path, uid, uid)
                except PermissionError as e:        # root without CAP_CHOWN: keep our uid
                    report.unavailable[f"uid:{uid}"] = f"cannot hand the run directory to it: {e}"
                    uid = None
        os.chdir(os.path.join(run, "cwd"))
        report.attempt("rlimits", self.set_limits)
        ll = report.attempt("landlock", confine.landlock,          # ld.so.cache: to find libraries
                            landlock_paths(readable, cfg["hide"]) + ["/etc/ld.so.cache"], [run],
                            ["/dev/null", "/dev/zero", "/dev/urandom"])
        if ll:
            report.active.remove("landlock")
            report.active += ll
        if os.getuid() == 0:     # real root, or root of our user namespace
            if uid is not None and report.attempt(f"uid:{uid}", self.drop_uid, uid):
                report.active.append("caps-dropped")          # leaving uid 0 clears them all
            else:
                report.attempt("caps-dropped", confine.drop_capabilities)
        keep_fds = {0, 1, 2, self.req, self.resp}
        for fd in range(3, max(keep_fds) + 1):
            if fd not in keep_fds:
                try:
                    os.close(fd)
                except OSError:
                    pass
        os.closerange(max(keep_fds) + 1, 1 << 16)
        report.attempt("seccomp", confine.seccomp_filter, (self.req, self.resp), os.getpid(),
                       cfg["allow_threads"])
        if "landlock-fs" in report.active or "seccomp" in report.active:
            report.active.append("no-new-privs")
        os.environ.clear()
        os.environ.update(cfg["env"])
        os.environ.update(HOME=os.path.join(run, "home"), TMPDIR=os.path.join(run, "tmp"))
    uid_blocker = None

    def cover_all(self, hide, keep, uid, dry=False):
        """Hide `hide` under empty tmpfs mounts, keeping `keep` visible. When dropping to
        `uid`, also cover (and so open up) each directory that would block it from `keep`,
        e.g. a /root of mode 0700 above the Python installation."""
        under = lambda p, d: p == d or p.startswith(d.rstrip("/") + "/")
        keep = [k for k in keep if os.path.exists(k)]
        covers = {os.path.realpath(h) for h in hide if os.path.isdir(h)} - {"/"} - set(keep)
        if uid is not None:
            for k in keep:
                b = confine.reachable(k, uid, {uid})
                if b is None or any(under(b, c) for c in covers):
                    continue
                if under(k, b) and k != b and not dry:
                    covers.add(b)
                else:
                    self.uid_blocker = b
        if dry:
            return
        for c in sorted(covers, key=lambda p: p.count("/")):
            if not os.path.isdir(c):
                continue                  # inside an earlier cover and not kept: already gone
            inside = sorted({k for k in keep if under(k, c) and k != c}, key=len)
            inside = [k for i, k in enumerate(inside) if not any(under(k, j) for j in inside[:i])]
            confine.cover(c, inside)
        if uid is not None and self.uid_blocker is None:
            self.uid_blocker = next(filter(None, (confine.reachable(k, uid, {uid}) for k in keep)), None)

    def readonly_except(self, run):
        confine.make_readonly("/")
        confine.mount_tmpfs(run, self.cfg["disk_limit"])

    def set_limits(self):
        R = resource
        c = self.cfg
        for res, value in ((R.RLIMIT_CORE, 0), (R.RLIMIT_CPU, c["cpu_limit"]),
                           (R.RLIMIT_AS, c["memory_limit"]), (R.RLIMIT_FSIZE, c["file_limit"]),
                           (R.RLIMIT_NOFILE, c["max_files"]), (R.RLIMIT_NPROC, c["max_procs"])):
            _, hard = R.getrlimit(res)
            value = value if hard == R.RLIM_INFINITY else min(value, hard)
            soft = value
            if res == R.RLIMIT_CPU and (hard == R.RLIM_INFINITY or value < hard):
                value += 1                 # SIGXCPU at the soft limit, SIGKILL a second later
            R.setrlimit(res, (soft, value))

    def drop_uid(self, uid):
        confine.drop_capabilities(bounding_only=True)
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
        if os.getuid() != uid:
            raise OSError(0, "setresuid did not take effect")
        confine.prctl(confine.PR_SET_PDEATHSIG, signal.SIGKILL)    # a uid change clears it


# ---------------------------------------------------------------------------- helpers
def landlock_paths(paths, hidden):
    """`paths` for Landlock, minus everything at or below a `hidden` directory.

    Landlock can only add access, so a directory with something hidden below it (e.g.
    <prefix>/lib, which holds python3.X/site-packages, where this grader may be
    installed) is granted entry by entry instead, recursively, skipping what is hidden.
    Every site-packages or dist-packages directory near the paths counts as hidden. A
    path that is itself below a hidden one (NumPy in site-packages) stays as given.
    """
    hidden = {os.path.realpath(h) for h in hidden} - {"/"}
    for p in paths:
        for pattern in ("site-packages", "dist-packages", "python3*/site-packages",
                        "python3*/dist-packages", "lib/python3*/site-packages"):
            hidden.update(os.path.realpath(h) for h in glob.glob(os.path.join(p, pattern)))
    below = lambda h, p: h.startswith(p.rstrip("/") + "/")
    out = []

    def add(p):
        if not any(below(h, p) for h in hidden):
            out.append(p)
            return
        try:
            names = os.listdir(p)
        except OSError:
            return
        for n in names:
            child = os.path.join(p, n)
            if os.path.realpath(child) not in hidden:
                add(child)

    for p in paths:
        add(os.path.realpath(p))
    return out


def mapped_dirs():
    """Directories of the shared libraries loaded so far (numpy's BLAS, libpython...)."""
    dirs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                fields = line.split(None, 5)          # the 6th field, if any, is the path
                path = fields[5].strip() if len(fields) == 6 else ""
                if path.startswith("/") and not path.endswith("(deleted)"):
                    dirs.add(os.path.dirname(path))
    except OSError:
        pass
    return sorted(dirs)
