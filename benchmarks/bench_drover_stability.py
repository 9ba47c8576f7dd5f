"""What makes the Drover GAN converge: each stabiliser measured at the same time budget.

Runs the trainer once per variant (two at a time, one thread each) and writes
benchmarks/results/drover_stability.csv: best and last validation P-MPJPE (mm, val
subjects, never test), the steps made and the final D and G losses, with machine and
commit. Every variant sets every switch it is about (flat_init, composed_real, ema,
cycle_weight, mirror, label_smooth, width), so each row runs what its name says:
the first rows add one stabiliser each to the paper's recipe as written ("paper"),
"shipped" is the shipped recipe, the last rows change one thing of a row above. The
baseline of the ratio column is "paper". Every row trains with the shipped hidden-joint
augmentation, batch 1024 and a discriminator of width 256.

    python benchmarks/bench_drover_stability.py --minutes 4
"""
from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _env import commit, machine_info, write_csv  # noqa: E402

COMMON = ["--set", "params.d_width=256", "--set", "train.batch=1024", "--set", "train.threads=1",
          "--set", "train.val_every_s=15", "--set", "train.test_every_s=0"]
PAPER = {"flat_init": "false", "composed_real": "false", "ema": "0", "cycle_weight": "0", "mirror": "false",
         "label_smooth": "0", "width": "512"}


def _flags(**changes: str) -> list[str]:
    return [a for k, v in {**PAPER, **changes}.items() for a in ("--set", f"params.{k}={v}")]


SHIPPED = {"flat_init": "true", "composed_real": "true", "ema": "0.99", "cycle_weight": "1", "mirror": "true"}
VARIANTS = {
    "paper": _flags(),
    "+flat_init": _flags(flat_init="true"),
    "+flat_init+composed_real": _flags(flat_init="true", composed_real="true"),
    "+flat_init+composed_real+ema": _flags(flat_init="true", composed_real="true", ema="0.99"),
    "+flat_init+composed_real+ema+cycle": _flags(flat_init="true", composed_real="true", ema="0.99",
                                                 cycle_weight="1"),
    "+flat_init+composed_real+ema+cycle+mirror (shipped)": _flags(**SHIPPED),
    "+flat_init+composed_real+ema, label_smooth 0.1": _flags(flat_init="true", composed_real="true", ema="0.99",
                                                             label_smooth="0.1"),
    "shipped, width 256": _flags(**SHIPPED, width="256"),
    "shipped, width 1024": _flags(**SHIPPED, width="1024"),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=4.0, help="training minutes per variant")
    ap.add_argument("--out", default="benchmarks/results/drover_stability.csv", help="CSV to write")
    ap.add_argument("--runs", default="runs/stability", help="folder for the variants' run folders")
    args = ap.parse_args()
    names = list(VARIANTS)
    procs = {}
    for i in range(0, len(names), 2):
        for name in names[i:i + 2]:
            run_dir = Path(args.runs) / "".join(c if c.isalnum() else "_" for c in name)
            shutil.rmtree(run_dir, ignore_errors=True)  # a trainer refuses a folder that holds a run
            cmd = [sys.executable, "-m", "realtime3d", "train", "drover", *COMMON,
                   "--set", f"train.minutes={args.minutes}", "--run-dir", str(run_dir), *VARIANTS[name]]
            procs[name] = (subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), run_dir)
        for name in names[i:i + 2]:
            procs[name][0].wait()
    rows = []
    for name in names:
        run = procs[name][1]
        with open(run / "log.csv") as fh:
            log = list(csv.DictReader(fh))
        with open(run / "eval.csv") as fh:
            evals = [r for r in csv.DictReader(fh) if r["val_p_mpjpe"]]
        vals = [float(r["val_p_mpjpe"]) for r in evals]
        rows.append({"variant": name, "minutes": args.minutes, "steps": evals[-1]["step"],
                     "best_val_p_mpjpe_mm": round(min(vals), 1), "last_val_p_mpjpe_mm": round(vals[-1], 1),
                     "last_loss_d": log[-1]["loss_d"], "last_loss_g": log[-1]["loss_g"]})
    base = rows[0]["best_val_p_mpjpe_mm"]
    for r in rows:
        r["best_vs_paper"] = round(r["best_val_p_mpjpe_mm"] / base, 3)
    info = {**machine_info(), "commit": commit()}
    write_csv(args.out, rows, info)
    for r in rows:
        print(r)


if __name__ == "__main__":
    main()
