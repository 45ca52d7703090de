"""Training the transformer on the operation task, and looking at what it learned.

    from tt.train import TrainConfig, train
    result = train(TrainConfig(epochs=5))          # or: tt train --epochs 5

Adam with the seed's settings (lr 0.001, batch 32, constant rate) reaches 99%
validation accuracy within a couple of epochs. Each run writes to its folder:
    checkpoint.npz   the parameters (plain arrays, no pickle)
    history.json     the configuration, every evaluation, the time to the target
    loss.png, gradnorms.png, attention.png   (when matplotlib is installed)

`ops=` trains with other backward functions (exercise 15 plugs in the student's);
`update=` with another update rule, such as the student's own Adam.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tt import optim
from tt.data import Dataset, decode, encode, train_val_split
from tt.gradflow import stage_norms
from tt.io import atomic_save_npz, atomic_write_json
from tt.layers import softmax_cross_entropy_forward
from tt.model import init_params, loss_and_grads, model_forward
from tt.progress import Progress


@dataclass
class TrainConfig:
    epochs: int = 5
    batch_size: int = 32                # the seed's batch size
    lr: float = 1e-3                    # the seed's learning rate
    schedule: str = "constant"          # see tt.optim.SCHEDULES
    warmup: int = 50                    # steps, for warmup_cosine
    clip: float | None = None           # max global gradient norm, or None
    seed: int = 0
    dtype: str = "float32"
    eval_every: int = 25                # steps between evaluations
    target_acc: float = 0.99            # recorded: when validation accuracy first reaches it
    stop_at_target: bool = False        # stop as soon as the target is reached
    out_dir: str | None = "runs/default"
    plots: bool = True
    progress: bool | None = None        # None: a live bar only on a terminal


def evaluate(params, data: Dataset, batch=1000):
    """(mean loss, accuracy) over a whole dataset."""
    losses, correct = 0.0, 0
    for i in range(0, len(data), batch):
        tok, tgt = data.tokens[i:i + batch], data.targets[i:i + batch]
        logits, _ = model_forward(params, tok)
        losses += softmax_cross_entropy_forward(logits, tgt)[0] * len(tgt)
        correct += int((logits.argmax(-1) == tgt).sum())
    return losses / len(data), correct / len(data)


def train(cfg: TrainConfig = TrainConfig(), ops=None, update=None, log=print):
    """Train from scratch; returns {"params", "history", "out_dir"}.

    update: a rule `(w, dw, state, lr=...) -> (w, state)` from tt.optim or your own;
    None uses Adam, updated in place for speed.
    """
    ### BEGIN SOLUTION
    from tt.perf import tune

    tune()
    if cfg.schedule not in optim.SCHEDULES:
        raise ValueError(f"TrainConfig.schedule: unknown {cfg.schedule!r}; "
                         f"choose one of {', '.join(optim.SCHEDULES)}")
    dtype = np.dtype(cfg.dtype)
    params = init_params(seed=cfg.seed, dtype=dtype)
    train_set, val_set = train_val_split(seed=cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    steps_per_epoch = len(train_set) // cfg.batch_size
    total = cfg.epochs * steps_per_epoch
    schedule = _schedule(cfg, total)
    probe = rng.choice(len(val_set), size=min(64, len(val_set)), replace=False)
    states, history, reached = {}, [], None
    start, running = time.perf_counter(), []
    bar = Progress(total, desc="training", force=cfg.progress)
    step = 0
    for epoch in range(cfg.epochs):
        order = rng.permutation(len(train_set))
        for b in range(steps_per_epoch):
            idx = order[b * cfg.batch_size:(b + 1) * cfg.batch_size]
            loss, grads = loss_and_grads(params, train_set.tokens[idx], train_set.targets[idx], ops=ops)
            if not np.isfinite(loss):
                bar.close()
                raise FloatingPointError(f"training diverged at step {step}: loss is {loss}")
            if cfg.clip is not None:
                grads, _ = optim.clip_by_global_norm(grads, cfg.clip)
            lr = schedule(step)
            if update is None:
                optim.adam_step_inplace(params, grads, states, lr=lr)
            else:
                params, states = optim.step(params, grads, states, update, lr=lr)
            running.append(loss)
            step += 1
            bar.update()
            if step % cfg.eval_every == 0 or step == total:
                val_loss, val_acc = evaluate(params, val_set)
                record = {"step": step, "epoch": epoch + (b + 1) / steps_per_epoch,
                          "seconds": time.perf_counter() - start, "lr": lr,
                          "train_loss": float(np.mean(running)), "val_loss": val_loss,
                          "val_acc": val_acc,
                          "grad_norms": stage_norms(params, val_set.tokens[probe],
                                                    val_set.targets[probe], ops)}
                running = []
                history.append(record)
                bar.set_postfix(f"loss {record['train_loss']:.3f} val acc {val_acc:.3f}")
                if reached is None and val_acc >= cfg.target_acc:
                    reached = record
                    if cfg.stop_at_target:
                        break
        if reached is not None and cfg.stop_at_target:
            break
    bar.close()
    train_loss, train_acc = evaluate(params, train_set)
    val_loss, val_acc = evaluate(params, val_set)
    summary = {"config": dataclasses.asdict(cfg), "steps": step,
               "seconds": time.perf_counter() - start,
               "final": {"train_loss": train_loss, "train_acc": train_acc,
                         "val_loss": val_loss, "val_acc": val_acc},
               "target": {"val_acc": cfg.target_acc,
                          "reached_at_step": reached and reached["step"],
                          "reached_after_seconds": reached and reached["seconds"]},
               "history": history}
    out = None
    if cfg.out_dir:
        out = Path(cfg.out_dir)
        save_checkpoint(out / "checkpoint.npz", params, step)
        atomic_write_json(out / "history.json", summary)
        if cfg.plots:
            made = plot_run(out, summary, params)
            if not made:
                log("(matplotlib is not installed: no plots; pip install matplotlib)")
    return {"params": params, "history": summary, "out_dir": out}
    ### END SOLUTION


def _schedule(cfg, total):
    name, lr0 = cfg.schedule, cfg.lr
    if name == "constant":
        return lambda s: optim.constant(s, lr0)
    if name == "step":
        return lambda s: optim.step_decay(s, lr0, every=max(1, total // 3))
    if name == "exponential":
        return lambda s: optim.exponential(s, lr0, gamma=0.01 ** (1 / max(1, total)))
    if name == "cosine":
        return lambda s: optim.cosine(s, lr0, total)
    return lambda s: optim.warmup_cosine(s, lr0, total, cfg.warmup)


# ------------------------------------------------------------------------ checkpoints
def save_checkpoint(path, params, step=0):
    """Parameters as an .npz of plain arrays, plus the step; written atomically."""
    atomic_save_npz(path, {**params, "__step__": np.array(step)})


def load_checkpoint(path):
    """The parameter dict saved by save_checkpoint (never unpickles anything)."""
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files if not k.startswith("__")}


# ------------------------------------------------------------------------------ plots
def attention_maps(params, text="Max(1,6,2)"):
    """Attention weights of every block and head for one input: (L, H, T, T)."""
    tokens = np.array([encode(text)])
    _, cache = model_forward(params, tokens, last_only=False)
    return np.stack([c.mha.attn.softmax.y[0] for c in cache.blocks])


def plot_run(out: Path, summary, params) -> bool:
    """loss.png, gradnorms.png and attention.png; False if matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    from tt.io import atomic_write_bytes
    import io

    def save(fig, name):
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        atomic_write_bytes(out / name, buf.getvalue())

    h = summary["history"]
    save(loss_figure(plt, h, summary["target"]["val_acc"]), "loss.png")
    save(gradnorm_figure(plt, h), "gradnorms.png")
    text = "Max(1,6,2)"
    save(attention_figure(plt, attention_maps(params, text), [decode([t]) for t in encode(text)], text),
         "attention.png")
    return True


def loss_figure(plt, history, target_acc):
    """Training and validation loss (log scale), and validation accuracy, against the step."""
    steps = [r["step"] for r in history]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.6))
    a1.plot(steps, [r["train_loss"] for r in history], label="train loss")
    a1.plot(steps, [r["val_loss"] for r in history], label="validation loss")
    a1.set_yscale("log"), a1.set_xlabel("step"), a1.legend(), a1.set_title("loss")
    a1.set_ylabel("cross-entropy loss (log scale)")
    a2.plot(steps, [r["val_acc"] for r in history], color="C2")
    a2.axhline(target_acc, ls="--", color="gray", lw=1, label=f"target {target_acc:.0%}")
    a2.set_xlabel("step"), a2.set_title("validation accuracy"), a2.set_ylim(0, 1.01)
    a2.set_ylabel("fraction of answers right"), a2.legend(loc="lower right")
    return fig


# One look per stage: lines of nearly equal norm (dlogits and dfinal_repr often are)
# stay visible under each other through their markers and dashes.
STAGE_STYLES = [("o", "-"), ("s", "--"), ("^", ":"), ("v", "-."), ("D", (0, (5, 1, 1, 1))), ("x", (0, (1, 3)))]


def gradnorm_figure(plt, history):
    """The L2 norm of each stage's gradient (the seed's table, Part 7) against the step."""
    steps = [r["step"] for r in history]
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    every = max(1, len(steps) // 12)            # a dozen markers per line, not one per step
    for k, stage in enumerate(history[0]["grad_norms"]):
        marker, dashes = STAGE_STYLES[k % len(STAGE_STYLES)]
        ax.plot(steps, [r["grad_norms"][stage] for r in history], label=f"dloss/d{stage}",
                marker=marker, markevery=(k % every, every), markersize=4, linestyle=dashes,
                markerfacecolor="none")
    ax.set_yscale("log"), ax.set_xlabel("step"), ax.set_ylabel("L2 norm (log scale)")
    ax.set_title("gradient norm of each stage"), ax.legend(fontsize=8)
    return fig


def attention_figure(plt, maps, labels, text):
    """One heat map per block and head, with a shared colour bar of the attention weight."""
    L, H = maps.shape[:2]
    fig, axes = plt.subplots(L, H, figsize=(2.6 * H + 0.8, 2.6 * L), squeeze=False)
    image = None
    for i in range(L):
        for j in range(H):
            ax = axes[i][j]
            image = ax.imshow(maps[i, j], vmin=0, vmax=1, cmap="viridis")
            ax.set_title(f"block {i + 1}, head {j + 1}", fontsize=9)
            ax.set_xticks(range(len(labels)), labels, fontsize=7)
            ax.set_yticks(range(len(labels)), labels, fontsize=7)
    bar = fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.8)
    bar.set_label("attention weight (each row sums to 1)")
    fig.suptitle(f"attention for {text} (rows: queries, columns: keys)")
    return fig


# -------------------------------------------------------------------------------- CLI
def main(argv=None) -> int:
    """`tt train`: train the reference model and print where it got to."""
    d = TrainConfig()
    ap = argparse.ArgumentParser(prog="tt train", description=main.__doc__)
    ap.add_argument("--epochs", type=int, default=d.epochs)
    ap.add_argument("--batch-size", type=int, default=d.batch_size)
    ap.add_argument("--lr", type=float, default=d.lr)
    ap.add_argument("--schedule", default=d.schedule, choices=sorted(optim.SCHEDULES))
    ap.add_argument("--clip", type=float, default=None, help="max global gradient norm")
    ap.add_argument("--seed", type=int, default=d.seed)
    ap.add_argument("--dtype", default=d.dtype, choices=["float32", "float64"])
    ap.add_argument("--out", default=d.out_dir, help="run folder (default %(default)s)")
    ap.add_argument("--stop-at-target", action="store_true",
                    help=f"stop once validation accuracy reaches {d.target_acc:.0%}%")   # %% for argparse
    ap.add_argument("--no-plots", action="store_true")
    args = ap.parse_args(argv)
    cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                      schedule=args.schedule, clip=args.clip, seed=args.seed, dtype=args.dtype,
                      out_dir=args.out, stop_at_target=args.stop_at_target,
                      plots=not args.no_plots)
    if cfg.epochs < 1 or cfg.batch_size < 1 or not cfg.lr > 0:
        print("tt train: --epochs, --batch-size and --lr must be positive", file=sys.stderr)
        return 2
    n = sum(p.size for p in init_params(dtype=np.float32).values())
    print(f"Training the reference transformer ({n:,} parameters) with Adam, lr {cfg.lr:g}, "
          f"batch {cfg.batch_size}, {cfg.epochs} epochs, {cfg.dtype}")
    result = train(cfg)
    s = result["history"]
    f, t = s["final"], s["target"]
    print(f"final: train loss {f['train_loss']:.4f}, train accuracy {f['train_acc']:.2%}; "
          f"validation loss {f['val_loss']:.4f}, validation accuracy {f['val_acc']:.2%}")
    if t["reached_at_step"] is not None:
        print(f"reached {t['val_acc']:.0%} validation accuracy at step {t['reached_at_step']} "
              f"after {t['reached_after_seconds']:.1f} s")
    else:
        print(f"did not reach {t['val_acc']:.0%} validation accuracy")
    params = result["params"]
    sample = "Max(1,6,2)"
    pred = int(model_forward(params, np.array([encode(sample)]))[0].argmax(-1)[0])
    print(f"{sample} -> {decode([pred])}")
    if result["out_dir"]:
        print(f"wrote {result['out_dir']}/ (checkpoint.npz, history.json"
              + (", loss.png, gradnorms.png, attention.png)" if cfg.plots else ")"))
    return 0 if f["val_acc"] >= t["val_acc"] else 1


if __name__ == "__main__":
    sys.exit(main())
