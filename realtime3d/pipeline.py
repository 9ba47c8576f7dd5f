"""Frame -> 2D -> 3D -> filtered pose: the loop core that the live, offline and image runs share.

    pipeline = PosePipeline(Lifter.from_pretrained(), MultiPoseDetector(), filter=OneEuroFilter())
    result = pipeline.process(frame_bgr, t)          # FrameResult: people (id, joints2d, visibility, joints3d)

Many people are this loop's plural, not a second loop: the detector finds everyone, the tracker
(tracking.py) gives them ids, and the people of a frame are lifted in one batch; one person
is the case N = 1. The detector is detect.MultiPoseDetector (MediaPipe's BlazePose models, every
person), detect.PoseDetector (MediaPipe's one-person graph) or detect.SkeletonNetDetector
(Phi -> Omega); each person keeps their Detection, whose skeleton images and confidence the
overlay draws (viz/overlay.py, draw_skeleton_panel).

The runs built on it: live.py (run_live, the webcam loop), offline.py (run_video:
overlay.mp4 and poses.*), collection.py (many videos over worker processes and
shards), images.py (photos). Nothing here opens a window: callers pass
on_result(frame, result) -> bool (False stops).
"""
from __future__ import annotations

import copy
import queue
import threading
import time
from dataclasses import dataclass, field, replace

import cv2
import numpy as np
import torch

from .camera import check_focal, default_focal
from .defaults import DEFAULT_HFOV_DEG
from .detect.detection import Detection
from .filters import OneEuroFilter
from .lifting import VISIBILITY_THRESHOLD
from .skeleton import H36M17
from .tracking import PersonTracker, TrackedPerson
from .viz.overlay import draw_crop_box, draw_skeleton_2d, draw_skeleton_panel, draw_status
from .viz.render3d import SkeletonRenderer, side_by_side

J = H36M17.num_joints


@dataclass
class PersonResult:
    """One tracked person in one frame."""

    id: int                  # the tracker's id (tracking.PersonTracker): 1, 2, ... in order of appearance
    joints2d: np.ndarray     # [17, 2] px of the input frame
    visibility: np.ndarray   # [17] 0..1
    joints3d: np.ndarray     # [17, 3] mm camera coordinates (filtered when a filter is set); NaN: not lifted
    detection: Detection | None = None     # the detector's answer in frame pixels

    @property
    def complete(self) -> bool:
        """The person has a whole 3D pose."""
        return bool(np.isfinite(self.joints3d).all())

    @property
    def confidence(self) -> float:
        """The detector's confidence (the skeleton net's), NaN without one."""
        c = None if self.detection is None else self.detection.confidence
        return float("nan") if c is None else float(c)


@dataclass
class FrameResult:
    """One frame through the pipeline: every person kept (the --person choice), by id.

    joints2d, visibility, joints3d, detection and confidence are the main person's (the
    largest in the frame; NaN, 0 or None without one): the one-person view of the frame."""

    people: list[PersonResult] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)   # ms: detect, track, lift, filter
    visibility_threshold: float = VISIBILITY_THRESHOLD   # joints below it went to the lifter as missing

    @property
    def main(self) -> PersonResult | None:
        """The largest person of the frame (box_area), None without one."""
        return max(self.people, key=lambda p: box_area(p.detection, p.joints2d), default=None)

    @property
    def person(self) -> bool:
        """Someone in the frame has a whole 3D pose."""
        return any(p.complete for p in self.people)

    @property
    def joints2d(self) -> np.ndarray:
        main = self.main
        return np.full((J, 2), np.nan, np.float32) if main is None else main.joints2d

    @property
    def visibility(self) -> np.ndarray:
        main = self.main
        return np.zeros(J, np.float32) if main is None else main.visibility

    @property
    def joints3d(self) -> np.ndarray:
        main = self.main
        return np.full((J, 3), np.nan, np.float32) if main is None else main.joints3d

    @property
    def detection(self) -> Detection | None:
        main = self.main
        return None if main is None else main.detection

    @property
    def confidence(self) -> float:
        """The main person's detector confidence (the skeleton net's), NaN without one."""
        main = self.main
        return float("nan") if main is None else main.confidence

    def scaled(self, scale_xy: np.ndarray) -> "FrameResult":
        """The same result with its 2D (joints, boxes) in pixels scaled by (sx, sy)."""
        return replace(self, people=[replace(p, joints2d=p.joints2d * scale_xy,
                                             detection=None if p.detection is None
                                             else _scaled_detection(p.detection, scale_xy))
                                     for p in self.people])


def one_person(joints2d: np.ndarray, visibility: np.ndarray, joints3d: np.ndarray,
               detection: Detection | None = None, visibility_threshold: float = VISIBILITY_THRESHOLD,
               person_id: int = 1) -> FrameResult:
    """A FrameResult of one person ([17, 2] px, [17], [17, 3] mm); no person when its 2D is all NaN."""
    if not np.isfinite(joints2d).any():
        return no_person(visibility_threshold)
    return FrameResult([PersonResult(person_id, joints2d, visibility, joints3d, detection)],
                       visibility_threshold=visibility_threshold)


def no_person(visibility_threshold: float = VISIBILITY_THRESHOLD) -> FrameResult:
    return FrameResult([], visibility_threshold=visibility_threshold)


def box_area(detection: Detection | None, joints2d: np.ndarray) -> float:
    """A person's size in the frame: the area of the detection's box, else of its finite 2D joints' extent."""
    if detection is not None and detection.box is not None:
        x0, y0, x1, y1 = detection.box
    else:
        finite = joints2d[np.isfinite(joints2d).all(axis=1)]
        if not len(finite):
            return 0.0
        (x0, y0), (x1, y1) = finite.min(axis=0), finite.max(axis=0)
    return float(max(x1 - x0, 0.0) * max(y1 - y0, 0.0))


#: --person: every tracked person, the main one (the largest when first seen, kept while tracked), or one id.
PERSON_CHOICES = ("all", "largest")


def parse_person(text: str | int) -> str | int:
    """--person's value: "all", "largest" or a person id (a positive integer)."""
    if isinstance(text, int) or str(text).isdigit():
        value = int(text)
        if value < 1:
            raise ValueError(f"--person ID must be a positive id, got {value}")
        return value
    if text not in PERSON_CHOICES:
        raise ValueError(f"--person must be all, largest or a person id, got {text!r}")
    return text


def check_camera_options(focal: float | None, hfov: float, detect_width: int | None) -> None:
    if focal is not None and not (np.isfinite(focal) and focal > 0):
        raise ValueError(f"--focal must be a positive number of pixels, got {focal}")
    if not 0 < hfov < 180:
        raise ValueError(f"--hfov must be between 0 and 180 degrees, got {hfov}")
    if detect_width is not None and detect_width < 32:
        raise ValueError(f"--detect-width must be at least 32 px, got {detect_width}")


class PosePipeline:
    """A detector, a person tracker, a lifter and an optional temporal filter, run on one frame at a time.

    The detector finds every person (detect.MultiPoseDetector; a one-person detector finds at
    most one), the tracker (tracking.PersonTracker) gives them stable ids, `person` keeps
    them all ("all"), the main one ("largest": the largest when first seen, kept while
    tracked, then the largest again), or one id; the kept people are lifted in one batch.

    focal: pixels, or None for the field of view hfov (degrees). detect_width: when the
    frame is wider, the detector sees a copy downscaled to this width and the joints are
    mapped back to the frame's pixels. Joints below the detector's visibility_threshold
    (lifting.VISIBILITY_THRESHOLD for MediaPipe) go into the lifter as missing. Each person
    has a copy of `filter` of their own; a person not in the frame has theirs reset.
    """

    def __init__(self, lifter, detector, focal: float | None = None, hfov: float = DEFAULT_HFOV_DEG,
                 filter: OneEuroFilter | None = None, detect_width: int | None = None,
                 person: str | int = "all", tracker: PersonTracker | None = None):
        check_camera_options(focal, hfov, detect_width)
        self.lifter, self.detector, self.filter = lifter, detector, filter
        self.focal, self.hfov, self.detect_width = focal, float(hfov), detect_width
        self.person = parse_person(person)
        self.tracker = tracker if tracker is not None else PersonTracker()
        self._new_tracker = copy.deepcopy(self.tracker)       # restart_tracking(new_ids=True) starts from it
        self.visibility_threshold = float(getattr(detector, "visibility_threshold", VISIBILITY_THRESHOLD))
        self._filters: dict[int, OneEuroFilter] = {}
        self._main_id: int | None = None          # --person largest: the id kept
        # a few poses per call: a single thread is fastest (no hand-off between threads)
        torch.set_num_threads(1)

    def focal_for(self, image_size: tuple[int, int]) -> float:
        """The focal length (px) for frames of image_size: --focal (checked against it) or from --hfov."""
        return check_focal(self.focal, image_size) if self.focal is not None else default_focal(image_size, self.hfov)

    def restart_detector(self, search: bool = False) -> None:
        """The next frame runs the person detector afresh; identities and filters are kept.
        search: with its thorough search (MultiPoseDetector.reset: the first frame of a clip);
        offline.py's restarts within a clip ask for none, so that they cost no more than the
        detector's usual passes."""
        self.detector.reset(search=search)

    def restart_tracking(self, new_ids: bool = False) -> None:
        """Forget everyone: the detector's tracked people, the identities and the filter states
        (a camera that reconnected). Ids are not reused, unless new_ids (a new photo: ids from 1)."""
        if self.detector is not None:          # None: a pipeline fed detections by its caller
            self.detector.reset()
        if new_ids:
            self.tracker = copy.deepcopy(self._new_tracker)
        else:
            self.tracker.reset()
        self._filters.clear()
        self._main_id = None

    @property
    def detector_name(self) -> str:
        """"mediapipe" or "skeleton" (the detector's name attribute)."""
        return getattr(self.detector, "name", "mediapipe")

    def detect(self, frame_bgr: np.ndarray, frame_rgb: np.ndarray | None = None) -> list[Detection]:
        """-> the frame's people (joints2d_px [17, 2] in the frame's pixels, visibility [17], ...),
        largest first; [] without a person.

        frame_rgb: the same frame in RGB order, when the caller has it (the offline decode
        thread converts each frame, so the detecting thread does not)."""
        height, width = frame_bgr.shape[:2]
        image = frame_bgr if frame_rgb is None else frame_rgb
        if self.detect_width is not None and width > self.detect_width:
            scale = width / self.detect_width
            image = cv2.resize(image, (self.detect_width, round(height / scale)), interpolation=cv2.INTER_AREA)
        if hasattr(self.detector, "detect_all"):
            found = self.detector.detect_all(image) if frame_rgb is None else self.detector.detect_all_rgb(image)
        else:
            one = self.detector.detect(image) if frame_rgb is None else self.detector.detect_rgb(image)
            found = [] if one is None else [one]
        if image is frame_bgr or image is frame_rgb:
            return found
        scale_xy = np.array([width / image.shape[1], height / image.shape[0]], dtype=np.float32)
        return [_scaled_detection(d, scale_xy) for d in found]

    def track(self, detections: list[Detection], t: float) -> list[TrackedPerson]:
        """A frame's detections at time t -> the people kept (--person), with their ids, by id."""
        tracked = self.tracker.update(detections, t)
        if self.person == "largest":
            if self._main_id not in {p.id for p in tracked}:
                largest = max(tracked, key=lambda p: box_area(p.detection, p.detection.joints2d_px), default=None)
                self._main_id = None if largest is None else largest.id
            tracked = [p for p in tracked if p.id == self._main_id]
        elif self.person != "all":
            tracked = [p for p in tracked if p.id == self.person]
        return sorted(tracked, key=lambda p: p.id)

    def lift_batch(self, joints2d: np.ndarray, visibility: np.ndarray,
                   image_size: tuple[int, int]) -> np.ndarray:
        """Poses [N, 17, 2] px with visibility [N, 17] -> [N, 17, 3] mm, unfiltered (NaN rows: no pose)."""
        return self.lifter.lift(joints2d, image_size, self.focal_for(image_size), visibility=visibility,
                                threshold=self.visibility_threshold)

    def lift_people(self, people: list[TrackedPerson], image_size: tuple[int, int],
                    t: float) -> tuple[list[PersonResult], dict[str, float]]:
        """A frame's tracked people -> their PersonResults (one lifter call for all; each person's
        own filter), and the timings in ms."""
        start = time.perf_counter()
        if people:
            joints2d = np.stack([p.detection.joints2d_px for p in people]).astype(np.float32)    # [P, 17, 2]
            visibility = np.stack([p.detection.visibility for p in people]).astype(np.float32)   # [P, 17]
            joints3d = self.lift_batch(joints2d, visibility, image_size)                          # [P, 17, 3]
        lifted = time.perf_counter()
        results = []
        for k, p in enumerate(people):
            pose = joints3d[k]
            if self.filter is not None:
                pose = self._filter_of(p.id)(pose, t).astype(np.float32)
            results.append(PersonResult(p.id, joints2d[k], visibility[k], pose, p.detection))
        if self.filter is not None:              # someone not in this frame starts afresh when back
            for gone in set(self._filters) - {p.id for p in people}:
                del self._filters[gone]
        done = time.perf_counter()
        return results, {"lift": 1e3 * (lifted - start), "filter": 1e3 * (done - lifted)}

    def _filter_of(self, person_id: int) -> OneEuroFilter:
        if person_id not in self._filters:
            self._filters[person_id] = copy.deepcopy(self.filter)
            self._filters[person_id].reset()
        return self._filters[person_id]

    def process(self, frame_bgr: np.ndarray, t: float) -> FrameResult:
        """A BGR frame [H, W, 3] at time t (seconds) -> its FrameResult."""
        frame_bgr = np.asarray(frame_bgr)
        if frame_bgr.ndim != 3 or frame_bgr.shape[2] != 3 or frame_bgr.dtype != np.uint8:
            raise ValueError(f"frame must be BGR uint8 [H, W, 3], got {frame_bgr.dtype} {list(frame_bgr.shape)}")
        start = time.perf_counter()
        found = self.detect(frame_bgr)
        detect_ms = 1e3 * (time.perf_counter() - start)
        return self.complete(found, (frame_bgr.shape[1], frame_bgr.shape[0]), t, detect_ms)

    def complete(self, found: list[Detection], image_size: tuple[int, int], t: float,
                 detect_ms: float = 0.0) -> FrameResult:
        """The second half of process(): a detect() answer -> tracked, lifted, filtered FrameResult.

        Split off so that a live loop can detect the next frame while this one is lifted."""
        start = time.perf_counter()
        people = self.track(found, t)
        track_ms = 1e3 * (time.perf_counter() - start)
        results, timings = self.lift_people(people, image_size, t)
        return FrameResult(results, {"detect": detect_ms, "track": track_ms, **timings}, self.visibility_threshold)


def _scaled_detection(detection: Detection, scale_xy: np.ndarray) -> Detection:
    """A detection made on a downscaled copy -> the frame's pixels."""
    crop, box = detection.crop_box, detection.box
    landmarks = detection.landmarks33
    if landmarks is not None:
        landmarks = landmarks.copy()
        landmarks[:, :2] *= scale_xy
    return replace(detection, joints2d_px=detection.joints2d_px * scale_xy, landmarks33=landmarks,
                   crop_box=None if crop is None else (crop[0] * scale_xy[0], crop[1] * scale_xy[1],
                                                       crop[2] * scale_xy[0]),
                   box=None if box is None else (box[0] * scale_xy[0], box[1] * scale_xy[1],
                                                 box[2] * scale_xy[0], box[3] * scale_xy[1]))


def draw_result(frame_bgr: np.ndarray, result: FrameResult, renderer: SkeletonRenderer | None,
                status: list[str] | None = None, panel: bool | None = None) -> np.ndarray:
    """The overlay picture: every person's 2D skeleton on the frame (in place), in their colour
    with their id, then the 3D view of them all beside it.

    panel: draw the skeleton net's panel (Phi's skeleton image under kappa of Omega's 2D, the
    confidence) inset at the frame's top right, and its crop box; None: when the result has a
    skeleton-net detection. A detector's run passes True for every frame, so that frames
    without a person show an empty panel rather than none."""
    detection = result.detection
    if panel is None:
        panel = detection is not None and detection.confidence is not None
    if panel and detection is not None and detection.crop_box is not None:
        draw_crop_box(frame_bgr, detection.crop_box)      # not drawn when it holds the whole frame
    for person in result.people:
        draw_skeleton_2d(frame_bgr, person.joints2d, person.visibility, threshold=result.visibility_threshold,
                         person_id=person.id)
    if panel:
        draw_skeleton_panel(frame_bgr, detection)
    if status:
        draw_status(frame_bgr, status)
    if renderer is None:
        return frame_bgr
    return side_by_side(frame_bgr, renderer.render_people(lifted_people(result)))


def lifted_people(result: FrameResult) -> list[tuple[int, np.ndarray]]:
    """(id, joints3d [17, 3]) of the frame's people with a whole 3D pose: what the 3D views show."""
    return [(p.id, p.joints3d) for p in result.people if p.complete]


def put_unless_stopped(q: queue.Queue, item, stop: threading.Event) -> bool:
    """Put item into a bounded queue, waiting while it is full; False if stop was set first."""
    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            pass
    return False
