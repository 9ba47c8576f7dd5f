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
