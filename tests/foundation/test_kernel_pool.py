"""The pool of pre-started kernels of the Voila apps (``daisy_widgets.kernel_pool``), with real kernels.

A :class:`PooledKernelManager` (jupyter-server's kernel manager) over a temporary root with an
``apps`` folder starts a real ``python3`` kernel ahead, preloads a module in it, and hands it to a
request that carries Voila's environment mark, with that request's environment; JupyterLab's
requests (no mark) get new kernels; a pooled kernel is hidden from the kernel list and not culled;
a preload that fails falls back on a new kernel (a module not installed is skipped); ``DAISY_VOILA_POOL=0`` switches the pool off.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

import pytest

from daisy_widgets.kernel_pool import (
    POOL_VARIABLE,
    VOILA_MARK,
    PooledKernelManager,
    environment_update,
    handover_code,
    preload_code,
)

pytest.importorskip("ipykernel")


def test_environment_update_sets_changed_and_removes_missing():
    changed, removed = environment_update({"A": "1", "B": "2", "C": "3"}, {"A": "1", "B": "20", "D": 4})
    assert changed == {"B": "20", "D": "4"}
    assert removed == ["C"]


def test_handover_code_applies_the_environment_and_defines_no_name():
    ns: dict = {}
    os.environ["DAISY_TEST_POOL_GONE"] = "x"
    try:
        exec(handover_code({"DAISY_TEST_POOL_SET": "a b'\""}, ["DAISY_TEST_POOL_GONE"]), ns)
        assert os.environ["DAISY_TEST_POOL_SET"] == "a b'\""
        assert "DAISY_TEST_POOL_GONE" not in os.environ
        assert set(ns) == {"__builtins__"}
    finally:
        os.environ.pop("DAISY_TEST_POOL_SET", None)


async def _expressions(km: PooledKernelManager, kernel_id: str, **expressions: str) -> dict[str, str]:
    """Evaluate ``expressions`` in the kernel (user_expressions of an empty execute): their reprs."""
    client = km.get_kernel(kernel_id).client()
    client.start_channels(iopub=False, stdin=False, hb=False, control=False)
    try:
        await client.wait_for_ready(timeout=120)
        msg_id = client.execute("", silent=True, store_history=False, user_expressions=expressions)
        while True:
            reply = await client.get_shell_msg(timeout=120)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
    finally:
        client.stop_channels()
    out = reply["content"]["user_expressions"]
    return {k: v["data"]["text/plain"] for k, v in out.items()}


async def _wait_pool_ready(km: PooledKernelManager, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while not (km._pool and all(f.done() for f, _ in km._pool)):
        assert time.monotonic() < deadline, "the pool did not get a kernel ready"
        await asyncio.sleep(0.2)


def _manager(root, **kw) -> PooledKernelManager:
    return PooledKernelManager(root_dir=str(root), kernel_spec_manager=_spec_manager(), **kw)


def _spec_manager():
    from jupyter_client.kernelspec import KernelSpecManager

    return KernelSpecManager()


def _voila_env(query: str, page: str = "x.ipynb") -> dict[str, str]:
    return {**os.environ, VOILA_MARK: f"http://127.0.0.1/voila/render/apps/{page}", "QUERY_STRING": query}


def test_a_voila_page_gets_the_preloaded_kernel_with_its_environment(tmp_path, monkeypatch):
    monkeypatch.delenv(POOL_VARIABLE, raising=False)
    (tmp_path / "apps").mkdir()

    async def scenario():
        km = _manager(tmp_path, pool_size=1, preload_modules=["colorsys"], refill_delay=0.1)
        try:
            await _wait_pool_ready(km)
            pooled = await km._pool[0][0]
            assert km.list_kernels() == []  # waiting kernels are not listed
            await km.cull_kernel_if_idle(pooled)  # nor culled
            assert pooled in km

            taken = await km.start_kernel(
                kernel_name="python3", path="apps", env=_voila_env("file=a.h5&stage=centre")
            )
            assert taken == pooled
            seen = await _expressions(
                km,
                taken,
                query="__import__('os').environ.get('QUERY_STRING')",
                mark=f"__import__('os').environ.get({VOILA_MARK!r})",
                preloaded="'colorsys' in __import__('sys').modules",
                cwd="__import__('os').getcwd()",
            )
            assert seen["query"] == repr("file=a.h5&stage=centre")
            assert seen["mark"] == repr("http://127.0.0.1/voila/render/apps/x.ipynb")
            assert seen["preloaded"] == "True"
            assert seen["cwd"] == repr(str(tmp_path / "apps"))
            assert [k["id"] for k in km.list_kernels()] == [taken]

            # the pool refills; a JupyterLab request (no Voila mark) does not take from it
            await asyncio.sleep(0.3)
            await _wait_pool_ready(km)
            refilled = await km._pool[0][0]
            assert refilled != taken
            lab = await km.start_kernel(kernel_name="python3", path="apps", env=dict(os.environ))
            assert lab not in (taken, refilled)
            # nor does a Voila page in another folder
            (tmp_path / "other").mkdir()
            other = await km.start_kernel(kernel_name="python3", path="other", env=_voila_env(""))
            assert other != refilled and km._pool and (await km._pool[0][0]) == refilled
        finally:
            await km.shutdown_all(now=True)

    asyncio.run(scenario())


def test_preload_skips_modules_not_installed():
    ns: dict = {}
    exec(preload_code(["colorsys", "daisy_no_such_module", "daisy_no_such_module.sub"]), ns)
    assert set(ns) == {"__builtins__"} and "colorsys" in sys.modules


def test_a_failed_preload_falls_back_on_a_new_kernel(tmp_path, monkeypatch):
    monkeypatch.delenv(POOL_VARIABLE, raising=False)
    (tmp_path / "apps").mkdir()
    # a module of the apps folder (the kernel's folder) that fails when imported
    (tmp_path / "apps" / "daisy_broken_preload.py").write_text("raise RuntimeError('broken on purpose')\n")

    async def scenario():
        km = _manager(tmp_path, pool_size=1, preload_modules=["daisy_broken_preload"], refill_delay=60)
        try:
            deadline = time.monotonic() + 180
            while not (km._pool and km._pool[0][0].done()):
                assert time.monotonic() < deadline
                await asyncio.sleep(0.2)
            with pytest.raises(RuntimeError, match="broken on purpose"):
                await km._pool[0][0]
            assert km.list_kernels() == []  # the failed kernel was shut down
            kid = await km.start_kernel(kernel_name="python3", path="apps", env=_voila_env("a=1"))
            seen = await _expressions(km, kid, q="__import__('os').environ.get('QUERY_STRING')")
            assert seen["q"] == repr("a=1")  # a new kernel, started with the page's environment
            assert [k["id"] for k in km.list_kernels()] == [kid]
        finally:
            await km.shutdown_all(now=True)

    asyncio.run(scenario())


def test_the_pool_is_off_with_daisy_voila_pool_0(tmp_path, monkeypatch):
    monkeypatch.setenv(POOL_VARIABLE, "0")

    async def scenario():
        km = _manager(tmp_path, pool_size=2)
        await asyncio.sleep(0.2)
        assert km.pool_size == 0 and km._pool == [] and km.list_kernels() == []

    asyncio.run(scenario())


def test_the_first_page_does_not_wait_for_the_preload_and_the_next_does(tmp_path, monkeypatch):
    """The landing page (the Voila index, ``landing_pages``) as the first page gets a new kernel."""
    monkeypatch.delenv(POOL_VARIABLE, raising=False)
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "daisy_slow_preload.py").write_text("import time\ntime.sleep(3)\n")

    async def scenario():
        km = _manager(tmp_path, pool_size=1, preload_modules=["daisy_slow_preload"], refill_delay=60)
        try:
            await asyncio.sleep(0.1)  # the pool has begun its kernel
            pending = km._pool[0][0]
            first = await km.start_kernel(
                kernel_name="python3", path="apps", env=_voila_env("page=1", "index.ipynb?x=1")
            )
            assert len(km._pool) == 1 and km._pool[0][0] is pending  # a new kernel; the pool's is kept
            second = await km.start_kernel(kernel_name="python3", path="apps", env=_voila_env("page=2"))
            assert second == pending.result() != first  # waited for the pooled kernel
            seen = await _expressions(
                km,
                second,
                q="__import__('os').environ.get('QUERY_STRING')",
                slow="'daisy_slow_preload' in __import__('sys').modules",
            )
            assert seen == {"q": repr("page=2"), "slow": "True"}
        finally:
            await km.shutdown_all(now=True)

    asyncio.run(scenario())


def test_a_first_page_that_is_not_a_landing_page_waits_for_the_preload(tmp_path, monkeypatch):
    """Users land on the index without a kernel: their first Voila page is an app, which needs the
    preloaded modules, and waits for the pooled kernel instead of starting one beside it."""
    monkeypatch.delenv(POOL_VARIABLE, raising=False)
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "daisy_slow_preload.py").write_text("import time\ntime.sleep(3)\n")

    async def scenario():
        km = _manager(tmp_path, pool_size=1, preload_modules=["daisy_slow_preload"], refill_delay=1.0)
        try:
            await asyncio.sleep(0.1)  # the pool has begun its kernel
            pending = km._pool[0][0]
            assert not pending.done()
            first = await km.start_kernel(
                kernel_name="python3", path="apps", env=_voila_env("page=1", "tomography.ipynb")
            )
            assert first == pending.result()  # waited for the pooled kernel (3 s of preload)
            # the refill counts its delay from the handover, not from the request: not started yet
            assert km._pool == []
            seen = await _expressions(km, first, slow="'daisy_slow_preload' in __import__('sys').modules")
            assert seen == {"slow": "True"}
            await asyncio.sleep(1.5)
            assert len(km._pool) == 1 and km._pool[0][0] is not pending  # then it refills
        finally:
            await km.shutdown_all(now=True)

    asyncio.run(scenario())
