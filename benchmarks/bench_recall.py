"""Who the multi-person detector finds on photos, route by route, and what each route costs.

    python benchmarks/bench_recall.py [--media PATH] [--frames 60] [--out benchmarks/results/recall.json]

Each route is MultiPoseDetector with constructor options (static image mode unless said):
- baseline: the detector before the thorough search (whole frame + 2 tiles, min score 0.5, no
  faces, no dark-frame levels);
- tilings: + the 3-tile tiling beside the 2-tile one (search_tiles (2, 3));
- weak: + the person detector's detections down to WEAK_SCORE, confirmed by two landmark passes;
- weak_0.2: the same down to 0.2;
- faces: + the full-range face detector's faces as proposals, confirmed alike;
- dark: + dark frames stretched (levels_lut);
- default: all of them (MultiPoseDetector's defaults).
Per route:
(a) coco_annotated (realtime3d.detect.coco: counted people, matching, errors): found / counted,
    unmatched detections per photo, mean limb error of the found people, and the mean limb
    error over the people that the baseline finds too;
(b) people found on the named photos: zidane.jpg, COCO 257 and 357, bus.jpg in colour, in gray
    (one channel repeated) and dark (0.3 x brightness);
(c) detector time per photo (ms, median of 3 calls after one warm-up call);
(d) street_dance.avi: static mode on every 20th frame (ms per frame, people), and video mode on
    the first `--frames` frames (ms per frame, detector runs, ms per detector run: the time of the
    frames that ran it less the median time of the frames that did not).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _env import commit, machine_info  # noqa: E402

from realtime3d.detect.blazepose import WEAK_SCORE, MultiPoseDetector  # noqa: E402
from realtime3d.detect.coco import MP33_LIMBS, read_person_keypoints, score_photo  # noqa: E402
from realtime3d.io._atomic import atomic_write_text  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MEDIA = ROOT.parent / "shared" / "data" / "media"
NAMED = {"zidane": "zidane.jpg", "coco_257": "coco/COCO_val2014_000000000257.jpg",
         "coco_357": "coco/COCO_val2014_000000000357.jpg", "bus": "bus.jpg"}
#: The routes: MultiPoseDetector options, added one at a time to the baseline, then all.
ROUTES = {
    "baseline": dict(search_tiles=(2,), weak_score=0.5, faces=False, dark=False),
    "tilings": dict(search_tiles=(2, 3), weak_score=0.5, faces=False, dark=False),
    "weak": dict(search_tiles=(2,), weak_score=WEAK_SCORE, faces=False, dark=False),
    "weak_0.2": dict(search_tiles=(2,), weak_score=0.2, faces=False, dark=False),
    "faces": dict(search_tiles=(2,), weak_score=0.5, faces=True, dark=False),
    "dark": dict(search_tiles=(2,), weak_score=0.5, faces=False, dark=True),
    "default": dict(),
}


def gray(image: np.ndarray) -> np.ndarray:
    """A BGR photo's gray copy, as 3 equal channels (how read_image gives a gray file)."""
    return cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)


def dark(image: np.ndarray) -> np.ndarray:
    """A BGR photo at 0.3 x its brightness."""
    return (image.astype(np.float32) * 0.3 + 0.5).astype(np.uint8)


def timed(detector: MultiPoseDetector, image: np.ndarray) -> tuple[list, float]:
    """The detections and the median time of 3 calls (ms), after one warm-up call."""
    found = detector.detect_all(image)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        detector.detect_all(image)
        times.append(1e3 * (time.perf_counter() - start))
    return found, float(np.median(times))


def limbs(found) -> np.ndarray:
    """The detections' limb joints [D, 12, 2] px."""
    return np.stack([d.landmarks33[MP33_LIMBS, :2] for d in found]) if found else np.zeros((0, 12, 2))


def annotated(options: dict, media: Path) -> dict:
    """(a) and (c) on coco_annotated."""
    people = read_person_keypoints(media / "coco_annotated" / "person_keypoints.json")
    photos = {}
    with MultiPoseDetector(static_image_mode=True, **options) as detector:
        for name, truth in people.items():
            found, ms = timed(detector, cv2.imread(str(media / "coco_annotated" / name)))
            score = score_photo(limbs(found), truth)
            photos[name] = {"detections": len(found), "counted": score.counted, "found": score.found,
                            "unmatched": score.unmatched, "ms": round(ms, 1),
                            "found_people": list(score.people),
                            "errors": [round(e, 4) for e in score.errors]}
    errors = [e for p in photos.values() for e in p["errors"]]
    return {"found": sum(p["found"] for p in photos.values()), "counted": sum(p["counted"] for p in photos.values()),
            "unmatched_max": max(p["unmatched"] for p in photos.values()),
            "unmatched_per_photo": [p["unmatched"] for p in photos.values()],
            "mean_limb_error": float(np.mean(errors)) if errors else None, "photos": photos}


def named(options: dict, media: Path) -> dict:
    """(b) and (c) on the named photos."""
    out = {}
    with MultiPoseDetector(static_image_mode=True, **options) as detector:
        for key, name in NAMED.items():
            image = cv2.imread(str(media / name))
            variants = {key: image} if key != "bus" else {"bus": image, "bus_gray": gray(image), "bus_dark": dark(image)}
            for label, picture in variants.items():
                found, ms = timed(detector, picture)
                out[label] = {"people": len(found), "ms": round(ms, 1)}
    return out


def street(options: dict, media: Path, frames: int) -> dict:
    """(d) on street_dance.avi."""
    capture = cv2.VideoCapture(str(media / "street_dance.avi"))
    video = [capture.read()[1] for _ in range(205)]
    capture.release()
    video = [f for f in video if f is not None]
    out = {}
    with MultiPoseDetector(static_image_mode=True, **options) as detector:
        detector.detect_all(video[0])
        times, people = [], []
        for frame in video[::20]:
            start = time.perf_counter()
            people.append(len(detector.detect_all(frame)))
            times.append(1e3 * (time.perf_counter() - start))
        out["static_every_20th"] = {"ms_per_frame": round(float(np.mean(times)), 1),
                                    "people_per_frame": round(float(np.mean(people)), 2)}
    with MultiPoseDetector(**options) as detector:
        detector.detect_all(video[0])
        detector.reset()
        detector.detector_runs = 0
        times, ran = [], []
        for frame in video[:frames]:
            runs = detector.detector_runs
            start = time.perf_counter()
            detector.detect_all(frame)
            times.append(1e3 * (time.perf_counter() - start))
            ran.append(detector.detector_runs > runs)
        times, ran = np.array(times), np.array(ran)
        tracking = float(np.median(times[~ran])) if (~ran).any() else 0.0
        out["video"] = {"frames": len(times), "ms_per_frame": round(float(times.mean()), 1),
                        "detector_runs": int(ran.sum()),
                        "first_frame_ms": round(float(times[0]), 1),
                        "ms_per_detector_run": round(float(np.mean(times[ran][1:] - tracking)), 1)
                        if ran.sum() > 1 else None,
                        "ms_per_tracking_frame": round(tracking, 1)}
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--media", type=Path, default=MEDIA, help="the shared media folder (default: %(default)s)")
    parser.add_argument("--frames", type=int, default=60, help="street_dance.avi frames in video mode (default: 60)")
    parser.add_argument("--routes", nargs="+", choices=list(ROUTES), default=list(ROUTES),
                        help="the routes to measure (default: all)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "recall.json")
    args = parser.parse_args(argv)
    if not (args.media / "coco_annotated" / "person_keypoints.json").is_file():
        parser.error(f"{args.media}: no coco_annotated/person_keypoints.json (see shared/data/README.md)")
    results = {"benchmark": "bench_recall", "machine": machine_info(), "commit": commit(),
               "scoring": "realtime3d/detect/coco.py", "routes": {}}
    for name in args.routes:
        print(f"route {name} ...", flush=True)
        route = {"options": {k: list(v) if isinstance(v, tuple) else v for k, v in ROUTES[name].items()},
                 "coco_annotated": annotated(ROUTES[name], args.media), "named": named(ROUTES[name], args.media),
                 "street_dance": street(ROUTES[name], args.media, args.frames)}
        results["routes"][name] = route
        c = route["coco_annotated"]
        print(f"  recall {c['found']}/{c['counted']}, unmatched {c['unmatched_per_photo']}, limb error "
              f"{c['mean_limb_error']:.4f}; " + ", ".join(f"{k} {v['people']}" for k, v in route["named"].items())
              + f"; street video {route['street_dance']['video']}", flush=True)
    if "baseline" in results["routes"]:                   # the error over the people the baseline finds
        base = results["routes"]["baseline"]["coco_annotated"]["photos"]
        for route in results["routes"].values():
            errors = []
            for name, photo in route["coco_annotated"]["photos"].items():
                mine = dict(zip(photo["found_people"], photo["errors"]))
                errors += [mine[i] for i in base[name]["found_people"] if i in mine]
            route["coco_annotated"]["mean_limb_error_baseline_people"] = float(np.mean(errors)) if errors else None
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps(results, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
