"""How faithfully CMU mocap poses the Anny body: the angle between each of the 16 bones of the
mocap's 17-joint skeleton and of the posed body's (realtime3d.render.retarget), mean and worst.

Every BVH file of ../shared/data/cmu (all four dialects), at 30 fps, each on a body of a random
phenotype (seed per file). Rows per dialect and per bone; the worst frame of each file too.
Writes benchmarks/results/retarget.json (machine, commit).

    python benchmarks/bench_retarget.py [--max-frames 600]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _env import commit, machine_info, write_json  # noqa: E402

from realtime3d.data.mocap import cmu_files, default_cmu_root, detect_dialect  # noqa: E402
from realtime3d.io.bvh import read_bvh  # noqa: E402
from realtime3d.render.actors import load_motion  # noqa: E402
from realtime3d.render.body import body_shape, pose_body, sample_phenotype  # noqa: E402
from realtime3d.render.retarget import bone_angles, retarget  # noqa: E402
from realtime3d.skeleton import H36M17  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cmu", default=None, help="the CMU BVH folder (default: ../shared/data/cmu)")
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--max-frames", type=int, default=600, help="frames per file at most (from its start)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "retarget.json"))
    args = ap.parse_args()
    root = Path(args.cmu) if args.cmu else default_cmu_root()
    files = cmu_files(root)
    names = [f"{H36M17.joint_names[p]}->{H36M17.joint_names[c]}" for p, c in H36M17.bones]
    per_dialect: dict[str, list[np.ndarray]] = {}
    rows, seconds, frames = [], 0.0, 0
    for i, path in enumerate(tqdm(files, desc="retargeting", unit="file")):
        dialect = detect_dialect(read_bvh(path).joint_names).name
        joints = load_motion(path, args.fps)[:args.max_frames]
        shape = body_shape(sample_phenotype(np.random.default_rng(i)))
        start = time.perf_counter()
        rotations, root_path = retarget(shape, joints)
        posed = pose_body(shape, rotations, root_path)
        seconds += time.perf_counter() - start
        frames += len(joints)
        angles = bone_angles(joints, posed.joints)            # [F, 16] deg
        per_dialect.setdefault(dialect, []).append(angles)
        rows.append({"file": path.relative_to(root).as_posix(), "dialect": dialect, "frames": len(joints),
                     "mean_deg": round(float(angles.mean()), 2), "worst_deg": round(float(angles.max()), 2)})
    summary = {}
    for dialect, chunks in sorted(per_dialect.items()):
        a = np.concatenate(chunks)
        summary[dialect] = {"files": len(chunks), "frames": len(a), "mean_deg": round(float(a.mean()), 2),
                            "p99_deg": round(float(np.percentile(a, 99)), 2), "worst_deg": round(float(a.max()), 2),
                            "per_bone_mean_deg": dict(zip(names, np.round(a.mean(0), 2).tolist())),
                            "per_bone_worst_deg": dict(zip(names, np.round(a.max(0), 2).tolist()))}
        print(f"{dialect:14s} {len(chunks):3d} files {len(a):6d} frames: mean {a.mean():5.2f} deg, "
              f"p99 {np.percentile(a, 99):5.2f}, worst {a.max():5.2f}")
    everything = np.concatenate([c for chunks in per_dialect.values() for c in chunks])
    result = {"benchmark": "bench_retarget", "machine": machine_info(), "commit": commit(), "fps": args.fps,
              "max_frames_per_file": args.max_frames, "bones": names,
              "all": {"files": len(rows), "frames": len(everything), "mean_deg": round(float(everything.mean()), 2),
                      "p99_deg": round(float(np.percentile(everything, 99)), 2),
                      "worst_deg": round(float(everything.max()), 2),
                      "per_bone_mean_deg": dict(zip(names, np.round(everything.mean(0), 2).tolist()))},
              "ms_per_frame_retarget_and_pose": round(1e3 * seconds / frames, 2),
              "dialects": summary, "files": rows}
    write_json(args.out, result)
    print(f"all: mean {everything.mean():.2f} deg, worst {everything.max():.2f} deg; wrote {args.out}")


if __name__ == "__main__":
    main()
