"""Collections of videos: one output folder per video, shards for cluster jobs, worker processes.

    run_videos(output_dirs(paths, "out"), VideoOptions(), workers=2)   # a process per worker
"""
from __future__ import annotations

import hashlib
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from tqdm import tqdm

from .defaults import DEFAULT_HFOV_DEG, DEFAULT_MODEL, DETECTORS, OVERLAY_HEIGHT
from .capture import Frame
from .filters import OneEuroFilter
from .offline import VideoRunSummary, is_finished, run_video
from .pipeline import FrameResult, PosePipeline, check_camera_options, parse_person


def parse_shard(text: str) -> tuple[int, int]:
    """'i/n' -> (i, n) with 0 <= i < n."""
    try:
        i, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard must be i/n (for example 0/4), got {text!r}") from None
    if not 0 <= i < n:
        raise ValueError(f"--shard i/n needs 0 <= i < n, got {text!r}")
    return i, n


def select_shard(paths: list[str], shard: tuple[int, int] | None) -> list[str]:
    """Every n-th video of the sorted collection, starting at the i-th (all of them without a shard).

    A file given twice is taken once."""
    ordered = sorted({os.path.abspath(p): p for p in paths}.values(), key=os.path.abspath)
    return ordered if shard is None else ordered[shard[0]::shard[1]]


def output_dirs(paths: list[str], outdir: str | os.PathLike) -> dict[str, Path]:
    """OUTDIR/<stem> for each video; videos whose stems collide get <stem>-<8 hex of the absolute path>.

    Depends only on the whole collection, never on the shard, so shards never collide.
    """
    stems: dict[str, list[str]] = {}
    for p in paths:
        stems.setdefault(Path(p).stem, []).append(os.path.abspath(p))
    dirs = {}
    for p in paths:
        stem, absolute = Path(p).stem, os.path.abspath(p)
        clash = len(set(stems[stem])) > 1
        tag = "-" + hashlib.sha1(absolute.encode()).hexdigest()[:8] if clash else ""
        dirs[p] = Path(outdir) / f"{stem}{tag}"
    return dirs


@dataclass(frozen=True)
class VideoOptions:
    """Everything a worker process needs to build its own pipeline and run one video.

    detector: "mediapipe" (detect.MultiPoseDetector: MediaPipe's BlazePose models, every person)
    or "skeleton" (detect.SkeletonNetDetector, one person, with detector_weights: a shipped name
    or a .pt; None: the shipped skeleton-net). person: the people kept (pipeline.PosePipeline);
    max_people: the most the detector follows. model None: the skeleton net's own
    lifter (its card's "lifter") with detector "skeleton", DEFAULT_MODEL otherwise."""

    model: str | None = DEFAULT_MODEL
    focal: float | None = None
    hfov: float = DEFAULT_HFOV_DEG
    cutoff_hz: float | None = None
    resume: bool = False
    max_frames: int | None = None
    detect_width: int | None = None
    overlay: bool = True
    overlay_height: int | None = OVERLAY_HEIGHT
    detector: str = "mediapipe"
    detector_weights: str | None = None
    person: str | int = "all"          # pipeline.parse_person: "all", "largest" or an id
    max_people: int | None = None      # the detector follows at most this many people (None: all)

    def __post_init__(self) -> None:   # bad values fail in the command, before any worker starts
        check_camera_options(self.focal, self.hfov, self.detect_width)
        object.__setattr__(self, "person", parse_person(self.person))
        if self.max_people is not None and self.max_people < 1:
            raise ValueError(f"--max-people must be at least 1, got {self.max_people}")
        if self.detector not in DETECTORS:
            raise ValueError(f"unknown detector {self.detector!r}; choose one of {', '.join(DETECTORS)}")
        if self.detector_weights is not None and self.detector != "skeleton":
            raise ValueError("--detector-weights needs --detector skeleton")


def lifter_for(detector: str, detector_weights: str | None, model: str | None, default: str = DEFAULT_MODEL) -> str:
    """The lifter a run uses: model when given; else, with the skeleton net, the lifter it was
    trained with (its card's "lifter"); else default. A bad skeleton-net file fails here."""
    if model is not None:
        return model
    if detector == "skeleton":
        from .detect.skeleton_net import DEFAULT_WEIGHTS, load_skeleton_net
        lifter = load_skeleton_net(detector_weights or DEFAULT_WEIGHTS)[1].get("lifter")
        if lifter:
            return str(lifter)
    return default


def build_pipeline(options: VideoOptions, live_filter: OneEuroFilter | None = None, static_images: bool = False):
    from .lifting import Lifter
    if options.detector == "skeleton":
        from .detect.skeleton_net import DEFAULT_WEIGHTS, SkeletonNetDetector
        detector = SkeletonNetDetector(options.detector_weights or DEFAULT_WEIGHTS)
        lifter = Lifter.from_pretrained(options.model or detector.lifter or DEFAULT_MODEL)
    else:
        from .detect.blazepose import MultiPoseDetector
        lifter = Lifter.from_pretrained(options.model or DEFAULT_MODEL)   # before MediaPipe: nothing to close
        detector = MultiPoseDetector(max_people=options.max_people, static_image_mode=static_images)
    return PosePipeline(lifter, detector, focal=options.focal, hfov=options.hfov, filter=live_filter,
                        detect_width=options.detect_width, person=options.person)


def run_one(path: str, outdir: str, options: VideoOptions, progress: bool = True,
            on_result: Callable[[Frame, FrameResult], bool] | None = None) -> VideoRunSummary:
    """One video with its own pipeline (the unit of work of a worker process)."""
    if options.resume and is_finished(outdir):
        with np.load(Path(outdir) / "poses.npz") as data:
            joints3d = data["joints3d"]                                   # [N, 17, 3] or [N, P, 17, 3]
            people = len(data["person_ids"]) if "person_ids" in data.files else 1
        complete = np.isfinite(joints3d).all(axis=(-2, -1))
        with_person = int((complete if complete.ndim == 1 else complete.any(axis=1)).sum())
        return VideoRunSummary(source=path, outdir=outdir, frames=len(joints3d), with_person=with_person, skipped=0,
                               resumed_from=len(joints3d), seconds=0.0, outputs={}, already_done=True, people=people)
    pipeline = build_pipeline(options)
    try:
        return run_video(path, outdir, pipeline, cutoff_hz=options.cutoff_hz, resume=options.resume,
                         max_frames=options.max_frames, overlay=options.overlay,
                         overlay_height=options.overlay_height, progress=progress,
                         on_result=on_result)
    finally:
        pipeline.detector.close()


def run_videos(jobs: dict[str, Path], options: VideoOptions, workers: int = 1, progress: bool = True,
               on_result: Callable[[Frame, FrameResult], bool] | None = None
               ) -> dict[str, VideoRunSummary | Exception]:
    """Run each video into its folder ({path: outdir}), `workers` processes at a time.

    Each worker process builds its own MediaPipe and lifter. Returns {path: summary, or
    the error that stopped that video}; one failing video does not stop the others.
    on_result (windows) needs workers=1.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if on_result is not None and workers > 1:
        raise ValueError("showing results needs a single worker")
    results: dict[str, VideoRunSummary | Exception] = {}
    if workers == 1 or len(jobs) <= 1:          # no pool for one video, or none (an empty shard)
        for path, outdir in jobs.items():
            try:
                results[path] = run_one(path, str(outdir), options, progress, on_result)
            except (ValueError, OSError) as exc:
                results[path] = exc
        return results
    # spawn: forking a process that holds MediaPipe and torch threads can deadlock the child
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=get_context("spawn"),
                             initializer=_quiet_worker) as pool:
        futures = {pool.submit(run_one, path, str(outdir), options, False): path for path, outdir in jobs.items()}
        for future in tqdm(as_completed(futures), total=len(futures), unit="video", disable=not progress):
            try:
                results[futures[future]] = future.result()
            except (ValueError, OSError) as exc:
                results[futures[future]] = exc
    return results


def _quiet_worker() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    torch.set_num_threads(1)
