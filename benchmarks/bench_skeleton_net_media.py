"""The image path on real footage: how often each skeleton net's 2D agrees with MediaPipe's on the
street video's dancer, with and without adapting a net to that video (no label), in one run.

1. Test-time adaptation (skipped with --adapted PATH or --no-adapt): `realtime3d train
   skeleton-net_adapt-footage_w16-l4_15min --set params.footage=VIDEO` from the shipped net (15
   minutes, one thread), into runs/adapt/NAME. Person crops come from MediaPipe's 2D framed by
   the crop rule; nothing else of MediaPipe is read by the adaptation.
2. Agreement: every frame through MediaPipe (tracking mode), the reference (the dancer), and
   through SkeletonNetDetector as `realtime3d video --detector skeleton-net` runs it (the
   person detector's boxes, then crops that follow each person), for each net. Of the people a
   net finds in a frame, the dancer is the one nearest MediaPipe's (mean joint distance): the
   reference picks who, never where. Each net reads its crops single-pass and, where its card
   sets flip_average (as the app runs it), also flip-averaged ("LABEL, flip-averaged"). A joint
   agrees when it lies within metrics.PCK_TORSO = 0.2 x the torso height (MediaPipe's
   pelvis-thorax distance in that frame) of MediaPipe's joint; a frame's score is its share of
   agreeing joints (0 where the net finds nobody); the figure is the mean over the frames where
   MediaPipe finds the dancer. The first net is also read in MediaPipe's own crop box of each
   frame (the crop rule about its 2D, as the constant pose below is placed; "LABEL, in
   MediaPipe's box"): what the app's framing costs; and with SkeletonNetDetector(refine_passes=2)
   ("LABEL, refined twice", _args.REFINED_PASSES: each crop read again twice in the crop of its
   own answer, the setting the rendered val clips chose, bench_skeleton_net_refine.py). Each row
   also gives the agreement per joint.
3. Constant pose: one pose, the mean 2D of the training crops (--train-crops), placed in each
   frame by MediaPipe's own crop box (the crop rule about its 2D): a net that ignores the image,
   given the reference's box.

Writes benchmarks/results/skeleton_net_media.json (machine, commit). The video is test input
only: nothing derived from it is committed (the adapted weights stay in runs/).

    python benchmarks/bench_skeleton_net_media.py [--net "paper recipe=runs/x/best.pt"] [--adapted PATH]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _args  # noqa: E402
from _env import commit, machine_info, write_json  # noqa: E402
from _video import adapt_skeleton_net, frames_rgb  # noqa: E402
from bench_skeleton_net import net_2d  # noqa: E402

from realtime3d.crops import cut, from_crop, square_box  # noqa: E402
from realtime3d.detect import PoseDetector, SkeletonNetDetector, load_skeleton_net  # noqa: E402
from realtime3d.metrics import PCK_TORSO, pck_torso  # noqa: E402
from realtime3d.models.image import CROP_SIZE  # noqa: E402
from realtime3d.native_logs import quiet_native_logs  # noqa: E402
from realtime3d.render.crop_shards import read_shards  # noqa: E402
from realtime3d.skeleton import H36M17  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO = ROOT.parent / "shared" / "data" / "media" / "street_dance.avi"
RESULTS = ROOT / "benchmarks" / "results" / "skeleton_net_media.json"


def reference(frames: list[np.ndarray]) -> np.ndarray:
    """MediaPipe's dancer [N, 17, 2] frame px, NaN where it finds nobody."""
    out = np.full((len(frames), H36M17.num_joints, 2), np.nan, np.float32)
    with PoseDetector() as detector:
        for i, frame in enumerate(frames):
            found = detector.detect_rgb(frame)
            if found is not None:
                out[i] = found.joints2d_px
    return out


def dancer(detector, frames: list[np.ndarray], ref: np.ndarray) -> np.ndarray:
    """[N, 17, 2] frame px of the person nearest MediaPipe's in each frame, NaN where none is found."""
    out = np.full((len(frames), H36M17.num_joints, 2), np.nan, np.float32)
    for i, frame in enumerate(frames):
        found = detector.detect_all_rgb(frame)
        if found and np.isfinite(ref[i]).all():
            out[i] = min(found, key=lambda d: np.linalg.norm(d.joints2d_px - ref[i], axis=-1).mean()).joints2d_px
        elif found:
            out[i] = found[0].joints2d_px
    return out


def agreement(pred: np.ndarray, ref: np.ndarray) -> dict:
    found = np.isfinite(ref).all((1, 2))
    agree = pck_torso(pred[found], ref[found])                                             # [found]
    torso = np.linalg.norm(ref[found][:, H36M17.index["thorax"]] - ref[found][:, 0], axis=-1)
    close = np.linalg.norm(np.nan_to_num(pred[found], nan=1e9) - ref[found], axis=-1) < PCK_TORSO * torso[:, None]
    return {"frames": int(found.sum()), "agreement": round(float(agree.mean()), 4),
            "net_found": int(np.isfinite(pred).all((1, 2))[found].sum()),
            "per_joint": {name: round(float(v), 3) for name, v in zip(H36M17.joint_names, close.mean(0))}}


def in_reference_boxes(weights: str, frames: list[np.ndarray], ref: np.ndarray, flip_average: bool) -> np.ndarray:
    """A net's 2D [N, 17, 2] frame px read in MediaPipe's own crop box of each frame (the crop rule
    about its 2D) instead of the app's crops: how much the framing costs."""
    net, _ = load_skeleton_net(weights)
    out = np.full(ref.shape, np.nan, np.float32)
    found = np.flatnonzero(np.isfinite(ref).all((1, 2)))
    boxes = square_box(torch.from_numpy(ref[found]).double())                                   # [F, 3]
    crops = np.stack([cut(frames[i], box.numpy(), CROP_SIZE) for i, box in zip(found, boxes)])
    joints = net_2d(net, torch.from_numpy(crops).permute(0, 3, 1, 2).float() / 255.0, flip_average)  # [F, 17, 2]
    out[found] = from_crop(torch.from_numpy(joints).double(), boxes, CROP_SIZE).numpy()
    return out


def constant_pose(train_crops: str, ref: np.ndarray) -> np.ndarray:
    """The training crops' mean 2D placed in MediaPipe's crop box of each frame [N, 17, 2]."""
    train = read_shards(train_crops, ("joints2d", "person"))
    mean = torch.from_numpy(np.nanmean(train["joints2d"][train["person"]], axis=0)).double()    # [17, 2] crop px
    out = np.full(ref.shape, np.nan, np.float32)
    found = np.isfinite(ref).all((1, 2))
    boxes = square_box(torch.from_numpy(ref[found]).double())                                   # [F, 3]
    out[found] = from_crop(mean.expand(len(boxes), -1, -1), boxes, CROP_SIZE).numpy()
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--video", default=str(DEFAULT_VIDEO), help="the footage (a video)")
    ap.add_argument("--net", type=_args.labelled_weights, action="append", default=None,
                    help="a row: LABEL=NAME|PATH (repeat; default: "
                         f"{', '.join(repr(f'{k}={v}') for k, v in _args.IMAGE_PATH_NETS)})")
    ap.add_argument("--adapted", default=None,
                    help="the net adapted on the video (.pt); default: adapt the shipped net now into runs/adapt/VIDEO")
    ap.add_argument("--no-adapt", action="store_true", help="no test-time adaptation row")
    ap.add_argument("--train-crops", default=str(ROOT / "runs" / "crops" / "train"),
                    help="the training crops' folder (the constant pose's mean)")
    ap.add_argument("--out", default=str(RESULTS), help="results file")
    args = ap.parse_args(argv)
    quiet_native_logs()
    torch.set_num_threads(1)
    nets = list(args.net or _args.IMAGE_PATH_NETS)
    if not args.no_adapt:
        adapted = Path(args.adapted) if args.adapted else adapt_skeleton_net(args.video, ROOT / "runs" / "adapt" / Path(args.video).stem)
        nets.append((f"adapted to {Path(args.video).stem}", str(adapted)))
    frames = frames_rgb(args.video)
    ref = reference(frames)
    rows = {}
    for label, weights in nets:
        with SkeletonNetDetector(weights, flip_average=False) as detector:
            rows[label] = {"weights": weights, **agreement(dancer(detector, frames, ref), ref)}
            flips = detector.card.get("flip_average", False)
        if flips:                   # as the app runs it
            with SkeletonNetDetector(weights, flip_average=True) as detector:
                rows[f"{label}, flip-averaged"] = {"weights": weights, **agreement(dancer(detector, frames, ref), ref)}
        if label == nets[0][0]:     # the first net, read in the reference's own box: the framing's cost
            rows[f"{label}, in MediaPipe's box"] = {
                "weights": weights, **agreement(in_reference_boxes(weights, frames, ref, flips), ref)}
            with SkeletonNetDetector(weights, flip_average=flips, refine_passes=_args.REFINED_PASSES) as detector:
                rows[f"{label}, refined twice"] = {"weights": weights, **agreement(dancer(detector, frames, ref), ref)}
    rows["constant pose"] = agreement(constant_pose(args.train_crops, ref), ref)
    result = {"what": f"share of the dancer's joints within {PCK_TORSO} x torso height of MediaPipe's",
              "video": Path(args.video).name, "rows": rows, "machine": machine_info(), "commit": commit()}
    write_json(args.out, result)
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
