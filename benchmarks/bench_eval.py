"""Score every shipped model on cmu-test in one evaluation run: the accuracy tables of docs/results.md.

Trains nothing. Scores every realtime3d/weights/NAME.pt and the constant-depth baseline
on the same frames with `realtime3d eval --data cmu-test`'s protocol (GT 3D of subjects
09, 13, 14 through seeded random cameras, seed 0, every frame), each model twice: in a
single pass, and flip-averaged (the pose also lifted mirrored and the two answers
averaged, lifting.py); the two are reported apart. Metrics (realtime3d/metrics.py):
P-MPJPE, MPJPE, PCK@150 and AUC root-relative (MPI-INF-3DHP's standard form),
PA-PCK@150 and PA-AUC after the Procrustes alignment.

Also each model's validation scores under its own protocol (realtime3d/trainers/evaluation.py):
val_cycle_2d, the 2D criterion that selected every 2D-only model, and the val 3D
P-MPJPE, which selected only the supervised baseline. Per protocol it names the best
2D-only model by its 2D criterion, and checks the 2D-only lifters' targets (single pass: the
best at most 0.48 x constant depth and 1.1 x the supervised baseline; docs/results.md).

Writes benchmarks/results/eval.json (machine, commit, the definitions, one block per
method, the ratios and checks) and the cmu_test blocks of each shipped model card
(realtime3d/weights/NAME.json; the rest of the card stays; --no-cards leaves them).

    python benchmarks/bench_eval.py            # about a minute on 2 cores
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _env import commit, machine_info  # noqa: E402

from realtime3d.evaluate import (CLIP_CAMERA_PASSES, METRICS, constant_depth, evaluate, format_table,  # noqa: E402
                                 load_dataset)
from realtime3d.io._atomic import atomic_write_text  # noqa: E402
from realtime3d.lifting import (DEFAULT_MODEL, LIVE_MODEL, WEIGHTS_DIR, available_models, fusion_models,  # noqa: E402
                                load_model, model_card)
from realtime3d.metrics import AUC_THRESHOLDS_MM, PCK_THRESHOLD_MM, ROOT as ROOT_JOINT  # noqa: E402

MODES = {"single_pass": False, "flip_averaged": True}
#: Frame lifters scored beside the temporal ones through still cameras per clip.
CLIP_REFERENCES = ["cycle"]
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


def card_scores(metrics: dict) -> dict:
    """A method's evaluate() block as a model card carries it: floats to 4 decimals."""
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.items()}


def update_card(name: str, scores: dict[str, dict], default_mode: str, commit_id: str,
                cameras: str = "per frame") -> None:
    """Rewrite the cmu_test blocks of realtime3d/weights/NAME.json: `cmu_test` in the mode the model
    runs in by default, `cmu_test_by_mode` both; every other field stays."""
    path = WEIGHTS_DIR / f"{name}.json"
    card = json.loads(path.read_text())
    card["cmu_test"] = card_scores(scores[default_mode])
    card["cmu_test_by_mode"] = {mode: card_scores(v) for mode, v in scores.items()}
    card["cmu_test_source"] = {"benchmark": "benchmarks/bench_eval.py", "results": "benchmarks/results/eval.json",
                               "cameras": cameras, "commit": commit_id}
    atomic_write_text(path, json.dumps(card, indent=2) + "\n")


def two_d_only(card: dict) -> bool:
    """Whether a model read no 3D beyond the sampler's views (its card says where it read 3D)."""
    return card.get("reads_3d", "").startswith(("only the sampler", "nowhere"))


def protocol_summary(protocol: str, cards: dict[str, dict], p: dict[str, float], val: dict[str, dict]) -> dict:
    """The best 2D-only model of a protocol by its 2D criterion, its single-pass P-MPJPE ratios
    and the checks of the 2D-only lifters' targets."""
    mine = [n for n, c in cards.items() if c.get("protocol") == protocol and two_d_only(c)
            and c["method"] not in ("distill", "cycle-temporal") and c.get("kind") != "fusion"]
    if not mine:
        return {}
    best = min(mine, key=lambda n: val[n]["val_cycle_2d"])
    single = {n: p[f"{n}:single_pass"] for n in mine}
    out = {"two_d_only_models": mine, "best_by_2d_criterion": best,
           "single_pass_p_mpjpe_mm": {n: round(v, 2) for n, v in single.items()}}
    drover = next((n for n in mine if cards[n]["method"] == "drover"), None)
    new = [n for n in mine if cards[n]["method"] in ("cycle", "svmac")]
    if drover and new:
        winner = min(new, key=lambda n: single[n])
        out["better_of_cycle_svmac"] = winner
        out["check: better of cycle/svmac < drover (single pass)"] = single[winner] < single[drover]
    c = p["constant_depth:single_pass"]
    out[f"{best}_over_constant_depth"] = round(single[best] / c, 3)
    sup = next((n for n, cd in cards.items() if cd["method"] == "supervised" and cd.get("protocol") == protocol), None)
    if sup:
        out[f"{best}_over_{sup}"] = round(single[best] / p[f"{sup}:single_pass"], 3)
    if protocol == "random-projection":
        out[f"check: {best} <= 0.48 x constant depth"] = single[best] <= 0.48 * c
        if sup:
            out[f"check: {best} <= 1.1 x {sup}"] = single[best] <= 1.1 * p[f"{sup}:single_pass"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="benchmarks/results/eval.json")
    ap.add_argument("--no-cards", action="store_true", help="do not rewrite the model cards' cmu_test blocks")
    args = ap.parse_args()
    from realtime3d.trainers.evaluation import Validator
    from realtime3d.trainers.sampling import VAL_SEED, validation_pool
    _, seq = load_dataset("cmu-test")
    shipped = available_models()
    # a fusion model lifts 2D files with its lifter alone: its card's protocol and selection are its lifter's
    cards = {name: {**model_card(model_card(name)["lifter"]), **model_card(name)} if name in fusion_models()
             else model_card(name) for name in shipped}
    # a lifter of tracks needs still cameras: it is scored apart, through a still camera per clip
    # (evaluate.with_clip_cameras), beside the frame lifter it grew from and constant depth
    temporal = [n for n in shipped if getattr(load_model(n), "temporal", False)]
    framewise = [n for n in shipped if n not in temporal]
    default_mode = {}

    def scored(names: list[str], clip_cameras: bool) -> tuple[dict, dict]:
        methods = {}
        for mode, flip in MODES.items():
            methods[f"constant_depth:{mode}"] = constant_depth()
            methods[f"constant_depth:{mode}"].flip_average = flip
        for name in names:
            for mode, flip in MODES.items():
                lifter = load_model(name)
                default_mode.setdefault(name, "flip_averaged" if lifter.flip_average else "single_pass")
                lifter.flip_average = flip
                methods[f"{name}:{mode}"] = lifter
        result = evaluate(seq, methods, seed=args.seed, clip_cameras=clip_cameras)
        print(format_table(result, list(methods)))
        return methods, result

    methods, result = scored(framewise, clip_cameras=False)
    clip_methods, clip_result = scored([*temporal, *CLIP_REFERENCES], clip_cameras=True) if temporal else ({}, {})
    validators = {}
    val = {}
    for name in framewise:               # a temporal model's criterion is on tracks (its own validation)
        card = cards[name]
        protocol = card.get("protocol", "random-projection")
        key = (protocol, card.get("val_data", "cmu"))
        if key not in validators:        # own 2D: the files the model validated on
            minimum = card.get("config", {}).get("train", {}).get("data_min_visibility", 0.5)
            validators[key] = Validator(validation_pool(protocol, key[1], min_visibility=minimum), seed=VAL_SEED)
        val[name] = {k: round(v, 3) for k, v in validators[key](load_model(name).network).items()}
    print("validation, single pass (val_cycle_2d selects 2D-only models):", json.dumps(val))
    p = {k: result[k]["p_mpjpe_mm"] for k in methods}
    protocols = sorted({c.get("protocol", "random-projection") for n, c in cards.items() if n in framewise})
    report = {
        "benchmark": "bench_eval", "machine": machine_info(), "commit": commit(),
        "data": "cmu-test", "frames": result["frames"], "seed": args.seed,
        "protocol": "GT 3D through seeded random cameras (evaluate.RANDOM_CAMERA) to pixels, then Lifter.lift",
        "metrics": list(METRICS), "definitions": DEFINITIONS,
        "methods": {k: result[k] for k in methods},
        "clip_cameras": {"cameras": "a still seeded camera per clip and pass (evaluate.with_clip_cameras, "
                                    f"{CLIP_CAMERA_PASSES} passes), the protocol of lifters that read tracks",
                         "frames": clip_result.get("frames"), "temporal_models": temporal,
                         "methods": {k: clip_result[k] for k in clip_methods}} if temporal else None,
        "default_mode": default_mode,
        "training_protocol": {n: cards[n].get("protocol") for n in shipped},
        "selection": {n: cards[n].get("selection", {}).get("criterion") for n in shipped},
        "validation_single_pass": val,
        "by_protocol": {pr: protocol_summary(pr, cards, p, val) for pr in protocols},
        "ratios_p_mpjpe": {mode: {f"{DEFAULT_MODEL}_over_constant_depth":
                                  round(p[f"{DEFAULT_MODEL}:{mode}"] / p[f"constant_depth:{mode}"], 3),
                                  f"{LIVE_MODEL}_over_{DEFAULT_MODEL}":
                                  round(p[f"{LIVE_MODEL}:{mode}"] / p[f"{DEFAULT_MODEL}:{mode}"], 3)}
                           for mode in MODES},
    }
    out = ROOT / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps(report, indent=2) + "\n")
    print(json.dumps(report["by_protocol"], indent=2))
    if not args.no_cards:
        for name in shipped:
            scores = clip_result if name in temporal else result
            update_card(name, {mode: scores[f"{name}:{mode}"] for mode in MODES}, default_mode[name],
                        report["commit"], "per clip (still cameras)" if name in temporal else "per frame")
    print(f"wrote {out}" + ("" if args.no_cards else " and the cmu_test blocks of every model card"))


if __name__ == "__main__":
    main()
