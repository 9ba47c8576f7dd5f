"""Ablations of the two new 2D-only methods, trained here and scored in one evaluation run.

Two tables, each row a run of the method's shipped config with the overrides that make
it what its label says, every row of a table on the same budget (--minutes, default 10; the
shipped config's one thread and batch 1024) and under the random-projection protocol:
- svmac (SVMAC's Table 4): the full method; without the discriminator; n = 1, 2, 3 angles;
- cycle (Sosa & Hogg's Table 3, the lifting part): L_base alone; + the flow prior;
  + the bone prior (the full method); the full method with Drover's fixed 0-20 degree
  elevation range instead of the learned elevation; the full method with the flow prior
  fitted for 400 steps instead of the shipped 2000 (the recipe before the flow's fit length
  was raised).
Each run selects its checkpoint by its 2D criterion (val_cycle_2d), as the shipped runs
do. All rows' best.pt are then scored on cmu-test in one evaluation run (seed 0), single
pass and flip-averaged apart. Runs live in runs/ablations/TABLE/ROW and are resumed if
cut off, so the script can be re-run until every row is done.

Writes benchmarks/results/ablations.json (machine, commit, budget, per row: its
overrides, training seconds and steps, cmu-test P-MPJPE in both modes).

    python benchmarks/bench_ablations.py                 # 9 rows x 10 minutes, one after another
    python benchmarks/bench_ablations.py --tables cycle  # one table (two tables side by side: one per core)
    python benchmarks/bench_ablations.py --tables cycle --rows 0,1,2 --train-only   # part of a table
                                                         # on each core, then the table without --rows
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _args import ints, names  # noqa: E402
from _env import commit, machine_info  # noqa: E402

from realtime3d.evaluate import evaluate, load_dataset  # noqa: E402
from realtime3d.io._atomic import atomic_write_text  # noqa: E402
from realtime3d.lifting import Lifter  # noqa: E402
from realtime3d.trainers.base import train  # noqa: E402
from realtime3d.trainers.checkpoint import latest_checkpoint  # noqa: E402
from realtime3d.trainers.config import SHIPPED_MODELS, load_experiment  # noqa: E402

#: table -> (shipped model whose config every row starts from, {row label: overrides}).
TABLES = {
    "svmac": ("svmac", {
        "full (n = 3)": ["params.views=3"],
        "without the discriminator": ["params.views=3", "params.adversarial=false"],
        "n = 1": ["params.views=1"],
        "n = 2": ["params.views=2"],
    }),
    "cycle": ("cycle", {
        "L_base": ["params.flow_weight=0", "params.bone_weight=0"],
        "L_base + L_NF": ["params.bone_weight=0"],
        "L_base + L_NF + L_bl (full)": [],
        "full, fixed 0-20 deg elevation": ["params.elevation=fixed"],
        "full, flow fitted 400 steps": ["params.flow_steps=400"],
    }),
}
MODES = {"single_pass": False, "flip_averaged": True}


def run_row(model: str, overrides: list[str], minutes: float, run: Path) -> dict:
    exp = load_experiment(SHIPPED_MODELS[model], [*overrides, f"train.minutes={minutes}", "train.test_every_s=0",
                                                  "train.protocol=random-projection"])
    resume = "last" if latest_checkpoint(run).exists() else None
    summary = train(exp, run, resume)
    return {"overrides": overrides, "training_seconds": summary["elapsed_s"], "steps": summary["steps"],
            "best_val_cycle_2d": round(summary["best_score"], 4)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tables", type=names, default=",".join(TABLES), help=f"comma-separated tables ({', '.join(TABLES)})")
    ap.add_argument("--minutes", type=float, default=10.0, help="training minutes of every row")
    ap.add_argument("--rows", type=ints, default=None, help="comma-separated row numbers (from 0) of the table to train; "
                    "default all")
    ap.add_argument("--train-only", action="store_true", help="train the rows, do not evaluate or write results")
    ap.add_argument("--runs", default="runs/ablations")
    ap.add_argument("--out", default="benchmarks/results/ablations.json")
    args = ap.parse_args()
    tables = args.tables
    if unknown := [t for t in tables if t not in TABLES]:
        ap.error(f"unknown table(s) {', '.join(unknown)}; known: {', '.join(TABLES)}")
    wanted = None if args.rows is None else set(args.rows)
    if wanted is not None and not args.train_only:
        ap.error("--rows trains part of a table: add --train-only, then run the table without --rows")
    out = ROOT / args.out
    rows = {}
    for table in tables:
        model, table_rows = TABLES[table]
        for i, (label, overrides) in enumerate(table_rows.items()):
            if wanted is not None and i not in wanted:
                continue
            run = Path(args.runs) / table / label.replace(" ", "_").replace("/", "-")
            rows[(table, label)] = (run, run_row(model, overrides, args.minutes, run))
    if args.train_only:
        return
    _, seq = load_dataset("cmu-test")
    methods = {}
    for (table, label), (run, _) in rows.items():
        for mode, flip in MODES.items():
            lifter = Lifter.from_pretrained(run / "best.pt")
            lifter.flip_average = flip
            methods[f"{table}/{label}:{mode}"] = lifter
    result = evaluate(seq, methods, seed=0)
    report = json.loads(out.read_text()) if out.exists() else {}     # read late: tables may run side by side
    report.setdefault("tables", {})
    for table in tables:
        report["tables"][table] = {
            "method": TABLES[table][0], "protocol": "random-projection", "budget_minutes": args.minutes,
            "threads": load_experiment(SHIPPED_MODELS[TABLES[table][0]]).train.threads,
            "rows": {label: {**entry, **{f"cmu_test_p_mpjpe_mm_{mode}": round(result[f"{table}/{label}:{mode}"]
                                                                          ["p_mpjpe_mm"], 2) for mode in MODES}}
                     for (t, label), (_, entry) in rows.items() if t == table},
            "commit": commit(), "machine": machine_info()}
    report.update({"benchmark": "bench_ablations", "evaluation": "cmu-test, seed 0, one evaluation run per "
                   "invocation", "frames": result["frames"]})
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps(report, indent=2) + "\n")
    for table in tables:
        print(f"{table} ({args.minutes:g} min per row):")
        for label, r in report["tables"][table]["rows"].items():
            print(f"  {label:36s} {r['cmu_test_p_mpjpe_mm_single_pass']:6.1f} mm single pass, "
                  f"{r['cmu_test_p_mpjpe_mm_flip_averaged']:6.1f} flip-averaged, {r['training_seconds'] / 60:.1f} min")


if __name__ == "__main__":
    main()
