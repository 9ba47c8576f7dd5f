"""The cycle's 2D flow prior: how its fit length sets its held-out likelihood, from 2D alone.

The flow prior (realtime3d/trainers/flow_prior.py) is fitted at the first step of every cycle run, inside
the run's training budget, on the 2D training pool of the shipped cycle config
(ctx.train_2d, random-projection protocol). Its fit length, params.flow_steps, is chosen on
this table: the NLL of the pool's held-out 5% (2D train views, no 3D, no val or test subject)
against the fit's seconds on one thread. The flow is the same for every row (3 NSF transforms,
hidden (128, 128)); each row is a fresh fit from the same seed.

    python benchmarks/bench_flow_prior.py                       # 400, 1000, 2000, 4000 steps: ~9 min
    python benchmarks/bench_flow_prior.py --steps 400,2000

Writes benchmarks/results/flow_prior.json (machine, commit). The baseline of the ratio column
is the 400-step fit (the shipped length before this table).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _args import ints  # noqa: E402
from _env import commit, machine_info  # noqa: E402

from realtime3d.io._atomic import atomic_write_text  # noqa: E402
from realtime3d.trainers.base import Context  # noqa: E402
from realtime3d.trainers.config import SHIPPED_MODELS, load_experiment  # noqa: E402
from realtime3d.trainers.cycle import FLOW_POSES  # noqa: E402
from realtime3d.trainers.distributed import Dist  # noqa: E402
from realtime3d.trainers.flow_prior import FLOW_HIDDEN, FLOW_TRANSFORMS, FlowPrior2D  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=ints, default="400,1000,2000,4000", help="comma-separated fit lengths (Adam steps)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (the training runs' count)")
    ap.add_argument("--out", default="benchmarks/results/flow_prior.json")
    args = ap.parse_args()
    steps = args.steps
    if not steps or min(steps) < 1:
        ap.error("--steps needs at least one positive fit length")
    torch.set_num_threads(args.threads)
    exp = load_experiment(SHIPPED_MODELS["cycle"])
    pool = Context(exp, Dist()).train_2d(max_poses=FLOW_POSES)                    # [N, J, 2]
    rows = []
    for n in steps:
        stats = FlowPrior2D(dim=exp.params.pca_dim).fit(pool, n, seed=exp.train.seed)
        rows.append({"steps": n, "held_out_nll": round(stats["val_nll"], 3), "seconds": round(stats["seconds"], 1)})
        print(f"{n:6d} steps: held-out NLL {stats['val_nll']:.2f} nats, {stats['seconds']:.0f} s", flush=True)
    base = next((r for r in rows if r["steps"] == 400), rows[0])
    for r in rows:
        r["seconds_vs_baseline"] = round(r["seconds"] / base["seconds"], 2)
    report = {"benchmark": "bench_flow_prior", "config": exp.name, "protocol": exp.train.protocol,
              "pool_poses": len(pool), "held_out": "the pool's last 5% (2D train views)",
              "flow": {"transforms": FLOW_TRANSFORMS, "hidden": list(FLOW_HIDDEN), "pca_dim": exp.params.pca_dim},
              "baseline": f"{base['steps']} steps", "threads": args.threads, "rows": rows,
              "commit": commit(), "machine": machine_info()}
    out = ROOT / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps(report, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
