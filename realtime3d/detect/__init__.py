"""2D detectors: their joints mapped into skeleton.H36M17.

- MultiPoseDetector (blazepose/, "blazepose"): MediaPipe's BlazePose models run on every person in
  the frame, each person's 33 landmarks mapped to the 17 joints as mediapipe.py maps them;
- SkeletonNetDetector (skeleton_net.py, "skeleton-net"): Phi -> Omega of the image path, with their
  agreement;
- PoseDetector (mediapipe.py, "mediapipe-pose"): MediaPipe's one-person pose graph, the reference.

Each is a `Detector` (detection.py): detect_all(frame_bgr) / detect_all_rgb(frame_rgb) -> list of
Detection, reset(search=...), close(), name, visibility_threshold and fingerprint; and each has
detect / detect_rgb (one Detection or None) and the context manager. choice.check_detector is the
one check of a `--detector` choice. The detector modules are imported on first use (MediaPipe's
import is slow), so that `realtime3d.detect.detection` costs nothing.
"""
from .detection import Detection, Detector

_FROM = {"MultiPoseDetector": "blazepose", "MP33_TO_H36M17": "mediapipe", "PoseDetector": "mediapipe", "landmarks_to_h36m": "mediapipe",
         "SkeletonNetDetector": "skeleton_net", "load_skeleton_net": "skeleton_net", "check_detector": "choice"}

__all__ = ["Detection", "Detector", *_FROM]


def __getattr__(name: str):
    if name not in _FROM:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib
    return getattr(importlib.import_module(f".{_FROM[name]}", __name__), name)
