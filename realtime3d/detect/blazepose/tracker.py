"""MultiPoseDetector: every person in a frame, tracked from frame to frame (the project's loop
around MediaPipe's steps; MediaPipe's own graph, pose_landmark_cpu.pbtxt, follows one person).
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np

from ..detection import VISIBILITY_THRESHOLD, Detection, ManyPeopleDetector, check_frame as _checked
from ..mediapipe import landmarks_to_h36m
from .landmarks import LandmarkModel, aux_smoother, roi_from_landmarks, smoothed_aux
from .people import (FACE_LANDMARKS, Person, distinct, in_box, merged, same_person, shoulders_in_frame, torso_in_frame,
                     untracked, upright)
from .proposals import (PROPOSAL_IOU, SEARCH_TILES, TILES, WEAK_SCORE, BodyProposals, PersonDetector, face_roi,
                        levels_lut, tile_rois)
from .rois import Roi, box_iou, whole_frame
from .ssd import FaceDetector, roi_from_person

#: Video mode: the person detector also runs on every DETECT_EVERY-th frame while fewer than
#: max_people are tracked, to find newcomers (a newcomer waits at most DETECT_EVERY frames).
DETECT_EVERY = 10
#: Threads for the landmark model, each with a model of its own.
LANDMARK_WORKERS = 2
#: A weak proposal is confirmed only when its second landmark pass scores at most SCORE_DROP
#: below its first (a person's crop centred on their own landmarks fits them at least as well).
SCORE_DROP = 0.1


class MultiPoseDetector(ManyPeopleDetector):
    """Every person in a frame, with MediaPipe's BlazePose steps (ssd.py, landmarks.py) run per
    person and the project's proposals (proposals.py); a `Detector` (detect/detection.py).

    detect_all(frame_bgr) / detect_all_rgb(frame_rgb) -> list of Detection, largest (box area)
    first: joints2d_px [17, 2] px and visibility [17] in 0..1 by landmarks_to_h36m (the joint
    rules of mediapipe.PoseDetector), landmarks33 [33, 4] (x px, y px, z as MediaPipe gives it:
    scaled as x and normalized by the frame width, visibility), box (x0, y0, x1, y1) px the
    extent of the 33 landmarks, score the pose-presence score in 0..1. detect / detect_rgb: the
    largest person or None.

    Video mode (static_image_mode False), as MediaPipe tracks its one person: each tracked
    person's ROI comes from their previous landmarks (roi_from_landmarks, after the One Euro
    smoothing of the auxiliary landmarks), so the person detector runs only when nobody is
    tracked (or everyone tracked was lost in this frame), and on every `detect_every`-th frame
    while fewer than max_people are tracked, to find newcomers: those whose core box overlaps no
    tracked person's (proposals.MATCH_IOU) go through the landmark model (max_people of them at
    most, the largest ROIs first). A person whose pose score is not above
    min_tracking_confidence is dropped; two that turn out to be one (people.same_person) are
    merged, the first kept; max_people keeps the largest N (box area). Static image mode: the
    detector runs on every call and nothing is carried over.

    Args:
        max_people: the most people followed (>= 1), largest first; None: everyone.
        static_image_mode: every call is an unrelated photo (the thorough search each time).
        min_detection_confidence: the person detector's score threshold, 0..1.
        min_tracking_confidence: a person's pose score must be above it, 0..1.
        detect_every: video mode's period of the person detector while people are followed (frames).
        threads: LiteRT's threads per model.
        tiles: 1, the person detector sees the whole frame (MediaPipe's pass); n >= 2, also n
            square tiles along the long side (proposals.tile_rois): all of them in static image
            mode and while nobody is followed, otherwise one per detector run, in turn.
        bodies: each detector run also takes BodyProposals' people that overlap nobody found
            (PROPOSAL_IOU), confirmed by two landmark passes, then its edge strips' people cut
            by the frame's side, kept on one pass (proposals.EDGE_ROI_SCALE).
        workers: the tracked people of a frame go through the landmark model on this many
            threads, each with a model of its own (LiteRT lets go of the GIL while it runs).
        search_tiles: the tilings of a photo's thorough search (tile counts); a video's keeps
            `tiles`. The thorough search runs on every photo and, in video mode, when nobody is
            followed: on the first frame after reset(search=True), then at most once every
            detect_every frames while nobody is followed; the detector's other runs keep its
            usual passes.
        weak_score: the thorough search also takes the person detector's detections scoring
            weak_score..min_detection_confidence (equal: none), each confirmed (_confirmed).
        faces: the thorough search also takes the full-range face detector's faces (face_roi),
            each confirmed.
        dark: dark frames are stretched first (levels_lut), measured on the frames where the
            person detector may run and kept for those between.
        world_landmarks: each Detection also carries world3d, MediaPipe's world landmarks as the
            17 joints (--model mediapipe-world reads them; off by default, as the mapping costs
            time for every person).

    Attributes:
        detector_runs: frames that ran the person detector; searches: those that ran the
            thorough search.
    """

    name = "blazepose"
    visibility_threshold = VISIBILITY_THRESHOLD

    def __init__(self, max_people: int | None = None, static_image_mode: bool = False,
                 min_detection_confidence: float = 0.5, min_tracking_confidence: float = 0.5,
                 detect_every: int = DETECT_EVERY, threads: int = 1, tiles: int = TILES, bodies: bool = True,
                 workers: int = LANDMARK_WORKERS, search_tiles: tuple[int, ...] = SEARCH_TILES, weak_score: float = WEAK_SCORE,
                 faces: bool = True, dark: bool = True, world_landmarks: bool = False):
        for name, value in (("min_detection_confidence", min_detection_confidence),
                            ("min_tracking_confidence", min_tracking_confidence)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in 0..1, got {value}")
        if max_people is not None and int(max_people) < 1:
            raise ValueError(f"max_people must be >= 1 or None, got {max_people}")
        if int(detect_every) < 1:
            raise ValueError(f"detect_every must be >= 1, got {detect_every}")
        search_tiles = tuple(int(t) for t in search_tiles)
        if not all(t >= 1 for t in search_tiles):
            raise ValueError(f"search_tiles must be tile counts >= 1, got {search_tiles}")
        if not 0.0 <= weak_score <= min_detection_confidence:
            raise ValueError(f"weak_score must be in 0..min_detection_confidence, got {weak_score}")
        self.max_people = None if max_people is None else int(max_people)
        self.static_image_mode = bool(static_image_mode)
        self.min_tracking_confidence = float(min_tracking_confidence)
        self.detect_every = int(detect_every)
        self.min_detection_confidence = float(min_detection_confidence)
        self.detector_runs = self.searches = 0
        self._bodies = BodyProposals() if bodies else None
        if int(workers) < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self._detector = PersonDetector(min_detection_confidence, threads, tiles, weak_score)
        self._faces = FaceDetector(threads=threads) if faces else None
        self.search_tiles, self.dark, self.world_landmarks = search_tiles, bool(dark), bool(world_landmarks)
        self._weak = weak_score < min_detection_confidence            # the weak proposals' route is on
        self._lut: np.ndarray | None = None                          # levels_lut() of the last detector frame
        self._threads, self._workers = int(threads), int(workers)
        self._local = threading.local()                 # each thread's own LandmarkModel
        self._pool: ThreadPoolExecutor | None = None
        self._tracked: list[Person] = []
        self._since_detection = 0
        self._search_due = True                          # the next detector run is the thorough search
        self._since_search = 0                           # frames since the last thorough search
        self._next_tile = 0
        self._closed = False

    @property
    def fingerprint(self) -> str:
        """The settings that decide the answers (offline.py: a resumed run must share them)."""
        return (f"blazepose|{self.max_people}|{self.static_image_mode}|{self.min_detection_confidence:g}|"
                f"{self.min_tracking_confidence:g}|{self.detect_every}|{self._detector.tiles}|{self._bodies is not None}|edges"
                f"|{','.join(map(str, self.search_tiles))}|{self._detector.weak_score:g}|{self._faces is not None}|{self.dark}")

    # -- every person (detect, detect_rgb, detect_all: ManyPeopleDetector's, from this)
    def detect_all_rgb(self, frame_rgb: np.ndarray) -> list[Detection]:
        """An RGB uint8 frame [H, W, 3] (MediaPipe's own order) -> every person's Detection, largest first."""
        if self._closed:
            raise ValueError("MultiPoseDetector is closed")
        frame = np.ascontiguousarray(_checked(frame_rgb, "RGB"))
        if self.dark:                             # the stretch measured when the detector runs
            if self.static_image_mode or self._detector_due():
                self._lut = levels_lut(frame)
            frame = frame if self._lut is None else cv2.LUT(frame, self._lut)
        if self.static_image_mode:
            people = self._largest(merged(self._newcomers(frame, [], thorough=True)))
        else:
            people = self._track(frame)
        return [_detection(p.landmarks, p.score, frame.shape[1], p.world if self.world_landmarks else None)
                for p in people]

    def reset(self, search: bool = True) -> None:
        """Forget the tracked people: the next frame runs the person detector. search: that run is
        the thorough search (a new clip or scene); False: the detector's usual passes (offline.py's
        restarts within a clip, which exist so that --resume is exact and must cost no search)."""
        if self._closed:
            raise ValueError("MultiPoseDetector is closed")
        self._tracked = []
        self._since_detection = self._next_tile = 0   # a resumed run's detector starts from here too
        self._search_due, self._since_search = bool(search), 0

    def close(self) -> None:
        self._tracked = []
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        self._detector = self._pool = None
        self._local = threading.local()
        self._closed = True

    def __enter__(self) -> "MultiPoseDetector":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the steps
    def _track(self, frame: np.ndarray) -> list[Person]:
        """Video mode: the tracked people through their ROIs; newcomers when the detector is due."""
        height, width = frame.shape[:2]
        run_detector = self._detector_due()
        rois = [roi_from_landmarks(smoothed_aux(before.landmarks, before.smoother), (width, height))
                for before in self._tracked]
        people = []
        for before, person in zip(self._tracked, self._people(frame, rois)):
            if person is not None:
                person.smoother = before.smoother
                people.append(person)
        if self._tracked and not people:          # everyone was lost: look for people in this frame
            run_detector = True
        search = run_detector and not people and (self._search_due or self._since_search + 1 >= self.detect_every)
        if run_detector:
            people += self._newcomers(frame, people, thorough=search)
            self._since_detection = 0
        else:
            self._since_detection += 1
        if search:
            self._search_due, self._since_search = False, 0
        else:
            self._since_search += 1
        self._tracked = self._largest(merged(people))
        for person in self._tracked:
            if person.smoother is None:
                person.smoother = aux_smoother()
        return self._tracked

    def _detector_due(self) -> bool:
        """Video mode: whether this frame runs the person detector (nobody followed, or its
        detect_every-th frame while fewer than max_people are); it also runs on a frame where
        everyone followed was lost (_track)."""
        room = self.max_people is None or len(self._tracked) < self.max_people
        return not self._tracked or (self._since_detection + 1 >= self.detect_every and room)

    def _regions(self, width: int, height: int, thorough: bool) -> list[list[Roi]]:
        """The detector's passes, by tiling (PersonDetector.detect_regions): the whole frame, and
        every tile of search_tiles' tilings (the thorough search of a photo), of tiles' tiling
        (video mode's thorough search: the class docstring, and its other runs while nobody is
        followed) or the next of tiles' in turn (video mode, people followed)."""
        if thorough:
            tilings = self.search_tiles if self.static_image_mode else (self._detector.tiles,)
            return [[whole_frame(width, height)], *(tile_rois(width, height, n) for n in tilings)]
        tiles = tile_rois(width, height, self._detector.tiles)
        if self._tracked and tiles:               # nobody followed: every tile, as a search does
            tiles = [tiles[self._next_tile % len(tiles)]]
            self._next_tile += 1
        return [[whole_frame(width, height)], tiles]

    def _newcomers(self, frame: np.ndarray, tracked: list[Person], thorough: bool) -> list[Person]:
        """The person detector's people not among `tracked`, through the landmark model; in the
        thorough search (thorough: see the class docstring) also its search_tiles' tilings, its
        weak detections and the faces, each confirmed (_confirmed); then BodyProposals' people.
        By decreasing pose score; in the thorough search one per person (distinct)."""
        self.detector_runs += 1
        self.searches += thorough
        size = frame.shape[1], frame.shape[0]
        regions = self._regions(*size, thorough)
        candidates = untracked(self._detector.detect_regions(frame, regions, thorough and self._weak), tracked)
        strong = [c for c in candidates if c.score >= self.min_detection_confidence]
        rois = []
        for candidate in strong:
            try:
                rois.append(roi_from_person(candidate))
            except ValueError:                    # a degenerate detection: keypoints 0 and 1 coincide
                continue
        if self.max_people is not None:           # the largest ROIs first; max_people at most
            rois = sorted(rois, key=lambda r: -r.width)[:self.max_people]
        people = [p for p in (self._person(frame, roi) for roi in rois) if p is not None]

        def room() -> int | None:
            return None if self.max_people is None else self.max_people - len(tracked) - len(people)
        if thorough and self._weak:
            weak = untracked([c for c in candidates if c.score < self.min_detection_confidence], tracked + people)
            for candidate in weak:
                if room() is not None and room() <= 0:
                    break
                try:
                    roi = roi_from_person(candidate)
                except ValueError:
                    continue
                person = self._confirmed(frame, roi, tracked + people)
                if person is not None:
                    people.append(person)
        if thorough and self._faces is not None and (room() is None or room() > 0):
            for box in self._faces(frame, [roi for tiling in regions for roi in tiling])[1]:
                if room() is not None and room() <= 0:
                    break
                if any(in_box(p.landmarks[0, :2], box) for p in tracked + people):
                    continue                      # the face of someone found: their nose in its box
                person = self._confirmed(frame, face_roi(box), tracked + people, face=box)
                if person is not None:
                    people.append(person)
        if self._bodies is not None and (room() is None or room() > 0):
            people += self._body_people(frame, tracked + people, room(), thorough and self._weak)
        people = sorted(people, key=lambda p: -p.score)    # of one person found twice, merged keeps the surer
        return distinct(people) if thorough else people

    def _confirmed(self, frame: np.ndarray, roi: Roi, found: list[Person], in_frame=shoulders_in_frame,
                   face=None) -> Person | None:
        """A person on the ROI of a weak proposal, or None: the landmark model on it, then on the
        ROI from those landmarks. Kept when the second score is above min_detection_confidence
        and at most SCORE_DROP below the first, both passes found one person, the
        person is upright (people.UPRIGHT_DEGREES), in_frame(landmarks, (width, height)) holds (by
        default: the shoulders' midpoint inside the frame), their face landmarks' centre lies in
        `face` (a face proposal's box (x0, y0, x1, y1) px, when given), and they are none of `found`."""
        model = getattr(self._local, "model", None)
        if model is None:
            model = self._local.model = LandmarkModel(self._threads)
        size = frame.shape[1::-1]
        first, score, _ = model(frame, roi)
        if not np.all(np.isfinite(first[:, :2])):
            return None
        try:
            second = self._person(frame, roi_from_landmarks(first, size))
        except ValueError:
            return None
        if second is None or not second.score > self.min_detection_confidence or second.score < score - SCORE_DROP \
                or not same_person(Person(first, score), second) or not upright(second.landmarks) \
                or not in_frame(second.landmarks, size) \
                or (face is not None and not in_box(second.landmarks[FACE_LANDMARKS, :2].mean(axis=0), face)) \
                or any(same_person(second, other) for other in found):
            return None
        return second

    def _body_people(self, frame: np.ndarray, found: list[Person], room: int | None,
                     confirm: bool) -> list[Person]:
        """BodyProposals' people that overlap none of `found` (PROPOSAL_IOU), `room` at most:
        whole bodies, confirmed by the landmark model on their window and again on the ROI from
        those landmarks; then bodies cut by the frame's edge, on their window's ROI alone, with a
        shoulder and a hip inside the frame (EDGE_ROI_SCALE)."""
        whole, edges = self._bodies(frame), self._bodies.edges(frame)
        proposals = [(box, roi, False) for box, roi in zip(*whole)] + [(box, roi, True) for box, roi in zip(*edges)]
        people: list[Person] = []
        for box, roi, at_edge in proposals:
            if room is not None and len(people) >= room:
                break
            taken = np.stack([p.box for p in found + people]) if found or people else np.zeros((0, 4))
            if len(taken) and box_iou(box[None], taken).max() > PROPOSAL_IOU:
                continue
            person = self._person(frame, roi)
            if confirm and at_edge and (person is None or not person.score > self.min_detection_confidence):
                person = self._confirmed(frame, roi, found + people, torso_in_frame)   # a second pass
            if person is not None and at_edge:
                person = person if torso_in_frame(person.landmarks, frame.shape[1::-1]) else None
            elif person is not None:
                person = self._person(frame, roi_from_landmarks(person.landmarks, frame.shape[1::-1]))
            if person is not None and person.score > self.min_detection_confidence \
                    and not any(same_person(person, other) for other in found + people):
                people.append(person)
        return people

    def _people(self, frame: np.ndarray, rois: list[Roi]) -> list[Person | None]:
        """_person() of each ROI, on `workers` threads when there are several."""
        if len(rois) < 2 or self._workers < 2:
            return [self._person(frame, roi) for roi in rois]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="landmarks")
        return list(self._pool.map(lambda roi: self._person(frame, roi), rois))

    def _person(self, frame: np.ndarray, roi: Roi) -> Person | None:
        """The landmark model on one ROI; None unless its score is above min_tracking_confidence
        (ThresholdingCalculator)."""
        model = getattr(self._local, "model", None)
        if model is None:
            model = self._local.model = LandmarkModel(self._threads)
        landmarks, score, world = model(frame, roi)
        if not score > self.min_tracking_confidence or not np.all(np.isfinite(landmarks[:, :2])):
            return None
        return Person(landmarks, score, world=world)

    def _largest(self, people: list[Person]) -> list[Person]:
        """Largest box first; max_people of them at most."""
        people = sorted(people, key=lambda p: -p.area)
        return people if self.max_people is None else people[:self.max_people]


def _detection(landmarks39: np.ndarray, score: float, width: int, world39: np.ndarray | None = None) -> Detection:
    """A person's Detection from their landmarks [39, 5] px (z in px), pose score and world
    landmarks [39, 3] m (None: without world3d)."""
    lm33 = np.empty((33, 4), dtype=np.float32)                        # [33, 4]
    lm33[:, :2] = landmarks39[:33, :2]
    lm33[:, 2] = landmarks39[:33, 2] / width                          # MediaPipe's z: normalized as x
    lm33[:, 3] = landmarks39[:33, 3]
    joints2d, visibility = landmarks_to_h36m(lm33[:, :2], lm33[:, 3])
    x0, y0 = lm33[:, :2].min(axis=0)
    x1, y1 = lm33[:, :2].max(axis=0)
    world3d = None if world39 is None else landmarks_to_h36m(1000.0 * world39[:33], lm33[:, 3])[0]   # mm
    return Detection(joints2d_px=joints2d, visibility=visibility, landmarks33=lm33,
                     box=(float(x0), float(y0), float(x1), float(y1)), score=float(score), world3d=world3d)
