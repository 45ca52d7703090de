"""The kinds of answer a problem part can have (see core.Part)."""

NUMBER, INTEGER, VECTOR, MATRIX, EXPRESSION, CHOICE = (
    "number", "integer", "vector", "matrix", "expression", "choice")
# Kinds of the conceptual items (issue 13, marked by choices.py): one letter of lettered
# options; a set of letters; letters in an order; a shape like 8×16; free text that a
# person grades against the part's rubric.
MCQ, MULTI, ORDER, SHAPE, TEXT = "mcq", "multi", "order", "shape", "text"
KINDS = (NUMBER, INTEGER, VECTOR, MATRIX, EXPRESSION, CHOICE, MCQ, MULTI, ORDER, SHAPE, TEXT)
# Kinds whose key is compared as text or letters, never with a numeric tolerance.
EXACT_KINDS = (CHOICE, EXPRESSION, MCQ, MULTI, ORDER, SHAPE)
LETTERS = "ABCDEFGHIJ"
NON_NUMERIC = (CHOICE, MCQ, MULTI, ORDER, SHAPE, TEXT)
