"""Process-level settings that make small-array NumPy code fast.

NumPy allocates a fresh array for nearly every operation. glibc's malloc serves
requests above 128 KiB with a new mmap and returns freed memory to the system, so
each of our (B, T, F) temporaries (256 KiB at batch 32) is page-faulted in afresh,
64 faults per array. Raising the thresholds keeps freed memory in the process for
reuse: forward+backward at batch 32 runs about 1.5x faster. It changes nothing
else, and it helps every library in the process alike (PyTorch too).

`tt train`, `tt gradflow`, `tt gradcheck` and the benchmarks call `tune_malloc()`;
importing tt does not. Set TT_TUNE_MALLOC=0 to turn it off.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os

_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3
_done = False


def tune_malloc(mmap_threshold=64 << 20, trim_threshold=256 << 20, top_pad=64 << 20) -> bool:
    """Raise glibc's mmap and trim thresholds once per process; True if applied."""
    global _done
    if _done:
        return True
    if os.environ.get("TT_TUNE_MALLOC", "1") == "0":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (macOS, musl, Windows): nothing to do
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    ok = all(mallopt(k, v) == 1 for k, v in ((_M_MMAP_THRESHOLD, mmap_threshold),
                                              (_M_TRIM_THRESHOLD, trim_threshold),
                                              (_M_TOP_PAD, top_pad)))
    _done = ok
    return ok
