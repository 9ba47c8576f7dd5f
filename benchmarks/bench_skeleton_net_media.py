"""The image path on real footage: how often the skeleton net's 2D agrees with MediaPipe's on the
street video's dancer, before and after adapting the net to that video without labels, in one run.

1. Adaptation (skipped with --after PATH): `realtime3d train skeleton-net_adapt-footage_w24_10min
   --set params.footage=VIDEO`, from the shipped net (10 minutes, two threads), into
   runs/adapt/NAME.
   Person crops come from MediaPipe's 2D framed by the crop rule; nothing else of MediaPipe is
   read by the adaptation.
2. Agreement: every frame through SkeletonNetDetector (its own crop, following its last pose,
   the full frame when lost) with the shipped (before) and the adapted (after) weights, and
   through MediaPipe (tracking mode), the reference. A joint agrees when it lies within
   metrics.PCK_TORSO = 0.2 x the torso height (MediaPipe's pelvis-thorax distance in that frame) of
   MediaPipe's joint; a frame's score is its share of agreeing joints (0 where the net finds
   nobody); the figure is the mean over the frames where MediaPipe finds the dancer.

Writes benchmarks/results/skeleton_net_media.json (machine, commit). The video is test input
only: nothing derived from it is committed (the adapted weights stay in runs/).

    python benchmarks/bench_skeleton_net_media.py [--video PATH] [--after runs/adapt/street_dance/best.pt]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _env import commit, machine_info, write_json  # noqa: E402
from _video import frames_rgb  # noqa: E402

from realtime3d.detect import PoseDetector, SkeletonNetDetector  # noqa: E402
from realtime3d.metrics import PCK_TORSO, pck_torso  # noqa: E402
from realtime3d.native_logs import quiet_native_logs  # noqa: E402
from realtime3d.skeleton import H36M17  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO = ROOT.parent / "shared" / "data" / "media" / "street_dance.avi"
RESULTS = ROOT / "benchmarks" / "results" / "skeleton_net_media.json"
ADAPT_CONFIG = "skeleton-net_adapt-footage_w24_10min"


def track(detector, frames: list[np.ndarray]) -> np.ndarray:
    """[N, 17, 2] frame pixels, NaN where the detector finds nobody."""
    out = np.full((len(frames), H36M17.num_joints, 2), np.nan, np.float32)
    for i, frame in enumerate(frames):
        found = detector.detect_rgb(frame)
        if found is not None:
            out[i] = found.joints2d_px
    return out


def agreement(pred: np.ndarray, reference: np.ndarray) -> dict:
    found = np.isfinite(reference).all((1, 2))
    agree = pck_torso(pred[found], reference[found])                                             # [found]
    return {"frames": int(found.sum()), "agreement": round(float(agree.mean()), 4),
            "net_found": int(np.isfinite(pred).all((1, 2))[found].sum())}


def adapt(video: str, run_dir: Path) -> Path:
    cmd = [sys.executable, "-m", "realtime3d", "train", ADAPT_CONFIG, "--run-dir", str(run_dir),
           "--set", f"params.footage={video}"]
    if (run_dir / "ckpt-last.pt").exists():
        cmd.append("--resume")
    subprocess.run(cmd, check=True)
    return run_dir / "best.pt"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--video", default=str(DEFAULT_VIDEO), help="the footage (a video)")
    ap.add_argument("--before", default="skeleton-net", help="the net before adaptation (a shipped name or a .pt)")
    ap.add_argument("--after", default=None, help="an adapted net (.pt); default: adapt now into runs/adapt/VIDEO")
    ap.add_argument("--out", default=str(RESULTS), help="results file")
    args = ap.parse_args(argv)
    quiet_native_logs()
    after = Path(args.after) if args.after else adapt(args.video, ROOT / "runs" / "adapt" / Path(args.video).stem)
    frames = frames_rgb(args.video)
    with PoseDetector() as mediapipe:
        reference = track(mediapipe, frames)
    rows = {}
    for name, weights in (("before", args.before), ("after", str(after))):
        with SkeletonNetDetector(weights) as detector:
            rows[name] = agreement(track(detector, frames), reference)
    result = {"what": f"share of the dancer's joints within {PCK_TORSO} x torso height of MediaPipe's, "
                      "before and after adapting on the video without labels",
              "video": Path(args.video).name, "before": args.before, "after": str(after.relative_to(ROOT))
              if after.is_relative_to(ROOT) else str(after), "rows": rows,
              "machine": machine_info(), "commit": commit()}
    write_json(args.out, result)
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
