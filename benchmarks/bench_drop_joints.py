"""The cost of missing joints: cmu-test P-MPJPE with K random joints hidden per frame.

Writes benchmarks/results/drop_joints.csv: K, then the P-MPJPE in mm of each --models
model (default: cycle, svmac and drover, the random-projection protocol's 2D-only
lifters, and the supervised baseline), each in a single pass and flip-averaged, of the constant-depth
baseline, and each model's increase over its own K = 0 score (mm), with machine and
commit. One evaluation run: every model sees the same frames and the same hidden joints.

    python benchmarks/bench_drop_joints.py
    python benchmarks/bench_drop_joints.py --models cycle,drover,supervised --drops 0,2
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _args  # noqa: E402
from _env import commit, machine_info, write_csv  # noqa: E402

from realtime3d.evaluate import constant_depth, evaluate, load_dataset  # noqa: E402
from realtime3d.lifting import Lifter  # noqa: E402

MODES = {"single_pass": False, "flip_averaged": True}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=_args.names, default="cycle,svmac,drover,supervised",
                    help="comma-separated shipped models (default: cycle,svmac,drover,supervised)")
    ap.add_argument("--drops", type=_args.ints, default="0,1,2,3,5", help="comma-separated numbers of hidden joints per frame")
    ap.add_argument("--out", default="benchmarks/results/drop_joints.csv")
    args = ap.parse_args()
    names, drops = args.models, args.drops
    if not drops or drops[0] != 0:
        ap.error("--drops must start at 0 (the clean score every increase is measured from)")
    _, seq = load_dataset("cmu-test")
    methods = {"constant_depth": constant_depth()}
    for name in names:
        for mode, flip in MODES.items():
            methods[f"{name}_{mode}"] = Lifter.from_pretrained(name)
            methods[f"{name}_{mode}"].flip_average = flip
    rows = []
    for k in drops:
        r = evaluate(seq, methods, drop_joints=k, seed=0)
        rows.append({"drop_joints": k, **{f"{m}_p_mpjpe_mm": round(r[m]["p_mpjpe_mm"], 1) for m in methods}})
        for name in names:
            for mode in MODES:
                col = f"{name}_{mode}_p_mpjpe_mm"
                rows[-1][f"{name}_{mode}_increase_mm"] = round(rows[-1][col] - rows[0][col], 1)
        print(rows[-1], flush=True)
    info = {**machine_info(), "commit": commit(), "models": ",".join(names)}
    write_csv(args.out, rows, info)


if __name__ == "__main__":
    main()
