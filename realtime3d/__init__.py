"""realtime3d: webcam or video to live 3D human skeletons."""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["Lifter", "load_model", "__version__"]


def __getattr__(name):  # keep `import realtime3d` light; torch loads on first use
    if name in ("Lifter", "load_model"):
        from . import lifting
        return getattr(lifting, name)
    raise AttributeError(name)
