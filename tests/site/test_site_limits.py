"""Per-user limits: the backend chosen, the cgroup files written, and limits that really hold.

The layout tests use a fake ``/sys/fs/cgroup`` in a temporary folder. The real tests run a
process through :func:`limiting_preexec`: its rlimits (read back from ``/proc/<pid>/limits``),
and, where this machine has a writable cgroup (as root), its group and memory limit: a
process that allocates more than its limit is killed by the kernel.
"""

from __future__ import annotations

import os
import resource
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from daisy_widgets.site import limits
from daisy_widgets.site.config import Limits


@pytest.fixture
def no_systemd(monkeypatch):
    monkeypatch.setattr(limits, "systemd_runs", lambda: False)


def test_backend_detection_order(tmp_path, no_systemd, monkeypatch):
    assert limits.detect_backend(tmp_path) == "rlimit"
    for c in ("memory", "cpu"):
        (tmp_path / c).mkdir()
    assert limits.detect_backend(tmp_path) == "cgroup1"
    (tmp_path / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    assert limits.detect_backend(tmp_path) == "cgroup2"
    monkeypatch.setattr(limits, "systemd_runs", lambda: True)
    assert limits.detect_backend(tmp_path) == "systemd"


def test_cgroup1_files(tmp_path):
    for c in ("memory", "cpu", "pids"):
        (tmp_path / c).mkdir()
    group = limits.make_user_group(
        "cgroup1", "daisy-alice", Limits(memory=2 * 2**30, cpu=1.5, tasks=300), tmp_path
    )
    base = [tmp_path / c / "daisy" / "daisy-alice" for c in ("memory", "cpu", "pids")]
    assert group.paths == base
    assert (base[0] / "memory.limit_in_bytes").read_text() == str(2 * 2**30)
    assert (base[1] / "cpu.cfs_quota_us").read_text() == "150000"
    assert (base[1] / "cpu.cfs_period_us").read_text() == "100000"
    assert (base[2] / "pids.max").read_text() == "300"
    assert group.procs_files() == [str(p / "cgroup.procs") for p in base]
    group = limits.make_user_group("cgroup1", "daisy-alice", Limits(), tmp_path)  # limits removed again
    assert (base[0] / "memory.limit_in_bytes").read_text() == "-1"
    assert (base[1] / "cpu.cfs_quota_us").read_text() == "-1" and (base[2] / "pids.max").read_text() == "max"


def test_cgroup2_files(tmp_path):
    (tmp_path / "cgroup.controllers").write_text("cpu memory pids\n")
    group = limits.make_user_group(
        "cgroup2", "daisy-bob", Limits(memory=3 * 2**30, cpu=2, tasks=500), tmp_path
    )
    path = tmp_path / "daisy" / "daisy-bob"
    assert group.paths == [path]
    assert (path / "memory.max").read_text() == str(3 * 2**30)
    assert (path / "cpu.max").read_text() == "200000 100000"
    assert (tmp_path / "cgroup.subtree_control").read_text() == "+memory +cpu +pids"
    assert (tmp_path / "daisy" / "cgroup.subtree_control").read_text() == "+memory +cpu +pids"


def test_other_backends_make_no_group(tmp_path):
    assert limits.make_user_group("rlimit", "daisy-x", Limits(memory=2**30), tmp_path).paths == []
    assert limits.make_user_group("systemd", "daisy-x", Limits(memory=2**30), tmp_path).paths == []
    assert not any(tmp_path.iterdir())


def test_descriptions_say_what_is_not_limited():
    lim = Limits(memory=4 * 2**30, cpu=2, tasks=100)
    text = limits.describe("rlimit", lim)
    assert "NOT limited: CPU" in text and "RLIMIT_AS" in text and "4.00 GiB" in text
    assert "together" in limits.describe("cgroup1", lim) and "systemd" in limits.describe("systemd", lim)
    assert "no limits" in limits.describe("cgroup1", Limits())
    assert limits.rlimits("rlimit", lim) == {resource.RLIMIT_AS: 4 * 2**30, resource.RLIMIT_NPROC: 100}
    assert limits.rlimits("cgroup1", lim) == {}


def _limits_of(pid: int) -> dict[str, str]:
    out = {}
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines()[1:]:
        name, soft = line[:26].strip(), line[26:47].strip()
        out[name] = soft
    return out


def test_rlimits_reach_the_process_and_the_next_step_runs():
    ran = []
    preexec = limits.limiting_preexec(
        limits.UserGroup(),
        {resource.RLIMIT_AS: 6 * 2**30, resource.RLIMIT_NPROC: 4000},
        lambda: ran.append(1),
    )
    proc = subprocess.Popen(["sleep", "30"], preexec_fn=preexec)  # noqa: PLW1509  (no threads here)
    try:
        got = _limits_of(proc.pid)
        assert got["Max address space"] == str(6 * 2**30) and got["Max processes"] == "4000"
    finally:
        proc.kill()
        proc.wait()


needs_cgroup = pytest.mark.skipif(
    os.geteuid() != 0 or limits.detect_backend() not in ("cgroup1", "cgroup2"),
    reason="needs root and a writable cgroup (this machine has none)",
)


@needs_cgroup
def test_a_process_over_its_memory_limit_is_killed():
    """Real cgroup: the child joins the group before exec; allocating past the limit kills it,
    while a small allocation in the same group is fine."""
    backend = limits.detect_backend()
    account = f"daisy-test-{secrets.token_hex(3)}"
    group = limits.make_user_group(backend, account, Limits(memory=200 * 2**20, cpu=1, tasks=256))
    try:
        preexec = limits.limiting_preexec(group, {}, lambda: None)
        code = "import sys; b = bytearray(int(sys.argv[1]) * 2**20); b[::4096] = b'x' * len(b[::4096]); print('ok')"
        small = subprocess.run([sys.executable, "-c", code, "50"], preexec_fn=preexec, capture_output=True)
        assert small.returncode == 0 and small.stdout.strip() == b"ok", small.stderr
        proc = subprocess.Popen([sys.executable, "-c", code, "600"], preexec_fn=preexec)  # noqa: PLW1509
        assert group.contains(proc.pid) or proc.poll() is not None
        assert proc.wait(120) == -9  # SIGKILL from the kernel's OOM killer, within the group
        path = group.paths[0]
        assert int(
            (path / ("memory.max" if backend == "cgroup2" else "memory.limit_in_bytes")).read_text()
        ) == (200 * 2**20)
    finally:
        limits.remove_user_group(account)
    assert not any(p.exists() for p in group.paths)
