"""A PNG grid of what the image path sees: per column, a person crop, Phi's skeleton image (the max
over its bone channels, grey), and kappa of Omega's 2D over it (coloured by side), with, for
renders, kappa of the true 2D in a fourth row.

    python benchmarks/skeleton_net_grid.py --sample -o docs/img/skeleton_net_grid.png
    python benchmarks/skeleton_net_grid.py --synthetic -o /tmp/grid.png [--crops runs/crops/test]
    python benchmarks/skeleton_net_grid.py --video ../shared/data/media/street_dance.avi -o /tmp/grid.png

--sample renders the project's own sample pose (realtime3d.data.sample, standing on the floor of
the render world) with the realistic renderer (realtime3d.render.crops.CropSampler, every
appearance and scene kind), a different person, scene and camera per column (seed SAMPLE_SEED +
the column): nothing of the shared data is in it, so that grid may be committed. --synthetic
shows the first person crops of the test renders in --crops (python -m
realtime3d.render.crop_shards --split test --holdout held-out ..., as bench_skeleton_net.py
reads them: CMU test subjects, held-out appearances and scenes), posed by the mocap: for looking
at locally. --video follows the detector's own crops through the first frames of a video
(SkeletonNetDetector with max_people=1: one person followed, the largest; and person_confidence
0, so that a weak net's reading is shown too) and shows every `--every`-th: for
looking at locally; a grid of the shared media is derived from them and must not be committed.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from realtime3d.crops import cut  # noqa: E402
from realtime3d.data.sample import standing_pose_mm  # noqa: E402
from realtime3d.detect import SkeletonNetDetector, load_skeleton_net  # noqa: E402
from realtime3d.detect.skeleton_net import read_crops, render_kappa  # noqa: E402
from realtime3d.io._atomic import atomic_path  # noqa: E402
from realtime3d.models.image import CROP_SIZE, GAMMA  # noqa: E402
from realtime3d.skeleton import H36M17  # noqa: E402
from realtime3d.viz.style import bone_colors_rgb  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
#: Column i of --sample is CropSampler's seed SAMPLE_SEED + i.
SAMPLE_SEED = 2026
#: How high a standing person's lower ankle is above the floor, m (CMU's ankle joints: about 0.1).
ANKLE_HEIGHT_M = 0.1


def coloured(kappa: torch.Tensor) -> np.ndarray:
    """Per-bone skeleton images [K, S, S] -> [S, S, 3] float RGB, each bone in its side's colour."""
    colours = torch.as_tensor(bone_colors_rgb(), dtype=torch.float32)                      # [K, 3]
    weight, which = kappa.max(0)                                                          # [S, S]
    return (colours[which] * weight[..., None]).numpy()


def panel(crop: np.ndarray, skeleton: torch.Tensor, rendered: torch.Tensor, truth: torch.Tensor | None) -> np.ndarray:
    """One column: crop [S2, S2, 3] uint8 RGB, Phi's image [K, S, S], kappa of Omega's 2D [K, S, S]
    and, if given, kappa of the true 2D [K, S, S]."""
    up = lambda img: cv2.resize(img, (CROP_SIZE, CROP_SIZE), interpolation=cv2.INTER_NEAREST)  # noqa: E731
    grey = skeleton.amax(0).numpy()[..., None].repeat(3, -1)
    over = np.maximum(grey * 0.6, coloured(rendered))
    rows = [crop.astype(np.float32) / 255.0, up(grey), up(over)]
    if truth is not None:
        rows.append(up(coloured(truth)))
    return np.concatenate(rows, 0)


def sample_world() -> np.ndarray:
    """The sample pose [1, 17, 3] m in the render world (Y up, actors.camera_to_world as
    actors.load_motion converts the mocap), its lower ankle ANKLE_HEIGHT_M above the floor."""
    from realtime3d.render.actors import camera_to_world
    pose = camera_to_world(standing_pose_mm())                                            # [17, 3] m
    ankles = [H36M17.index["right_ankle"], H36M17.index["left_ankle"]]
    pose[:, 1] += ANKLE_HEIGHT_M - pose[ankles, 1].min()
    return pose[None]


def sample_renders(n: int) -> tuple[np.ndarray, np.ndarray]:
    """n renders of the sample pose, one person, scene and camera each: (crops [n, S, S, 3] uint8,
    their true 2D [n, 17, 2] crop px)."""
    from realtime3d.render.crops import CropSampler
    poses = sample_world()
    batches = [CropSampler(poses, size=CROP_SIZE, seed=SAMPLE_SEED + i, holdout="all").sample(1) for i in range(n)]
    return np.concatenate([b.images for b in batches]), np.concatenate([b.joints2d for b in batches])


def shard_renders(folder: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The first n person crops of the shards in folder: (crops [n, S, S, 3] uint8, true 2D [n, 17, 2] px)."""
    from realtime3d.render.crop_shards import read_shards
    try:
        for limit in (4 * n, 0):                   # background crops are a few: 4n crops hold n people
            data = read_shards(folder, ("images", "joints2d", "person"), limit=limit)
            keep = np.flatnonzero(data["person"])[:n]
            if len(keep) == n or limit == 0:
                break
    except FileNotFoundError as exc:
        raise SystemExit(f"skeleton_net_grid: {exc}") from None
    if not len(keep):
        raise SystemExit(f"skeleton_net_grid: no person crop in {folder}")
    return data["images"][keep], data["joints2d"][keep]


@torch.no_grad()
def render_columns(weights: str, crops: np.ndarray, truth2d: np.ndarray) -> list[np.ndarray]:
    """Phi -> Omega on crops [n, S, S, 3] uint8, as the app reads them (flip-averaged where the card
    says so); a column each, with kappa of the true 2D [n, 17, 2] px."""
    net, card = load_skeleton_net(weights)
    gamma = float(card.get("gamma", GAMMA))
    images = torch.from_numpy(crops).permute(0, 3, 1, 2).float() / 255.0
    out = read_crops(net, images, gamma, bool(card.get("flip_average", False)))
    truth = render_kappa(torch.from_numpy(truth2d), gamma)
    return [panel(crops[i], out["skeleton"][i], out["rendered"][i], truth[i]) for i in range(len(crops))]


def video_columns(weights: str, video: str, n: int, every: int) -> list[np.ndarray]:
    capture, columns, i = cv2.VideoCapture(video), [], 0
    with SkeletonNetDetector(weights, max_people=1, person_confidence=0.0) as detector:
        while len(columns) < n:
            ok, frame = capture.read()
            if not ok:
                break
            rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            found = detector.detect_rgb(rgb)              # the largest person, whatever its confidence
            if found is not None and i % every == 0:
                x0, y0, side = found.crop_box
                crop = cut(rgb, (x0 + side / 2, y0 + side / 2, side), CROP_SIZE)
                columns.append(panel(crop, torch.from_numpy(found.skeleton), torch.from_numpy(found.rendered), None))
            i += 1
    capture.release()
    if not columns:
        raise SystemExit(f"skeleton_net_grid: no frame of {video} gave a person")
    return columns


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--sample", action="store_true",
                     help="realistic renders of the project's own sample pose (may be committed)")
    src.add_argument("--synthetic", action="store_true",
                     help="the first person crops of the test renders in --crops (CMU test subjects)")
    src.add_argument("--video", help="a video: the detector's crops of its first frames")
    ap.add_argument("--crops", default=str(ROOT / "runs" / "crops" / "test"),
                    help="with --synthetic: the folder of test crop shards (default: runs/crops/test)")
    ap.add_argument("--weights", default="skeleton-net", help="the skeleton net: a shipped name or a .pt")
    ap.add_argument("--columns", type=int, default=8, help="crops in the grid")
    ap.add_argument("--every", type=int, default=10, help="with --video: every n-th frame")
    ap.add_argument("-o", "--output", required=True, help="the PNG to write")
    args = ap.parse_args(argv)
    if args.columns < 1 or args.every < 1:
        ap.error("--columns and --every must be >= 1")
    torch.set_num_threads(1)
    if args.video:
        cols = video_columns(args.weights, args.video, args.columns, args.every)
    else:
        crops, truth = sample_renders(args.columns) if args.sample else shard_renders(args.crops, args.columns)
        cols = render_columns(args.weights, crops, truth)
    grid = (np.concatenate(cols, 1) * 255).round().clip(0, 255).astype(np.uint8)
    with atomic_path(args.output, suffix=".png") as tmp:
        cv2.imwrite(str(tmp), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))
    print(f"wrote {args.output} ({len(cols)} columns)")


if __name__ == "__main__":
    main()
