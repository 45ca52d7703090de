"""The operation task: `Max(1,6,2)` -> `6`, with the seed's token ids.

    0 PAD   1 unused   2..11 digits 0..9
    12 First   13 Second   14 Last   15 Max   16 Min
    17 (   18 )   19 ,

Every example is exactly T = 8 tokens, `Op ( d , d , d )`, and its target is one digit
token. There are 5 operations x 1,000 digit triples = 5,000 distinct examples.
"""
from __future__ import annotations

import re
from typing import NamedTuple

import numpy as np

PAD = 0
DIGIT0 = 2
OPERATIONS = ("First", "Second", "Last", "Max", "Min")
VOCAB = {"<pad>": 0, "<unk>": 1, **{str(d): DIGIT0 + d for d in range(10)},
         **{op: 12 + i for i, op in enumerate(OPERATIONS)}, "(": 17, ")": 18, ",": 19}
ID_TO_TOKEN = {i: t for t, i in VOCAB.items()}

_TOKEN_RE = re.compile(r"First|Second|Last|Max|Min|\d|[(),]|\s+|.")


def encode(text: str) -> list[int]:
    """'Max(1,6,2)' -> [15, 17, 3, 19, 8, 19, 4, 18]. Spaces are ignored.

    An unknown character is an error that names it and its position.
    """
    ids = []
    for m in _TOKEN_RE.finditer(text):
        piece = m.group()
        if piece.isspace():
            continue
        if piece not in VOCAB or piece.startswith("<"):
            raise ValueError(f"encode: unknown token {piece!r} at position {m.start()} in {text!r}")
        ids.append(VOCAB[piece])
    return ids


def decode(ids) -> str:
    """[15, 17, 3, 19, 8, 19, 4, 18] -> 'Max(1,6,2)'. PAD is dropped."""
    out = []
    for i in np.asarray(ids).reshape(-1).tolist():
        if i == PAD:
            continue
        if i not in ID_TO_TOKEN:
            raise ValueError(f"decode: id {i} is outside the vocabulary 0..{len(VOCAB) - 1}")
        out.append(ID_TO_TOKEN[i])
    return "".join(out)


def apply_operation(op: str, digits) -> int:
    """The answer digit of one example: First(3,1,2) = 3, Max(1,6,2) = 6."""
    a, b, c = digits
    return {"First": a, "Second": b, "Last": c, "Max": max(a, b, c), "Min": min(a, b, c)}[op]


class Dataset(NamedTuple):
    tokens: np.ndarray    # (N, 8) int64
    targets: np.ndarray   # (N,) int64, a digit token id

    def __len__(self) -> int:
        return len(self.targets)


def all_examples() -> Dataset:
    """All 5,000 examples, in a fixed order: operation, then digits 000..999."""
    tokens, targets = [], []
    for op in OPERATIONS:
        for n in range(1000):
            digits = (n // 100, n // 10 % 10, n % 10)
            tokens.append(encode(f"{op}({digits[0]},{digits[1]},{digits[2]})"))
            targets.append(DIGIT0 + apply_operation(op, digits))
    return Dataset(np.array(tokens, dtype=np.int64), np.array(targets, dtype=np.int64))


def train_val_split(seed: int = 0, val_fraction: float = 0.2) -> tuple[Dataset, Dataset]:
    """Shuffle all 5,000 examples with `seed` and split them; the sets share nothing."""
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"train_val_split: val_fraction must be in (0, 1), got {val_fraction}")
    data = all_examples()
    order = np.random.default_rng(seed).permutation(len(data))
    n_val = int(round(len(data) * val_fraction))
    val, train = order[:n_val], order[n_val:]
    return (Dataset(data.tokens[train], data.targets[train]),
            Dataset(data.tokens[val], data.targets[val]))
