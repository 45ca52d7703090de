"""The files a worker sees: its private directory, copies of the submission and library.

Copies are made by us (0644 files, 0755 directories), never follow symbolic links, and
skip devices, sockets, __pycache__ and anything too large; what was skipped is listed.
"""
from __future__ import annotations

import itertools
import os
import shutil
import site
import stat
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]


def numpy_dirs() -> list[str]:
    """numpy's package directory and, for wheels, its bundled libraries (numpy.libs)."""
    pkg = os.path.dirname(os.path.realpath(np.__file__))
    libs = os.path.join(os.path.dirname(pkg), "numpy.libs")
    return [pkg] + ([os.path.realpath(libs)] if os.path.isdir(libs) else [])


def default_hide() -> list[str]:
    """What a worker's mount namespace covers by default: this repository (the hidden
    tests, the reference, the solutions), every site-packages directory (an installed
    grader), $HOME, the current directory and the temporary folders (other workers'
    private directories). Needed paths (its own private directory) are bound back inside."""
    dirs = [str(REPO), os.path.expanduser("~"), os.getcwd()]
    # the temporary folders, where the private directories of other students' workers are
    dirs += [tempfile.gettempdir(), "/tmp", "/var/tmp", "/dev/shm"]
    try:
        dirs += site.getsitepackages() + [site.getusersitepackages()]
    except AttributeError:                   # some virtualenvs lack getsitepackages
        pass
    dirs += [p for p in sys.path if p.endswith(("site-packages", "dist-packages"))]
    return sorted({os.path.realpath(d) for d in dirs if d and os.path.isdir(d)})


def default_secrets() -> list[str]:
    """What student code must never read, whatever else fails: the hidden suites, the
    reference `tt` and the solutions, where this grader is installed. The worker tries
    each after it is confined and before any student code runs (see Sandbox)."""
    import grader
    here = Path(grader.__file__).resolve().parent
    paths = [here / "hidden", REPO / "tt" / "layers.py", REPO / "solutions"]
    return sorted({str(p) for p in paths if p.exists()})


def copy_tree(src: Path, dst: Path, max_files=2000, max_file=8 << 20,
               max_total=32 << 20) -> list[str]:
    """Copy regular files and directories (no symlinks, devices, __pycache__); returns
    what was skipped and why. Files become 0644 and directories 0755, owned by us."""
    skipped, total, count = [], 0, 0
    for dirpath, dirnames, filenames in os.walk(src):
        rel = os.path.relpath(dirpath, src)
        for d in list(dirnames):
            p = os.path.join(dirpath, d)
            if d == "__pycache__" or os.path.islink(p):
                dirnames.remove(d)
                if os.path.islink(p):
                    skipped.append(f"{os.path.join(rel, d)}: a symbolic link")
            elif count >= max_files:
                dirnames.remove(d)
                skipped.append(f"{os.path.join(rel, d)}: too many files")
            else:
                os.makedirs(os.path.join(dst, rel, d), mode=0o755, exist_ok=True)
                count += 1
        for f in filenames:
            p, name = os.path.join(dirpath, f), os.path.normpath(os.path.join(rel, f))
            st = os.lstat(p)
            if not stat.S_ISREG(st.st_mode):
                skipped.append(f"{name}: not a regular file")
            elif st.st_size > max_file or total + st.st_size > max_total or count >= max_files:
                skipped.append(f"{name}: too large or too many files")
            else:
                shutil.copyfile(p, os.path.join(dst, rel, f), follow_symlinks=False)
                os.chmod(os.path.join(dst, rel, f), 0o644)
                total, count = total + st.st_size, count + 1
    return skipped


def make_private(path, uid=None) -> bool:
    """Mode 0700, or 0750 with group `uid` (a worker's gid is its uid) when a root parent's
    worker will drop to `uid` and must still read its copies: never readable by others.

    Where chown is not allowed (root without CAP_CHOWN: `docker run --cap-drop ALL`) the
    directory stays 0700, ours: a worker that cannot reach it keeps our uid instead of
    dropping to `uid` (the worker checks, and reports why), which needs no capability to
    read it. True if the directory was handed to `uid`'s group."""
    if uid is not None and os.geteuid() == 0:
        try:
            os.chown(path, -1, uid)
        except PermissionError:
            os.chmod(path, 0o700)
            return False
        os.chmod(path, 0o750)
        return True
    os.chmod(path, 0o700)
    return False


def make_passable(path) -> None:
    """A folder above workers' private directories: 0711 when we are root (a worker that
    dropped to a uid of its own may pass through it to its directory, but not list it, so
    it never learns the names of the others'), else 0700."""
    os.chmod(path, 0o711 if os.geteuid() == 0 else 0o700)


_uids = itertools.count()


def worker_uid() -> int:
    """A uid for one worker of this process, distinct from every other concurrent worker's
    (this process's pid and a counter) and from real users' and subordinate ranges: workers
    of different students cannot read each other's files by their modes alone."""
    return 0x60000000 + (os.getpid() % (1 << 22)) * 16 + next(_uids) % 16


def rmtree(path):
    """shutil.rmtree that also gets through directories a student made unreadable."""
    def fix(func, p, _):
        try:
            os.chmod(os.path.dirname(p), 0o700)
            os.chmod(p, 0o700)
            func(p)
        except OSError:
            pass
    shutil.rmtree(path, onerror=fix)
