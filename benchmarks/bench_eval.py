"""Score the shipped models on cmu-test: the numbers of the README's Results table.

Trains nothing. Scores realtime3d/weights/{drover,supervised,drover-live}.pt and the
constant-depth baseline on the same frames with `realtime3d eval --data cmu-test`'s
protocol (GT 3D of subjects 09, 13, 14 through seeded random cameras, seed 0, every
frame), each model twice: in a single pass, and flip-averaged (the pose also lifted
mirrored and the two answers averaged, lifting.py); the two are reported apart. Metrics (realtime3d/metrics.py): P-MPJPE, MPJPE, PCK@150 and AUC
root-relative (MPI-INF-3DHP's standard form), PA-PCK@150 and PA-AUC after the
Procrustes alignment.

Also each model's validation score, the one its training selected on: val-subject (02, 07)
3D P-MPJPE of the network's single pass, by the trainer's own Validator.

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
MODES = {"single_pass": False, "flip_averaged": True}
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


def update_card(name: str, scores: dict[str, dict], default_mode: str, commit_id: str) -> None:
    """Rewrite the cmu_test blocks of realtime3d/weights/NAME.json: `cmu_test` in the mode the model
    runs in by default, `cmu_test_by_mode` both; every other field stays."""
    from bench_training import card_scores
    path = WEIGHTS_DIR / f"{name}.json"
    card = json.loads(path.read_text())
    card["cmu_test"] = card_scores(scores[default_mode])
    card["cmu_test_by_mode"] = {mode: card_scores(v) for mode, v in scores.items()}
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
    methods, default_mode = {}, {}
    for mode, flip in MODES.items():
        methods[f"constant_depth:{mode}"] = constant_depth()
        methods[f"constant_depth:{mode}"].flip_average = flip
    for name in SHIPPED:
        for mode, flip in MODES.items():
            lifter = Lifter.from_pretrained(name)
            default_mode[name] = "flip_averaged" if lifter.flip_average else "single_pass"
            lifter.flip_average = flip
            methods[f"{name}:{mode}"] = lifter
    result = evaluate(seq, methods, seed=args.seed)
    print(format_table(result, list(methods)))
    from realtime3d.trainers.evaluation import Validator
    validator = Validator()
    val = {name: round(validator(Lifter.from_pretrained(name).network), 2) for name in SHIPPED}
    print("val P-MPJPE (the selection score):", val)
    p = {k: result[k]["p_mpjpe_mm"] for k in methods}
    d, s, live, c = (f"{DEFAULT_MODEL}:", "supervised:", f"{LIVE_MODEL}:", "constant_depth:")
    report = {
        "benchmark": "bench_eval", "machine": machine_info(), "commit": commit(),
        "data": "cmu-test", "frames": result["frames"], "seed": args.seed,
        "protocol": "GT 3D through seeded random cameras (evaluate.RANDOM_CAMERA) to pixels, then Lifter.lift",
        "metrics": list(METRICS), "definitions": DEFINITIONS,
        "methods": {k: result[k] for k in methods},
        "default_mode": default_mode,
        "val_p_mpjpe_mm_single_pass": val,
        "ratios_p_mpjpe": {f"{mode}": {f"{DEFAULT_MODEL}_over_constant_depth": round(p[d + mode] / p[c + mode], 3),
                                       f"{DEFAULT_MODEL}_over_supervised": round(p[d + mode] / p[s + mode], 3),
                                       f"{LIVE_MODEL}_over_{DEFAULT_MODEL}": round(p[live + mode] / p[d + mode], 3)}
                           for mode in MODES},
    }
    out = ROOT / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps(report, indent=2) + "\n")
    if not args.no_cards:
        for name in SHIPPED:
            update_card(name, {mode: result[f"{name}:{mode}"] for mode in MODES}, default_mode[name],
                        report["commit"])
    print(f"wrote {out}" + ("" if args.no_cards else f" and the cmu_test blocks of {', '.join(SHIPPED)}"))


if __name__ == "__main__":
    main()
