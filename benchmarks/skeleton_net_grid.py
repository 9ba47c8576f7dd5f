"""A PNG grid of what the image path sees: per column, a person crop, Phi's skeleton image (the max
over its bone channels, grey), and kappa of Omega's 2D over it (coloured by side), with, for
synthetic renders, kappa of the true 2D in a fourth row.

    python benchmarks/skeleton_net_grid.py --sample -o docs/img/skeleton_net_grid.png
    python benchmarks/skeleton_net_grid.py --synthetic -o /tmp/grid.png
    python benchmarks/skeleton_net_grid.py --video ../shared/data/media/street_dance.avi -o /tmp/grid.png

--sample renders the project's own sample pose (realtime3d.data.sample) with a different
appearance and camera per column: nothing of the shared data is in it, so that grid may be
committed. --synthetic draws renders of CMU test-subject frames (seed EVAL_SEED of
bench_skeleton_net.py), derived from the mocap: for looking at locally. --video follows the detector's own crops through the first frames
of a video and shows every `--every`-th: for looking at locally; a grid of the shared media is
derived from them and must not be committed.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from realtime3d.crops import cut, to_crop  # noqa: E402
from realtime3d.data import synth  # noqa: E402
from realtime3d.data.mocap import load_split  # noqa: E402
from realtime3d.data.sample import standing_pose_mm  # noqa: E402
from realtime3d.detect import SkeletonNetDetector, load_skeleton_net  # noqa: E402
from realtime3d.detect.skeleton_net import render_kappa  # noqa: E402
from realtime3d.io._atomic import atomic_path  # noqa: E402
from realtime3d.models.image import CROP_SIZE  # noqa: E402
from realtime3d.viz.style import bone_colors_rgb  # noqa: E402

EVAL_SEED = 2026


def coloured(kappa: torch.Tensor) -> np.ndarray:
    """Per-bone skeleton images [K, S, S] -> [S, S, 3] float RGB, each bone in its side's colour."""
    colours = torch.as_tensor(bone_colors_rgb(), dtype=torch.float32)                      # [K, 3]
    weight, which = kappa.max(0)                                                          # [S, S]
    return (colours[which] * weight[..., None]).numpy()


def panel(crop: np.ndarray, skeleton: torch.Tensor, joints: torch.Tensor, truth: torch.Tensor | None) -> np.ndarray:
    """One column: crop [S2, S2, 3] uint8 RGB, Phi's image [K, S, S], Omega's 2D [J, 2] crop px."""
    up = lambda img: cv2.resize(img, (CROP_SIZE, CROP_SIZE), interpolation=cv2.INTER_NEAREST)  # noqa: E731
    grey = skeleton.amax(0).numpy()[..., None].repeat(3, -1)
    over = np.maximum(grey * 0.6, coloured(render_kappa(joints[None])[0]))
    rows = [crop.astype(np.float32) / 255.0, up(grey), up(over)]
    if truth is not None:
        rows.append(up(coloured(render_kappa(truth[None])[0])))
    return np.concatenate(rows, 0)


@torch.no_grad()
def synthetic_columns(weights: str, n: int, sample: bool = False) -> list[np.ndarray]:
    net, _ = load_skeleton_net(weights)
    if sample:
        poses = np.repeat(standing_pose_mm()[None], n, 0)                                # [n, 17, 3]
    else:
        split = load_split("test")
        poses = split["joints3d"][np.linspace(0, len(split["joints3d"]) - 1, n).round().astype(int)]
    r = synth.render_random(torch.from_numpy(poses), torch.Generator().manual_seed(EVAL_SEED))
    skeleton, joints = net(r["image"])
    crops = (r["image"].permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8)
    return [panel(crops[i], skeleton[i], joints[i], r["joints2d"][i]) for i in range(n)]


def video_columns(weights: str, video: str, n: int, every: int) -> list[np.ndarray]:
    capture, columns, i = cv2.VideoCapture(video), [], 0
    with SkeletonNetDetector(weights) as detector:
        while len(columns) < n:
            ok, frame = capture.read()
            if not ok:
                break
            rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            found = detector.detect_rgb(rgb)
            if found is not None and i % every == 0:
                x0, y0, side = found.crop_box
                crop = cut(rgb, (x0 + side / 2, y0 + side / 2, side), CROP_SIZE)
                box = torch.tensor([[x0 + side / 2, y0 + side / 2, side]], dtype=torch.float64)
                joints = to_crop(torch.from_numpy(found.joints2d_px[None]).double(), box, CROP_SIZE)[0].float()
                columns.append(panel(crop, torch.from_numpy(found.skeleton), joints, None))
            i += 1
    capture.release()
    if not columns:
        raise SystemExit(f"skeleton_net_grid: no frame of {video} gave a person")
    return columns


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--sample", action="store_true", help="renders of the project's own sample pose")
    src.add_argument("--synthetic", action="store_true", help="renders of CMU test-subject frames")
    src.add_argument("--video", help="a video: the detector's crops of its first frames")
    ap.add_argument("--weights", default="skeleton-net", help="the skeleton net: a shipped name or a .pt")
    ap.add_argument("--columns", type=int, default=8, help="crops in the grid")
    ap.add_argument("--every", type=int, default=10, help="with --video: every n-th frame")
    ap.add_argument("-o", "--output", required=True, help="the PNG to write")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    cols = (synthetic_columns(args.weights, args.columns, sample=args.sample) if args.synthetic or args.sample
            else video_columns(args.weights, args.video, args.columns, args.every))
    grid = (np.concatenate(cols, 1) * 255).round().clip(0, 255).astype(np.uint8)
    with atomic_path(args.output, suffix=".png") as tmp:
        cv2.imwrite(str(tmp), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))
    print(f"wrote {args.output} ({len(cols)} columns)")


if __name__ == "__main__":
    main()
