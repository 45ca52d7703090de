"""Atomic file output.

Every file this project writes goes through these functions: the bytes land in a
temporary file in the same folder, are flushed to disk, and only then renamed over
the destination. A run that is interrupted leaves either the old file or the new
one, never half of one, so a later run can resume from what is there.
"""
from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def _read_umask() -> int:
    mask = os.umask(0o022)      # the only portable way to read it is to set it
    os.umask(mask)
    return mask


# Read once, at import, before any thread of ours exists (setting the umask is global).
_FILE_MODE = 0o666 & ~_read_umask()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write `data` to `path` atomically (same-folder temp file + os.replace)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if hasattr(os, "fchmod"):  # mkstemp makes 0600; a written file gets the usual mode
            os.fchmod(fd, _FILE_MODE)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 text to `path` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write `obj` as indented JSON to `path` atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def atomic_save_npz(path: str | os.PathLike, arrays: dict) -> Path:
    """Save a dict of arrays as an uncompressed .npz atomically (no pickled objects)."""
    buf = io.BytesIO()
    import numpy as np

    np.savez(buf, **arrays)
    return atomic_write_bytes(path, buf.getvalue())
