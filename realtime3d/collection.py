"""Collections of videos: one output folder per video, shards for cluster jobs, worker processes.

    run_videos(output_dirs(paths, "out"), VideoOptions(), workers=2)   # a process per worker
"""
from __future__ import annotations

import hashlib
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path
from typing import Callable

import numpy as np
from tqdm import tqdm

from .capture import Frame
from .errors import UserError
from .offline import VideoRunSummary, is_finished, run_video
from .pipeline import FrameResult, VideoOptions, build_pipeline
from .runtime import set_up_pipeline_process


def parse_shard(text: str) -> tuple[int, int]:
    """'i/n' -> (i, n) with 0 <= i < n."""
    try:
        i, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise UserError(f"--shard must be i/n (for example 0/4), got {text!r}") from None
    if not 0 <= i < n:
        raise UserError(f"--shard i/n needs 0 <= i < n, got {text!r}")
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


def run_one(path: str, outdir: str, options: VideoOptions, progress: bool = True,
            on_result: Callable[[Frame, FrameResult], bool] | None = None) -> VideoRunSummary:
    """One video with its own pipeline (the unit of work of a worker process)."""
    if options.resume and is_finished(outdir):
        with np.load(Path(outdir) / "poses.npz") as data:
            joints3d = data["joints3d"]                     # [N, P, 17, 3] (a run of earlier releases: [N, 17, 3])
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

    Each worker process (workers >= 1; the command checks --workers) builds its own detector
    and lifter. Returns {path: summary, or the error that stopped that video}; one failing
    video does not stop the others. on_result (windows) needs workers=1.
    """
    if on_result is not None and workers > 1:
        raise ValueError("showing results needs a single worker")
    results: dict[str, VideoRunSummary | Exception] = {}
    if workers == 1 or len(jobs) <= 1:          # no pool for one video, or none (an empty shard)
        for path, outdir in jobs.items():
            try:
                results[path] = run_one(path, str(outdir), options, progress, on_result)
            except (UserError, OSError) as exc:
                results[path] = exc
        return results
    # spawn: forking a process that holds MediaPipe and torch threads can deadlock the child
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=get_context("spawn"),
                             initializer=_set_up_worker) as pool:
        futures = {pool.submit(run_one, path, str(outdir), options, False): path for path, outdir in jobs.items()}
        for future in tqdm(as_completed(futures), total=len(futures), unit="video", disable=not progress):
            try:
                results[futures[future]] = future.result()
            except (UserError, OSError) as exc:
                results[futures[future]] = exc
    return results


def _set_up_worker() -> None:
    """A worker process's set-up: the pipeline's (runtime.set_up_pipeline_process), one OpenMP thread."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    set_up_pipeline_process()
