"""Train the shipped models on this machine, time them, and ship them with their model cards.

Each model of trainers.config.SHIPPED_MODELS, SHIPPED_DETECTORS and SHIPPED_ENCODERS (name -> its one config) is
trained on the spine in runs/shipped/NAME. A run folder that holds a checkpoint is resumed, so a run
stopped by the end of a session goes on where it was, and a finished one is only
re-validated; its training time is the spine's clock, carried over resumes. The best
checkpoint (selected by the method's own criterion, realtime3d/trainers/evaluation.py CRITERIA) is
copied to realtime3d/weights/NAME.pt (a detector: weights/detectors/NAME.pt; an encoder, which is no lifter:
weights/encoders/NAME.pt), with NAME.json: the spine's card (protocol,
selection criterion, where 3D was read, seconds, threads) plus the config and commit.
benchmarks/results/training.json keeps one entry per model (the models trained in
other runs of this script stay) with the machine and commit. The cmu-test scores of the
cards come from benchmarks/bench_eval.py, in one evaluation run of every model.

    python benchmarks/bench_training.py --models cycle,svmac   # 28 minutes each on one thread
    python benchmarks/bench_training.py                       # every shipped model
    python benchmarks/bench_training.py --models chen-views,chen   # Chen's encoder (59 min, 1 thread), then its lifter
    python benchmarks/bench_training.py --models yang --set params.media_cache=runs/yang/media_2d.json
        # with runs/shipped/yang a link to runs/yang/full (bench_yang.py --train's Full row): ships that run
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
import _args  # noqa: E402
from _env import commit, machine_info  # noqa: E402

from realtime3d.io._atomic import atomic_write_text  # noqa: E402
from realtime3d.detect.skeleton_net import DETECTORS_DIR, load_skeleton_net  # noqa: E402
from realtime3d.data.mocap import load_split  # noqa: E402
from realtime3d.lifting import WEIGHTS_DIR, Lifter  # noqa: E402
from realtime3d.trainers.base import train  # noqa: E402
from realtime3d.trainers.checkpoint import latest_checkpoint  # noqa: E402
from realtime3d.trainers.chen_regression import ENCODERS_DIR, load_encoder  # noqa: E402
from realtime3d.trainers.config import SHIPPED_DETECTORS, SHIPPED_ENCODERS, SHIPPED_MODELS, load_experiment  # noqa: E402

CONFIGS = {**SHIPPED_MODELS, **SHIPPED_DETECTORS, **SHIPPED_ENCODERS}

#: What each method is, for the model cards ("{protocol}" is filled in).
DESCRIPTIONS = {
    "drover": "Drover et al. lifting GAN: no 3D label in its losses or its selection; trained on {protocol} "
              "2D views of the CMU train mocap",
    "cycle": "Sosa & Hogg's rotation-cycle lifter (learned elevation, 2D flow prior, anthropometric bone prior): "
             "no 3D label in its losses or its selection; trained on {protocol} 2D views of the CMU train mocap",
    "svmac": "SVMAC (Deng et al.): lifter with a weak-perspective camera head, multi-angle consistency and WGAN-GP; "
             "no 3D label in its losses or its selection; trained on {protocol} 2D views of the CMU train mocap",
    "cycle-temporal": "the rotation cycle over tracks (a temporal lifter of dilated convolutions over 27 frames, "
                      "after VideoPose3D): no 3D label in its losses or its selection; trained on tracks of the CMU "
                      "train mocap, each seen by one {protocol} camera",
    "supervised": "supervised baseline: the lifting network trained with the 3D labels of {protocol} views of the "
                  "CMU train mocap and selected on the val subjects' 3D (it reads 3D); the 2D-only methods' budget",
    "distill": "one-pass live copy of {teacher}, distilled on {protocol} 2D views (no 3D label in its losses or "
               "its selection)",
    "skeleton-net": "Sosa & Hogg's Phi (crop -> skeleton image) and Omega (skeleton image -> 2D), the image path's "
                    "synthetic-labelled start: trained on crops of realistic rendered people posed by the CMU train "
                    "mocap against the renders' own 2D (synthetic labels, no human's), Omega also on an unpaired "
                    "{protocol} 2D prior; selected on the val subjects' held-out renders' 2D error (their labels)",
    "chen-views": "Chen et al.'s view-synthesis encoder phi (skeleton maps -> a set of 3D points), not a lifter: trained "
                  "on pairs of {protocol} 2D views of the CMU train mocap and their relative rotation (multi-view 2D "
                  "with known relative rotations), selected on val view synthesis; no 3D label read",
    "chen": "Chen et al.'s Regression#1 on the frozen chen-views encoder's latent: trained with the 3D labels of "
            "{labelled} CMU train poses ({fraction:g} of them, {protocol} views) and selected on a held-out share of "
            "those poses (it reads 3D)",
    "yang": "Yang et al.'s adversarial fine-tuning (Full: 2D pose, heatmaps with depth maps, geometric descriptor): "
            "the shipped supervised lifter (trained with the same labels) fine-tuned with its 3D loss on {protocol} "
            "views of the CMU train mocap, the 3D labels of all {train_poses} train poses and their mirror images, "
            "against a multi-source discriminator (reals: train views with their 3D; fakes: its lifts of unlabelled "
            "2D, MediaPipe on the shared media and train poses at new cameras); reads 3D, selected on the val "
            "subjects' 3D",
}

#: A model whose data the method's description does not tell: its own description.
MODEL_DESCRIPTIONS = {
    "skeleton-net-start": DESCRIPTIONS["skeleton-net"] + "; stage 1 of the shipped skeleton-net",
    "skeleton-net": DESCRIPTIONS["skeleton-net"] + "; stage 2: skeleton-net-start trained on with bystanders pasted "
                    "behind the person (cut from other renders by their masks) and camera blur and noise",
    "cycle-mediapipe-2d": "Sosa & Hogg's rotation-cycle lifter trained on the detector's own 2D: MediaPipe's answers "
                          "on renders of synthetic people posed by the CMU train subjects' mocap "
                          "(realtime3d/render/detections.py), validated on its answers on renders of the val "
                          "subjects; no label of the renders is read (their mocap only poses the bodies), no 3D "
                          "label in its losses or its selection",
}

#: Where a model's data met 3D, when the spine's card cannot tell (its own 2D files came from renders).
MODEL_READS_3D = {
    "cycle-mediapipe-2d": "nowhere in training or selection: its 2D is MediaPipe's on renders of bodies that the "
                          "CMU train subjects' mocap posed (the renderer's only use of 3D), the val 2D the same for "
                          "the val subjects; no label of the renders read",
}


def train_model(name: str, runs: Path, sets: list[str] = ()) -> dict:
    """Train (or resume, or re-validate) the shipped model's run, its config with the `sets`
    overrides (KEY=VALUE); its entry of training.json."""
    exp = load_experiment(CONFIGS[name], list(sets))
    run = runs / name
    resume = "last" if latest_checkpoint(run).exists() else None
    summary = train(exp, run, resume)
    return {"config": exp.as_dict(), "training_seconds": summary["elapsed_s"], "steps": summary["steps"],
            "criterion": summary["criterion"], "best_score": round(summary["best_score"], 4),
            "resumed": resume is not None, "commit": commit()}


def ship(name: str, run: Path, entry: dict) -> None:
    """Copy a run's best.pt into the package as realtime3d/weights/NAME.pt (a detector:
    weights/detectors/NAME.pt), with NAME.json (its card)."""
    folder = DETECTORS_DIR if name in SHIPPED_DETECTORS else ENCODERS_DIR if name in SHIPPED_ENCODERS else WEIGHTS_DIR
    folder.mkdir(exist_ok=True)
    shutil.copyfile(run / "best.pt", folder / f"{name}.pt")
    if name in SHIPPED_DETECTORS:
        card = load_skeleton_net(folder / f"{name}.pt")[1]
    elif name in SHIPPED_ENCODERS:
        card = load_encoder(folder / f"{name}.pt")[1]
    else:
        card = Lifter.from_pretrained(folder / f"{name}.pt").card
    method = entry["config"]["method"]
    template = MODEL_DESCRIPTIONS.get(name, DESCRIPTIONS[method])
    train_poses = len(load_split("train")["joints3d"]) if "{train_poses}" in template else 0
    description = template.format(protocol=card["protocol"], teacher=card.get("teacher", ""),
                                  lifter=card.get("lifter", ""), labelled=card.get("labelled_poses", ""),
                                  fraction=card.get("label_fraction", 0.0), train_poses=train_poses)
    info = {k: v for k, v in card.items() if k not in ("architecture", "experiment", "method")}
    if name in MODEL_READS_3D:
        info["reads_3d"] = MODEL_READS_3D[name]
    path = folder / f"{name}.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    keep = {k: v for k, v in old.items() if k.startswith("cmu_test") and old.get("commit") == entry["commit"]}
    atomic_write_text(path, json.dumps({"name": name, "method": method, "description": description, **info,
                                        "training_seconds": entry["training_seconds"], "config": entry["config"],
                                        "commit": entry["commit"], **keep}, indent=2) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=_args.names, default=",".join(SHIPPED_MODELS),
                    help=f"comma-separated shipped models to train (default: the lifters, {', '.join(SHIPPED_MODELS)}; "
                         f"also: {', '.join([*SHIPPED_DETECTORS, *SHIPPED_ENCODERS])})")
    ap.add_argument("--runs", default="runs/shipped", help="folder for the run folders (one per model)")
    ap.add_argument("--out", default="benchmarks/results/training.json")
    ap.add_argument("--no-ship", action="store_true", help="do not copy the weights into the package")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a config override for every model trained (e.g. params.media_cache=runs/yang/media_2d.json, "
                         "the one yang's rows were trained with by bench_yang.py --train)")
    args = ap.parse_args()
    names = args.models
    unknown = [n for n in names if n not in CONFIGS]
    if unknown:
        ap.error(f"unknown model(s) {', '.join(unknown)}; shipped: {', '.join(CONFIGS)}")
    names = [n for n in names if n in SHIPPED_ENCODERS] + [n for n in names if n not in SHIPPED_ENCODERS]
    for name in names:             # a lifter on a shipped encoder (chen) needs it shipped, or trained first here
        encoder = load_experiment(CONFIGS[name]).as_dict()["method_config"].get("encoder")
        if encoder in SHIPPED_ENCODERS and encoder not in names and not (ENCODERS_DIR / f"{encoder}.pt").is_file():
            ap.error(f"{name} needs the encoder {encoder!r}, which is not shipped yet: --models {encoder},{name}")
    out = ROOT / args.out
    for name in names:
        entry = train_model(name, Path(args.runs), args.set)
        report = json.loads(out.read_text()) if out.exists() else {}   # read late: runs may go side by side
        report.setdefault("models", {})[name] = {**entry, "machine": machine_info()}
        report["commit"] = commit()
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out, json.dumps(report, indent=2) + "\n")
        if not args.no_ship:
            ship(name, Path(args.runs) / name, entry)
        print(f"{name}: {entry['training_seconds']:.0f} s, {entry['steps']} steps, best {entry['criterion']} "
              f"{entry['best_score']:.3f}")


if __name__ == "__main__":
    main()
