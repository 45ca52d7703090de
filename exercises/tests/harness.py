"""The public tests' checker: recorded expected values, clear failures.

Nothing here comes from a solution, and nothing here computes a gradient. Expected
gradients were recorded when the release was built: for each input a test uses, the
Jacobian of tt's forward pass there, by central differences (grader/public_expected.py
makes them; they live in exercises/tests/expected/). A test's expected gradient is that
Jacobian applied to the test's upstream gradient, so the tests run the same in the
repository and in the student release, where tt's backward passes are stubs.

    check(function, output, actual, expected, like=x)   shape, dtype, finite, then value
    check_array(function, output, actual, shape, like=x)  shape, dtype, finite only
    check_list(function, output, actual, expected)      a list of floats: length, type, finite, value
    check_number(function, output, actual, expected)    one float: type, finite, value
    vjp(forward, inputs, dout)                         the recorded d sum(dout * out) / d input
    numerical_ops()                                    every backward, from the recordings
    own_ops(impl)                                      every backward, the student's own

Every failure says, in this order, what is wrong with the type, the shape or the dtype,
then whether a value is not finite, then the worst entry: its index, the expected and
the actual value, how far apart they are, and that distance relative to the largest
expected entry, against the tolerance.

`numerical_ops()` is what a composite exercise gets for its pieces: your
`ffn_backward(dout, cache, ops)` may call `ops.linear_backward` and `ops.relu_backward`
and gets right answers even if you have not written those yet (at the caches the test's
forward pass made: they are the points the recordings know).
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path

import numpy as np

import tt

TOL = 1e-6          # float64, against central differences (they are good to ~1e-9)
TOL32 = 2e-3        # float32 runs, compared with the float64 expectation
EXPECTED = Path(__file__).with_name("expected")

# The maintainers' recorder (grader.public_expected) sets this while it records the
# Jacobians; in a student's run it stays None and the recordings are only read.
RECORDER = None


def rng(seed=0):
    return np.random.default_rng(seed)


def random_dout(shape, seed=99):
    """A random upstream gradient, non-uniform and of no fixed sum (all-ones proves nothing)."""
    r = rng(seed)
    return r.standard_normal(shape) * r.uniform(0.5, 1.5, shape)


def away_from_kink(a, margin=0.05):
    """Move entries away from 0, so a finite-difference nudge never crosses ReLU's kink."""
    return np.where(np.abs(a) < margin, a + np.sign(a + 1e-300) * margin, a)


# --------------------------------------------------------------- recorded Jacobians
def leaves(inputs, names=None):
    """[(label, float64 C-order array)] of the float arrays among `inputs` (dicts key by key)."""
    out = []
    for name in (names or list(inputs)):
        given = inputs[name]
        items = ([(f"{name}.{k}", v) for k, v in given.items()] if isinstance(given, dict)
                 else [(name, given)])
        for label, v in items:
            if isinstance(v, np.ndarray) and v.dtype.kind == "f":
                out.append((label, np.array(v, dtype=np.float64, order="C")))
    return out


def test_id():
    """The running test, as file::name[params], whichever folder pytest was started in."""
    current = os.environ.get("PYTEST_CURRENT_TEST", "?::?").rsplit(" (", 1)[0]
    path, _, name = current.partition("::")
    return f"{Path(path).name}::{name}"


class Recordings:
    """The Jacobians recorded for one test file: {test id|label: [point, ...]}."""

    def __init__(self, path):
        self.points = {}
        if path is not None and path.is_file():
            with np.load(path, allow_pickle=False) as data:
                index = json.loads(str(data["index"]))
                arrays = {k: data[k] for k in data.files if k != "index"}
            for key, points in index.items():
                self.points[key] = [{"out_shape": tuple(p["out_shape"]),
                                     "at": {k: arrays[v] for k, v in p["at"].items()},
                                     "jac": {k: arrays[v] for k, v in p["jac"].items()}} for p in points]


_RECORDINGS: dict[str, Recordings] = {}
_VJP_CALLS: dict[str, int] = {}


def _recordings(test):
    stem = test.split("::")[0].removesuffix(".py")
    if stem not in _RECORDINGS:
        # while recording, from scratch: an old recording is never reused
        _RECORDINGS[stem] = Recordings(EXPECTED / f"{stem}.npz" if RECORDER is None else None)
    return _RECORDINGS[stem]


def _near(a, r):
    """a is the recorded point r: equal shapes, floats within float32 round-off, the rest equal."""
    if a.shape != r.shape:
        return False
    if r.dtype.kind != "f":
        return bool(np.array_equal(a, r))
    scale = max(float(np.max(np.abs(r), initial=0.0)), 1e-300)
    return float(np.max(np.abs(a - r), initial=0.0)) <= 1e-5 * scale


def _apply(point, dout, what):
    """dout (shaped like the forward's output) times the recorded Jacobian, per input."""
    __tracebackhide__ = True
    dout = np.asarray(dout, dtype=np.float64)
    if dout.shape != point["out_shape"]:
        raise AssertionError(f"{what} was given an upstream gradient of shape {dout.shape}, but the "
                             f"output it is the gradient of has shape {point['out_shape']}")
    flat = dout.reshape(-1)
    return {label: (flat @ J).reshape(point["at"][label].shape) for label, J in point["jac"].items()}


JACOBIAN_LIMIT = 200_000   # entries; a larger Jacobian is kept only for the right upstream gradient


def _linearize(key, forward, inputs, wrt, at, what, dout, fixed):
    """(point, upstream gradient to apply) recorded for `key` at `at`, recording it first
    when the recorder runs.

    A point keeps the Jacobian, or, for a test's own upstream gradient (`fixed`) and for
    a Jacobian too large to ship, only dout times the Jacobian, as a Jacobian of one
    row; its dout is then part of the point, so it only answers that dout.
    """
    __tracebackhide__ = True
    test = test_id()
    points = _recordings(test).points.setdefault(f"{test}|{key}", [])
    with_dout = {**at, "=dout": np.asarray(dout, dtype=np.float64)}
    for point in points:
        here = with_dout if "=dout" in point["at"] else at
        if point["at"].keys() == here.keys() and all(_near(here[k], point["at"][k]) for k in here):
            return point, (np.ones(1) if here is with_dout else dout)
    if RECORDER is None:
        raise AssertionError(what)
    out_shape, jac = RECORDER.jacobian(forward, inputs, wrt)
    point = {"out_shape": tuple(out_shape), "at": at, "jac": jac}
    if fixed or sum(J.size for J in jac.values()) > JACOBIAN_LIMIT:
        flat = with_dout["=dout"].reshape(-1)
        point = {"out_shape": (1,), "at": with_dout, "jac": {k: (flat @ J)[None, :] for k, J in jac.items()}}
    points.append(point)
    RECORDER.changed(test.split("::")[0].removesuffix(".py"))
    return point, (np.ones(1) if "=dout" in point["at"] else dout)


def directional(loss, arrays, directions):
    """The recorded derivative of loss() along `directions`: d/dt loss(arrays + t * directions).

    loss() reads the arrays (numpy arrays it sees by reference, e.g. a model's parameters).
    Recorded by central differences when the release was built; the arrays are never
    changed here. Identified by the order of the calls in a test, checked by a
    fingerprint of the arrays and directions.
    """
    __tracebackhide__ = True
    test = test_id()
    k = _VJP_CALLS[f"{test}|dir"] = _VJP_CALLS.get(f"{test}|dir", -1) + 1
    fingerprint = np.array([float(np.sum(np.asarray(a, dtype=np.float64) * np.asarray(d, dtype=np.float64)))
                            for a, d in zip(arrays, directions)]
                           + [float(np.sum(np.asarray(a, dtype=np.float64) ** 2)) for a in arrays])
    at = {"=fingerprint": fingerprint}
    points = _recordings(test).points.setdefault(f"{test}|directional{k}", [])
    for point in points:
        if point["at"].keys() == at.keys() and _near(fingerprint, point["at"]["=fingerprint"]):
            return float(point["jac"]["t"][0, 0])
    if RECORDER is None:
        raise AssertionError(f"the public tests have no recorded directional derivative for call {k + 1} "
                             f"in {test} (maintainers: run `tt build-exercises --expected`)")
    value = float(RECORDER.directional(loss, arrays, directions))
    points.append({"out_shape": (1,), "at": at, "jac": {"t": np.array([[value]])}})
    RECORDER.changed(test.split("::")[0].removesuffix(".py"))
    return value


def _regroup(inputs, flat):
    """{label: array} back into {name: array or {key: array}} like `inputs`."""
    grads = {}
    for label, g in flat.items():
        name, _, key = label.partition(".")
        if key and isinstance(inputs.get(name), dict):
            grads.setdefault(name, {})[key] = g
        else:
            grads[label] = g
    return grads


def vjp(forward, inputs, dout, wrt=None):
    """{input name: d sum(dout * out) / d input}, where out = forward(**inputs)[0].

    Read from the recordings: the Jacobian of `forward` at these inputs, recorded by
    central differences when the release was built, applied to dout. Dict inputs (a
    block's parameters) give dict gradients. `wrt` limits which inputs are
    differentiated (default: every float array).
    """
    __tracebackhide__ = True
    test = test_id()
    k = _VJP_CALLS[test] = _VJP_CALLS.get(test, -1) + 1
    names = wrt or list(inputs)
    point, d = _linearize(f"vjp{k}", forward, inputs, names, dict(leaves(inputs)),
                          f"the public tests have no recorded expected value for call {k + 1} of vjp in "
                          f"{test} at these inputs (maintainers: run `tt build-exercises --expected`)",
                          dout, fixed=True)
    return _regroup(inputs, _apply(point, d, "vjp"))


# ------------------------------------------------------------------------ checking
def _fmt_index(index):
    return "(" + ", ".join(str(int(i)) for i in index) + ")"


def check(function, output, actual, expected, like=None, tol=None, hint=None):
    """Assert that `actual` (the student's) matches `expected` (finite differences).

    In this order: an ndarray, the exact shape, the dtype of the input `like`, finite
    values, then max|actual - expected| / max|expected| <= tol. The
    message names the function, the output, the worst index and both values there,
    and ends with `hint` if one is given (the likely cause when this output is the
    first one wrong).
    """
    __tracebackhide__ = True
    expected = np.asarray(expected)
    with _hinted(hint):
        _check_array(function, output, actual, expected.shape, like)
        if tol is None:
            tol = TOL32 if actual.dtype == np.float32 else TOL
        return _check_values(f"{function}: {output}", actual, expected, tol, _fmt_index)


def check_array(function, output, actual, shape, like=None, hint=None):
    """The first half of `check`: an ndarray of this exact shape, the dtype of `like`, finite.

    For tests that look at an output in a way of their own (a row sum, a diagnosis of a
    common mistake) before comparing it: broadcasting would hide a wrong shape there.
    Returns `actual`.
    """
    __tracebackhide__ = True
    with _hinted(hint):
        _check_array(function, output, actual, tuple(shape), like)
    return actual


def check_list(function, output, actual, expected=None, tol=1e-12, hint=None, n=None):
    """Assert that `actual` is a list of Python floats matching `expected` (a list).

    In this order: a list, its length, every entry a float, every entry finite, then
    the error max|a - e| / max|e| <= tol, naming the worst entry.
    With expected=None, only the first three, for a list of n floats that may overflow.
    """
    __tracebackhide__ = True
    where = f"{function}: {output}"
    if expected is not None:
        expected = [float(e) for e in expected]
        n = len(expected)
    with _hinted(hint):
        if not isinstance(actual, list):
            raise AssertionError(f"{where} should be a list of {n} floats, but it is {_describe(actual)}")
        if len(actual) != n:
            raise AssertionError(f"{where} has {len(actual)} value{'s' * (len(actual) != 1)}, "
                                 f"but it must have {n}")
        for i, a in enumerate(actual):
            if not _is_float(a):
                raise AssertionError(f"{where}: the value at index {i} is {_describe(a)}, not a Python float")
        if expected is None:
            return None
        return _check_values(where, np.array(actual, dtype=np.float64), np.array(expected), tol,
                             lambda index: str(int(index[0])))


def check_number(function, output, actual, expected, tol=1e-12, hint=None):
    """Assert that `actual` is a Python float within relative error `tol` of `expected`."""
    __tracebackhide__ = True
    where = f"{function}: {output}"
    with _hinted(hint):
        if not _is_float(actual):
            raise AssertionError(f"{where} should be a Python float, but it is {_describe(actual)}")
        return _check_values(where, np.array(float(actual)), np.array(float(expected)), tol, None)


class _hinted:
    """Add `hint` to the message of an AssertionError raised inside."""

    def __init__(self, hint):
        self.hint = hint

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        __tracebackhide__ = True
        if kind is AssertionError and self.hint is not None:
            raise AssertionError(f"{exc}\n  hint: {self.hint}") from None
        return False


def _is_float(value):
    # np.float64 is a float; np.float32, ints, bools and 0-d arrays are not
    return isinstance(value, float)


def _describe(value):
    if value is None:
        return "None (did you forget to return it?)"
    if isinstance(value, np.ndarray):
        return f"a numpy array of shape {value.shape}"
    kind = type(value)
    name = kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"
    return f"{value!r}, {'an' if name[0] in 'aeiou' else 'a'} {name}"


def _shape_reason(output):
    """Why the expected shape is what it is, from the output's name."""
    m = re.fullmatch(r"d(\w+)", output)
    if m:
        return f" (the shape of the {m.group(1)} it is the gradient of)"
    m = re.fullmatch(r"grads\[['\"]?([\w.]+)['\"]?\]", output)
    if m:
        return f" (the shape of the parameter {m.group(1)}, which it is the gradient of)"
    return ""


def _check_array(function, output, actual, shape, like):
    __tracebackhide__ = True
    where = f"{function}: {output}"
    if not isinstance(actual, np.ndarray):
        raise AssertionError(f"{where} should be a numpy array, but it is {_describe(actual)}")
    if actual.shape != shape:
        raise AssertionError(f"{where} has shape {actual.shape}, but it must have shape "
                             f"{shape}{_shape_reason(output)}")
    if like is not None and actual.dtype != np.asarray(like).dtype:
        raise AssertionError(f"{where} has dtype {actual.dtype}, but the input was "
                             f"{np.asarray(like).dtype}: a backward pass returns the dtype of its input")
    if actual.dtype.kind not in "fiu":
        raise AssertionError(f"{where} has dtype {actual.dtype}, but it must hold numbers")
    if not np.all(np.isfinite(actual)):
        bad = np.argwhere(~np.isfinite(actual))[0]
        raise AssertionError(f"{where} contains {actual[tuple(bad)]} at index {_fmt_index(bad)}")


def _check_values(where, actual, expected, tol, fmt_index):
    """Compare two float arrays of one shape; raise naming the worst entry.

    The error is the largest |actual - expected|, relative to the largest |expected|
    (absolute when every expected entry is 0). fmt_index formats an index for the
    message; None for a single number, which has none.
    """
    __tracebackhide__ = True
    a, e = actual.astype(np.float64), expected.astype(np.float64)
    if not np.all(np.isfinite(a)):
        if fmt_index is None:
            raise AssertionError(f"{where} is {float(a)}, which is not finite")
        bad = np.argwhere(~np.isfinite(a))[0]
        raise AssertionError(f"{where} contains {a[tuple(bad)]} at index {fmt_index(bad)}")
    diff = np.abs(a - e)
    largest = float(np.max(np.abs(e), initial=0.0))
    worst_diff = float(np.max(diff, initial=0.0))
    err = worst_diff / largest if largest > 0 else worst_diff
    if err <= tol:
        return err
    if largest > 0:
        relative = (f"relative to the largest expected entry, {largest:.3g}, that is {err:.2e} "
                    f"(tolerance {tol:.0e})")
    else:
        relative = f"every expected entry is 0 (tolerance {tol:.0e}, absolute)"
    if fmt_index is None:
        relative = (f"{err:.2e} of the expected value (tolerance {tol:.0e})" if largest > 0
                    else f"the expected value is 0 (tolerance {tol:.0e}, absolute)")
        raise AssertionError(f"{where} is wrong: expected {float(e):.10g}, got {float(a):.10g}; "
                             f"off by {worst_diff:.3g}, {relative}")
    worst = np.unravel_index(int(np.argmax(diff)), diff.shape)
    raise AssertionError(f"{where} is wrong. Largest error {worst_diff:.3g} at index {fmt_index(worst)} "
                         f"(expected {e[worst]:.6g}, got {a[worst]:.6g}); {relative}")


def returned(function, result, n):
    """The n outputs of a backward pass, with a clear message if it returned something else."""
    __tracebackhide__ = True
    if n == 1:
        return result
    if not isinstance(result, tuple) or len(result) != n:
        what = f"a {type(result).__name__}" + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else "")
        raise AssertionError(f"{function} should return a tuple of {n} arrays, but it returned {what}")
    return result


# ------------------------------------------------------------ the student's own ops
# The exercise module that writes each pluggable backward function (tt.ops.NAMES).
EXERCISE_OF = {"softmax_cross_entropy_backward": "ex01_softmax_cross_entropy",
               "linear_backward": "ex02_linear", "output_backward": "ex02_linear",
               "relu_backward": "ex03_relu_ffn", "ffn_backward": "ex03_relu_ffn",
               "layernorm_backward": "ex04_layernorm",
               "softmax_backward": "ex05_attention", "attention_backward": "ex05_attention",
               "mha_backward": "ex06_multihead_attention",
               "add_norm_backward": "ex07_block", "block_backward": "ex07_block",
               "embedding_backward": "ex08_embedding", "model_backward": "ex09_model"}


def own_ops(load):
    """A tt.Ops made entirely of the student's functions; load(name) -> module (the `impl` fixture)."""
    return tt.Ops(**{name: getattr(load(module), name) for name, module in EXERCISE_OF.items()})


# ----------------------------------------------------------- backward by differences
def numerical_ops(dtype=None):
    """A tt.Ops whose every backward is read from the recordings (see vjp).

    Each function rebuilds its forward's inputs from the cache, finds the Jacobian
    recorded there and applies it to the upstream gradient it is given, whatever that
    is. The recordings are float64; with `dtype` (e.g. np.float32) every gradient is
    returned in that dtype, as a real backward pass of float32 inputs would return it,
    so a composite exercise's float32 test can check that the composite keeps the
    dtype too.
    """
    def vjp(forward, inputs, dout, op, wrt=None, match=None):
        __tracebackhide__ = True
        names = wrt or list(inputs)
        at = dict(leaves(inputs))
        at.update({f"={k}": np.asarray(v) for k, v in (match or {}).items()})
        point, d = _linearize(op, forward, inputs, names, at,
                              f"ops.{op} was given a cache that tt's forward passes did not make in this "
                              f"test (changed in place, sliced, or built by hand?), or, where the tests "
                              f"know only the right upstream gradient, another one. The tests' ops know "
                              f"the right {op} only at the caches of the test's own forward pass: pass "
                              f"it the cache you were given, unchanged, and check the gradient you pass it",
                              dout, fixed=False)
        return _regroup(inputs, _apply(point, d, f"ops.{op}"))

    def linear(dout, cache):
        inputs = {"x": cache.x, "W": cache.W}
        if cache.b is not None:
            inputs["b"] = cache.b
        g = vjp(tt.linear_forward, inputs, dout, "linear_backward")
        return g["x"], g["W"], g.get("b")

    def relu(dout, cache):
        return vjp(tt.relu_forward, {"x": cache.x}, dout, "relu_backward")["x"]

    def softmax(dout, cache):
        # softmax ignores a constant added to a row, and log y = x - logsumexp(x)
        return vjp(tt.softmax_forward, {"x": np.log(cache.y)}, dout, "softmax_backward")["x"]

    def softmax_cross_entropy(dloss, cache):
        def forward(logits):
            return np.array(tt.softmax_cross_entropy_forward(logits, cache.targets)[0]), None
        return vjp(forward, {"logits": np.log(cache.probs)}, dloss, "softmax_cross_entropy_backward",
                   match={"targets": cache.targets})["logits"]

    def layernorm(dout, cache):
        g = vjp(lambda x, gamma, beta: tt.layernorm_forward(x, gamma, beta, cache.eps),
                {"x": cache.x, "gamma": cache.gamma, "beta": np.zeros_like(cache.gamma)}, dout, "layernorm_backward", match={"eps": cache.eps})
        return g["x"], g["gamma"], g["beta"]

    def attention(dout, cache, ops=None):
        g = vjp(tt.attention_forward, {"q": cache.q, "k": cache.k, "v": cache.v}, dout, "attention_backward")
        return g["q"], g["k"], g["v"]

    def mha_inputs(cache):
        W_k, W_v = np.split(cache.kv.W, 2, axis=1)
        return {"x": cache.kv.x, "W_q": cache.q.W, "W_k": W_k, "W_v": W_v, "W_o": cache.proj.W}

    def mha(dout, cache, ops=None):
        Tq = cache.q.x.shape[1]
        g = vjp(lambda **kw: tt.mha_forward(**kw, H=cache.H, n_queries=Tq), mha_inputs(cache), dout,
                "mha_backward", match={"H": cache.H, "Tq": Tq})
        return g["x"], g["W_q"], g["W_k"], g["W_v"], g["W_o"]

    def ffn_inputs(cache):
        return {"x": cache.lin1.x, "W1": cache.lin1.W, "b1": cache.lin1.b,
                "W2": cache.lin2.W, "b2": cache.lin2.b}

    def ffn(dout, cache, ops=None):
        g = vjp(tt.ffn_forward, ffn_inputs(cache), dout, "ffn_backward")
        return g["x"], g["W1"], g["b1"], g["W2"], g["b2"]

    def add_norm(dout, cache, ops=None):
        # the cache keeps only s = x + sub; any split of s into x + sub gives the same
        # gradients, so difference the forward at x = s, sub = 0
        ln = cache.ln
        g = vjp(lambda x, sub, gamma, beta: tt.add_norm_forward(x, sub, gamma, beta, ln.eps),
                {"x": ln.x, "sub": np.zeros_like(ln.x), "gamma": ln.gamma,
                 "beta": np.zeros_like(ln.gamma)}, dout, "add_norm_backward", match={"eps": ln.eps})
        return g["x"], g["sub"], g["gamma"], g["beta"]

    def block(dout, cache, ops=None):
        m = mha_inputs(cache.mha)
        f = ffn_inputs(cache.ffn)
        p = {"W_q": m["W_q"], "W_k": m["W_k"], "W_v": m["W_v"], "W_o": m["W_o"],
             "ln1.gamma": cache.norm1.ln.gamma, "W1": f["W1"], "b1": f["b1"], "W2": f["W2"],
             "b2": f["b2"], "ln2.gamma": cache.norm2.ln.gamma,
             # LN2's beta changes no gradient (the output is beta + ...), so 0 will do
             "ln2.beta": np.zeros_like(cache.norm2.ln.gamma)}
        # LN1's beta shifts x1, which feeds the FFN: x1 = xhat * gamma + beta
        x1, ln1 = cache.ffn.lin1.x, cache.norm1.ln
        p["ln1.beta"] = (x1 - ln1.xhat * ln1.gamma).reshape(-1, x1.shape[-1])[0]
        Tq = cache.mha.q.x.shape[1]
        g = vjp(lambda x, p: tt.block_forward(x, p, cache.mha.H, cache.norm1.ln.eps, Tq),
                {"x": m["x"], "p": p}, dout, "block_backward", match={"H": cache.mha.H, "Tq": Tq})
        return g["x"], g["p"]

    def embedding(dout, cache):
        E = np.zeros(cache.E.shape)      # the output is linear in E: any E gives the same gradient
        return vjp(lambda E: tt.embedding_forward(cache.tokens, E), {"E": E}, dout, "embedding_backward",
                   match={"tokens": cache.tokens})["E"]

    def output(dout, cache, ops=None):
        lin = cache.linear
        g = vjp(tt.linear_forward, {"x": lin.x, "W": lin.W, "b": lin.b}, dout, "output_backward",
                match={"T": cache.T})
        B, C = lin.x.shape
        dx = np.zeros((B, cache.T, C))
        dx[:, -1] = g["x"]
        return dx, g["W"], g["b"]

    def model(dlogits, cache, ops=None):
        raise NotImplementedError("numerical_ops() has no model_backward: exercise 9 is that function")

    ops = tt.Ops(linear_backward=linear, relu_backward=relu, softmax_backward=softmax,
                 softmax_cross_entropy_backward=softmax_cross_entropy,
                 layernorm_backward=layernorm, attention_backward=attention, mha_backward=mha,
                 ffn_backward=ffn, add_norm_backward=add_norm, block_backward=block,
                 embedding_backward=embedding, output_backward=output, model_backward=model)
    if dtype is None:
        return ops

    def cast(result):
        if isinstance(result, np.ndarray):
            return result.astype(dtype)
        if isinstance(result, tuple):
            return tuple(cast(r) for r in result)
        if isinstance(result, dict):
            return {k: cast(v) for k, v in result.items()}
        return result                      # None (a missing bias)

    def in_dtype(fn):
        return lambda *args, **kwargs: cast(fn(*args, **kwargs))

    return ops.replace(**{f.name: in_dtype(getattr(ops, f.name)) for f in dataclasses.fields(ops)})
