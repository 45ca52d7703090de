"""Optional: tt's loss and gradients equal PyTorch autograd's on the same model.

PyTorch is never a dependency; this runs only where it happens to be installed
(benchmarks/torch_model.py is the same model written with torch operations).
"""
import sys
from pathlib import Path

import numpy as np
import pytest

import tt
from tt.gradcheck import rel_error

torch = pytest.importorskip("torch", reason="PyTorch is not installed (optional cross-check)")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import torch_model  # noqa: E402


@pytest.mark.parametrize("seed", [0, 1])
def test_loss_and_every_gradient_match_pytorch(seed):
    params = tt.init_params(seed=seed, dtype=np.float64)
    r = np.random.default_rng(seed)
    for k in params:                         # non-trivial gammas, betas and biases
        if k.endswith("gamma"):
            params[k] = 1 + 0.3 * r.standard_normal(params[k].shape)
        elif k.endswith("beta") or k.split(".")[-1] in ("b1", "b2", "b_out"):
            params[k] = 0.2 * r.standard_normal(params[k].shape)
    train, _ = tt.train_val_split(seed=0)
    idx = r.choice(len(train), size=16, replace=False)
    tokens, targets = train.tokens[idx], train.targets[idx]
    loss, grads = tt.loss_and_grads(params, tokens, targets)
    tloss, tgrads = torch_model.loss_and_grads(torch_model.to_torch(params),
                                               torch.tensor(tokens), torch.tensor(targets))
    assert loss == pytest.approx(tloss, rel=1e-12)
    for k in params:
        assert rel_error(grads[k], tgrads[k].numpy()) <= 1e-10, k
