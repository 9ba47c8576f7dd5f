"""Calibrate the detector's head-top estimate: head_top = head + k * (head - thorax), in 2D.

MediaPipe has no head-top landmark. On CMU train mocap (the lifter's training data),
seen through the training cameras (realtime3d.data.views: random azimuth, elevation
0-20 deg), k is fitted by least squares over all joints' 2D coordinates. The error of
the estimate, relative to the 2D head-thorax length, is compared with the baseline
k = 0 (head top placed on the head) in the same run.

Writes benchmarks/results/head_top_calibration.json with machine and commit; the
fitted k goes into realtime3d/detect/mediapipe.py (HEAD_TOP_K).

    python benchmarks/calibrate_head_top.py [--views 4] [--seed 0]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _env import commit, machine_info  # noqa: E402

from realtime3d.data.mocap import load_split  # noqa: E402
from realtime3d.data.views import project_views, random_rotations  # noqa: E402
from realtime3d.skeleton import H36M17  # noqa: E402

HEAD, HEAD_TOP, THORAX = (H36M17.index[n] for n in ("head", "head_top", "thorax"))


def relative_error(head: np.ndarray, head_top: np.ndarray, thorax: np.ndarray, k: float) -> np.ndarray:
    """|estimate - head_top| / |head - thorax| per pose; all inputs [N, 2]."""
    up = head - thorax
    estimate = head + k * up
    return np.linalg.norm(estimate - head_top, axis=-1) / np.linalg.norm(up, axis=-1).clip(min=1e-9)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--views", type=int, default=4, help="random cameras per training pose")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="benchmarks/results/head_top_calibration.json")
    args = ap.parse_args()

    joints3d = torch.from_numpy(load_split("train")["joints3d"]).float()        # [N, 17, 3] mm
    gen = torch.Generator().manual_seed(args.seed)
    poses = joints3d.repeat(args.views, 1, 1)                                    # [V*N, 17, 3]
    pose2d, _ = project_views(poses, random_rotations(len(poses), generator=gen))  # [V*N, 17, 2]
    p = pose2d.double().numpy()
    head, head_top, thorax = p[:, HEAD], p[:, HEAD_TOP], p[:, THORAX]             # [M, 2] each

    up, target = head - thorax, head_top - head                                   # [M, 2]
    k = float((up * target).sum() / (up * up).sum())                              # least squares
    err_fit = relative_error(head, head_top, thorax, k)
    err_base = relative_error(head, head_top, thorax, 0.0)
    result = {
        "model": "head_top = head + k * (head - thorax), 2D",
        "k": round(k, 4),
        "poses": int(len(joints3d)), "views_per_pose": args.views, "seed": args.seed,
        "fitted": {"mean_rel_error": round(float(err_fit.mean()), 4),
                   "median_rel_error": round(float(np.median(err_fit)), 4)},
        "baseline_k0": {"mean_rel_error": round(float(err_base.mean()), 4),
                        "median_rel_error": round(float(np.median(err_base)), 4)},
        "fitted_vs_baseline_mean_error": round(float(err_fit.mean() / err_base.mean()), 3),
        "note": "errors are relative to the 2D head-thorax length of each pose",
        "machine": machine_info(), "commit": commit(),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k_: v for k_, v in result.items() if k_ != "machine"}, indent=2))


if __name__ == "__main__":
    main()
