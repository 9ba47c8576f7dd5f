"""The one check of a run's detector choice, where it enters (the command line's flags,
pipeline.VideoOptions): which detector, its weights, and how many people it can follow."""
from __future__ import annotations

from ..defaults import DETECTORS, detector_name
from ..errors import UserError


def check_detector(detector: str, weights: str | None = None, max_people: int | None = None) -> str:
    """Check a detector choice before any work, and name it.

    Args:
        detector: a `--detector` value: one of defaults.DETECTORS, or an old spelling of one
            (defaults.DETECTOR_ALIASES).
        weights: `--detector-weights`: a shipped skeleton net's name or a .pt path, only with
            "skeleton-net" (None: its shipped default). The file is read once here, so that a
            missing or foreign one fails before any frame is read.
        max_people: `--max-people`: the most people the detector follows, at least 1 (None:
            everyone); both detectors follow many people.

    Returns:
        The detector's name, one of defaults.DETECTORS.

    Raises:
        UserError: an unknown detector, weights with the other detector, max_people below 1, or
            weights that are not a readable skeleton net.
    """
    name = detector_name(detector)
    if name not in DETECTORS:
        raise UserError(f"unknown detector {detector!r}; choose one of {', '.join(DETECTORS)}")
    if weights is not None and name != "skeleton-net":
        raise UserError("--detector-weights needs --detector skeleton-net")
    if max_people is not None and max_people < 1:
        raise UserError(f"--max-people must be at least 1, got {max_people}")
    if name == "skeleton-net":
        from .skeleton_net import DEFAULT_WEIGHTS, load_skeleton_net
        load_skeleton_net(weights or DEFAULT_WEIGHTS)
    return name
