"""Run-to-run spread: shipped recipes trained again with other seeds, scored beside the shipped runs.

The shipped model of each recipe is one run (train.seed = 0). This script trains the same
config with other seeds (`--set train.seed=S`: other initial weights, other random views and
cameras, another flow fit), on the same budget and one thread, in runs/seeds/MODEL-seedS (a
run folder with a checkpoint is resumed), never ships them, and scores every seed's best.pt
(each selected by its own criterion) and the shipped weights on cmu-test in one evaluation
run (seed 0), single pass and flip-averaged apart, plus the val 3D of each (logged, never used
to choose). It says how far apart two runs of one recipe land, which is the yardstick for any
difference between two recipes in the tables of docs/results.md.

    python benchmarks/bench_seeds.py --models cycle,drover --seeds 1          # 2 x 28 minutes, one after another
    python benchmarks/bench_seeds.py --models cycle --seeds 1 --train-only    # one per core, then the line above

Writes benchmarks/results/seeds.json (machine, commit, per model and seed: steps, minutes,
criterion, val 3D and cmu-test P-MPJPE in both modes; per model the spread over the seeds).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _args import ints, names  # noqa: E402
from _env import commit, machine_info  # noqa: E402

from realtime3d.evaluate import evaluate, load_dataset  # noqa: E402
from realtime3d.io._atomic import atomic_write_text  # noqa: E402
from realtime3d.lifting import WEIGHTS_DIR, Lifter  # noqa: E402
from realtime3d.trainers.base import train  # noqa: E402
from realtime3d.trainers.checkpoint import latest_checkpoint  # noqa: E402
from realtime3d.trainers.config import SHIPPED_MODELS, load_experiment  # noqa: E402

MODES = {"single_pass": False, "flip_averaged": True}
TRAINING = ROOT / "benchmarks/results/training.json"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=names, default="cycle,drover", help=f"comma-separated shipped models ({', '.join(SHIPPED_MODELS)})")
    ap.add_argument("--seeds", type=ints, default="1", help="comma-separated train.seed values besides the shipped 0")
    ap.add_argument("--train-only", action="store_true", help="train the seeds' runs, do not evaluate or write results")
    ap.add_argument("--runs", default="runs/seeds")
    ap.add_argument("--out", default="benchmarks/results/seeds.json")
    args = ap.parse_args()
    models, seeds = args.models, args.seeds
    if unknown := [m for m in models if m not in SHIPPED_MODELS]:
        ap.error(f"unknown model(s) {', '.join(unknown)}; shipped: {', '.join(SHIPPED_MODELS)}")
    if not seeds or 0 in seeds:
        ap.error("--seeds: give the other seeds (0 is the shipped run)")
    runs, entries = {}, {}
    for model in models:
        for seed in seeds:
            exp = load_experiment(SHIPPED_MODELS[model], [f"train.seed={seed}"])
            run = Path(args.runs) / f"{model}-seed{seed}"
            summary = train(exp, run, "last" if latest_checkpoint(run).exists() else None)
            runs[(model, seed)] = run / "best.pt"
            entries[(model, seed)] = {"steps": summary["steps"], "training_minutes": round(summary["elapsed_s"] / 60, 1),
                                      "criterion": summary["criterion"], "best_score": round(summary["best_score"], 4)}
        shipped = json.loads(TRAINING.read_text())["models"][model]        # the shipped run's bench_training entry
        runs[(model, 0)] = WEIGHTS_DIR / f"{model}.pt"
        entries[(model, 0)] = {"steps": shipped["steps"], "training_minutes": round(shipped["training_seconds"] / 60, 1),
                               "criterion": shipped["criterion"], "best_score": shipped["best_score"], "shipped": True}
    if args.train_only:
        return
    from realtime3d.trainers.evaluation import Validator
    from realtime3d.trainers.sampling import VAL_SEED, validation_pool

    methods = {}
    for (model, seed), path in runs.items():
        for mode, flip in MODES.items():
            lifter = Lifter.from_pretrained(path)
            lifter.flip_average = flip
            methods[f"{model}/seed{seed}:{mode}"] = lifter
    _, seq = load_dataset("cmu-test")
    result = evaluate(seq, methods, seed=0)
    report = {"benchmark": "bench_seeds", "evaluation": "cmu-test, seed 0, one evaluation run", "frames": result["frames"],
              "commit": commit(), "machine": machine_info(), "models": {}}
    for model in models:
        protocol = load_experiment(SHIPPED_MODELS[model]).train.protocol
        validate = Validator(validation_pool(protocol), seed=VAL_SEED)
        rows = {}
        for seed in [0, *seeds]:
            val = validate(Lifter.from_pretrained(runs[(model, seed)]).network)
            rows[f"seed{seed}"] = {**entries[(model, seed)], "val_p_mpjpe_mm": round(val["val_p_mpjpe"], 2),
                                   **{f"cmu_test_p_mpjpe_mm_{mode}": round(result[f"{model}/seed{seed}:{mode}"]["p_mpjpe_mm"], 2)
                                      for mode in MODES}}
        spread = {}
        for key in ("val_p_mpjpe_mm", *(f"cmu_test_p_mpjpe_mm_{m}" for m in MODES)):
            values = np.array([r[key] for r in rows.values()])
            spread[key] = {"mean": round(float(values.mean()), 2), "min": float(values.min()),
                           "max": float(values.max()), "range": round(float(values.max() - values.min()), 2)}
        report["models"][model] = {"config": SHIPPED_MODELS[model], "protocol": protocol, "seeds": rows, "spread": spread}
    out = ROOT / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps(report, indent=2) + "\n")
    for model, r in report["models"].items():
        for seed, row in r["seeds"].items():
            print(f"{model:10s} {seed:6s} val {row['val_p_mpjpe_mm']:5.1f} mm, cmu-test {row['cmu_test_p_mpjpe_mm_single_pass']:5.1f} "
                  f"single pass, {row['cmu_test_p_mpjpe_mm_flip_averaged']:5.1f} flip-averaged")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
