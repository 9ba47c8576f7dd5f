"""How many times the skeleton detector should read each person again in the crop of its own
answer (SkeletonNetDetector(refine_passes=N), skeleton_net.REFINE_PASSES), chosen on the rendered
val clips, in one run.

Clips: the rendered val clips of `--clips` (subjects 02 and 07, never trained on: `python
benchmarks/bench_video3d.py --split val` renders them), scored as bench_skeleton_net_adapt.py
scores them: every frame through SkeletonNetDetector as `realtime3d video --detector
skeleton-net` runs it (flip-averaged as the net's card says), each true person matched to the
nearest detection, 2D PCK at metrics.PCK_TORSO x the true torso height, a miss scoring 0. Their
truth is read only to score. One row per refine_passes in `--passes`, with the seconds each took
(all the clips' frames on one thread: the cost of the passes beside the rest of the app).

Writes benchmarks/results/skeleton_net_refine.json (machine, commit).

    python benchmarks/bench_skeleton_net_refine.py [--passes 0,1,2] [--weights NAME|PATH]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _args  # noqa: E402
from _env import commit, machine_info, write_json  # noqa: E402
from bench_skeleton_net_adapt import score, val_clips  # noqa: E402

from realtime3d.detect import SkeletonNetDetector  # noqa: E402
from realtime3d.metrics import PCK_TORSO  # noqa: E402
from realtime3d.native_logs import quiet_native_logs  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "skeleton_net_refine.json"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clips", default=str(ROOT / "runs" / "val3d" / "clips"), help="the rendered val clips' folder")
    ap.add_argument("--weights", default="skeleton-net", help="the skeleton net: a shipped name or a .pt")
    ap.add_argument("--passes", type=_args.ints, default=[0, 1, 2], help="comma-separated refine_passes to score")
    ap.add_argument("--out", default=str(RESULTS), help="results file")
    args = ap.parse_args(argv)
    quiet_native_logs()
    torch.set_num_threads(1)
    clips = val_clips(args.clips)
    rows = {}
    for passes in args.passes:
        t0 = time.perf_counter()
        row = score(lambda: SkeletonNetDetector(args.weights, refine_passes=passes), clips)
        rows[f"refine_passes={passes}"] = {**row, "seconds": round(time.perf_counter() - t0, 1)}
    result = {"what": f"2D PCK@{PCK_TORSO} x torso of every true person in the rendered val clips, per refine_passes",
              "weights": args.weights, "clips": [c.name for c in clips], "rows": rows,
              "machine": machine_info(), "commit": commit()}
    write_json(args.out, result)
    print(json.dumps({k: (v["pck_2d"], v["seconds"]) for k, v in rows.items()}, indent=1))


if __name__ == "__main__":
    main()
