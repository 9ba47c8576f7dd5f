"""BlazePose's landmark model on one ROI, and the next ROI from its landmarks (port).

modules/pose_landmark/pose_landmark_by_roi_cpu.pbtxt and
tensors_to_pose_landmarks_and_segmentation.pbtxt: ImageToTensorCalculator (the rotated ROI into
256x256, values in [0, 1], border mode left unset, which is BORDER_REPLICATE:
image_to_tensor_utils.cc GetBorderMode) -> pose_landmark_full.tflite (model_complexity=1) -> the
pose-presence score as the model gives it (TensorsToFloatsCalculator, no activation; the model
ends in a sigmoid) -> TensorsToLandmarksCalculator (39 landmarks, x and y / 256, sigmoid
visibility and presence) -> RefineLandmarksFromHeatmapCalculator (kernel 7, min confidence 0.5)
-> PoseLandmarksAndSegmentationInverseProjection (LandmarkProjectionCalculator: from the rotated
ROI back to the frame; z scaled as x). The world landmarks (GHUM 3D, metres, origin between the
hips): TensorsToLandmarksCalculator (39, no normalization) -> WorldLandmarkProjectionCalculator
(the ROI's rotation undone; no scale, no translation).

modules/pose_landmark/pose_landmarks_to_roi.pbtxt: the next frame's ROI is aligned on the
auxiliary landmarks 33 (body centre) -> 34 (size and rotation point), which
pose_landmark_filtering.pbtxt always smooths first with a One Euro filter (smoothed_aux).
"""
from __future__ import annotations

import cv2
import numpy as np

from ...filters import OneEuroFilter
from ..detection import check_frame as _checked
from .models import LANDMARK_MODEL, litert_interpreter, outputs_by_name
from .rois import Roi, alignment_roi, apply_affine, crop, crop_to_frame

# modules/pose_landmark/pose_landmark_by_roi_cpu.pbtxt, tensors_to_pose_landmarks_and_segmentation.pbtxt
LANDMARK_SIZE = 256                       # ImageToTensorCalculator output size; TensorsToLandmarks
#                                           input_image_width / input_image_height
NUM_LANDMARKS_ALL = 39                    # 33 landmarks + 2 auxiliary (33, 34) + 4 unused
AUX = (33, 34)                            # SplitNormalizedLandmarkListCalculator ranges 33..35
_HEATMAP_KERNEL = 7                       # RefineLandmarksFromHeatmapCalculator kernel_size
_HEATMAP_MIN_CONFIDENCE = 0.5             # min_confidence_to_refine (proto default)
# modules/pose_landmark/pose_landmark_filtering.pbtxt: the auxiliary landmarks' One Euro filter
AUX_MIN_CUTOFF, AUX_BETA, AUX_DERIVATE_CUTOFF = 0.01, 10.0, 1.0
AUX_FREQUENCY_HZ = 30.0                   # mediapipe/python/solution_base.py: 33333 us per frame
_MIN_OBJECT_SCALE = 1e-6                  # min_allowed_object_scale: below it, unsmoothed


def refine_from_heatmap(xy: np.ndarray, heatmap: np.ndarray) -> np.ndarray:
    """RefineLandmarksFromHeatmapCalculator: landmarks xy [39, 2] in 0..1 of the crop, heatmap
    [64, 64, 39] (logits) -> xy [39, 2], each moved to the sigmoid-weighted mean of the 7x7
    heatmap cells around it when the largest of them is >= 0.5 (cell c at c / 64). As the
    calculator does, a landmark outside the heatmap keeps its place: its cell is the truncated
    (towards zero) product, and the row is checked against the height through the column
    (harmless: the heatmap is square, and a row past the bottom finds no cells)."""
    hm_h, hm_w, channels = heatmap.shape
    out = np.array(xy, dtype=np.float64)
    col = np.trunc(out[:, 0] * hm_w).astype(np.int64)
    row = np.trunc(out[:, 1] * hm_h).astype(np.int64)
    inside = (col >= 0) & (col < hm_w) & (row >= 0) & (col < hm_h)
    offsets = np.arange(_HEATMAP_KERNEL) - (_HEATMAP_KERNEL - 1) // 2
    rows = row[:, None] + offsets                                        # [39, 7]
    cols = col[:, None] + offsets
    valid = ((rows >= 0) & (rows < hm_h))[:, :, None] & ((cols >= 0) & (cols < hm_w))[:, None, :]
    channel = np.arange(channels)[:, None, None]
    logits = heatmap[np.clip(rows, 0, hm_h - 1)[:, :, None], np.clip(cols, 0, hm_w - 1)[:, None, :], channel]
    confidence = np.where(valid, 1.0 / (1.0 + np.exp(-logits.astype(np.float64))), 0.0)   # [39, 7, 7]
    total = confidence.sum(axis=(1, 2))
    refine = inside & (confidence.max(axis=(1, 2), initial=0.0) >= _HEATMAP_MIN_CONFIDENCE) & (total > 0)
    safe = np.where(total > 0, total, 1.0)
    mean_col = (confidence * cols[:, None, :]).sum(axis=(1, 2)) / safe / hm_w
    mean_row = (confidence * rows[:, :, None]).sum(axis=(1, 2)) / safe / hm_h
    out[refine, 0], out[refine, 1] = mean_col[refine], mean_row[refine]
    return out


class LandmarkModel:
    """BlazePose's landmark model, full (pose_landmark_full.tflite: mp.solutions.pose's
    model_complexity=1), on one ROI of a frame.

    model(frame_rgb, roi) -> (landmarks [39, 5] float32, pose score 0..1, world [39, 3] float32):
    per landmark x, y in frame pixels, z in pixels too (MediaPipe's z, which is scaled as x, times
    the frame width; negative: nearer the camera than the hips), visibility and presence in 0..1;
    and MediaPipe's world landmarks in metres, origin between the hips, the frame's axes (x right,
    y down, z away from the camera). Landmarks 0..32 are MediaPipe's 33, 33 and 34 the auxiliary
    ones that give the next ROI, 35..38 unused."""

    def __init__(self, threads: int = 1):
        self._interpreter = litert_interpreter(LANDMARK_MODEL, threads)
        self._input = self._interpreter.get_input_details()[0]["index"]
        outputs = outputs_by_name(self._interpreter)
        self._landmarks_out = outputs["Identity"]      # [1, 195]
        self._score_out = outputs["Identity_1"]        # [1, 1]
        self._heatmap_out = outputs["Identity_3"]      # [1, 64, 64, 39]
        self._world_out = outputs["Identity_4"]        # [1, 117]

    def __call__(self, frame_rgb: np.ndarray, roi: Roi) -> tuple[np.ndarray, float, np.ndarray]:
        frame = _checked(frame_rgb, "RGB")
        if not isinstance(roi, Roi):
            raise ValueError(f"roi must be a Roi, got {type(roi).__name__}")
        pixels = crop(frame, roi, LANDMARK_SIZE, cv2.BORDER_REPLICATE)
        tensor = np.ascontiguousarray(pixels, dtype=np.float32) * np.float32(1.0 / 255.0)
        self._interpreter.set_tensor(self._input, tensor[None])
        self._interpreter.invoke()
        raw = self._interpreter.get_tensor(self._landmarks_out).reshape(NUM_LANDMARKS_ALL, 5)
        score = float(self._interpreter.get_tensor(self._score_out).reshape(()))
        heatmap = self._interpreter.get_tensor(self._heatmap_out)[0]       # [64, 64, 39]
        world = self._interpreter.get_tensor(self._world_out).reshape(NUM_LANDMARKS_ALL, 3)
        return _project_landmarks(raw, heatmap, roi), score, world_in_frame(world, roi.rotation)


def world_in_frame(world: np.ndarray, rotation: float) -> np.ndarray:
    """WorldLandmarkProjectionCalculator: world landmarks [39, 3] m as the model gives them, in the
    rotated crop's axes -> [39, 3] float32 m in the frame's axes (x and y turned by the ROI's
    rotation, radians; z unchanged)."""
    c, s = np.cos(rotation), np.sin(rotation)
    out = np.array(world, dtype=np.float32)
    x, y = out[:, 0].copy(), out[:, 1].copy()
    out[:, 0], out[:, 1] = c * x - s * y, s * x + c * y
    return out


def _project_landmarks(raw: np.ndarray, heatmap: np.ndarray, roi: Roi) -> np.ndarray:
    """The landmark model's raw output [39, 5] (crop pixels of 256, logits) -> [39, 5] in frame
    pixels (TensorsToLandmarks, RefineLandmarksFromHeatmap, LandmarkProjection)."""
    xy = refine_from_heatmap(raw[:, :2] / LANDMARK_SIZE, heatmap)
    out = np.empty((NUM_LANDMARKS_ALL, 5), dtype=np.float32)
    out[:, :2] = apply_affine(crop_to_frame(roi, 1.0), xy)
    out[:, 2] = raw[:, 2] / LANDMARK_SIZE * roi.width            # z scaled as x (LandmarkProjection)
    out[:, 3:] = 1.0 / (1.0 + np.exp(-raw[:, 3:5].astype(np.float64)))
    return out


def roi_from_landmarks(landmarks39: np.ndarray, image_size) -> Roi:
    """The next frame's ROI for a tracked person (pose_landmarks_to_roi.pbtxt): aligned on the
    auxiliary landmarks 33 -> 34 (frame pixels, landmarks39 [39, >=2]), square, x1.25.

    image_size (width, height): the frame's, as PoseLandmarksToRoi takes it. MediaPipe works in
    coordinates normalized by it; in pixels the ROI does not depend on it, and it is checked only."""
    lm = np.asarray(landmarks39, dtype=np.float64)
    if lm.ndim != 2 or lm.shape[0] != NUM_LANDMARKS_ALL or lm.shape[1] < 2:
        raise ValueError(f"landmarks39 must be [{NUM_LANDMARKS_ALL}, >=2], got {list(lm.shape)}")
    width, height = (int(v) for v in image_size)
    if width < 1 or height < 1:
        raise ValueError(f"image_size must be (width, height) >= 1, got {image_size}")
    return alignment_roi(lm[AUX[0], :2], lm[AUX[1], :2])


def aux_smoother() -> OneEuroFilter:
    """pose_landmark_filtering.pbtxt's One Euro filter of the auxiliary landmarks, for one person."""
    return OneEuroFilter(AUX_MIN_CUTOFF, AUX_BETA, AUX_DERIVATE_CUTOFF, frequency_hz=AUX_FREQUENCY_HZ)


def smoothed_aux(landmarks39: np.ndarray, smoother: OneEuroFilter) -> np.ndarray:
    """pose_landmark_filtering.pbtxt on the auxiliary landmarks of one frame.

    Args:
        landmarks39: a person's landmarks [39, >=2] frame px.
        smoother: that person's aux_smoother(), stepped once per call.

    Returns:
        [39, >=2] float64 px: the landmarks with 33 and 34 smoothed. The speed is measured in
        the person's scale, half the sum of the sides of their (unscaled) alignment rect, i.e.
        twice the 33 -> 34 distance; below _MIN_OBJECT_SCALE they are left as they are.
    """
    out = np.array(landmarks39, dtype=np.float64)
    aux = out[list(AUX), :2]                                              # [2, 2] px
    scale = 2.0 * float(np.hypot(*(aux[1] - aux[0])))
    if scale > _MIN_OBJECT_SCALE:
        out[list(AUX), :2] = smoother(aux, object_scale=scale)
    return out
