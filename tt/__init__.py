"""tt: a small transformer in NumPy with every backward pass written by hand.

    params = tt.init_params(seed=0, dtype=np.float64)
    logits = tt.forward(params, tokens)                        # tokens: (B, 8) int
    loss, grads = tt.loss_and_grads(params, tokens, targets)

Every operation is a forward/backward pair around a cache (tt.layers, tt.attention,
tt.blocks, tt.model). `ops=` swaps in another backward for any one piece (tt.ops).
"""
from tt.attention import attention_backward, attention_forward, mha_backward, mha_forward
from tt.blocks import (add_norm_backward, add_norm_forward, block_backward, block_forward,
                       ffn_backward, ffn_forward)
from tt.config import Config, n_params
from tt.data import all_examples, decode, encode, train_val_split
from tt.layers import (layernorm_backward, layernorm_forward, linear_backward, linear_forward,
                       relu_backward, relu_forward, softmax_backward,
                       softmax_cross_entropy_backward, softmax_cross_entropy_forward,
                       softmax_forward)
from tt.model import (block_params, embedding_backward, embedding_forward, forward,
                      init_params, loss_and_grads, model_backward, model_forward,
                      output_backward, output_forward, param_shapes, positional_encoding)
from tt.ops import Ops, reference

__all__ = [name for name in dir() if not name.startswith("_")]
