"""Live mode: follow a scan while it is acquired, and reconstruct a preview that sharpens as it grows.

Sources (one interface, :class:`~.frames.FrameSource`)
    :class:`SwmrFileSource` follows a Data Exchange HDF5 file a writer is filling in SWMR
    mode (:mod:`daisy_widgets.tomography.io.swmr_writer` writes one);
    :class:`ZmqFrameSource` receives frames from a ZeroMQ PUSH stream (JSON header + raw
    frame per message; :func:`stream_frames` sends one).
Reconstruction
    :class:`LiveSinograms` keeps the normalised sinograms; :class:`SectorPreview` adds
    each new block of angles to an FBP slice with partial-arc weights;
    :class:`LiveReconstruction` drives a source and reports :class:`LiveStatus`.
"""

from __future__ import annotations

from .frames import FINAL_STATES, FrameBlock, FrameSource, LiveScanError, SourceInfo
from .preview import SectorPreview
from .session import LiveReconstruction, LiveStatus
from .sinograms import LiveSinograms
from .swmr_source import SwmrFileSource, open_swmr
from .zmq_source import ZmqFrameSource, stream_frames

__all__ = [
    "FINAL_STATES",
    "FrameBlock",
    "FrameSource",
    "LiveReconstruction",
    "LiveScanError",
    "LiveSinograms",
    "LiveStatus",
    "SectorPreview",
    "SourceInfo",
    "SwmrFileSource",
    "ZmqFrameSource",
    "open_swmr",
    "stream_frames",
]
