"""Train the shipped models on this machine, time them, and evaluate them on cmu-test.

1. trains the Drover GAN (2D only) with its shipped recipe (trainers/drover.py
   defaults) and the supervised baseline (trainers/baselines.py defaults), timing
   each from start to best checkpoint on disk;
2. ships the best checkpoints (selected on the val subjects) as
   realtime3d/weights/{drover,supervised}.pt with a model card each;
3. runs the cmu-test evaluation (seeded random cameras, seed 0) and writes
   benchmarks/results/training.json: times, the eval table, the ratios of the
   Drover model to the two baselines, machine and commit;
4. draws the validation curves to docs/img/val_curves.png.

    python benchmarks/bench_training.py            # about 28 + 10 minutes on 2 cores
"""
from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _env import commit, machine_info  # noqa: E402

from realtime3d.evaluate import constant_depth, evaluate, format_table, load_dataset  # noqa: E402
from realtime3d.io._atomic import atomic_write_text  # noqa: E402
from realtime3d.lifting import WEIGHTS_DIR, Lifter  # noqa: E402
from realtime3d.trainers.baselines import SupervisedConfig, train_supervised  # noqa: E402
from realtime3d.trainers.drover import DroverConfig, train  # noqa: E402


def plot_curves(runs: dict[str, Path], out: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    for label, run in runs.items():
        with open(run / "log.csv") as fh:
            rows = list(csv.DictReader(fh))
        ax.plot([float(r["time_s"]) / 60 for r in rows], [float(r["val_p_mpjpe"]) for r in rows], label=label)
    ax.set_xlabel("training time (minutes, 2 CPU cores)")
    ax.set_ylabel("val P-MPJPE (mm)")
    ax.set_ylim(30, 120)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("Validation curve (CMU val subjects 02, 07; seeded random cameras)")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)


def reused_run(run: Path, config_cls):
    """(training seconds, config) of a finished run: its time is the last entry of its own log."""
    with open(run / "log.csv") as fh:
        seconds = float(list(csv.DictReader(fh))[-1]["time_s"])
    config = json.loads((run / "config.json").read_text())  # JSON has lists where configs hold tuples
    return seconds, config_cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in config.items()})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--drover-minutes", type=float, default=DroverConfig.minutes)
    ap.add_argument("--supervised-minutes", type=float, default=SupervisedConfig.minutes)
    ap.add_argument("--runs", default="runs/shipped", help="folder for the two run folders")
    ap.add_argument("--out", default="benchmarks/results/training.json")
    ap.add_argument("--no-ship", action="store_true", help="do not copy the weights into the package")
    ap.add_argument("--reuse-supervised", action="store_true",
                    help="keep the supervised run already in --runs (its time from its log) instead of training it")
    ap.add_argument("--reuse-drover", action="store_true",
                    help="keep the drover run already in --runs (its time from its log) instead of training it")
    args = ap.parse_args()
    runs = Path(args.runs)
    times = {}

    dcfg = DroverConfig(minutes=args.drover_minutes, run_dir=str(runs / "drover"))
    if args.reuse_drover:
        times["drover_s"], dcfg = reused_run(runs / "drover", DroverConfig)
    else:
        t0 = time.perf_counter()
        train(dcfg)
        times["drover_s"] = round(time.perf_counter() - t0, 1)
    scfg = SupervisedConfig(minutes=args.supervised_minutes, run_dir=str(runs / "supervised"))
    if args.reuse_supervised:
        times["supervised_s"], scfg = reused_run(runs / "supervised", SupervisedConfig)
    else:
        t0 = time.perf_counter()
        train_supervised(scfg)
        times["supervised_s"] = round(time.perf_counter() - t0, 1)

    name, seq = load_dataset("cmu-test")
    drover = Lifter.from_pretrained(runs / "drover" / "best.pt")
    methods = {"model": drover, "constant_depth": constant_depth(),
               "supervised": Lifter.from_pretrained(runs / "supervised" / "best.pt")}
    result = evaluate(seq, methods, seed=0)
    table = format_table(result, list(methods))
    print(table)
    m, c, s = (result[k]["p_mpjpe_mm"] for k in ("model", "constant_depth", "supervised"))
    report = {
        "machine": machine_info(), "commit": commit(), "times": times,
        "drover_config": asdict(dcfg), "supervised_config": asdict(scfg),
        "cmu_test": {k: result[k] for k in methods}, "frames": result["frames"],
        "ratios": {"drover_over_constant_depth": round(m / c, 3), "drover_over_supervised": round(m / s, 3)},
        "acceptance": {"drover <= 0.5 x constant_depth": m <= 0.5 * c, "drover <= 1.3 x supervised": m <= 1.3 * s,
                       "drover training <= 30 min": times["drover_s"] <= 1800},
    }
    out = ROOT / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps(report, indent=2) + "\n")
    (out.with_suffix(".txt")).write_text(table + "\n")
    plot_curves({"drover (2D only)": runs / "drover", "supervised (3D labels)": runs / "supervised"},
                ROOT / "docs" / "img" / "val_curves.png")

    if not args.no_ship:
        for key, run, cfg, secs, desc in (
            ("drover", runs / "drover", dcfg, times["drover_s"],
             "Drover et al. lifting GAN, trained from 2D poses alone (default)"),
            ("supervised", runs / "supervised", scfg, times["supervised_s"],
             "supervised baseline: the same network trained with 3D labels (upper bound)"),
        ):
            shutil.copyfile(run / "best.pt", WEIGHTS_DIR / f"{key}.pt")
            metrics = result["model" if key == "drover" else "supervised"]
            card = {"name": key, "description": desc, "data": "CMU mocap train split (val subjects 02, 07 held out "
                    "for model selection)", "training_seconds": secs, "config": asdict(cfg),
                    "cmu_test": {k: round(v, 4) for k, v in metrics.items()}, "commit": report["commit"]}
            atomic_write_text(WEIGHTS_DIR / f"{key}.json", json.dumps(card, indent=2) + "\n")
    print(json.dumps(report["ratios"]), json.dumps(report["acceptance"]))


if __name__ == "__main__":
    main()
