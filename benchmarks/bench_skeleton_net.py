"""The image path on synthetic cmu-test renders: Phi -> Omega -> Lambda against ground-truth 2D +
the same Lambda and MediaPipe + the same Lambda, on the same frames, in one run.

Frames: `--frames` CMU test-subject frames (09, 13, 14: never trained on), evenly spaced, each
drawn once by realtime3d.data.synth with an appearance and camera of seed EVAL_SEED (a stream
that no training run draws). Labels: the renders' own 2D (crop pixels) and 3D (mm).

Rows (Lambda is the skeleton-net card's lifter, single pass: no flip averaging):
- skeleton-net: the shipped (or --weights) Phi -> Omega on the 128 x 128 crop;
- ground-truth 2D: the render's joints;
- constant: one pose for every frame, the mean of CMU train 2D views (fixed-camera protocol)
  framed by the crop rule: what a net that ignores the image scores (the floor to beat);
- mediapipe: MediaPipe pose (model_complexity 1, static images) on the crop scaled up to 256 x 256
  (its own input size), mapped to the 17 joints by realtime3d.detect's rules. Frames where it
  finds nobody are counted; its metrics are over the frames it found, and every row is also
  scored on those frames (the `on_mediapipe_frames` block), so the three compare on one set.

Metrics: 2D PCK (share of joints within PCK_TORSO = 0.2 of the pose's torso height, the
pelvis-thorax distance of the label, in crop pixels) and 3D P-MPJPE (mm, Procrustes with scale).
Writes benchmarks/results/skeleton_net.json (machine, commit).

    python benchmarks/bench_skeleton_net.py [--frames 600] [--weights PATH]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _env import commit, machine_info, write_json  # noqa: E402

from realtime3d.data import synth  # noqa: E402
from realtime3d.data.mocap import load_split  # noqa: E402
from realtime3d.native_logs import quiet_native_logs  # noqa: E402
from realtime3d.lifting import Lifter  # noqa: E402
from realtime3d.metrics import PCK_TORSO, p_mpjpe, pck_torso  # noqa: E402
from realtime3d.crops import square_box, to_crop  # noqa: E402
from realtime3d.models.image import CROP_SIZE  # noqa: E402
from realtime3d.trainers.sampling import fixed_camera_pool  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "skeleton_net.json"
#: The appearance and camera seed of the test renders (training draws other streams).
EVAL_SEED = 2026
BATCH = 32


def renders(frames: int) -> dict[str, torch.Tensor]:
    """The test renders: images [N, 3, 128, 128], joints2d [N, 17, 2] crop px, joints3d [N, 17, 3] mm."""
    split = load_split("test")
    idx = np.linspace(0, len(split["joints3d"]) - 1, frames).round().astype(int)
    joints = torch.from_numpy(split["joints3d"][idx])
    gen = torch.Generator().manual_seed(EVAL_SEED)
    out = [synth.render_random(joints[i:i + BATCH], gen) for i in range(0, len(joints), BATCH)]
    return {k: torch.cat([o[k] for o in out]) for k in ("image", "joints2d", "joints3d")}


@torch.no_grad()
def skeleton_net_2d(weights: str, images: torch.Tensor) -> tuple[np.ndarray, dict]:
    from realtime3d.detect.skeleton_net import load_skeleton_net
    net, card = load_skeleton_net(weights)
    net.eval()
    out = [net(images[i:i + BATCH])[1] for i in range(0, len(images), BATCH)]
    return torch.cat(out).numpy(), card


def constant_2d(frames: int) -> np.ndarray:
    """The mean train 2D pose in crop pixels [frames, 17, 2]: every tenth CMU train frame through its
    clip's fixed cameras, each view framed by the crop rule (no jitter), averaged."""
    split = load_split("train")
    pool = fixed_camera_pool(split["joints3d"][::10], split["clip"][::10], seed=0)
    pose2d = torch.as_tensor(pool.pose2d, dtype=torch.float32)                         # [V, 17, 2]
    mean = to_crop(pose2d, square_box(pose2d), CROP_SIZE).mean(0).numpy()              # [17, 2]
    return np.broadcast_to(mean, (frames, *mean.shape)).copy()


def mediapipe_2d(images: torch.Tensor) -> np.ndarray:
    """MediaPipe's 17 joints [N, 17, 2] in crop pixels (NaN where it finds nobody)."""
    from realtime3d.detect import PoseDetector
    scale = 2
    out = np.full((len(images), 17, 2), np.nan, np.float32)
    with PoseDetector(static_image_mode=True) as detector:
        for i, image in enumerate(images):
            rgb = (image.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
            big = cv2.resize(rgb, (CROP_SIZE * scale, CROP_SIZE * scale), interpolation=cv2.INTER_LINEAR)
            found = detector.detect_rgb(big)
            if found is not None:
                out[i] = (found.joints2d_px + 0.5) / scale - 0.5
    return out


def scores(pred2d: np.ndarray, truth2d: np.ndarray, truth3d: np.ndarray, lifter: Lifter) -> dict:
    lifted = lifter.lift(pred2d, (CROP_SIZE, CROP_SIZE))
    return {"frames": int(len(pred2d)),
            "pck_2d": round(float(pck_torso(pred2d, truth2d).mean()), 4),
            "p_mpjpe_mm": round(float(p_mpjpe(lifted, truth3d).mean()), 2)}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=600, help="test frames rendered (evenly spaced)")
    ap.add_argument("--weights", default="skeleton-net", help="the skeleton net: a shipped name or a .pt")
    ap.add_argument("--threads", type=int, default=2, help="torch threads")
    ap.add_argument("--out", default=str(RESULTS), help="results file")
    args = ap.parse_args(argv)
    quiet_native_logs()
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    data = renders(args.frames)
    truth2d, truth3d = data["joints2d"].numpy(), data["joints3d"].numpy()
    rows = {}
    rows["skeleton-net"], card = skeleton_net_2d(args.weights, data["image"])
    rows["ground-truth 2D"] = truth2d
    rows["constant"] = constant_2d(len(truth2d))
    rows["mediapipe"] = mediapipe_2d(data["image"])
    lifter = Lifter.from_pretrained(card["lifter"])
    lifter.flip_average = False
    found = np.isfinite(rows["mediapipe"]).all((1, 2))
    result = {
        "what": "synthetic cmu-test renders: 2D PCK and the same lifter's P-MPJPE, single pass",
        "lifter": card["lifter"], "weights": args.weights, "pck_threshold": f"{PCK_TORSO} x torso height",
        "render_seed": EVAL_SEED, "frames": args.frames, "mediapipe_found": int(found.sum()),
        "all_frames": {k: scores(v, truth2d, truth3d, lifter) for k, v in rows.items() if k != "mediapipe"},
        "on_mediapipe_frames": {k: scores(v[found], truth2d[found], truth3d[found], lifter) for k, v in rows.items()},
        "seconds": round(time.perf_counter() - t0, 1), "machine": machine_info(), "commit": commit(),
    }
    gt = result["all_frames"]["ground-truth 2D"]["p_mpjpe_mm"]
    result["ratio_to_ground_truth_2d"] = round(result["all_frames"]["skeleton-net"]["p_mpjpe_mm"] / gt, 3)
    write_json(args.out, result)
    print(json.dumps({k: result[k] for k in ("all_frames", "on_mediapipe_frames", "ratio_to_ground_truth_2d")}, indent=1))


if __name__ == "__main__":
    main()
