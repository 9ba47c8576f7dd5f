"""Speed with many people on the street video: offline and live, at 1, 4 and all people, in one run.

    python benchmarks/bench_people.py [--video PATH] [--repeats 3] [--out benchmarks/results/people.json]

(a) MediaPipe alone, the baseline: its one-person graph (detect.PoseDetector), decode + detect
    every frame, one thread (as bench_pipeline.py measures it).
(b) the offline run of the command (`run_video` on pipeline.build_pipeline: MediaPipe's
    BlazePose models on every person, tracking, lifting, overlay.mp4, every export file) with
    --max-people 1, 4 and all: fps, and the ratio to (a) (the claim: >= 0.9 at --max-people 1).
(c) the live loop (`run_live`, the webcam default lifter, the One Euro filter) fed by the
    video played as a camera in real time at 1280x720, --max-people 1, 4 and all: fps (the
    claim: >= 15 with 4 people), latency, and the people it followed per frame.
(d) the per-person cost: the detector's (MultiPoseDetector.detect_all) and the lifter's time
    per frame at 1, 4 and all people over the frames' mean number of people, beside the
    one-person pipeline's (MediaPipe's graph + one pose lifted).
(e) who is found: the people of bus.jpg (static image mode, with the landmark model's
    pose score and the 2D height of each), the person ids of the offline run with every
    person and the frames each is tracked for, the identity switches of the largest person
    (the dancer), and the one-person agreement with MediaPipe's graph on a photo of one
    person (COCO 415: the 17 joints and 33 landmarks, median and max px).
Each timed part runs `--repeats` times (an odd number), interleaved; the headline of each is its
median repeat, and every repeat is recorded with the 1-minute load average before and after.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _args  # noqa: E402
from _env import commit, machine_info, write_json  # noqa: E402

from realtime3d.capture import LiveSource, VideoSource  # noqa: E402
from realtime3d.detect.blazepose import MultiPoseDetector  # noqa: E402
from realtime3d.detect.mediapipe import PoseDetector  # noqa: E402
from realtime3d.filters import ZERO_LAG_CUTOFF_HZ, OneEuroFilter  # noqa: E402
from realtime3d.lifting import DEFAULT_MODEL, LIVE_MODEL, Lifter, load_model  # noqa: E402
from realtime3d.live import run_live  # noqa: E402
from realtime3d.offline import run_video  # noqa: E402
from realtime3d.pipeline import PosePipeline, VideoOptions, build_pipeline  # noqa: E402
from realtime3d.runtime import set_up_pipeline_process  # noqa: E402
from realtime3d.skeleton import H36M17  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MEDIA = ROOT.parent / "shared" / "data" / "media"
DEFAULT_VIDEO = MEDIA / "street_dance.avi"
ONE_PERSON = "coco/COCO_val2014_000000000415.jpg"      # a tennis player, alone, full body (test_blazepose.py)
LIVE_SIZE = (1280, 720)
#: --max-people of the runs; None: all.
PEOPLE = (1, 4, None)


def label(max_people: int | None) -> str:
    return "all" if max_people is None else str(max_people)


def mediapipe_alone(video: str) -> dict:
    """{fps, ms per frame} of decode + MediaPipe's one-person graph on every frame."""
    detector = PoseDetector()
    detector.detect(np.zeros((720, 1280, 3), np.uint8))          # load the graph before timing
    detector.reset()
    capture = cv2.VideoCapture(video)
    frames = 0
    start = time.perf_counter()
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        detector.detect(frame)
        frames += 1
    seconds = time.perf_counter() - start
    detector.close()
    return {"fps": frames / seconds, "ms_per_frame": 1e3 * seconds / frames}


def offline_run(video: str, max_people: int | None) -> dict:
    """{fps, person ids, frames per id, switches of the largest person's id} of the command's
    offline run, exports included."""
    with tempfile.TemporaryDirectory() as out:
        pipeline = build_pipeline(VideoOptions(max_people=max_people, cutoff_hz=ZERO_LAG_CUTOFF_HZ))
        pipeline.detect(np.zeros((720, 1280, 3), np.uint8))       # load the models before timing
        start = time.perf_counter()
        summary = run_video(video, out, pipeline, cutoff_hz=ZERO_LAG_CUTOFF_HZ, progress=False)
        seconds = time.perf_counter() - start
        pipeline.detector.close()
        with np.load(Path(out) / "poses.npz") as data:
            ids, joints2d = data["person_ids"], data["joints2d"]
            present = np.isfinite(data["joints3d"]).all(axis=(2, 3))            # [N, P]
    heights = np.where(present, np.ptp(joints2d[..., 1], axis=-1), -1.0)        # [N, P] px
    largest = ids[np.argmax(heights, axis=1)][present.any(axis=1)]
    return {"max_people": label(max_people), "fps": summary.frames / seconds, "person_ids": summary.people,
            "frames_per_id": {int(i): int(n) for i, n in zip(ids, present.sum(axis=0))},
            "ids_tracked_100_frames": int((present.sum(axis=0) >= 100).sum()),
            "largest_person_id_switches": int((largest[1:] != largest[:-1]).sum())}


def who_is_found(media: Path) -> dict:
    """bus.jpg's people (static image mode) and the one-person agreement with MediaPipe's graph."""
    found = {}
    bus = cv2.imread(str(media / "bus.jpg"))
    if bus is not None:
        with MultiPoseDetector(static_image_mode=True) as detector:
            people = detector.detect_all(bus)
        torso = [H36M17.index["pelvis"], H36M17.index["thorax"]]
        found["bus_jpg"] = {"people": len(people), "image_size": list(bus.shape[1::-1]),
                            "pose_scores": [round(float(p.score), 3) for p in people],
                            "heights_px": [round(float(np.ptp(p.joints2d_px[:, 1])), 1) for p in people],
                            "boxes_px": [[round(float(v), 1) for v in p.box] for p in people],
                            "pelvis_thorax_px": [np.round(p.joints2d_px[torso].astype(float), 1).tolist() for p in people]}
    photo = cv2.imread(str(media / ONE_PERSON))
    if photo is not None:
        with MultiPoseDetector(static_image_mode=True) as ours, PoseDetector(static_image_mode=True) as graph:
            a, b = ours.detect(photo), graph.detect(photo)
        joints = np.linalg.norm(a.joints2d_px - b.joints2d_px, axis=1)
        landmarks = np.linalg.norm(a.landmarks33[:, :2] - b.landmarks33[:, :2], axis=1)
        found["one_person_agreement"] = {
            "photo": ONE_PERSON, "height_px": round(float(np.ptp(b.joints2d_px[:, 1])), 1),
            "joints17_px": {"median": round(float(np.median(joints)), 3), "max": round(float(joints.max()), 3)},
            "landmarks33_px": {"median": round(float(np.median(landmarks)), 3),
                               "max": round(float(landmarks.max()), 3)}}
    return found


def live_loop(video: str, lifter: Lifter, max_people: int | None) -> dict:
    """The live loop on the video played as a 1280x720 camera: fps, latency, people per frame."""
    detector = MultiPoseDetector(max_people=max_people)
    pipeline = PosePipeline(lifter, detector, filter=OneEuroFilter())
    detector.detect_all(np.zeros((LIVE_SIZE[1], LIVE_SIZE[0], 3), np.uint8))
    detector.reset()
    people = []

    def count(frame, result) -> bool:
        if result is not None:
            people.append(len(result.people))
        return True
    with LiveSource(video, size=LIVE_SIZE) as source:
        stats = run_live(source, pipeline, on_result=count)
    detector.close()
    return {"max_people": label(max_people), "fps": stats.fps, "frames": stats.frames,
            "frames_captured": stats.frames_captured, "people_per_frame": float(np.mean(people)) if people else 0.0,
            "latency_ms_mean": stats.latency_ms_mean, "latency_ms_p95": stats.latency_ms_p95}


def per_person_cost(frames: list[np.ndarray], lifter: Lifter, max_people: int | None) -> dict:
    """ms per frame of detect_all (video mode) and of tracking + lifting its people in one call."""
    detector = MultiPoseDetector(max_people=max_people)
    pipeline = PosePipeline(lifter, detector)
    detector.detect_all(frames[0])
    detector.reset()
    size = (frames[0].shape[1], frames[0].shape[0])
    detect, lift, people = [], [], []
    for k, frame in enumerate(frames):
        start = time.perf_counter()
        found = pipeline.detect(frame)
        mid = time.perf_counter()
        result = pipeline.complete(found, size, k / 50.0)
        detect.append(1e3 * (mid - start))
        lift.append(1e3 * (time.perf_counter() - mid))
        people.append(len(result.people))
    detector.close()
    return {"max_people": label(max_people), "detect_ms": float(np.mean(detect)),
            "track_lift_ms": float(np.mean(lift)), "people_per_frame": float(np.mean(people))}


def one_person_pipeline(frames: list[np.ndarray], lifter: Lifter) -> dict:
    """ms per frame of MediaPipe's one-person graph + one pose lifted: the one-person pipeline."""
    pipeline = PosePipeline(lifter, PoseDetector())
    pipeline.detect(frames[0])
    pipeline.restart_tracking(new_ids=True)
    size = (frames[0].shape[1], frames[0].shape[0])
    start = time.perf_counter()
    for k, frame in enumerate(frames):
        pipeline.complete(pipeline.detect(frame), size, k / 50.0)
    seconds = time.perf_counter() - start
    pipeline.detector.close()
    return {"ms_per_frame": 1e3 * seconds / len(frames)}


def median_run(runs: list[dict], key: str = "fps") -> dict:
    return sorted(runs, key=lambda r: r[key])[len(runs) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", default=str(DEFAULT_VIDEO))
    parser.add_argument("--repeats", type=_args.odd, default=3, help="an odd number, so that a median is one run")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "people.json"))
    args = parser.parse_args()
    set_up_pipeline_process()                 # as the command does: one torch thread
    source = VideoSource(args.video)
    frames = [frame.image for frame in source]
    lifter, live_lifter = load_model(DEFAULT_MODEL), load_model(LIVE_MODEL)
    load_before = os.getloadavg()

    alone, offline, live, cost, single = [], {label(n): [] for n in PEOPLE}, {label(n): [] for n in PEOPLE}, \
        {label(n): [] for n in PEOPLE}, []
    for repeat in range(args.repeats):
        alone.append(mediapipe_alone(args.video))
        for n in PEOPLE:
            offline[label(n)].append({**offline_run(args.video, n), "mediapipe_alone_fps": alone[-1]["fps"]})
            offline[label(n)][-1]["over_mediapipe"] = offline[label(n)][-1]["fps"] / alone[-1]["fps"]
            live[label(n)].append(live_loop(args.video, live_lifter, n))
            cost[label(n)].append(per_person_cost(frames, lifter, n))
        single.append(one_person_pipeline(frames, lifter))
        print(f"repeat {repeat}: mediapipe alone {alone[-1]['fps']:.1f} fps; offline "
              + ", ".join(f"{k} {v[-1]['fps']:.1f}" for k, v in offline.items()) + " fps; live "
              + ", ".join(f"{k} {v[-1]['fps']:.1f}" for k, v in live.items()) + " fps")

    found = who_is_found(MEDIA)
    headline_offline = {k: median_run(v, "over_mediapipe") for k, v in offline.items()}
    headline_live = {k: median_run(v) for k, v in live.items()}
    headline_cost = {k: median_run(v, "detect_ms") for k, v in cost.items()}
    one = headline_cost["1"]
    per_person = {k: {**c, "extra_ms_per_extra_person":
                      (c["detect_ms"] + c["track_lift_ms"] - one["detect_ms"] - one["track_lift_ms"])
                      / (c["people_per_frame"] - one["people_per_frame"])
                      if c["people_per_frame"] > one["people_per_frame"] + 0.5 else None}
                  for k, c in headline_cost.items()}
    result = {
        "benchmark": "bench_people", "machine": machine_info(), "commit": commit(),
        "video": Path(args.video).name, "frames": len(frames), "video_size": list(source.image_size),
        "video_fps": source.fps, "repeats": args.repeats,
        "load_average_1min": {"before": load_before[0], "after": os.getloadavg()[0]},
        "baseline": "MediaPipe alone: its one-person graph (mp.solutions.pose, model_complexity 1), decode + detect",
        "mediapipe_alone_fps": median_run(alone)["fps"],
        "offline": headline_offline, "offline_target_at_1": 0.9,
        "live": headline_live, "live_target_fps_at_4": 15.0, "live_size": list(LIVE_SIZE),
        "live_model": live_lifter.name, "offline_model": lifter.name,
        "per_person": per_person, "one_person_pipeline_ms_per_frame": median_run(single, "ms_per_frame")["ms_per_frame"],
        "found": found, "street_acceptance": {"ids_tracked_100_frames_at_least": 3,
                                              "largest_person_id_switches_at_most": 2},
        "headline": "each part's median repeat (offline: by the ratio to MediaPipe alone of the same repeat)",
        "all_runs": {"mediapipe_alone": alone, "offline": offline, "live": live, "per_person": cost,
                     "one_person_pipeline": single},
    }
    write_json(args.out, result)
    for k, run in headline_offline.items():
        print(f"offline, --max-people {k}: {run['fps']:.1f} fps = {run['over_mediapipe']:.3f} x MediaPipe alone, "
              f"{run['person_ids']} person ids, {run['ids_tracked_100_frames']} tracked for 100 frames or more, "
              f"{run['largest_person_id_switches']} switches of the largest person's id")
    if "bus_jpg" in found:
        print(f"bus.jpg: {found['bus_jpg']['people']} people")
    if "one_person_agreement" in found:
        agreement = found["one_person_agreement"]
        print(f"one person against MediaPipe's graph: 17 joints {agreement['joints17_px']['median']:.2f} px median, "
              f"{agreement['joints17_px']['max']:.2f} px max")
    for k, run in headline_live.items():
        print(f"live, --max-people {k}: {run['fps']:.1f} fps, {run['people_per_frame']:.1f} people per frame, "
              f"latency {run['latency_ms_mean']:.0f} ms mean")
    for k, c in per_person.items():
        extra = c["extra_ms_per_extra_person"]
        print(f"per frame, --max-people {k}: detect {c['detect_ms']:.1f} ms + track/lift {c['track_lift_ms']:.1f} ms "
              f"for {c['people_per_frame']:.1f} people" + (f" ({extra:.1f} ms per extra person)" if extra else ""))
    print(f"one-person pipeline (MediaPipe graph + lift): {result['one_person_pipeline_ms_per_frame']:.1f} ms per frame")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
