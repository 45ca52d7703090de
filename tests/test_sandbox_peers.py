"""Workers of different students never see each other's files (issue 15 point 1): with
every protection, without Landlock, and without Landlock or a mount namespace (then only
the uid of its own that each worker drops to keeps them apart)."""
import os
import sys

import pytest

from grader.sandbox import Sandbox

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the sandbox targets Linux")

SNOOP = '''
import glob, os, tempfile

def snoop():
    """Every other worker's private directory it can find, and what it could read there."""
    found = []
    for base in {tempfile.gettempdir(), "/tmp", "/var/tmp", os.path.dirname(os.path.dirname(os.getcwd()))}:
        # where the sandbox makes them (mkdtemp in $TMPDIR), and one level below; not a
        # recursive walk, which in a /tmp holding checkouts and venvs outlasts the timeout
        dirs = glob.glob(os.path.join(base, "tt-sandbox-*")) + glob.glob(os.path.join(base, "*", "tt-sandbox-*"))
        for d in dirs[:200]:
            if os.getcwd().startswith(d):
                continue
            try:
                for name in os.listdir(os.path.join(d, "sub")):
                    with open(os.path.join(d, "sub", name)) as f:
                        found.append(f.read())
            except OSError:
                pass
    return found
'''


@pytest.mark.parametrize("disable", [set(), {"landlock"}, {"landlock", "mount-namespace"}],
                         ids=["all", "no-landlock", "no-landlock-no-mount-namespace"])
def test_a_worker_cannot_read_another_students_copy(tmp_path, disable):
    if disable and os.geteuid() != 0:
        pytest.skip("without Landlock a non-root grader's workers are refused or share its uid: "
                    "see docs/sandbox.md")
    alice, mallory = tmp_path / "alice", tmp_path / "mallory"
    alice.mkdir()
    mallory.mkdir()
    (alice / "ex04_layernorm.py").write_text("ALICE_SECRET = 'alice-was-here'\n")
    (mallory / "snoop.py").write_text(SNOOP)
    # without Landlock or a mount namespace, this checkout's (world-readable) hidden suites
    # are readable and the worker would be refused: insecure=True, to look at peers alone
    bare = disable == {"landlock", "mount-namespace"}
    # a Python every uid may run (a pyenv one under /root, mode 0700, blocks the uid drop)
    python = "/usr/bin/python3.11" if bare and os.access("/usr/bin/python3.11", os.X_OK) else sys.executable
    with Sandbox(alice, None, timeout=10) as a, \
            Sandbox(mallory, None, timeout=10, disable=disable, insecure=bare, python=python) as m:
        a.start()
        if bare and not any(p.startswith("uid:") for p in m.protections):
            pytest.skip(f"the uid drop is impossible here without a mount namespace ({m.unavailable}); such "
                        f"a worker keeps root and is refused unless --insecure (test_sandbox.py checks that)")
        assert (a.private_dir / "sub" / "ex04_layernorm.py").exists()
        found = m.call("snoop", "snoop")
        assert not any("alice-was-here" in text for text in found), (m.protections, found)
        if bare:
            assert a.uid != m.uid
            # the control: a worker that kept our uid (root) does find alice's copy this way
            with Sandbox(mallory, None, timeout=10, disable=disable, uid=None, insecure=True,
                         python=python) as root:
                assert any("alice-was-here" in text for text in root.call("snoop", "snoop"))


def _ipc_rows(uid):
    """{table: number of System V IPC objects whose owner or creator is uid}."""
    counts = {}
    for table in ("shm", "msg", "sem"):
        with open(f"/proc/sysvipc/{table}") as f:
            header, *rows = [line.split() for line in f]
        at = [header.index("uid"), header.index("cuid")]
        counts[table] = sum(1 for r in rows if uid in {int(r[i]) for i in at})
    return counts


@pytest.mark.skipif(os.geteuid() != 0, reason="making IPC objects as another uid needs root")
def test_what_a_worker_left_in_every_ipc_table_is_removed():
    """The fallback where neither an IPC namespace nor seccomp stopped the worker: a
    segment, a message queue and a semaphore set made by a worker's uid are all removed
    (each table names its id column differently: shmid, msqid, semid)."""
    import ctypes

    from grader.sandbox.supervisor import remove_ipc

    uid = 64_999                              # a uid nothing else on this machine uses
    IPC_CREAT = 0o1000
    pid = os.fork()
    if pid == 0:                              # the "worker": makes one of each, then exits
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            os.setgid(uid)
            os.setuid(uid)
            ok = (libc.shmget(0x7474_0001, 4096, IPC_CREAT | 0o600) >= 0
                  and libc.msgget(0x7474_0002, IPC_CREAT | 0o600) >= 0
                  and libc.semget(0x7474_0003, 1, IPC_CREAT | 0o600) >= 0)
            os._exit(0 if ok else 1)
        except BaseException:
            os._exit(2)
    assert os.waitpid(pid, 0)[1] == 0
    assert _ipc_rows(uid) == {"shm": 1, "msg": 1, "sem": 1}
    remove_ipc(uid)
    assert _ipc_rows(uid) == {"shm": 0, "msg": 0, "sem": 0}
