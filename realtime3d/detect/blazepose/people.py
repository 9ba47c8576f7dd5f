"""People found by the landmark model, and the project's tests on them: which two are one person,
which are new, and which weak proposals hold up (the checks of the thorough search's
confirmation, tracker.MultiPoseDetector._confirmed). None of this is MediaPipe's, which follows
one person.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...filters import OneEuroFilter
from .landmarks import AUX
from .proposals import MATCH_IOU, core_boxes
from .rois import box_iou
from .ssd import PersonBox

#: Two people are one when their 33 landmarks lie, on median, within SAME_PERSON_DISTANCE of
#: the larger box's diagonal of each other (two ROIs that converged on one person) ...
SAME_PERSON_DISTANCE = 0.1
#: ... or when their face landmarks lie, on median, within SAME_FACE_DISTANCE of the larger
#: head's size of each other.
SAME_FACE_DISTANCE = 0.5
FACE_LANDMARKS = slice(0, 11)             # MediaPipe's face landmarks: nose, eyes, ears, mouth
#: A confirmed person's body axis (landmark 33 -> 34) lies within UPRIGHT_DEGREES of straight up
#: (the landmark model finds a person in its crop's own orientation, so a sideways crop of a
#: standing person gives a sideways person).
UPRIGHT_DEGREES = 60.0


@dataclass
class Person:
    """A person of the current frame: landmarks [39, 5] px, pose score, world landmarks [39, 3] m
    (LandmarkModel); and, in video mode, the smoother of their auxiliary landmarks."""

    landmarks: np.ndarray
    score: float
    smoother: OneEuroFilter | None = None
    world: np.ndarray | None = None

    @property
    def box(self) -> np.ndarray:
        """The extent (x0, y0, x1, y1) of the 33 landmarks."""
        xy = self.landmarks[:33, :2]
        return np.concatenate([xy.min(0), xy.max(0)])

    @property
    def area(self) -> float:
        x0, y0, x1, y1 = self.box
        return float((x1 - x0) * (y1 - y0))


def same_person(a: Person, b: Person) -> bool:
    """Two landmark sets of one person (ROIs that converged): median landmark distance within
    SAME_PERSON_DISTANCE of the larger box's diagonal; or one face (landmarks 0-10), their median
    distance within SAME_FACE_DISTANCE of the larger head (the largest distance between two of
    its face landmarks): one person's crops that disagree on the body (an upper body and a
    whole one) still share the head, and two people's heads do not overlap."""
    distance = np.median(np.linalg.norm(a.landmarks[:33, :2] - b.landmarks[:33, :2], axis=1))
    diagonal = max(np.hypot(*(a.box[2:] - a.box[:2])), np.hypot(*(b.box[2:] - b.box[:2])))
    face = np.median(np.linalg.norm(a.landmarks[FACE_LANDMARKS, :2] - b.landmarks[FACE_LANDMARKS, :2], axis=1))
    head = max(_head_size(a.landmarks), _head_size(b.landmarks))
    return bool(distance <= SAME_PERSON_DISTANCE * diagonal or face <= SAME_FACE_DISTANCE * head)


def _head_size(landmarks39: np.ndarray) -> float:
    """The largest distance between two face landmarks (0-10) of [39, >=2] px."""
    face = landmarks39[FACE_LANDMARKS, :2].astype(np.float64)
    return float(np.linalg.norm(face[:, None] - face[None], axis=-1).max())


def merged(people: list[Person]) -> list[Person]:
    """One per person: of people found twice, the first (people come tracked ones first, then
    the whole frame's detections, then the tiles')."""
    kept: list[Person] = []
    for person in people:
        if not any(same_person(person, other) for other in kept):
            kept.append(person)
    return kept


def distinct(people: list[Person]) -> list[Person]:
    """One per person in the thorough search's answer: of people whose core boxes (landmarks 33,
    34) overlap by IoU > MATCH_IOU, the first (people come surest first), as a detection is
    matched to a tracked person. Two proposals of one person can converge on two different
    poses of them, which same_person does not tell apart."""
    kept: list[Person] = []
    for person in people:
        mine = core_boxes(person.landmarks[None, list(AUX), :2])
        if not kept or box_iou(mine, core_boxes(np.stack([k.landmarks[list(AUX), :2] for k in kept]))).max() <= MATCH_IOU:
            kept.append(person)
    return kept


def shoulders_in_frame(landmarks39: np.ndarray, size: tuple[int, int]) -> bool:
    """The shoulders' midpoint (landmarks 11, 12 of [39, >=2] px) inside the frame (width, height)."""
    mid = landmarks39[[11, 12], :2].mean(axis=0)
    return bool(np.all((mid >= 0) & (mid <= np.asarray(size, dtype=np.float64))))


def in_box(point, box) -> bool:
    """A point (x, y) px inside a box (x0, y0, x1, y1) px."""
    return bool(box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3])


def upright(landmarks39: np.ndarray) -> bool:
    """The body axis (landmark 33, the body centre, -> 34, above it for a standing person; of
    [39, >=2] px) within UPRIGHT_DEGREES of straight up."""
    dx, dy = (float(v) for v in landmarks39[AUX[1], :2] - landmarks39[AUX[0], :2])
    return bool(math.degrees(math.atan2(abs(dx), -dy)) <= UPRIGHT_DEGREES)


def torso_in_frame(landmarks39: np.ndarray, size: tuple[int, int]) -> bool:
    """A shoulder and a hip (landmarks 11/12, 23/24 of [39, >=2] px) inside the frame (width, height)."""
    xy = landmarks39[[11, 12, 23, 24], :2]
    inside = np.all((xy >= 0) & (xy <= np.asarray(size, dtype=np.float64)), axis=1)   # [4]
    return bool(inside[:2].any() and inside[2:].any())


def untracked(candidates: list[PersonBox], tracked: list[Person]) -> list[PersonBox]:
    """The detected people that are none of the tracked ones: core boxes overlapping none of
    theirs (from landmarks 33, 34) by IoU > MATCH_IOU."""
    if not candidates or not tracked:
        return candidates
    ours = core_boxes(np.stack([np.asarray(c.keypoints) for c in candidates]))
    theirs = core_boxes(np.stack([p.landmarks[list(AUX), :2] for p in tracked]))
    overlap = box_iou(ours, theirs).max(axis=1)
    return [c for c, o in zip(candidates, overlap) if o <= MATCH_IOU]


