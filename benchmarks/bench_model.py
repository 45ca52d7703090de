"""Speed of tt's forward, forward+backward and Adam step, beside PyTorch eager.

    python benchmarks/bench_model.py [--repeats 200] [--batches 1 32 256]

Everything is measured in one process. When PyTorch is installed, the same model
(benchmarks/torch_model.py, from the same weights) is timed in the same loop,
alternating call by call with tt so that load from other processes on this shared
machine hits both alike; medians are reported, and the ratio tt / torch.
Target (issue 2): forward+backward at batch 32 in float32 <= 0.5 x PyTorch eager.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import tt  # noqa: E402
from tt.perf import tune  # noqa: E402
from tt.optim import adam_step_inplace  # noqa: E402

try:
    import torch

    import torch_model
except ImportError:  # PyTorch is optional: tt alone is still measured
    torch = None


def medians(fns, repeats, rounds=10, warmup=5):
    """Median seconds per call of each function, measured side by side.

    The functions take turns in `rounds` rounds of repeats/rounds calls each: turns
    of a few calls (not one) because both NumPy's OpenBLAS and PyTorch's OpenMP keep
    their threads spinning for a while after a call, and a one-call turn would make
    each framework run against the other's spinning threads.
    """
    per_turn = max(1, repeats // rounds)
    times = [[] for _ in fns]
    for _ in range(rounds):
        for f, ts in zip(fns, times):
            for _ in range(warmup):
                f()
            for _ in range(per_turn):
                t0 = time.perf_counter()
                f()
                ts.append(time.perf_counter() - t0)
    return [float(np.median(ts)) for ts in times]


def bench(batch, dtype, repeats):
    params = tt.init_params(seed=0, dtype=dtype)
    train, _ = tt.train_val_split(seed=0)
    idx = np.random.default_rng(0).choice(len(train), size=batch, replace=False)
    tokens, targets = train.tokens[idx], train.targets[idx]
    states = {}

    def tt_adam():
        _, grads = tt.loss_and_grads(params, tokens, targets)
        adam_step_inplace(params, grads, states, lr=1e-9)

    rows = {"forward": [lambda: tt.forward(params, tokens)],
            "forward+backward": [lambda: tt.loss_and_grads(params, tokens, targets)],
            "adam step": [tt_adam]}
    if torch is not None:
        tdtype = torch.float32 if dtype == np.float32 else torch.float64
        tp = {k: torch.tensor(v, dtype=tdtype, requires_grad=True) for k, v in params.items()}
        X, Y = torch.tensor(tokens), torch.tensor(targets)
        opt = torch.optim.Adam(tp.values(), lr=1e-9)

        def torch_forward():
            with torch.no_grad():
                torch_model.forward(tp, X)

        def torch_adam():
            torch_model.loss_and_grads(tp, X, Y)
            opt.step()

        rows["forward"].append(torch_forward)
        rows["forward+backward"].append(lambda: torch_model.loss_and_grads(tp, X, Y))
        rows["adam step"].append(torch_adam)
    return {name: medians(fns, repeats) for name, fns in rows.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=200)
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 32, 256])
    ap.add_argument("--threads", type=int, default=1,
                    help="threads for NumPy's BLAS and for PyTorch alike (default 1)")
    args = ap.parse_args(argv)
    tuned = tune(args.threads)  # malloc settings and threads, for both frameworks alike
    if torch is not None:
        torch.set_num_threads(args.threads)

    print(f"numpy {np.__version__}, {tuned['blas_threads']} BLAS thread(s)"
          + (f"; torch {torch.__version__}, {torch.get_num_threads()} thread(s)" if torch else "; torch not installed")
          + f"; malloc tuned: {tuned['malloc']}; medians")
    print(f"{'dtype':<8} {'B':>4} {'measure':<18} {'tt ms':>9} {'torch ms':>9} {'tt/torch':>9}")
    for dtype in (np.float32, np.float64):
        for B in args.batches:
            result = bench(B, dtype, max(20, args.repeats * 32 // max(B, 32)))
            for name, times in result.items():
                t_ms = times[0] * 1e3
                if len(times) > 1:
                    p_ms = times[1] * 1e3
                    print(f"{np.dtype(dtype).name:<8} {B:>4} {name:<18} {t_ms:9.3f} {p_ms:9.3f} {t_ms / p_ms:9.2f}")
                else:
                    print(f"{np.dtype(dtype).name:<8} {B:>4} {name:<18} {t_ms:9.3f} {'-':>9} {'-':>9}")


if __name__ == "__main__":
    main()
