"""The operation task's tokenizer and its 5,000 examples."""
import numpy as np
import pytest

import tt
from tt.data import OPERATIONS, apply_operation


def test_seed_example():
    assert tt.encode("Max(1,6,2)") == [15, 17, 3, 19, 8, 19, 4, 18]
    assert tt.decode([15, 17, 3, 19, 8, 19, 4, 18]) == "Max(1,6,2)"
    assert apply_operation("Max", (1, 6, 2)) == 6          # target token 8
    assert tt.encode("6") == [8]


def test_every_token_id():
    expected = {"0": 2, "9": 11, "First": 12, "Second": 13, "Last": 14, "Max": 15, "Min": 16,
                "(": 17, ")": 18, ",": 19}
    for text, i in expected.items():
        assert tt.encode(text) == [i] and tt.decode([i]) == text
    assert tt.decode([0, 0, 15]) == "Max"                   # PAD is dropped
    assert tt.encode(" Min ( 1 , 2 , 3 ) ") == tt.encode("Min(1,2,3)")


def test_bad_input_names_the_problem():
    with pytest.raises(ValueError, match=r"unknown token 'x' at position 4"):
        tt.encode("Max(x,1,2)")
    with pytest.raises(ValueError, match="id 25 is outside"):
        tt.decode([15, 25])


def test_all_examples_are_distinct_and_correct():
    data = tt.all_examples()
    assert data.tokens.shape == (5000, 8) and data.targets.shape == (5000,)
    assert len({tuple(t) for t in data.tokens.tolist()}) == 5000
    r = np.random.default_rng(0)
    for i in r.choice(5000, 50, replace=False):
        text = tt.decode(data.tokens[i])
        op, args = text.split("(")
        digits = [int(d) for d in args.rstrip(")").split(",")]
        answer = {"First": digits[0], "Second": digits[1], "Last": digits[2],
                  "Max": max(digits), "Min": min(digits)}[op]
        assert data.targets[i] == answer + 2, text
    assert sorted(set(tt.decode(t[:1]) for t in data.tokens)) == sorted(OPERATIONS)


def test_split_is_disjoint_deterministic_and_seeded():
    train, val = tt.train_val_split(seed=0)
    assert len(train) == 4000 and len(val) == 1000
    tr = {tuple(t) for t in train.tokens.tolist()}
    va = {tuple(t) for t in val.tokens.tolist()}
    assert not tr & va and len(tr | va) == 5000
    again, _ = tt.train_val_split(seed=0)
    assert np.array_equal(again.tokens, train.tokens)
    other, _ = tt.train_val_split(seed=1)
    assert not np.array_equal(other.tokens, train.tokens)
    with pytest.raises(ValueError, match="val_fraction"):
        tt.train_val_split(val_fraction=1.5)
