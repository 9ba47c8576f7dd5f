"""Does the 2D selection criterion track the 3D error? The plot and the numbers behind it.

Every 2D-only method selects its checkpoint on val_cycle_2d, the rotation-cycle 2D
reprojection error of the validation 2D (realtime3d/trainers/evaluation.py); the spine also logs the
validation 3D P-MPJPE next to it, which nothing reads to choose. This script reads the
two columns of each run's eval.csv (the shipped runs in runs/shipped/NAME, or --runs),
and for each run reports:
- the Spearman rank correlation of the criterion with the 3D error over its validations;
- the 3D error of the checkpoint the criterion chose, against the best 3D error the run
  reached (what selecting on 3D would have got: the cost of not reading it);
- the cmu-test P-MPJPE the run logged during training (every train.test_every_s), which
  nothing read.

Writes benchmarks/results/criterion.json and docs/img/criterion.png.

    python benchmarks/bench_criterion.py       # seconds: it trains nothing
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _env import commit, machine_info  # noqa: E402

from realtime3d.io._atomic import atomic_write_text  # noqa: E402
from realtime3d.trainers.logs import EVAL_CSV  # noqa: E402

CRITERION, ERROR_3D, TEST_3D = "val_cycle_2d", "val_p_mpjpe", "test_p_mpjpe_mm"


def validations(run: Path) -> list[tuple[float, float]]:
    """(criterion, 3D P-MPJPE) of every validation of a run that logged both."""
    with open(run / EVAL_CSV, newline="") as fh:
        return [(float(r[CRITERION]), float(r[ERROR_3D])) for r in csv.DictReader(fh)
                if r.get(CRITERION) and r.get(ERROR_3D)]


def test_curve(run: Path) -> list[list[float]]:
    """[time_s, cmu-test P-MPJPE mm] of every test evaluation the run logged (flip-averaged for
    the models that run flip-averaged; logged only, never read by training or selection)."""
    with open(run / EVAL_CSV, newline="") as fh:
        return [[float(r["time_s"]), round(float(r[TEST_3D]), 2)] for r in csv.DictReader(fh) if r.get(TEST_3D)]


def summarize(rows: list[tuple[float, float]]) -> dict:
    from scipy.stats import spearmanr
    crit, err = zip(*rows)
    chosen = min(range(len(rows)), key=lambda i: crit[i])       # the spine keeps the first minimum
    return {"validations": len(rows), "spearman": round(float(spearmanr(crit, err).statistic), 3),
            "chosen_p_mpjpe_mm": round(err[chosen], 2), "best_p_mpjpe_mm": round(min(err), 2),
            "chosen_over_best": round(err[chosen] / min(err), 3), "chosen_criterion": round(crit[chosen], 3)}


def plot(runs: dict[str, list[tuple[float, float]]], out: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    for name, rows in runs.items():
        crit, err = zip(*rows)
        ax.plot(crit, err, ".", alpha=0.5, label=name)
    ax.set_xlabel("val_cycle_2d: rotation-cycle 2D error (% of the pose radius) - selects")
    ax.set_ylabel("val P-MPJPE (mm) - logged only")
    ax.set_title("The 2D criterion against the 3D error, every validation of each run")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", default="runs/shipped", help="folder of run folders (each with eval.csv)")
    ap.add_argument("--out", default="benchmarks/results/criterion.json")
    args = ap.parse_args()
    runs = {}
    for run in sorted(Path(args.runs).iterdir()):
        if (run / EVAL_CSV).exists():
            cfg = json.loads((run / "config.json").read_text())
            if cfg["method"] != "supervised" and len(rows := validations(run)) >= 3:
                runs[run.name] = rows
    if not runs:
        sys.exit(f"bench_criterion: no run under {args.runs} logged both {CRITERION} and {ERROR_3D}")
    report = {"benchmark": "bench_criterion", "machine": machine_info(), "commit": commit(),
              "criterion": CRITERION, "error_3d": ERROR_3D,
              "runs": {name: summarize(rows) for name, rows in runs.items()},
              "cmu_test_logged": {name: test_curve(Path(args.runs) / name) for name in runs}}
    out = ROOT / args.out
    atomic_write_text(out, json.dumps(report, indent=2) + "\n")
    plot(runs, ROOT / "docs" / "img" / "criterion.png")
    for name, r in report["runs"].items():
        print(f"{name:24s} spearman {r['spearman']:+.3f}  chosen {r['chosen_p_mpjpe_mm']:.1f} mm, "
              f"best {r['best_p_mpjpe_mm']:.1f} mm ({r['chosen_over_best']:.3f}x)")


if __name__ == "__main__":
    main()
