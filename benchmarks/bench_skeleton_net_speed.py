"""How fast the image path runs on this CPU for one person: the detector (the person detector's
boxes, then its own), Phi -> Omega at 128 x 128 and the lifter, batch 1, beside MediaPipe (+ the
same lifter) on the same frames, in one run.

Frames: the first `--frames` frames of the street video (1280 x 720), converted to RGB before
the clock starts (as the app's decode thread does). Lambda is the default model's lifter (what
`--detector skeleton-net` lifts with: a fusion model's lifter alone, as the net gives no world
landmarks), single pass. Per frame, one thread:
- core: Phi -> Omega -> Lambda on the frame's 128 x 128 person crop (the net and the lifter only;
  the crop and its mirror image in one batch where the net's card sets flip_average, as the app
  reads it);
- skeleton detector: SkeletonNetDetector(max_people=1).detect_rgb as the live app runs it (the
  person detector on the first frame, then the crop that follows the person; the crop cut,
  Phi -> Omega, kappa and the agreement) + Lambda's lift;
- the same with refine_passes=2 (_args.REFINED_PASSES: each crop read again twice in the crop of
  its own answer, bench_skeleton_net_refine.py);
- mediapipe: PoseDetector.detect_rgb (tracking mode, model_complexity 1) + the same lift.
fps = 1000 / the median ms of a frame (after 5 warm-up frames). Writes
benchmarks/results/skeleton_net_speed.json (machine, commit).

    python benchmarks/bench_skeleton_net_speed.py [--frames 150] [--weights PATH]
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
import _args  # noqa: E402
from _env import commit, machine_info, write_json  # noqa: E402
from _video import frames_rgb  # noqa: E402

from realtime3d.crops import cut  # noqa: E402
from realtime3d.detect import PoseDetector, SkeletonNetDetector, load_skeleton_net  # noqa: E402
from realtime3d.detect.skeleton_net import phi_omega  # noqa: E402
from realtime3d.native_logs import quiet_native_logs  # noqa: E402
from realtime3d.lifting import Lifter  # noqa: E402
from realtime3d.models.image import CROP_SIZE  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO = ROOT.parent / "shared" / "data" / "media" / "street_dance.avi"
RESULTS = ROOT / "benchmarks" / "results" / "skeleton_net_speed.json"
WARMUP = 5


def per_frame_ms(fn, frames: list[np.ndarray]) -> list[float]:
    times = []
    for i, frame in enumerate(frames):
        start = time.perf_counter()
        fn(frame)
        if i >= WARMUP:
            times.append((time.perf_counter() - start) * 1000)
    return times


def summary(times: list[float]) -> dict:
    median = float(np.median(times))
    return {"median_ms": round(median, 2), "p90_ms": round(float(np.percentile(times, 90)), 2),
            "fps": round(1000 / median, 1), "frames": len(times)}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--video", default=str(DEFAULT_VIDEO), help="the video whose frames are timed")
    ap.add_argument("--frames", type=int, default=150, help="frames timed (after 5 warm-up frames)")
    ap.add_argument("--weights", default="skeleton-net", help="the skeleton net: a shipped name or a .pt")
    ap.add_argument("--out", default=str(RESULTS), help="results file")
    args = ap.parse_args(argv)
    quiet_native_logs()
    torch.set_num_threads(1)
    frames = frames_rgb(args.video, args.frames + WARMUP)
    size = (frames[0].shape[1], frames[0].shape[0])
    net, card = load_skeleton_net(args.weights)
    flip = bool(card.get("flip_average", False))
    lifter = Lifter.from_pretrained(None)
    lifter.flip_average = False

    box = (size[0] / 2, size[1] / 2, float(min(size)))
    crops = {id(f): torch.from_numpy(cut(f, box, CROP_SIZE)).permute(2, 0, 1)[None].float() / 255 for f in frames}

    @torch.inference_mode()
    def core(frame):
        _, joints = phi_omega(net, crops[id(frame)], flip)
        lifter.lift(joints[0].numpy(), (CROP_SIZE, CROP_SIZE))

    detector = SkeletonNetDetector(args.weights, max_people=1)

    refining = SkeletonNetDetector(args.weights, max_people=1, refine_passes=_args.REFINED_PASSES)

    def skeleton(frame, det=detector):
        found = det.detect_rgb(frame)
        if found is not None:
            lifter.lift(found.joints2d_px, size)

    with PoseDetector() as mediapipe:
        def mp(frame):
            found = mediapipe.detect_rgb(frame)
            if found is not None:
                lifter.lift(found.joints2d_px, size, visibility=found.visibility)
        rows = {"core: Phi -> Omega -> Lambda at 128x128": summary(per_frame_ms(core, frames)),
                "skeleton detector + Lambda": summary(per_frame_ms(skeleton, frames)),
                f"skeleton detector, refine_passes={_args.REFINED_PASSES}, + Lambda":
                    summary(per_frame_ms(lambda f: skeleton(f, refining), frames)),
                "mediapipe + Lambda": summary(per_frame_ms(mp, frames))}
    detector.close()
    refining.close()
    base = rows["mediapipe + Lambda"]["median_ms"]
    result = {"what": "per-frame time, batch 1, one torch thread; fps = 1000 / median ms",
              "video": Path(args.video).name, "frame_size": size, "weights": args.weights, "flip_average": flip,
              "lifter": lifter.name,
              "rows": rows,
              "ratio_to_mediapipe": {k: round(base / v["median_ms"], 2) for k, v in rows.items()},
              "machine": machine_info(), "commit": commit()}
    write_json(args.out, result)
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
