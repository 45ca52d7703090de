"""Speed of tt's forward, forward+backward and Adam step, beside PyTorch eager.

    python benchmarks/bench_model.py [--rounds 5] [--repeats 60] [--batches 1 32 256]

One run of this script measures both frameworks side by side: it starts a fresh
child process per framework and alternates them, round after round (tt, torch, tt,
torch, ...), so that load from other processes on this shared machine falls on both
alike. Each framework runs alone in its own process: in one process, PyTorch's
allocator and thread pools slowed NumPy's next calls by up to 60% (measured), which
would flatter neither. Both use the same weights (tt.init_params), the same thread
count (--threads, default 1) and the same malloc settings (tt.perf.tune). The table
gives the median over every call of every round, and tt / torch.

Target (issue 2): forward+backward at batch 32 in float32 <= 0.5 x PyTorch eager.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
MEASURES = ("forward", "forward+backward", "adam step")


def timings(fn, repeats, warmup=10):
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def child(framework, batches, repeats, threads):
    """Measure one framework; print {"dtype B measure": [seconds, ...]} as JSON."""
    sys.path.insert(0, HERE)
    import tt
    from tt.optim import adam_step_inplace
    from tt.perf import tune

    tune(threads)
    train, _ = tt.train_val_split(seed=0)
    results = {}
    if framework == "torch":
        import torch

        import torch_model
        torch.set_num_threads(threads)
    for dtype in ("float32", "float64"):
        for B in batches:
            idx = np.random.default_rng(0).choice(len(train), size=B, replace=False)
            tokens, targets = train.tokens[idx], train.targets[idx]
            params = tt.init_params(seed=0, dtype=np.dtype(dtype))
            n = max(10, repeats * 32 // max(B, 32))
            if framework == "tt":
                states = {}

                def adam_step():
                    _, grads = tt.loss_and_grads(params, tokens, targets)
                    adam_step_inplace(params, grads, states, lr=1e-9)

                fns = {"forward": lambda: tt.forward(params, tokens),
                       "forward+backward": lambda: tt.loss_and_grads(params, tokens, targets),
                       "adam step": adam_step}
            else:
                tp = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
                X, Y = torch.tensor(tokens), torch.tensor(targets)
                opt = torch.optim.Adam(tp.values(), lr=1e-9)

                def forward():
                    with torch.no_grad():
                        torch_model.forward(tp, X)

                def adam_step():
                    torch_model.loss_and_grads(tp, X, Y)
                    opt.step()

                fns = {"forward": forward,
                       "forward+backward": lambda: torch_model.loss_and_grads(tp, X, Y),
                       "adam step": adam_step}
            for name in MEASURES:
                results[f"{dtype} {B} {name}"] = timings(fns[name], n)
    print(json.dumps(results))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=60, help="calls per measure per round at B <= 32")
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 32, 256])
    ap.add_argument("--threads", type=int, default=1, help="for NumPy's BLAS and PyTorch alike")
    ap.add_argument("--child", choices=["tt", "torch"], help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child(args.child, args.batches, args.repeats, args.threads)

    try:
        import torch
        frameworks = ["tt", "torch"]
        versions = f"numpy {np.__version__}, torch {torch.__version__}"
    except ImportError:
        frameworks = ["tt"]
        versions = f"numpy {np.__version__}, torch not installed"
    print(f"{versions}; {args.threads} thread(s) each; {args.rounds} alternating rounds; medians")
    samples = {f: {} for f in frameworks}
    for r in range(args.rounds):
        for f in frameworks:
            cmd = [sys.executable, __file__, "--child", f, "--repeats", str(args.repeats),
                   "--threads", str(args.threads), "--batches", *map(str, args.batches)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            for key, ts in json.loads(out.strip().splitlines()[-1]).items():
                samples[f].setdefault(key, []).extend(ts)
        print(f"  round {r + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    print(f"{'dtype':<8} {'B':>4} {'measure':<18} {'tt ms':>9} {'torch ms':>9} {'tt/torch':>9}")
    for key, ts in samples["tt"].items():
        dtype, B, name = key.split(" ", 2)
        t_ms = float(np.median(ts)) * 1e3
        if "torch" in samples:
            p_ms = float(np.median(samples["torch"][key])) * 1e3
            print(f"{dtype:<8} {B:>4} {name:<18} {t_ms:9.3f} {p_ms:9.3f} {t_ms / p_ms:9.2f}")
        else:
            print(f"{dtype:<8} {B:>4} {name:<18} {t_ms:9.3f} {'-':>9} {'-':>9}")


if __name__ == "__main__":
    main()
