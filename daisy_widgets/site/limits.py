"""Per-user resource limits of a site: by systemd, by cgroups, or by rlimits: the best available.

:func:`detect_backend` picks, in order:

``systemd``   PID 1 is systemd: the hub uses ``jupyterhub-systemdspawner`` (each server a
              transient unit with ``MemoryMax``/``CPUQuota``/``TasksMax``).
``cgroup2``   the unified hierarchy is writable with the memory, cpu and pids controllers:
              each server and all its kernels go into ``/sys/fs/cgroup/daisy/<account>``
              (``memory.max``, ``memory.swap.max=0``, ``cpu.max``, ``pids.max``).
``cgroup1``   the v1 memory and cpu hierarchies are writable (containers, VMs without
              systemd): ``/sys/fs/cgroup/{memory,cpu,pids}/daisy/<account>``
              (``memory.limit_in_bytes``, ``cpu.cfs_quota_us``, ``pids.max``).
``rlimit``    none of these: ``RLIMIT_AS`` (address space, which over-counts: mapped
              files and reserved memory count too) and ``RLIMIT_NPROC`` (per account).
              CPU time per second is NOT limited (an rlimit cannot), nor is the total
              memory of a user's processes together (only each process on its own).

The limits hold for the user server and everything it starts (kernels, terminals):
a cgroup is inherited by children, and so are rlimits.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .config import Limits

CGROUP_ROOT = Path("/sys/fs/cgroup")
#: the cgroup folder under which every user's group is made
GROUP = "daisy"
CPU_PERIOD_US = 100_000


def systemd_runs() -> bool:
    """True when PID 1 is systemd (the test ``sd_booted()`` makes)."""
    return Path("/run/systemd/system").is_dir()


def _writable_dir(path: Path) -> bool:
    return path.is_dir() and os.access(path, os.W_OK)


def _cgroup2_controllers(root: Path) -> set[str]:
    try:
        return set((root / "cgroup.controllers").read_text().split())
    except OSError:
        return set()


def detect_backend(root: Path = CGROUP_ROOT) -> str:
    """``"systemd"``, ``"cgroup2"``, ``"cgroup1"`` or ``"rlimit"``: see the module docstring."""
    if systemd_runs():
        return "systemd"
    if {"memory", "cpu"} <= _cgroup2_controllers(root) and _writable_dir(root):
        return "cgroup2"
    if all(_writable_dir(root / c) for c in ("memory", "cpu")):
        return "cgroup1"
    return "rlimit"


def describe(backend: str, limits: Limits) -> str:
    """One line saying what is limited, by what, and what is not."""
    if not any((limits.memory, limits.cpu, limits.tasks)):
        return "no limits configured (limits: memory, cpu, tasks)"
    parts = []
    if limits.memory:
        parts.append(f"memory {limits.memory / 2**30:.2f} GiB")
    if limits.cpu:
        parts.append(f"cpu {limits.cpu:g}")
    if limits.tasks:
        parts.append(f"tasks {limits.tasks}")
    text = ", ".join(parts)
    if backend == "systemd":
        return f"{text}: per user server by systemd (systemdspawner: MemoryMax, CPUQuota, TasksMax)"
    if backend in ("cgroup1", "cgroup2"):
        return f"{text}: per user server and its kernels together, by a {backend} group"
    not_limited = ["CPU" if limits.cpu else None, "the total memory of a user's processes together"]
    return (
        f"{text}: by rlimits only (RLIMIT_AS per process, RLIMIT_NPROC per account); "
        f"NOT limited: {', '.join(n for n in not_limited if n)}"
    )


@dataclass
class UserGroup:
    """The cgroup folders of one account (one per hierarchy in v1, one in v2)."""

    paths: list[Path] = field(default_factory=list)

    def procs_files(self) -> list[str]:
        return [str(p / "cgroup.procs") for p in self.paths]

    def contains(self, pid: int) -> bool:
        for p in self.paths:
            try:
                if str(pid) in (p / "cgroup.procs").read_text().split():
                    return True
            except OSError:
                pass
        return False


def _write(path: Path, value: str) -> None:
    path.write_text(value)


def _enable_v2_controllers(root: Path, group: Path) -> None:
    for parent in (root, group.parent):
        parent.mkdir(exist_ok=True)
        try:
            _write(parent / "cgroup.subtree_control", "+memory +cpu +pids")
        except OSError:
            _write(parent / "cgroup.subtree_control", "+memory +cpu")


def make_user_group(backend: str, account: str, limits: Limits, root: Path = CGROUP_ROOT) -> UserGroup:
    """Create (or update) ``account``'s cgroup with ``limits``; an empty group for other backends."""
    group = UserGroup()
    if backend == "cgroup2":
        path = root / GROUP / account
        _enable_v2_controllers(root, path)
        path.mkdir(exist_ok=True)
        _write(path / "memory.max", str(limits.memory) if limits.memory else "max")
        if limits.memory and (path / "memory.swap.max").exists():
            _write(path / "memory.swap.max", "0")
        quota = int(limits.cpu * CPU_PERIOD_US) if limits.cpu else None
        _write(path / "cpu.max", f"{quota or 'max'} {CPU_PERIOD_US}")
        if (path / "pids.max").exists():
            _write(path / "pids.max", str(limits.tasks) if limits.tasks else "max")
        group.paths.append(path)
    elif backend == "cgroup1":
        mem = root / "memory" / GROUP / account
        mem.mkdir(parents=True, exist_ok=True)
        _write(mem / "memory.limit_in_bytes", str(limits.memory) if limits.memory else "-1")
        if limits.memory and (mem / "memory.memsw.limit_in_bytes").exists():
            try:  # swap counts too, where the kernel accounts it
                _write(mem / "memory.memsw.limit_in_bytes", str(limits.memory))
            except OSError:
                pass
        cpu = root / "cpu" / GROUP / account
        cpu.mkdir(parents=True, exist_ok=True)
        _write(cpu / "cpu.cfs_period_us", str(CPU_PERIOD_US))
        _write(cpu / "cpu.cfs_quota_us", str(int(limits.cpu * CPU_PERIOD_US)) if limits.cpu else "-1")
        group.paths += [mem, cpu]
        if _writable_dir(root / "pids"):
            pids = root / "pids" / GROUP / account
            pids.mkdir(parents=True, exist_ok=True)
            _write(pids / "pids.max", str(limits.tasks) if limits.tasks else "max")
            group.paths.append(pids)
    return group


def rlimits(backend: str, limits: Limits) -> dict[int, int]:
    """The rlimits set in the user's server process (only for the ``rlimit`` backend)."""
    if backend != "rlimit":
        return {}
    out = {}
    if limits.memory:
        out[resource.RLIMIT_AS] = limits.memory
    if limits.tasks:
        out[resource.RLIMIT_NPROC] = limits.tasks
    return out


def limiting_preexec(
    group: UserGroup, limits: dict[int, int], then: Callable[[], None]
) -> Callable[[], None]:
    """A ``preexec_fn``: join ``group`` (as root, before ``then`` drops to the user), set ``limits``."""
    procs = group.procs_files()

    def preexec() -> None:
        pid = str(os.getpid()).encode()
        for path in procs:
            fd = os.open(path, os.O_WRONLY)
            try:
                os.write(fd, pid)
            finally:
                os.close(fd)
        for which, value in limits.items():
            resource.setrlimit(which, (value, value))
        then()

    return preexec


def remove_user_group(account: str, root: Path = CGROUP_ROOT) -> None:
    """Remove ``account``'s (empty) cgroup folders, where they exist."""
    for path in (root / GROUP / account, *(root / c / GROUP / account for c in ("memory", "cpu", "pids"))):
        try:
            path.rmdir()
        except OSError:
            pass
