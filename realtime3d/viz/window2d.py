"""The OpenCV window that shows the 2D overlay (with the status box of overlay.draw_status)."""
from __future__ import annotations

import cv2
import numpy as np

from .display import OVERLAY_MAX_WIDTH, DisplayError, require_display
from .overlay import check_frame

_QUIT_KEYS = (ord("q"), ord("Q"), 27)   # q, Q, Esc


class OverlayWindow:
    """show(frame) each frame; False once the user pressed q or Esc, or closed the window.

    The window opens at position (x, y) on the screen, sized to the first frame scaled down
    to at most max_width pixels wide (the user may resize it; the aspect ratio is kept)."""

    def __init__(self, title: str = "realtime3d 2D", position: tuple[int, int] = (0, 0),
                 max_width: int = OVERLAY_MAX_WIDTH):
        require_display("OpenCV window")
        self.title = title
        self.position, self.max_width = (int(position[0]), int(position[1])), int(max_width)
        self._open = True
        self._shown = False
        try:
            cv2.namedWindow(title, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO)
        except cv2.error as exc:
            reason = str(exc).strip().splitlines()[-1]
            raise DisplayError(f"cannot open the OpenCV window: {reason}") from None

    def show(self, frame_bgr: np.ndarray) -> bool:
        """Display a BGR frame [H, W, 3] and handle key presses for 1 ms."""
        check_frame(frame_bgr)
        if not self._open:
            return False
        if self._shown and not self._still_there():
            self._open = False      # closed with the window's button
            return False
        if not self._shown:
            scale = min(1.0, self.max_width / frame_bgr.shape[1])
            cv2.resizeWindow(self.title, round(frame_bgr.shape[1] * scale), round(frame_bgr.shape[0] * scale))
            cv2.moveWindow(self.title, *self.position)
            self._shown = True
        cv2.imshow(self.title, frame_bgr)
        if (cv2.waitKey(1) & 0xFF) in _QUIT_KEYS:
            self.close()
            return False
        return True

    def _still_there(self) -> bool:
        try:
            return cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) >= 1
        except cv2.error:           # OpenCV's Qt build raises once its last window is gone
            return False

    def close(self) -> None:
        if self._open:
            self._open = False
            if self._still_there():
                cv2.destroyWindow(self.title)
                cv2.waitKey(1)      # lets the GUI thread process the close

    def __enter__(self) -> "OverlayWindow":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
