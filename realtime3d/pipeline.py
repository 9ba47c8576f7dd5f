"""Frame -> 2D -> 3D -> filtered pose: the loop core that the live, offline and image runs share.

    pipeline = PosePipeline(Lifter.from_pretrained(), PoseDetector(), filter=OneEuroFilter())
    result = pipeline.process(frame_bgr, t)          # FrameResult: joints2d, visibility, joints3d, person

The detector is either detect.PoseDetector (MediaPipe) or detect.SkeletonNetDetector (Phi ->
Omega); a FrameResult keeps its Detection, whose skeleton images and confidence the overlay
draws (viz/overlay.py, draw_skeleton_panel).

The runs built on it: live.py (run_live, the webcam loop), offline.py (run_video:
overlay.mp4 and poses.*), collection.py (many videos over worker processes and
shards), images.py (photos). Nothing here opens a window: callers pass
on_result(frame, result) -> bool (False stops).
"""
from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field, replace

import cv2
import numpy as np
import torch

from .camera import DEFAULT_HFOV_DEG, check_focal, default_focal
from .detect.detection import Detection
from .filters import OneEuroFilter
from .lifting import VISIBILITY_THRESHOLD
from .skeleton import H36M17
from .viz.overlay import draw_crop_box, draw_skeleton_2d, draw_skeleton_panel, draw_status
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
    detection: Detection | None = None       # the detector's answer in frame pixels (None: no person)
    visibility_threshold: float = VISIBILITY_THRESHOLD   # joints below it went to the lifter as missing

    @property
    def confidence(self) -> float:
        """The detector's confidence in the frame (the skeleton net's), NaN without one."""
        c = None if self.detection is None else self.detection.confidence
        return float("nan") if c is None else float(c)

    def scaled(self, scale_xy: np.ndarray) -> "FrameResult":
        """The same result with its 2D (joints, crop box) in pixels scaled by (sx, sy)."""
        return replace(self, joints2d=self.joints2d * scale_xy,
                       detection=None if self.detection is None else _scaled_detection(self.detection, scale_xy))


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
    frame is wider, the detector sees a copy downscaled to this width and the joints are
    mapped back to the frame's pixels. Joints below the detector's visibility_threshold
    (lifting.VISIBILITY_THRESHOLD for MediaPipe) go into the lifter as missing. A frame
    without a person resets the filter.
    """

    def __init__(self, lifter, detector, focal: float | None = None, hfov: float = DEFAULT_HFOV_DEG,
                 filter: OneEuroFilter | None = None, detect_width: int | None = None):
        check_camera_options(focal, hfov, detect_width)
        self.lifter, self.detector, self.filter = lifter, detector, filter
        self.focal, self.hfov, self.detect_width = focal, float(hfov), detect_width
        self.visibility_threshold = float(getattr(detector, "visibility_threshold", VISIBILITY_THRESHOLD))
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

    @property
    def detector_name(self) -> str:
        """"mediapipe" or "skeleton" (the detector's name attribute)."""
        return getattr(self.detector, "name", "mediapipe")

    def detect(self, frame_bgr: np.ndarray, frame_rgb: np.ndarray | None = None) -> Detection | None:
        """-> the frame's Detection (joints2d_px [17, 2] in the frame's pixels, visibility [17], ...),
        or None without a person.

        frame_rgb: the same frame in RGB order, when the caller has it (the offline decode
        thread converts each frame, so the detecting thread does not)."""
        height, width = frame_bgr.shape[:2]
        image = frame_bgr if frame_rgb is None else frame_rgb
        if self.detect_width is not None and width > self.detect_width:
            scale = width / self.detect_width
            image = cv2.resize(image, (self.detect_width, round(height / scale)), interpolation=cv2.INTER_AREA)
        detection = self.detector.detect(image) if frame_rgb is None else self.detector.detect_rgb(image)
        if detection is None or image is frame_bgr or image is frame_rgb:
            return detection
        return _scaled_detection(detection, np.array([width / image.shape[1], height / image.shape[0]],
                                                     dtype=np.float32))

    def lift_batch(self, joints2d: np.ndarray, visibility: np.ndarray,
                   image_size: tuple[int, int]) -> np.ndarray:
        """Poses [N, 17, 2] px with visibility [N, 17] -> [N, 17, 3] mm, unfiltered (NaN rows: no pose)."""
        return self.lifter.lift(joints2d, image_size, self.focal_for(image_size), visibility=visibility,
                                threshold=self.visibility_threshold)

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
        """The second half of process(): a detect() answer (a Detection, None, or a
        (joints2d, visibility) pair) -> lifted, filtered FrameResult.

        Split off so that a live loop can detect the next frame while this one is lifted."""
        if found is None:
            if self.filter is not None:
                self.filter.reset()
            result = no_person()
            result.timings = {"detect": detect_ms, "lift": 0.0, "filter": 0.0}
            result.visibility_threshold = self.visibility_threshold
            return result
        detection = found if isinstance(found, Detection) else Detection(*found)
        joints2d, visibility = detection.joints2d_px, detection.visibility
        joints3d, timings = self.lift(joints2d, visibility, image_size, t)
        person = bool(np.isfinite(joints3d).all())
        return FrameResult(joints2d.astype(np.float32), visibility.astype(np.float32), joints3d, person,
                           {"detect": detect_ms, **timings}, detection, self.visibility_threshold)


def _scaled_detection(detection: Detection, scale_xy: np.ndarray) -> Detection:
    """A detection made on a downscaled copy -> the frame's pixels."""
    box = detection.crop_box
    return replace(detection, joints2d_px=detection.joints2d_px * scale_xy,
                   crop_box=None if box is None else (box[0] * scale_xy[0], box[1] * scale_xy[1],
                                                      box[2] * scale_xy[0]))


def draw_result(frame_bgr: np.ndarray, result: FrameResult, renderer: SkeletonRenderer | None,
                status: list[str] | None = None, panel: bool | None = None) -> np.ndarray:
    """The overlay picture: the 2D skeleton on the frame (in place), then the 3D view beside it.

    panel: draw the skeleton net's panel (Phi's skeleton image under kappa of Omega's 2D, the
    confidence) inset at the frame's top right, and its crop box; None: when the result has a
    skeleton-net detection. A detector's run passes True for every frame, so that frames
    without a person show an empty panel rather than none."""
    detection = result.detection
    if panel is None:
        panel = detection is not None and detection.confidence is not None
    if panel and detection is not None and detection.crop_box is not None:
        draw_crop_box(frame_bgr, detection.crop_box)      # not drawn when it holds the whole frame
    if result.person or np.isfinite(result.joints2d).all():
        draw_skeleton_2d(frame_bgr, result.joints2d, result.visibility, threshold=result.visibility_threshold)
    if panel:
        draw_skeleton_panel(frame_bgr, detection)
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
