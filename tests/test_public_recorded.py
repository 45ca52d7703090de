"""The numbers the public tests of exercises 11 to 14 hold, recomputed exactly.

The student release must not hold the rules those numbers come from (issue 11 point 8:
tests/test_release.py checks the phrases), so the public tests hold recorded numbers only.
This maintainers' test, never shipped, recomputes each of them from the seed's rules in
exact arithmetic (fractions, every number read as the decimal it is written as; Adam's
square root in 50-digit decimals) and fails if a recorded number is not the float nearest
to the exact value (Adam: within 1e-15 of it, the root being rounded at the 50th digit).
"""
import ast
import types
from decimal import Decimal, localcontext
from fractions import Fraction
from pathlib import Path

import pytest

PUBLIC = Path(__file__).resolve().parents[1] / "exercises" / "tests"


def recorded(name):
    """The public test module's RECORDED (and the names it is keyed by), read without importing it."""
    tree = ast.parse((PUBLIC / name).read_text(encoding="utf-8"))
    names = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and all(isinstance(t, (ast.Name, ast.Tuple)) for t in node.targets):
            try:
                value = eval(compile(ast.Expression(node.value), name, "eval"), {}, dict(names))
            except Exception:
                continue
            for target in node.targets:
                if isinstance(target, ast.Name):
                    names[target.id] = value
                else:
                    names.update(zip((e.id for e in target.elts), value))
    return types.SimpleNamespace(**names)


ex11 = recorded("test_ex11_tiny_network.py")
ex12 = recorded("test_ex12_optimizers.py")
ex13 = recorded("test_ex13_learning_rate.py")
ex14 = recorded("test_ex14_clipping_gradflow.py")


def exact(*values):
    return [Fraction(str(v)) for v in values]


def descent(lr, steps, curvature, w0=0.0, c=3.0):
    """W_1 ... W_steps of gradient descent on 0.5 h (W - c)^2, in fractions."""
    lr, w, c, h = exact(lr, w0, c, curvature)
    out = []
    for _ in range(steps):
        w = w - lr * h * (w - c)
        out.append(w)
    return out


@pytest.mark.parametrize("key", sorted(ex13.RECORDED), ids=str)
def test_ex13_recorded_runs_are_exact(key):
    lr, curvature = key
    recorded = ex13.RECORDED[key]
    path = descent(lr, max(recorded), curvature)
    for k, value in recorded.items():
        assert value == float(path[k - 1]), f"RECORDED[{key}][{k}] is {value!r}, exactly {float(path[k - 1])!r}"


def sgd(w, grads, lr):
    w, lr, out = Fraction(str(w)), Fraction(str(lr)), []
    for g in exact(*grads):
        w = w - lr * g
        out.append(w)
    return out


def momentum(w, grads, lr, beta="0.9"):
    w, lr, beta, v, out = Fraction(str(w)), Fraction(str(lr)), Fraction(beta), 0, []
    for g in exact(*grads):
        v = beta * v + g
        w = w - lr * v
        out.append(w)
    return out


def adam(w, grads, lr, beta1="0.9", beta2="0.999", eps="1e-8"):
    with localcontext() as ctx:
        ctx.prec = 50
        D = lambda v: Decimal(str(v))
        w, lr, b1, b2, eps, m, v, out = D(w), D(lr), D(beta1), D(beta2), D(eps), D(0), D(0), []
        for t, g in enumerate(map(D, grads), start=1):
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            w = w - lr * (m / (1 - b1 ** t)) / ((v / (1 - b2 ** t)).sqrt() + eps)
            out.append(w)
        return out


@pytest.mark.parametrize("case", sorted(ex12.RECORDED), ids=str)
@pytest.mark.parametrize("rule", ["sgd", "momentum", "adam"])
def test_ex12_recorded_trajectories_are_exact(case, rule):
    w0, grads, lr = case
    want = {"sgd": sgd, "momentum": momentum, "adam": adam}[rule](w0, grads, lr)
    got = ex12.RECORDED[case][rule]
    assert len(got) == len(want)
    for k, (value, exact_value) in enumerate(zip(got, want), start=1):
        if rule == "adam":
            assert abs(Decimal(value) - exact_value) <= Decimal("1e-15") * abs(exact_value), (rule, case, k)
        else:
            assert value == float(exact_value), f"{rule} {case} step {k}: {value!r}, exactly {float(exact_value)!r}"


def test_a_wrong_recording_is_caught():
    """The check can fail: the same run at a rate off by one digit gives other numbers."""
    assert float(descent(0.1, 2, 1.0)[1]) == ex13.RECORDED[(0.1, 1.0)][2]
    assert float(descent(0.11, 2, 1.0)[1]) != ex13.RECORDED[(0.1, 1.0)][2]


def test_ex11_seed_network_by_hand_is_exact():
    """The seed's 2 -> 2 -> 1 network in fractions: forward, then every gradient (dloss = 1)."""
    F = lambda v: Fraction(str(v))
    x, b1, b2, target = [F(2), F(1)], [F("0.1"), F("-0.1")], F("0.2"), F("1.5")
    W1 = [[F("0.5"), F("-0.3")], [F("0.2"), F("0.4")]]
    W2 = [F("0.6"), F("0.3")]
    z = [x[0] * W1[0][j] + x[1] * W1[1][j] + b1[j] for j in range(2)]
    hidden = [max(v, 0) for v in z]
    output = hidden[0] * W2[0] + hidden[1] * W2[1] + b2
    doutput = output - target
    dhidden = [W2[j] * doutput for j in range(2)]
    dz = [dhidden[j] if z[j] > 0 else 0 for j in range(2)]
    want = {"z": z, "hidden": hidden, "output": [output], "loss": (output - target) ** 2 / 2,
            "doutput": [doutput], "dW2": [[hidden[0] * doutput], [hidden[1] * doutput]], "db2": [doutput],
            "dhidden": dhidden, "dW1": [[x[i] * dz[j] for j in range(2)] for i in range(2)], "db1": dz}
    floats = lambda v: [floats(e) for e in v] if isinstance(v, list) else float(v)
    assert ex11.BY_HAND == {k: floats(v) for k, v in want.items()}


def test_ex14_ten_layers_are_exact():
    plain = [Fraction(4, 5) ** k for k in range(11)]
    residual = [Fraction(9, 5) ** k for k in range(11)]
    assert ex14.PLAIN_08 == [float(v) for v in plain]
    assert ex14.RESIDUAL_08 == [float(v) for v in residual]
