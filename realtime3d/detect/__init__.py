"""2D detectors: their joints mapped into skeleton.H36M17."""
from .mediapipe import MP33_TO_H36M17, Detection, PoseDetector, landmarks_to_h36m

__all__ = ["MP33_TO_H36M17", "Detection", "PoseDetector", "landmarks_to_h36m"]
