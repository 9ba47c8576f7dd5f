"""A pipeline's FrameResult drawn: the 2D overlay of every person, the skeleton net's panel, the 3D view."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .overlay import draw_crop_box, draw_skeleton_2d, draw_skeleton_panel, draw_status
from .render3d import PoseRenderer, side_by_side

if TYPE_CHECKING:
    from ..pipeline import FrameResult


def draw_result(frame_bgr: np.ndarray, result: FrameResult, renderer: PoseRenderer | None,
                status: list[str] | None = None, panel: bool | None = None) -> np.ndarray:
    """The overlay picture of a pipeline.FrameResult.

    Args:
        frame_bgr: [H, W, 3] uint8, the result's frame; drawn on in place: every person's 2D
            skeleton in their colour with their id.
        result: the frame's pipeline.FrameResult.
        renderer: the 3D view of them all, put beside the frame; None: the frame alone.
        status: text lines drawn at the top left.
        panel: draw the skeleton net's panel (Phi's skeleton image under kappa of Omega's 2D,
            the confidence) inset at the top right, and its crop box; None: when the main
            person's detection has a confidence (the skeleton net's). A skeleton-net run
            passes True for every frame, so that frames without a person show an empty panel.
    Returns:
        [H, W, 3] uint8 (frame_bgr itself) without a renderer, else [H, W + S, 3] with the
        renderer's S x S view beside it.
    """
    main = result.main
    detection = None if main is None else main.detection
    if panel is None:
        panel = detection is not None and detection.confidence is not None
    if panel and detection is not None and detection.crop_box is not None:
        draw_crop_box(frame_bgr, detection.crop_box)      # not drawn when it holds the whole frame
    for person in result.people:
        draw_skeleton_2d(frame_bgr, person.joints2d, person.visibility, threshold=result.visibility_threshold,
                         person_id=person.id)
    if panel:
        draw_skeleton_panel(frame_bgr, detection)
    if status:
        draw_status(frame_bgr, status)
    if renderer is None:
        return frame_bgr
    return side_by_side(frame_bgr, renderer.render_people(result.lifted))
