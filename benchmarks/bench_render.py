"""How fast realtime3d.render draws people, on one CPU thread, beside the capsule renderer it joins.

- crops: CropSampler.sample at 128x128 (one to four Anny bodies posed by CMU val mocap, a random
  scene, camera and occluder, cropped around one person: everything a training step would get);
- frames: a staged clip of two people at 1280x720, drawn with its labels (clips.draw: the colour
  pass, labels, depth and each person's silhouette), and the same without the per-person
  silhouettes (Rasterizer.render alone);
- baseline: realtime3d.data.synth.render_random (the capsule people) at 128x128, batch 32.

One thread: LP_NUM_THREADS=1 for Mesa's llvmpipe (set before the first GL context) and
torch.set_num_threads(1). Each figure is the total wall time over --count items after a warm-up.
Writes benchmarks/results/render_speed.json (machine, commit).

    python benchmarks/bench_render.py [--count 64]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ["LP_NUM_THREADS"] = "1"

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _env import commit, machine_info, write_json  # noqa: E402

from realtime3d.data import synth  # noqa: E402
from realtime3d.data.mocap import VAL_SUBJECTS, cmu_files, default_cmu_root, subject_of  # noqa: E402
from realtime3d.render.actors import load_motion  # noqa: E402
from realtime3d.render.clips import draw  # noqa: E402
from realtime3d.render.crops import CropSampler  # noqa: E402
from realtime3d.render.raster import Rasterizer  # noqa: E402
from realtime3d.render.staging import stage_clip  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=64, help="crops, and frames / 4, timed")
    ap.add_argument("--cmu", default=None, help="the CMU BVH folder (default: ../shared/data/cmu)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "render_speed.json"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    root = Path(args.cmu) if args.cmu else default_cmu_root()
    files = [f for f in cmu_files(root) if subject_of(f) in VAL_SUBJECTS]
    poses = np.concatenate([load_motion(f, 10.0) for f in files])
    rasterizer = Rasterizer()

    sampler = CropSampler(poses, size=128, seed=0, rasterizer=rasterizer)
    sampler.sample(4)
    start = time.perf_counter()
    sampler.sample(args.count)
    crops_s = time.perf_counter() - start

    frames = max(4, args.count // 4)
    rng = np.random.default_rng(0)
    walk = load_motion(files[0], 30.0)[:frames]
    stage = stage_clip([walk, walk[::-1].copy()], rng, (1280, 720), occluders=1)
    draw(rasterizer, stage, 0)
    start = time.perf_counter()
    for t in range(frames):
        draw(rasterizer, stage, t)
    draw_s = time.perf_counter() - start
    start = time.perf_counter()
    for t in range(frames):
        rasterizer.render(stage.cameras[t], stage.scene, [a.mesh(t, k + 1) for k, a in enumerate(stage.actors)])
    render_s = time.perf_counter() - start

    joints = torch.from_numpy(poses[np.random.default_rng(0).choice(len(poses), 32)] * [1.0, -1.0, -1.0] * 1000.0)
    g = torch.Generator().manual_seed(0)
    synth.render_random(joints.float(), g, size=128)
    start = time.perf_counter()
    batches = max(1, args.count // 32)
    for _ in range(batches):
        synth.render_random(joints.float(), g, size=128)
    capsule_s = time.perf_counter() - start

    result = {"benchmark": "bench_render", "machine": machine_info(), "commit": commit(), "threads": 1,
              "crops_128": {"count": args.count, "seconds": round(crops_s, 3),
                            "crops_per_s": round(args.count / crops_s, 1)},
              "frames_1280x720_two_people": {"count": frames, "with_labels_fps": round(frames / draw_s, 2),
                                             "render_only_fps": round(frames / render_s, 2)},
              "baseline_capsule_crops_128": {"count": 32 * batches, "crops_per_s": round(32 * batches / capsule_s, 1)}}
    write_json(args.out, result)
    print(f"crops 128x128: {args.count / crops_s:.1f}/s; 1280x720 two people: {frames / draw_s:.2f} fps with labels, "
          f"{frames / render_s:.2f} fps render only; capsule crops: {32 * batches / capsule_s:.1f}/s; wrote {args.out}")


if __name__ == "__main__":
    main()
