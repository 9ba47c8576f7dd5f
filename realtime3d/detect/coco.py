"""Person recall on photos with COCO person-keypoint annotations: who is found, how well.

The scoring of benchmarks/bench_recall.py and tests/test_recall.py, in one place.

- **Limb joints**: COCO's 12 (keypoints 5-16: shoulders, elbows, wrists, hips, knees, ankles),
  against MediaPipe's landmarks of the same names (MP33_LIMBS). Left and right are the person's
  own in both conventions, so they are compared as they come, never mirrored.
- **Counted people**: annotations with at least MIN_LIMB_JOINTS labelled limb joints (v > 0),
  not crowd regions.
- **Error** of a detection against an annotation: the mean, over the annotation's labelled limb
  joints, of the distance between the two joints in pixels, over sqrt(w * h) of the annotation's
  box (COCO's bbox, x y w h).
- **Matching**: one-to-one (scipy's linear_sum_assignment), pairs with an error of at most
  FOUND_ERROR only: the most pairs, then the least total error. Every annotation with a labelled
  limb joint takes part, counted or not.
- **Found**: a counted person matched to a detection.
- **Unmatched detections**: those matched to no annotation, that do not lie in the box of an
  annotation without labelled limb joints or of a crowd region (the mean of their limb joints
  inside it). A detection of a person annotated with few joints, or of a crowd, is a person and
  not a false one; a person COCO left unannotated counts as unmatched.
"""
from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from .mediapipe import LANDMARK

#: COCO's 12 limb joints: keypoints 5-16 (left/right shoulder, elbow, wrist, hip, knee, ankle).
COCO_LIMBS = np.arange(5, 17)
#: MediaPipe's landmarks of the same joints in the same order, by MediaPipe's own names (LEFT_*
#: first in each pair, as COCO): 11-16 and 23-28.
MP33_LIMBS = np.array([LANDMARK[f"{side}_{joint}"] for joint in ("SHOULDER", "ELBOW", "WRIST", "HIP", "KNEE", "ANKLE")
                       for side in ("LEFT", "RIGHT")])
#: A person counts when at least this many of their 12 limb joints are labelled.
MIN_LIMB_JOINTS = 6
#: A person is found when a detection's limb error (mean distance / sqrt(box area)) is at most this.
FOUND_ERROR = 0.5
#: Cost of a pair above FOUND_ERROR in the assignment: never chosen over a valid one.
_NO_PAIR = 1e6


@dataclass(frozen=True)
class Annotated:
    """One COCO person annotation: limbs [12, 2] px (NaN where unlabelled), box (x, y, w, h) px."""

    limbs: np.ndarray
    box: tuple[float, float, float, float]
    crowd: bool

    @property
    def labelled(self) -> int:
        """The number of labelled limb joints."""
        return int(np.isfinite(self.limbs[:, 0]).sum())

    @property
    def counted(self) -> bool:
        return not self.crowd and self.labelled >= MIN_LIMB_JOINTS


@dataclass(frozen=True)
class PhotoScore:
    """One photo's score: counted people, found people, the found people's annotation indices
    and their errors (both [found], by annotation index), detections matched to no one, and
    (detection, annotation) pairs."""

    counted: int
    found: int
    people: tuple[int, ...]
    errors: tuple[float, ...]
    unmatched: int
    pairs: tuple[tuple[int, int], ...]


def read_person_keypoints(path: str | os.PathLike) -> dict[str, list[Annotated]]:
    """A COCO person-keypoints file -> {image file name: its person annotations, file order}.
    Images without annotations map to []."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    names = {image["id"]: image["file_name"] for image in data["images"]}
    people: dict[str, list[Annotated]] = {name: [] for name in names.values()}
    for a in data["annotations"]:
        xyv = np.asarray(a.get("keypoints") or np.zeros(51), dtype=np.float64).reshape(17, 3)[COCO_LIMBS]
        limbs = np.where(xyv[:, 2:3] > 0, xyv[:, :2], np.nan)                   # [12, 2] px
        people[names[a["image_id"]]].append(Annotated(limbs, tuple(float(v) for v in a["bbox"]),
                                                      bool(a.get("iscrowd", 0))))
    return people


def limb_errors(detected: np.ndarray, annotated: list[Annotated]) -> np.ndarray:
    """detected [D, 12, 2] px (MP33_LIMBS of each detection) -> errors [D, A]: per annotation,
    the mean over its labelled limb joints of the distance over sqrt(w * h); NaN for an
    annotation with no labelled limb joint."""
    detected = np.asarray(detected, dtype=np.float64).reshape(-1, len(COCO_LIMBS), 2)
    if not annotated:
        return np.zeros((len(detected), 0))
    truth = np.stack([a.limbs for a in annotated])                                  # [A, 12, 2]
    scale = np.sqrt([max(a.box[2] * a.box[3], 1e-9) for a in annotated])           # [A]
    distance = np.linalg.norm(detected[:, None] - truth[None], axis=-1)            # [D, A, 12]
    with np.errstate(invalid="ignore"):
        return np.nanmean(np.where(np.isfinite(distance), distance, np.nan), axis=-1) / scale \
            if np.isfinite(distance).any() else np.full(distance.shape[:2], np.nan)


def score_photo(detected: np.ndarray, annotated: list[Annotated]) -> PhotoScore:
    """The detections' limb joints [D, 12, 2] px against a photo's annotations (module docstring)."""
    detected = np.asarray(detected, dtype=np.float64).reshape(-1, len(COCO_LIMBS), 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)                             # all-NaN rows: no joints
        errors = limb_errors(detected, annotated)                                   # [D, A]
    valid = np.isfinite(errors) & (errors <= FOUND_ERROR)
    pairs: list[tuple[int, int]] = []
    if valid.any():
        rows, cols = linear_sum_assignment(np.where(valid, errors, _NO_PAIR))
        pairs = [(int(d), int(a)) for d, a in zip(rows, cols) if valid[d, a]]
    by_annotation = {a: d for d, a in pairs}
    counted = [i for i, a in enumerate(annotated) if a.counted]
    found = [i for i in counted if i in by_annotation]
    matched = {d for d, _ in pairs}
    boxes = [a.box for a in annotated if a.crowd or a.labelled == 0]
    unmatched = 0
    for d in range(len(detected)):
        if d in matched:
            continue
        x, y = detected[d].mean(axis=0)
        if not any(bx <= x <= bx + bw and by <= y <= by + bh for bx, by, bw, bh in boxes):
            unmatched += 1
    return PhotoScore(len(counted), len(found), tuple(found), tuple(float(errors[by_annotation[i], i]) for i in found),
                      unmatched, tuple(sorted(pairs)))
