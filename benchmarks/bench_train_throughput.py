"""Drover training throughput: steps/s and samples/s of the shipped Drover config trained for a few
minutes, in float32 or under bf16 autocast (train.amp), to JSON. Written for benchmarks/gpu_check.sh
on a lent GPU; runs anywhere (on the CPU, train.amp is ignored, as the trainer says).

It trains exactly as `realtime3d train drover --set train.minutes=M --set train.amp=...` does
(trainers.config.load_experiment, then trainers.base.train, in this process), with periodic
validation, test evaluation and checkpoints off so that the clock measures training steps (the
trainer still validates and checkpoints once at the end, outside its elapsed time).

Data: the trainer reads the CMU train split (and the val split for the final validation) through
realtime3d.data.mocap.load_split, from $REALTIME3D_CMU or ../shared/data/cmu. A machine without
the BVH files (the lent GPU: ../shared does not travel) takes the loader's own arrays instead:

    python benchmarks/bench_train_throughput.py --pack DIR     # here: cmu-train.npz, cmu-val.npz -> DIR
    python benchmarks/bench_train_throughput.py --arrays DIR --minutes 2 [--amp] --out run.json

--pack writes what load_split returns for the train and val splits (7 MB compressed, never to be
committed: CMU-derived); --arrays makes load_split return those arrays, nothing else changes.

Reported: steps, the trainer's elapsed training time, steps/s and samples/s (poses per step =
train.batch) over the whole run and over its steady part (log.csv rows after the first
STEADY_AFTER_S seconds, which hold CUDA start-up and Triton compilation), the peak CUDA memory,
the final val P-MPJPE (a few minutes of training: a smoke value, not the shipped model's), the
machine, the GPU and the commit.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _env import commit, machine_info  # noqa: E402

from realtime3d.io._atomic import atomic_write_text  # noqa: E402

SPLITS = ("train", "val")
#: log.csv rows before this many seconds of training are left out of the steady rate.
STEADY_AFTER_S = 15.0
#: train.ckpt_every for "only the final checkpoint" (the key must be at least 1).
NO_CHECKPOINTS = 10**9


def pack(folder: Path) -> None:
    """The loader's train and val arrays -> folder/cmu-{split}.npz (CMU-derived: never commit them)."""
    from realtime3d.data.mocap import default_cmu_root, load_split
    folder.mkdir(parents=True, exist_ok=True)
    for split in SPLITS:
        data = load_split(split)
        np.savez_compressed(folder / f"cmu-{split}.npz", **data)
        print(f"{folder / f'cmu-{split}.npz'}: {len(data['joints3d'])} frames")
    atomic_write_text(folder / "source.json", json.dumps(
        {"from": str(default_cmu_root()), "by": "realtime3d.data.mocap.load_split", "splits": list(SPLITS),
         "note": "derived from the CMU mocap data: do not commit"}, indent=2) + "\n")


def use_arrays(folder: Path) -> dict:
    """Make load_split return the packed arrays (for the trainer's train poses and its validator)."""
    from realtime3d.data import mocap
    from realtime3d.trainers import evaluation
    arrays = {}
    for split in SPLITS:
        path = folder / f"cmu-{split}.npz"
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: write it with --pack {folder} where the CMU data is")
        with np.load(path) as z:
            arrays[split] = {k: z[k] for k in z.files}

    def load_split(split: str, root=None, cache_dir=None, progress=False) -> dict[str, np.ndarray]:
        if split not in arrays:
            raise FileNotFoundError(f"split {split!r} is not in {folder} (packed: {', '.join(SPLITS)})")
        return arrays[split]

    mocap.load_split = load_split
    evaluation.load_split = load_split
    return {split: len(a["joints3d"]) for split, a in arrays.items()}


def steady_rate(log_csv: Path, after_s: float) -> tuple[float | None, int | None]:
    """(steps/s between the first log row at or after after_s and the last row, that first step)."""
    with open(log_csv, newline="") as fh:
        rows = [(int(r["step"]), float(r["time_s"])) for r in csv.DictReader(fh)]
    later = [r for r in rows if r[1] >= after_s]
    if len(later) < 2 or later[-1][1] <= later[0][1]:
        return None, None
    (s0, t0), (s1, t1) = later[0], later[-1]
    return (s1 - s0) / (t1 - t0), s0


def revision() -> str:
    """The commit (_env.commit), or $REALTIME3D_COMMIT where there is no git folder (a lent GPU machine
    gets the working tree without it; benchmarks/gpu_check.sh passes the commit on)."""
    rev = commit()
    return os.environ.get("REALTIME3D_COMMIT", rev) if rev == "unknown" else rev


def run(args) -> dict:
    from realtime3d.trainers.base import train
    from realtime3d.trainers.config import load_experiment
    data = {"source": f"arrays in {args.arrays}", "frames": use_arrays(Path(args.arrays))} if args.arrays \
        else {"source": "realtime3d.data.mocap.load_split (CMU BVH)"}
    overrides = [f"train.minutes={args.minutes}", f"train.amp={str(args.amp).lower()}", "train.max_steps=0",
                 "train.val_every_s=0", "train.val_every_steps=0", "train.test_every_s=0",
                 f"train.ckpt_every={NO_CHECKPOINTS}", "train.patience=0", *args.set]
    exp = load_experiment(args.config, overrides)
    run_dir = Path(args.run_dir or tempfile.mkdtemp(prefix="throughput-"))
    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    summary = train(exp, run_dir)
    wall = time.perf_counter() - start
    steps, elapsed = summary["steps"], summary["elapsed_s"]
    steady, steady_from = steady_rate(run_dir / "log.csv", STEADY_AFTER_S)
    batch = exp.train.batch
    gpu = torch.cuda.get_device_name() if cuda else None
    return {
        "what": "Drover training throughput (benchmarks/bench_train_throughput.py)",
        "config": exp.name, "overrides": overrides,
        "precision": "bf16 autocast" if args.amp and cuda else "float32",
        "amp": args.amp, "device": "cuda" if cuda else "cpu", "gpu": gpu,
        "batch": batch, "minutes": args.minutes, "steps": steps, "elapsed_s": elapsed,
        "steps_per_s": round(steps / elapsed, 3) if elapsed else None,
        "samples_per_s": round(steps * batch / elapsed, 1) if elapsed else None,
        "steady_after_s": STEADY_AFTER_S, "steady_from_step": steady_from,
        "steady_steps_per_s": round(steady, 3) if steady else None,
        "steady_samples_per_s": round(steady * batch, 1) if steady else None,
        "peak_cuda_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1) if cuda else None,
        "final_val_p_mpjpe_mm": round(summary["best_val_p_mpjpe"], 1),
        "wall_s_with_setup_and_final_validation": round(wall, 1),
        "run_dir": str(run_dir), "data": data,
        "machine": machine_info() | ({"gpu": gpu} if cuda else {}), "commit": revision(),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pack", metavar="DIR", help="write the loader's train and val arrays to DIR and exit")
    parser.add_argument("--arrays", metavar="DIR", help="train on the arrays that --pack wrote to DIR")
    parser.add_argument("--config", default="drover", help="experiment config (default: the shipped Drover one)")
    parser.add_argument("--minutes", type=float, default=2.0, help="training time (train.minutes)")
    parser.add_argument("--amp", action="store_true", help="bf16 autocast (train.amp=true; CUDA only)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="more config overrides")
    parser.add_argument("--run-dir", help="the run's folder (default: a new temporary one)")
    parser.add_argument("--out", help="JSON file to write (default: print only)")
    args = parser.parse_args(argv)
    if args.pack:
        pack(Path(args.pack))
        return 0
    result = run(args)
    text = json.dumps(result, indent=2) + "\n"
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(args.out, text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
