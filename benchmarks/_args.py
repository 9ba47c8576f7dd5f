"""Argument types shared by the benchmark scripts (comma-separated lists, odd repeat counts), as
argparse `type=`s, so that a bad value is argparse's one-line usage error."""
from __future__ import annotations

import argparse


def names(text: str) -> list[str]:
    """'a, b,c' -> ['a', 'b', 'c'] (empty items dropped)."""
    return [t.strip() for t in text.split(",") if t.strip()]


def ints(text: str) -> list[int]:
    """'1,2, 3' -> [1, 2, 3]."""
    try:
        return [int(t) for t in names(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"comma-separated integers expected, got {text!r}") from None


def odd(text: str) -> int:
    """A positive odd integer: --repeats, so that the median repeat is one run."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"an odd number expected, got {text!r}") from None
    if value < 1 or value % 2 == 0:
        raise argparse.ArgumentTypeError(f"must be odd (the median of an even number is no run), got {value}")
    return value


#: The skeleton detector's refinement passes that the rendered val clips chose
#: (bench_skeleton_net_refine.py): the "refined" rows of the street and speed benches.
REFINED_PASSES = 2
#: The image-path benches' default rows (--net): the shipped skeleton net, and its first stage alone.
IMAGE_PATH_NETS = (("labelled start", "skeleton-net"), ("labelled start, stage 1 only", "skeleton-net-start"))


def labelled_weights(text: str) -> tuple[str, str]:
    """'LABEL=NAME|PATH' -> (label, weights): a row of the image-path benchmarks (--net)."""
    label, sep, weights = text.partition("=")
    if not sep or not label or not weights:
        raise argparse.ArgumentTypeError(f"--net takes LABEL=NAME|PATH, got {text!r}")
    return label, weights
