"""Gradient magnitudes at each stage of the backward pass (seed Part 7).

    Stage                  what it is
    dloss/dlogits          (B, V)   where the backward pass starts
    dloss/dW_output        (C, V)
    dloss/dfinal_repr      (B, C)   the gradient entering block 2 (last position)
    dloss/dBlock2_params   all parameters of the last block
    dloss/dBlock1_params   all parameters of the first block
    dloss/dembeddings      (V, C)

`tt gradflow` prints them for a checkpoint or a fresh initialization, beside the
ranges the seed quotes, so you can see what actually happens to the gradient.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

from tt.layers import softmax_cross_entropy_forward
from tt.model import init_params, model_forward
from tt.ops import reference

# The seed's table: "typical gradient magnitudes (absolute values) during training".
SEED_RANGES = {
    "logits": "0.0 - 1.0",
    "W_output": "0.001 - 0.1",
    "final_repr": "0.01 - 0.5",
    "block2_params": "0.0001 - 0.05",
    "block1_params": "0.00001 - 0.01",
    "embeddings": "0.00001 - 0.005",
}


def stage_gradients(params, tokens, targets, ops=None):
    """The gradient at every stage of the seed's table: {stage: flat float64 array}.

    The same walk as tt.model.model_backward, keeping what it passes along. As in
    loss_and_grads, plugged-in ops get every block on all positions.
    """
    ### BEGIN SOLUTION
    last_only = ops is None
    ops = ops or reference()
    logits, cache = model_forward(params, tokens, last_only=last_only)
    _, ce_cache = softmax_cross_entropy_forward(logits, np.asarray(targets))
    dlogits = ops.softmax_cross_entropy_backward(1.0, ce_cache)
    dx, dW_out, _ = ops.output_backward(dlogits, cache.output, ops)
    stages = {"logits": dlogits, "W_output": dW_out, "final_repr": dx[:, -1]}
    L = len(cache.blocks)
    for i in reversed(range(L)):
        dx, g = ops.block_backward(dx, cache.blocks[i], ops)
        if i in (0, L - 1):
            stages["block1_params" if i == 0 else "block2_params"] = np.concatenate(
                [v.ravel() for v in g.values()])
    stages["embeddings"] = ops.embedding_backward(dx, cache.embedding)
    order = ("logits", "W_output", "final_repr", "block2_params", "block1_params", "embeddings")
    return {k: np.asarray(stages[k], dtype=np.float64).ravel() for k in order}
    ### END SOLUTION


def stage_norms(params, tokens, targets, ops=None):
    """{stage: L2 norm of its gradient}, for plotting over training."""
    ### BEGIN SOLUTION
    return {k: float(np.linalg.norm(g)) for k, g in stage_gradients(params, tokens, targets, ops).items()}
    ### END SOLUTION


def _seed_range(name):
    low, high = (float(x) for x in SEED_RANGES[name].split(" - "))
    return low, high


def versus_seed(name, g) -> str:
    """Where the median |g| of a stage lies against the seed's range: below, within or above."""
    low, high = _seed_range(name)
    m = float(np.median(np.abs(g)))
    return "below" if m < low else "above" if m > high else "within"


def table(stages) -> str:
    """The seed's table with measured numbers: median |g|, 99th percentile |g|, norm."""
    lines = [f"{'stage':<22} {'median |g|':>11} {'p99 |g|':>11} {'max |g|':>11} {'L2 norm':>10}"
             f"   {'seed says':<16} median vs seed",
             "-" * 106]
    for name, g in stages.items():
        a = np.abs(g)
        lines.append(f"dloss/d{name:<15} {np.median(a):11.2e} {np.percentile(a, 99):11.2e} "
                     f"{a.max():11.2e} {np.linalg.norm(g):10.3e}   {SEED_RANGES[name]:<16} "
                     f"{versus_seed(name, g)}")
    outside = [name for name, g in stages.items() if versus_seed(name, g) != "within"]
    if outside:
        lines += ["", f"{len(outside)} of {len(stages)} stages ({', '.join(outside)}) have their median |g| "
                  f"outside the seed's range.", "The seed's ranges are typical magnitudes it quotes for a "
                  "model in training, not measurements", "of this one: read them as orders of magnitude."]
    return "\n".join(lines)


def attenuation(stages) -> str:
    """|dembeddings| / |dlogits|, and what it means: above 1 the gradient grew, it did not shrink."""
    e, g = stages["embeddings"], stages["logits"]
    ratio = float(np.linalg.norm(e)) / max(float(np.linalg.norm(g)), 1e-300)
    seed_fold = _seed_range("logits")[1] / _seed_range("embeddings")[1]
    text = f"|dembeddings| / |dlogits| (L2 norms): {ratio:.3g}\n"
    if ratio > 1:
        text += (f"  Above 1: the gradient is LARGER at the embeddings than at the logits, an amplification\n"
                 f"  by {ratio:.3g}, not an attenuation.")
    else:
        text += f"  Below 1: the gradient shrank {1 / max(ratio, 1e-300):.3g}-fold from the logits to the embeddings."
    text += (f" The seed's ranges shrink about {seed_fold:.0f}-fold from\n"
             f"  dlogits to dembeddings. The two norms add up {e.size} and {g.size} entries.")
    return text


def main(argv=None) -> int:
    """`tt gradflow`: the gradient-magnitude table for a checkpoint or a fresh init."""
    from tt.data import train_val_split
    from tt.perf import tune
    from tt.train import load_checkpoint

    ap = argparse.ArgumentParser(prog="tt gradflow", description=main.__doc__)
    ap.add_argument("checkpoint", nargs="?", help="checkpoint.npz from `tt train` (default: fresh init)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=32)
    args = ap.parse_args(argv)
    tune()
    if args.checkpoint:
        try:
            params = load_checkpoint(args.checkpoint)
        except (OSError, ValueError, KeyError) as exc:
            print(f"tt gradflow: cannot read checkpoint {args.checkpoint}: {exc}", file=sys.stderr)
            return 2
        source = args.checkpoint
    else:
        params, source = init_params(seed=args.seed), f"fresh initialization (seed {args.seed})"
    params = {k: v.astype(np.float64) for k, v in params.items()}
    _, val = train_val_split(seed=args.seed)
    idx = np.random.default_rng(args.seed).choice(len(val), size=min(args.batch, len(val)), replace=False)
    stages = stage_gradients(params, val.tokens[idx], val.targets[idx])
    print(f"Gradient magnitudes, {source}, one validation batch of {len(idx)}\n")
    print(table(stages))
    print()
    print(attenuation(stages))
    return 0


if __name__ == "__main__":
    sys.exit(main())
