"""How much memory a hostile submission makes the GRADER (the parent process) use.

    python benchmarks/bench_parent_memory.py             # median of 3 runs per variant
    python benchmarks/bench_parent_memory.py --quick     # 1 run
    python benchmarks/bench_parent_memory.py --runs 5 --variants honest max-results

The student's code runs in a sandbox worker whose address space is capped (RLIMIT_AS,
2 GiB), but everything it sends back is read, rebuilt and checked by `tt grade` itself,
which has no such cap. This measures that process: the peak resident set (VmHWM of
/proc/self/status, read as it exits) of `python -m tt grade SUBMISSION -k "ex03 or ex04"`.
To read its own VmHWM, the grade runs inside a small `python -c` wrapper that does what
`python -m tt` does, then writes the figure to a file. The worker is a separate process
and does not count.

Each submission is the solutions with exercises 3 and 4 (relu_backward, ffn_backward,
layernorm_backward) replaced by a variant that first computes the honest answer and then:

    honest            returns it (the baseline)
    max-results       returns, on every call, a float64 array as large as one message of
                      the wire carries (grader/sandbox/wire.py, Limits.max_message_bytes)
                      in place of its first output
    one-max-result    does that on the first call of each function only
    huge-shapes       returns empty arrays that claim a huge shape, (0, 10**9), which the
                      wire refuses
    callback-storm    ffn_backward, the one function of these exercises handed callbacks
                      (ops, run by the parent: grader/sandbox/callbacks.py), calls
                      ops.relu_backward about 200 times per call: with arguments that
                      broadcast to the callbacks' budget, past it, and as large as a message
    deep-nesting      returns a list nested 10,000 levels deep

Runs take turns variant by variant, round after round (shared machines drift), and each
ratio is to the honest median of the same invocation. The score is the one `tt grade`
wrote in results.json; wall time includes Python's start.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from grader.sandbox.wire import LIMITS  # noqa: E402  (the caps the hostile arrays fill)

SELECT = "ex03 or ex04"
FUNCTIONS = {"ex03_relu_ffn.py": ("relu_backward", "ffn_backward"),
             "ex04_layernorm.py": ("layernorm_backward",)}
# float64 elements of the largest array one message holds, leaving 1 MiB for the header
# and the honest outputs beside it (dW1 and dW2 of the FFN are 128 KiB each).
BIG = (LIMITS.max_message_bytes - (1 << 20)) // 8
TIMEOUT = 600                   # seconds for one grade before it counts as failed

# The body of _hostile(name, value, args): `value` is the honest answer of function `name`
# called with `args`; what it returns goes back to the grader.
VARIANTS = {
    "honest": None,
    "max-results": """
        big = _np.ones(_BIG)                                    # ~66 MB of float64
        return (big, *value[1:]) if isinstance(value, tuple) else big
    """,
    "one-max-result": """
        if name in _called:
            return value
        _called.add(name)
        big = _np.ones(_BIG)
        return (big, *value[1:]) if isinstance(value, tuple) else big
    """,
    "huge-shapes": """
        if isinstance(value, tuple):
            return tuple(_np.empty((0, 10**9)) for _ in value)
        return _np.empty((0, 10**9))
    """,
    "callback-storm": """
        ops = args[2] if len(args) > 2 else None
        if name != "ffn_backward" or ops is None:
            return value
        from tt.layers import ReluCache
        wide = ReluCache(_np.ones((1, 4096)))
        half = _np.ones(_BIG // 2)                              # two of them fill a message
        for i in range(_STORM):
            asks = [(_np.ones((2048, 1)), wide),                # broadcast to 2**23: the budget
                    (_np.ones((4096, 1)), wide)]                # 2**24: over it
            if i % 20 == 0:
                asks.append((half, ReluCache(half)))            # as large as the wire allows
            for dout, cache in asks:
                try:
                    ops.relu_backward(dout, cache)
                except Exception:                               # refused or failed: ask again
                    pass
        return value
    """,
    "deep-nesting": """
        deep = []
        for _ in range(10_000):
            deep = [deep]
        return deep
    """,
}
STORM = 100                     # rounds of callbacks per call of ffn_backward


def hostile_source(solution: str, functions, body: str) -> str:
    """The solution, then each function replaced by one that passes its honest answer
    through _hostile(name, value, args)."""
    lines = [solution, "", "# ---- appended by benchmarks/bench_parent_memory.py",
             "import numpy as _np", f"_BIG = {BIG}", f"_STORM = {STORM}", "_called = set()", "",
             "", "def _hostile(name, value, args):"]
    lines.append(textwrap.indent(textwrap.dedent(body).strip(), "    "))
    for fn in functions:
        lines += ["", "", f"_honest_{fn} = {fn}", "", "",
                  f"def {fn}(*args):", f"    return _hostile({fn!r}, _honest_{fn}(*args), args)"]
    return "\n".join(lines) + "\n"


def make_submission(folder: Path, variant: str) -> Path:
    """The solutions' exercise files, with exercises 3 and 4 made hostile."""
    sub = folder / f"sub-{variant}"
    sub.mkdir(parents=True)
    for path in (ROOT / "solutions").glob("ex[0-9][0-9]_*.py"):
        shutil.copy(path, sub / path.name)
    body = VARIANTS[variant]
    if body is not None:
        for name, functions in FUNCTIONS.items():
            solution = (ROOT / "solutions" / name).read_text(encoding="utf-8")
            (sub / name).write_text(hostile_source(solution, functions, body), encoding="utf-8")
    return sub


# Runs `python -m tt ARGS` in this process, then writes this process's VmHWM (kB) to a file.
MEASURE = """
import runpy, sys
out, sys.argv = sys.argv[1], ["tt", *sys.argv[2:]]
try:
    runpy.run_module("tt", run_name="__main__", alter_sys=True)
finally:
    kb = next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    with open(out, "w") as f:
        f.write(kb)
"""


def grade(sub: Path, out: Path) -> dict:
    """Grade `sub` once: peak RSS of the grading process (MB), wall time (s), score."""
    hwm = out.with_suffix(".hwm")
    cmd = [sys.executable, "-c", MEASURE, str(hwm), "grade", str(sub), "-k", SELECT,
           "--seed", "0", "--quiet", "--out", str(out)]
    start = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=TIMEOUT)
    wall = time.perf_counter() - start
    if not hwm.exists():
        raise RuntimeError(f"no VmHWM recorded (exit {r.returncode}): {r.stderr.strip()[-500:]}")
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    if "not_graded" in results:
        score = "NOT GRADED"
    else:
        score = f"{results['score']:g}/{sum(t['max_score'] for t in results['tests']):g}"
    return {"mb": int(hwm.read_text()) * 1024 / 1e6, "wall": wall, "score": score}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="1 run per variant")
    ap.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    args = ap.parse_args(argv)
    runs = 1 if args.quick else args.runs
    variants = ["honest", *(v for v in args.variants if v != "honest")]   # the baseline, always
    work = Path(tempfile.mkdtemp(prefix="tt-bench-memory-"))
    try:
        subs, errors = {}, {}
        for v in variants:
            try:
                subs[v] = make_submission(work, v)
            except Exception as e:
                errors[v] = f"{type(e).__name__}: {e}"
        got = {v: [] for v in variants}
        for r in range(runs):
            for v in subs:
                if v in errors:
                    continue
                try:
                    got[v].append(grade(subs[v], work / f"out-{v}-{r}"))
                except Exception as e:              # this variant is out; the others go on
                    errors[v] = f"{type(e).__name__}: {str(e)[:500]}"
            print(f"round {r + 1}/{runs} done", file=sys.stderr)

        print(f"Peak resident memory (VmHWM) of the grading process, `tt grade -k {SELECT!r}`, "
              f"median of {runs} run(s), MB = 10^6 bytes.")
        print(f"The student's worker is a separate process, capped by RLIMIT_AS, and not counted. "
              f"One message carries at most {LIMITS.max_message_bytes / 1e6:.1f} MB "
              f"(the max-results array: {BIG * 8 / 1e6:.1f} MB).")
        print(f"  {'variant':<16} {'peak MB':>8} {'(min-max)':>15} {'x honest':>9} {'score':>11} {'wall s':>7}")
        base = statistics.median(m["mb"] for m in got["honest"]) if got["honest"] else None
        for v in variants:
            ms = got[v]
            if ms:
                mb = [m["mb"] for m in ms]
                med = statistics.median(mb)
                ratio = f"{med / base:8.2f}x" if base else f"{'-':>9}"
                scores = sorted({m["score"] for m in ms})
                print(f"  {v:<16} {med:8.1f} {f'({min(mb):.0f}-{max(mb):.0f})':>15} {ratio} "
                      f"{' '.join(scores):>11} {statistics.median(m['wall'] for m in ms):7.1f}")
            if v in errors:
                print(f"  {v:<16} FAILED{f' after {len(ms)} run(s)' if ms else ''}: {errors[v]}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
