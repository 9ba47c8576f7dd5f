"""Whether a window can open here: checked before any GUI toolkit is touched."""
from __future__ import annotations

import os
import sys


class DisplayError(RuntimeError):
    """A window cannot open: no display, or no OpenGL context."""


def has_display() -> bool:
    """False on Linux without an X or Wayland display, where a window cannot open
    (OpenCV's Qt would abort the process; check first)."""
    return not sys.platform.startswith("linux") or bool(os.environ.get("DISPLAY")
                                                        or os.environ.get("WAYLAND_DISPLAY"))


def require_display(what: str) -> None:
    if not has_display():
        raise DisplayError(f"cannot open the {what}: no display (DISPLAY is not set); "
                           "run headless or under xvfb-run")


#: The live windows side by side from the screen's top-left corner: the 2D overlay first,
#: at most OVERLAY_MAX_WIDTH px wide, then the open3d window after a GAP_PX gap.
OVERLAY_MAX_WIDTH = 960
GAP_PX = 10
VIEWER_SIZE = (720, 540)


def side_by_side_positions() -> tuple[tuple[int, int], tuple[int, int]]:
    """(x, y) of the 2D window and of the 3D window, so that neither covers the other."""
    return (0, 0), (OVERLAY_MAX_WIDTH + GAP_PX, 0)
