"""Starting a worker: its private directory, its pipes and its command line.

    root, skipped = prepare_private_dir(submission_dir, library_dir, ("tt",), uid)
    channel = launch(sys.executable, root, options, first_id, limits, output)

The private directory (tt-sandbox-* in $TMPDIR) holds bin/ (the worker's own code,
stdlib and NumPy only), np/ (links to NumPy), lib/ (the student library) and sub/ (the
submission), copied without symlinks or special files. Each worker gets a fresh run-*/
directory inside it, and is started as `python -I -B -S bin/worker_main.py '<config>'`
with four pipes: requests, responses, its stdout and stderr, and the lifeline.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from grader.sandbox.channel import Channel
from grader.sandbox.errors import SandboxError
from grader.sandbox.files import copy_tree, make_private, numpy_dirs

HERE = Path(__file__).resolve().parent
WORKER_FILES = ("worker_main.py", "worker_setup.py", "supervisor.py", "wire.py", "wire_decode.py", "confine.py", "inputs.py")
ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
       "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def prepare_private_dir(submission_dir: Path, library_dir: Path | None, library_packages, uid):
    """(root, what was skipped from the submission): a fresh private directory."""
    root = Path(tempfile.mkdtemp(prefix="tt-sandbox-"))
    make_private(root, uid)               # the student's code: for the worker's eyes only
    for sub in ("bin", "np", "lib", "sub"):
        (root / sub).mkdir(mode=0o755)
    for f in WORKER_FILES:
        shutil.copyfile(HERE / f, root / "bin" / f)
    for d in numpy_dirs():
        os.symlink(d, root / "np" / os.path.basename(d))
    skipped = copy_tree(submission_dir, root / "sub")
    if library_dir is not None:
        for pkg in library_packages:
            for src in (library_dir / pkg, library_dir / f"{pkg}.py"):
                if src.is_dir() and not src.is_symlink():
                    (root / "lib" / pkg).mkdir(mode=0o755)
                    copy_tree(src, root / "lib" / pkg)
                elif src.is_file() and not src.is_symlink():
                    shutil.copyfile(src, root / "lib" / src.name)
                    os.chmod(root / "lib" / src.name, 0o644)
    return root, skipped


def launch(python: str, root: Path, options: dict, first_id: int, limits, output) -> Channel:
    """Start a supervisor and worker on `root` with the sandbox's `options`; its Channel."""
    run = Path(tempfile.mkdtemp(prefix="run-", dir=root))
    os.chmod(run, 0o755)
    req_r, req_w = os.pipe()
    resp_r, resp_w = os.pipe()
    out_r, out_w = os.pipe()
    life_r, life_w = os.pipe()
    for fd in (req_w, resp_r):
        try:
            import fcntl
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 1 << 20)
        except (OSError, AttributeError):
            pass
    root = str(root)
    cfg = dict(options, req_fd=req_r, resp_fd=resp_w, lifeline_fd=life_r, root=root, run=str(run),
               np=f"{root}/np", sub=f"{root}/sub", lib=f"{root}/lib", numpy_dirs=numpy_dirs(), env=ENV)
    try:
        proc = subprocess.Popen(
            [python, "-I", "-B", "-S", f"{root}/bin/worker_main.py", json.dumps(cfg)],
            stdin=subprocess.DEVNULL, stdout=out_w, stderr=out_w, pass_fds=(req_r, resp_w, life_r),
            cwd=run, env=dict(ENV, HOME=str(run)), start_new_session=True)
    except OSError as e:
        for fd in (req_r, req_w, resp_r, resp_w, out_r, out_w, life_r, life_w):
            os.close(fd)
        raise SandboxError(f"cannot start the worker: {e}") from None
    for fd in (req_r, resp_w, out_w, life_r):
        os.close(fd)
    for fd in (req_w, resp_r, out_r):
        os.set_blocking(fd, False)
    return Channel(proc, run, req_w, resp_r, out_r, life_w, first_id, limits, output)
