"""The cost of missing joints: cmu-test P-MPJPE with K random joints hidden per frame.

Writes benchmarks/results/drop_joints.csv (K, then P-MPJPE in mm of the shipped model
and the supervised baseline, each in a single pass and flip-averaged, of the
constant-depth baseline, and the model's ratio to its own K = 0 score), with machine
and commit.

    python benchmarks/bench_drop_joints.py
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _env import commit, machine_info, write_csv  # noqa: E402

from realtime3d.evaluate import constant_depth, evaluate, load_dataset  # noqa: E402
from realtime3d.lifting import Lifter  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="drover")
    ap.add_argument("--drops", default="0,1,2,3,5")
    ap.add_argument("--out", default="benchmarks/results/drop_joints.csv")
    args = ap.parse_args()
    _, seq = load_dataset("cmu-test")
    methods = {"constant_depth": constant_depth()}
    for name, model in (("model", args.model), ("supervised", "supervised")):
        for mode, flip in (("single_pass", False), ("flip_averaged", True)):
            methods[f"{name}_{mode}"] = Lifter.from_pretrained(model)
            methods[f"{name}_{mode}"].flip_average = flip
    rows = []
    for k in (int(x) for x in args.drops.split(",")):
        r = evaluate(seq, methods, drop_joints=k, seed=0)
        rows.append({"drop_joints": k, **{f"{m}_p_mpjpe_mm": round(r[m]["p_mpjpe_mm"], 1) for m in methods}})
        for mode in ("single_pass", "flip_averaged"):
            rows[-1][f"model_{mode}_vs_no_drop"] = round(rows[-1][f"model_{mode}_p_mpjpe_mm"]
                                                         / rows[0][f"model_{mode}_p_mpjpe_mm"], 3)
        print(rows[-1], flush=True)
    info = {**machine_info(), "commit": commit(), "model": args.model}
    write_csv(args.out, rows, info)


if __name__ == "__main__":
    main()
