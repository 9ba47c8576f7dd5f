"""The whole-app benchmark's clips: the CMU test subjects' motions (09, 13, 14), rendered; and
the validation clips of the val subjects (02, 07), on which choices are made.

BENCHMARK_CLIPS: twelve clips of six seconds at 30 fps, 1280x720: nine with one person, two
with two and one with three; two with a camera that travels. VALIDATION_CLIPS: ten clips of the
val subjects in the same form (the 07 trials are shorter: 3.5-4 s), with seeds of their own
(VALIDATION_SEED), so they share no body, clothes or scene with the benchmark's. Each clip's
bodies, clothes, scenery, camera and occluders come from its own seed, so a clip is the same
on every machine. Renders of the shared data are never committed: this module makes them again.
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .actors import load_motion
from .clips import TRUTH_NAME, render_clip
from .staging import stage_clip

FPS = 30.0
SECONDS = 6.0
IMAGE_SIZE = (1280, 720)
SEED = 25_000
VALIDATION_SEED = 26_000


@dataclass(frozen=True)
class ClipSpec:
    """A benchmark clip: its name, each person's (BVH file relative to the CMU root, start in seconds),
    whether the camera travels, and its length in seconds."""
    name: str
    people: tuple[tuple[str, float], ...]
    moving_camera: bool = False
    seconds: float = SECONDS


BENCHMARK_CLIPS = (
    ClipSpec("c01_09_12", (("09/09_12.bvh", 0.0),)),
    ClipSpec("c02_09_12_moving", (("09/09_12.bvh", 8.0),), moving_camera=True),
    ClipSpec("c03_13_10", (("13/13_10.bvh", 0.0),)),
    ClipSpec("c04_13_10", (("13/13_10.bvh", 7.0),)),
    ClipSpec("c05_13_10_moving", (("13/13_10.bvh", 14.0),), moving_camera=True),
    ClipSpec("c06_14_07", (("14/14_07.bvh", 0.0),)),
    ClipSpec("c07_14_07", (("14/14_07.bvh", 9.0),)),
    ClipSpec("c08_14_08", (("14/14_08.bvh", 0.0),)),
    ClipSpec("c09_14_08", (("14/14_08.bvh", 10.0),)),
    ClipSpec("c10_two", (("13/13_10.bvh", 3.0), ("14/14_08.bvh", 15.0))),
    ClipSpec("c11_two_moving", (("09/09_12.bvh", 4.0), ("14/14_07.bvh", 12.0)), moving_camera=True),
    ClipSpec("c12_three", (("13/13_10.bvh", 10.0), ("14/14_07.bvh", 4.0), ("14/14_08.bvh", 5.0))),
)

#: The val subjects' clips: where routes and settings are chosen (never on BENCHMARK_CLIPS).
VALIDATION_CLIPS = (
    ClipSpec("v01_02_05", (("02/02_05.bvh", 0.0),)),
    ClipSpec("v02_02_06_moving", (("02/02_06.bvh", 5.0),), moving_camera=True),
    ClipSpec("v03_02_07", (("02/02_07.bvh", 2.0),)),
    ClipSpec("v04_02_08", (("02/02_08.bvh", 0.0),)),
    ClipSpec("v05_02_09", (("02/02_09.bvh", 1.0),)),
    ClipSpec("v06_02_10", (("02/02_10.bvh", 10.0),)),
    ClipSpec("v07_07_05", (("07/07_05.bvh", 0.0),), seconds=4.0),
    ClipSpec("v08_07_04_moving", (("07/07_04.bvh", 0.0),), moving_camera=True, seconds=3.5),
    ClipSpec("v09_two", (("02/02_05.bvh", 8.0), ("07/07_05.bvh", 0.0)), seconds=4.0),
    ClipSpec("v10_three", (("02/02_10.bvh", 3.0), ("02/02_07.bvh", 10.0), ("07/07_04.bvh", 0.0)), seconds=3.5),
)


def _segment(cmu_root: Path, relative: str, start_s: float, frames: int) -> np.ndarray:
    motion = load_motion(cmu_root / relative, FPS)
    start = int(round(start_s * FPS))
    start = max(0, min(start, motion.shape[0] - frames))
    segment = motion[start:start + frames]
    if segment.shape[0] < frames:
        raise ValueError(f"{relative} is shorter than {frames / FPS:.1f} s")
    return segment


def render_one(spec: ClipSpec, seed: int, out_dir: Path, cmu_root: Path) -> Path:
    """Render one clip with its seed into out_dir/spec.name (skipped when its truth.npz exists)."""
    folder = out_dir / spec.name
    if (folder / TRUTH_NAME).exists():
        return folder
    frames = int(round(spec.seconds * FPS))
    motions = [_segment(cmu_root, rel, start, frames) for rel, start in spec.people]
    rng = np.random.default_rng(seed)
    stage = stage_clip(motions, rng, IMAGE_SIZE, moving_camera=spec.moving_camera,
                       names=[f"{rel}@{start:g}s" for rel, start in spec.people])
    return render_clip(stage, folder, FPS, name=spec.name)


def clip_seed(spec: ClipSpec) -> int:
    """A clip's seed: SEED or VALIDATION_SEED plus its place among BENCHMARK_CLIPS or VALIDATION_CLIPS."""
    for base, specs in ((SEED, BENCHMARK_CLIPS), (VALIDATION_SEED, VALIDATION_CLIPS)):
        if spec in specs:
            return base + specs.index(spec)
    raise ValueError(f"{spec.name} is neither a benchmark nor a validation clip")


def _render_star(args) -> Path:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    return render_one(*args)


def render_benchmark_clips(out_dir: str | os.PathLike, cmu_root: str | os.PathLike, workers: int = 1,
                           clips: tuple[ClipSpec, ...] = BENCHMARK_CLIPS) -> list[Path]:
    """Render clips (those not already there) into out_dir/<name>/video.mp4 + truth.npz.

    Args:
        out_dir: made if missing.
        cmu_root: the CMU BVH folder (../shared/data/cmu).
        workers: processes drawing clips in parallel.
        clips: which clips: some of BENCHMARK_CLIPS or of VALIDATION_CLIPS (each keeps its seed,
            SEED or VALIDATION_SEED plus its place in its tuple, whichever others are drawn).

    Returns:
        The clip folders, in the order of clips.
    """
    out_dir, cmu_root = Path(out_dir), Path(cmu_root)
    jobs = [(spec, clip_seed(spec), out_dir, cmu_root) for spec in clips]
    if workers <= 1:
        return [render_one(*job) for job in tqdm(jobs, desc="rendering clips", unit="clip")]
    # spawn: a process forked after its parent has drawn would hang in Mesa (raster.Rasterizer)
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        return list(tqdm(pool.map(_render_star, jobs), total=len(jobs), desc="rendering clips", unit="clip"))
