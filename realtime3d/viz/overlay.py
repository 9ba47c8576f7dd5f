"""OpenCV drawing on a BGR frame: the 2D skeleton and a status box. Both draw in place
and return the frame."""
from __future__ import annotations

import cv2
import numpy as np

from ..lifting import VISIBILITY_THRESHOLD
from ..skeleton import H36M17, Skeleton
from .style import bone_colors_bgr, joint_colors_bgr

#: Coordinates beyond this many frame sizes off the frame are clipped before drawing
#: (OpenCV needs int32 points); so far out, the clipping moves no drawn line visibly.
_CLIP_FRAMES = 100


def check_frame(frame_bgr: np.ndarray, name: str = "frame_bgr") -> np.ndarray:
    """Raise ValueError unless the frame is uint8 [H, W, 3]."""
    if not isinstance(frame_bgr, np.ndarray) or frame_bgr.dtype != np.uint8 \
            or frame_bgr.ndim != 3 or frame_bgr.shape[2] != 3:
        shape = list(getattr(frame_bgr, "shape", []))
        raise ValueError(f"{name} must be a uint8 [H, W, 3] image, got {shape} "
                         f"{getattr(frame_bgr, 'dtype', type(frame_bgr).__name__)}")
    return frame_bgr


def to_int_pixels(points: np.ndarray, frame_shape: tuple[int, ...]) -> np.ndarray:
    """[N, 2] float pixels -> [N, 2] int32 for OpenCV: NaN -> 0, far-off points clipped."""
    bound = _CLIP_FRAMES * max(frame_shape[:2])
    return np.round(np.clip(np.nan_to_num(points), -bound, bound)).astype(np.int32)


def line_width(frame_bgr: np.ndarray) -> int:
    """Bone thickness in pixels for a frame: 2 px at 480 p, 3 at 720 p, 5 at 1080 p."""
    return max(2, int(round(min(frame_bgr.shape[:2]) / 220)))


def draw_skeleton_2d(frame_bgr: np.ndarray, joints2d_px: np.ndarray, visibility: np.ndarray | None = None,
                     skeleton: Skeleton = H36M17, threshold: float = VISIBILITY_THRESHOLD) -> np.ndarray:
    """Draw bones and joints on frame_bgr [H, W, 3] uint8, in place; returns it.

    joints2d_px [J, 2] pixels (x right, y down); visibility [J] or None. A joint is
    drawn when it is finite and, with visibility given, its visibility >= threshold;
    a bone only when both its joints are drawn (the threshold is the one below which the
    lifter treats a joint as missing). Colours by side (style.py).
    """
    check_frame(frame_bgr)
    joints = np.asarray(joints2d_px, dtype=np.float64)
    num = skeleton.num_joints
    if joints.shape != (num, 2):
        raise ValueError(f"joints2d_px must be [{num}, 2], got {list(joints.shape)}")
    shown = np.isfinite(joints).all(axis=1)                              # [J]
    if visibility is not None:
        vis = np.asarray(visibility, dtype=np.float64)
        if vis.shape != (num,):
            raise ValueError(f"visibility must be [{num}], got {list(vis.shape)}")
        shown &= vis >= threshold
    points = to_int_pixels(joints, frame_bgr.shape)                      # [J, 2]
    width = line_width(frame_bgr)
    for (parent, child), color in zip(skeleton.bones, bone_colors_bgr(skeleton)):
        if shown[parent] and shown[child]:
            cv2.line(frame_bgr, tuple(map(int, points[parent])), tuple(map(int, points[child])),
                     color, width, cv2.LINE_AA)
    for j, color in enumerate(joint_colors_bgr(skeleton)):
        if shown[j]:
            center = tuple(map(int, points[j]))
            cv2.circle(frame_bgr, center, width + 2, color, -1, cv2.LINE_AA)
            cv2.circle(frame_bgr, center, width + 2, (0, 0, 0), 1, cv2.LINE_AA)
    return frame_bgr


def draw_status(frame_bgr: np.ndarray, lines: list[str]) -> np.ndarray:
    """Write lines of text in a dark, half-transparent box at the top left, in place; returns it."""
    check_frame(frame_bgr)
    if isinstance(lines, str):
        raise ValueError("lines must be a list of strings, got one string")
    lines = [str(line) for line in lines]
    if not lines:
        return frame_bgr
    h, w = frame_bgr.shape[:2]
    scale = max(0.4, min(h, w) / 720 * 0.8)
    thickness = max(1, int(round(scale * 2)))
    font = cv2.FONT_HERSHEY_SIMPLEX
    measured = [cv2.getTextSize(line, font, scale, thickness) for line in lines]   # ((w, h), baseline)
    text_h = max(size[1] for size, _ in measured)
    descent = max(baseline for _, baseline in measured)
    gap, pad = int(round(8 * scale)), int(round(12 * scale))
    line_h = text_h + descent + gap
    box_w = min(w, max(size[0] for size, _ in measured) + 2 * pad)
    box_h = min(h, 2 * pad + len(lines) * line_h - gap)
    roi = frame_bgr[:box_h, :box_w]
    roi[:] = (roi.astype(np.uint16) * 2 // 5).astype(np.uint8)          # darken to 40 %
    for i, line in enumerate(lines):
        baseline = pad + i * line_h + text_h
        cv2.putText(frame_bgr, line, (pad, baseline), font, scale, (255, 255, 255), thickness, cv2.LINE_AA)
    return frame_bgr
