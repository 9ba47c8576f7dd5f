"""The person crop: one rule for the synthetic renders, the skeleton-image prior and the detector.

A crop is a square box (cx, cy, side) in the pixels of a frame (pixel centres at integer
coordinates, x right, y down). Its rule: the bounding box of the person's 2D joints, centred,
its longer side times CROP_MARGIN. Training jitters the box (jitter_boxes) so that the networks
see people a little off-centre and of varied size, as a detector's crops that follow the last
frame's pose are. Whatever makes training crops (renders, the prior's skeleton images, a user's
footage) and the detector at run time call square_box, so that they frame people alike.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch

#: The crop side over the longer side of the joints' bounding box.
CROP_MARGIN = 1.25
#: Training jitter of a box: its side times U(1 - SCALE_JITTER, 1 + SCALE_JITTER), its centre moved
#: by U(-SHIFT_JITTER, SHIFT_JITTER) of the side in x and y.
SCALE_JITTER = 0.1
SHIFT_JITTER = 0.05


def square_box(joints2d: torch.Tensor, margin: float = CROP_MARGIN) -> torch.Tensor:
    """joints2d [B, J, 2] pixels -> boxes [B, 3] (cx, cy, side): the joints' bounding box, made
    square about its centre and scaled by margin."""
    if joints2d.ndim != 3 or joints2d.shape[-1] != 2:
        raise ValueError(f"joints2d must be [B, J, 2], got {list(joints2d.shape)}")
    lo, hi = joints2d.amin(1), joints2d.amax(1)                                  # [B, 2]
    side = (hi - lo).amax(-1).clamp(min=1e-3) * margin                           # [B]
    return torch.cat([(lo + hi) / 2, side[:, None]], -1)


def jitter_boxes(boxes: torch.Tensor, generator: torch.Generator | None = None, uniform: torch.Tensor | None = None,
                 scale: float = SCALE_JITTER, shift: float = SHIFT_JITTER) -> torch.Tensor:
    """boxes [B, 3] -> boxes [B, 3] resized and moved at random (the training jitter), by
    uniform [B, 3] numbers in 0..1 (drawn from generator when not given)."""
    u = (torch.rand(len(boxes), 3, generator=generator) if uniform is None else uniform).to(boxes)   # [B, 3]
    side = boxes[:, 2] * (1 + scale * (2 * u[:, 0] - 1))
    centre = boxes[:, :2] + shift * (2 * u[:, 1:] - 1) * side[:, None]
    return torch.cat([centre, side[:, None]], -1)


def to_crop(points: torch.Tensor, boxes: torch.Tensor, size: int) -> torch.Tensor:
    """Frame pixels [B, J, 2] -> the pixels [B, J, 2] of each box's crop resampled to size x size.
    The box's left edge x = cx - side / 2 is the crop's edge -0.5 (pixel centres at integers)."""
    corner = boxes[:, None, :2] - boxes[:, None, 2:] / 2                         # [B, 1, 2]
    return (points - corner) * (size / boxes[:, None, 2:]) - 0.5


def from_crop(points: torch.Tensor, boxes: torch.Tensor, size: int) -> torch.Tensor:
    """The inverse of to_crop: crop pixels [B, J, 2] -> frame pixels [B, J, 2]."""
    corner = boxes[:, None, :2] - boxes[:, None, 2:] / 2
    return (points + 0.5) * (boxes[:, None, 2:] / size) + corner


def cut(frame: np.ndarray, box, size: int) -> np.ndarray:
    """The square box (cx, cy, side) of a uint8 frame [H, W, C], resampled to [size, size, C],
    black beyond the frame. Crop pixel c (centre) shows frame point (c + 0.5) * side / size +
    (cx - side / 2), exactly: from_crop's mapping.

    Downscaling first averages areas (cv2.INTER_AREA) over the part of the frame the box covers,
    to within a factor 2 of the crop's scale, so that a large box does not alias; a bilinear
    warpAffine then lands every crop pixel where the mapping says."""
    cx, cy, side = (float(v) for v in box)
    h, w = frame.shape[:2]
    a = side / size                                       # frame pixels per crop pixel
    x0, y0 = cx - side / 2.0, cy - side / 2.0             # the crop's corner (frame pixel coordinates)
    rx0, ry0 = max(0, int(np.floor(x0)) - 1), max(0, int(np.floor(y0)) - 1)
    rx1, ry1 = min(w, int(np.ceil(x0 + side)) + 2), min(h, int(np.ceil(y0 + side)) + 2)
    if rx1 <= rx0 or ry1 <= ry0:                          # the box misses the frame
        return np.zeros((size, size) + frame.shape[2:], np.uint8)
    roi = frame[ry0:ry1, rx0:rx1]
    f = max(1, int(a / 1.5))                              # the area step: what is left is below 2x
    fx = fy = 1.0
    if f > 1:
        dw, dh = max(1, round(roi.shape[1] / f)), max(1, round(roi.shape[0] / f))
        fx, fy = roi.shape[1] / dw, roi.shape[0] / dh     # the exact scales INTER_AREA applies
        roi = cv2.resize(roi, (dw, dh), interpolation=cv2.INTER_AREA)
    # crop c -> frame p = (c + 0.5) a + x0 -> roi pixel q = (p - rx0 + 0.5) / fx - 0.5
    m = np.array([[a / fx, 0.0, (0.5 * a + x0 - rx0 + 0.5) / fx - 0.5],
                  [0.0, a / fy, (0.5 * a + y0 - ry0 + 0.5) / fy - 0.5]])
    return cv2.warpAffine(roi, m, (size, size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)
