"""2D detectors: their joints mapped into skeleton.H36M17.

- MultiPoseDetector (blazepose.py): MediaPipe's BlazePose models run on every person in the frame,
  each person's 33 landmarks mapped to the 17 joints as mediapipe.py maps them; detect_all() too;
- PoseDetector (mediapipe.py): MediaPipe's one-person pose graph, its 33 landmarks mapped to the 17 joints;
- SkeletonNetDetector (skeleton_net.py): Phi -> Omega of the image path, with their agreement.

Both answer detect(frame_bgr) / detect_rgb(frame_rgb) with a Detection (detection.py) or None,
and have reset(), close() and the context manager. The two modules are imported on first use
(MediaPipe's import is slow), so that `realtime3d.detect.detection` costs nothing.
"""
from .detection import Detection

_FROM = {"MultiPoseDetector": "blazepose", "MP33_TO_H36M17": "mediapipe", "PoseDetector": "mediapipe", "landmarks_to_h36m": "mediapipe",
         "SkeletonNetDetector": "skeleton_net", "load_skeleton_net": "skeleton_net"}

__all__ = ["Detection", *_FROM]


def __getattr__(name: str):
    if name not in _FROM:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib
    return getattr(importlib.import_module(f".{_FROM[name]}", __name__), name)
