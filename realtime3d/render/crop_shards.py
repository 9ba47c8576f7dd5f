"""Labelled person crops of rendered people, on disk: the image path's synthetic-labelled data.

Renders crops.CropSampler crops of the synthetic people, posed by the CMU mocap of one split,
with a holdout of appearances and scenes (crops.py), and writes them as shards that
realtime3d/trainers/skeleton_net.py and the image path's benchmarks read:

- images    uint8   [N, S, S, 3]  RGB
- joints2d  float32 [N, 17, 2]    px in the crop (NaN for a background crop)
- visible   bool    [N, 17]       inside the crop and not occluded
- person    bool    [N]           False for a background crop (a window off every person)
- masks     uint8   [N, S*S/8]    the target's visible pixels, np.packbits of [S, S] rows
- joints3d  float32 [N, 17, 3]    mm, the crop camera's frame (read by benchmarks only: no
                                  trainer reads it)
- focal     float32 [N]           px, the crop camera's

These are synthetic labels: exact, free, and no human's. They come from the renderer, never
from a detector; every crop is one random pose of one random person in one random scene.

    python -m realtime3d.render.crop_shards --split train --holdout train --out runs/crops/train --minutes 40

Writes shard-SEED-K.npz files of SHARD_SIZE crops as it goes (atomic); a run that is stopped
(Ctrl-C or SIGTERM) keeps what it rendered, and one started again with another --seed adds to them.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

#: Crops per written file.
SHARD_SIZE = 500
#: The arrays a trainer may read (labels of 2D and images); joints3d and focal are the benchmarks'.
TRAIN_KEYS = ("images", "joints2d", "visible", "person", "masks")


def _write(out: Path, seed: int, index: int, batches: list) -> Path:
    from realtime3d.io._atomic import atomic_path
    path = out / f"shard-{seed}-{index:04d}.npz"
    cat = {k: np.concatenate([getattr(b, k) for b in batches]) for k in
           ("images", "joints2d", "visible", "person", "masks", "joints3d", "focal")}
    cat["masks"] = np.packbits(cat["masks"].reshape(len(cat["masks"]), -1), axis=1)
    with atomic_path(path, ".npz") as tmp:
        np.savez_compressed(tmp, **cat)
    return path


def read_shards(folder: str | Path, keys: tuple[str, ...] = TRAIN_KEYS, limit: int = 0) -> dict[str, np.ndarray]:
    """Every shard-*.npz of a folder (sorted by name), concatenated: {key: array}; masks are
    unpacked to bool [N, S, S]. limit > 0 keeps the first limit crops. A folder with no shard is
    a FileNotFoundError that names it."""
    paths = sorted(Path(folder).glob("shard-*.npz"))
    if not paths:
        raise FileNotFoundError(f"no crop shards (shard-*.npz) in {folder}: render them with "
                                "python -m realtime3d.render.crop_shards")
    parts: dict[str, list[np.ndarray]] = {k: [] for k in keys}
    count = 0
    for path in paths:
        with np.load(path) as data:
            for k in keys:
                parts[k].append(data[k])
            count += len(data["person"])
        if limit and count >= limit:
            break
    out = {k: np.concatenate(v)[:limit] if limit else np.concatenate(v) for k, v in parts.items()}
    if "masks" in out:
        size = out["images"].shape[1] if "images" in out else int(round((out["masks"].shape[1] * 8) ** 0.5))
        out["masks"] = np.unpackbits(out["masks"], axis=1)[:, :size * size].reshape(-1, size, size).astype(bool)
    return out


def generate(split: str, holdout: str, out: Path, minutes: float, seed: int, size: int, cmu_root: Path,
             max_crops: int = 0, background_p: float = 0.1, fps: float = 10.0) -> dict:
    """Render crops until minutes pass (or max_crops are written). Returns counts and timings."""
    from tqdm import tqdm
    from .crops import CropSampler
    from .detections import split_poses
    out.mkdir(parents=True, exist_ok=True)
    sampler = CropSampler(split_poses(split, cmu_root, fps), size=size, seed=seed, holdout=holdout,
                          background_p=background_p)
    batches, kept, shards = [], 0, 0
    start = time.perf_counter()
    bar = tqdm(total=round(minutes * 60), unit="s", desc=f"crops {split}/{holdout}", dynamic_ncols=True, mininterval=2)
    try:
        while time.perf_counter() - start < minutes * 60 and not (max_crops and kept >= max_crops):
            batches.append(sampler.sample(1))
            kept += 1
            if len(batches) == SHARD_SIZE:
                _write(out, seed, shards, batches)
                shards, batches = shards + 1, []
            bar.update(min(round(time.perf_counter() - start), bar.total) - bar.n)
    finally:                        # stopped or done: what was rendered is kept
        bar.close()
        if batches:
            _write(out, seed, shards, batches)
    return {"crops": kept, "seconds": round(time.perf_counter() - start, 1)}


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    import signal
    from realtime3d.data.mocap import default_cmu_root
    from realtime3d.native_logs import quiet_native_logs
    ap = argparse.ArgumentParser(prog="python -m realtime3d.render.crop_shards", description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=("train", "val", "test"), default="train",
                    help="whose mocap poses the rendered people (default: %(default)s)")
    ap.add_argument("--holdout", choices=("train", "held-out", "all"), default="train",
                    help="appearances and scenes: 'train' never shows the held-out ones, 'held-out' only them "
                         "(default: %(default)s)")
    ap.add_argument("--out", type=Path, required=True, help="folder of the shards (made if missing)")
    ap.add_argument("--minutes", type=float, default=10.0, help="how long to render (default: %(default)s)")
    ap.add_argument("--max-crops", type=int, default=0, help="stop after this many crops (0: no limit)")
    ap.add_argument("--background-p", type=float, default=0.1,
                    help="share of background crops, windows off every person (default: %(default)s)")
    ap.add_argument("--fps", type=float, default=10.0, help="mocap frames per second kept for poses (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=0, help="the renders' seed; also names the shards (default: %(default)s)")
    ap.add_argument("--size", type=int, default=128, help="crop side, px (default: %(default)s)")
    ap.add_argument("--cmu", type=Path, default=None, help="the CMU BVH folder (default: ../shared/data/cmu)")
    args = ap.parse_args(argv)
    quiet_native_logs()
    if not 0.0 <= args.background_p < 1.0:
        print(f"crop_shards: error: --background-p must be in [0, 1), got {args.background_p}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _interrupt)       # a killed run keeps its crops, as an interrupted one
    try:
        stats = generate(args.split, args.holdout, args.out, args.minutes, args.seed, args.size,
                         args.cmu or default_cmu_root(), args.max_crops, args.background_p, args.fps)
    except (FileNotFoundError, ValueError) as exc:
        print(f"crop_shards: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("crop_shards: stopped; the shards written so far are kept", file=sys.stderr)
        return 130
    print(f"crop_shards: {stats['crops']} crops in {stats['seconds']} s -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
