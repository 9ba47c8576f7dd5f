"""Score the shipped models on cmu-test: the numbers of the README's Results table.

Trains nothing. Scores realtime3d/weights/{drover,supervised,drover-live}.pt and the
constant-depth baseline on the same frames with `realtime3d eval --data cmu-test`'s
protocol (GT 3D of subjects 09, 13, 14 through seeded random cameras, seed 0, every
frame), and drover once more in a single pass (no flip average) to show what the flip
average adds. Metrics (realtime3d/metrics.py): P-MPJPE, MPJPE, PCK@150 and AUC
root-relative (MPI-INF-3DHP's standard form), PA-PCK@150 and PA-AUC after the
Procrustes alignment.

Writes benchmarks/results/eval.json (machine, commit, the definitions, one block per
method, the ratios) and the cmu_test block of each shipped model card
(realtime3d/weights/NAME.json; the rest of the card stays; --no-cards leaves them).

    python benchmarks/bench_eval.py            # about 10 s on 2 cores
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _env import commit, machine_info  # noqa: E402

from realtime3d.evaluate import METRICS, constant_depth, evaluate, format_table, load_dataset  # noqa: E402
from realtime3d.io._atomic import atomic_write_text  # noqa: E402
from realtime3d.lifting import DEFAULT_MODEL, LIVE_MODEL, WEIGHTS_DIR, Lifter  # noqa: E402
from realtime3d.metrics import AUC_THRESHOLDS_MM, PCK_THRESHOLD_MM, ROOT as ROOT_JOINT  # noqa: E402

SHIPPED = (DEFAULT_MODEL, "supervised", LIVE_MODEL)
SINGLE_PASS = f"{DEFAULT_MODEL}_single_pass"
DEFINITIONS = {
    "p_mpjpe_mm": "mean joint error after a similarity (Procrustes) alignment: rotation, translation, scale",
    "mpjpe_mm": f"mean joint error after subtracting the root (joint {ROOT_JOINT}, pelvis) from both",
    "pck150": f"root-relative PCK: fraction of the 17 joints within {PCK_THRESHOLD_MM:g} mm after subtracting "
              "the root from both, no rotation, no scale (MPI-INF-3DHP)",
    "auc": f"root-relative AUC: mean root-relative PCK over the {len(AUC_THRESHOLDS_MM)} thresholds "
           f"0, 5, ..., {AUC_THRESHOLDS_MM[-1]:g} mm (MPI-INF-3DHP)",
    "pa_pck150": f"Procrustes-aligned PCK: fraction of joints within {PCK_THRESHOLD_MM:g} mm after the "
                 "alignment of p_mpjpe_mm",
    "pa_auc": "Procrustes-aligned AUC: mean PA-PCK over the same thresholds",
    "flip_average": "true: the pose is also lifted mirrored and the answers averaged (lifting.py)",
}


def update_card(name: str, scores: dict, commit_id: str) -> None:
    """Rewrite the cmu_test block of realtime3d/weights/NAME.json; every other field stays."""
    from bench_training import card_scores
    path = WEIGHTS_DIR / f"{name}.json"
    card = json.loads(path.read_text())
    card["cmu_test"] = card_scores(scores)
    card["cmu_test_source"] = {"benchmark": "benchmarks/bench_eval.py", "results": "benchmarks/results/eval.json",
                               "commit": commit_id}
    atomic_write_text(path, json.dumps(card, indent=2) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="benchmarks/results/eval.json")
    ap.add_argument("--no-cards", action="store_true", help="do not rewrite the model cards' cmu_test blocks")
    args = ap.parse_args()
    _, seq = load_dataset("cmu-test")
    single = Lifter.from_pretrained(DEFAULT_MODEL)
    single.flip_average = False
    methods = {DEFAULT_MODEL: Lifter.from_pretrained(DEFAULT_MODEL), "constant_depth": constant_depth(),
               "supervised": Lifter.from_pretrained("supervised"), LIVE_MODEL: Lifter.from_pretrained(LIVE_MODEL),
               SINGLE_PASS: single}
    result = evaluate(seq, methods, seed=args.seed)
    print(format_table(result, list(methods)))
    p = {k: result[k]["p_mpjpe_mm"] for k in methods}
    report = {
        "benchmark": "bench_eval", "machine": machine_info(), "commit": commit(),
        "data": "cmu-test", "frames": result["frames"], "seed": args.seed,
        "protocol": "GT 3D through seeded random cameras (evaluate.RANDOM_CAMERA) to pixels, then Lifter.lift",
        "metrics": list(METRICS), "definitions": DEFINITIONS,
        "methods": {k: result[k] for k in methods},
        "ratios_p_mpjpe": {f"{DEFAULT_MODEL}_over_constant_depth": round(p[DEFAULT_MODEL] / p["constant_depth"], 3),
                           f"{DEFAULT_MODEL}_over_supervised": round(p[DEFAULT_MODEL] / p["supervised"], 3),
                           f"{LIVE_MODEL}_over_{DEFAULT_MODEL}": round(p[LIVE_MODEL] / p[DEFAULT_MODEL], 3),
                           f"{SINGLE_PASS}_over_{DEFAULT_MODEL}": round(p[SINGLE_PASS] / p[DEFAULT_MODEL], 3)},
    }
    out = ROOT / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps(report, indent=2) + "\n")
    if not args.no_cards:
        for name in SHIPPED:
            update_card(name, result[name], report["commit"])
    print(f"wrote {out}" + ("" if args.no_cards else f" and the cmu_test blocks of {', '.join(SHIPPED)}"))


if __name__ == "__main__":
    main()
