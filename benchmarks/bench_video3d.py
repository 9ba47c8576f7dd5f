"""The whole app on videos with exact 3D truth: video in, 3D out, scored (realtime3d/video_scoring.py).

    python benchmarks/bench_video3d.py [--clips DIR | --split test|val] [--out benchmarks/results/video3d.json]
                                       [--models a,b] [--workers N] [--quick] [--work DIR] [--cmu DIR]

The clips: by default the renderer's benchmark clips, rendered first
(realtime3d.render.benchmark_clips.render_benchmark_clips from the CMU mocap); with --split val
the validation clips of the val subjects instead (where choices are made); with --clips DIR,
every folder under DIR that holds one video file and its truth.npz (io/video_truth.py: the format
a lab with its own video and motion capture can write). Nothing assumes the clips are ours.

Per clip, in one worker process:
1. The user's run: the real command, `realtime3d video VIDEO -o OUT`, in a subprocess, with its
   defaults: the default model, and the focal length from the default field of view (a user does
   not know their camera's). It is the default model's result.
2. One detection pass in the worker, through the code the command runs (offline.run_video on a
   pipeline that pipeline.build_pipeline builds from the command's default VideoOptions), with
   --model mediapipe-world, whose detector also gives MediaPipe's world landmarks (its 2D are the
   same): that run is mediapipe-world's, and a RecordingDetector keeps every frame's detections.
3. Every other model on those detections: a ReplayDetector (a detect.detection.Detector) hands
   them to the same PosePipeline, run_video and export code in place of the detector, so no frame
   is detected twice. The default model also runs this way, and its poses.npz must equal the
   command's: the largest joints3d difference is recorded ("cached_vs_command").
4. The baselines, through the same code: constant depth (evaluate.constant_depth(): the
   detector's 2D at one depth, sized as the lifters size their poses); and the truth's 2D of every
   person with a visible joint into the default lifter with the truth's focal, all 17 joints
   (truth-2d: the lifter's own error) or the visible joints alone (truth-2d-visible: a perfect
   detector that drops what it cannot see, as the pipeline drops joints below the visibility
   threshold).
Every run's poses.npz is scored against the clip's truth.npz (video_scoring.score_clip), and the
models are aggregated over the clips by person-frames (video_scoring.aggregate). The results file
(benchmarks/_env.write_json: machine, commit) holds the settings, per-model aggregates, per-clip
rows and the timings; readme_tables.py prints its tables for README.md and docs/results.md.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _args  # noqa: E402

from realtime3d.detect.detection import VISIBILITY_THRESHOLD, Detection  # noqa: E402
from realtime3d.errors import UserError  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DEFAULT_OUT = RESULTS / "video3d.json"
QUICK_OUT = RESULTS / "video3d_quick.json"
VAL_OUT = RESULTS / "video3d_val.json"
CMU = ROOT.parent / "shared" / "data" / "cmu"
#: The video files a clip folder may hold beside its truth.npz.
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")
#: --quick: each clip's first frames only.
QUICK_FRAMES = 60
#: The baselines' names in the results: constant depth, and the truth's 2D into the default lifter, all
#: 17 joints or the visible ones only.
CONSTANT_DEPTH, TRUTH_2D, TRUTH_2D_VISIBLE = "constant-depth", "truth-2d", "truth-2d-visible"
BASELINES = (CONSTANT_DEPTH, TRUTH_2D, TRUTH_2D_VISIBLE)
#: A model's name with this suffix: the model in one pass, where the app flip-averages its lifter
#: (lifts each pose mirrored too: a test-time augmentation), so that both figures are reported apart.
SINGLE_PASS = ":single-pass"


# ----------------------------------------------------------------------------- cached detections


class RecordingDetector:
    """A Detector that passes every call to `inner` and keeps each frame's detections (their
    offline.py partial-run fields: pipeline.frame.light_detection), in call order: `frames`."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name, self.visibility_threshold = inner.name, inner.visibility_threshold
        self.frames: list[list[Detection]] = []

    @property
    def fingerprint(self) -> str:
        return self.inner.fingerprint

    def _keep(self, found: list[Detection]) -> list[Detection]:
        from realtime3d.pipeline.frame import light_detection
        self.frames.append([light_detection(d) for d in found])
        return found

    def detect_all(self, frame_bgr: np.ndarray) -> list[Detection]:
        return self._keep(self.inner.detect_all(frame_bgr))

    def detect_all_rgb(self, frame_rgb: np.ndarray) -> list[Detection]:
        return self._keep(self.inner.detect_all_rgb(frame_rgb))

    def reset(self, search: bool = True) -> None:
        self.inner.reset(search=search)

    def close(self) -> None:
        self.inner.close()


class ReplayDetector:
    """A Detector that answers each call with the next frame's saved detections, whatever the image:
    a run of the pipeline on cached detections (a RecordingDetector's frames, or the truth's 2D).

    Args:
        frames: each frame's detections, in the order the frames will be asked for.
        visibility_threshold: that of the detector that found them (PosePipeline reads it).
    """

    name = "replay"
    fingerprint = "replay"

    def __init__(self, frames: list[list[Detection]], visibility_threshold: float = VISIBILITY_THRESHOLD) -> None:
        self.frames, self.visibility_threshold = frames, float(visibility_threshold)
        self._next = 0

    def detect_all(self, frame_bgr: np.ndarray) -> list[Detection]:
        """The next frame's detections; a ValueError past the last."""
        if self._next >= len(self.frames):
            raise ValueError(f"ReplayDetector holds {len(self.frames)} frames and was asked for more")
        self._next += 1
        return list(self.frames[self._next - 1])

    def detect_all_rgb(self, frame_rgb: np.ndarray) -> list[Detection]:
        return self.detect_all(frame_rgb)

    def reset(self, search: bool = True) -> None:
        """Nothing: the saved detections already hold the detector's restarts."""

    def close(self) -> None:
        pass


def truth_detections(truth, visible_only: bool) -> list[list[Detection]]:
    """A VideoTruth's 2D as each frame's detections of every person with a visible joint: joints2d px,
    visibility 1 for every joint with a projection (visible_only: for the visible joints) and 0 for
    the others (whose pixels, where there are none, are the visible joints' mean), box the visible
    silhouette's."""
    frames = []
    for i in range(truth.num_frames):
        found = []
        for p in np.nonzero(truth.visible[i].any(-1))[0]:
            joints = truth.joints2d[i, p].copy()                                   # [17, 2] px
            projected = np.isfinite(joints).all(-1)                                # [17]
            vis = truth.visible[i, p] if visible_only else projected
            joints[~projected] = joints[truth.visible[i, p]].mean(0)
            box = truth.boxes[i, p]
            found.append(Detection(joints, vis.astype(np.float32), score=1.0,
                                   box=tuple(float(v) for v in box) if np.isfinite(box).all() else None))
        frames.append(found)
    return frames


# ----------------------------------------------------------------------------- the runs


@dataclass(frozen=True)
class Clip:
    name: str
    video: Path
    truth: Path


def clip_of(folder: Path, name: str) -> Clip:
    """The clip in folder: its one video file and truth.npz."""
    videos = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
    if len(videos) != 1:
        raise UserError(f"{folder}: {len(videos)} video files beside truth.npz, one expected")
    return Clip(name, videos[0], folder / "truth.npz")


def find_clips(folder: Path) -> list[Clip]:
    """Every clip under folder (itself included): a folder with truth.npz and one video file."""
    if not folder.is_dir():
        raise UserError(f"--clips {folder}: no such folder")
    found = [clip_of(t.parent, t.parent.relative_to(folder).as_posix() if t.parent != folder else folder.name)
             for t in sorted(folder.rglob("truth.npz"))]
    if not found:
        raise UserError(f"--clips {folder}: no truth.npz in it or its subfolders")
    return found


def render_clips(folder: Path, cmu_root: Path, workers: int, split: str = "test") -> list[Clip]:
    """The renderer's clips of a split, rendered into folder (those already there are kept): "test",
    the benchmark clips (BENCHMARK_CLIPS), or "val", the validation clips (VALIDATION_CLIPS)."""
    if not cmu_root.is_dir():
        raise UserError(f"CMU mocap not found at {cmu_root} (../shared/data/README.md); give --cmu DIR, or "
                        "score clips of your own with --clips DIR")
    try:
        from realtime3d.render.benchmark_clips import BENCHMARK_CLIPS, VALIDATION_CLIPS, render_benchmark_clips
    except ImportError as exc:
        raise UserError(f"the clip renderer is not there ({exc}); score your own clips with --clips DIR") from None
    specs = VALIDATION_CLIPS if split == "val" else BENCHMARK_CLIPS
    return [clip_of(Path(f), Path(f).name) for f in render_benchmark_clips(folder, cmu_root, workers, specs)]


def app_options(model: str, max_frames: int | None = None):
    """The pipeline options of `realtime3d video --model MODEL` with every other flag at its default,
    without overlay.mp4 (which changes no pose)."""
    from realtime3d.filters import ZERO_LAG_CUTOFF_HZ
    from realtime3d.pipeline import VideoOptions
    options = VideoOptions(model=model, cutoff_hz=ZERO_LAG_CUTOFF_HZ, max_frames=max_frames, overlay=False)
    assert options.detect_width is None, "replayed detections are in the frame's pixels"
    return options


def replay_run(video: Path, outdir: Path, lifter, frames: list[list[Detection]], visibility_threshold: float,
               options, focal: float | None = None) -> None:
    """Run video through run_video with lifter on cached detections (ReplayDetector), the pipeline
    otherwise as options build it (focal: the camera's, else options'), into outdir."""
    from realtime3d.offline import run_video
    from realtime3d.pipeline import PosePipeline
    pipeline = PosePipeline(lifter, ReplayDetector(frames, visibility_threshold),
                            focal=options.focal if focal is None else focal, hfov=options.hfov,
                            detect_width=options.detect_width, person=options.person)
    run_video(video, outdir, pipeline, cutoff_hz=options.cutoff_hz, max_frames=options.max_frames, overlay=False,
              progress=False)


def record_run(video: Path, outdir: Path, options) -> tuple[RecordingDetector, bool]:
    """The detection pass: video through run_video on build_pipeline(options) into outdir, every
    frame's detections recorded. Returns the RecordingDetector (closed) and whether the run found
    anyone (else it wrote nothing: export.NothingToExport)."""
    from realtime3d.export import NothingToExport
    from realtime3d.offline import run_video
    from realtime3d.pipeline import build_pipeline
    pipeline = build_pipeline(options)
    recorder = pipeline.detector = RecordingDetector(pipeline.detector)
    try:
        run_video(video, outdir, pipeline, cutoff_hz=options.cutoff_hz, max_frames=options.max_frames,
                  overlay=False, progress=False)
    except NothingToExport:
        return recorder, False
    finally:
        recorder.close()
    return recorder, True


def command_run(video: Path, outdir: Path, max_frames: int | None) -> Path | None:
    """The user's run: `realtime3d video VIDEO -o outdir` in a subprocess, with its defaults. Returns
    the run's folder, or None when it found nobody (its exit status for that)."""
    from realtime3d.cli import EXIT_NOTHING_TO_EXPORT
    from realtime3d.collection import output_dirs
    command = [sys.executable, "-m", "realtime3d", "video", str(video), "-o", str(outdir)]
    if max_frames is not None:
        command += ["--max-frames", str(max_frames)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode == EXIT_NOTHING_TO_EXPORT:
        return None
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise RuntimeError(f"{' '.join(command)}: exit status {done.returncode}: {lines[-1] if lines else ''}")
    return output_dirs([str(video)], outdir)[str(video)]


def score(truth, folder: Path | None) -> dict:
    """video_scoring.score_clip of the run in folder (None: a run that found nobody)."""
    from realtime3d.export import PoseRun
    from realtime3d.video_scoring import read_run, score_clip
    if folder is None:
        j = truth.joints3d.shape[2]
        nobody = PoseRun(np.zeros(0), np.zeros((0, 0, j, 3)), np.zeros((0, 0, j, 2)), np.zeros((0, 0, j)),
                         np.zeros(0), truth.image_size, truth.focal, truth.fps, "nobody found")
        return score_clip(truth, nobody)
    return score_clip(truth, *read_run(folder))


def same_poses(a: Path | None, b: Path | None) -> dict:
    """How far two runs' poses.npz are apart: whether they hold the same person ids with a pose in the
    same frames, and then the largest joints3d (mm) and joints2d (px) differences."""
    from realtime3d.video_scoring import read_run
    out = {"same_people": a is None and b is None, "joints3d_max_abs_diff_mm": None, "joints2d_max_abs_diff_px": None}
    if a is None or b is None:
        return out
    ra, rb = read_run(a)[0], read_run(b)[0]
    if ra.ids.tolist() != rb.ids.tolist() or ra.joints3d.shape != rb.joints3d.shape or (ra.valid != rb.valid).any():
        return out
    both = ra.valid                                                               # [N, P]
    out["same_people"] = True
    out["joints3d_max_abs_diff_mm"] = float(np.abs(ra.joints3d[both].astype(np.float64) - rb.joints3d[both]).max())
    out["joints2d_max_abs_diff_px"] = float(np.nanmax(np.abs(ra.joints2d[both].astype(np.float64) - rb.joints2d[both])))
    return out


def app_flips(name: str) -> bool:
    """Whether the app flip-averages the model's lifter (its card's flip_average)."""
    from realtime3d.lifting import load_model
    return bool(getattr(load_model(name), "flip_average", False))


def model_names() -> list[str]:
    """Every model of the benchmark: the default, the other shipped models, mediapipe-world, the baselines,
    then every model that the app flip-averages in a single pass too (NAME + SINGLE_PASS)."""
    from realtime3d.lifting import DEFAULT_MODEL, available_models
    from realtime3d.world_model import WORLD_MODEL
    shipped = [DEFAULT_MODEL, *(m for m in available_models() if m != DEFAULT_MODEL)]
    return [*shipped, WORLD_MODEL, *BASELINES, *(m + SINGLE_PASS for m in shipped if app_flips(m))]


def run_clip(clip: Clip, work: Path, models: list[str], max_frames: int | None) -> dict:
    """Every run of one clip (the module docstring, 1-4), scored; models: of model_names(), the default
    among them.

    Returns:
        {"clip": its facts, "rows": {model: score_clip row}, "check": same_poses of the default model's
        command run and its cached run, "timings_s": {"command", "detect", "replay": {model: s}, "score"}}.
    """
    from realtime3d.camera import default_focal
    from realtime3d.capture import VideoSource
    from realtime3d.evaluate import constant_depth
    from realtime3d.export import NothingToExport
    from realtime3d.io.video_truth import read_truth
    from realtime3d.lifting import DEFAULT_MODEL, load_model
    from realtime3d.world_model import WORLD_MODEL

    truth = read_truth(clip.truth)
    frames = len(VideoSource(clip.video))
    if frames != truth.num_frames:
        raise UserError(f"{clip.video}: {frames} frames, but its {clip.truth.name} has {truth.num_frames}")
    if max_frames is not None:
        truth = truth.first_frames(max_frames)
    work = work / clip.name.replace("/", "_")
    shutil.rmtree(work, ignore_errors=True)
    folders: dict[str, Path | None] = {}
    timings: dict = {"replay": {}}

    start = time.perf_counter()
    folders[DEFAULT_MODEL] = command_run(clip.video, work / "command", max_frames)
    timings["command"] = time.perf_counter() - start

    start = time.perf_counter()
    recorder, found = record_run(clip.video, work / WORLD_MODEL, app_options(WORLD_MODEL, max_frames))
    folders[WORLD_MODEL] = work / WORLD_MODEL if found else None
    timings["detect"] = time.perf_counter() - start

    cached = f"{DEFAULT_MODEL}-cached"          # the default model on the cached detections: the check
    detected = recorder.frames, recorder.visibility_threshold, None
    replays = {name: (name.removesuffix(SINGLE_PASS), *detected) for name in models
               if name not in (DEFAULT_MODEL, WORLD_MODEL, *BASELINES[1:])}
    replays[cached] = (DEFAULT_MODEL, *detected)
    for name, visible_only in ((TRUTH_2D, False), (TRUTH_2D_VISIBLE, True)):
        if name in models:      # a perfect detector, the camera's focal
            replays[name] = (DEFAULT_MODEL, truth_detections(truth, visible_only), VISIBILITY_THRESHOLD, truth.focal)
    options = app_options(DEFAULT_MODEL, max_frames)
    for label, (model, frames_found, threshold, focal) in replays.items():
        start = time.perf_counter()
        lifter = constant_depth() if model == CONSTANT_DEPTH else load_model(model)
        if label.endswith(SINGLE_PASS):
            lifter.flip_average = False
        folders[label] = work / label
        try:
            replay_run(clip.video, work / label, lifter, frames_found, threshold, options, focal)
        except NothingToExport:
            folders[label] = None
        timings["replay"][label] = time.perf_counter() - start

    start = time.perf_counter()
    rows = {name: score(truth, folders[name]) for name in models}
    check = same_poses(folders[DEFAULT_MODEL], folders[cached])
    timings["score"] = time.perf_counter() - start
    facts = {"frames": truth.num_frames, "fps": truth.fps, "image_size": list(truth.image_size),
             "truth_people": truth.num_people, "multi_person": rows[DEFAULT_MODEL]["multi_person"],
             "true_focal_px": truth.focal, "app_focal_px": default_focal(truth.image_size, options.hfov)}
    return {"clip": facts, "rows": rows, "check": check, "timings_s": timings}


# ----------------------------------------------------------------------------- the benchmark


def _set_up_worker() -> None:
    """A worker's set-up, as the command's (runtime.set_up_pipeline_process); one OpenMP thread."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from realtime3d.runtime import set_up_pipeline_process
    set_up_pipeline_process()


def run_clips(clips: list[Clip], work: Path, models: list[str], max_frames: int | None, workers: int) -> dict:
    """run_clip of every clip, `workers` clips at a time (worker processes when more than one);
    {clip name: its result}, in the clips' order."""
    from tqdm import tqdm
    done: dict[str, dict] = {}
    bar = tqdm(total=len(clips), unit="clip", desc="video3d", leave=False, dynamic_ncols=True)
    if workers == 1 or len(clips) == 1:
        _set_up_worker()
        for clip in clips:
            done[clip.name] = run_clip(clip, work, models, max_frames)
            bar.update()
    else:
        # spawn: forking a process that holds LiteRT and torch threads can deadlock the child
        with ProcessPoolExecutor(max_workers=min(workers, len(clips)), mp_context=get_context("spawn"),
                                 initializer=_set_up_worker) as pool:
            futures = {pool.submit(run_clip, clip, work, models, max_frames): clip.name for clip in clips}
            for future in as_completed(futures):
                done[futures[future]] = future.result()
                bar.update()
    bar.close()
    return {clip.name: done[clip.name] for clip in clips}


def rules() -> dict:
    """The scoring's rules in words, from video_scoring's constants."""
    from realtime3d import video_scoring as vs
    return {"counted": f"a truth person-frame counts with visible_fraction >= {vs.MIN_VISIBLE_FRACTION:g} and "
                       f">= {vs.MIN_VISIBLE_JOINTS} of 17 joints visible",
            "match": f"Hungarian per frame on mean 2D distance over the truth's visible joints / the truth's 2D "
                     f"torso height (hips' to shoulders' midpoints); a match needs <= {vs.MATCH_TORSO:g} torso",
            "3d": "P-MPJPE (Procrustes with scale), MPJPE and PCK@150 / AUC root-relative (pelvis, no scale fix) "
                  "on the matched counted person-frames; joints13 = pelvis and the 12 limb joints",
            "2d": "detector joint distance / truth torso height, over the visible joints of the matched counted "
                  "person-frames",
            "jitter": "mean |acceleration - the truth's| root-relative, mm/frame^2, over 3 consecutive frames "
                      "matched to one run person",
            "id_switches": "changes of a counted truth person's matched run id (gaps skipped), multi-person clips",
            "floor": "the run's one floor (poses.npz ground) against each frame's true floor: camera height "
                     "error (estimate - truth) and up-direction angle; aggregated as means over clips",
            "aggregate": "over clips by person-frames (found: counted; 3D: matched; 2D: visible joints; "
                         "jitter: frame triples)"}


def descriptions(models: list[str]) -> dict[str, dict]:
    """Each model's kind, what it is and its mode ("single pass" or "flip-averaged")."""
    from realtime3d.lifting import DEFAULT_MODEL
    from realtime3d.world_model import WORLD_MODEL
    out = {}
    for name in models:
        if name.endswith(SINGLE_PASS):
            out[name] = {"kind": "cached detections", "what": f"--model {name.removesuffix(SINGLE_PASS)} in a "
                         "single pass (the app flip-averages it), on the detection pass's detections"}
        elif name == DEFAULT_MODEL:
            out[name] = {"kind": "command", "what": "`realtime3d video` with its defaults, in a subprocess"}
        elif name == WORLD_MODEL:
            out[name] = {"kind": "detection pass", "what": "MediaPipe's world landmarks placed in the camera frame; "
                         "the run whose detections the others replay"}
        elif name == CONSTANT_DEPTH:
            out[name] = {"kind": "baseline", "what": "the detector's 2D at a constant depth, sized as a lifter's "
                         "(evaluate.constant_depth), on the cached detections"}
        elif name == TRUTH_2D:
            out[name] = {"kind": "baseline", "what": f"the truth's 2D, all 17 joints, into {DEFAULT_MODEL} with the "
                         "truth's focal: the lifter's own error"}
        elif name == TRUTH_2D_VISIBLE:
            out[name] = {"kind": "baseline", "what": f"the truth's 2D, the visible joints only, into {DEFAULT_MODEL} "
                         "with the truth's focal: a perfect detector that knows what it cannot see"}
        else:
            out[name] = {"kind": "cached detections", "what": "--model on the detection pass's detections"}
        flips = (name not in (WORLD_MODEL, CONSTANT_DEPTH) and not name.endswith(SINGLE_PASS)
                 and app_flips(DEFAULT_MODEL if name in (TRUTH_2D, TRUTH_2D_VISIBLE) else name))
        out[name]["mode"] = "flip-averaged" if flips else "single pass"
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=Path, metavar="DIR",
                    help="score the clips under DIR (folders of a video file + truth.npz) instead of rendering them")
    ap.add_argument("--split", choices=("test", "val"), default="test",
                    help="which rendered clips: the benchmark's, of the CMU test subjects (test), or the validation "
                         "clips of the val subjects (val), where routes and settings are chosen (default: %(default)s)")
    ap.add_argument("--out", type=Path, help=f"the results file (default: {DEFAULT_OUT.relative_to(ROOT)}; "
                    f"with --quick {QUICK_OUT.relative_to(ROOT)}; with --split val {VAL_OUT.relative_to(ROOT)})")
    ap.add_argument("--models", type=_args.names, metavar="A,B",
                    help="only these models (the default model always runs: it is the command's run); "
                    "default: every shipped lifter, mediapipe-world, constant-depth, truth-2d and truth-2d-visible")
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), metavar="N",
                    help="clips in parallel, and the renderer's workers (default: %(default)s)")
    ap.add_argument("--quick", action="store_true", help=f"each clip's first {QUICK_FRAMES} frames only")
    ap.add_argument("--work", type=Path, metavar="DIR",
                    help="where rendered clips and every run's files go, kept (default: a temporary folder, removed)")
    ap.add_argument("--cmu", type=Path, default=CMU, metavar="DIR", help="the CMU mocap the renderer reads")
    args = ap.parse_args(argv)

    from _env import commit, machine_info, write_json

    from realtime3d.lifting import DEFAULT_MODEL
    from realtime3d.native_logs import quiet_native_logs
    from realtime3d.video_scoring import aggregate
    quiet_native_logs()
    known = model_names()
    models = known if args.models is None else [m for m in known if m in set(args.models) | {DEFAULT_MODEL}]
    unknown = sorted(set(args.models or []) - set(known))
    if unknown or args.workers < 1:
        ap.error(f"unknown models: {', '.join(unknown)} (known: {', '.join(known)})" if unknown else
                 "--workers must be at least 1")
    out = args.out or (QUICK_OUT if args.quick else VAL_OUT if args.split == "val" else DEFAULT_OUT)
    max_frames = QUICK_FRAMES if args.quick else None
    work = args.work or Path(tempfile.mkdtemp(prefix="video3d-"))
    started = time.perf_counter()
    try:
        if args.clips is not None:
            clips, render_s = find_clips(args.clips), 0.0
        else:
            clips = render_clips(work / "clips", args.cmu, args.workers, args.split)
            render_s = time.perf_counter() - started
        results = run_clips(clips, work / "runs", models, max_frames, args.workers)
    except UserError as exc:
        print(f"bench_video3d: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    checks = {name: r["check"] for name, r in results.items()}
    first = next(iter(checks))
    report = {
        "benchmark": "video3d: the app on videos with exact 3D truth",
        "machine": machine_info(), "commit": commit(),
        "settings": {"clips": str(args.clips) if args.clips else
                     f"rendered: realtime3d.render.benchmark_clips, {'VALIDATION' if args.split == 'val' else 'BENCHMARK'}"
                     "_CLIPS",
                     "split": None if args.clips else args.split,
                     "quick": args.quick, "max_frames": max_frames, "workers": args.workers,
                     "default_model": DEFAULT_MODEL,
                     "app": "realtime3d video defaults: the focal from the default field of view (unknown to the "
                            "user), every person, the zero-lag filter; truth-2d alone uses the truth's focal"},
        "rules": rules(),
        "clips": {name: r["clip"] for name, r in results.items()},
        "cached_vs_command": {"clip": first, **checks[first],
                              "max_over_clips_mm": max((c["joints3d_max_abs_diff_mm"] for c in checks.values()
                                                        if c["joints3d_max_abs_diff_mm"] is not None), default=None),
                              "same_people_every_clip": all(c["same_people"] for c in checks.values()),
                              "per_clip": checks},
        "models": {name: {**descriptions(models)[name],
                          "aggregate": aggregate([r["rows"][name] for r in results.values()]),
                          "per_clip": {clip: r["rows"][name] for clip, r in results.items()}} for name in models},
        "timings_s": {"render": render_s, "total": time.perf_counter() - started,
                      "per_clip": {name: r["timings_s"] for name, r in results.items()}},
    }
    write_json(out, report)
    from readme_tables import video3d
    print(video3d(report))
    print(f"cached detections vs the command ({DEFAULT_MODEL}, {first}): joints3d differ by at most "
          f"{report['cached_vs_command']['joints3d_max_abs_diff_mm']} mm; results -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
