"""Frames from a ZeroMQ detector stream, with the interface of :class:`~.swmr_source.SwmrFileSource`.

The stream is the pattern detector streams use: a PUSH socket on the detector side, a
PULL socket here, one two-part message per frame:

1. a JSON header ``{"htype": "frame", "kind": "projection"|"flat"|"dark", "index": k,
   "theta": degrees, "shape": [rows, columns], "dtype": "uint16", "time": t}``
   (``time``: seconds since the epoch when the frame was sent);
2. the frame's raw bytes (C order).

One-part messages frame the scan: ``{"htype": "start", "frames_expected": N,
"flats_expected": F, "darks_expected": D, "shape": [rows, columns], "angle_range": 180}``
and ``{"htype": "end", "state": "complete"|"stopped"}``. :func:`stream_frames` is the
sending side (the demo's detector and the tests').
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .frames import (
    ACQUIRING,
    COMPLETE,
    FAILED,
    STALLED,
    STOPPED,
    WAITING,
    FrameBlock,
    LiveScanError,
    SourceInfo,
)


class ZmqFrameSource:
    """Frames received from a ZeroMQ PUSH stream (a PULL socket connected to ``address``).

    Parameters
    ----------
    address
        ``tcp://host:port`` (or ``ipc://...``) of the detector's PUSH socket.
    rows
        Detector rows to keep (a slice; default all).
    stall_timeout
        Seconds without a message after which a scan that has not ended is *stalled*.
    """

    def __init__(
        self, address: str, rows: slice | None = None, stall_timeout: float = 10.0, bind: bool = False
    ):
        import zmq

        self.address = address
        self.rows = rows if rows is not None else slice(None)
        self.stall_timeout = float(stall_timeout)
        self.state, self.message = WAITING, "waiting for the stream to start"
        self.counts = {"dark": 0, "flat": 0, "projection": 0}
        self.info = SourceInfo(address)
        self._ctx = zmq.Context.instance()
        self._sock = self._ctx.socket(zmq.PULL)
        self._sock.setsockopt(zmq.LINGER, 0)
        (self._sock.bind if bind else self._sock.connect)(address)
        self._last_new = time.monotonic()
        self._error: LiveScanError | None = None

    def _fail(self, text: str) -> None:
        self.message = f"{text}; the {sum(self.counts.values())} frame(s) received are kept"
        raise LiveScanError(self.address, self.message, sum(self.counts.values()))

    def poll(self, timeout: float = 0.0) -> list[FrameBlock]:
        """Every message waiting (after up to ``timeout`` s for the first), as blocks in order.

        A bad message (frame of another shape, lost frame, not JSON) raises
        :class:`~.frames.LiveScanError`, after the good frames before it were handed over.
        """
        if self._error is not None:  # a bad message came after the frames handed over last time
            self.state = FAILED
            raise self._error
        if self.state in (COMPLETE, STOPPED, FAILED):
            return []
        blocks: list[FrameBlock] = []
        try:
            self._receive(blocks, timeout)
        except LiveScanError as exc:
            if not blocks:
                self.state = FAILED
                raise
            self._error = exc  # hand the good frames over first; raise on the next poll
        return blocks

    def _receive(self, blocks: list[FrameBlock], timeout: float) -> None:
        import zmq

        wait_ms = int(timeout * 1000)
        while self._sock.poll(wait_ms, zmq.POLLIN):
            wait_ms = 0
            parts = self._sock.recv_multipart()
            self._last_new = time.monotonic()
            try:
                head = json.loads(parts[0])
            except ValueError:
                self._fail("a message header that is not JSON")
            kind = head.get("htype")
            if kind == "start":
                shape = head.get("shape")
                self.info = SourceInfo(
                    self.address,
                    frame_shape=tuple(int(s) for s in shape) if shape else None,
                    frames_expected=head.get("frames_expected"),
                    flats_expected=head.get("flats_expected"),
                    darks_expected=head.get("darks_expected"),
                    angle_range=head.get("angle_range"),
                )
                self.state, self.message = ACQUIRING, "acquiring"
                continue
            if kind == "end":
                done = head.get("state", "complete") == "complete"
                self.state = COMPLETE if done else STOPPED
                self.message = (
                    f"scan complete: {self.counts['projection']} projections"
                    if done
                    else f"the detector stopped the scan after {self.counts['projection']} projection(s)"
                )
                break
            if kind != "frame" or len(parts) != 2:
                self._fail(
                    f"a message of type {kind!r} with {len(parts)} part(s); expected a frame header and data"
                )
            self._add(blocks, head, parts[1])
        if not blocks and self.state == ACQUIRING and time.monotonic() - self._last_new > self.stall_timeout:
            self.state = STALLED
            self.message = (
                f"stalled: no frame for {self.stall_timeout:g} s after {self.counts['projection']} projection(s); "
                "the detector may have stopped. The frames received are kept"
            )
        elif blocks and self.state not in (COMPLETE, STOPPED):
            self.state, self.message = ACQUIRING, "acquiring"

    def _add(self, blocks: list[FrameBlock], head: dict[str, Any], data: bytes) -> None:
        shape = tuple(int(s) for s in head.get("shape", ()))
        kind = head.get("kind", "projection")
        if kind not in self.counts:
            self._fail(f"a frame of kind {kind!r}; expected dark, flat or projection")
        if self.info.frame_shape is None:
            self.info.frame_shape = shape
        if shape != self.info.frame_shape:
            self._fail(
                f"frame {kind} {head.get('index')} has shape {shape}; the scan's frames are {self.info.frame_shape}"
            )
        dtype = np.dtype(head.get("dtype", "uint16"))
        if len(data) != dtype.itemsize * int(np.prod(shape)):
            self._fail(f"frame {kind} {head.get('index')}: {len(data)} bytes for shape {shape} of {dtype}")
        index = int(head.get("index", self.counts[kind]))
        if index != self.counts[kind]:
            self._fail(f"{kind} frame {index} came where frame {self.counts[kind]} was due (a frame lost?)")
        frame = np.frombuffer(data, dtype).reshape(shape)[self.rows]
        theta = head.get("theta")
        sent = head.get("time")
        last = blocks[-1] if blocks else None
        if last is not None and last.kind == kind:  # extend the current block
            last.frames = np.concatenate([last.frames, frame[None]])
            if theta is not None:
                last.theta_deg = np.append(last.theta_deg, float(theta))
            if sent is not None and last.written is not None:
                last.written = np.append(last.written, float(sent))
        else:
            blocks.append(
                FrameBlock(
                    kind,
                    index,
                    frame[None].copy(),
                    np.array([float(theta)]) if theta is not None else None,
                    np.array([float(sent)]) if sent is not None else None,
                    time.time(),
                )
            )
        self.counts[kind] += 1

    def close(self) -> None:
        """Close the socket."""
        self._sock.close(0)


def stream_frames(
    address: str,
    frames: Iterable[tuple[str, int, np.ndarray, float | None]],
    start: dict[str, Any],
    rate: float = 0.0,
    *,
    bind: bool = True,
    cancel: Callable[[], bool] | None = None,
) -> int:
    """Send a scan on a PUSH socket: the start message, every ``(kind, index, frame, theta_deg)``, the end.

    ``rate`` frames per second (0: as fast as the receiver takes them). Returns frames sent.
    """
    import zmq

    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.PUSH)
    sock.setsockopt(zmq.LINGER, 5000)
    (sock.bind if bind else sock.connect)(address)
    sock.send(json.dumps({"htype": "start", **start}).encode())
    t0, n, state = time.monotonic(), 0, "complete"
    try:
        for kind, index, frame, theta in frames:
            if cancel is not None and cancel():
                state = "stopped"
                break
            if rate > 0:
                wait = t0 + n / rate - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
            frame = np.ascontiguousarray(frame)
            head = {
                "htype": "frame",
                "kind": kind,
                "index": int(index),
                "shape": list(frame.shape),
                "dtype": frame.dtype.str,
                "time": time.time(),
            }
            if theta is not None:
                head["theta"] = float(theta)
            sock.send_multipart([json.dumps(head).encode(), frame.tobytes()])
            n += 1
    finally:
        sock.send(json.dumps({"htype": "end", "state": state}).encode())
        sock.close()
    return n
