"""Rotated regions of interest and the affine maps between crops and frames (port).

As MediaPipe's NormalizedRect, ImageToTensorCalculator (image_to_tensor_utils.cc,
image_to_tensor_converter_opencv.cc), AlignmentPointsRectsCalculator and
RectTransformationCalculator define them, in frame pixels instead of normalized coordinates:
pixel centres at integer coordinates; a crop maps the ROI's corners to the tensor's pixel
coordinates 0 and `size`, and points come back by the same map.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

# modules/pose_landmark/pose_detection_to_roi.pbtxt and pose_landmarks_to_roi.pbtxt
ROI_SCALE = 1.25                          # RectTransformationCalculator scale_x = scale_y
_TARGET_ANGLE = math.pi / 2               # rotation_vector_target_angle_degrees: 90


@dataclass(frozen=True)
class Roi:
    """A rotated rectangle in frame pixels: centre, size and rotation (radians; positive turns
    the rectangle's up direction towards the image's right, as MediaPipe's NormalizedRect)."""

    cx: float
    cy: float
    width: float
    height: float
    rotation: float

    def __post_init__(self) -> None:
        values = (self.cx, self.cy, self.width, self.height, self.rotation)
        if not all(math.isfinite(v) for v in values) or self.width <= 0 or self.height <= 0:
            raise ValueError(f"Roi must be finite with positive width and height, got {values}")


def _normalize_radians(angle: float) -> float:
    """The angle wrapped into [-pi, pi) (rect_transformation_calculator.cc NormalizeRadians)."""
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))


def crop_to_frame(roi: Roi, size: float = 1.0) -> np.ndarray:
    """The affine map [2, 3] from a crop of side `size` (the ROI's corners at 0 and size) to
    frame pixels: image_to_tensor_utils.cc GetRotatedSubRectToRectTransformMatrix."""
    c, s = math.cos(roi.rotation), math.sin(roi.rotation)
    sx, sy = roi.width / size, roi.height / size
    return np.array([[c * sx, -s * sy, roi.cx - 0.5 * (c * roi.width - s * roi.height)],
                     [s * sx, c * sy, roi.cy - 0.5 * (s * roi.width + c * roi.height)]])


def apply_affine(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Points [..., 2] through an affine map [2, 3] -> [..., 2]."""
    return points @ matrix[:, :2].T + matrix[:, 2]


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """The inverse of an affine map [2, 3]."""
    return cv2.invertAffineTransform(np.asarray(matrix, dtype=np.float64))


def crop(frame: np.ndarray, roi: Roi, size: int, border: int) -> np.ndarray:
    """The ROI of a frame [H, W, C] resampled into [size, size, C] (bilinear), as
    ImageToTensorCalculator's OpenCV converter does; border: cv2.BORDER_CONSTANT (zero) or
    cv2.BORDER_REPLICATE."""
    return cv2.warpAffine(np.ascontiguousarray(frame), crop_to_frame(roi, size), (size, size),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=border, borderValue=0)


def alignment_roi(center: np.ndarray, scale_point: np.ndarray) -> Roi:
    """AlignmentPointsRectsCalculator + RectTransformationCalculator (square_long, x1.25):
    a square centred on `center`, of side 2 * |scale_point - center| * 1.25, rotated so that
    center -> scale_point points up."""
    dx, dy = float(scale_point[0] - center[0]), float(scale_point[1] - center[1])
    side = 2.0 * math.hypot(dx, dy) * ROI_SCALE
    if not side > 0:
        raise ValueError(f"alignment points coincide or are not finite: {center} -> {scale_point}")
    rotation = _normalize_radians(_TARGET_ANGLE - math.atan2(-dy, dx))
    return Roi(float(center[0]), float(center[1]), side, side, rotation)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of boxes a [N, 4] and b [M, 4] (x0, y0, x1, y1) -> [N, M]."""
    a, b = np.asarray(a, dtype=np.float64)[:, None], np.asarray(b, dtype=np.float64)[None]
    w = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    h = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = w * h
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    union = area_a + area_b - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def whole_frame(width: int, height: int) -> Roi:
    """The whole frame as a ROI (ImageToTensorCalculator without one)."""
    return Roi(width / 2, height / 2, float(width), float(height), 0.0)


