"""The model's configuration and the one shape vocabulary used everywhere.

    B   batch size                     (varies)
    T   positions per sequence         8
    C   model width                    64
    H   attention heads                4
    hs  head size, C // H              16
    F   feed-forward hidden width      256
    V   vocabulary size                20
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Config:
    V: int = 20          # vocabulary: PAD, one spare id, 10 digits, 5 operations, '(', ')', ','
    T: int = 8           # every example is exactly 8 tokens: Op ( d , d , d )
    C: int = 64
    H: int = 4
    F: int = 256
    n_blocks: int = 2
    eps: float = 1e-5    # LayerNorm: inside the square root, with the biased variance

    def __post_init__(self):
        if self.C % self.H:
            raise ValueError(f"Config: C={self.C} is not divisible by H={self.H}")
        if self.C % 2:
            raise ValueError(f"Config: C={self.C} must be even for interleaved sin/cos encodings")

    @property
    def hs(self) -> int:
        return self.C // self.H


def n_params(cfg: Config = Config()) -> int:
    """The parameter count in closed form (tests compare it with `init_params`).

    embedding V*C; per block 4*C*C (W_q, W_k, W_v, W_o, no biases) + 2*2*C (two
    LayerNorms) + C*F + F + F*C + C (FFN); output C*V + V.
    For the default configuration: 1280 + 2*49728 + 1300 = 102,036. The seed says
    102,016 because it leaves out the 20 output biases b_out.
    """
    block = 4 * cfg.C * cfg.C + 4 * cfg.C + cfg.C * cfg.F + cfg.F + cfg.F * cfg.C + cfg.C
    return cfg.V * cfg.C + cfg.n_blocks * block + cfg.C * cfg.V + cfg.V
