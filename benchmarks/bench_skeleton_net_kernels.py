"""What the fused kernels save in the skeleton-net trainer: one training step of the shipped config
(its batch, one thread, its bf16 autocast where train.amp and the CPU allow) with every skeleton
image rendered by the fused path against the eager PyTorch reference (params.kernel_backend),
step time and peak memory, measured in one run.

The crops: runs/crops/train and runs/crops/val of the checkout (python -m
realtime3d.render.crop_shards, as the shipped config says) when they hold shards; else
FALLBACK_CROPS crops of the val subjects (held-out appearances and scenes) rendered into a
temporary folder first, for both (a step costs the same on any crops). The trainer's 2D prior
reads the CMU mocap (../shared/data/cmu) either way.

Per backend: the trainer is built from the shipped config (params.kernel_backend and the crops
set, one thread; a flow prior, where the config fits one, fitted in 20 steps by the untimed first
step), one more step is taken untimed, then bench_kernels.measure times its step: the first call
measures the rise of the process's resident high-water mark (everything the step allocates: the
renders, the networks' activations and the autograd-saved tensors), the next calls (for 20 s at
most) the wall and CPU time, of which the fastest is kept. The kernels' share: the renders of one
step alone, timed the same way: with the shipped (labelled) config, kappa(u) of the prior's batch
and kappa(t) of the crops' 2D, neither with a gradient; without labels and with kappa_weight > 0,
kappa(u) and kappa(y) of Omega's 2D, forward and backward. The CPU only: on a GPU the fused path is
Triton's, which benchmarks/bench_kernels.py --device cuda measures op by op.
Writes benchmarks/results/skeleton_net_kernels.json (machine, commit).

    python benchmarks/bench_skeleton_net_kernels.py
"""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _env import commit, machine_info, write_json  # noqa: E402
from bench_kernels import measure  # noqa: E402
from bench_map_kernels import trainer_step  # noqa: E402

from realtime3d.data.mocap import default_cmu_root  # noqa: E402
from realtime3d.kernels import render_skeleton  # noqa: E402
from realtime3d.models.image import CROP_SIZE, GAMMA, SKELETON_SIZE  # noqa: E402
from realtime3d.trainers.base import cpu_has_bf16  # noqa: E402
from realtime3d.trainers.config import SHIPPED  # noqa: E402
from realtime3d.trainers.skeleton_net import BONES, place_in_crop  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "skeleton_net_kernels.json"
CROPS = ROOT / "runs" / "crops"
#: Crops rendered when runs/crops holds none.
FALLBACK_CROPS = 64


def has_shards(folder: Path) -> bool:
    return any(folder.glob("shard-*.npz"))


def crop_folders(tmp: Path) -> tuple[Path, Path, str]:
    """(train crops, val crops, where they came from): runs/crops/{train,val} when they hold shards,
    else FALLBACK_CROPS val-subject crops rendered into tmp, for both."""
    train, val = CROPS / "train", CROPS / "val"
    if has_shards(train):
        return train, (val if has_shards(val) else train), "runs/crops"
    from realtime3d.render.crop_shards import generate
    out = tmp / "crops"
    print(f"no shards in {train}: rendering {FALLBACK_CROPS} crops into {out}", file=sys.stderr)
    generate("val", "held-out", out, minutes=10.0, seed=0, size=CROP_SIZE, cmu_root=default_cmu_root(),
             max_crops=FALLBACK_CROPS)
    return out, out, f"{FALLBACK_CROPS} val-subject renders"


def step_fn(backend: str, run_dir: Path, crops: Path, val_crops: Path):
    """The shipped config's step with `backend`, under its autocast (as Trainer runs it); the experiment."""
    fn, exp = trainer_step(SHIPPED["skeleton-net"], [f"params.kernel_backend={backend}", "params.flow_steps=20",
                                                     f"params.crops={crops}", f"params.val_crops={val_crops}",
                                                     "train.threads=1"], run_dir)

    def step():
        with autocast(exp):
            fn()
    step()                                    # one untimed step under the autocast the timed ones run in
    return step, exp


def autocast(exp):
    """The trainer's autocast on the CPU: bf16 with train.amp on a CPU with bf16 instructions."""
    if exp.train.amp and cpu_has_bf16():
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def kernels_fn(backend: str, exp):
    """The renders of one step of exp (see the module docstring) as a function of no arguments."""
    batch, params = exp.train.batch, exp.params
    u = place_in_crop(torch.randn(batch, 17, 2), torch.rand(batch, 3))
    t = place_in_crop(torch.randn(batch, 17, 2), torch.rand(batch, 3))
    y = (u + torch.randn_like(u)).requires_grad_()
    labelled, kappa_y = params.label_weight > 0, params.label_weight == 0 and params.kappa_weight > 0

    def render(j):
        return render_skeleton(j, BONES, (SKELETON_SIZE, SKELETON_SIZE), GAMMA, mode="per_bone", backend=backend)

    def fn():
        with autocast(exp):
            with torch.no_grad():
                prior = render(u)
                if labelled:
                    render(t)
            if kappa_y:
                (render(y) - prior).pow(2).sum().backward()
                y.grad = None
    return fn


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(RESULTS), help="results file")
    args = ap.parse_args(argv)
    if not default_cmu_root().is_dir():
        raise SystemExit(f"bench_skeleton_net_kernels: the CMU mocap is not at {default_cmu_root()} "
                         "(the trainer's 2D prior reads it; see shared/data/README.md)")
    torch.set_num_threads(1)
    fused = "cpu"
    rows = {}
    with tempfile.TemporaryDirectory() as crops_tmp:
        crops, val_crops, source = crop_folders(Path(crops_tmp))
        for backend in (fused, "reference"):
            with tempfile.TemporaryDirectory() as tmp:
                fn, exp = step_fn(backend, Path(tmp) / "run", crops, val_crops)
                wall, cpu, peak, calls = measure(fn, cuda=False, budget_s=20.0)
                row = {"step_ms": round(wall * 1e3, 1), "step_cpu_ms": round(cpu * 1e3, 1),
                       "step_peak_mb": round(peak / 2**20, 1), "step_calls": calls}
                wall, cpu, peak, calls = measure(kernels_fn(backend, exp), cuda=False)
                row.update(kernels_ms=round(wall * 1e3, 2), kernels_cpu_ms=round(cpu * 1e3, 2),
                           kernels_peak_mb=round(peak / 2**20, 2), kernel_calls=calls)
                rows[backend] = row
                del fn                        # the trainer and its crops, before the next is built
    ratios = {k: round(rows["reference"][k] / rows[fused][k], 2) for k in rows[fused] if k.endswith(("_ms", "_mb"))
              and rows[fused][k] > 0}
    batch, amp = exp.train.batch, bool(exp.train.amp and cpu_has_bf16())
    result = {"what": f"one skeleton-net training step (shipped config, batch {batch}, one thread, "
                      f"{'bf16 autocast' if amp else 'float32'}) and its renders, fused ({fused}) against the "
                      "eager reference",
              "config": SHIPPED["skeleton-net"], "batch": batch, "amp": amp, "crops": source,
              "skeleton_image": [SKELETON_SIZE, SKELETON_SIZE], "bones": len(BONES),
              "rows": rows, "reference_over_fused": ratios, "machine": machine_info(), "commit": commit()}
    write_json(args.out, result)
    print(json.dumps({"batch": batch, "amp": amp, "crops": source, "rows": rows, "reference_over_fused": ratios},
                     indent=1))


if __name__ == "__main__":
    main()
