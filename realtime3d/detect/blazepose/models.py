"""The mediapipe wheel's BlazePose models and the LiteRT interpreters that run them (port).

mediapipe==0.10.21 ships the three .tflite files; they are found without importing mediapipe, and
nothing is downloaded.
"""
from __future__ import annotations

import importlib.util
import os


def _module_path(*parts: str) -> str:
    """A file of the installed mediapipe package, found without importing it."""
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the mediapipe package (mediapipe==0.10.21) is not installed")
    return os.path.join(list(spec.submodule_search_locations)[0], *parts)


DETECTOR_MODEL = _module_path("modules", "pose_detection", "pose_detection.tflite")
LANDMARK_MODEL = _module_path("modules", "pose_landmark", "pose_landmark_full.tflite")
FACE_MODEL = _module_path("modules", "face_detection", "face_detection_full_range_sparse.tflite")


def litert_interpreter(model_path: str, threads: int):
    """A LiteRT interpreter of one .tflite model, tensors allocated, on `threads` threads (>= 1)."""
    from ai_edge_litert.interpreter import Interpreter
    if int(threads) < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    interpreter = Interpreter(model_path=model_path, num_threads=int(threads))
    interpreter.allocate_tensors()
    return interpreter


def outputs_by_name(interpreter) -> dict[str, int]:
    """The interpreter's output tensors: name -> tensor index."""
    return {d["name"]: d["index"] for d in interpreter.get_output_details()}
