"""The application's defaults that the command line shows, in a module that imports nothing.

`realtime3d --help` builds every subcommand's parser, and its help texts give these
defaults; keeping them here lets the parser be built without loading torch, scipy or
OpenCV (`realtime3d --help` and `--version` start in well under a second;
benchmarks/bench_startup.py). The modules that use them import them from here.
"""
from __future__ import annotations

#: The model of offline runs (`video`, `image`, the Python API's load_model): the rotation cycle
#: trained on MediaPipe's 2D of rendered people, blended per joint with MediaPipe's world
#: landmarks (realtime3d/fusion.py; its card says how its settings were chosen), one pass.
DEFAULT_MODEL = "fusion-cycle-mediapipe-2d"
#: The live loop's model: the same, one pose per call (a fusion model lifts frame by frame).
LIVE_MODEL = "fusion-cycle-mediapipe-2d"
#: Horizontal field of view assumed when the focal length is unknown (degrees).
#: 60 degrees is typical of webcams and phone main cameras.
DEFAULT_HFOV_DEG = 60.0
#: The 2D detectors a pipeline can run (`--detector`): MediaPipe's BlazePose models on every
#: person (detect/blazepose), and the image path's skeleton net, Phi -> Omega (detect/skeleton_net.py).
DETECTORS = ("blazepose", "skeleton-net")
DEFAULT_DETECTOR = "blazepose"
#: Old spellings of `--detector`, still accepted: each means the detector it names here.
DETECTOR_ALIASES = {"mediapipe": "blazepose", "skeleton": "skeleton-net"}


def detector_name(value: str) -> str:
    """A `--detector` value by its current name: an old spelling mapped (DETECTOR_ALIASES), any
    other value as it is (detect.choice.check_detector tells whether it is one of DETECTORS)."""
    return DETECTOR_ALIASES.get(value, value)
#: overlay.mp4 is at most this high (px): the frame scaled to it, the 3D view beside it.
OVERLAY_HEIGHT = 480
