"""Does the skeleton net's confidence tell a person from no person? ROC AUC of person crops against
background crops, on synthetic test renders and on the street video, and the documented threshold's
rates, in one run.

The confidence is the detector's (realtime3d.detect.skeleton_net.read_crops: the agreement of Phi's
skeleton image and kappa of Omega's 2D, mean over bones, 0..1), read as the app reads it: flip-
averaged when the net's card sets flip_average.

Crops:
- renders: the test crops of `--crops` (runs/crops/test: CMU test subjects, held-out appearances
  and scenes), its person crops against its background crops (windows moved off every person);
- street video: every `--step`-th frame; person crops framed by the crop rule about each person
  MediaPipe's multi-person detector finds (MultiPoseDetector, static images), against crops of
  the same frames and sizes moved to where they overlap no person found: neither a person
  MediaPipe poses (their boxes grown by half) nor one that BlazePose's person detector alone
  finds at score SEARCH_SCORE or more, over the whole frame and SEARCH_TILES tiles (the square
  of each one's landmark ROI). The street has many small walkers that MediaPipe does not pose;
  without the second search, 12 of 38 "background" crops held people (counted by eye; that rule's
  rates stay in the results, "street_video_off_mediapipe_people_only"). A walker both miss can
  still be in a background crop, which counts against the net.

The thresholds: the shipped one (the card's person_confidence, or skeleton_net.PERSON_CONFIDENCE:
a crop below it is "no person"), and with `--choose` the one the val renders choose (the
confidence that keeps 95% of their person crops), never these crops; each set's shares of
person and background crops kept at each.

Writes benchmarks/results/skeleton_net_confidence.json (machine, commit).

    python benchmarks/bench_skeleton_net_confidence.py [--weights NAME|PATH] [--choose]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _env import commit, machine_info, write_json  # noqa: E402
from _video import frames_rgb  # noqa: E402

from realtime3d.crops import cut, square_box  # noqa: E402
from realtime3d.detect.skeleton_net import (DEFAULT_WEIGHTS, PERSON_CONFIDENCE, load_skeleton_net,  # noqa: E402
                                            read_crops)
from realtime3d.models.image import CROP_SIZE  # noqa: E402
from realtime3d.native_logs import quiet_native_logs  # noqa: E402
from realtime3d.render.crop_shards import read_shards  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO = ROOT.parent / "shared" / "data" / "media" / "street_dance.avi"
RESULTS = ROOT / "benchmarks" / "results" / "skeleton_net_confidence.json"
#: The share of the val person crops the chosen threshold keeps.
KEEP_PERSONS = 0.95
#: The street's background crops also keep off every person BlazePose's person detector finds
#: at this score or more, over the whole frame and this many tiles.
SEARCH_SCORE = 0.2
SEARCH_TILES = 4
#: Per street person crop: up to this many background crops of its size, from this many random windows.
BACKGROUNDS_PER_PERSON = 4
BACKGROUND_TRIES = 100
BATCH = 64


def roc_auc(person: np.ndarray, background: np.ndarray) -> float:
    """The chance that a random person crop scores above a random background crop (ties count half)."""
    scores = np.concatenate([person, background])
    order = scores.argsort(kind="stable")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    for value in np.unique(scores):                       # ties: their mean rank
        tied = scores == value
        ranks[tied] = ranks[tied].mean()
    n1, n0 = len(person), len(background)
    return float((ranks[:n1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def confidences(net, crops: np.ndarray, flip_average: bool = False) -> np.ndarray:
    """uint8 crops [N, S, S, 3] -> the confidence [N] (with flip_average, as the detector reads a
    net whose card sets it)."""
    out = []
    for i in range(0, len(crops), BATCH):
        x = torch.from_numpy(crops[i:i + BATCH]).permute(0, 3, 1, 2).float() / 255.0
        out.append(read_crops(net, x, flip_average=flip_average)["confidence"].numpy())
    return np.concatenate(out) if out else np.zeros(0)


def _backgrounds(frame: np.ndarray, boxes: list[np.ndarray], taken: list[np.ndarray],
                 rng: np.random.Generator) -> list[np.ndarray]:
    """Per person box (cx, cy, side): up to BACKGROUNDS_PER_PERSON crops of its size, from
    BACKGROUND_TRIES random windows of the frame, that overlap none of `taken` (x0, y0, x1, y1)."""
    h, w = frame.shape[:2]
    out = []
    for box in boxes:
        kept = 0
        for _ in range(BACKGROUND_TRIES):
            side = box[2]
            cx, cy = rng.uniform(side / 2, max(side / 2 + 1, w - side / 2)), \
                rng.uniform(side / 2, max(side / 2 + 1, h - side / 2))
            window = np.array([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2])
            if all(window[2] < t[0] or window[0] > t[2] or window[3] < t[1] or window[1] > t[3] for t in taken):
                out.append(cut(frame, (cx, cy, side), CROP_SIZE))
                kept += 1
                if kept == BACKGROUNDS_PER_PERSON:
                    break
    return out


def street_crops(video: str, step: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(person crops, background crops, background crops by the earlier rule) [N, S, S, 3] uint8 of
    every step-th frame of a video: the background crops keep off MediaPipe's people and the person
    detector's; by the earlier rule, off MediaPipe's people only (each rule its own generator of `seed`)."""
    from realtime3d.detect.blazepose import MultiPoseDetector
    from realtime3d.detect.blazepose.proposals import PersonDetector
    from realtime3d.detect.blazepose.ssd import roi_from_person
    rngs = np.random.default_rng(seed), np.random.default_rng(seed)
    person, background, earlier = [], [], []
    searcher = PersonDetector(SEARCH_SCORE, tiles=SEARCH_TILES)
    with MultiPoseDetector(static_image_mode=True) as detector:
        for frame in frames_rgb(video)[::step]:
            found = detector.detect_all_rgb(frame)
            boxes = [square_box(torch.from_numpy(d.joints2d_px)[None].double())[0].numpy() for d in found]
            posed = [np.array([b[0] - 0.75 * b[2], b[1] - 0.75 * b[2], b[0] + 0.75 * b[2], b[1] + 0.75 * b[2]])
                     for b in boxes]
            seen = []
            for candidate in searcher(frame):
                try:
                    roi = roi_from_person(candidate)
                except ValueError:            # a degenerate detection: keypoints 0 and 1 coincide
                    continue
                seen.append(np.array([roi.cx - roi.width / 2, roi.cy - roi.width / 2,
                                      roi.cx + roi.width / 2, roi.cy + roi.width / 2]))
            person += [cut(frame, box, CROP_SIZE) for box in boxes]
            background += _backgrounds(frame, boxes, posed + seen, rngs[0])
            earlier += _backgrounds(frame, boxes, posed, rngs[1])
    return np.stack(person), np.stack(background), np.stack(earlier)


def rates(person: np.ndarray, background: np.ndarray, thresholds: dict[str, float]) -> dict:
    """The AUC, the medians, and the shares of person and background crops at or above each threshold."""
    out = {"roc_auc": round(roc_auc(person, background), 4), "person_crops": int(len(person)),
           "background_crops": int(len(background)), "median_person": round(float(np.median(person)), 4),
           "median_background": round(float(np.median(background)), 4)}
    for name, t in thresholds.items():
        out[f"persons_kept_{name}"] = round(float((person >= t).mean()), 4)
        out[f"backgrounds_kept_{name}"] = round(float((background >= t).mean()), 4)
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--weights", default=DEFAULT_WEIGHTS, help="the skeleton net: a shipped name or a .pt")
    ap.add_argument("--crops", default=str(ROOT / "runs" / "crops" / "test"), help="the test render crops' folder")
    ap.add_argument("--val-crops", default=str(ROOT / "runs" / "crops" / "val"),
                    help="the val render crops' folder (--choose)")
    ap.add_argument("--video", default=str(DEFAULT_VIDEO), help="the real video")
    ap.add_argument("--step", type=int, default=2, help="every step-th frame of the video")
    ap.add_argument("--choose", action="store_true",
                    help=f"also choose the threshold on the val renders (keeps {KEEP_PERSONS * 100:.0f}%% of their persons)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads")
    ap.add_argument("--out", default=str(RESULTS), help="results file")
    args = ap.parse_args(argv)
    quiet_native_logs()
    torch.set_num_threads(args.threads)
    net, card = load_skeleton_net(args.weights)
    flip = bool(card.get("flip_average", False))
    result = {"weights": args.weights, "flip_average": flip,
              "what": "ROC AUC of the skeleton net's confidence, person crops against background crops"}
    thresholds = {"shipped": float(card.get("person_confidence", PERSON_CONFIDENCE))}
    if args.choose:
        val = read_shards(args.val_crops, ("images", "person"))
        conf = confidences(net, val["images"], flip)
        thresholds["chosen_on_val"] = float(np.quantile(conf[val["person"]], 1 - KEEP_PERSONS))
        result["val_renders"] = rates(conf[val["person"]], conf[~val["person"]], thresholds)
    result["thresholds"] = {k: round(v, 4) for k, v in thresholds.items()}
    test = read_shards(args.crops, ("images", "person"))
    conf = confidences(net, test["images"], flip)
    result["renders"] = rates(conf[test["person"]], conf[~test["person"]], thresholds)
    person, background, earlier = street_crops(args.video, args.step, seed=0)
    person_conf = confidences(net, person, flip)
    result["street_video"] = rates(person_conf, confidences(net, background, flip), thresholds)
    result["street_video_off_mediapipe_people_only"] = rates(person_conf, confidences(net, earlier, flip), thresholds)
    result.update(machine=machine_info(), commit=commit())
    write_json(args.out, result)
    print(json.dumps({k: result[k] for k in result if k not in ("machine",)}, indent=1))


if __name__ == "__main__":
    main()
