"""The project's own proposals (not MediaPipe's, which keeps the best detection of the whole frame).

For the people that BlazePose's person detector, which keys on the face, misses at
min_detection_confidence:

- tilings (tile_rois, TILES, SEARCH_TILES): the person detector also on square tiles, for small
  people; every detection is a person, and the passes are merged on core boxes (core_boxes);
- weak detections (WEAK_SCORE): the person detector's detections below min_detection_confidence,
  confirmed by two landmark passes before they count (tracker.MultiPoseDetector._confirmed);
- faces (face_roi): MediaPipe's full-range face detector's faces (ssd.FaceDetector), each
  turned into a first ROI for the landmark model;
- bodies (BodyProposals): OpenCV's HOG people detector (Dalal & Triggs, 2005; its default SVM is
  inside OpenCV), on the frame and on its side strips mirrored across the frame's edge, for
  walkers seen from behind or side-on and people cut by the frame's edge;
- dark frames (levels_lut): stretched before the models see them.

Every pass of the person detector itself is MediaPipe's (ssd.py); what is added is where it
looks and what is kept.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from ..detection import check_frame as _checked
from .models import DETECTOR_MODEL, litert_interpreter, outputs_by_name
from .rois import Roi, apply_affine, box_iou, crop_to_frame, whole_frame
from .ssd import (DETECTOR_SIZE, NMS_IOU, NUM_KEYPOINTS, PersonBox, decode_detections, ssd_anchors, ssd_pass,
                  weighted_nms)

#: A person's *core box*: the square centred on the body centre (detector keypoint 0, landmark
#: 33) with side the distance to the size point (keypoint 1, landmark 34), about half their
#: height. It follows the person's size (the detector's own boxes are about a fifth of each
#: pass's input whatever the person's size), and two people side by side do not overlap in it.
#: Core boxes overlapping by IoU > MATCH_IOU are one person: a detection and a tracked person,
#: or the passes over tiles (weighted NMS), with the detector's own NMS threshold.
MATCH_IOU = NMS_IOU
#: Tiles: `tiles` square tiles along the frame's long side (as many along the short side as
#: needed to cover it), neighbours overlapping by at least TILE_OVERLAP of their side, so that a
#: person cut by one tile's edge is whole in the next.
TILE_OVERLAP = 0.25
#: MultiPoseDetector's default tiling: the whole frame and 2 tiles.
TILES = 2
#: Tilings of a photo's thorough search: the whole frame, then the tiles of each count in turn
#: (a person found by an earlier pass keeps that pass's detection, so a later tiling only adds).
SEARCH_TILES = (2, 3)
#: Weak detections: the person detector's people scoring WEAK_SCORE up to
#: min_detection_confidence, each confirmed before it counts.
WEAK_SCORE = 0.3
#: BodyProposals: HOG on a copy of the frame scaled to HOG_WIDTH px wide, windows with an SVM
#: weight of at least HOG_MIN_WEIGHT.
HOG_WIDTH = 640
HOG_MIN_WEIGHT = 0.5
#: A proposal overlapping a person already found by box IoU > PROPOSAL_IOU is that person.
PROPOSAL_IOU = 0.3
#: BodyProposals.edges: each side's strip, EDGE_STRIP of the frame's height wide, scaled to
#: EDGE_HEIGHT px high and mirrored across the edge, so that a body cut near its middle is whole
#: again; windows centred within a quarter of their width of the edge are kept. Such a window's
#: ROI is the upright square of EDGE_ROI_SCALE of its height.
EDGE_HEIGHT = 320
EDGE_STRIP = 0.3
EDGE_ROI_SCALE = 0.75
#: face_roi: a face's person has the hip centre FACE_HIP_OFFSET face sides below the face's
#: centre; their first ROI is FACE_ROI_SIDE face sides wide (as wide as MediaPipe's would be).
FACE_HIP_OFFSET = 3.3
FACE_ROI_SIDE = 10.5
#: levels_lut: a frame whose luminance spans less than 255 / LEVELS_MIN_GAIN between its
#: LEVELS_PERCENTILE and 100 - LEVELS_PERCENTILE percentiles (measured LEVELS_WIDTH px wide) is
#: stretched to 0..255.
LEVELS_PERCENTILE = 0.5
LEVELS_MIN_GAIN = 1.5
LEVELS_WIDTH = 160


def tile_rois(width: int, height: int, tiles: int) -> list[Roi]:
    """Square tiles covering a frame, `tiles` of them along its long side, neighbours overlapping
    by at least TILE_OVERLAP, row by row; [] for tiles = 1 (the whole frame is its own pass)."""
    if int(tiles) < 1:
        raise ValueError(f"tiles must be >= 1, got {tiles}")
    if int(tiles) == 1:
        return []
    side = max(width, height) / (tiles - (tiles - 1) * TILE_OVERLAP)
    short = min(width, height)
    across = 1 if side >= short else math.ceil((short - side) / (side * (1 - TILE_OVERLAP))) + 1
    along = np.linspace(side / 2, max(width, height) - side / 2, int(tiles))
    other = np.linspace(side / 2, short - side / 2, across) if across > 1 else np.array([short / 2])
    centres = [(u, v) if width >= height else (v, u) for v in other for u in along]
    return [Roi(float(x), float(y), float(min(side, width)), float(min(side, height)), 0.0) for x, y in centres]


def core_boxes(keypoints: np.ndarray) -> np.ndarray:
    """Core boxes [N, 4] (x0, y0, x1, y1) of people given by their body centre and size point,
    keypoints [N, >=2, 2] px (the detector's keypoints 0, 1; landmarks 33, 34): the square
    centred on the first, of side the distance to the second (MATCH_IOU)."""
    keypoints = np.asarray(keypoints, dtype=np.float64)
    if keypoints.ndim != 3 or keypoints.shape[1] < 2 or keypoints.shape[2] != 2:
        raise ValueError(f"keypoints must be [N, >=2, 2], got {list(keypoints.shape)}")
    half = np.linalg.norm(keypoints[:, 1] - keypoints[:, 0], axis=1)[:, None] / 2
    return np.concatenate([keypoints[:, 0] - half, keypoints[:, 0] + half], axis=1)


def _merged_passes(scores: np.ndarray, boxes: np.ndarray, keypoints: np.ndarray,
                   passes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Several passes' detections (scores [K], boxes [K, 4], keypoints [K, 4, 2], frame px, the
    pass of each [K]) -> one per person: weighted NMS on their core boxes, boxes and keypoints
    averaged alike; two people of one pass (one behind the other) are never merged."""
    if len(scores) < 2:
        return scores, boxes, keypoints
    both = np.concatenate([keypoints, boxes.reshape(-1, 2, 2)], axis=1)          # [K, 6, 2]
    scores, _, both = weighted_nms(scores, core_boxes(keypoints), both, MATCH_IOU, passes)
    return scores, both[:, NUM_KEYPOINTS:].reshape(-1, 4), both[:, :NUM_KEYPOINTS]


class PersonDetector:
    """BlazePose's person detector (pose_detection.tflite) on a frame: every person, as
    PersonBox in frame pixels, by decreasing score.

    min_score: TensorsToDetectionsCalculator's min_score_thresh (mp.solutions.pose's
    min_detection_confidence). tiles: 1, the whole frame only, MediaPipe's pass; n >= 2: the
    whole frame and n square tiles along its long side (tile_rois), for small people.
    weak_score (None: min_score): detections scoring weak_score..min_score are given too, after
    the others (their score tells them apart), for the caller to confirm; they never change the
    others, which are MediaPipe's."""

    def __init__(self, min_score: float = 0.5, threads: int = 1, tiles: int = 1, weak_score: float | None = None):
        weak_score = min_score if weak_score is None else weak_score
        if not 0.0 <= min_score <= 1.0 or not 0.0 <= weak_score <= min_score:
            raise ValueError(f"min_score and weak_score must satisfy 0 <= weak_score <= min_score <= 1, "
                             f"got {min_score} and {weak_score}")
        if int(tiles) < 1:
            raise ValueError(f"tiles must be >= 1, got {tiles}")
        self.min_score, self.weak_score, self.tiles = float(min_score), float(weak_score), int(tiles)
        self._interpreter = litert_interpreter(DETECTOR_MODEL, threads)
        self._input = self._interpreter.get_input_details()[0]["index"]
        outputs = outputs_by_name(self._interpreter)
        self._boxes_out, self._scores_out = outputs["Identity"], outputs["Identity_1"]
        self._anchors = ssd_anchors()                                        # [2254, 2]

    def __call__(self, frame_rgb: np.ndarray) -> list[PersonBox]:
        frame = _checked(frame_rgb, "RGB")
        height, width = frame.shape[:2]
        return self.detect_regions(frame, [[whole_frame(width, height)], tile_rois(width, height, self.tiles)])

    def detect_regions(self, frame_rgb: np.ndarray, tilings: list[list[Roi]], weak: bool = True) -> list[PersonBox]:
        """One detector pass per ROI, each letterboxed as the whole frame is; tilings: the ROIs
        grouped by tiling, in priority order, the first one's first ROI the whole frame (or the
        ROI whose people come first). The first pass's people come first, as that pass gives
        them (for the whole frame: MediaPipe's output); then each tiling's people that are none
        of those before, by decreasing score: merged among themselves by weighted NMS on core
        boxes, and dropped when their core box overlaps one before by IoU > MATCH_IOU
        (core_boxes: the passes' own boxes scale with the pass, not with the person), so that
        a person found by an earlier tiling keeps that tiling's keypoints; then the weak
        detections of every pass (weak_score; none when `weak` is False), merged alike, that
        overlap none of those."""
        frame = _checked(frame_rgb, "RGB")
        rois = [roi for tiling in tilings for roi in tiling]
        if not rois:
            raise ValueError("tilings must hold at least one Roi")
        passes = [self._detect_in(frame, roi, self.weak_score if weak else self.min_score)
                  for roi in rois]                                              # [(strong, weak)]
        tiling_of = np.concatenate([np.full(len(t), i) for i, t in enumerate(tilings)]).astype(int)
        scores, boxes, keypoints = passes[0][0]
        groups = [[p[0] for p, t in zip(passes[1:], tiling_of[1:]) if t == i] for i in range(len(tilings))]
        for found in (*groups, [p[1] for p in passes]):
            if not found:
                continue
            passes_of = np.concatenate([np.full(len(f[0]), i) for i, f in enumerate(found)])
            extra_scores, extra_boxes, extra_keypoints = _merged_passes(*(np.concatenate(p) for p in zip(*found)),
                                                                        passes_of)
            overlap = box_iou(core_boxes(extra_keypoints), core_boxes(keypoints)).max(axis=1, initial=0.0)
            new = overlap <= MATCH_IOU
            scores = np.concatenate([scores, extra_scores[new]])
            boxes = np.concatenate([boxes, extra_boxes[new]])
            keypoints = np.concatenate([keypoints, extra_keypoints[new]])
        return [PersonBox(float(s), tuple(float(v) for v in b), k.astype(np.float32))
                for s, b, k in zip(scores, boxes, keypoints)]

    def _detect_in(self, frame: np.ndarray, roi: Roi, floor: float) -> tuple[tuple, tuple]:
        """One detector pass over the ROI, letterboxed -> the detections scoring min_score or
        more, merged by weighted NMS in the pass (pose_detection_cpu.pbtxt), and the weak ones
        (floor..min_score), merged among themselves, that overlap none of those (IoU >
        NMS_IOU): each (scores [K], boxes [K, 4] px, keypoints [K, 4, 2] px)."""
        square, raw_boxes, raw_scores = ssd_pass(self, frame, roi, DETECTOR_SIZE)   # [2254, 12], [2254]
        scores, boxes, keypoints = decode_detections(raw_boxes, raw_scores, self._anchors, floor)
        above = scores >= self.min_score
        strong = weighted_nms(scores[above], boxes[above], keypoints[above])
        weak = weighted_nms(scores[~above], boxes[~above], keypoints[~above])
        if len(weak[0]) and len(strong[0]):
            apart = box_iou(weak[1], strong[1]).max(axis=1) <= NMS_IOU
            weak = tuple(w[apart] for w in weak)
        to_frame = crop_to_frame(square, 1.0)
        return tuple((s, apply_affine(to_frame, b.reshape(-1, 2, 2)).reshape(-1, 4),   # rotation 0: a box
                      apply_affine(to_frame, k)) for s, b, k in (strong, weak))


class BodyProposals:
    """Upright full-body people from OpenCV's HOG people detector (HOG_WIDTH, HOG_MIN_WEIGHT):
    frame_rgb [H, W, 3] -> (boxes [K, 4] (x0, y0, x1, y1) frame px, their square upright ROIs),
    the strongest first. A proposal's ROI is the square of its window's height around its centre
    (the window holds the person with a margin, as the landmark model's crops do)."""

    def __init__(self, width: int = HOG_WIDTH, min_weight: float = HOG_MIN_WEIGHT):
        self.width, self.min_weight = int(width), float(min_weight)
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())

    def __call__(self, frame_rgb: np.ndarray) -> tuple[np.ndarray, list[Roi]]:
        height, width = frame_rgb.shape[:2]
        scale = min(1.0, self.width / width)
        image = cv2.resize(frame_rgb, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA) \
            if scale < 1.0 else frame_rgb
        if min(image.shape[:2]) < 128:                     # smaller than one HOG window: nobody to propose
            return np.zeros((0, 4)), []
        rects, weights = self._hog.detectMultiScale(image, winStride=(8, 8), padding=(8, 8), scale=1.05)
        rects, weights = np.asarray(rects, np.float64).reshape(-1, 4) / scale, np.ravel(weights)
        keep = np.flatnonzero(weights >= self.min_weight)
        keep = keep[np.argsort(-weights[keep], kind="stable")]
        boxes = np.stack([rects[keep, 0], rects[keep, 1], rects[keep, 0] + rects[keep, 2],
                          rects[keep, 1] + rects[keep, 3]], axis=1) if len(keep) else np.zeros((0, 4))
        return boxes, _upright_rois(boxes, 1.0)

    def edges(self, frame_rgb: np.ndarray) -> tuple[np.ndarray, list[Roi]]:
        """People cut by the frame's left or right edge (EDGE_HEIGHT, EDGE_STRIP): frame_rgb
        [H, W, 3] -> (their HOG windows [K, 4] (x0, y0, x1, y1) frame px, reaching past the
        edge; their upright ROIs, EDGE_ROI_SCALE of the window's height), the strongest first."""
        height, width = frame_rgb.shape[:2]
        scale = EDGE_HEIGHT / height
        strip = min(width, max(1, round(EDGE_STRIP * height)))           # frame px
        found, weights = [], []
        for side in ("left", "right"):
            part = frame_rgb[:, :strip] if side == "left" else frame_rgb[:, width - strip:]
            part = cv2.resize(part, (max(2, round(strip * scale)), EDGE_HEIGHT), interpolation=cv2.INTER_AREA)
            pad = part.shape[1] - 1                                       # BORDER_REFLECT_101 takes at most this
            mirrored = cv2.copyMakeBorder(part, 0, 0, pad if side == "left" else 0, 0 if side == "left" else pad,
                                          cv2.BORDER_REFLECT_101)
            if mirrored.shape[1] < 64:                                   # narrower than one HOG window
                continue
            edge = pad if side == "left" else part.shape[1]              # the frame's edge in `mirrored`
            rects, weight = self._hog.detectMultiScale(mirrored, winStride=(8, 8), padding=(8, 8), scale=1.05)
            for (x, y, w, h), wt in zip(np.asarray(rects, np.float64).reshape(-1, 4), np.ravel(weight)):
                if abs(x + 0.5 * w - edge) > 0.25 * w:
                    continue
                x0 = (x - pad) / scale if side == "left" else width - strip + x / scale
                found.append((x0, y / scale, x0 + w / scale, (y + h) / scale))
                weights.append(float(wt))
        order = np.argsort(-np.asarray(weights), kind="stable")
        boxes = np.asarray(found, np.float64).reshape(-1, 4)[order]
        return boxes, _upright_rois(boxes, EDGE_ROI_SCALE)


def _upright_rois(boxes: np.ndarray, scale: float) -> list[Roi]:
    """Upright square ROIs of `scale` times each box's height [K, 4], around its centre."""
    return [Roi(float(0.5 * (b[0] + b[2])), float(0.5 * (b[1] + b[3])), scale * float(b[3] - b[1]),
                scale * float(b[3] - b[1]), 0.0) for b in boxes]


def face_roi(box) -> Roi:
    """The landmark model's first ROI for a person whose face box (x0, y0, x1, y1) px is given:
    upright, centred FACE_HIP_OFFSET face sides below the face's centre (the hips), of side
    FACE_ROI_SIDE face sides."""
    x0, y0, x1, y1 = (float(v) for v in box)
    side = 0.5 * ((x1 - x0) + (y1 - y0))
    return Roi(0.5 * (x0 + x1), 0.5 * (y0 + y1) + FACE_HIP_OFFSET * side, FACE_ROI_SIDE * side,
               FACE_ROI_SIDE * side, 0.0)


def levels_lut(frame_rgb: np.ndarray) -> np.ndarray | None:
    """The lookup table [256] uint8 that stretches a frame's [H, W, 3] luminance from 0 to 255
    between its LEVELS_PERCENTILE and 100 - LEVELS_PERCENTILE percentiles (measured on a copy
    LEVELS_WIDTH px wide), when that gains at least LEVELS_MIN_GAIN; None otherwise. The same
    table serves the three channels: a gray frame stays gray."""
    height, width = frame_rgb.shape[:2]
    small = cv2.resize(frame_rgb, (LEVELS_WIDTH, max(1, round(height * LEVELS_WIDTH / width))),
                       interpolation=cv2.INTER_AREA) if width > LEVELS_WIDTH else frame_rgb
    luma = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    low, high = np.percentile(luma, [LEVELS_PERCENTILE, 100.0 - LEVELS_PERCENTILE])
    if high - low < 1.0 or 255.0 / (high - low) < LEVELS_MIN_GAIN:
        return None
    return np.clip((np.arange(256) - low) * 255.0 / (high - low) + 0.5, 0, 255).astype(np.uint8)


