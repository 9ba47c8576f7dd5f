"""The offline run of one video: every frame, in order, to overlay.mp4 and poses.* (export.py).

    summary = run_video("clip.mp4", "out/clip", pipeline)

Offline runs restart the detector's own tracking every CHUNK_FRAMES frames and save every
detection so far (OUTDIR/.partial.npz, atomically) at each restart; `resume=True` replays
the person tracker and the lifter over the saved detections and continues at the next
chunk, so a resumed run computes exactly what an uninterrupted one does, ids included.
overlay.mp4 is always written whole, in one pass over the video: saved frames are drawn
from the replayed results.

Whichever people --person keeps (all, the main one, or one id), poses.* have a person axis
and there is one poses_<id>.bvh per person (export.write_run).

A run in which no frame holds a kept person writes nothing and raises NothingToExport
(export.py); it leaves nothing of its own behind: the partial results it saved and the
output folders it created go (a folder that holds anything else stays, and so do the
partial results of an earlier run).
"""
from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
from tqdm import tqdm

from .capture import Frame, VideoSource, put_unless_stopped
from .defaults import OVERLAY_HEIGHT
from .detect.detection import Detection
from .errors import UserError
from .export import NothingToExport, PoseRun, make_folder, nothing_to_export, remove_empty_folders, write_run
from .filters import zero_lag_filter
from .io._atomic import atomic_path, remove_stale_temps
from .io.mp4 import Mp4Writer
from .pipeline import FrameResult, PosePipeline
from .pipeline.frame import light_detection
from .person import Person
from .skeleton import H36M17
from .viz.frame import draw_result
from .viz.render3d import PoseRenderer

J = H36M17.num_joints

#: MediaPipe's tracking restarts, and partial results are saved, every this many frames
#: (a restart costs about one extra person detection, benchmarks/bench_tracking_reset.py).
CHUNK_FRAMES = 100
#: Offline runs track and lift this many detected frames in one call (a divisor of CHUNK_FRAMES).
LIFT_BATCH = 10
PARTIAL_NAME = ".partial.npz"
OVERLAY_NAME = "overlay.mp4"
_QUEUE_FRAMES = 8   # frames buffered between the decode, detect and overlay threads


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
    people: int = 0              # person ids in the outputs
    warnings: tuple[str, ...] = ()   # things the user should know (overlay.mp4 without the sound, ...)


def _fingerprint(source: VideoSource, pipeline: PosePipeline) -> str:
    """What a partial run must share with the run that resumes it."""
    stat = os.stat(source.path)
    detector = pipeline.detector.fingerprint
    return f"{os.path.abspath(source.path)}|{stat.st_size}|{stat.st_mtime_ns}|{pipeline.lifter.name}|" \
           f"{pipeline.focal_for(source.image_size):.6g}|{pipeline.detect_width}|{CHUNK_FRAMES}|{LIFT_BATCH}|" \
           f"{pipeline.person}" + (f"|{detector}" if detector else "") + \
           (f"|turned {source.rotation}" if source.rotation else "")     # never resume a run made on its side


def _detection_arrays(found: list[list[Detection]]) -> dict[str, np.ndarray]:
    """Every detection of the frames so far as flat arrays (frame [M], joints2d [M, 17, 2] px,
    visibility [M, 17], box [M, 4] px, score [M], confidence [M], world3d [M, 17, 3] mm; NaN:
    none): what a partial run
    saves, so that a resumed run replays the tracker over them and continues with the same ids."""
    flat = [(k, d) for k, frame in enumerate(found) for d in frame]

    def optional(values) -> np.ndarray:
        return np.array([np.nan if v is None else v for v in values], np.float64)
    return {"frame": np.array([k for k, _ in flat], np.int64),
            "joints2d": np.array([d.joints2d_px for _, d in flat], np.float32).reshape(-1, J, 2),
            "visibility": np.array([d.visibility for _, d in flat], np.float32).reshape(-1, J),
            "box": np.array([np.full(4, np.nan) if d.box is None else d.box for _, d in flat],
                            np.float64).reshape(-1, 4),
            "score": optional(d.score for _, d in flat), "confidence": optional(d.confidence for _, d in flat),
            "world3d": np.array([np.full((J, 3), np.nan) if d.world3d is None else d.world3d for _, d in flat],
                                np.float32).reshape(-1, J, 3)}


def _saved_detections(saved: dict[str, np.ndarray], frames: int) -> list[list[Detection]]:
    """_detection_arrays read back: each of the first `frames` frames' detections, in frame order
    (a partial file written before world3d was saved reads back without it)."""
    def optional(v):
        return None if not np.isfinite(v).all() else v
    found: list[list[Detection]] = [[] for _ in range(frames)]
    world = saved.get("world3d")
    for i, k in enumerate(saved["frame"].tolist()):
        box, score, confidence = saved["box"][i], saved["score"][i], saved["confidence"][i]
        found[k].append(Detection(saved["joints2d"][i], saved["visibility"][i],
                                  box=None if optional(box) is None else tuple(float(v) for v in box),
                                  score=None if optional(score) is None else float(score),
                                  confidence=None if optional(confidence) is None else float(confidence),
                                  world3d=None if world is None else optional(world[i])))
    return found


def _zero_lag_each(joints3d: np.ndarray, fps: float, cutoff_hz: float) -> np.ndarray:
    """zero_lag_filter of each person's track of [N, P, 17, 3] mm."""
    return np.stack([zero_lag_filter(joints3d[:, k], fps, cutoff_hz) for k in range(joints3d.shape[1])], axis=1)


def _relift_tracks(result: PoseRun, pipeline: PosePipeline, kept: list[list[Person]]) -> None:
    """A temporal lifter's answer (lifting.Lifter.lift_sequence) over each person's whole track, in
    place of the frame-by-frame one that the overlay showed: result.joints3d, where the person has a
    pose. kept: each frame's people, whose detections hold MediaPipe's world landmarks for a model
    that reads them."""
    column = {int(pid): k for k, pid in enumerate(result.ids)}
    world = np.full(result.joints3d.shape, np.nan, dtype=np.float32)                    # [N, P, 17, 3] mm
    if pipeline.lifter.reads_world3d:
        for i, people in enumerate(kept):
            for person in people:
                if person.id in column and person.detection.world3d is not None:
                    world[i, column[person.id]] = person.detection.world3d
    for k in range(len(result.ids)):
        extra = {"world3d": world[:, k]} if pipeline.lifter.reads_world3d else {}
        lifted = pipeline.lifter.lift_sequence(result.joints2d[:, k], result.image_size, result.focal,
                                               visibility=result.visibility[:, k],
                                               threshold=pipeline.visibility_threshold, **extra)  # [N, 17, 3] mm
        had = result.valid[:, k]
        result.joints3d[had, k] = lifted[had]


def _load_partial(path: Path, fingerprint: str) -> dict[str, np.ndarray] | None:
    if not path.is_file():
        return None
    try:
        with np.load(path) as data:
            saved = {k: data[k] for k in data.files}
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: unreadable partial run ({exc}); delete it to start over") from None
    if str(saved.get("fingerprint")) != fingerprint:
        raise UserError(f"{path}: saved by a run of another video or with other settings; "
                         "run without --resume to start over")
    return saved


def _save_partial(path: Path, fingerprint: str, times: list[float], found: list[list[Detection]]) -> None:
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez(tmp, fingerprint=np.str_(fingerprint), t=np.array(times), **_detection_arrays(found))


def is_finished(outdir: str | os.PathLike) -> bool:
    """An offline run in outdir finished: its poses.npz is there and its partial results are gone."""
    outdir = Path(outdir)
    return (outdir / "poses.npz").is_file() and not (outdir / PARTIAL_NAME).exists()


#: How long the end of a run waits for the decode thread to leave the frame it is decoding (s).
DECODER_JOIN_S = 10.0


def _decode(source: VideoSource, frames: queue.Queue, stop: threading.Event) -> None:
    """Decode thread: frames, then None (end) or the exception that ended decoding.

    Each frame also carries its RGB copy, MediaPipe's input: converted here, beside
    detection rather than on its path. Every put gives up once stop is set: a consumer
    that has stopped never leaves it blocked."""
    try:
        for frame in source:
            frame.rgb = cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB)
            if not put_unless_stopped(frames, frame, stop):
                return
        put_unless_stopped(frames, None, stop)
    except Exception as exc:   # handed to the main thread, which raises it
        put_unless_stopped(frames, exc, stop)


def _lowest_priority() -> None:
    """Run the calling thread (the overlay writer) at idle priority: it takes the cores only when
    detection leaves them idle, so overlay.mp4 slows the run as little as can be (Linux schedules
    threads one by one)."""
    try:
        os.sched_setscheduler(threading.get_native_id(), os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):   # not Linux, or not allowed: run at normal priority
        pass


class _OverlayWriter:
    """Writer thread: draws each frame's overlay and encodes it into an H.264 mp4 file with
    the source's sound (io/mp4.py).

    Frames taller than max_height are scaled down to it first (with their 2D joints):
    encoding costs in proportion to the pixels, and it runs beside MediaPipe. Every
    overlay is drawn into one canvas allocated once (the frame, then the 3D panel):
    no per-frame image is allocated, copied side by side and freed."""

    def __init__(self, path: str, fps: float, frame_size: tuple[int, int], max_height: int | None,
                 audio_from: str | None = None, panel: bool = False):
        self.panel = panel                    # the skeleton net's panel on every frame
        width, height = frame_size
        scale = min(1.0, max_height / height) if max_height else 1.0
        # (width, height), even: yuv420p has one chroma sample per 2x2 pixels
        self.size = (2 * max(1, round(width * scale / 2)), 2 * max(1, round(height * scale / 2)))
        self.scale_xy = np.array([self.size[0] / width, self.size[1] / height], dtype=np.float32)
        w, h = self.size
        self.renderer = PoseRenderer(size=(h, h))
        self.canvas = np.empty((h, w + h, 3), np.uint8)             # [H, W + H, 3]
        self.frame_part, self.panel_part = self.canvas[:, :w], self.canvas[:, w:]
        self.resized = np.empty((h, w, 3), np.uint8)                # cv2.resize needs a whole array
        self.writer = Mp4Writer(path, fps, (w + h, h), audio_from=audio_from)
        self.items: queue.Queue = queue.Queue(maxsize=_QUEUE_FRAMES)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="overlay writer", daemon=True)
        self.thread.start()

    def put(self, image: np.ndarray, result: FrameResult, index: int) -> None:
        """Queue the frame at position index of the video, with its result."""
        if self.error is not None:
            raise self.error
        self.items.put((image, result, index))

    def _draw(self, image: np.ndarray, result: FrameResult) -> np.ndarray:
        """The overlay of draw_result(), drawn into the canvas; returns it."""
        if (image.shape[1], image.shape[0]) != self.size:
            image = cv2.resize(image, self.size, dst=self.resized, interpolation=cv2.INTER_LINEAR)
            result = result.scaled(self.scale_xy)
        self.frame_part[:] = image
        draw_result(self.frame_part, result, renderer=None, panel=self.panel)
        self.renderer.render_people(result.lifted, out=self.panel_part)
        return self.canvas

    def _run(self) -> None:
        _lowest_priority()
        while (item := self.items.get()) is not None:
            if self.error is None:
                image, result, index = item
                try:
                    self.writer.write(self._draw(image, result), index)
                except Exception as exc:   # reported by the next put() or close()
                    self.error = exc

    def close(self) -> None:
        self.items.put(None)
        self.thread.join()
        self.writer.close()
        if self.error is not None:
            raise self.error


def _nobody(source: str, frames: int, pipeline: PosePipeline) -> NothingToExport:
    """The NothingToExport of a run of `frames` frames without a kept person, saying what was looked for."""
    if isinstance(pipeline.person, int):
        return nothing_to_export(source, frames, f"person {pipeline.person} not found")
    net = _skeleton_net(pipeline)
    threshold = 0.0 if net is None else net.person_confidence
    note = f"the skeleton net's confidence stayed below {threshold:g}" if threshold > 0 else ""
    return nothing_to_export(source, frames, note=note)


def _skeleton_net(pipeline: PosePipeline):
    """The pipeline's detector when it is the skeleton net (its panel drawn, its threshold named), else None."""
    from .detect.skeleton_net import SkeletonNetDetector
    return pipeline.detector if isinstance(pipeline.detector, SkeletonNetDetector) else None


def run_video(path: str | os.PathLike, outdir: str | os.PathLike, pipeline: PosePipeline, *,
              cutoff_hz: float | None = None, resume: bool = False, max_frames: int | None = None,
              overlay: bool = True, overlay_height: int | None = OVERLAY_HEIGHT, progress: bool = True,
              on_result: Callable[[Frame, FrameResult], bool] | None = None) -> VideoRunSummary:
    """Every frame of a video through the pipeline; writes overlay.mp4 and poses.* into outdir.

    Three threads overlap: decoding, detection + tracking + lifting (this thread; the people of
    LIFT_BATCH frames go through PosePipeline.complete_batch at a time, each frame at its own
    time), and overlay drawing + encoding.

    Args:
        path: the video.
        outdir: its output folder (created).
        pipeline: the PosePipeline; its tracker and filters restart for this video (ids from 1).
        cutoff_hz: the zero-lag low-pass of the exported 3D, in Hz (None: raw).
        resume: continue from outdir's saved partial results (a UserError when they are another
            run's).
        max_frames: stop after that many frames (>= 1: VideoOptions checks the flag) and export those.
        overlay: write overlay.mp4.
        overlay_height: overlay.mp4 is at most this many pixels high (None: the video's own height).
        progress: show a progress bar.
        on_result: on_result(frame, result) after each frame; False stops the run (the partial
            results stay for resume).
    Returns:
        The run's VideoRunSummary.
    Raises:
        NothingToExport: no frame holds a kept person (nothing of the run stays).
        UserError: a video that cannot be read, an output folder that cannot be written, ...
    """
    started = time.monotonic()
    source = VideoSource(path)
    if cutoff_hz is not None:   # fail now, not after the work: the filter checks its own arguments
        try:
            zero_lag_filter(np.zeros((0, J, 3)), source.fps, cutoff_hz)
        except ValueError as exc:
            raise UserError(f"--cutoff-hz {cutoff_hz:g}: {exc}") from None
    outdir = Path(outdir)
    created = make_folder(outdir)                           # what a run with nobody to export removes
    remove_stale_temps(outdir)          # what a killed run left (the folder is this video's own)
    partial_path = outdir / PARTIAL_NAME
    partial_before = partial_path.exists()                  # an earlier run's: never removed here
    fingerprint = _fingerprint(source, pipeline)
    saved = _load_partial(partial_path, fingerprint) if resume else None
    pipeline.restart_tracking(new_ids=True)                 # a video of its own: its ids start at 1
    times: list[float] = list(saved["t"]) if saved is not None else []
    resumed_from = len(times)
    found: list[list[Detection]] = _saved_detections(saved, resumed_from) if saved is not None else []
    kept: list[list[Person]] = []                           # each frame's kept (--person) people, lifted
    panel = _skeleton_net(pipeline) is not None             # the skeleton net's panel on every frame
    total = min(filter(None, (len(source), max_frames)), default=None)

    frames: queue.Queue = queue.Queue(maxsize=_QUEUE_FRAMES)
    stop = threading.Event()
    decoder = threading.Thread(target=_decode, args=(source, frames, stop), name="decode", daemon=True)
    bar = tqdm(total=total, unit="frame", desc=Path(source.path).name, disable=not progress,
               dynamic_ncols=True, leave=False)
    writer = None
    warnings: list[str] = []
    pending: list[tuple[Frame, list[Detection]]] = []       # decoded and detected, not lifted yet

    def emit(frame: Frame, result: FrameResult) -> None:
        nonlocal writer
        if overlay:
            if writer is None:
                writer = _OverlayWriter(overlay_tmp, source.fps, source.image_size, overlay_height,
                                        audio_from=source.path, panel=panel)
            writer.put(frame.image, result, frame.index)
        bar.update()
        if on_result is not None and not on_result(frame, result):
            raise KeyboardInterrupt

    def lift_pending() -> None:
        """Track, lift and filter the pending frames in one batch, each at its own time."""
        if not pending:
            return
        results = pipeline.complete_batch([(detections, frame.t) for frame, detections in pending],
                                          source.image_size)
        for (frame, _), result in zip(pending, results):
            kept.append(result.light_people())
            emit(frame, result)
        pending.clear()
        if len(times) % CHUNK_FRAMES == 0 and len(times) > resumed_from:
            _save_partial(partial_path, fingerprint, times, found)

    try:
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
                    if k < resumed_from:                        # a saved frame: its detections replayed
                        detections = found[k]
                    else:
                        if k % CHUNK_FRAMES == 0:                # the same state as a resumed run's
                            pipeline.restart_detector(search=k == 0)
                        detections = pipeline.detect(frame.image, frame.rgb)
                        found.append([light_detection(d) for d in detections])
                        times.append(frame.t)
                    pending.append((frame, detections))
                    if len(pending) == LIFT_BATCH or (k + 1) % CHUNK_FRAMES == 0:
                        lift_pending()
                    k += 1
                lift_pending()
            finally:
                stop.set()
                # the decoder leaves its current frame and returns: a thread still inside FFmpeg when
                # the interpreter exits (after --max-frames, or an error) can abort the process
                decoder.join(timeout=DECODER_JOIN_S)
                bar.close()
                if writer is not None:
                    writer.close()
                    if writer.writer.audio_error:
                        warnings.append(writer.writer.audio_error)
            if k == 0:
                raise UserError(f"{source.path}: no frames decoded")
            result = PoseRun.from_frames(kept, np.array(times[:k]), source.image_size,
                                         pipeline.focal_for(source.image_size), source.fps, str(source.path))
            if not result.valid.any():
                raise _nobody(str(source.path), k, pipeline)
            if getattr(pipeline.lifter, "temporal", False):
                _relift_tracks(result, pipeline, kept)
            if cutoff_hz is not None:
                result.joints3d = _zero_lag_each(result.joints3d, source.fps, cutoff_hz)
            # poses.* first; overlay.mp4 is renamed into place on leaving this block
            outputs = write_run(outdir, result)
    except NothingToExport:             # nothing of this run stays: its partial results, its empty folders
        if not partial_before:
            partial_path.unlink(missing_ok=True)
        remove_empty_folders(created)
        raise
    partial_path.unlink(missing_ok=True)
    if overlay:
        outputs = {OVERLAY_NAME: outdir / OVERLAY_NAME, **outputs}
    return VideoRunSummary(source=str(source.path), outdir=str(outdir), frames=len(result.timestamps),
                           with_person=int(result.valid.any(axis=1).sum()), skipped=source.skipped,
                           resumed_from=resumed_from, seconds=time.monotonic() - started,
                           outputs={k: str(v) for k, v in outputs.items()}, warnings=tuple(warnings),
                           people=len(result.ids))
