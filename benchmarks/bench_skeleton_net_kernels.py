"""What the fused kernels save in the skeleton-net trainer: one training step (the shipped config,
batch 16) with every skeleton image rendered by the fused path against the eager PyTorch
reference (params.kernel_backend), step time and peak memory, measured in one run.

Per backend: the trainer is built from the shipped config (params.kernel_backend set, the flow
prior's fit cut to 20 steps and made before the clock starts, one thread), then
bench_kernels.measure times its step: the first call measures the rise of the process's
resident high-water mark (everything the step allocates: the renders, the networks' activations
and the autograd-saved tensors), the next calls (for 20 s at most) the wall and CPU time, of which
the fastest is kept. The kernels' share: the two renders of one step alone (the prior's kappa(u),
no gradient; kappa(y) forward and backward), timed the same way. The CPU only: on a GPU the
fused path is Triton's, which benchmarks/bench_kernels.py --device cuda measures op by op.
Writes benchmarks/results/skeleton_net_kernels.json (machine, commit).

    python benchmarks/bench_skeleton_net_kernels.py
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _env import commit, machine_info, write_json  # noqa: E402
from bench_kernels import measure  # noqa: E402
from bench_map_kernels import trainer_step  # noqa: E402

from realtime3d.kernels import render_skeleton  # noqa: E402
from realtime3d.models.image import GAMMA, SKELETON_SIZE  # noqa: E402
from realtime3d.trainers.config import SHIPPED  # noqa: E402
from realtime3d.trainers.skeleton_net import BONES, place_in_crop  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "skeleton_net_kernels.json"


def step_fn(backend: str, run_dir: Path):
    # the untimed first step fits the flow prior
    fn, exp = trainer_step(SHIPPED["skeleton-net"], [f"params.kernel_backend={backend}", "params.flow_steps=20",
                                                     "train.threads=1"], run_dir)
    return fn, exp.train.batch


def kernels_fn(backend: str, batch: int):
    u = place_in_crop(torch.randn(batch, 17, 2), torch.rand(batch, 3))
    y = (u + torch.randn_like(u)).requires_grad_()
    bones = BONES

    def render(j):
        return render_skeleton(j, bones, (SKELETON_SIZE, SKELETON_SIZE), GAMMA, mode="per_bone", backend=backend)

    def fn():
        with torch.no_grad():
            target = render(u)
        (render(y) - target).pow(2).sum().backward()
        y.grad = None
    return fn


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(RESULTS), help="results file")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    fused = "cpu"
    rows = {}
    for backend in (fused, "reference"):
        with tempfile.TemporaryDirectory() as tmp:
            fn, batch = step_fn(backend, Path(tmp) / "run")
            wall, cpu, peak, calls = measure(fn, cuda=False, budget_s=20.0)
            row = {"step_ms": round(wall * 1e3, 1), "step_cpu_ms": round(cpu * 1e3, 1),
                   "step_peak_mb": round(peak / 2**20, 1), "step_calls": calls}
            wall, cpu, peak, calls = measure(kernels_fn(backend, batch), cuda=False)
            row.update(kernels_ms=round(wall * 1e3, 2), kernels_cpu_ms=round(cpu * 1e3, 2),
                       kernels_peak_mb=round(peak / 2**20, 2), kernel_calls=calls)
            rows[backend] = row
    ratios = {k: round(rows["reference"][k] / rows[fused][k], 2) for k in rows[fused] if k.endswith(("_ms", "_mb"))
              and rows[fused][k] > 0}
    result = {"what": "one skeleton-net training step (shipped config, batch 16, one thread) and its two renders, "
                      f"fused ({fused}) against the eager reference",
              "batch": batch, "skeleton_image": [SKELETON_SIZE, SKELETON_SIZE], "bones": len(BONES),
              "rows": rows, "reference_over_fused": ratios, "machine": machine_info(), "commit": commit()}
    write_json(args.out, result)
    print(json.dumps({"rows": rows, "reference_over_fused": ratios}, indent=1))


if __name__ == "__main__":
    main()
