"""The live loop: the newest frame of a camera through the pipeline, detection overlapped with lifting.

    stats = run_live(LiveSource(0), pipeline, on_result=show)     # windows subscribe with on_result
"""
from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .capture import Frame, LiveSource, put_unless_stopped
from .export import PoseRun
from .pipeline import FrameResult, PosePipeline
from .person import Person


@dataclass
class LiveStats:
    frames: int               # frames processed
    with_person: int
    seconds: float
    fps: float                # frames processed per second
    latency_ms_mean: float    # capture timestamp -> 3D ready
    latency_ms_p95: float
    frames_captured: int      # frames the source delivered (the rest were dropped as stale)
    recording: PoseRun | None = None   # with record: the kept people's tracks


def _detect_newest(source: LiveSource, pipeline: PosePipeline, detected: queue.Queue,
                   stop: threading.Event) -> None:
    """Detection thread of run_live: the newest frame -> (frame, detect() answer, ms) or an exception."""
    try:
        while not stop.is_set() and source.running:
            frame = source.read(timeout=0.25)
            if frame is None:
                continue
            start = time.perf_counter()
            found = pipeline.detect(frame.image)
            put_unless_stopped(detected, (frame, found, 1e3 * (time.perf_counter() - start)), stop)
    except Exception as exc:   # handed to run_live, which raises it
        detected.put(exc)


def run_live(source: LiveSource, pipeline: PosePipeline,
             on_result: Callable[[Frame | None, FrameResult | None], bool] | None = None,
             max_seconds: float | None = None, record: bool = False) -> LiveStats:
    """Process the newest frame of a started source until it ends, on_result returns False,
    max_seconds pass, or Ctrl-C. With record, the kept people come back as a PoseRun
    (export.py), its times from the first frame's.

    Two stages overlap: a thread runs the detector on the newest frame while this one tracks,
    lifts, filters and calls on_result (windows live in this thread) for the frame before.
    on_result(None, None) is called when no frame came for a while (to keep windows alive).
    """
    latencies, times, with_person = [], [], 0
    recorded: list[list[Person]] = []     # each frame's kept people (FrameResult.light_people)
    detected: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()
    detector = threading.Thread(target=_detect_newest, args=(source, pipeline, detected, stop),
                                name="detect", daemon=True)
    start = time.monotonic()
    size = None
    detector.start()
    try:
        while detector.is_alive() or not detected.empty():     # it ends after the source, its last frame put
            if max_seconds is not None and time.monotonic() - start >= max_seconds:
                break
            try:
                item = detected.get(timeout=0.25)
            except queue.Empty:
                if on_result is not None and not on_result(None, None):
                    break
                continue
            if isinstance(item, Exception):
                raise item
            frame, found, detect_ms = item
            size = (frame.image.shape[1], frame.image.shape[0])
            result = pipeline.complete(found, size, frame.t, detect_ms)
            latencies.append(time.monotonic() - frame.t)
            with_person += result.person
            if record:
                recorded.append(result.light_people())
                times.append(frame.t)
            if on_result is not None and not on_result(frame, result):
                break
    except KeyboardInterrupt:   # Ctrl-C ends a live session like q does: the stats and recording stay
        pass
    finally:
        stop.set()
        detector.join(timeout=5.0)
    seconds = time.monotonic() - start
    lat = 1e3 * np.array(latencies) if latencies else np.full(1, np.nan)
    recording = None
    if record and times:
        ts = np.array(times)
        recording = PoseRun.from_frames(recorded, ts - ts[0], size, pipeline.focal_for(size),
                                        len(ts) / max(ts[-1] - ts[0], 1e-3), source.name)
    return LiveStats(frames=len(latencies), with_person=with_person, seconds=seconds,
                     fps=len(latencies) / seconds if seconds > 0 else 0.0,
                     latency_ms_mean=float(lat.mean()), latency_ms_p95=float(np.percentile(lat, 95)),
                     frames_captured=source.frames_read, recording=recording)
