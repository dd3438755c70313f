"""A debounced background runner that drops stale work: the engine of live previews.

Each :meth:`DebouncedRunner.request` restarts a short timer; when the timer
fires, the function runs in a background thread (the kernel stays free to
process clicks and slider moves). A newer request sets the
:class:`~daisy_widgets.core.progress.CancelToken` of the run in progress and
its result is discarded, so only the answer to the latest request reaches
``on_result``. Nothing here knows what is being computed.

Example::

    def slow(token, x):
        token.raise_if_cancelled()       # check between stages
        return expensive(x)

    runner = DebouncedRunner(slow, delay=0.25, on_result=show, on_error=report)
    slider.observe(lambda ch: runner.request(ch["new"]), names="value")
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from ..core.errors import Cancelled
from ..core.progress import CancelToken


class DebouncedRunner:
    """Run ``func(token, *args, **kw)`` for the latest request only, after ``delay`` seconds of quiet.

    Parameters
    ----------
    func
        The work; takes a :class:`CancelToken` first and should check it between stages.
    delay
        Debounce time in seconds (requests closer together than this are merged).
    on_result
        Called with the result of the latest request (in the worker thread).
    on_error
        Called with the exception when the latest request fails (not for stale or cancelled runs).
    on_state
        Called with ``"waiting"``, ``"running"``, ``"done"``, ``"failed"`` as the latest request progresses.
    leading
        Start a request at once when the runner is idle and the previous request is at
        least ``delay`` old (a single change is answered without waiting for the timer);
        requests that follow within ``delay`` are debounced as usual.

    Attributes
    ----------
    generation : number of requests made
    completed : number of requests whose result was delivered
    stale : number of runs whose result was dropped because a newer request came
    last_latency : seconds from the latest delivered request to its result (debounce included)
    last_run_seconds : seconds the latest delivered run itself took
    """

    def __init__(
        self,
        func: Callable[..., Any],
        delay: float = 0.25,
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        on_state: Callable[[str], None] | None = None,
        leading: bool = False,
    ):
        self.func = func
        self.delay = float(delay)
        self.leading = bool(leading)
        self._last_request = float("-inf")
        self.on_result = on_result
        self.on_error = on_error
        self.on_state = on_state
        self.generation = 0
        self.completed = 0
        self.stale = 0
        self.last_latency: float | None = None
        self.last_run_seconds: float | None = None
        self.last_result: Any = None
        self.last_error: BaseException | None = None
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._token: CancelToken | None = None
        self._idle = threading.Event()
        self._idle.set()

    # -- requests ----------------------------------------------------------------------
    def request(self, *args: Any, **kw: Any) -> int:
        """Ask for a run with these arguments; returns the request's generation number."""
        with self._lock:
            self.generation += 1
            gen = self.generation
            if self._timer is not None:
                self._timer.cancel()
            if self._token is not None:
                self._token.cancel()  # a run in progress is now stale
            token = CancelToken()
            self._token = token
            t_req = time.monotonic()
            at_once = self.leading and self._idle.is_set() and t_req - self._last_request >= self.delay
            self._last_request = t_req
            self._idle.clear()
            if at_once:
                self._timer = None
            else:
                self._timer = threading.Timer(self.delay, self._launch, (gen, token, t_req, args, kw))
                self._timer.daemon = True
                self._timer.start()
        self._state("waiting")
        if at_once:
            self._launch(gen, token, t_req, args, kw)
        return gen

    def run_now(self, *args: Any, **kw: Any) -> Any:
        """Run synchronously in the caller's thread (no debounce); result also sent to ``on_result``."""
        with self._lock:
            self.generation += 1
            gen = self.generation
            if self._timer is not None:
                self._timer.cancel()
            if self._token is not None:
                self._token.cancel()
            token = self._token = CancelToken()
            self._idle.clear()
        self._work(gen, token, time.monotonic(), args, kw)
        if self.last_error is not None and self.generation == gen:
            raise self.last_error
        return self.last_result

    def cancel(self) -> None:
        """Drop the pending request and cancel the run in progress."""
        with self._lock:
            self.generation += 1
            if self._timer is not None:
                self._timer.cancel()
            if self._token is not None:
                self._token.cancel()
            self._idle.set()

    @property
    def busy(self) -> bool:
        return not self._idle.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the latest request has been answered (or failed); False on timeout."""
        return self._idle.wait(timeout)

    # -- internals ---------------------------------------------------------------------
    def _state(self, s: str) -> None:
        if self.on_state is not None:
            try:
                self.on_state(s)
            except Exception:
                pass

    def _launch(self, gen: int, token: CancelToken, t_req: float, args: tuple, kw: dict) -> None:
        if gen != self.generation or token.cancelled:
            return
        threading.Thread(
            target=self._work, args=(gen, token, t_req, args, kw), daemon=True, name=f"daisy-preview-{gen}"
        ).start()

    def _work(self, gen: int, token: CancelToken, t_req: float, args: tuple, kw: dict) -> None:
        self._state("running")
        t0 = time.monotonic()
        try:
            result = self.func(token, *args, **kw)
        except Cancelled:
            with self._lock:
                self.stale += 1
                if gen == self.generation:
                    self._idle.set()
            return
        except BaseException as exc:
            with self._lock:
                current = gen == self.generation and not token.cancelled
                if not current:
                    self.stale += 1
                    return
                self.last_error = exc
            self._state("failed")
            if self.on_error is not None:
                self.on_error(exc)
            self._idle.set()
            return
        with self._lock:
            current = gen == self.generation and not token.cancelled
            if not current:
                self.stale += 1
                return
            self.completed += 1
            self.last_result = result
            self.last_error = None
            self.last_run_seconds = time.monotonic() - t0
            self.last_latency = time.monotonic() - t_req
        try:
            if self.on_result is not None:
                self.on_result(result)
            self._state("done")
        except BaseException as exc:
            self.last_error = exc
            if self.on_error is not None:
                self.on_error(exc)
        finally:
            with self._lock:
                if gen == self.generation:
                    self._idle.set()
