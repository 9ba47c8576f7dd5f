"""The live model: `drover` distilled into a quarter of the weights, against `drover` itself.

1. trains the live model's shipped config (trainers.config.SHIPPED_MODELS) in
   runs/shipped/NAME, as benchmarks/bench_training.py does (a run folder with a checkpoint
   is resumed, a finished one only re-validated);
2. scores both models on cmu-test (seeded random cameras, seed 0), all joints and with
   K hidden joints per frame;
3. times lifting one pose per call (what the live loop does), both models in this run:
   CPU time of this thread, one torch thread, over 2000 cmu-test poses;
4. writes benchmarks/results/live_model.json (machine, commit) and ships the weights as
   realtime3d/weights/drover-live.pt with its card.

    python benchmarks/bench_live_model.py             # about 20 minutes on one thread
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _env import commit, machine_info  # noqa: E402
from bench_training import ship, train_model  # noqa: E402

from realtime3d.evaluate import evaluate, load_dataset, with_random_cameras  # noqa: E402
from realtime3d.io._atomic import atomic_write_text  # noqa: E402
from realtime3d.lifting import DEFAULT_MODEL, LIVE_MODEL, Lifter  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DROP_JOINTS = (0, 1, 3)
TIMED_POSES = 2000


def per_pose_ms(lifter: Lifter, joints2d: np.ndarray, image_size: tuple[int, int], focal: float) -> dict:
    """CPU ms of lifter.lift on one pose [17, 2] per call: mean and p95 over the poses."""
    torch.set_num_threads(1)
    for pose in joints2d[:20]:                                        # warm up
        lifter.lift(pose, image_size, focal)
    times = []
    for pose in joints2d:
        start = time.thread_time()
        lifter.lift(pose, image_size, focal)
        times.append(1e3 * (time.thread_time() - start))
    return {"cpu_mean": float(np.mean(times)), "cpu_p95": float(np.percentile(times, 95)), "poses": len(times)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", default="runs/shipped", help="folder of the run folders (this one: runs/NAME)")
    ap.add_argument("--out", default="benchmarks/results/live_model.json")
    ap.add_argument("--no-ship", action="store_true", help="do not copy the weights into the package")
    args = ap.parse_args()
    entry = train_model(LIVE_MODEL, Path(args.runs))
    run = Path(args.runs) / LIVE_MODEL

    teacher, student = Lifter.from_pretrained(DEFAULT_MODEL), Lifter.from_pretrained(run / "best.pt")
    _, seq = load_dataset("cmu-test")
    scores = {k: evaluate(seq, {"teacher": teacher, "student": student}, drop_joints=k, seed=0) for k in DROP_JOINTS}
    seq = with_random_cameras(seq, 0)
    poses = seq.joints2d[np.linspace(0, seq.num_frames - 1, TIMED_POSES).astype(int)]
    timing = {LIVE_MODEL: per_pose_ms(student, poses, seq.image_size, seq.focal),
              DEFAULT_MODEL: per_pose_ms(teacher, poses, seq.image_size, seq.focal)}
    report = {
        "benchmark": "bench_live_model", "machine": machine_info(), "commit": commit(),
        "training_seconds": entry["training_seconds"], "config": entry["config"],
        "architecture": {LIVE_MODEL: student.card["architecture"], DEFAULT_MODEL: teacher.card["architecture"]},
        "cmu_test_p_mpjpe_mm": {f"hidden_joints_{k}": {LIVE_MODEL: r["student"]["p_mpjpe_mm"],
                                                       DEFAULT_MODEL: r["teacher"]["p_mpjpe_mm"]}
                                for k, r in scores.items()},
        "frames": scores[0]["frames"],
        "lift_one_pose_ms": timing,
        "speedup": timing[DEFAULT_MODEL]["cpu_mean"] / timing[LIVE_MODEL]["cpu_mean"],
    }
    out = ROOT / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps(report, indent=2) + "\n")
    for k, r in report["cmu_test_p_mpjpe_mm"].items():
        print(f"cmu-test P-MPJPE, {k}: {LIVE_MODEL} {r[LIVE_MODEL]:.1f} mm, {DEFAULT_MODEL} {r[DEFAULT_MODEL]:.1f} mm")
    print(f"one pose per call: {LIVE_MODEL} {timing[LIVE_MODEL]['cpu_mean']:.3f} ms, {DEFAULT_MODEL} "
          f"{timing[DEFAULT_MODEL]['cpu_mean']:.3f} ms CPU ({report['speedup']:.1f}x)")
    if not args.no_ship:
        ship(LIVE_MODEL, run, entry)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
