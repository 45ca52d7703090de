"""tt: a small transformer in NumPy with every backward pass written by hand."""
from tt.config import Config, n_params
