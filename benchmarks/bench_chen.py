"""Chen et al.'s Figure 5 on CMU: Regression#1 on the chen-views encoder's G against the same regressor on
the 2D coordinates (Baseline#1), at 1%, 5% and 100% of the train poses' 3D labels, over seeds.

Every row is the `chen` trainer (realtime3d/trainers/chen_regression.py) on the spine, from the shipped chen config
with its steps (train.max_steps; the 10-minute cap is lifted so every row runs the same steps), params
input = latent or coords, label_fraction, and label_seed = train.seed = the seed. For a seed, the two
inputs see the same labelled poses, the same fixed views of them, the same batches and the same held-out
poses for selection (all from the seed): only the input differs. Each selected lifter is scored on
cmu-test as `realtime3d eval` scores it (evaluate.with_random_cameras, seed 0, every frame; Lifter.lift
in a single pass; metrics.p_mpjpe and metrics.mpjpe), plus N-MPJPE, the root-relative error after the
least-squares scale (scale_aligned_mpjpe below), and constant depth on the same frames.

Writes benchmarks/results/chen.json (per row: mean, std and per-seed values, label counts; the encoder
and its card; protocol, steps, machine, commit) and prints a table.

    python benchmarks/bench_chen.py                 # the shipped encoder; about 20-30 minutes on 2 cores
    python benchmarks/bench_chen.py --quick         # seconds: an untrained tiny encoder, 1% x seed 0, 30 steps
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
import _args  # noqa: E402
from _env import commit, machine_info  # noqa: E402

from realtime3d.evaluate import constant_depth, load_dataset, with_random_cameras  # noqa: E402
from realtime3d.io._atomic import atomic_write_text  # noqa: E402
from realtime3d.lifting import Lifter  # noqa: E402
from realtime3d.metrics import mpjpe, p_mpjpe  # noqa: E402
from realtime3d.trainers.base import train  # noqa: E402
from realtime3d.trainers.config import SHIPPED, load_experiment  # noqa: E402

INPUTS = ("latent", "coords")


def fractions(text: str) -> list[float]:
    try:
        values = [float(t) for t in _args.names(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"comma-separated fractions expected, got {text!r}") from None
    if not all(0 < v <= 1 for v in values):
        raise argparse.ArgumentTypeError(f"fractions must lie in (0, 1], got {text!r}")
    return values


def scale_aligned_mpjpe(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """N-MPJPE per frame [N] (mm): pred [N, J, 3] and gt root-centred, pred times the least-squares scale."""
    p, g = pred - pred[:, :1], gt - gt[:, :1]
    scale = (p * g).sum((1, 2)) / np.maximum((p * p).sum((1, 2)), 1e-12)
    return np.linalg.norm(scale[:, None, None] * p - g, axis=-1).mean(-1)


def score(lifter: Lifter, seq) -> dict[str, float]:
    """cmu-test metrics of one lifter, single pass, on the frames of seq (with its cameras' pixels)."""
    lifter.flip_average = False
    pred = lifter.lift(seq.joints2d, seq.image_size, seq.focal)
    ok = np.isfinite(pred).all((1, 2))
    gt = seq.joints3d[ok]
    return {"p_mpjpe_mm": float(p_mpjpe(pred[ok], gt).mean()),
            "n_mpjpe_mm": float(scale_aligned_mpjpe(pred[ok], gt).mean()),
            "mpjpe_mm": float(mpjpe(pred[ok], gt).mean()), "frames": int(ok.sum())}


def tiny_encoder(folder: Path) -> str:
    """--quick: an untrained chen-views encoder of width 4 and 8 points, as a best.pt would hold it."""
    from realtime3d.models.chen import MapEncoder
    from realtime3d.trainers.checkpoint import save_model
    torch.manual_seed(0)
    path = folder / "untrained-encoder.pt"
    save_model(path, MapEncoder(width=4, points=8), {"method": "chen-views", "experiment": "untrained (--quick)"})
    return str(path)


def summary(values: list[float]) -> dict:
    return {"mean": round(float(np.mean(values)), 2), "std": round(float(np.std(values)), 2),
            "per_seed": [round(v, 2) for v in values]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--encoder", default="chen-views", help="a shipped encoder's name or a chen-views best.pt")
    ap.add_argument("--fractions", type=fractions, default=[0.01, 0.05, 1.0],
                    help="label fractions (default 0.01,0.05,1.0)")
    ap.add_argument("--seeds", type=_args.ints, default=[0, 1, 2], help="seeds (default 0,1,2)")
    ap.add_argument("--steps", type=int, default=0, help="regressor steps per row (default: the shipped chen config's)")
    ap.add_argument("--protocol", default="random-projection", choices=("random-projection", "fixed-camera"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--every", type=int, default=1, help="score every N-th cmu-test frame (default 1: all)")
    ap.add_argument("--quick", action="store_true", help="a check that the script runs: an untrained tiny encoder, "
                    "1%% x seed 0, 30 steps, every 50th test frame, written to runs/bench_chen_quick.json")
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    work = Path(tempfile.mkdtemp(prefix="bench_chen_"))
    if args.quick:
        args.encoder, args.fractions, args.seeds, args.steps, args.every = tiny_encoder(work), [0.01], [0], 30, 50
    out = ROOT / (args.out or ("runs/bench_chen_quick.json" if args.quick else "benchmarks/results/chen.json"))
    base = load_experiment(SHIPPED["chen"])
    steps = args.steps or base.train.max_steps
    _, test = load_dataset("cmu-test")
    seq = with_random_cameras(test, seed=0)
    if args.every > 1:
        from realtime3d.io.poses import PoseSequence
        seq = PoseSequence(seq.joints3d[::args.every], seq.joints2d[::args.every], seq.image_size, seq.focal,
                           seq.clip[::args.every])
    flat = score(constant_depth(), seq)
    rows, cards, t0 = {}, {}, time.perf_counter()
    for fraction in args.fractions:
        for inp in INPUTS:
            per_seed = []
            for seed in args.seeds:
                sets = [f"params.input={inp}", f"params.label_fraction={fraction}", f"params.label_seed={seed}",
                        f"params.encoder={args.encoder}", f"train.seed={seed}", f"train.protocol={args.protocol}",
                        "train.minutes=0", f"train.max_steps={steps}", f"train.threads={args.threads}",
                        "train.test_every_s=0", f"train.ckpt_every={steps}"]
                run = work / f"{inp}_{fraction:g}_{seed}"
                t = time.perf_counter()
                fit = train(load_experiment(SHIPPED["chen"], sets), run)
                lifter = Lifter.from_pretrained(run / "best.pt")
                metrics = score(lifter, seq)
                card = lifter.card
                per_seed.append({"seed": seed, **metrics, "selected_step": card["step"],
                                 "held_out_p_mpjpe_mm": round(fit["best_score"], 2),
                                 "seconds": round(time.perf_counter() - t, 1),
                                 "labelled_poses": card["labelled_poses"], "trained_poses": card["trained_poses"],
                                 "held_out_poses": card["held_out_poses"], "labelled_views": card["labelled_views"]})
                if inp == "latent":
                    cards.setdefault("encoder", card.get("encoder"))
                print(f"{inp:6s} {fraction:5g} seed {seed}: P-MPJPE {metrics['p_mpjpe_mm']:6.1f} mm, "
                      f"N-MPJPE {metrics['n_mpjpe_mm']:6.1f}, {per_seed[-1]['seconds']:.0f} s", flush=True)
            rows[f"{inp}@{fraction:g}"] = {
                "input": inp, "label_fraction": fraction, "labelled_poses": per_seed[0]["labelled_poses"],
                **{m: summary([r[m] for r in per_seed]) for m in ("p_mpjpe_mm", "n_mpjpe_mm", "mpjpe_mm")},
                "seeds": per_seed}
    report = {
        "benchmark": "bench_chen", "machine": machine_info(), "commit": commit(), "quick": args.quick,
        "what": "Regression#1 on G of the frozen chen-views encoder (latent) against the same regressor on the "
                "normalized 2D coordinates (coords), trained by the chen trainer on the 3D labels of a seeded "
                "fraction of the CMU train poses (the same poses, views, batches, steps and held-out selection "
                "for both inputs of a seed); scored on cmu-test, single pass",
        "encoder": args.encoder, "encoder_card": cards.get("encoder"), "protocol": args.protocol,
        "steps": steps, "batch": base.train.batch, "threads": args.threads, "seeds": args.seeds,
        "test": {"data": "cmu-test", "cameras": "evaluate.with_random_cameras, seed 0", "every": args.every,
                 "frames": flat["frames"]},
        "definitions": {"p_mpjpe_mm": "metrics.p_mpjpe: after a similarity (Procrustes) alignment",
                        "n_mpjpe_mm": "root-relative after the least-squares scale (no rotation)",
                        "mpjpe_mm": "metrics.mpjpe: root-relative, at the lifter's anthropometric scale"},
        "constant_depth": flat, "rows": rows, "seconds": round(time.perf_counter() - t0, 1),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps(report, indent=2) + "\n")
    print(f"\n{'labels':>7} {'poses':>6} | {'latent P-MPJPE':>15} {'coords P-MPJPE':>15} | {'latent N-MPJPE':>15} "
          f"{'coords N-MPJPE':>15}")
    for fraction in args.fractions:
        lat, coo = rows[f"latent@{fraction:g}"], rows[f"coords@{fraction:g}"]
        cell = lambda r, m: f"{r[m]['mean']:7.1f} +- {r[m]['std']:4.1f}"  # noqa: E731
        print(f"{100 * fraction:6g}% {lat['labelled_poses']:6d} | "
              f"{cell(lat, 'p_mpjpe_mm'):>15} {cell(coo, 'p_mpjpe_mm'):>15} | "
              f"{cell(lat, 'n_mpjpe_mm'):>15} {cell(coo, 'n_mpjpe_mm'):>15}")
    print(f"constant depth: P-MPJPE {flat['p_mpjpe_mm']:.1f} mm, N-MPJPE {flat['n_mpjpe_mm']:.1f} mm; wrote {out}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
