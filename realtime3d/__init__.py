"""realtime3d: webcam or video to live 3D human skeletons."""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["Lifter", "__version__"]


def __getattr__(name):  # keep `import realtime3d` light; torch loads on first use
    if name == "Lifter":
        from .lifting import Lifter
        return Lifter
    raise AttributeError(name)
