"""Gradient checking: compare a backward pass with central finite differences.

    df/dx_i  ~  (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)        (seed: Gradient Checking)

Always check in float64: with eps = 1e-5 the truncation error is O(eps^2) ~ 1e-10 and
the round-off error O(1e-16 / eps) ~ 1e-11, so a correct gradient agrees to ~1e-9.

An operation is checked against a random, non-uniform upstream gradient `dout`: an
all-ones `dout` proves nothing for softmax or LayerNorm, whose outputs have a fixed
sum (its gradient is zero whatever the backward pass returns).
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

TINY = 1e-300


def rel_error(a, b) -> float:
    """max|a - b| / max(|a| + |b|): 0 for equal arrays, about 1 for unrelated ones."""
    ### BEGIN SOLUTION
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b), initial=0.0)
                 / max(float(np.max(np.abs(a) + np.abs(b), initial=0.0)), TINY))
    ### END SOLUTION


def numerical_gradient(f, x, eps=1e-5):
    """Central-difference gradient of the scalar function f() with respect to array x.

    f takes no arguments and reads x, which is perturbed in place one entry at a time
    and always restored. Returns an array shaped like x.
    """
    ### BEGIN SOLUTION
    grad = np.zeros(x.shape, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    for entry in it:                       # works for views too: writes reach x itself
        old = float(entry)
        entry[...] = old + eps
        f_plus = f()
        entry[...] = old - eps
        f_minus = f()
        entry[...] = old
        grad[it.multi_index] = (f_plus - f_minus) / (2 * eps)
    return grad
    ### END SOLUTION


# ------------------------------------------------------------------ one operation
def _leaves(tree, path=()):
    """(path, array) for every float array in nested dicts/tuples/lists, in order."""
    if isinstance(tree, dict):
        for k in tree:
            yield from _leaves(tree[k], path + (k,))
    elif isinstance(tree, (tuple, list)):
        for i, v in enumerate(tree):
            yield from _leaves(v, path + (i,))
    elif isinstance(tree, np.ndarray) and tree.dtype.kind == "f":
        yield path, tree


def check_op(forward, backward, inputs, wrt, seed=0, eps=1e-5):
    """Check backward(dout, cache) against finite differences of forward(**inputs).

    inputs: keyword arguments of `forward`, float arrays in float64 (dicts of arrays
    are fine, e.g. a block's parameters). wrt: the input names whose gradients
    `backward` returns, in its return order; a dict input matches a dict gradient.
    Returns {name or "name.key": relative error}.
    """
    ### BEGIN SOLUTION
    rng = np.random.default_rng(seed)
    out, cache = forward(**inputs)
    # non-uniform and of no fixed sum: a normal draw, scaled differently per entry
    dout = rng.standard_normal(out.shape) * rng.uniform(0.5, 1.5, out.shape)
    analytic = backward(dout, cache)
    if len(wrt) == 1 and not isinstance(analytic, tuple):
        analytic = (analytic,)
    errors = {}
    for name, grad in zip(wrt, analytic):
        for path, x in _leaves(inputs[name]):
            g = grad
            for key in path:
                g = g[key]

            def f():
                return float(np.sum(dout * forward(**inputs)[0]))

            label = ".".join([name, *map(str, path)])
            errors[label] = rel_error(g, numerical_gradient(f, x, eps))
    return errors
    ### END SOLUTION


# ------------------------------------------------------------------ the whole model
def check_model(params, tokens, targets, n_coords=6, n_dirs=4, seed=0, eps=1e-5, ops=None):
    """Check every parameter tensor of the model against finite differences.

    For each tensor: `n_coords` coordinates (the one with the largest analytic
    gradient, so the error is measured against the tensor's own scale, and random
    others) and `n_dirs` random directions d, comparing (L(p + eps d) - L(p - eps d)) / 2eps
    with sum(grad * d). Returns {name: (coordinate error, direction error)}.
    """
    ### BEGIN SOLUTION
    from tt.model import loss_and_grads, model_forward
    from tt.layers import softmax_cross_entropy_forward

    rng = np.random.default_rng(seed)
    _, grads = loss_and_grads(params, tokens, targets, ops=ops)

    def loss():
        logits, _ = model_forward(params, tokens)
        return softmax_cross_entropy_forward(logits, targets)[0]

    report = {}
    for name, p in params.items():
        flat, g = p.reshape(-1), grads[name].reshape(-1)
        picks = {int(np.argmax(np.abs(g)))}
        picks.update(rng.choice(flat.size, size=min(n_coords, flat.size) - 1, replace=False).tolist())
        num, ana = [], []
        for i in sorted(picks):
            old = flat[i]
            flat[i] = old + eps
            lp = loss()
            flat[i] = old - eps
            lm = loss()
            flat[i] = old
            num.append((lp - lm) / (2 * eps))
            ana.append(g[i])
        coord_err = rel_error(ana, num)
        dnum, dana = [], []
        for _ in range(n_dirs):
            d = rng.standard_normal(p.shape)
            d /= np.linalg.norm(d)
            p += eps * d
            lp = loss()
            p -= 2 * eps * d
            lm = loss()
            p += eps * d
            dnum.append((lp - lm) / (2 * eps))
            dana.append(float(np.sum(grads[name] * d)))
        report[name] = (coord_err, rel_error(dana, dnum))
    return report
    ### END SOLUTION


def main(argv=None) -> int:
    """`tt gradcheck`: the full-model check in float64, one line per tensor."""
    from tt.data import train_val_split
    from tt.model import init_params

    ap = argparse.ArgumentParser(prog="tt gradcheck", description=main.__doc__)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--coords", type=int, default=6, help="coordinates sampled per tensor")
    ap.add_argument("--dirs", type=int, default=4, help="random directions per tensor")
    ap.add_argument("--tol", type=float, default=1e-6)
    args = ap.parse_args(argv)
    from tt.perf import tune

    tune()
    params = init_params(seed=args.seed, dtype=np.float64)
    rng = np.random.default_rng(args.seed)
    train, _ = train_val_split(seed=args.seed)
    idx = rng.choice(len(train), size=args.batch, replace=False)
    tokens, targets = train.tokens[idx], train.targets[idx]
    report = check_model(params, tokens, targets, args.coords, args.dirs, args.seed)
    worst = 0.0
    print(f"{'parameter':<22} {'shape':>12} {'coords err':>12} {'dirs err':>12}")
    for name, (ce, de) in report.items():
        worst = max(worst, ce, de)
        flag = "" if max(ce, de) <= args.tol else "   <-- FAIL"
        print(f"{name:<22} {str(params[name].shape):>12} {ce:12.2e} {de:12.2e}{flag}")
    ok = worst <= args.tol
    print(f"\nworst relative error {worst:.2e}  (tolerance {args.tol:.0e}): {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
