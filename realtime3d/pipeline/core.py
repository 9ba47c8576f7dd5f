"""PosePipeline: detect -> track -> lift -> filter, for one frame or a batch of frames."""
from __future__ import annotations

import copy
import time
from dataclasses import replace

import cv2
import numpy as np

from ..camera import check_focal, default_focal
from ..defaults import DEFAULT_HFOV_DEG
from ..detect.detection import Detection, Detector, check_frame
from ..filters import OneEuroFilter
from ..lifting import VISIBILITY_THRESHOLD
from ..person import Person
from ..tracking import PersonTracker
from .frame import FrameResult, box_area, scaled_detection
from .options import check_camera_options, parse_person


class PosePipeline:
    """A detector, a person tracker, a lifter and an optional temporal filter.

    The detector (a detect.detection.Detector) finds every person, the tracker
    (tracking.PersonTracker) gives them stable ids, `person` keeps them all ("all"), the main
    one ("largest": the largest when first seen, kept while tracked, then the largest again),
    or one id; the kept people are lifted in one batch, then each person's copy of `filter`
    smooths their 3D (a person not in the frame has theirs reset).

    Args:
        lifter: a lifting.Lifter.
        detector: a Detector, or None for a pipeline that its caller feeds detections
            (complete, complete_batch).
        focal: the camera's focal length in px, or None for the field of view hfov (degrees).
        filter: a filters.OneEuroFilter of [17, 3] mm poses, or None.
        detect_width: when the frame is wider, the detector sees a copy downscaled to this
            width (px) and the joints are mapped back to the frame's pixels.
        person: "all", "largest" or an id (options.parse_person).
        tracker: the PersonTracker to use (default: a new one).
    """

    def __init__(self, lifter, detector: Detector | None, focal: float | None = None,
                 hfov: float = DEFAULT_HFOV_DEG, filter: OneEuroFilter | None = None,
                 detect_width: int | None = None, person: str | int = "all", tracker: PersonTracker | None = None):
        check_camera_options(focal, hfov, detect_width)
        self.lifter, self.detector, self.filter = lifter, detector, filter
        self.focal, self.hfov, self.detect_width = focal, float(hfov), detect_width
        self.person = parse_person(person)
        self.tracker = tracker if tracker is not None else PersonTracker()
        self._new_tracker = copy.deepcopy(self.tracker)       # restart_tracking(new_ids=True) starts from it
        #: joints below it (0..1) go into the lifter as missing: the detector's own threshold
        self.visibility_threshold = VISIBILITY_THRESHOLD if detector is None else float(detector.visibility_threshold)
        self._filters: dict[int, OneEuroFilter] = {}
        self._main_id: int | None = None          # --person largest: the id kept

    def focal_for(self, image_size: tuple[int, int]) -> float:
        """The focal length (px) for frames of image_size (width, height) px: --focal (checked
        against it) or from --hfov."""
        return check_focal(self.focal, image_size) if self.focal is not None else default_focal(image_size, self.hfov)

    def restart_detector(self, search: bool = False) -> None:
        """The next frame runs the person detector afresh; identities and filters are kept.
        search: with the detector's thorough search (the first frame of a clip)."""
        self.detector.reset(search=search)

    def restart_tracking(self, new_ids: bool = False) -> None:
        """Forget everyone: the detector's tracked people, the identities and the filter states
        (a camera that reconnected). Ids are not reused, unless new_ids (a new photo: ids from 1)."""
        if self.detector is not None:
            self.detector.reset()
        if new_ids:
            self.tracker = copy.deepcopy(self._new_tracker)
        else:
            self.tracker.reset()
        self._filters.clear()
        self._main_id = None

    # ------------------------------------------------------------------ the stages

    def detect(self, frame_bgr: np.ndarray, frame_rgb: np.ndarray | None = None) -> list[Detection]:
        """One frame -> its people, largest first; [] without a person.

        Args:
            frame_bgr: [H, W, 3] uint8 BGR.
            frame_rgb: the same frame in RGB order, when the caller has it (the detector then
                skips its own conversion).
        Returns:
            Detections in the frame's pixels (joints2d_px [17, 2], visibility [17], ...).
        """
        height, width = frame_bgr.shape[:2]
        image = frame_bgr if frame_rgb is None else frame_rgb
        if self.detect_width is not None and width > self.detect_width:
            scale = width / self.detect_width
            image = cv2.resize(image, (self.detect_width, round(height / scale)), interpolation=cv2.INTER_AREA)
        found = self.detector.detect_all(image) if frame_rgb is None else self.detector.detect_all_rgb(image)
        if image is frame_bgr or image is frame_rgb:
            return found
        scale_xy = np.array([width / image.shape[1], height / image.shape[0]], dtype=np.float32)
        return [scaled_detection(d, scale_xy) for d in found]

    def track(self, detections: list[Detection], t: float) -> list[Person]:
        """A frame's detections at time t (s, increasing) -> the people kept (--person), by id,
        not lifted yet."""
        tracked = self.tracker.update(detections, t)
        if self.person == "largest":
            if self._main_id not in {p.id for p in tracked}:
                largest = max(tracked, key=lambda p: box_area(p.detection), default=None)
                self._main_id = None if largest is None else largest.id
            tracked = [p for p in tracked if p.id == self._main_id]
        elif self.person != "all":
            tracked = [p for p in tracked if p.id == self.person]
        return sorted(tracked, key=lambda p: p.id)

    def lift_batch(self, joints2d: np.ndarray, visibility: np.ndarray, image_size: tuple[int, int],
                   world3d: np.ndarray | None = None) -> np.ndarray:
        """Poses [N, 17, 2] px with visibility [N, 17] of frames of image_size (width, height) px
        -> [N, 17, 3] mm camera coordinates, unfiltered (NaN rows: no pose). world3d [N, 17, 3] mm:
        the detections' MediaPipe 3D, for a model that reads it (reads_world3d)."""
        extra = {"world3d": world3d} if self.lifter.reads_world3d else {}
        return self.lifter.lift(joints2d, image_size, self.focal_for(image_size), visibility=visibility,
                                threshold=self.visibility_threshold, **extra)

    def lift_people(self, frames: list[tuple[list[Person], float]],
                    image_size: tuple[int, int]) -> tuple[list[list[Person]], dict[str, float]]:
        """The tracked people of consecutive frames, with each frame's time (s) -> the same people
        lifted in one lifter call, then filtered (each person's own filter, at their frame's
        time); and the timings in ms (lift, filter)."""
        start = time.perf_counter()
        everyone = [p for people, _ in frames for p in people]
        if everyone:
            joints2d = np.stack([p.joints2d for p in everyone]).astype(np.float32)       # [P, 17, 2]
            visibility = np.stack([p.visibility for p in everyone]).astype(np.float32)   # [P, 17]
            world3d = np.stack([_world3d(p) for p in everyone]) if self.lifter.reads_world3d else None
            joints3d = iter(self.lift_batch(joints2d, visibility, image_size, world3d))  # [P, 17, 3]
        lifted = time.perf_counter()
        out = []
        for people, t in frames:
            mine = []
            for p in people:
                pose = next(joints3d)
                if self.filter is not None:
                    pose = self._filter_of(p.id)(pose, t).astype(np.float32)
                mine.append(replace(p, joints3d=pose))
            if self.filter is not None:          # someone not in this frame starts afresh when back
                for gone in set(self._filters) - {p.id for p in people}:
                    del self._filters[gone]
            out.append(mine)
        return out, {"lift": 1e3 * (lifted - start), "filter": 1e3 * (time.perf_counter() - lifted)}

    def _filter_of(self, person_id: int) -> OneEuroFilter:
        if person_id not in self._filters:
            self._filters[person_id] = copy.deepcopy(self.filter)
            self._filters[person_id].reset()
        return self._filters[person_id]

    # ------------------------------------------------------------------ the frame loop

    def process(self, frame_bgr: np.ndarray, t: float) -> FrameResult:
        """A BGR uint8 frame [H, W, 3] at time t (s) -> its FrameResult."""
        frame_bgr = check_frame(frame_bgr, "BGR")
        start = time.perf_counter()
        found = self.detect(frame_bgr)
        detect_ms = 1e3 * (time.perf_counter() - start)
        return self.complete(found, (frame_bgr.shape[1], frame_bgr.shape[0]), t, detect_ms)

    def complete(self, found: list[Detection], image_size: tuple[int, int], t: float,
                 detect_ms: float = 0.0) -> FrameResult:
        """The rest of process() after detect(): one frame's detections at time t (s), of frames of
        image_size (width, height) px -> its tracked, lifted, filtered FrameResult.

        Split off so that a live loop can detect the next frame while this one is lifted."""
        result, = self.complete_batch([(found, t)], image_size)
        result.timings["detect"] = detect_ms
        return result

    def complete_batch(self, frames: list[tuple[list[Detection], float]],
                       image_size: tuple[int, int]) -> list[FrameResult]:
        """Consecutive frames' detections, each with its time (s, increasing) -> their FrameResults,
        tracked frame by frame and lifted in one lifter call (a batch costs about what one pose
        does). timings: each result has the batch's track, lift and filter ms."""
        start = time.perf_counter()
        tracked = [(self.track(found, t), t) for found, t in frames]
        track_ms = 1e3 * (time.perf_counter() - start)
        lifted, timings = self.lift_people(tracked, image_size)
        return [FrameResult(people, {"track": track_ms, **timings}, self.visibility_threshold) for people in lifted]


def _world3d(person: Person) -> np.ndarray:
    """A person's Detection.world3d [17, 3] mm, NaN without one."""
    world = person.detection.world3d
    return np.full((len(person.joints2d), 3), np.nan, np.float32) if world is None else world
