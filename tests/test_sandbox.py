"""The sandbox: student code runs only in a confined worker, and nothing it does reaches us.

Each hostile behaviour gets a clear StudentError (or a harmless result), and the next
call works. Checks of a protection run when the sandbox reports it active; the core
isolation (a separate process, rlimits, the timeout, the wire) is checked everywhere.
Fixture modules: tests/fixtures/sandbox/submission (good.py, hostile.py and modules that
fail at import) and a stand-in for the student edition of tt in .../library.
"""
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from processes import processes_naming

from grader.sandbox import CALLBACKS, Callback, Sandbox, SandboxError, StudentError, compare, compare_all

HERE = Path(__file__).resolve().parent
FIX = HERE / "fixtures" / "sandbox"
SUB, LIB = FIX / "submission", FIX / "library"
REPO = HERE.parent
OPTIONAL = {"user-namespace", "pid-namespace", "net-namespace", "ipc-namespace", "mount-namespace", "landlock",
            "seccomp"}

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the sandbox targets Linux")


def _load_fixture_layers():
    """The fixture library's record classes, loaded in the parent under another name."""
    spec = importlib.util.spec_from_file_location("sandbox_fixture_layers", LIB / "tt" / "layers.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


L = _load_fixture_layers()
ROOTS = []                       # every sandbox root made here, to look for leftovers


def make(submission=SUB, **kw) -> Sandbox:
    opts = dict(records=[L], timeout=1.5, import_timeout=1.5, memory_limit=1 << 30)
    opts.update(kw)
    sb = Sandbox(submission, LIB, **opts)
    sb.start()
    ROOTS.append(str(sb.private_dir))
    return sb


def leftovers(roots):
    """Processes (other than us) whose command line names one of these sandbox roots."""
    return processes_naming(*roots)


def assert_no_leftovers(roots, wait=3.0):
    deadline = time.monotonic() + wait
    while leftovers(roots) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert leftovers(roots) == []


def fails(sb, module, function, *args, kind=None, **kw) -> StudentError:
    with pytest.raises(StudentError) as info:
        sb.call(module, function, *args, **kw)
    if kind is not None:
        assert info.value.kind == kind, info.value.describe()
    return info.value


def healthy(sb):
    """The sandbox still answers correctly."""
    assert sb.call("good", "add", np.ones(3), np.arange(3.0)).tolist() == [1.0, 2.0, 3.0]


@pytest.fixture(scope="module")
def sb():
    box = make()
    yield box
    roots = [str(box.private_dir)]
    box.close()
    assert not Path(roots[0]).exists()
    assert_no_leftovers(roots)


@pytest.fixture(scope="module", autouse=True)
def nothing_left_running():
    yield
    assert_no_leftovers(ROOTS)


def active(sb, name):
    return name in sb.protections


# ============================================================================ happy path
def test_calls_return_plain_arrays_in_their_dtype(sb):
    for dtype in (np.float64, np.float32):
        x = np.arange(6, dtype=dtype).reshape(2, 3)
        y = sb.call("good", "scale", x, kwargs={"factor": 3.0})
        assert type(y) is np.ndarray and y.dtype == dtype and np.array_equal(y, 3 * x)
    assert sb.call("good", "add", 1, 2) == 3
    assert sb.call("good", "add", (1,), (2,)) == (1, 2)


def test_records_travel_both_ways(sb):
    x, W = np.ones((4, 3)), np.ones((3, 5))
    name, module, is_student_class = sb.call("good", "cache_info", L.LinearCache(x, W, True))
    assert (name, module, is_student_class) == ("LinearCache", "tt.layers", True)
    back = sb.call("good", "make_cache", x, W)
    assert type(back) is L.LinearCache and back.has_bias is False and np.array_equal(back.W, W)


def test_records_unknown_to_the_student_library_arrive_as_namedtuples(sb):
    from typing import NamedTuple

    class SoftmaxCache(NamedTuple):
        y: np.ndarray

    name, _, is_student_class = sb.call("good", "cache_info", SoftmaxCache(np.ones(3)))
    assert name == "SoftmaxCache" and not is_student_class


def test_a_record_class_that_cannot_be_built_fails_the_call_cleanly(tmp_path):
    lib = tmp_path / "lib"
    (lib / "tt").mkdir(parents=True)
    (lib / "tt" / "__init__.py").write_text(
        "class LinearCache(tuple):\n"
        "    _fields = ('x', 'W', 'has_bias')\n"
        "    def __new__(cls, *args, **kwargs):\n"
        "        raise RuntimeError('no caches today')\n")
    box = Sandbox(SUB, lib, records=[L], timeout=1.5)
    try:
        e = fails(box, "good", "cache_info", L.LinearCache(np.ones(2), np.ones(2), True),
                  kind="exception")
        assert "could not rebuild the arguments" in e.message and "no caches today" in e.message
        assert box.call("good", "add", 1, 2) == 3
    finally:
        box.close()


def test_linear_backward_matches_a_reference(sb):
    rng = np.random.default_rng(1)
    x, W, dout = rng.normal(size=(4, 3)), rng.normal(size=(3, 5)), rng.normal(size=(4, 5))
    got = sb.call("good", "linear_backward", dout, L.LinearCache(x, W, True))
    assert all(compare_all(got, (dout @ W.T, x.T @ dout, dout.sum(0)), ("dx", "dW", "db"),
                           rtol=1e-12))


def _reference_linear_backward(dout, cache):
    x, W, has_bias = cache
    return dout @ W.T, x.T @ dout, dout.sum(axis=0) if has_bias else None


def test_callbacks_run_reference_operations_in_the_parent(sb):
    rng = np.random.default_rng(2)
    x, W1, W2 = rng.normal(size=(4, 3)), rng.normal(size=(3, 6)), rng.normal(size=(6, 2))
    h = x @ W1
    dout = rng.normal(size=(4, 2))
    seen = []

    def spy(dout, cache):
        seen.append(type(cache))
        return _reference_linear_backward(dout, cache)

    c1, c2 = L.LinearCache(x, W1, True), L.LinearCache(h, W2, False)
    dx, dW1, db1, dW2, db2 = sb.call("good", "two_layer_backward", dout, c1, c2, CALLBACKS,
                                     callbacks={"linear_backward": spy})
    dh = dout @ W2.T
    assert compare(dx, dh @ W1.T, rtol=1e-12) and compare(dW2, h.T @ dout, rtol=1e-12)
    assert db2 is None and compare(db1, dh.sum(0), rtol=1e-12)
    assert seen == [L.LinearCache, L.LinearCache]       # rebuilt as our registered class


def test_a_namespace_passed_on_to_a_callback_becomes_our_own_functions(sb):
    def outer(x, ops):
        return ops.inner(x) + 1

    x = np.arange(3.0)
    got = sb.call("good", "pass_ops_on", x, CALLBACKS,
                  callbacks={"outer": outer, "inner": lambda x: 2 * x})
    assert got.tolist() == [1.0, 3.0, 5.0]
    e = fails(sb, "good", "pass_ops_on", x, CALLBACKS, callbacks={"outer": outer}, kind="exception")
    assert "no callback 'inner' was offered" in e.message


def test_a_bound_callback_sees_the_argument_as_the_student_changes_it(sb):
    """Callback("f", bind=(1,)) is an f() that the parent runs on the worker's CURRENT x:
    the parent counts the calls and sees every nudge."""
    seen = []

    def f(x_now):
        seen.append(x_now.copy())
        return float(x_now.sum())

    x = np.array([1.0, 2.0, 3.0])
    values, (after,) = sb.call("good", "nudge_and_call", Callback("f", bind=(1,)), x,
                               callbacks={"f": f}, echo=(1,))
    assert values == [7.0, 7.0, 7.0] and len(seen) == 3
    assert [np.flatnonzero(s != x).tolist() for s in seen] == [[0], [1], [2]]
    assert np.array_equal(after, x)
    values, (after,) = sb.call("good", "nudge_and_call", Callback("f", bind=(1,)), x, False,
                               callbacks={"f": f}, echo=(1,))
    assert after.tolist() == [2.0, 3.0, 4.0]          # as the student's code left it
    e = fails(sb, "good", "nudge_then_fail", Callback("f", bind=(1,)), x, callbacks={"f": f},
              echo=(1,), kind="exception")
    assert "after nudging" in e.message and e.echo[0].tolist() == [6.0, 2.0, 3.0]
    with pytest.raises(ValueError, match="not among callbacks"):
        sb.call("good", "nudge_and_call", Callback("g"), x, callbacks={"f": f})
    with pytest.raises(ValueError, match="data arguments"):
        sb.call("good", "nudge_and_call", Callback("f", bind=(0,)), x, callbacks={"f": f})
    healthy(sb)


def test_then_calls_methods_of_the_value_in_the_worker(sb):
    x = np.arange(3.0)
    got = sb.call("good", "maker", 3.0, then=[("chain", (), {}), ("times", (x,), {})])
    assert got.tolist() == [0.0, 3.0, 6.0]
    e = fails(sb, "good", "maker", 3.0, then=[("no_such_method", (), {})], kind="exception")
    assert "AttributeError" in e.message
    assert sb.call("good", "float_keyed", [0.1, 2.1]) == {0.1: 0.2, 2.1: 4.2}


def test_callback_errors_reach_the_student_as_exceptions(sb):
    cbs = {"linear_backward": _reference_linear_backward}
    e = fails(sb, "hostile", "callback_with_bad_args", CALLBACKS, np.ones(2), callbacks=cbs,
              kind="exception")
    assert e.type == "CallbackError" and "linear_backward raised" in e.message
    assert sb.call("hostile", "callback_then_catch", CALLBACKS, np.ones(2), callbacks=cbs) == "CallbackError"
    e = fails(sb, "hostile", "callback_object_array", CALLBACKS, callbacks=cbs, kind="exception")
    assert "dtype object" in e.message
    with pytest.raises(ValueError, match="callbacks"):
        sb.call("good", "add", CALLBACKS, 1)


def test_a_callback_never_offered_is_refused(sb):
    e = fails(sb, "hostile", "call_forbidden_callback", kind="exception")
    assert "'system' is not a callback offered" in e.message
    healthy(sb)


def test_import_lists_functions_and_missing_ones_are_clear(sb):
    assert {"add", "linear_backward", "two_layer_backward"} <= set(sb.import_module("good"))
    e = fails(sb, "good", "no_such_function", kind="missing")
    assert "good has no function no_such_function" in e.message
    e = fails(sb, "no_such_module", "f", kind="import-error")
    assert "No module named 'no_such_module'" in e.message


def test_the_worker_sees_the_student_library_not_the_reference(sb):
    edition, path = sb.call("good", "edition")
    assert edition == "student" and path.startswith(str(sb.private_dir))
    assert sb.call("hostile", "import_name", "tt").startswith(str(sb.private_dir / "lib"))
    for name in ("grader", "solutions", "exercises", "pytest", "jinja2"):
        e = fails(sb, "hostile", "import_name", name, kind="exception")
        assert "ModuleNotFoundError" in e.message


def test_the_worker_environment_is_minimal(sb):
    env = sb.call("hostile", "environment")
    assert set(env["env"]) == {"PATH", "LANG", "LC_ALL", "HOME", "TMPDIR", "OPENBLAS_NUM_THREADS",
                               "OMP_NUM_THREADS", "MKL_NUM_THREADS"}
    root = str(sb.private_dir)
    assert env["cwd"].startswith(root) and env["env"]["HOME"].startswith(root)
    for p in env["path"]:
        assert p.startswith(root) or "site-packages" not in p, p
        assert not p.startswith(str(REPO)), p
    assert {m.split(".")[0] for m in env["modules"]} <= {"tt"}, env["modules"]   # the student tt
    if active(sb, "pid-namespace"):
        assert env["pid"] == 1
    if active(sb, f"uid:{sb.uid}"):
        assert env["uid"] == sb.uid != 65534


def test_protections_are_reported():
    box = make()
    try:
        p = box.protections
        assert p[:2] == ["process", "timeout"] and "rlimits" in p
        assert not set(p) & set(box.unavailable)
        if os.geteuid() == 0:
            assert any(x.startswith("uid:") or x == "caps-dropped" for x in p), box.unavailable
        info = box.worker_info
        assert info["python"] == sys.version.split()[0] and info["numpy"] == np.__version__
    finally:
        box.close()


def test_start_up_and_call_overhead_are_small():
    t = time.perf_counter()
    box = make()
    started = time.perf_counter() - t
    try:
        x = np.ones((2, 8, 64))
        times = []
        for _ in range(50):
            t = time.perf_counter()
            box.call("good", "scale", x)
            times.append(time.perf_counter() - t)
        assert started < 5.0 and float(np.median(times)) < 0.02, (started, np.median(times))
    finally:
        box.close()


# ========================================================================= import-time
@pytest.mark.parametrize("module, words", [
    ("syntax_error", "SyntaxError: invalid syntax (syntax_error.py, line 1)"),
    ("import_error", "No module named 'does_not_exist_anywhere'"),
    ("exit_at_import", "called sys.exit(0)"),
    ("os_exit_at_import", "exited with status 0"),
    ("interrupt_at_import", "KeyboardInterrupt"),
    ("loop_at_import", "timed out after"),
])
def test_broken_modules_fail_at_import_cleanly_and_once(sb, module, words):
    e = fails(sb, module, "f", kind="import-error")
    assert words in e.message and module in e.message, e.message
    assert str(sb.private_dir) not in e.describe()
    t = time.perf_counter()
    again = fails(sb, module, "g", kind="import-error")       # remembered: no second timeout
    assert time.perf_counter() - t < 0.5 and again.message == e.message
    healthy(sb)


def test_a_hang_in_a_nested_import_names_the_module_that_hung():
    box = make(import_timeout=1.0)
    try:
        e = fails(box, "nested_hang", "f", kind="import-error")
        assert "while importing loop_at_import" in e.message and "timed out" in e.message, e.message
        t = time.perf_counter()               # remembered: neither it nor its importers wait again
        e = fails(box, "loop_at_import", "f", kind="import-error")
        assert "timed out" in e.message
        e = fails(box, "nested_hang_too", "f", kind="import-error")
        assert "loop_at_import could not be imported" in e.message, e.message
        assert time.perf_counter() - t < 0.9
        healthy(box)
    finally:
        box.close()


def test_a_patched_builtin_that_breaks_the_worker_is_explained():
    box = make()
    try:
        e = fails(box, "patch_builtins", "break_isinstance", kind="crash")
        assert "status 70" in e.message and "replace a builtin" in e.message, e.message
        healthy(box)                          # a fresh worker, with its builtins
    finally:
        box.close()


def test_the_private_directory_is_not_readable_by_others(sb):
    mode = sb.private_dir.stat().st_mode
    assert mode & 0o007 == 0, oct(mode)


def test_import_tracebacks_show_only_the_students_frames(sb):
    e = fails(sb, "import_error", "f", kind="import-error")
    assert 'File "import_error.py", line 1, in <module>' in e.traceback
    assert "importlib" not in e.traceback and "worker_main" not in e.traceback


# ============================================================================ call-time
def test_sys_exit_is_a_failed_call_not_a_dead_worker(sb):
    restarts = sb.restarts
    e = fails(sb, "hostile", "call_exit", kind="exception")
    assert e.message == "called sys.exit(0)" and e.type == "SystemExit"
    healthy(sb)
    assert sb.restarts == restarts


def test_os_exit_is_a_crash_and_the_next_call_gets_a_fresh_worker(sb):
    restarts = sb.restarts
    e = fails(sb, "hostile", "call_os_exit", kind="crash")
    assert "exited with status 0" in e.message and "call_os_exit" in e.message
    healthy(sb)
    assert sb.restarts == restarts + 1


@pytest.mark.parametrize("function, words", [
    ("keyboard_interrupt", "KeyboardInterrupt"), ("generator_exit", "GeneratorExit"),
    ("unprintable", "Unprintable: <unprintable exception>")])
def test_base_exceptions_are_reported(sb, function, words):
    e = fails(sb, "hostile", function, kind="exception")
    assert words in e.message
    healthy(sb)


def test_tracebacks_show_the_students_frames_only(sb):
    e = fails(sb, "hostile", "value_error", np.ones((2, 3)), kind="exception")
    assert e.message == "ValueError: bad input of shape (2, 3)"
    assert 'File "hostile.py"' in e.traceback and "in value_error" in e.traceback
    assert "worker_main" not in e.traceback and str(sb.private_dir) not in e.traceback


@pytest.mark.parametrize("function", ["infinite_loop", "sleep_forever"])
def test_a_hang_times_out_and_the_next_call_works(sb, function):
    t = time.perf_counter()
    e = fails(sb, "hostile", function, kind="timeout", timeout=0.5)
    assert "timed out after 0.5 s" in e.message and time.perf_counter() - t < 3
    healthy(sb)


def test_memory_bombs_hit_the_limit_cleanly():
    box = make(memory_limit=512 << 20, timeout=10)
    try:
        e = fails(box, "hostile", "memory_bomb")
        assert (e.kind == "exception" and "MemoryError" in e.message) or e.kind == "crash", e.message
        healthy(box)
        e = fails(box, "hostile", "numpy_memory_bomb", kind="exception")
        assert "MemoryError" in e.message or "Unable to allocate" in e.message
        healthy(box)
    finally:
        box.close()


def test_writing_a_huge_file_hits_the_file_size_limit(sb):
    e = fails(sb, "hostile", "big_file", 64 << 20, kind="exception")
    assert "File too large" in e.message or "No space left" in e.message
    healthy(sb)


def test_a_print_flood_is_truncated_and_does_not_block(sb):
    t = time.perf_counter()
    assert sb.call("hostile", "print_flood", 20_000_000) == 42
    assert time.perf_counter() - t < 10
    assert len(sb.last_output) < sb.output_limit + 200
    assert "output truncated" in sb.last_output and sb.last_output.startswith("x" * 999)
    e = fails(sb, "hostile", "print_forever", kind="timeout", timeout=0.5)
    assert len(e.output) < sb.output_limit + 200 and "output truncated" in e.output
    healthy(sb)
    assert sb.last_output == ""


def test_a_changed_cwd_is_restored(sb):
    assert sb.call("hostile", "chdir_away") == "/"
    assert sb.call("hostile", "cwd").startswith(str(sb.private_dir))


# ============================================================================ processes
def test_fork_is_refused_or_contained(sb):
    if active(sb, "seccomp"):
        e = fails(sb, "hostile", "fork_sleepers", 3, kind="exception")
        assert "PermissionError" in e.message
        assert "does not let student code start processes or threads" in e.message, e.message
    else:
        assert sb.call("hostile", "fork_sleepers", 3) == 3
    healthy(sb)


@pytest.mark.parametrize("disable", [{"seccomp"}, OPTIONAL], ids=["namespaces", "bare"])
def test_forked_daemons_are_killed_with_the_worker(disable):
    """Without seccomp, children that setsid() and sleep still die: by the PID namespace,
    or by the supervisor, their subreaper, when nothing else is there."""
    box = make(disable=disable, uid=None, insecure=disable == OPTIONAL)
    roots = [str(box.private_dir)]
    try:
        assert box.call("hostile", "fork_sleepers", 4) == 4
        deadline, settled = time.monotonic() + 5, 0
        while settled < 3 and time.monotonic() < deadline:    # the daemons fork
            time.sleep(0.1)                                   # asynchronously, via children
            settled = settled + 1 if len(leftovers(roots)) >= 1 + 1 + 4 else 0   # that exit
        assert settled == 3, leftovers(roots)           # supervisor, worker, 4 daemons
        fails(box, "hostile", "infinite_loop", kind="timeout", timeout=0.3)
        assert_no_leftovers(roots)              # gone with the old worker
        healthy(box)
    finally:
        box.close()
    assert_no_leftovers(roots)


def test_threads_are_refused_or_the_worker_is_replaced_after_them():
    box = make(allow_threads=True)
    try:
        restarts = box.restarts
        assert box.call("hostile", "thread_spinner") == "started"
        healthy(box)                           # on a new worker: the thread could meddle
        assert box.restarts == restarts + 1
    finally:
        box.close()
    box = make()
    try:
        if "seccomp" in box.protections:
            e = fails(box, "hostile", "thread_spinner", kind="exception")
            assert "can't start new thread" in e.message
    finally:
        box.close()


def test_signals_cannot_reach_the_grader(sb):
    try:
        result = sb.call("hostile", "kill_other", os.getpid())
    except StudentError as e:
        assert e.kind == "exception" and ("PermissionError" in e.message
                                          or "ProcessLookupError" in e.message), e.message
    else:       # only possible with no PID namespace, no seccomp and the same uid
        assert result == "sent" and not {"pid-namespace", "seccomp"} & set(sb.protections)
    healthy(sb)


def test_the_parent_dying_takes_the_worker_with_it(tmp_path):
    code = (f"import sys; sys.path.insert(0, {str(REPO)!r})\n"
            "from grader.sandbox import Sandbox\n"
            f"sb = Sandbox({str(SUB)!r}, {str(LIB)!r}); sb.start()\n"
            "print(sb.private_dir, flush=True)\n"
            "import os; os._exit(0)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    root = out.stdout.strip()
    assert root.startswith("/"), out.stderr
    try:
        assert_no_leftovers([root])
    finally:
        import shutil
        shutil.rmtree(root, ignore_errors=True)


# ========================================================================= filesystem
def test_the_repository_and_hidden_tests_cannot_be_read(sb):
    targets = [REPO / "grader" / "sandbox" / "proxy.py", Path(__file__), REPO / "pyproject.toml",
               REPO / "solutions" / "README.md", REPO / "tt" / "layers.py"]
    if not {"landlock-fs", "fs-hidden"} & set(sb.protections):
        pytest.skip(f"no filesystem protection here: {sb.unavailable}")
    for path in targets:
        e = fails(sb, "hostile", "read_file", str(path), kind="exception")
        assert "PermissionError" in e.message or "FileNotFoundError" in e.message
    e = fails(sb, "hostile", "import_with_path", str(REPO), "grader", kind="exception")
    assert "ModuleNotFoundError" in e.message
    if "landlock-fs" in sb.protections:
        fails(sb, "hostile", "read_file", "/etc/passwd", kind="exception")
    healthy(sb)


@pytest.mark.parametrize("keep", ["landlock", "mount-namespace"])
def test_each_filesystem_protection_works_alone(keep):
    box = make(disable=({"landlock", "mount-namespace"} - {keep}))
    try:
        wanted = {"landlock": "landlock-fs", "mount-namespace": "fs-hidden"}[keep]
        if wanted not in box.protections:
            pytest.skip(f"{wanted} is not available here: {box.unavailable}")
        for path in (REPO / "grader" / "__init__.py", Path(pytest.__file__)):   # site-packages too
            e = fails(box, "hostile", "read_file", str(path), kind="exception")
            assert ("PermissionError" if keep == "landlock" else "FileNotFoundError") in e.message
        e = fails(box, "hostile", "import_with_path", str(Path(pytest.__file__).parents[1]),
                  "pytest", kind="exception")
        assert "Error" in e.message
        assert box.call("hostile", "import_name", "fractions").endswith("fractions.py")  # stdlib
        assert box.call("hostile", "import_name", "numpy.random").endswith("__init__.py")
        if keep == "mount-namespace":
            # The checkout is covered. Only a virtual environment inside it (.venv, the
            # README's advice) shows through: this Python and NumPy are bound back in.
            needed = [os.path.realpath(p) for p in (sys.prefix, np.__file__)]
            root = os.path.realpath(REPO)
            shown = sorted({Path(p).relative_to(root).parts[0] for p in needed
                            if Path(p).is_relative_to(root)})
            assert box.call("hostile", "list_dir", str(REPO)) == shown
    finally:
        box.close()


def test_writes_stay_inside_the_workers_own_directory(sb, tmp_path):
    target = tmp_path / "escape.txt"
    own = sb.call("hostile", "write_file", "results.json")    # its own cwd: harmless
    assert own.startswith(str(sb.private_dir))
    protected = {"landlock-fs", "fs-readonly"} & set(sb.protections)
    for path in (target, sb.private_dir / "sub" / "good.py", sb.private_dir / "bin" / "wire.py"):
        try:
            sb.call("hostile", "write_file", str(path))
        except StudentError as e:
            assert e.kind == "exception"
        else:
            assert not protected, f"wrote {path} despite {protected}"
    assert not target.exists() or not protected
    assert "def add" in (sb.private_dir / "sub" / "good.py").read_text() or not protected
    healthy(sb)


def test_submission_files_shadowing_the_stdlib_run_no_code_before_the_hello(tmp_path):
    sub = tmp_path / "sub"
    sub.mkdir()
    for name in ("traceback", "threading", "importlib", "collections", "json", "numpy", "wire"):
        (sub / f"{name}.py").write_text("raise SystemExit('shadowed module imported')\n")
    (sub / "ok.py").write_text("def f():\n    return 1\n")
    box = make(submission=sub)
    try:
        assert "rlimits" in box.protections and box.call("ok", "f") == 1
        e = fails(box, "ok", "missing", kind="missing")
        assert "ok has no function missing" in e.message
    finally:
        box.close()


def test_submission_files_are_copied_without_symlinks(tmp_path):
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "ok.py").write_text("def f():\n    return 1\n")
    (sub / "conftest.py").write_text(f"open({str(tmp_path / 'ran')!r}, 'w').close()\n")
    (sub / "pytest.ini").write_text("[pytest]\naddopts = -p no:everything\n")
    (sub / "leak.py").symlink_to(REPO / "grader" / "__init__.py")
    box = make(submission=sub)
    try:
        assert box.call("ok", "f") == 1
        assert any("leak.py" in s for s in box.skipped_files)
        e = fails(box, "leak", "f", kind="import-error")
        assert "No module named 'leak'" in e.message
        assert not (tmp_path / "ran").exists()          # nobody imported conftest.py
    finally:
        box.close()


# ============================================================================ network
def test_the_network_is_unreachable(sb):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.setblocking(False)
    try:
        if not {"seccomp", "net-namespace", "landlock-net"} & set(sb.protections):
            pytest.skip("no network protection here")
        e = fails(sb, "hostile", "connect", server.getsockname()[1], kind="exception")
        assert "Error" in e.message
        with pytest.raises(BlockingIOError):
            server.accept()
    finally:
        server.close()


# ========================================================================= odd answers
def test_an_ndarray_subclass_comes_back_as_plain_data(sb):
    out = sb.call("hostile", "return_subclass")
    assert type(out) is np.ndarray and out.tolist() == [0.0, 1.0, 2.0]


@pytest.mark.parametrize("function, words", [
    ("return_object_array", "dtype object"), ("return_complex", "complex128"),
    ("return_structured", "cannot be sent"), ("return_set", "type set"),
    ("return_function", "type function"), ("return_deep", "nested"),
    ("return_self_referential", "nested"), ("return_long_string", "characters"),
    ("return_own_record", "'Grads'"), ("return_too_many_elements", "20000000 elements"),
])
def test_unreceivable_answers_are_bad_output(sb, function, words):
    e = fails(sb, "hostile", function, kind="bad-output")
    assert words in e.message, e.message
    healthy(sb)


def test_lists_none_and_nan_arrive_and_compare_rejects_them(sb):
    expected = np.ones(3)
    assert sb.call("hostile", "return_list") == [1.0, 2.0, 3.0]
    assert "got a list" in compare(sb.call("hostile", "return_list"), expected).message
    assert "got None" in compare(sb.call("hostile", "return_none"), expected).message
    got = sb.call("hostile", "return_nan", (3,))
    assert "1 NaN" in compare(got, expected).message


# ============================================================================ protocol
@pytest.mark.parametrize("function, words", [
    ("forge_huge_claim", "1000000000 elements"), ("forge_garbage", "header claims")])
def test_forged_garbage_fails_the_call_and_restarts_the_worker(sb, function, words):
    restarts = sb.restarts
    e = fails(sb, "hostile", function, kind="bad-output")
    assert words in e.message
    healthy(sb)
    assert sb.restarts == restarts + 1


def test_a_well_formed_forgery_is_just_an_answer(sb):
    """The first result for a call is its answer: a forged one is no more than the student
    could have returned. The real, late one is recognised as stale and dropped."""
    assert sb.call("hostile", "forge_valid_result") == "forged"
    for _ in range(3):
        healthy(sb)


def test_a_worker_that_floods_the_parent_while_it_writes_is_cut_off(sb):
    """While the parent writes a callback's answer (32 MiB, more than the pipe holds) that
    the worker never reads, the worker streams bytes back. The parent keeps reading them,
    so that a print flood never blocks it, but holds at most one message's worth: beyond
    that the call is the student's bad output, long before its timeout."""
    big = lambda: np.zeros(1 << 22)
    start = time.monotonic()
    e = fails(sb, "hostile", "flood_while_the_parent_answers", callbacks={"f": big},
              kind="bad-output", timeout=20)
    assert "not read as messages" in e.message, e.message
    assert time.monotonic() - start < 15
    healthy(sb)


def test_a_callback_that_would_need_gigabytes_is_stopped_in_the_parent(sb):
    """Arguments within the budget can still ask for a huge result (np.outer of two
    vectors of 20,000 entries: 3.2 GB). The callback runs under a memory cap of its own:
    the student's code gets the error, the grading process stays small, and the next
    callback runs as before."""
    outer = {"outer": lambda a, b: np.outer(a, b)}
    e = fails(sb, "hostile", "outer_product_bomb", CALLBACKS, 20_000, callbacks=outer)
    assert "needed more than 1 GiB" in e.message, e.message
    assert sb.call("hostile", "outer_product_bomb", CALLBACKS, 100, callbacks=outer) == (100, 100)
    healthy(sb)


@pytest.mark.parametrize("function", ["close_protocol_fds", "dup2_over_protocol_fds"])
def test_closing_or_replacing_the_protocol_fds(sb, function):
    if "seccomp" in sb.protections:
        sb.call("hostile", function)            # refused: the worker still answers
    else:
        with pytest.raises(StudentError):
            sb.call("hostile", function, timeout=0.5)
    healthy(sb)
    healthy(sb)


# ============================================================================ peeking
def test_stack_frames_hold_only_the_workers_own_state(sb):
    x = np.linspace(-1, 1, 7)
    expected = np.tanh(x) * 3.0                 # computed here, never sent
    frames = sb.call("hostile", "frames")
    names = {n for _, local_names in frames for n in local_names}
    assert not {n for n in names if "expect" in n or "solution" in n}
    arrays = sb.call("hostile", "all_float_arrays", x)
    assert any(np.array_equal(a, x) for a in arrays)          # it does find what it was sent
    assert not any(a.shape == expected.shape and np.allclose(a, expected) for a in arrays)


def test_patching_numpy_in_the_worker_changes_nothing_here(sb):
    x = np.arange(4.0)
    got = sb.call("hostile", "patch_numpy_then_answer", x)
    assert not compare(got, x)
    assert not np.allclose(got, x) and np.isfinite is np.isfinite
    assert np.isfinite(np.array([np.nan])).tolist() == [False]
    healthy(sb)


# ============================================================================ the core
def test_the_core_isolation_holds_with_every_optional_protection_off():
    box = make(disable=OPTIONAL, uid=None, insecure=True)
    try:
        assert set(box.protections) <= {"process", "timeout", "rlimits", "caps-dropped"}
        assert len(box.exposure) == 3          # secrets read, files and processes: said, not hidden
        assert OPTIONAL - {"user-namespace"} <= set(box.unavailable)
        e = fails(box, "hostile", "import_name", "grader", kind="exception")
        assert "ModuleNotFoundError" in e.message
        fails(box, "hostile", "infinite_loop", kind="timeout", timeout=0.3)
        fails(box, "hostile", "call_os_exit", kind="crash")
        fails(box, "hostile", "forge_garbage", kind="bad-output")
        assert box.call("hostile", "return_subclass").tolist() == [0.0, 1.0, 2.0]
        healthy(box)
    finally:
        box.close()


def test_a_missing_submission_or_broken_python_is_a_sandbox_error(tmp_path):
    with pytest.raises(SandboxError):
        Sandbox(tmp_path / "nope", LIB)
    box = Sandbox(SUB, LIB, python=str(tmp_path / "no-python"))
    with pytest.raises(SandboxError, match="cannot start"):
        box.start()
    box.close()


# ==================================================== a worker with the grader's own uid
# The worker keeps the grader's uid (uid 0 here, or the instructor's user) when the uid
# drop is off or impossible. Without filesystem confinement it could rewrite the
# repository; without process confinement it could kill(-1). Such a worker is refused
# before any student code runs, unless insecure=True. These tests only switch
# protections off: no code here ever signals a process (an earlier kill(-1) test killed
# every process of the machine).
NO_FS = {"mount-namespace", "landlock"}
NO_PROCESS = {"pid-namespace", "seccomp", "landlock"}


def marking_submission(tmp_path):
    """A submission whose import writes a file outside the sandbox (if it can)."""
    sub, mark = tmp_path / "sub", tmp_path / "ran-at-import"
    sub.mkdir()
    (sub / "marks.py").write_text(f"try:\n    open({str(mark)!r}, 'w').write('ran')\n"
                                  "except OSError:\n    pass\n"
                                  "def f():\n    return 1\n")
    return sub, mark


@pytest.mark.parametrize("missing", [NO_FS | NO_PROCESS, NO_FS, NO_PROCESS], ids=["both", "files", "processes"])
def test_a_worker_keeping_the_graders_uid_unconfined_is_refused(tmp_path, missing):
    sub, mark = marking_submission(tmp_path)
    box = Sandbox(sub, LIB, timeout=5, disable=missing | {"uid-drop"})
    try:
        with pytest.raises(SandboxError) as info:
            box.call("marks", "f")
        text = str(info.value)
        assert type(info.value).__name__ == "InsecureSandboxError" and "--insecure" in text
        assert ("repository" in text) == bool(missing & {"mount-namespace"})
        assert ("kill(-1)" in text) == ("seccomp" in missing)
        assert box.starts == 1 and box._w is None          # the worker is gone again
    finally:
        box.close()
    assert not mark.exists()                               # no student code ran


def test_the_uid_drop_abandoned_without_a_mount_namespace_is_refused_or_harmless(tmp_path):
    """The audit's case: no mount namespace, no Landlock, no seccomp, no pid namespace.
    Root's worker then drops to nobody only if Python is reachable for it (not under a
    /root of mode 0700); if it is not, the worker would stay uid 0: refused."""
    sub, mark = marking_submission(tmp_path)
    box = Sandbox(sub, LIB, timeout=5, disable=NO_FS | NO_PROCESS)
    try:
        try:
            box.start()
        except SandboxError as e:
            assert "refusing to run student code" in str(e)
            assert not any(p.startswith("uid:") for p in box.protections)
        else:
            assert any(p.startswith("uid:") for p in box.protections) and box.exposure == []
    finally:
        box.close()
    assert not mark.exists()


def test_insecure_runs_and_says_what_the_worker_could_do(tmp_path):
    sub, mark = marking_submission(tmp_path)
    box = Sandbox(sub, LIB, timeout=5, disable=NO_FS | NO_PROCESS | {"uid-drop"}, insecure=True)
    try:
        assert box.call("marks", "f") == 1
        gaps = box.exposure
        assert len(gaps) == 3 and "hidden tests" in gaps[0] and "grader/hidden" in gaps[0]
        assert "repository" in gaps[1] and "kill(-1)" in gaps[2]
    finally:
        box.close()
    assert mark.read_text() == "ran"           # the exposure is real: it wrote outside the sandbox


def UNHIDDEN():
    from grader.sandbox.files import default_hide
    return [d for d in default_hide() if d != os.path.realpath("/var/tmp")]


def world_readable_secret():
    """A file in /var/tmp (which the tests below leave out of the mount namespace's hidden
    directories: UNHIDDEN), readable by everyone: what an unhidden, world-readable hidden
    suite would be."""
    folder = Path(tempfile.mkdtemp(prefix="tt-secret-", dir="/var/tmp"))
    folder.chmod(0o755)
    secret = folder / "test_hidden.py"
    secret.write_text("EXPECTED = 42\n")
    secret.chmod(0o644)
    return secret


def test_a_readable_secret_is_refused_whatever_the_uid(tmp_path):
    """A worker with a uid of its own but nothing that hides files (no Landlock here;
    the secret lies outside what the mount namespace covers) could read the secret:
    refused before any student code runs; fine once the file is not world-readable."""
    sub, mark = marking_submission(tmp_path)
    secret = world_readable_secret()
    try:
        box = Sandbox(sub, LIB, timeout=5, disable={"landlock"}, secrets=[str(secret)], hide=UNHIDDEN())
        try:
            with pytest.raises(SandboxError) as info:
                box.call("marks", "f")
            text = str(info.value)
            assert type(info.value).__name__ == "InsecureSandboxError"
            assert str(secret) in text and "chmod" in text and "--insecure" in text
        finally:
            box.close()
        assert not mark.exists()
        if os.geteuid() != 0:
            return                  # the worker keeps our uid: it could read a 0600 file too
        secret.chmod(0o600)                            # now only the grader's uid may read it
        with Sandbox(sub, LIB, timeout=5, disable={"landlock"}, secrets=[str(secret)], hide=UNHIDDEN()) as box:
            assert box.call("marks", "f") == 1 and box.exposure == []
            assert any(p.startswith("uid:") for p in box.protections)
    finally:
        shutil.rmtree(secret.parent)


def test_with_every_protection_the_default_secrets_stay_unread(tmp_path):
    from grader.sandbox.files import default_secrets
    sub, _ = marking_submission(tmp_path)
    with Sandbox(sub, LIB, timeout=5) as box:
        assert box.call("marks", "f") == 1
        assert box.worker_info["readable"] == [] and box.exposure == []
    assert any(p.endswith("grader/hidden") for p in default_secrets())


FS = ("landlock-fs", "fs-readonly")                       # what the test counts as confinement,
PROC = ("pid-namespace", "seccomp", "landlock-scope")     # written out here again


@pytest.mark.parametrize("disable", [{"landlock", "seccomp"}, {"mount-namespace", "pid-namespace"}],
                         ids=["readonly-mounts-and-pid-namespace", "landlock-and-seccomp"])
def test_one_confinement_of_each_kind_is_enough(tmp_path, disable):
    sub, mark = marking_submission(tmp_path)
    box = Sandbox(sub, LIB, timeout=5, disable=disable | {"uid-drop"})
    try:
        try:
            refused = box.call("marks", "f") != 1
        except SandboxError:
            refused = True
        active = set(box.protections)
        assert refused == (not (active & set(FS) and active & set(PROC))), active
    finally:
        box.close()
    assert not mark.exists()                # refused, or confined: it could not write outside


def test_protections_are_kept_after_close_and_never_start_a_worker():
    box = make()
    active = box.protections
    assert box.starts == 1
    box.close()
    assert box.protections == active
    assert box.starts == 1 and box._w is None
    with pytest.raises(SandboxError, match="closed"):
        box.call("good", "add", 1, 2)
    assert box.starts == 1
