"""Pre-started kernels for the Voila apps: a jupyter-server kernel manager with a small pool.

Voila's own kernel pool (``VoilaConfiguration.preheat_kernel``) works only in the
standalone ``voila`` server; the apps here are served by Voila's *server extension*
inside each user's Jupyter server, where every page starts a new kernel (a Python
process, ipykernel, then the app's imports: about 1.5-3 s on a busy 2-core machine
before the notebook's first line runs). :class:`PooledKernelManager` keeps
``pool_size`` kernels started ahead, with ``preload_modules`` already imported, and hands
one to the next Voila page that asks for a kernel of that kind in that folder:

* only Voila's requests take from the pool (recognised by the ``VOILA_REQUEST_URL`` that
  Voila puts in the kernel's environment); JupyterLab's notebooks get new kernels as before;
* the page's environment (its query string, ``SCRIPT_NAME``, ``VOILA_*``...) is applied to
  the pooled kernel before the kernel is handed over, so ``os.environ`` in the notebook is
  what a new kernel would have had; the kernel's folder must be the page's folder;
* pooled kernels are not listed by ``/api/kernels`` and not culled while they wait;
* a page that comes while the pooled kernel is still starting or preloading waits for it (on
  a busy machine, a new kernel would compete with it for the CPU and take longer), except the
  first page after the server started when it is a landing page (``landing_pages``: the Voila
  index, which needs few modules): it gets a new kernel and the pooled one stays for the next
  page. Users now land on an index without a kernel (``daisy_widgets.index_page``), so their
  first Voila page is an app, which waits for the pooled kernel;
* a pooled kernel that died or failed to preload is discarded (logged) and the page gets a
  new kernel, as without a pool; the pool refills ``refill_delay`` seconds after a take,
  counted from the handover (also when the page waited for the preload), so the refill does
  not compete with the page being executed and drawn.

Configured in ``hub_config/jupyter/config/jupyter_server_config.json``
(``ServerApp.kernel_manager_class`` and ``PooledKernelManager.*``).
``DAISY_VOILA_POOL`` in the server's environment overrides ``pool_size`` (``0``: off).
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from jupyter_server.utils import ApiPath
from traitlets import Float, Integer, List, Unicode

#: environment variable that overrides ``PooledKernelManager.pool_size`` (0: no pool)
POOL_VARIABLE = "DAISY_VOILA_POOL"
#: a key Voila sets in the environment of the kernels it starts (server extension included)
VOILA_MARK = "VOILA_REQUEST_URL"


def environment_update(current: dict[str, str], wanted: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """What turns environment ``current`` into ``wanted``: ``(variables to set, variables to remove)``."""
    changed = {k: str(v) for k, v in wanted.items() if current.get(k) != str(v)}
    removed = sorted(k for k in current if k not in wanted)
    return changed, removed


def handover_code(changed: dict[str, str], removed: list[str]) -> str:
    """Python run (silently) in a pooled kernel to give it a page's environment; defines no name."""
    return (
        "(lambda _os, _set, _rm: (_os.environ.update(_set), [_os.environ.pop(k, None) for k in _rm]))"
        f"(__import__('os'), {json.dumps(changed)}, {json.dumps(removed)})"
    )


def preload_code(modules: list[str]) -> str:
    """Python run (silently) in a new pooled kernel: import ``modules`` (those not installed are
    skipped; any other error fails the preload); leaves no name behind."""
    return (
        "def _daisy_preload(modules):\n"
        "    import importlib, importlib.util\n"
        "    for m in modules:\n"
        "        if importlib.util.find_spec(m.split('.')[0]) is not None:\n"
        "            importlib.import_module(m)\n"
        f"_daisy_preload({json.dumps(list(modules))})\n"
        "del _daisy_preload\n"
    )


class PooledKernelManager(AsyncMappingKernelManager):
    """jupyter-server's kernel manager with ``pool_size`` kernels started ahead for Voila pages
    (see the module docstring)."""

    pool_size = Integer(1, config=True, help="Kernels kept started for the next Voila pages (0: no pool).")
    pool_kernel_name = Unicode("python3", config=True, help="Kernel spec of the pooled kernels.")
    pool_path = Unicode("apps", config=True, help="API path (folder) the pooled kernels run in.")
    preload_modules = List(
        Unicode(),
        default_value=[],
        config=True,
        help="Modules imported in a pooled kernel before it is handed out.",
    )
    landing_pages = List(
        Unicode(),
        default_value=["index.ipynb"],
        config=True,
        help="File names of the Voila pages users land on: the first page after the server started, "
        "when it is one of these, gets a new kernel instead of waiting for the pool's preload.",
    )
    refill_delay = Float(2.0, config=True, help="Seconds after a take before the pool starts a new kernel.")
    handover_timeout = Float(120.0, config=True, help="Seconds a preload or handover may take.")

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        text = os.environ.get(POOL_VARIABLE, "").strip()
        if text:
            try:
                self.pool_size = max(0, int(text))
            except ValueError:
                self.log.warning(
                    "%s=%r is not a number of kernels: pool of %d", POOL_VARIABLE, text, self.pool_size
                )
        #: kernels being prepared or ready, oldest first: (kernel id future, start environment)
        self._pool: list[tuple[asyncio.Future, dict[str, str]]] = []
        self._pooled: set[str] = set()
        self._pages = 0  # Voila pages that asked for a kernel of the pool's kind and folder
        self._refill_handle: asyncio.TimerHandle | None = None
        if self.pool_size > 0:
            from tornado.ioloop import IOLoop

            IOLoop.current().add_callback(self._refill)

    # -- the pool ----------------------------------------------------------------------
    def _refill(self) -> None:
        self._refill_handle = None
        while len(self._pool) < self.pool_size:
            env = dict(os.environ)
            fut = asyncio.ensure_future(self._start_pooled(env))
            self._pool.append((fut, env))

    def _schedule_refill(self) -> None:
        if self.pool_size > 0 and self._refill_handle is None:
            self._refill_handle = asyncio.get_event_loop().call_later(self.refill_delay, self._refill)

    async def _start_pooled(self, env: dict[str, str]) -> str:
        kernel_id = await super().start_kernel(
            kernel_name=self.pool_kernel_name, path=self.pool_path, env=env
        )
        self._pooled.add(kernel_id)
        if self.preload_modules:
            try:
                await self._execute(kernel_id, preload_code(self.preload_modules))
            except Exception:
                self._pooled.discard(kernel_id)
                await self.shutdown_kernel(kernel_id, now=True)
                raise
        self.log.info(
            "Kernel %s ready in the pool (%s)", kernel_id, ", ".join(self.preload_modules) or "no preload"
        )
        return kernel_id

    async def _execute(self, kernel_id: str, code: str) -> None:
        """Run ``code`` silently in kernel ``kernel_id`` and wait for its reply; raise on an error, when
        the kernel dies or after ``handover_timeout`` seconds.

        The request is sent at once: ZeroMQ holds it until the kernel's shell socket is there (a
        kernel just started binds it a moment later). jupyter_client's ``wait_for_ready`` would
        first loop over kernel-info requests until one's IOPub message arrives, 0.2-0.4 s per call,
        once for the preload and once for every handover."""
        from queue import Empty

        kernel = self.get_kernel(kernel_id)
        client = kernel.client()
        client.start_channels(iopub=False, stdin=False, hb=False, control=False)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.handover_timeout
        try:
            msg_id = client.execute(code, silent=True, store_history=False)
            while True:
                left = deadline - loop.time()
                if left <= 0:
                    raise TimeoutError(f"no reply from the kernel in {self.handover_timeout:g} s")
                try:
                    reply = await client.get_shell_msg(timeout=min(1.0, left))
                except Empty:
                    if not await kernel.is_alive():
                        raise RuntimeError("the kernel died") from None
                    continue
                if reply["parent_header"].get("msg_id") == msg_id:
                    break
        finally:
            client.stop_channels()
        content = reply["content"]
        if content.get("status") != "ok":
            raise RuntimeError(f"{content.get('ename', 'error')}: {content.get('evalue', '')}")

    async def _take(self, kernel_name: str | None, path: ApiPath | None, env: dict[str, str]) -> str | None:
        """A pooled kernel given ``env``, or None (no pool, another kind or folder, or a failed one)."""
        if not self._pool or (kernel_name or self.default_kernel_name) != self.pool_kernel_name:
            return None
        if path is None or self.cwd_for_path(path) != self.cwd_for_path(self.pool_path):
            return None
        first_page, self._pages = self._pages == 0, self._pages + 1
        if first_page and not self._pool[0][0].done() and self._is_landing_page(env):
            # the landing page just after the server started: the pooled kernel has only begun its
            # preload (every app's modules), a new kernel needs only the page's own; it stays for the next
            return None
        fut, start_env = self._pool.pop(0)
        kernel_id = None
        try:
            kernel_id = await fut
            kernel = self.get_kernel(kernel_id)
            if not await kernel.is_alive():
                raise RuntimeError("the kernel died while it waited")
            changed, removed = environment_update(start_env, env)
            await self._execute(kernel_id, handover_code(changed, removed))
        except Exception as exc:
            self.log.warning("Pooled kernel not used (%s): starting a new one", exc)
            if kernel_id is not None and kernel_id in self:
                await self.shutdown_kernel(kernel_id, now=True)
            return None
        finally:
            # counted from the handover, not from the request: a page that waited for the preload
            # would otherwise have the next kernel's start and imports beside its own execution
            self._schedule_refill()
        self._pooled.discard(kernel_id)
        from jupyter_server._tz import utcnow

        kernel.last_activity = utcnow()
        self.log.info("Kernel %s taken from the pool for a Voila page", kernel_id)
        return kernel_id

    def _is_landing_page(self, env: dict[str, str]) -> bool:
        """Is the page asking (its ``VOILA_REQUEST_URL``) one of ``landing_pages``?"""
        from urllib.parse import urlparse

        name = urlparse(env.get(VOILA_MARK, "")).path.rstrip("/").rsplit("/", 1)[-1]
        return name in self.landing_pages

    # -- the kernel manager's API ------------------------------------------------------------
    async def start_kernel(
        self, *, kernel_id: str | None = None, path: ApiPath | None = None, **kwargs: Any
    ) -> str:
        env = kwargs.get("env")
        if kernel_id is None and isinstance(env, dict) and VOILA_MARK in env:
            taken = await self._take(kwargs.get("kernel_name"), path, env)
            if taken is not None:
                return taken
        return await super().start_kernel(kernel_id=kernel_id, path=path, **kwargs)

    def list_kernels(self) -> list[dict[str, Any]]:
        """The running kernels, without those waiting in the pool."""
        return [k for k in super().list_kernels() if k.get("id") not in self._pooled]

    async def cull_kernel_if_idle(self, kernel_id: str) -> None:
        if kernel_id in self._pooled:
            return  # waiting in the pool is not being idle
        await super().cull_kernel_if_idle(kernel_id)

    async def shutdown_kernel(self, kernel_id: str, now: bool = False, restart: bool = False) -> None:
        self._pooled.discard(kernel_id)
        await super().shutdown_kernel(kernel_id, now=now, restart=restart)
