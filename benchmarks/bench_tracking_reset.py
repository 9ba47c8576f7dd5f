"""What a tracking restart costs: MediaPipe's graph restart against the blank frame that
PoseDetector.reset() shows it, in one run.

Offline runs restart MediaPipe's tracking every CHUNK_FRAMES frames (offline.py). Each
trial tracks the street video for a few frames, restarts tracking one way, and times the
restart itself plus the next detection (which runs the person detector afresh):

- graph restart: mediapipe's own Pose.reset(), which re-creates the graph's interpreters;
- blank frame: PoseDetector.reset() (what realtime3d does), a 64x64 black image shown to
  the tracker, which lets go of the person bit for bit as a new detector (tests/test_detect.py);
- no restart: the next detection while tracking, for scale.

Writes benchmarks/results/tracking_reset.json (median ms over the trials, machine, commit).

    python benchmarks/bench_tracking_reset.py
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _env import commit, machine_info  # noqa: E402

from realtime3d.detect.mediapipe import PoseDetector  # noqa: E402
from realtime3d.io._atomic import atomic_write_text  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO = ROOT.parent / "shared" / "data" / "media" / "street_dance.avi"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--video", default=str(DEFAULT_VIDEO))
    ap.add_argument("--trials", type=int, default=15)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "tracking_reset.json"))
    args = ap.parse_args()
    capture = cv2.VideoCapture(args.video)
    frames = [capture.read()[1] for _ in range(4 * args.trials + 4)]
    restarts = {"graph restart": lambda d: d._pose.reset(), "blank frame": lambda d: d.reset(),
                "no restart": lambda d: None}
    times: dict[str, list[float]] = {name: [] for name in restarts}
    with PoseDetector() as detector:
        for trial in range(args.trials):
            for name, restart in restarts.items():
                for frame in frames[4 * trial:4 * trial + 3]:       # tracking the person
                    detector.detect(frame)
                start = time.perf_counter()
                restart(detector)
                detector.detect(frames[4 * trial + 3])
                times[name].append(1e3 * (time.perf_counter() - start))
    medians = {name: round(float(np.median(t)), 1) for name, t in times.items()}
    result = {"benchmark": "bench_tracking_reset", "machine": machine_info(), "commit": commit(),
              "video": Path(args.video).name, "trials": args.trials,
              "measure": "ms of the restart plus the next detection (median over trials)",
              "median_ms": medians,
              "extra_ms_over_no_restart": {n: round(v - medians["no restart"], 1) for n, v in medians.items()},
              "all_ms": {n: [round(v, 2) for v in t] for n, t in times.items()}}
    atomic_write_text(args.out, json.dumps(result, indent=2) + "\n")
    print(json.dumps({"median_ms": medians, "extra_ms_over_no_restart": result["extra_ms_over_no_restart"]}))


if __name__ == "__main__":
    main()
