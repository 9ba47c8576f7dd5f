"""The floor estimate behind the BVH files and joints3d_world (realtime3d/ground.py), measured.

1. CMU train clips (never the test subjects) seen through known cameras: a camera at a
   seeded height (1.0-2.0 m) and pitch (0-25 degrees down), 5 m from the clip's mean
   position. The mocap's own 3D and the shipped lifter's answer to its projected 2D each
   go through the exporter's steps (constant bones, estimate_ground, place_on_floor);
   scored against the true camera: the up direction's angle error, camera height and
   pitch errors.
2. The street video through the whole app (no ground truth): the share of frames whose
   lower ankle is 5 cm below to 15 cm above the floor, and the trunk's mean lean.

Both report that share and lean too. Writes benchmarks/results/ground.json (machine, commit).

    python benchmarks/bench_ground.py
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _env import commit, machine_info  # noqa: E402

from realtime3d.camera import world_yup_to_camera  # noqa: E402
from realtime3d.io.bvh_retarget import constant_bone_poses  # noqa: E402
from realtime3d.ground import estimate_ground, place_on_floor  # noqa: E402
from realtime3d.io._atomic import atomic_write_text  # noqa: E402
from realtime3d.lifting import Lifter  # noqa: E402
from realtime3d.skeleton import H36M17  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"
SUBJECTS = ("05", "06", "08", "12")        # train subjects outside the val split: dance, sport, walk/run
CLIPS_PER_SUBJECT = 3
FPS = 30.0
MAX_FRAMES = 600
IMAGE, FOCAL = (1280, 720), 1000.0
ANKLES = [H36M17.index["left_ankle"], H36M17.index["right_ankle"]]


def floor_scores(world: np.ndarray) -> dict:
    """Share of frames with the lower ankle at -50..150 mm, and the trunk's mean lean (degrees)."""
    world = world[np.isfinite(world).all(axis=(1, 2))]
    lowest = world[:, ANKLES, 1].min(axis=1)
    trunk = world[:, H36M17.index["thorax"]] - world[:, H36M17.index["pelvis"]]
    lean = np.degrees(np.arccos(np.clip(trunk[:, 1] / np.linalg.norm(trunk, axis=1), -1, 1)))
    return {"ankle_on_floor_share": round(float(((lowest >= -50) & (lowest <= 150)).mean()), 3),
            "trunk_lean_mean_deg": round(float(lean.mean()), 2)}


def camera_rotation(yaw: float, pitch: float) -> np.ndarray:
    """[3, 3] rows: the camera's x (right), y (down), z (forward) axes in the Y-up world."""
    forward = np.array([np.sin(yaw) * np.cos(pitch), -np.sin(pitch), np.cos(yaw) * np.cos(pitch)])
    right = np.cross(forward, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    return np.stack([right, np.cross(forward, right), forward])


def ground_case(joints_cam: np.ndarray, true_up: np.ndarray, height: float, pitch_deg: float, fps: float) -> dict:
    poses, _ = constant_bone_poses(joints_cam)
    ground = estimate_ground(poses)
    world = place_on_floor(ground.to_world(poses), fps)
    return {"up_error_deg": round(float(np.degrees(np.arccos(np.clip(ground.up @ true_up, -1, 1)))), 2),
            "height_error_mm": round(ground.camera_height_mm - height, 1),
            "pitch_error_deg": round(ground.camera_pitch_deg - pitch_deg, 2), **floor_scores(world)}


def cmu_cases(lifter: Lifter, seed: int) -> list[dict]:
    from realtime3d.data.mocap import bvh_to_h36m
    rng = np.random.default_rng(seed)
    rows = []
    for subject in SUBJECTS:
        for path in sorted((SHARED / "cmu" / subject).glob("*.bvh"))[:CLIPS_PER_SUBJECT]:
            cam, fps = bvh_to_h36m(path, fps=FPS)
            world = world_yup_to_camera(cam[:MAX_FRAMES].astype(np.float64))        # mocap Y-up, mm
            height, pitch = rng.uniform(1000, 2000), np.radians(rng.uniform(0, 25))
            yaw = rng.uniform(0, 2 * np.pi)
            rot = camera_rotation(yaw, pitch)
            centre = world[:, 0].mean(0)
            position = np.array([centre[0], height, centre[2]]) - 5000.0 * np.array([np.sin(yaw), 0, np.cos(yaw)])
            joints_cam = (world - position) @ rot.T                                  # [F, 17, 3]
            if (joints_cam[..., 2] < 500).any():
                continue                                                             # walks behind the camera
            pixels = joints_cam[..., :2] / joints_cam[..., 2:] * FOCAL + np.array(IMAGE) / 2
            lifted = lifter.lift(pixels.astype(np.float32), IMAGE, FOCAL)
            true_up, deg = rot @ np.array([0.0, 1.0, 0.0]), float(np.degrees(pitch))
            rows.append({"clip": path.stem, "frames": len(joints_cam), "camera_height_mm": round(height),
                         "camera_pitch_deg": round(deg, 1),
                         "mocap_3d": ground_case(joints_cam, true_up, height, deg, fps),
                         "lifted": ground_case(lifted, true_up, height, deg, fps)})
            print(rows[-1], flush=True)
    return rows


def street_case(model: str) -> dict:
    import tempfile

    from realtime3d.collection import run_one
    from realtime3d.pipeline import VideoOptions
    from realtime3d.runtime import set_up_pipeline_process
    set_up_pipeline_process()                 # as the command does: one torch thread
    video = SHARED / "media" / "street_dance.avi"
    with tempfile.TemporaryDirectory() as out:
        run_one(str(video), out, VideoOptions(model=model, overlay=False, person="largest"), progress=False)
        with np.load(Path(out) / "poses.npz") as data:
            people = data["joints3d_world"]                                  # [N, P, 17, 3] mm
            ground = json.loads(str(data["ground"]))
    frames, column = np.nonzero(np.isfinite(people).all(axis=(2, 3)))      # the main person: one a frame at most
    world = np.full((len(people), H36M17.num_joints, 3), np.nan)
    world[frames] = people[frames, column]                                   # [N, 17, 3] mm
    return {"video": video.name, **floor_scores(world), "ground": ground}


def summary(rows: list[dict], key: str) -> dict:
    pick = lambda name: np.array([r[key][name] for r in rows])  # noqa: E731
    return {"up_error_deg_median": round(float(np.median(pick("up_error_deg"))), 2),
            "up_error_deg_max": round(float(pick("up_error_deg").max()), 2),
            "height_error_mm_median_abs": round(float(np.median(np.abs(pick("height_error_mm")))), 1),
            "pitch_error_deg_median_abs": round(float(np.median(np.abs(pick("pitch_error_deg")))), 2),
            "ankle_on_floor_share_mean": round(float(pick("ankle_on_floor_share").mean()), 3),
            "trunk_lean_mean_deg": round(float(pick("trunk_lean_mean_deg").mean()), 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="drover")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "ground.json"))
    args = ap.parse_args()
    rows = cmu_cases(Lifter.from_pretrained(args.model), args.seed)
    street = street_case(args.model)
    print(street)
    result = {"machine": machine_info(), "commit": commit(), "model": args.model, "seed": args.seed,
              "cmu_train": {"subjects": list(SUBJECTS), "clips": rows,
                            "summary": {"mocap_3d": summary(rows, "mocap_3d"), "lifted": summary(rows, "lifted")}},
              "street_video": street}
    atomic_write_text(args.out, json.dumps(result, indent=1) + "\n")
    print(json.dumps(result["cmu_train"]["summary"], indent=1))


if __name__ == "__main__":
    main()
