"""What the fused kernels save in the two map-based trainers: one training step of
chen-views (per-bone skeleton maps of both views, kernels.render_skeleton) and of yang (Full: the
discriminator's heatmaps and depth maps, kernels.render_heatmaps, forward and backward), with every
map rendered by the fused CPU path against the eager PyTorch reference (params.kernel_backend),
step time and peak memory, measured in one run.

Per trainer and backend: the trainer is built from its shipped config (params.kernel_backend set,
one thread) and one step is taken before the clock starts (caches, lazy set-up); then
bench_kernels.measure times its step: the first call measures the rise of the process's resident
high-water mark (everything the step allocates), the next calls (for 20 s at most) the wall and CPU
time, of which the fastest is kept. The CPU only: on a GPU the fused path is Triton's, which
benchmarks/bench_kernels.py --device cuda measures op by op. yang reads its media detections from
--media-cache when that file is current (bench_yang.py writes it), else runs MediaPipe once while
it is built (not timed). Writes benchmarks/results/map_kernels.json (machine, commit).

    python benchmarks/bench_map_kernels.py [--trainers chen-views,yang]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _args  # noqa: E402
from _env import commit, machine_info, write_json  # noqa: E402
from bench_kernels import measure  # noqa: E402

from realtime3d.trainers.base import Trainer  # noqa: E402
from realtime3d.trainers.config import SHIPPED, load_experiment  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "map_kernels.json"
TRAINERS = ("chen-views", "yang")
FUSED = "cpu"


def trainer_step(config: str, sets: list[str], run_dir: Path):
    """A config's training step (with the `sets` overrides) as a function of no arguments, after
    one untimed step (caches, lazy set-up); and the experiment."""
    exp = load_experiment(config, sets)
    trainer = Trainer(exp, run_dir)
    method = trainer.method
    counter = iter(range(10**9))
    method.step(trainer.wrapped, trainer.opts, 0)
    return lambda: method.step(trainer.wrapped, trainer.opts, next(counter) + 1), exp


def step_fn(name: str, backend: str, run_dir: Path, media_cache: str):
    """The shipped trainer's step on one thread with every map from `backend`; and the experiment."""
    sets = [f"params.kernel_backend={backend}", "train.threads=1"]
    if name == "yang":
        sets.append(f"params.media_cache={media_cache}")
    return trainer_step(SHIPPED[name], sets, run_dir)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trainers", type=_args.names, default=",".join(TRAINERS),
                    help=f"comma-separated trainers to time (default: {', '.join(TRAINERS)})")
    ap.add_argument("--media-cache", default=str(ROOT / "runs" / "yang" / "media_2d.json"),
                    help="yang's MediaPipe detections of the media (read when current)")
    ap.add_argument("--budget-s", type=float, default=20.0, help="seconds of timed steps per trainer and backend")
    ap.add_argument("--out", default=str(RESULTS), help="results file")
    args = ap.parse_args(argv)
    unknown = [t for t in args.trainers if t not in TRAINERS]
    if unknown:
        ap.error(f"unknown trainer(s) {', '.join(unknown)}; choose from {', '.join(TRAINERS)}")
    torch.set_num_threads(1)
    result = {"what": "one training step per trainer (its shipped config, one thread), every map rendered by the "
                      f"fused CPU path ({FUSED}) against the eager reference", "trainers": {}}
    for name in args.trainers:
        rows, batch = {}, None
        for backend in (FUSED, "reference"):
            with tempfile.TemporaryDirectory() as tmp:
                fn, exp = step_fn(name, backend, Path(tmp) / "run", args.media_cache)
                wall, cpu, peak, calls = measure(fn, cuda=False, budget_s=args.budget_s)
                rows[backend] = {"step_ms": round(wall * 1e3, 1), "step_cpu_ms": round(cpu * 1e3, 1),
                                 "step_peak_mb": round(peak / 2**20, 1), "step_calls": calls}
                batch = exp.train.batch
        ratios = {k: round(rows["reference"][k] / rows[FUSED][k], 2) for k in ("step_ms", "step_peak_mb")
                  if rows[FUSED][k] > 0}
        result["trainers"][name] = {"config": SHIPPED[name], "batch": batch, "rows": rows,
                                    "reference_over_fused": ratios}
        print(name, json.dumps({"rows": rows, "reference_over_fused": ratios}), flush=True)
    result.update(machine=machine_info(), commit=commit())
    write_json(args.out, result)


if __name__ == "__main__":
    main()
