"""OpenCV drawing on a BGR frame: the 2D skeleton, a status box, and the skeleton net's panel
and crop box. All draw in place and return the frame."""
from __future__ import annotations

import cv2
import numpy as np

from ..lifting import VISIBILITY_THRESHOLD
from ..skeleton import H36M17, Skeleton
from .style import CENTER_RGB, bone_colors_bgr, joint_colors_bgr, person_rgb, rgb_to_bgr8

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
                     skeleton: Skeleton = H36M17, threshold: float = VISIBILITY_THRESHOLD,
                     person_id: int | None = None) -> np.ndarray:
    """Draw bones and joints on frame_bgr [H, W, 3] uint8, in place; returns it.

    joints2d_px [J, 2] pixels (x right, y down); visibility [J] or None. A joint is
    drawn when it is finite and, with visibility given, its visibility >= threshold;
    a bone only when both its joints are drawn (the threshold is the one below which the
    lifter treats a joint as missing). Colours by side (style.py); given a person_id, in
    that person's colour with the id written above the head.
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
    for (parent, child), color in zip(skeleton.bones, bone_colors_bgr(skeleton, person_id)):
        if shown[parent] and shown[child]:
            cv2.line(frame_bgr, tuple(map(int, points[parent])), tuple(map(int, points[child])),
                     color, width, cv2.LINE_AA)
    for j, color in enumerate(joint_colors_bgr(skeleton, person_id)):
        if shown[j]:
            center = tuple(map(int, points[j]))
            cv2.circle(frame_bgr, center, width + 2, color, -1, cv2.LINE_AA)
            cv2.circle(frame_bgr, center, width + 2, (0, 0, 0), 1, cv2.LINE_AA)
    if person_id is not None and shown.any():
        _draw_id(frame_bgr, points[shown], person_id, width)
    return frame_bgr


def _draw_id(frame_bgr: np.ndarray, points: np.ndarray, person_id: int, width: int) -> None:
    """The person's id in a box of their colour, above their highest drawn joint."""
    text = str(person_id)
    scale = max(0.4, min(frame_bgr.shape[:2]) / 720 * 0.7)
    thickness = max(1, int(round(scale * 2)))
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    top = points[np.argmin(points[:, 1])]
    pad = max(2, width)
    x0, y1 = int(top[0]) - tw // 2 - pad, int(top[1]) - 2 * width - 2
    x0 = min(max(x0, 0), max(frame_bgr.shape[1] - tw - 2 * pad, 0))
    y1 = min(max(y1, th + base + 2 * pad), frame_bgr.shape[0])
    cv2.rectangle(frame_bgr, (x0, y1 - th - base - 2 * pad), (x0 + tw + 2 * pad, y1),
                  rgb_to_bgr8(person_rgb(person_id)), -1)
    cv2.putText(frame_bgr, text, (x0 + pad, y1 - base - pad), cv2.FONT_HERSHEY_SIMPLEX, scale,
                (255, 255, 255), thickness, cv2.LINE_AA)


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


#: The skeleton net's panel: its side over the frame's shorter side.
PANEL_SHARE = 0.4


def _text(frame_bgr: np.ndarray, text: str, origin: tuple[int, int], scale: float, thickness: int) -> None:
    cv2.putText(frame_bgr, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thickness, cv2.LINE_AA)


def skeleton_panel_image(skeleton: np.ndarray | None, rendered: np.ndarray | None, side: int) -> np.ndarray:
    """The panel's picture [side, side, 3] BGR uint8: Phi's skeleton image (the max over its bone
    channels) in grey, under kappa of Omega's 2D in colour (each pixel takes the colour of its
    strongest bone, by side as style.py colours joints, with that bone's value as opacity).
    Grey without colour: Phi drew a limb that Omega's 2D does not explain; colour on black:
    Omega put a limb where Phi drew none. Black when either image is missing."""
    if skeleton is None or rendered is None:
        return np.zeros((side, side, 3), np.uint8)
    grey = np.clip(np.asarray(skeleton, np.float32).max(0), 0.0, 1.0)                # [S, S]
    rendered = np.clip(np.asarray(rendered, np.float32), 0.0, 1.0)                    # [K, S, S]
    alpha = rendered.max(0)[..., None]                                                # [S, S, 1]
    colours = np.array(bone_colors_bgr(), np.float32)[rendered.argmax(0)]             # [S, S, 3]
    picture = (1.0 - alpha) * (200.0 * grey[..., None]) + alpha * colours
    picture = cv2.resize(picture, (side, side), interpolation=cv2.INTER_LINEAR)
    return np.clip(picture + 0.5, 0, 255).astype(np.uint8)


def draw_skeleton_panel(frame_bgr: np.ndarray, detection=None) -> np.ndarray:
    """The skeleton net's panel inset at the top right of the frame, in place; returns it.

    detection: a detect.Detection of the skeleton net (its skeleton, rendered and confidence),
    or None (no person: an empty panel that says so). A detection with a confidence but no
    images (frames taken from a resumed run's saved results) shows its confidence only."""
    check_frame(frame_bgr)
    h, w = frame_bgr.shape[:2]
    side = int(min(w // 2, max(48, round(min(h, w) * PANEL_SHARE))))
    margin = max(2, side // 32)
    x0, y0 = w - side - margin, margin
    if x0 < 0 or side < 8:
        return frame_bgr
    skeleton = getattr(detection, "skeleton", None)
    rendered = getattr(detection, "rendered", None)
    frame_bgr[y0:y0 + side, x0:x0 + side] = skeleton_panel_image(skeleton, rendered, side)
    cv2.rectangle(frame_bgr, (x0 - 1, y0 - 1), (x0 + side, y0 + side), rgb_to_bgr8(CENTER_RGB), 1)
    scale = max(0.3, side / 480)
    thickness = max(1, int(round(scale * 2)))
    confidence = getattr(detection, "confidence", None)
    if detection is None:
        caption = "no person"
    elif confidence is None:
        caption = "no confidence"
    else:
        caption = f"confidence {confidence:.2f}" + ("" if skeleton is not None else " (saved)")
    (tw, th), base = cv2.getTextSize(caption, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    pad = max(2, int(round(6 * scale)))
    band = frame_bgr[y0 + side - th - base - 2 * pad:y0 + side, x0:x0 + side]
    band[:] = (band.astype(np.uint16) * 2 // 5).astype(np.uint8)
    _text(frame_bgr, caption, (x0 + pad, y0 + side - base - pad), scale, thickness)
    _text(frame_bgr, "Phi grey, Omega colour", (x0 + pad, y0 + pad + th), scale * 0.8, max(1, thickness - 1))
    return frame_bgr


def draw_crop_box(frame_bgr: np.ndarray, box: tuple[float, float, float]) -> np.ndarray:
    """The skeleton net's crop (x0, y0, side), frame pixels, as a thin grey square; in place.
    A crop that holds the whole frame (the full-frame fallback) is not drawn."""
    check_frame(frame_bgr)
    x0, y0, side = (float(v) for v in box)
    h, w = frame_bgr.shape[:2]
    if x0 <= -0.5 and y0 <= -0.5 and x0 + side >= w - 0.5 and y0 + side >= h - 0.5:
        return frame_bgr
    corners = to_int_pixels(np.array([[x0 + 0.5, y0 + 0.5], [x0 + side - 0.5, y0 + side - 0.5]]),
                            frame_bgr.shape)
    cv2.rectangle(frame_bgr, tuple(map(int, corners[0])), tuple(map(int, corners[1])),
                  rgb_to_bgr8(CENTER_RGB), 1, cv2.LINE_AA)
    return frame_bgr
