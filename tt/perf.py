"""Process-level settings that make small-array NumPy code fast.

NumPy allocates a fresh array for nearly every operation. glibc's malloc serves
requests above 128 KiB with a new mmap and returns freed memory to the system, so
each of our (B, T, F) temporaries (256 KiB at batch 32) is page-faulted in afresh,
64 faults per array. Raising the thresholds keeps freed memory in the process for
reuse: forward+backward at batch 32 runs about 1.5x faster. It changes nothing
else, and it helps every library in the process alike (PyTorch too).

Our matrix products are small (at most 256 x 256 x 64 at batch 32): one BLAS
thread is about as fast as two on a quiet machine, and on a busy one OpenBLAS's
spinning threads made training ten times slower (87 s instead of 7 s, measured).

`tt train`, `tt gradflow`, `tt gradcheck` and the benchmarks call `tune()`; importing
tt does not. TT_TUNE_MALLOC=0 keeps glibc's defaults; TT_BLAS_THREADS=n sets the
thread count (default 1).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os

def tune(threads: int | None = None) -> dict:
    """tune_malloc() and set_blas_threads(); returns what was applied."""
    if threads is None:
        threads = int(os.environ.get("TT_BLAS_THREADS", "1"))
    return {"malloc": tune_malloc(), "blas_threads": threads if set_blas_threads(threads) else None}


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


def _openblas_functions(verb):
    """`openblas_{verb}_num_threads` of every OpenBLAS loaded in this process (Linux)."""
    found = []
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower()}
    except OSError:
        return found
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_openblas", "openblas"):
            for suffix in ("64_", ""):
                fn = getattr(lib, f"{prefix}_{verb}_num_threads{suffix}", None)
                if fn is not None:
                    found.append(fn)
                    break
            else:
                continue
            break
    return found


def set_blas_threads(n: int) -> bool:
    """Use n threads in NumPy's OpenBLAS from now on; True if an OpenBLAS was found.

    On a machine shared with other work, OpenBLAS's spinning threads can make small
    products many times slower; one thread is then the safer choice.
    """
    setters = _openblas_functions("set")
    for fn in setters:
        fn.argtypes, fn.restype = [ctypes.c_int], None
        fn(int(n))
    return bool(setters)


def blas_threads() -> int | None:
    """The thread count of NumPy's OpenBLAS, or None if it cannot be read."""
    getters = _openblas_functions("get")
    if not getters:
        return None
    getters[0].restype = ctypes.c_int
    return int(getters[0]())
