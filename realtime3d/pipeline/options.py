"""The pipeline's options, checked where they enter, and the factory that builds a pipeline from them."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..defaults import DEFAULT_DETECTOR, DEFAULT_HFOV_DEG, DEFAULT_MODEL, OVERLAY_HEIGHT, detector_name
from ..detect.choice import check_detector
from ..errors import UserError
from ..world_model import WORLD_MODEL

#: --person: every tracked person, the main one (the largest when first seen, kept while tracked), or one id.
PERSON_CHOICES = ("all", "largest")


def parse_person(text: str | int) -> str | int:
    """--person's value: "all", "largest" or a person id (a positive integer)."""
    if isinstance(text, int) or str(text).isdigit():
        value = int(text)
        if value < 1:
            raise UserError(f"--person ID must be a positive id, got {value}")
        return value
    if text not in PERSON_CHOICES:
        raise UserError(f"--person must be all, largest or a person id, got {text!r}")
    return text


def check_camera_options(focal: float | None, hfov: float, detect_width: int | None) -> None:
    """--focal (px), --hfov (degrees) and --detect-width (px), or a UserError."""
    if focal is not None and not (np.isfinite(focal) and focal > 0):
        raise UserError(f"--focal must be a positive number of pixels, got {focal}")
    if not 0 < hfov < 180:
        raise UserError(f"--hfov must be between 0 and 180 degrees, got {hfov}")
    if detect_width is not None and detect_width < 32:
        raise UserError(f"--detect-width must be at least 32 px, got {detect_width}")


def check_at_least_one(flag: str, value: int | None) -> None:
    """--max-frames, --workers, --max-people: None (no limit) or at least 1, else a UserError."""
    if value is not None and value < 1:
        raise UserError(f"{flag} must be at least 1, got {value}")


@dataclass(frozen=True)
class VideoOptions:
    """Everything a worker process needs to build its own pipeline and run one video; checked here,
    in the command's process, before any worker starts.

    detector: "blazepose" (detect.MultiPoseDetector: MediaPipe's BlazePose models, every person)
    or "skeleton-net" (detect.SkeletonNetDetector: the skeleton net on every person that
    BlazePose's person detector finds, with detector_weights: a shipped name or a .pt; None: the
    shipped skeleton-net); the old spellings "mediapipe" and "skeleton" are read as these
    (detect.choice.check_detector, which also reads the weights once).
    person: the people kept (pipeline.PosePipeline); max_people: the most the detector follows
    (either detector).
    model None: the skeleton net's own lifter (its card's "lifter") with the skeleton net,
    DEFAULT_MODEL otherwise. max_frames: each video's first frames only (None: all)."""

    model: str | None = DEFAULT_MODEL
    focal: float | None = None
    hfov: float = DEFAULT_HFOV_DEG
    cutoff_hz: float | None = None
    resume: bool = False
    max_frames: int | None = None
    detect_width: int | None = None
    overlay: bool = True
    overlay_height: int | None = OVERLAY_HEIGHT
    detector: str = DEFAULT_DETECTOR
    detector_weights: str | None = None
    person: str | int = "all"          # parse_person: "all", "largest" or an id
    max_people: int | None = None      # the detector follows at most this many people (None: all)

    def __post_init__(self) -> None:
        check_camera_options(self.focal, self.hfov, self.detect_width)
        object.__setattr__(self, "person", parse_person(self.person))
        check_at_least_one("--max-people", self.max_people)
        check_at_least_one("--max-frames", self.max_frames)
        object.__setattr__(self, "detector", check_detector(self.detector, self.detector_weights, self.max_people))
        if self.model == WORLD_MODEL and self.detector != "blazepose":
            raise UserError(f"--model {WORLD_MODEL} needs --detector blazepose (its world landmarks are "
                            "MediaPipe's)")

    @property
    def skeleton_net(self) -> bool:
        """The detector is the skeleton net (its panel is drawn, its confidence kept)."""
        return self.detector == "skeleton-net"


def lifter_for(detector: str, detector_weights: str | None, model: str | None, default: str = DEFAULT_MODEL) -> str:
    """The lifter a run uses: model when given; else, with the skeleton net, the lifter it was
    trained with (its card's "lifter"); else default. A bad skeleton-net file fails here."""
    if model is not None:
        return model
    if detector_name(detector) == "skeleton-net":
        from ..detect.skeleton_net import DEFAULT_WEIGHTS, load_skeleton_net
        lifter = load_skeleton_net(detector_weights or DEFAULT_WEIGHTS)[1].get("lifter")
        if lifter:
            return str(lifter)
    return default


def build_pipeline(options: VideoOptions, live_filter=None, static_images: bool = False):
    """The PosePipeline of options: its detector and lifter loaded.

    Args:
        options: the run's options.
        live_filter: a filters.OneEuroFilter for the 3D joints (a copy per person), None: none.
        static_images: every frame is a photo of its own (the detector does not follow people).
    Returns:
        A pipeline.PosePipeline; its caller closes pipeline.detector.
    """
    from ..lifting import load_model
    from .core import PosePipeline
    if options.skeleton_net:
        from ..detect.skeleton_net import DEFAULT_WEIGHTS, SkeletonNetDetector
        detector = SkeletonNetDetector(options.detector_weights or DEFAULT_WEIGHTS, max_people=options.max_people,
                                       static_image_mode=static_images)
        lifter = load_model(options.model or detector.lifter or DEFAULT_MODEL)
    else:
        from ..detect.blazepose import MultiPoseDetector
        lifter = load_model(options.model or DEFAULT_MODEL)   # before MediaPipe: nothing to close
        detector = MultiPoseDetector(max_people=options.max_people, static_image_mode=static_images,
                                     world_landmarks=lifter.reads_world3d)
    return PosePipeline(lifter, detector, focal=options.focal, hfov=options.hfov, filter=live_filter,
                        detect_width=options.detect_width, person=options.person)
