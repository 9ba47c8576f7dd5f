"""How fast realtime3d.data.synth draws training crops: crops/s on 1 CPU thread, in one run.

- batched: render_random (a random appearance and camera per sample, what training feeds on)
  of batches 16, 32 and 64 at 128 x 128;
- baseline, the same batch of 32 at 64 x 64 (what the pixel count costs) and drawn one crop
  at a time (what batching saves), each as a ratio to the batched 128 x 128 call;
- render_pairs, a batch of 32 pairs at 128 (two frames per pair).

Poses are CMU val frames when ../shared/data/cmu (or $REALTIME3D_CMU) is there, else the
project's sample pose turned about the vertical; procedural backgrounds (no photos: their
cost is one OpenCV resize per crop). Each figure is the fastest of --repeats runs, after one
warm-up call. Writes benchmarks/results/synth_speed.json (machine, commit).

    python benchmarks/bench_synth.py
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _args import ints  # noqa: E402
from _env import commit, machine_info  # noqa: E402

from realtime3d.data import synth  # noqa: E402
from realtime3d.io._atomic import atomic_write_text  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def poses(n: int, seed: int) -> tuple[torch.Tensor, str]:
    """n poses [n, 17, 3] mm and where they came from."""
    rng = np.random.default_rng(seed)
    try:
        from realtime3d.data.mocap import load_split
        joints = load_split("val")["joints3d"]
        return torch.from_numpy(joints[rng.choice(len(joints), n)]), "cmu-val"
    except FileNotFoundError:
        from realtime3d.data.sample import standing_pose_mm
        base = torch.from_numpy(standing_pose_mm())
        a = torch.from_numpy(rng.uniform(0, 2 * np.pi, n)).float()
        zero, one = torch.zeros(n), torch.ones(n)
        turn = torch.stack([a.cos(), zero, a.sin(), zero, one, zero, -a.sin(), zero, a.cos()], 1).view(n, 3, 3)
        return base @ turn.transpose(1, 2), "sample-pose"


def fastest(call, repeats: int) -> float:
    call()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=ints, default=[16, 32, 64])
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=5, help="the fastest of this many runs of each")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "synth_speed.json"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    joints, source = poses(max(args.batches + [32]), args.seed)

    def rendered(batch: int, size: int):
        g = torch.Generator().manual_seed(args.seed)
        return lambda: synth.render_random(joints[:batch], g, size=size)

    batched = {}
    for batch in args.batches:
        seconds = fastest(rendered(batch, args.size), args.repeats)
        batched[str(batch)] = {"seconds_per_batch": round(seconds, 4), "crops_per_s": round(batch / seconds, 1)}
        print(f"batch {batch:3d} at {args.size}: {1e3 * seconds:7.1f} ms, {batch / seconds:7.1f} crops/s")
    reference = fastest(rendered(32, args.size), args.repeats)
    small = fastest(rendered(32, 64), args.repeats)

    g = torch.Generator().manual_seed(args.seed)
    app, cam = synth.sample_appearance(g, None, 32), synth.sample_camera(g, 32)
    one_by_one = fastest(lambda: [synth.render(joints[i:i + 1], app.select(i), cam.select(i), args.size)
                                  for i in range(32)], args.repeats)
    g = torch.Generator().manual_seed(args.seed)
    pairs = fastest(lambda: synth.render_pairs(joints[:32], joints[:32].flip(0), g, size=args.size),
                    args.repeats)
    baselines = {
        "batch32_at_64px": {"seconds": round(small, 4), "crops_per_s": round(32 / small, 1),
                            "time_vs_128px": round(small / reference, 3)},
        "batch32_one_crop_per_call": {"seconds": round(one_by_one, 4), "crops_per_s": round(32 / one_by_one, 1),
                                      "time_vs_batched": round(one_by_one / reference, 3)},
        "render_pairs_batch32": {"seconds": round(pairs, 4), "pairs_per_s": round(32 / pairs, 1),
                                 "time_vs_batched": round(pairs / reference, 3)},
    }
    for name, row in baselines.items():
        print(f"{name:28s} {row}")
    result = {"benchmark": "bench_synth", "machine": machine_info(), "commit": commit(), "threads": 1,
              "size": args.size, "poses": source, "backgrounds": "procedural", "repeats": args.repeats,
              "pick": "the fastest repeat (wall time), after one warm-up call",
              "reference": {"batch": 32, "seconds": round(reference, 4), "crops_per_s": round(32 / reference, 1)},
              "batched": batched, "baselines": baselines}
    atomic_write_text(args.out, json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
