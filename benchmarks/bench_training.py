"""Train the shipped models on this machine, time them, and evaluate them on cmu-test.

1. trains the Drover GAN (2D only) and the supervised baseline with their shipped
   configs (trainers/configs/drover_cmu-h36m17_w512-g4d3_28min.toml and
   supervised_cmu-h36m17_w512-b4_28min.toml) on the training spine, timing each from
   start to the end of the run;
2. ships the best checkpoints (selected on the val subjects) as
   realtime3d/weights/{drover,supervised}.pt with a model card each;
3. runs the cmu-test evaluation (seeded random cameras, seed 0) and writes
   benchmarks/results/training.json: times, the eval table, the ratios of the
   Drover model to the two baselines, machine and commit;
4. draws the validation curves to docs/img/val_curves.png.

With --eval-only it trains nothing: it scores the shipped weights
(realtime3d/weights/{drover,supervised}.pt) the same way and rewrites only the evaluation
part of training.json (cmu_test, frames, ratios, acceptance; the recorded times, configs,
machine and commit of the training stay, the evaluation's commit goes under "evaluation")
and training.txt. The metrics are those of realtime3d/metrics.py: PCK@150 and AUC
root-relative (MPI-INF-3DHP), PA-PCK@150 and PA-AUC after the Procrustes alignment.

With --keep-shipped-drover it trains the supervised baseline only: drover stays the
shipped weights, with the training time and config that training.json recorded for them.

    python benchmarks/bench_training.py            # about 28 + 28 minutes on 2 cores
    python benchmarks/bench_training.py --eval-only   # seconds: re-score the shipped weights
"""
from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _env import commit, machine_info  # noqa: E402

from realtime3d.evaluate import constant_depth, evaluate, format_table, load_dataset  # noqa: E402
from realtime3d.io._atomic import atomic_write_text  # noqa: E402
from realtime3d.lifting import WEIGHTS_DIR, Lifter  # noqa: E402
from realtime3d.trainers.base import train  # noqa: E402
from realtime3d.trainers.config import SHIPPED, load_experiment  # noqa: E402
from realtime3d.trainers.logs import EVAL_CSV  # noqa: E402


def plot_curves(runs: dict[str, Path], out: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    for label, run in runs.items():
        rows = val_rows(run)
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


def val_rows(run: Path) -> list[dict]:
    """The validation rows of a run: eval.csv (the spine), or log.csv of a run made before it."""
    path = run / EVAL_CSV if (run / EVAL_CSV).exists() else run / "log.csv"
    with open(path) as fh:
        return [r for r in csv.DictReader(fh) if r.get("val_p_mpjpe")]


def reused_run(run: Path) -> tuple[float, dict]:
    """(training seconds, config dict) of a finished run: its time is the last entry of its own log."""
    return float(val_rows(run)[-1]["time_s"]), json.loads((run / "config.json").read_text())


def train_shipped(method: str, minutes: float, run: Path) -> tuple[float, dict]:
    """(seconds, experiment dict) of a fresh run of the method's shipped config."""
    exp = load_experiment(SHIPPED[method], [f"train.minutes={minutes}"])
    shutil.rmtree(run, ignore_errors=True)             # a fresh run, not a resume of an older one
    t0 = time.perf_counter()
    train(exp, run)
    return round(time.perf_counter() - t0, 1), exp.as_dict()


SUPERVISED_DESCRIPTION = ("supervised baseline: drover's generator network trained with 3D labels (it reads the "
                          "mocap 3D), with drover's budget: 28 minutes, 2 threads, batch 1024")


def card_scores(metrics: dict) -> dict:
    """A method's evaluate() block as a model card carries it: floats to 4 decimals."""
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.items()}


def ship(name: str, run: Path, description: str, seconds: float, config: dict, metrics: dict,
         commit_id: str) -> None:
    """Copy a run's best.pt into the package as realtime3d/weights/NAME.pt, with NAME.json (its card)."""
    shutil.copyfile(run / "best.pt", WEIGHTS_DIR / f"{name}.pt")
    card = {"name": name, "description": description, "data": "CMU mocap train split (val subjects 02, 07 "
            "held out for model selection)", "training_seconds": seconds, "config": config,
            "cmu_test": card_scores(metrics), "commit": commit_id}
    atomic_write_text(WEIGHTS_DIR / f"{name}.json", json.dumps(card, indent=2) + "\n")


def evaluation(drover: Lifter, supervised: Lifter, times: dict) -> tuple[dict, str]:
    """The cmu-test part of training.json (seed 0) and its printed table."""
    _, seq = load_dataset("cmu-test")
    methods = {"model": drover, "constant_depth": constant_depth(), "supervised": supervised}
    result = evaluate(seq, methods, seed=0)
    m, c, s = (result[k]["p_mpjpe_mm"] for k in ("model", "constant_depth", "supervised"))
    part = {
        "cmu_test": {k: result[k] for k in methods}, "frames": result["frames"],
        "ratios": {"drover_over_constant_depth": round(m / c, 3), "drover_over_supervised": round(m / s, 3)},
        "acceptance": {"drover <= 0.5 x constant_depth": m <= 0.5 * c, "drover <= 1.3 x supervised": m <= 1.3 * s,
                       "drover training <= 30 min": times["drover_s"] <= 1800},
    }
    return part, format_table(result, list(methods))


def write_report(report: dict, table: str, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps(report, indent=2) + "\n")
    atomic_write_text(out.with_suffix(".txt"), table + "\n")


def eval_only(out: Path) -> None:
    """Re-score the shipped weights; rewrite only the evaluation part of an existing training.json."""
    report = json.loads(out.read_text())
    part, table = evaluation(Lifter.from_pretrained(WEIGHTS_DIR / "drover.pt"),
                             Lifter.from_pretrained(WEIGHTS_DIR / "supervised.pt"), report["times"])
    report.update(part)
    report["evaluation"] = {"weights": "realtime3d/weights/{drover,supervised}.pt (shipped)",
                            "commit": commit(), "command": "python benchmarks/bench_training.py --eval-only"}
    print(table)
    write_report(report, table, out)
    print(json.dumps(report["ratios"]), json.dumps(report["acceptance"]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--drover-minutes", type=float, default=load_experiment("drover").train.minutes)
    ap.add_argument("--supervised-minutes", type=float, default=load_experiment("supervised").train.minutes)
    ap.add_argument("--runs", default="runs/shipped", help="folder for the two run folders")
    ap.add_argument("--out", default="benchmarks/results/training.json")
    ap.add_argument("--no-ship", action="store_true", help="do not copy the weights into the package")
    ap.add_argument("--reuse-supervised", action="store_true",
                    help="keep the supervised run already in --runs (its time from its log) instead of training it")
    ap.add_argument("--reuse-drover", action="store_true",
                    help="keep the drover run already in --runs (its time from its log) instead of training it")
    ap.add_argument("--keep-shipped-drover", action="store_true",
                    help="train no drover: keep the shipped drover weights, time and config (from --out)")
    ap.add_argument("--eval-only", action="store_true",
                    help="train nothing: score the shipped weights and rewrite only the evaluation part of --out")
    args = ap.parse_args()
    if args.eval_only:
        eval_only(ROOT / args.out)
        return
    runs = Path(args.runs)
    times = {}

    drover_weights = runs / "drover" / "best.pt"
    if args.keep_shipped_drover:
        recorded = json.loads((ROOT / args.out).read_text())
        times["drover_s"], dcfg = recorded["times"]["drover_s"], recorded["drover_config"]
        drover_weights = WEIGHTS_DIR / "drover.pt"
    elif args.reuse_drover:
        times["drover_s"], dcfg = reused_run(runs / "drover")
    else:
        times["drover_s"], dcfg = train_shipped("drover", args.drover_minutes, runs / "drover")
    if args.reuse_supervised:
        times["supervised_s"], scfg = reused_run(runs / "supervised")
    else:
        times["supervised_s"], scfg = train_shipped("supervised", args.supervised_minutes, runs / "supervised")

    part, table = evaluation(Lifter.from_pretrained(drover_weights),
                             Lifter.from_pretrained(runs / "supervised" / "best.pt"), times)
    print(table)
    report = {"machine": machine_info(), "commit": commit(), "times": times,
              "drover_config": dcfg, "supervised_config": scfg, **part}
    write_report(report, table, ROOT / args.out)
    curves = {"drover (2D only)": runs / "drover", "supervised (3D labels)": runs / "supervised"}
    plot_curves({label: run for label, run in curves.items() if (run / "config.json").exists()},
                ROOT / "docs" / "img" / "val_curves.png")

    if not args.no_ship:
        if not args.keep_shipped_drover:
            ship("drover", runs / "drover", json.loads((WEIGHTS_DIR / "drover.json").read_text())["description"],
                 times["drover_s"], dcfg, part["cmu_test"]["model"], report["commit"])
        ship("supervised", runs / "supervised", SUPERVISED_DESCRIPTION,
             times["supervised_s"], scfg, part["cmu_test"]["supervised"], report["commit"])
    print(json.dumps(report["ratios"]), json.dumps(report["acceptance"]))


if __name__ == "__main__":
    main()
