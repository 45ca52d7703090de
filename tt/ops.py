"""Which backward function the model uses for each operation.

Every composite backward pass (attention, multi-head attention, FFN, add & norm, the
block, the output projection) and `loss_and_grads` take an `ops` argument and call
their pieces through it: `ops.linear_backward(...)`, `ops.softmax_backward(...)`.
`None` means the reference. To plug in another implementation of exactly one piece:

    ops = tt.reference().replace(layernorm_backward=my_layernorm_backward)
    loss, grads = tt.loss_and_grads(params, tokens, targets, ops=ops)

and every LayerNorm in the model now runs `my_layernorm_backward`. Forward passes are
always the reference: their caches are what every backward receives.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

# Names of the pluggable backward functions, leaves first.
NAMES = (
    "linear_backward",
    "relu_backward",
    "softmax_backward",
    "softmax_cross_entropy_backward",
    "layernorm_backward",
    "attention_backward",
    "mha_backward",
    "ffn_backward",
    "add_norm_backward",
    "block_backward",
    "embedding_backward",
    "output_backward",
    "model_backward",
)


@dataclass(frozen=True)
class Ops:
    linear_backward: Callable
    relu_backward: Callable
    softmax_backward: Callable
    softmax_cross_entropy_backward: Callable
    layernorm_backward: Callable
    attention_backward: Callable
    mha_backward: Callable
    ffn_backward: Callable
    add_norm_backward: Callable
    block_backward: Callable
    embedding_backward: Callable
    output_backward: Callable
    model_backward: Callable

    def replace(self, **changes: Callable) -> "Ops":
        """A copy with some functions swapped; unknown names are an error."""
        unknown = set(changes) - set(NAMES)
        if unknown:
            raise TypeError(f"Ops.replace: unknown operation(s) {sorted(unknown)}; "
                            f"known: {', '.join(NAMES)}")
        return dataclasses.replace(self, **changes)

    def with_module(self, module) -> "Ops":
        """A copy using every function of `module` whose name is an operation name."""
        found = {n: getattr(module, n) for n in NAMES if callable(getattr(module, n, None))}
        return self.replace(**found)


_REFERENCE: Ops | None = None


def reference() -> Ops:
    """The reference implementations from tt (built once, on first use)."""
    global _REFERENCE
    if _REFERENCE is None:
        # Imported here, not at the top: the op modules themselves import `reference`.
        from tt import attention, blocks, layers, model

        modules = (layers, attention, blocks, model)
        table = {}
        for name in NAMES:
            for m in modules:
                if hasattr(m, name):
                    table[name] = getattr(m, name)
        _REFERENCE = Ops(**table)
    return _REFERENCE


def student_edition() -> bool:
    """True in the student edition of tt, which `tt release` builds for students.

    There, every body marked as a solution is a stub that raises NotImplementedError,
    the reference backward passes among them: `reference()` is then a set of stubs,
    and whatever needs it (tt train, tt gradflow, tt gradcheck) cannot run.
    """
    try:
        _marked_bodies_are_here()
    except NotImplementedError:
        return True
    return False


def _marked_bodies_are_here() -> None:
    """Stubbed in the student edition like every marked body: student_edition() asks it."""
    ### BEGIN SOLUTION
    return None
    ### END SOLUTION
