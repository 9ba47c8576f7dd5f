"""Frame -> 2D -> 3D -> filtered pose: the loop core, and the live and offline runs built on it.

    pipeline = PosePipeline(Lifter.from_pretrained(), PoseDetector(), filter=OneEuroFilter())
    result = pipeline.process(frame_bgr, t)          # FrameResult: joints2d, visibility, joints3d, person

    run_live(LiveSource(0), pipeline, on_result=show)          # the webcam loop (windows subscribe)
    run_video("clip.mp4", "out/clip", pipeline)                # overlay.mp4 + poses.* (export.py)
    run_videos(output_dirs(paths, "out"), VideoOptions(), workers=2)   # a collection, a process per worker

Nothing here opens a window: callers pass on_result(frame, result) -> bool (False stops).

Offline runs restart MediaPipe's tracking every CHUNK_FRAMES frames and save their
results so far (OUTDIR/.partial.npz, atomically) at each restart; `resume=True` takes
the saved frames and continues at the next chunk, so a resumed run computes exactly
what an uninterrupted one does. overlay.mp4 is always written whole, in one pass over
the video: saved frames are drawn from the saved results.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import threading
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import torch
from tqdm import tqdm

from .camera import DEFAULT_HFOV_DEG, default_focal
from .capture import Frame, LiveSource, VideoSource
from .export import RunResult, write_outputs
from .filters import OneEuroFilter, zero_lag_filter
from .io._atomic import atomic_path, atomic_write_text
from .lifting import DEFAULT_MODEL
from .skeleton import H36M17
from .viz.overlay import draw_skeleton_2d, draw_status
from .viz.render3d import SkeletonRenderer, side_by_side

J = H36M17.num_joints
#: MediaPipe's tracking restarts, and partial results are saved, every this many frames
#: (a restart costs about one extra person detection, ~40 ms: ~1.5% at 100 frames).
CHUNK_FRAMES = 100
#: Offline runs lift this many detected frames in one call (a divisor of CHUNK_FRAMES).
LIFT_BATCH = 10
PARTIAL_NAME = ".partial.npz"
OVERLAY_NAME = "overlay.mp4"
#: overlay.mp4 is at most this high (px): the frame scaled to it, the 3D view beside it.
OVERLAY_HEIGHT = 480
#: The codec of overlay.mp4 (MPEG-4 part 2: in every OpenCV build, read by ffmpeg, VLC, Blender).
OVERLAY_FOURCC = "mp4v"
_QUEUE_FRAMES = 8   # frames buffered between the decode, detect and overlay threads


@dataclass
class FrameResult:
    """One frame through the pipeline."""

    joints2d: np.ndarray     # [17, 2] px of the input frame, NaN without a person
    visibility: np.ndarray   # [17] 0..1, 0 without a person
    joints3d: np.ndarray     # [17, 3] mm camera coordinates (filtered when a filter is set), NaN without a person
    person: bool
    timings: dict[str, float] = field(default_factory=dict)   # ms: detect, lift, filter


def no_person() -> FrameResult:
    return FrameResult(np.full((J, 2), np.nan, np.float32), np.zeros(J, np.float32),
                       np.full((J, 3), np.nan, np.float32), False)


def check_camera_options(focal: float | None, hfov: float, detect_width: int | None) -> None:
    if focal is not None and not focal > 0:
        raise ValueError(f"--focal must be positive (pixels), got {focal}")
    if not 0 < hfov < 180:
        raise ValueError(f"--hfov must be between 0 and 180 degrees, got {hfov}")
    if detect_width is not None and detect_width < 32:
        raise ValueError(f"--detect-width must be at least 32 px, got {detect_width}")


class PosePipeline:
    """A detector, a lifter and an optional temporal filter, run on one frame at a time.

    focal: pixels, or None for the field of view hfov (degrees). detect_width: when the
    frame is wider, MediaPipe sees a copy downscaled to this width and the joints are
    mapped back to the frame's pixels. Joints below lifting.VISIBILITY_THRESHOLD go
    into the lifter as missing. A frame without a person resets the filter.
    """

    def __init__(self, lifter, detector, focal: float | None = None, hfov: float = DEFAULT_HFOV_DEG,
                 filter: OneEuroFilter | None = None, detect_width: int | None = None):
        check_camera_options(focal, hfov, detect_width)
        self.lifter, self.detector, self.filter = lifter, detector, filter
        self.focal, self.hfov, self.detect_width = focal, float(hfov), detect_width
        # one pose per call: a single thread is fastest (no hand-off between threads)
        torch.set_num_threads(1)

    def focal_for(self, image_size: tuple[int, int]) -> float:
        return float(self.focal) if self.focal is not None else default_focal(image_size, self.hfov)

    def restart_tracking(self) -> None:
        """Forget the tracked person and the filter state (the next frame is detected afresh)."""
        self.detector.reset()
        if self.filter is not None:
            self.filter.reset()

    def detect(self, frame_bgr: np.ndarray):
        """-> (joints2d [17, 2] px, visibility [17]) of the frame, or None without a person."""
        height, width = frame_bgr.shape[:2]
        image, scale = frame_bgr, 1.0
        if self.detect_width is not None and width > self.detect_width:
            scale = width / self.detect_width
            image = cv2.resize(frame_bgr, (self.detect_width, round(height / scale)), interpolation=cv2.INTER_AREA)
        detection = self.detector.detect(image)
        if detection is None:
            return None
        joints2d = detection.joints2d_px * np.array([width / image.shape[1], height / image.shape[0]],
                                                    dtype=np.float32)
        return joints2d, detection.visibility

    def lift_batch(self, joints2d: np.ndarray, visibility: np.ndarray,
                   image_size: tuple[int, int]) -> np.ndarray:
        """Poses [N, 17, 2] px with visibility [N, 17] -> [N, 17, 3] mm, unfiltered (NaN rows: no pose)."""
        return self.lifter.lift(joints2d, image_size, self.focal_for(image_size), visibility=visibility)

    def lift(self, joints2d: np.ndarray, visibility: np.ndarray, image_size: tuple[int, int],
             t: float) -> tuple[np.ndarray, dict[str, float]]:
        """One pose: joints2d [17, 2] px, visibility [17] -> (joints3d [17, 3] mm, timings in ms)."""
        start = time.perf_counter()
        joints3d = self.lift_batch(joints2d[None], visibility[None], image_size)[0]    # [17, 3]
        lifted = time.perf_counter()
        if self.filter is not None:
            joints3d = self.filter(joints3d, t).astype(np.float32)
        done = time.perf_counter()
        return joints3d, {"lift": 1e3 * (lifted - start), "filter": 1e3 * (done - lifted)}

    def process(self, frame_bgr: np.ndarray, t: float) -> FrameResult:
        """A BGR frame [H, W, 3] at time t (seconds) -> its FrameResult."""
        frame_bgr = np.asarray(frame_bgr)
        if frame_bgr.ndim != 3 or frame_bgr.shape[2] != 3 or frame_bgr.dtype != np.uint8:
            raise ValueError(f"frame must be BGR uint8 [H, W, 3], got {frame_bgr.dtype} {list(frame_bgr.shape)}")
        start = time.perf_counter()
        found = self.detect(frame_bgr)
        detect_ms = 1e3 * (time.perf_counter() - start)
        return self.complete(found, (frame_bgr.shape[1], frame_bgr.shape[0]), t, detect_ms)

    def complete(self, found, image_size: tuple[int, int], t: float, detect_ms: float = 0.0) -> FrameResult:
        """The second half of process(): a detect() answer -> lifted, filtered FrameResult.

        Split off so that a live loop can detect the next frame while this one is lifted."""
        if found is None:
            if self.filter is not None:
                self.filter.reset()
            result = no_person()
            result.timings = {"detect": detect_ms, "lift": 0.0, "filter": 0.0}
            return result
        joints2d, visibility = found
        joints3d, timings = self.lift(joints2d, visibility, image_size, t)
        person = bool(np.isfinite(joints3d).all())
        return FrameResult(joints2d.astype(np.float32), visibility.astype(np.float32), joints3d, person,
                           {"detect": detect_ms, **timings})


def draw_result(frame_bgr: np.ndarray, result: FrameResult, renderer: SkeletonRenderer | None,
                status: list[str] | None = None) -> np.ndarray:
    """The overlay picture: the 2D skeleton on the frame (in place), then the 3D view beside it."""
    if result.person or np.isfinite(result.joints2d).all():
        draw_skeleton_2d(frame_bgr, result.joints2d, result.visibility)
    if status:
        draw_status(frame_bgr, status)
    if renderer is None:
        return frame_bgr
    return side_by_side(frame_bgr, renderer.render(result.joints3d if result.person else None))


# ----------------------------------------------------------------------------- live


@dataclass
class LiveStats:
    frames: int               # frames processed
    with_person: int
    seconds: float
    fps: float                # frames processed per second
    latency_ms_mean: float    # capture timestamp -> 3D ready
    latency_ms_p95: float
    frames_captured: int      # frames the source delivered (the rest were dropped as stale)
    recording: RunResult | None = None


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
            _put_unless_stopped(detected, (frame, found, 1e3 * (time.perf_counter() - start)), stop)
    except Exception as exc:   # handed to run_live, which raises it
        detected.put(exc)


def run_live(source: LiveSource, pipeline: PosePipeline,
             on_result: Callable[[Frame | None, FrameResult | None], bool] | None = None,
             max_seconds: float | None = None, record: bool = False) -> LiveStats:
    """Process the newest frame of a started source until it ends, on_result returns False,
    max_seconds pass, or Ctrl-C. With record, the results come back as a RunResult (export.py).

    Two stages overlap: a thread runs MediaPipe on the newest frame while this one lifts,
    filters and calls on_result (windows live in this thread) for the frame before.
    on_result(None, None) is called when no frame came for a while (to keep windows alive).
    """
    latencies, rows, with_person = [], [], 0
    detected: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()
    detector = threading.Thread(target=_detect_newest, args=(source, pipeline, detected, stop),
                                name="detect", daemon=True)
    start = time.monotonic()
    size = None
    detector.start()
    try:
        while source.running or not detected.empty():
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
                rows.append((result.joints3d, result.joints2d, result.visibility, frame.t))
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
    if record and rows:
        j3, j2, vis, ts = (np.array(v) for v in zip(*rows))
        recording = RunResult(j3, j2, vis, ts - ts[0], size, pipeline.focal_for(size),
                              fps=len(rows) / max(ts[-1] - ts[0], 1e-3), source=source.name)
    return LiveStats(frames=len(latencies), with_person=with_person, seconds=seconds,
                     fps=len(latencies) / seconds if seconds > 0 else 0.0,
                     latency_ms_mean=float(lat.mean()), latency_ms_p95=float(np.percentile(lat, 95)),
                     frames_captured=source.frames_read, recording=recording)


# ----------------------------------------------------------------------------- offline


@dataclass
class VideoRunSummary:
    source: str
    outdir: str
    frames: int          # frames in the outputs
    with_person: int
    skipped: int         # frames that failed to decode
    resumed_from: int    # frames taken from a saved partial run
    seconds: float
    outputs: dict[str, str]
    already_done: bool = False   # resume found the run finished and did nothing


def _fingerprint(source: VideoSource, pipeline: PosePipeline) -> str:
    """What a partial run must share with the run that resumes it."""
    stat = os.stat(source.path)
    return f"{os.path.abspath(source.path)}|{stat.st_size}|{stat.st_mtime_ns}|{pipeline.lifter.name}|" \
           f"{pipeline.focal_for(source.image_size):.6g}|{pipeline.detect_width}|{CHUNK_FRAMES}|{LIFT_BATCH}"


def _load_partial(path: Path, fingerprint: str) -> dict[str, np.ndarray] | None:
    if not path.is_file():
        return None
    try:
        with np.load(path) as data:
            saved = {k: data[k] for k in data.files}
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: unreadable partial run ({exc}); delete it to start over") from None
    if str(saved.get("fingerprint")) != fingerprint:
        raise ValueError(f"{path}: saved by a run of another video or with other settings; "
                         "run without --resume to start over")
    return saved


def _save_partial(path: Path, fingerprint: str, rows: dict[str, list]) -> None:
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez(tmp, fingerprint=np.str_(fingerprint), **{k: np.array(v) for k, v in rows.items()})


def is_finished(outdir: str | os.PathLike) -> bool:
    """An offline run in outdir finished: its poses.npz is there and its partial results are gone."""
    outdir = Path(outdir)
    return (outdir / "poses.npz").is_file() and not (outdir / PARTIAL_NAME).exists()


def _put_unless_stopped(q: queue.Queue, item, stop: threading.Event) -> bool:
    """Put item into a bounded queue, waiting while it is full; False if stop was set first."""
    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            pass
    return False


def _decode(source: VideoSource, frames: queue.Queue, stop: threading.Event) -> None:
    """Decode thread: frames, then None (end) or the exception that ended decoding."""
    try:
        for frame in source:
            if not _put_unless_stopped(frames, frame, stop):
                return
        frames.put(None)
    except Exception as exc:   # handed to the main thread, which raises it
        frames.put(exc)


class _OverlayWriter:
    """Writer thread: draws each frame's overlay and encodes it into an mp4 file.

    Frames taller than max_height are scaled down to it first (with their 2D joints):
    encoding costs in proportion to the pixels, and it runs beside MediaPipe. Every
    overlay is drawn into one canvas allocated once (the frame, then the 3D panel):
    no per-frame image is allocated, copied side by side and freed."""

    def __init__(self, path: str, fps: float, frame_size: tuple[int, int], max_height: int | None):
        width, height = frame_size
        scale = min(1.0, max_height / height) if max_height else 1.0
        # (width, height), even: MPEG-4 encoders work on 2x2 blocks of chroma
        self.size = (2 * max(1, round(width * scale / 2)), 2 * max(1, round(height * scale / 2)))
        self.scale_xy = np.array([self.size[0] / width, self.size[1] / height], dtype=np.float32)
        w, h = self.size
        self.renderer = SkeletonRenderer(size=(h, h))
        self.canvas = np.empty((h, w + h, 3), np.uint8)             # [H, W + H, 3]
        self.frame_part, self.panel_part = self.canvas[:, :w], self.canvas[:, w:]
        self.resized = np.empty((h, w, 3), np.uint8)                # cv2.resize needs a whole array
        self.writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*OVERLAY_FOURCC), fps, (w + h, h))
        if not self.writer.isOpened():
            raise ValueError(f"{path}: OpenCV cannot write an {OVERLAY_FOURCC} video here")
        self.items: queue.Queue = queue.Queue(maxsize=_QUEUE_FRAMES)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="overlay writer", daemon=True)
        self.thread.start()

    def put(self, image: np.ndarray, result: FrameResult) -> None:
        if self.error is not None:
            raise self.error
        self.items.put((image, result))

    def _draw(self, image: np.ndarray, result: FrameResult) -> np.ndarray:
        """The overlay of draw_result(), drawn into the canvas; returns it."""
        if (image.shape[1], image.shape[0]) != self.size:
            image = cv2.resize(image, self.size, dst=self.resized, interpolation=cv2.INTER_LINEAR)
            result = FrameResult(result.joints2d * self.scale_xy, result.visibility, result.joints3d,
                                 result.person)
        self.frame_part[:] = image
        draw_result(self.frame_part, result, renderer=None)
        self.renderer.render(result.joints3d if result.person else None, out=self.panel_part)
        return self.canvas

    def _run(self) -> None:
        while (item := self.items.get()) is not None:
            if self.error is None:
                try:
                    self.writer.write(self._draw(*item))
                except Exception as exc:   # reported by the next put() or close()
                    self.error = exc

    def close(self) -> None:
        self.items.put(None)
        self.thread.join()
        self.writer.release()
        if self.error is not None:
            raise self.error


def run_video(path: str | os.PathLike, outdir: str | os.PathLike, pipeline: PosePipeline, *,
              cutoff_hz: float | None = None, resume: bool = False, max_frames: int | None = None,
              overlay: bool = True, overlay_height: int | None = OVERLAY_HEIGHT, progress: bool = True,
              on_result: Callable[[Frame, FrameResult], bool] | None = None) -> VideoRunSummary:
    """Every frame of a video through the pipeline; writes overlay.mp4 and poses.* into outdir.

    Three threads overlap: decoding, detection + lifting (this thread; LIFT_BATCH poses
    are lifted at a time), and overlay drawing + encoding. cutoff_hz: zero-lag low-pass
    of the exported 3D (None: raw). overlay_height: overlay.mp4 is at most this many
    pixels high (None: the video's own height).
    max_frames: stop after that many frames and export those. on_result(frame, result)
    returning False stops the run early (the partial results stay for resume).
    """
    started = time.monotonic()
    source = VideoSource(path)
    if cutoff_hz is not None:   # fail now, not after the work: the filter checks its own arguments
        zero_lag_filter(np.zeros((0, J, 3)), source.fps, cutoff_hz)
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"max_frames must be at least 1, got {max_frames}")
    outdir = Path(outdir)
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PermissionError(f"{outdir}: cannot create the output folder ({exc.strerror or exc})") from None
    if not os.access(outdir, os.W_OK):
        raise PermissionError(f"{outdir}: output folder is not writable")
    partial_path = outdir / PARTIAL_NAME
    fingerprint = _fingerprint(source, pipeline)
    saved = _load_partial(partial_path, fingerprint) if resume else None
    keys = ("joints2d", "visibility", "joints3d", "t")
    rows: dict[str, list] = {k: list(saved[k]) if saved is not None else [] for k in keys}
    resumed_from = len(rows["t"])
    total = min(filter(None, (len(source), max_frames)), default=None)

    frames: queue.Queue = queue.Queue(maxsize=_QUEUE_FRAMES)
    stop = threading.Event()
    decoder = threading.Thread(target=_decode, args=(source, frames, stop), name="decode", daemon=True)
    bar = tqdm(total=total, unit="frame", desc=Path(source.path).name, disable=not progress,
               dynamic_ncols=True, leave=False)
    writer = None
    pending: list[tuple[Frame, np.ndarray, np.ndarray]] = []    # detected, not lifted yet

    def emit(frame: Frame, result: FrameResult) -> None:
        nonlocal writer
        if overlay:
            if writer is None:
                writer = _OverlayWriter(overlay_tmp, source.fps, source.image_size, overlay_height)
            writer.put(frame.image, result)
        bar.update()
        if on_result is not None and not on_result(frame, result):
            raise KeyboardInterrupt

    def lift_pending() -> None:
        """Lift the detected frames in one batch (a batch costs about what one pose does)."""
        if not pending:
            return
        joints3d = pipeline.lift_batch(np.stack([p[1] for p in pending]), np.stack([p[2] for p in pending]),
                                       source.image_size)                                # [B, 17, 3]
        for (frame, joints2d, visibility), pose in zip(pending, joints3d):
            for key, value in zip(keys, (joints2d, visibility, pose, frame.t)):
                rows[key].append(value)
            emit(frame, FrameResult(joints2d, visibility, pose, bool(np.isfinite(pose).all())))
        pending.clear()
        if len(rows["t"]) % CHUNK_FRAMES == 0:
            _save_partial(partial_path, fingerprint, rows)

    with atomic_path(outdir / OVERLAY_NAME) if overlay else contextlib.nullcontext() as overlay_tmp:
        decoder.start()
        k = 0                                               # position among the decoded frames
        try:
            while max_frames is None or k < max_frames:
                frame = frames.get()
                if isinstance(frame, Exception):
                    raise frame
                if frame is None:
                    break
                if k < resumed_from:
                    pose = rows["joints3d"][k]
                    emit(frame, FrameResult(rows["joints2d"][k], rows["visibility"][k], pose,
                                            bool(np.isfinite(pose).all())))
                else:
                    if k % CHUNK_FRAMES == 0:
                        pipeline.restart_tracking()
                    found = pipeline.detect(frame.image)
                    empty = no_person()
                    pending.append((frame, *(found if found is not None else (empty.joints2d, empty.visibility))))
                    if len(pending) == LIFT_BATCH or (k + 1) % CHUNK_FRAMES == 0:
                        lift_pending()
                k += 1
            lift_pending()
        finally:
            stop.set()
            bar.close()
            if writer is not None:
                writer.close()
        if k == 0:
            raise ValueError(f"{source.path}: no frames decoded")
        joints3d = np.array(rows["joints3d"][:k])                                 # [N, 17, 3]
        if cutoff_hz is not None:
            joints3d = zero_lag_filter(joints3d, source.fps, cutoff_hz)
        result = RunResult(joints3d=joints3d, joints2d=np.array(rows["joints2d"][:k]),
                           visibility=np.array(rows["visibility"][:k]), timestamps=np.array(rows["t"][:k]),
                           image_size=source.image_size, focal=pipeline.focal_for(source.image_size),
                           fps=source.fps, source=str(source.path))
        # poses.* first; overlay.mp4 is renamed into place on leaving this block
        outputs = write_outputs(outdir, result)
    partial_path.unlink(missing_ok=True)
    if overlay:
        outputs = {OVERLAY_NAME: outdir / OVERLAY_NAME, **outputs}
    return VideoRunSummary(source=str(source.path), outdir=str(outdir), frames=len(result.timestamps),
                           with_person=int(result.valid.sum()), skipped=source.skipped,
                           resumed_from=resumed_from, seconds=time.monotonic() - started,
                           outputs={k: str(v) for k, v in outputs.items()})


# ----------------------------------------------------------------------------- collections


def parse_shard(text: str) -> tuple[int, int]:
    """'i/n' -> (i, n) with 0 <= i < n."""
    try:
        i, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard must be i/n (for example 0/4), got {text!r}") from None
    if not 0 <= i < n:
        raise ValueError(f"--shard i/n needs 0 <= i < n, got {text!r}")
    return i, n


def select_shard(paths: list[str], shard: tuple[int, int] | None) -> list[str]:
    """Every n-th video of the sorted collection, starting at the i-th (all of them without a shard).

    A file given twice is taken once."""
    ordered = sorted({os.path.abspath(p): p for p in paths}.values(), key=os.path.abspath)
    return ordered if shard is None else ordered[shard[0]::shard[1]]


def output_dirs(paths: list[str], outdir: str | os.PathLike) -> dict[str, Path]:
    """OUTDIR/<stem> for each video; videos whose stems collide get <stem>-<8 hex of the absolute path>.

    Depends only on the whole collection, never on the shard, so shards never collide.
    """
    stems: dict[str, list[str]] = {}
    for p in paths:
        stems.setdefault(Path(p).stem, []).append(os.path.abspath(p))
    dirs = {}
    for p in paths:
        stem, absolute = Path(p).stem, os.path.abspath(p)
        clash = len(set(stems[stem])) > 1
        tag = "-" + hashlib.sha1(absolute.encode()).hexdigest()[:8] if clash else ""
        dirs[p] = Path(outdir) / f"{stem}{tag}"
    return dirs


@dataclass(frozen=True)
class VideoOptions:
    """Everything a worker process needs to build its own pipeline and run one video."""

    model: str = DEFAULT_MODEL
    focal: float | None = None
    hfov: float = DEFAULT_HFOV_DEG
    cutoff_hz: float | None = None
    resume: bool = False
    max_frames: int | None = None
    detect_width: int | None = None
    overlay: bool = True
    overlay_height: int | None = OVERLAY_HEIGHT

    def __post_init__(self) -> None:   # bad values fail in the command, before any worker starts
        check_camera_options(self.focal, self.hfov, self.detect_width)


def build_pipeline(options: VideoOptions, live_filter: OneEuroFilter | None = None, static_images: bool = False):
    from .detect.mediapipe import PoseDetector
    from .lifting import Lifter
    return PosePipeline(Lifter.from_pretrained(options.model), PoseDetector(static_image_mode=static_images),
                        focal=options.focal, hfov=options.hfov, filter=live_filter,
                        detect_width=options.detect_width)


def run_one(path: str, outdir: str, options: VideoOptions, progress: bool = True,
            on_result: Callable[[Frame, FrameResult], bool] | None = None) -> VideoRunSummary:
    """One video with its own pipeline (the unit of work of a worker process)."""
    if options.resume and is_finished(outdir):
        with np.load(Path(outdir) / "poses.npz") as data:
            frames, with_person = len(data["joints3d"]), int(np.isfinite(data["joints3d"]).all(axis=(1, 2)).sum())
        return VideoRunSummary(source=path, outdir=outdir, frames=frames, with_person=with_person, skipped=0,
                               resumed_from=frames, seconds=0.0, outputs={}, already_done=True)
    pipeline = build_pipeline(options)
    try:
        return run_video(path, outdir, pipeline, cutoff_hz=options.cutoff_hz, resume=options.resume,
                         max_frames=options.max_frames, overlay=options.overlay,
                         overlay_height=options.overlay_height, progress=progress,
                         on_result=on_result)
    finally:
        pipeline.detector.close()


def run_videos(jobs: dict[str, Path], options: VideoOptions, workers: int = 1, progress: bool = True,
               on_result: Callable[[Frame, FrameResult], bool] | None = None
               ) -> dict[str, VideoRunSummary | Exception]:
    """Run each video into its folder ({path: outdir}), `workers` processes at a time.

    Each worker process builds its own MediaPipe and lifter. Returns {path: summary, or
    the error that stopped that video}; one failing video does not stop the others.
    on_result (windows) needs workers=1.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if on_result is not None and workers > 1:
        raise ValueError("showing results needs a single worker")
    results: dict[str, VideoRunSummary | Exception] = {}
    if workers == 1 or len(jobs) == 1:
        for path, outdir in jobs.items():
            try:
                results[path] = run_one(path, str(outdir), options, progress, on_result)
            except (ValueError, OSError) as exc:
                results[path] = exc
        return results
    # spawn: forking a process that holds MediaPipe and torch threads can deadlock the child
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=get_context("spawn"),
                             initializer=_quiet_worker) as pool:
        futures = {pool.submit(run_one, path, str(outdir), options, False): path for path, outdir in jobs.items()}
        for future in tqdm(as_completed(futures), total=len(futures), unit="video", disable=not progress):
            try:
                results[futures[future]] = future.result()
            except (ValueError, OSError) as exc:
                results[futures[future]] = exc
    return results


def _quiet_worker() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    torch.set_num_threads(1)


# ----------------------------------------------------------------------------- images


def read_image(path: str | os.PathLike) -> np.ndarray:
    """A photo as BGR uint8 [H, W, 3]; a clear error for a missing file or one OpenCV cannot read."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such file: {path}")
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise ValueError(f"{path}: not an image OpenCV can read")
    return image


def process_image(pipeline: PosePipeline, image_bgr: np.ndarray) -> FrameResult:
    """One photo: a fresh detection (no tracking from the previous photo), no temporal filter."""
    pipeline.restart_tracking()
    return pipeline.process(image_bgr, 0.0)


def _rows_or_null(points: np.ndarray) -> list:
    """[J, D] -> nested lists rounded to 0.01, None for NaN (JSON null)."""
    return [[round(float(v), 2) if np.isfinite(v) else None for v in row] for row in points]


def write_image_outputs(base: str | os.PathLike, image_bgr: np.ndarray, result: FrameResult, focal: float,
                        source: str) -> list[Path]:
    """<base>.json (joint names, 2D px, visibility, 3D mm; null where missing) and
    <base>.overlay.png (the 2D overlay beside the 3D view), each written atomically."""
    base = Path(base)
    height, width = image_bgr.shape[:2]
    record = {"source": source, "image_size": [width, height], "focal_px": round(focal, 3),
              "person": result.person, "joints": list(H36M17.joint_names),
              "joints2d_px": _rows_or_null(result.joints2d),
              "visibility": [round(float(v), 4) for v in result.visibility],
              "joints3d_mm": _rows_or_null(result.joints3d)}
    json_path, png_path = base.with_name(base.name + ".json"), base.with_name(base.name + ".overlay.png")
    atomic_write_text(json_path, json.dumps(record, indent=1) + "\n")
    picture = draw_result(image_bgr.copy(), result, SkeletonRenderer(size=(height, height)))
    with atomic_path(png_path, suffix=".png") as tmp:
        if not cv2.imwrite(tmp, picture):
            raise ValueError(f"{png_path}: OpenCV could not write the image")
    return [json_path, png_path]
