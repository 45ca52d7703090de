"""Wall time to 99% validation accuracy: tt against PyTorch eager, same everything.

    python benchmarks/bench_train.py [--seeds 0 1 2] [--eval-every 25]

Both start from the same weights (tt.init_params), see the same batches in the same
order, use Adam with the seed's hyper-parameters (lr 0.001, batch 32, betas 0.9 and
0.999, eps 1e-8) in float32, and evaluate the whole validation split every
`eval-every` steps. The clock runs from the first step to the first evaluation at
>= 99%. Runs alternate tt, torch, tt, torch ... and the medians are reported.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import tt  # noqa: E402
from tt.optim import adam_step_inplace  # noqa: E402
from tt.perf import tune  # noqa: E402
from tt.train import evaluate  # noqa: E402

try:
    import torch

    import torch_model
except ImportError:
    torch = None

TARGET, LR, BATCH, MAX_STEPS = 0.99, 1e-3, 32, 5000


def batches(seed, n_train):
    rng = np.random.default_rng(seed)
    while True:
        order = rng.permutation(n_train)
        for b in range(n_train // BATCH):
            yield order[b * BATCH:(b + 1) * BATCH]


def run_tt(seed, train, val, eval_every):
    params = tt.init_params(seed=seed, dtype=np.float32)
    states, stream = {}, batches(seed, len(train))
    start = time.perf_counter()
    for step in range(1, MAX_STEPS + 1):
        idx = next(stream)
        _, grads = tt.loss_and_grads(params, train.tokens[idx], train.targets[idx])
        adam_step_inplace(params, grads, states, lr=LR)
        if step % eval_every == 0 and evaluate(params, val)[1] >= TARGET:
            return time.perf_counter() - start, step
    return float("nan"), MAX_STEPS


def run_torch(seed, train, val, eval_every):
    tp = torch_model.to_torch(tt.init_params(seed=seed, dtype=np.float32))
    opt = torch.optim.Adam(tp.values(), lr=LR, betas=(0.9, 0.999), eps=1e-8)
    X, Y = torch.tensor(train.tokens), torch.tensor(train.targets)
    VX, VY = torch.tensor(val.tokens), torch.tensor(val.targets)
    stream = batches(seed, len(train))
    start = time.perf_counter()
    for step in range(1, MAX_STEPS + 1):
        idx = torch.from_numpy(next(stream))
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(torch_model.forward(tp, X[idx]), Y[idx])
        loss.backward()
        opt.step()
        if step % eval_every == 0:
            with torch.no_grad():
                acc = (torch_model.forward(tp, VX).argmax(-1) == VY).double().mean().item()
            if acc >= TARGET:
                return time.perf_counter() - start, step
    return float("nan"), MAX_STEPS


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--eval-every", type=int, default=25)
    ap.add_argument("--threads", type=int, default=1, help="for NumPy's BLAS and PyTorch alike")
    args = ap.parse_args(argv)
    tuned = tune(args.threads)
    if torch is not None:
        torch.set_num_threads(args.threads)
    train, val = tt.train_val_split(seed=0)
    print(f"Adam lr {LR}, batch {BATCH}, float32, evaluate every {args.eval_every} steps; "
          f"{args.threads} thread(s) each; malloc tuned: {tuned['malloc']}; "
          f"torch: {torch.__version__ if torch else 'not installed'}")
    rows = {"tt": [], "torch": []}
    for seed in args.seeds:
        t, steps = run_tt(seed, train, val, args.eval_every)
        rows["tt"].append(t)
        line = f"seed {seed}: tt {t:6.2f} s ({steps} steps)"
        if torch is not None:
            t2, steps2 = run_torch(seed, train, val, args.eval_every)
            rows["torch"].append(t2)
            line += f"   torch {t2:6.2f} s ({steps2} steps)"
        print(line, flush=True)
    med = {k: float(np.median(v)) for k, v in rows.items() if v}
    print(f"median seconds to {TARGET:.0%}: " + ", ".join(f"{k} {v:.2f}" for k, v in med.items())
          + (f"; tt / torch = {med['tt'] / med['torch']:.2f}" if "torch" in med else ""))


if __name__ == "__main__":
    main()
