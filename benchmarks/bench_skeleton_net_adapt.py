"""What label-free adaptation adds, measured where the truth is held: the skeleton net before and
after adapting, without labels, to rendered videos of the val subjects in new scenes, scored
against those videos' exact 2D, in one run.

1. Adaptation (skipped with --adapted PATH): `realtime3d train skeleton-net_adapt-footage_w16-l4_15min
   --set params.footage=DIR` from the shipped net, where DIR holds the videos of
   render.benchmark_clips.VALIDATION_CLIPS (subjects 02 and 07, rendered with their own seeds:
   `python benchmarks/bench_video3d.py --split val` renders them into runs/val3d/clips). The
   adaptation reads their frames only (person crops from MediaPipe's 2D, framed by the crop
   rule); their truth files are read here, to score, and nowhere else.
2. Scoring: every frame of each clip through SkeletonNetDetector as `realtime3d video --detector
   skeleton-net` runs it, but single-pass for both nets (no flip average: the two differ by the
   adaptation alone); each true person in the frame (its exact 2D, truth.npz) is matched to
   the nearest detection (mean joint distance); 2D PCK at metrics.PCK_TORSO x the true torso
   height, a person the net misses scoring 0. MediaPipe (MultiPoseDetector, tracking mode) is
   scored alike in the same run.

Writes benchmarks/results/skeleton_net_adapt.json (machine, commit).

    python benchmarks/bench_skeleton_net_adapt.py [--clips runs/val3d/clips] [--adapted PATH]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _env import commit, machine_info, write_json  # noqa: E402
from _video import adapt_skeleton_net, frames_rgb  # noqa: E402

from realtime3d.detect import SkeletonNetDetector  # noqa: E402
from realtime3d.detect.blazepose import MultiPoseDetector  # noqa: E402
from realtime3d.io.video_truth import read_truth  # noqa: E402
from realtime3d.metrics import PCK_TORSO, pck_torso  # noqa: E402
from realtime3d.native_logs import quiet_native_logs  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "skeleton_net_adapt.json"


def clip_pck(detector, frames: list[np.ndarray], truth2d: np.ndarray) -> list[float]:
    """Per true person and frame, the PCK of the nearest detection (0 when none) [M]."""
    scores = []
    for frame, people in zip(frames, truth2d):
        found = detector.detect_all_rgb(frame)
        for person in people:
            if not np.isfinite(person).all():
                continue
            if not found:
                scores.append(0.0)
                continue
            best = min(found, key=lambda d: np.linalg.norm(d.joints2d_px - person, axis=-1).mean())
            scores.append(float(pck_torso(best.joints2d_px[None], person[None])[0]))
    return scores


def score(make, clips: list[Path]) -> dict:
    per_clip, every = {}, []
    for clip in clips:
        truth = read_truth(clip / "truth.npz")
        frames = frames_rgb(str(clip / "video.mp4"))[:truth.num_frames]
        with make() as detector:
            s = clip_pck(detector, frames, truth.project()[:len(frames)])
        per_clip[clip.name] = round(float(np.mean(s)), 4)
        every += s
    return {"pck_2d": round(float(np.mean(every)), 4), "people_frames": len(every), "per_clip": per_clip}


def val_clips(folder: str) -> list[Path]:
    """The rendered clips (folders with truth.npz) of folder, sorted; exits with one line when none."""
    folder = Path(folder)
    clips = sorted(p for p in folder.iterdir() if (p / "truth.npz").exists()) if folder.is_dir() else []
    if not clips:
        sys.exit(f"{Path(sys.argv[0]).name}: no rendered clips in {folder} (bench_video3d.py --split val)")
    return clips


def adapt(clips: list[Path], run_dir: Path) -> Path:
    with tempfile.TemporaryDirectory() as folder:
        for clip in clips:            # one folder of the clips' videos
            (Path(folder) / f"{clip.name}.mp4").symlink_to((clip / "video.mp4").resolve())
        return adapt_skeleton_net(folder, run_dir)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clips", default=str(ROOT / "runs" / "val3d" / "clips"), help="the rendered val clips' folder")
    ap.add_argument("--before", default="skeleton-net", help="the net before adaptation (a shipped name or a .pt)")
    ap.add_argument("--adapted", default=None, help="an adapted net (.pt); default: adapt now into runs/adapt/val-clips")
    ap.add_argument("--out", default=str(RESULTS), help="results file")
    args = ap.parse_args(argv)
    quiet_native_logs()
    torch.set_num_threads(1)
    clips = val_clips(args.clips)
    adapted = Path(args.adapted) if args.adapted else adapt(clips, ROOT / "runs" / "adapt" / "val-clips")
    # both single-pass (no flip average), so that the two differ by the adaptation alone
    rows = {"before": score(lambda: SkeletonNetDetector(args.before, flip_average=False), clips),
            "after": score(lambda: SkeletonNetDetector(str(adapted), flip_average=False), clips),
            "mediapipe": score(lambda: MultiPoseDetector(), clips)}
    result = {"what": f"2D PCK@{PCK_TORSO} x torso of every true person in the rendered val clips, before and after "
                      "adapting the skeleton net to those clips without labels",
              "clips": [c.name for c in clips], "before": args.before, "after": str(adapted), "rows": rows,
              "machine": machine_info(), "commit": commit()}
    write_json(args.out, result)
    print(json.dumps({k: {"pck_2d": v["pck_2d"]} for k, v in rows.items()}, indent=1))


if __name__ == "__main__":
    main()
