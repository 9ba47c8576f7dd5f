"""Are the rendered people real enough for MediaPipe? Its recall and 2D error on rendered frames.

Frames of 1280x720 with one to four people (realtime3d.render: Anny bodies posed by the CMU val
subjects' mocap, random clothes, scenes, cameras and occluders), seeded. On each frame the app's
detector (MultiPoseDetector, static image mode, BlazePose as the app runs it) looks for people.
A rendered person counts when they are at least --min-height px tall (their whole silhouette)
and at least --min-visible of their silhouette is visible. A counted person is found when a
detection's 12 limb joints lie within 0.5 torso heights of theirs on average (Hungarian
matching; the torso height is the 2D distance between the shoulders' and the hips' midpoints).

The bar of realism: found >= 90% of counted people, and the
median over found people of their limb joints' median error <= 0.1 torso height.
Beside it, per joint (all 17, by the joint rules), where the detector puts it against the body's
own skeleton: the median offset along the person's hip axis and trunk axis, in torso heights
(joint_offsets_torso), over the found people's visible joints.
Writes benchmarks/results/render_realism.json (machine, commit).

    python benchmarks/bench_render_realism.py [--frames 200] [--seed 0]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _env import commit, machine_info, write_json  # noqa: E402

from realtime3d.data.mocap import VAL_SUBJECTS, cmu_files, default_cmu_root, subject_of  # noqa: E402
from realtime3d.detect.blazepose import MultiPoseDetector  # noqa: E402
from realtime3d.render.actors import load_motion  # noqa: E402
from realtime3d.render.clips import draw  # noqa: E402
from realtime3d.render.raster import Rasterizer  # noqa: E402
from realtime3d.render.staging import stage_clip  # noqa: E402
from realtime3d.skeleton import H36M17  # noqa: E402
from realtime3d.video_scoring import torso_height_px  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LIMBS = np.array([H36M17.index[f"{s}_{j}"] for j in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")
                  for s in ("left", "right")])
FOUND = 0.5


def person_offsets(detected: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """[17, 2] the detection's offset from the truth per joint, in the person's own image frame and
    torso heights: (along the person's right-to-left hip axis, along their pelvis-to-thorax axis).
    A positive first value: towards the person's left; a positive second value: towards their head."""
    j = H36M17.index
    up = truth[j["thorax"]] - truth[j["pelvis"]]
    scale = max(float(np.linalg.norm(up)), 1e-6)
    up = up / scale
    left = truth[j["left_hip"]] - truth[j["right_hip"]]
    left = left - (left @ up) * up
    n = np.linalg.norm(left)
    left = left / n if n > 1e-6 else np.array([up[1], -up[0]])
    offset = (detected - truth) / scale
    return np.stack([offset @ left, offset @ up], axis=-1)


def joint_bias(found: list[tuple[np.ndarray, np.ndarray]]) -> dict:
    """Per joint, over found people's (offsets [17, 2] from person_offsets, visible [17]) and their
    visible joints: the median offset and the median distance, in torso heights."""
    out = {}
    for k, name in enumerate(H36M17.joint_names):
        rows = np.array([o[k] for o, visible in found if visible[k]])
        if len(rows) == 0:
            continue
        out[name] = {"joints": len(rows), "median_towards_left": round(float(np.median(rows[:, 0])), 4),
                     "median_towards_head": round(float(np.median(rows[:, 1])), 4),
                     "median_distance": round(float(np.median(np.linalg.norm(rows, axis=1))), 4)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--min-height", type=float, default=150.0, help="px, a person's silhouette height to count")
    ap.add_argument("--min-visible", type=float, default=0.8, help="share of the silhouette visible to count")
    ap.add_argument("--cmu", default=None, help="the CMU BVH folder (default: ../shared/data/cmu)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "render_realism.json"))
    args = ap.parse_args()
    root = Path(args.cmu) if args.cmu else default_cmu_root()
    files = [f for f in cmu_files(root) if subject_of(f) in VAL_SUBJECTS]
    poses = np.concatenate([load_motion(f, 10.0) for f in files])
    rng = np.random.default_rng(args.seed)
    rasterizer = Rasterizer()
    people, offsets, render_s, detect_s = [], [], 0.0, 0.0
    with MultiPoseDetector(static_image_mode=True) as detector:
        for _ in tqdm(range(args.frames), desc="frames", unit="frame"):
            count = int(rng.choice(4, p=[0.4, 0.3, 0.2, 0.1])) + 1
            motions = [poses[int(rng.integers(len(poses)))][None] for _ in range(count)]
            stage = stage_clip(motions, rng)
            start = time.perf_counter()
            frame, labels = draw(rasterizer, stage, 0)
            render_s += time.perf_counter() - start
            start = time.perf_counter()
            found = detector.detect_all(cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2BGR))
            detect_s += time.perf_counter() - start
            detected = np.stack([d.joints2d_px for d in found]) if found else np.zeros((0, 17, 2))
            scale = np.maximum(torso_height_px(labels.joints2d), 1e-6)                                  # [P]
            error = (np.linalg.norm(detected[:, None, LIMBS] - labels.joints2d[None, :, LIMBS], axis=-1)
                     / scale[None, :, None])                                                   # [D, P, 12]
            cost = error.mean(-1)
            pairs = {}
            if len(detected):
                rows, cols = linear_sum_assignment(np.where(cost <= FOUND, cost, 1e6))
                pairs = {int(p): int(d) for d, p in zip(rows, cols) if cost[d, p] <= FOUND}
            for p in range(len(stage.actors)):
                box = labels.amodal_boxes[p]
                height = float(box[3] - box[1]) if np.isfinite(box).all() else 0.0
                row = {"height_px": round(height, 1), "visible_fraction": round(float(labels.visible_fraction[p]), 3),
                       "found": p in pairs,
                       "median_limb_error": (round(float(np.median(error[pairs[p], p])), 4) if p in pairs else None)}
                people.append(row)
                if p in pairs:     # kept beside the row, for joint_bias
                    offsets.append((row, person_offsets(detected[pairs[p]], labels.joints2d[p]), labels.visible[p]))
    counted = [p for p in people if p["height_px"] >= args.min_height and p["visible_fraction"] >= args.min_visible]
    found = [p for p in counted if p["found"]]
    recall = len(found) / max(len(counted), 1)
    median_error = float(np.median([p["median_limb_error"] for p in found])) if found else None
    result = {"benchmark": "bench_render_realism", "machine": machine_info(), "commit": commit(),
              "frames": args.frames, "seed": args.seed, "poses": f"CMU val subjects {', '.join(VAL_SUBJECTS)}",
              "min_height_px": args.min_height, "min_visible": args.min_visible, "found_if_mean_limb_error_le": FOUND,
              "people": len(people), "counted": len(counted), "found": len(found), "recall": round(recall, 4),
              "median_limb_error_torso": None if median_error is None else round(median_error, 4),
              "bar": {"recall_ge": 0.9, "median_limb_error_le": 0.1},
              "passes": bool(recall >= 0.9 and median_error is not None and median_error <= 0.1),
              "render_s_per_frame": round(render_s / args.frames, 3),
              "detect_s_per_frame": round(detect_s / args.frames, 3),
              "threads": os.environ.get("LP_NUM_THREADS", "Mesa default"),
              "joint_offsets_torso": joint_bias([(o, v) for row, o, v in offsets if row in counted]),
              "rows": people}
    write_json(args.out, result)
    print(f"counted {len(counted)} of {len(people)} people; MediaPipe found {len(found)} ({100 * recall:.1f}%), "
          f"median limb error {median_error} torso; wrote {args.out}")


if __name__ == "__main__":
    main()
