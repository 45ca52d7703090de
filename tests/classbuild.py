"""Classes of submissions built in the tests of the class report and the similarity check.

    fill_stub("ex08_embedding.py", {"embedding_backward": BODY})    the release's stub, one
                                                                     function written in
    renamed(text)           a solution with its names, comments and layout changed
    mutant(name)            solutions/ with one bug of tests/mutants

Every honest body here was written for these tests, each in its own way, independently of
solutions/ and of each other: loops where the reference is vectorised, einsum where it
uses @, a one-hot product where it uses np.add.at.
"""
from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS, EXERCISES = ROOT / "solutions", ROOT / "exercises"


def exercise_files() -> list[str]:
    return sorted(p.name for p in EXERCISES.glob("ex[0-9][0-9]_*.py"))


def fill_stub(name: str, bodies: dict[str, str]) -> str:
    """The release's stub of `name`, with each named function's `raise` replaced by a body."""
    text = (EXERCISES / name).read_text(encoding="utf-8")
    for fn, body in bodies.items():
        line = f'    raise NotImplementedError("Exercise {int(name[2:4])}: {fn}")'
        assert text.count(line) == 1, (name, fn)
        text = text.replace(line, textwrap.indent(textwrap.dedent(body).strip("\n"), "    "))
    return text


def stubs(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in exercise_files():
        shutil.copy(EXERCISES / name, folder / name)
    return folder


def solutions(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in exercise_files():
        shutil.copy(SOLUTIONS / name, folder / name)
    return folder


RENAMES = {"dout": "upstream", "cache": "saved", "dx": "grad_in", "dW": "grad_weights", "db": "grad_bias",
           "probs": "p", "targets": "labels", "tokens": "ids", "dE": "grad_table", "dz": "g", "grad": "vec",
           "dlogits": "out", "B": "n_rows", "x": "inp", "W": "weights"}


def renamed(text: str) -> str:
    """A copy disguised: names changed, comments rewritten, blank lines and spaces added."""
    lines = []
    for line in text.splitlines():
        code, _, comment = line.partition("  #")
        if line.lstrip().startswith("#"):
            continue                                        # the comments go ...
        for old, new in RENAMES.items():
            code = re.sub(rf"(?<![.\w\"']){old}\b", new, code)
        lines.append(code.rstrip() + ("    # my own note" if comment else ""))  # ... others come
        if code.strip().startswith(("return", "for ", "if ")):
            lines.append("")
    return "\n".join(lines).replace(", ", " ,  ") + "\n"


# ---------------------------------------------------------------- honest, independent work
HONEST = {
    "amara": {
        "ex01_softmax_cross_entropy.py": {
            "cross_entropy_grad_one": """
                out = np.zeros_like(probs)
                for j in range(len(probs)):
                    out[j] = probs[j] - (1.0 if j == target else 0.0)
                return out
            """,
            "softmax_cross_entropy_backward": """
                p, t = cache.probs, cache.targets
                n = len(t)
                onehot = np.zeros_like(p)
                onehot[np.arange(n), t] = 1
                return (p - onehot) * dloss / n
            """},
        "ex02_linear.py": {
            "linear_backward": """
                x, W, b = cache.x, cache.W, cache.b
                flat_x = x.reshape(-1, x.shape[-1])
                flat_g = dout.reshape(-1, dout.shape[-1])
                grad_W = np.einsum("ni,nj->ij", flat_x, flat_g)
                grad_b = None if b is None else flat_g.sum(axis=0)
                grad_x = np.einsum("...j,ij->...i", dout, W)
                return grad_x, grad_W, grad_b
            """},
        "ex08_embedding.py": {
            "embedding_backward": """
                ids, table = cache.tokens, cache.E
                grad = np.zeros(table.shape, dtype=dout.dtype)
                for b in range(ids.shape[0]):
                    for t in range(ids.shape[1]):
                        grad[ids[b, t], :] += dout[b, t, :]
                return grad
            """},
    },
    "bruno": {
        "ex01_softmax_cross_entropy.py": {
            "cross_entropy_grad_one": """
                g = probs.copy()
                g[target] = g[target] - 1
                return g
            """,
            "softmax_cross_entropy_backward": """
                rows = []
                for p_row, tgt in zip(cache.probs, cache.targets):
                    rows.append(cross_entropy_grad_one(p_row, tgt))
                return np.stack(rows) * (dloss / len(rows))
            """},
        "ex02_linear.py": {
            "linear_backward": """
                x, W, b = cache
                axes = tuple(range(dout.ndim - 1))
                gW = np.tensordot(x, dout, axes=(axes, axes))
                gx = dout @ W.T
                gb = dout.sum(axis=axes) if b is not None else None
                return gx, gW, gb
            """},
        "ex08_embedding.py": {
            "embedding_backward": """
                V = cache.E.shape[0]
                onehot = np.eye(V, dtype=dout.dtype)[cache.tokens]       # (B, T, V)
                return np.einsum("btv,btc->vc", onehot, dout)
            """},
    },
    # a bug of her own: the batch mean forgotten, and the bias gradient summed over one axis only
    "chen": {
        "ex01_softmax_cross_entropy.py": {
            "cross_entropy_grad_one": """
                result = [pj for pj in probs]
                result[target] = result[target] - 1.0
                return np.asarray(result, dtype=probs.dtype)
            """,
            "softmax_cross_entropy_backward": """
                B, V = cache.probs.shape
                mask = np.arange(V)[None, :] == np.asarray(cache.targets)[:, None]
                return dloss * np.where(mask, cache.probs - 1, cache.probs)
            """},
        "ex02_linear.py": {
            "linear_backward": """
                inputs, weights, bias = cache.x, cache.W, cache.b
                grad_inputs = np.matmul(dout, np.swapaxes(weights, 0, 1))
                total = np.zeros_like(weights)
                for i in np.ndindex(*inputs.shape[:-1]):
                    total += np.outer(inputs[i], dout[i])
                grad_bias = None if bias is None else dout.sum(axis=0)
                return grad_inputs, total, grad_bias
            """},
    },
}


def honest(folder: Path, author: str) -> Path:
    """The stubs, with `author`'s own work in the exercises they did."""
    stubs(folder)
    for name, bodies in HONEST[author].items():
        (folder / name).write_text(fill_stub(name, bodies), encoding="utf-8")
    return folder


def mutant(folder: Path, *names: str) -> Path:
    """solutions/ with the bugs of tests/mutants named (each in its own file)."""
    from mutants import corpus
    found = {m.name: m for m in corpus()[0]}
    solutions(folder)
    for name in names:
        m = found[name]
        text = (folder / m.file).read_text(encoding="utf-8")
        assert text.count(m.old) == 1, name
        (folder / m.file).write_text(text.replace(m.old, m.new), encoding="utf-8")
    return folder
