"""Frame -> 2D -> 3D -> filtered pose: the loop core that the live, offline and image runs share.

    pipeline = PosePipeline(Lifter.from_pretrained(), PoseDetector(), filter=OneEuroFilter())
    result = pipeline.process(frame_bgr, t)          # FrameResult: joints2d, visibility, joints3d, person

The runs built on it: live.py (run_live, the webcam loop), offline.py (run_video:
overlay.mp4 and poses.*), collection.py (many videos over worker processes and
shards), images.py (photos). Nothing here opens a window: callers pass
on_result(frame, result) -> bool (False stops).
"""
from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field

import cv2
import numpy as np
import torch

from .camera import DEFAULT_HFOV_DEG, check_focal, default_focal
from .filters import OneEuroFilter
from .skeleton import H36M17
from .viz.overlay import draw_skeleton_2d, draw_status
from .viz.render3d import SkeletonRenderer, side_by_side

J = H36M17.num_joints


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
    if focal is not None and not (np.isfinite(focal) and focal > 0):
        raise ValueError(f"--focal must be a positive number of pixels, got {focal}")
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
        """The focal length (px) for frames of image_size: --focal (checked against it) or from --hfov."""
        return check_focal(self.focal, image_size) if self.focal is not None else default_focal(image_size, self.hfov)

    def restart_tracking(self) -> None:
        """Forget the tracked person and the filter state (the next frame is detected afresh)."""
        self.detector.reset()
        if self.filter is not None:
            self.filter.reset()

    def detect(self, frame_bgr: np.ndarray, frame_rgb: np.ndarray | None = None):
        """-> (joints2d [17, 2] px, visibility [17]) of the frame, or None without a person.

        frame_rgb: the same frame in RGB order, when the caller has it (the offline decode
        thread converts each frame, so the detecting thread does not)."""
        height, width = frame_bgr.shape[:2]
        image = frame_bgr if frame_rgb is None else frame_rgb
        if self.detect_width is not None and width > self.detect_width:
            scale = width / self.detect_width
            image = cv2.resize(image, (self.detect_width, round(height / scale)), interpolation=cv2.INTER_AREA)
        detection = self.detector.detect(image) if frame_rgb is None else self.detector.detect_rgb(image)
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


def put_unless_stopped(q: queue.Queue, item, stop: threading.Event) -> bool:
    """Put item into a bounded queue, waiting while it is full; False if stop was set first."""
    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            pass
    return False
