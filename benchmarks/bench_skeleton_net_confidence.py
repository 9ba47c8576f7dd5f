"""The shipped skeleton net on real footage: its confidence against the no-person threshold, and
how much its 2D moves, over every frame of the street video (docs/app.md, --detector skeleton-net).

Every frame goes through SkeletonNetDetector as `realtime3d video --detector skeleton-net` runs it
(its own crop, following its last pose, the full frame when lost), with person_confidence 0 so
that every frame's answer is kept. Recorded: the frames, the confidence's maximum, median and
minimum, the frames at or above skeleton_net.PERSON_CONFIDENCE (the ones the command keeps),
and the 2D's spread: the mean over joints of the standard deviation of each joint's pixel
position over the clip (px; a person who walks across the frame moves it by hundreds).

Writes benchmarks/results/skeleton_net_confidence.json (machine, commit).

    python benchmarks/bench_skeleton_net_confidence.py [--video PATH] [--weights NAME|PATH]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _env import commit, machine_info  # noqa: E402

from realtime3d.capture import VideoSource  # noqa: E402
from realtime3d.detect.skeleton_net import DEFAULT_WEIGHTS, PERSON_CONFIDENCE, SkeletonNetDetector  # noqa: E402
from realtime3d.io._atomic import atomic_write_text  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--video", default=str(ROOT.parent / "shared" / "data" / "media" / "street_dance.avi"))
    ap.add_argument("--weights", default=DEFAULT_WEIGHTS, help="a shipped skeleton net's name or a .pt")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "skeleton_net_confidence.json"))
    args = ap.parse_args()
    confidence, joints = [], []
    with SkeletonNetDetector(args.weights, person_confidence=0.0) as detector:
        for frame in VideoSource(args.video):
            found = detector.detect(frame.image)
            confidence.append(found.confidence)
            joints.append(found.joints2d_px)                                  # [17, 2] px
    confidence, joints = np.array(confidence), np.array(joints)              # [N], [N, 17, 2]
    spread = float(np.linalg.norm(joints.std(axis=0), axis=-1).mean())
    result = {
        "what": "the skeleton net's frame confidence against the no-person threshold, and its 2D's spread over "
                "the clip (mean over joints of the std of the joint's position, px)",
        "video": Path(args.video).name, "weights": str(args.weights), "frames": len(confidence),
        "person_confidence_threshold": PERSON_CONFIDENCE,
        "confidence": {"max": round(float(confidence.max()), 5), "median": round(float(np.median(confidence)), 5),
                       "min": round(float(confidence.min()), 5)},
        "frames_at_or_above_threshold": int((confidence >= PERSON_CONFIDENCE).sum()),
        "spread_2d_px": round(spread, 3),
        "machine": machine_info(), "commit": commit(),
    }
    atomic_write_text(args.out, json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k not in ("machine", "commit")}, indent=2))


if __name__ == "__main__":
    main()
