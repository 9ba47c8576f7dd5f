"""BlazePose-family SSD detectors as MediaPipe's graphs run them (port): anchors, decoding,
weighted non-maximum suppression and the letterboxed pass, for the person detector
(modules/pose_detection/pose_detection_cpu.pbtxt) and the full-range face detector
(modules/face_detection/face_detection_full_range.pbtxt, face_detection.pbtxt).

The person detector's pipeline: ImageToTensorCalculator (the ROI letterboxed into 224x224, zero
border, values in [-1, 1]) -> pose_detection.tflite -> SsdAnchorsCalculator (2254 anchors) ->
TensorsToDetectionsCalculator (XYWH boxes and 4 keypoints per anchor, sigmoid scores clipped at
+-100, score >= min_score) -> NonMaxSuppressionCalculator (WEIGHTED, IoU > 0.3) ->
DetectionLetterboxRemovalCalculator. A detection's box is the face's (about a fifth of the
detector's input, whatever the person's size); its keypoints are 0: mid-hip centre, 1: a point
whose distance and direction from 0 give the full body's size and rotation, 2 and 3: the same
for the upper body. pose_detection_to_roi.pbtxt turns one into the landmark model's ROI
(roi_from_person).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from ..detection import check_frame as _checked
from .models import FACE_MODEL, litert_interpreter, outputs_by_name
from .rois import Roi, alignment_roi, apply_affine, box_iou, crop, crop_to_frame

# modules/pose_detection/pose_detection_cpu.pbtxt
DETECTOR_SIZE = 224                       # ImageToTensorCalculator output_tensor_width/height
NUM_ANCHORS = 2254                        # TensorsToDetectionsCalculator num_boxes
_ANCHOR_STRIDES = (8, 16, 32, 32, 32)     # SsdAnchorsCalculator strides (num_layers 5)
_ANCHOR_OFFSET = 0.5                      # anchor_offset_x / anchor_offset_y
_ANCHORS_PER_LAYER = 2                    # aspect_ratios [1.0] + interpolated_scale_aspect_ratio
#                                           (proto default 1.0): two anchors per cell and layer
NUM_KEYPOINTS = 4                         # num_keypoints (num_coords 12: box 4 + 4 keypoints x 2)
_BOX_SCALE = 224.0                        # x_scale = y_scale = w_scale = h_scale
_SCORE_CLIP = 100.0                       # score_clipping_thresh (then sigmoid_score)
NMS_IOU = 0.3                             # NonMaxSuppressionCalculator min_suppression_threshold
# modules/face_detection/face_detection_full_range.pbtxt and face_detection.pbtxt
FACE_SIZE = 192                           # tensor_width / tensor_height
FACE_STRIDES = (4,)                       # num_layers 1, strides [4], interpolated_scale_aspect_ratio
#                                           0: 48x48 cells of one anchor each, num_boxes 2304
FACE_MIN_SCORE = 0.6                      # min_score_thresh


def ssd_anchors(size: int = DETECTOR_SIZE, strides: tuple[int, ...] = _ANCHOR_STRIDES,
                per_layer: int = _ANCHORS_PER_LAYER) -> np.ndarray:
    """SsdAnchorsCalculator -> anchor centres [A, 2] (x, y) in 0..1 of the size x size input;
    by default pose_detection_cpu.pbtxt's options (A = 2254). fixed_anchor_size: every anchor's
    w = h = 1. Layers of equal stride (the three of 32) share one grid: their anchors come cell by
    cell, together. per_layer: anchors per cell and layer."""
    centres = []
    layer = 0
    while layer < len(strides):
        stride = strides[layer]
        same = sum(1 for s in strides[layer:] if s == stride)            # consecutive, as the calculator
        cells = math.ceil(size / stride)
        grid = (np.arange(cells) + _ANCHOR_OFFSET) / cells
        y, x = np.meshgrid(grid, grid, indexing="ij")
        xy = np.stack([x.ravel(), y.ravel()], axis=1)                     # [cells^2, 2]
        centres.append(np.repeat(xy, same * per_layer, axis=0))
        layer += same
    return np.concatenate(centres).astype(np.float32)


def decode_detections(raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray, min_score: float,
                      box_scale: float = _BOX_SCALE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """TensorsToDetectionsCalculator: raw_boxes [A, 4 + 2 P], raw_scores [A] (logits), anchors
    [A, 2] -> (scores [K], boxes [K, 4] x0 y0 x1 y1, keypoints [K, P, 2]), in 0..1 of the
    detector's input, for the K anchors with score >= min_score and a box of non-negative size.
    The person detector: A = 2254, P = 4, box_scale 224; the face detector: 2304, 6, 192."""
    if raw_boxes.ndim != 2 or raw_boxes.shape[0] != len(anchors) or raw_boxes.shape[1] < 4 \
            or raw_boxes.shape[1] % 2 or raw_scores.shape != (len(anchors),):
        raise ValueError(f"raw detector outputs must be [{len(anchors)}, 4 + 2 P] and "
                         f"[{len(anchors)}], got {list(raw_boxes.shape)} and {list(raw_scores.shape)}")
    scores = 1.0 / (1.0 + np.exp(-np.clip(raw_scores.astype(np.float64), -_SCORE_CLIP, _SCORE_CLIP)))
    keep = scores >= min_score
    raw, anchor = raw_boxes[keep].astype(np.float64), anchors[keep].astype(np.float64)
    centre = raw[:, 0:2] / box_scale + anchor                           # reverse_output_order: XYWH
    size = raw[:, 2:4] / box_scale                                      # anchor w = h = 1
    boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=1)
    keypoints = raw[:, 4:].reshape(len(raw), (raw.shape[1] - 4) // 2, 2) / box_scale + anchor[:, None]
    ok = np.all(size >= 0, axis=1)
    return scores[keep][ok], boxes[ok], keypoints[ok]


def weighted_nms(scores: np.ndarray, boxes: np.ndarray, keypoints: np.ndarray, iou_threshold: float = NMS_IOU,
                 groups: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """NonMaxSuppressionCalculator, algorithm WEIGHTED: scores [K], boxes [K, 4], keypoints
    [K, P, 2] -> the same for the merged detections, by decreasing score. The best remaining
    detection and every one overlapping it by IoU > iou_threshold become one: box and keypoints
    averaged with the scores as weights, the best one's score kept. groups [K] (optional): a
    detection never merges with another of its group (the detector's passes: one pass's NMS has
    already told its people apart)."""
    order = np.argsort(-scores, kind="stable")
    out_scores, out_boxes, out_keypoints = [], [], []
    while order.size:
        best = order[0]
        similar = box_iou(boxes[order], boxes[best][None])[:, 0] > iou_threshold
        if groups is not None:
            similar &= groups[order] != groups[best]
        similar[0] = True
        members = order[similar]
        weights = scores[members][:, None]
        out_scores.append(scores[best])
        out_boxes.append((boxes[members] * weights).sum(0) / weights.sum())
        out_keypoints.append((keypoints[members] * weights[..., None]).sum(0) / weights.sum())
        order = order[~similar]
    if not out_scores:
        return scores[:0], boxes[:0], keypoints[:0]
    return np.array(out_scores), np.stack(out_boxes), np.stack(out_keypoints)


@dataclass(frozen=True)
class PersonBox:
    """One person found by the person detector, in frame pixels: score 0..1, the face box
    (x0, y0, x1, y1), and keypoints [4, 2] (0: mid-hip centre, 1: full-body size and rotation
    point, 2: mid-shoulder centre, 3: upper-body size and rotation point)."""

    score: float
    box: tuple[float, float, float, float]
    keypoints: np.ndarray

def _letterboxed(roi: Roi) -> Roi:
    """ImageToTensorCalculator keep_aspect_ratio (image_to_tensor_utils.cc PadRoi): the ROI
    grown to a square around its centre; what falls outside the frame is the zero border."""
    side = max(roi.width, roi.height)
    return Roi(roi.cx, roi.cy, side, side, roi.rotation)


def ssd_pass(detector, frame: np.ndarray, roi: Roi, size: int) -> tuple[Roi, np.ndarray, np.ndarray]:
    """One pass of a BlazePose-family SSD (PersonDetector, FaceDetector: their LiteRT interpreter
    and its input, boxes and scores tensors) over the ROI, letterboxed into size x size (zero
    border, values in [-1, 1], ImageToTensorCalculator) -> (the letterboxed square, raw boxes
    [A, 4 + 2 P], raw scores [A] logits)."""
    square = _letterboxed(roi)
    pixels = crop(frame, square, size, cv2.BORDER_CONSTANT)
    tensor = np.ascontiguousarray(pixels, dtype=np.float32) * np.float32(2.0 / 255.0) - np.float32(1.0)
    detector._interpreter.set_tensor(detector._input, tensor[None])
    detector._interpreter.invoke()
    return (square, detector._interpreter.get_tensor(detector._boxes_out)[0],
            detector._interpreter.get_tensor(detector._scores_out)[0, :, 0])


class FaceDetector:
    """MediaPipe's full-range face detector (face_detection_full_range_sparse.tflite, BlazeFace
    for faces up to about 5 m) on ROIs of a frame, as face_detection.pbtxt runs it: each ROI
    letterboxed into 192x192 (zero border, values in [-1, 1]), 2304 SSD anchors (FACE_STRIDES),
    FACE_MIN_SCORE, weighted NMS (IoU > NMS_IOU, the graph's min_suppression_threshold 0.3).

    detector(frame_rgb, rois) -> (scores [K], face boxes [K, 4] (x0, y0, x1, y1) frame px), by
    decreasing score; the passes' faces merged by the same weighted NMS (a face box follows the
    face's size, so plain IoU matches one face seen in two passes)."""

    def __init__(self, min_score: float = FACE_MIN_SCORE, threads: int = 1):
        if not 0.0 <= min_score <= 1.0:
            raise ValueError(f"min_score must be in 0..1, got {min_score}")
        self.min_score = float(min_score)
        self._interpreter = litert_interpreter(FACE_MODEL, threads)
        self._input = self._interpreter.get_input_details()[0]["index"]
        outputs = outputs_by_name(self._interpreter)
        self._boxes_out, self._scores_out = outputs["Identity"], outputs["Identity_1"]
        self._anchors = ssd_anchors(FACE_SIZE, FACE_STRIDES, 1)              # [2304, 2]

    def __call__(self, frame_rgb: np.ndarray, rois: list[Roi]) -> tuple[np.ndarray, np.ndarray]:
        frame = _checked(frame_rgb, "RGB")
        scores, boxes = [np.zeros(0)], [np.zeros((0, 4))]
        for roi in rois:
            square, raw_boxes, raw_scores = ssd_pass(self, frame, roi, FACE_SIZE)   # [2304, 16], [2304]
            s, b, k = weighted_nms(*decode_detections(raw_boxes, raw_scores, self._anchors, self.min_score,
                                                      FACE_SIZE))
            scores.append(s)
            boxes.append(apply_affine(crop_to_frame(square, 1.0), b.reshape(-1, 2, 2)).reshape(-1, 4))
        scores, boxes = np.concatenate(scores), np.concatenate(boxes)
        if len(scores) > 1:
            scores, boxes, _ = weighted_nms(scores, boxes, np.zeros((len(scores), 0, 2)))
        return scores, boxes


def roi_from_person(person: PersonBox) -> Roi:
    """The landmark model's ROI for a detected person (pose_detection_to_roi.pbtxt): aligned on
    keypoints 0 -> 1, square, x1.25."""
    keypoints = np.asarray(person.keypoints, dtype=np.float64)
    if keypoints.shape != (NUM_KEYPOINTS, 2):
        raise ValueError(f"person.keypoints must be [{NUM_KEYPOINTS}, 2], got {list(keypoints.shape)}")
    return alignment_roi(keypoints[0], keypoints[1])


