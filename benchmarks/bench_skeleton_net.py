"""The image path on synthetic test renders: each skeleton net's Phi -> Omega 2D, MediaPipe's 2D, a
constant pose and the true 2D, scored on the same crops and lifted by the same lifter, in one run.

Crops: the person crops of `--crops` (default runs/crops/test: `python -m realtime3d.render.crop_shards
--split test --holdout held-out --out runs/crops/test --max-crops 1500 --seed 2026 --fps 30
--background-p 0.2`): realistic people posed by the CMU test subjects (09, 13, 14: never trained
on), wearing the held-out top patterns, in the held-out scene kinds, none of which a training crop
shows. Each crop is the render's own window (the person's mesh box times 1.15 to 1.5, moved a
little), the same 128 x 128 pixels for every row. Labels: the renders' own 2D (crop px) and 3D (mm).

Rows (each lifted single pass, no flip averaging, by --lifter: default the default model's lifter):
- each --net LABEL=NAME|PATH: a skeleton net's Phi -> Omega on the crop, single pass; and, for a
  net whose card sets flip_average (as the app runs it), "LABEL, flip-averaged": the crop and its
  mirror image, the two answers averaged (detect.skeleton_net.phi_omega);
- mediapipe: MediaPipe pose (model_complexity 1, static images) on the crop scaled up to 256 x 256
  (its own input size), mapped to the 17 joints by realtime3d.detect's rules. Crops where it finds
  nobody are counted; every row is also scored on the crops it found (`on_mediapipe_crops`), so
  that all compare on one set;
- constant pose: one pose for every crop, the mean 2D of the training crops (--train-crops; the
  renders' labels, framed by their windows as the test crops are): what a net that ignores the
  image scores;
- ground-truth 2D: the render's joints (the lifter's own floor).

Metrics: 2D PCK (share of joints within PCK_TORSO = 0.2 of the pose's torso height, the
pelvis-thorax distance of the label, in crop pixels) and P-MPJPE (mm, Procrustes with scale).
Writes benchmarks/results/skeleton_net.json (machine, commit).

    python benchmarks/bench_skeleton_net.py [--net "labelled start=skeleton-net" --net "adapted=runs/x/best.pt"]

Each net's train_minutes are its card's budget with that of the net it started from.
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
import _args  # noqa: E402
from _env import commit, machine_info, write_json  # noqa: E402

from realtime3d.detect.skeleton_net import load_skeleton_net, phi_omega, train_minutes  # noqa: E402
from realtime3d.lifting import Lifter  # noqa: E402
from realtime3d.metrics import PCK_TORSO, p_mpjpe, pck_torso  # noqa: E402
from realtime3d.models.image import CROP_SIZE  # noqa: E402
from realtime3d.native_logs import quiet_native_logs  # noqa: E402
from realtime3d.render.crop_shards import read_shards  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "skeleton_net.json"
BATCH = 32


def net_2d(net: torch.nn.Module, images: torch.Tensor, flip_average: bool = False) -> np.ndarray:
    """A skeleton net's 2D [N, 17, 2] crop px of images [N, 3, S, S] in 0..1."""
    with torch.inference_mode():
        out = [phi_omega(net, images[i:i + BATCH], flip_average)[1] for i in range(0, len(images), BATCH)]
    return torch.cat(out).numpy()


def mediapipe_2d(images: np.ndarray) -> np.ndarray:
    """MediaPipe's 17 joints [N, 17, 2] in crop pixels (NaN where it finds nobody) of uint8 crops [N, S, S, 3]."""
    from realtime3d.detect import PoseDetector
    scale = 2
    out = np.full((len(images), 17, 2), np.nan, np.float32)
    with PoseDetector(static_image_mode=True) as detector:
        for i, rgb in enumerate(images):
            big = cv2.resize(rgb, (CROP_SIZE * scale, CROP_SIZE * scale), interpolation=cv2.INTER_LINEAR)
            found = detector.detect_rgb(big)
            if found is not None:
                out[i] = (found.joints2d_px + 0.5) / scale - 0.5
    return out


def scores(pred2d: np.ndarray, truth2d: np.ndarray, truth3d: np.ndarray, lifter: Lifter) -> dict:
    lifted = lifter.lift(pred2d, (CROP_SIZE, CROP_SIZE))
    return {"crops": int(len(pred2d)),
            "pck_2d": round(float(pck_torso(pred2d, truth2d).mean()), 4),
            "p_mpjpe_mm": round(float(p_mpjpe(lifted, truth3d).mean()), 2)}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--net", type=_args.labelled_weights, action="append", default=None,
                    help="a row: LABEL=NAME|PATH, a shipped skeleton net or a .pt (repeat; default: "
                         f"{', '.join(repr(f'{k}={v}') for k, v in _args.IMAGE_PATH_NETS)})")
    ap.add_argument("--crops", default=str(ROOT / "runs" / "crops" / "test"), help="the test crops' folder")
    ap.add_argument("--train-crops", default=str(ROOT / "runs" / "crops" / "train"),
                    help="the training crops' folder (the constant pose's mean)")
    ap.add_argument("--max-crops", type=int, default=0, help="score the first N crops (0: all)")
    ap.add_argument("--lifter", default=None, help="the lifter of every row (default: the default model's lifter)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads")
    ap.add_argument("--out", default=str(RESULTS), help="results file")
    args = ap.parse_args(argv)
    quiet_native_logs()
    torch.set_num_threads(args.threads)
    nets = args.net or list(_args.IMAGE_PATH_NETS)
    t0 = time.perf_counter()
    data = read_shards(args.crops, ("images", "joints2d", "joints3d", "person"), limit=args.max_crops)
    keep = data["person"]
    rgb, truth2d, truth3d = data["images"][keep], data["joints2d"][keep], data["joints3d"][keep]
    images = torch.from_numpy(rgb).permute(0, 3, 1, 2).float() / 255.0
    rows, cards = {}, {}
    for label, weights in nets:
        net, card = load_skeleton_net(weights)
        info = {"weights": weights, "supervision": card.get("supervision", "label-free"),
                "train_minutes": train_minutes(card), "method": card.get("method"), "flip_average": False}
        rows[label], cards[label] = net_2d(net, images), info
        if card.get("flip_average"):
            rows[f"{label}, flip-averaged"] = net_2d(net, images, flip_average=True)
            cards[f"{label}, flip-averaged"] = {**info, "flip_average": True}
    rows["mediapipe"] = mediapipe_2d(rgb)
    train = read_shards(args.train_crops, ("joints2d", "person"))
    mean = np.nanmean(train["joints2d"][train["person"]], axis=0)                          # [17, 2]
    rows["constant pose"] = np.broadcast_to(mean, truth2d.shape).astype(np.float32).copy()
    rows["ground-truth 2D"] = truth2d
    lifter = Lifter.from_pretrained(args.lifter)
    lifter.flip_average = False
    found = np.isfinite(rows["mediapipe"]).all((1, 2))
    result = {
        "what": "render crops (default: the test renders, CMU test subjects, held-out appearances and scenes): 2D "
                "PCK and the same lifter's P-MPJPE, the lifter single pass",
        "crops_folder": str(args.crops),
        "lifter": lifter.name,
        "pck_threshold": f"{PCK_TORSO} x torso height", "crops": int(keep.sum()),
        "mediapipe_found": int(found.sum()), "nets": cards,
        "all_crops": {k: scores(v, truth2d, truth3d, lifter) for k, v in rows.items() if k != "mediapipe"},
        "on_mediapipe_crops": {k: scores(v[found], truth2d[found], truth3d[found], lifter) for k, v in rows.items()},
        "seconds": round(time.perf_counter() - t0, 1), "machine": machine_info(), "commit": commit(),
    }
    mp = result["on_mediapipe_crops"]["mediapipe"]
    result["ratios_to_mediapipe"] = {
        label: {"pck": round(result["on_mediapipe_crops"][label]["pck_2d"] / mp["pck_2d"], 3),
                "p_mpjpe": round(result["on_mediapipe_crops"][label]["p_mpjpe_mm"] / mp["p_mpjpe_mm"], 3)}
        for label in cards}
    write_json(args.out, result)
    print(json.dumps({k: result[k] for k in ("all_crops", "on_mediapipe_crops", "ratios_to_mediapipe")}, indent=1))


if __name__ == "__main__":
    main()
