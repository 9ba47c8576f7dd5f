"""The `realtime3d` command: thin subcommands that parse flags and call the modules."""
from __future__ import annotations

import argparse
import json
import sys

from .errors import UserError

#: The subcommands that run the pose pipeline: main() sets their process up (runtime.py).
PIPELINE_COMMANDS = ("webcam", "video", "image")
#: The exit status of a run that found nobody to export (export.NothingToExport); 2 is bad input.
EXIT_NOTHING_TO_EXPORT = 3


def counted(n: int, noun: str) -> str:
    """'1 frame', '2 frames', '0 frames'; '1 person', '2 people'."""
    plural = "people" if noun == "person" else f"{noun}s"
    return f"{n} {noun}" if n == 1 else f"{n} {plural}"


def _cmd_models(args) -> int:
    import json

    from .detect.skeleton_net import DETECTORS_DIR, shipped_skeleton_nets
    from .lifting import DEFAULT_MODEL, LIVE_MODEL, available_models, model_card
    from .world_model import WORLD_CARD, WORLD_MODEL
    print("lifters (--model):")
    cards = [(name, model_card(name)) for name in available_models()] + [(WORLD_MODEL, WORLD_CARD)]
    detectors = [(name, json.loads(p.read_text()) if (p := DETECTORS_DIR / f"{name}.json").exists() else {})
                 for name in shipped_skeleton_nets()]
    for i, (name, card) in enumerate(cards + detectors):
        if i == len(cards):
            print("2D detectors (--detector skeleton-net --detector-weights NAME|PATH):")
        roles = [role for role, model in (("default", DEFAULT_MODEL), ("webcam default", LIVE_MODEL)) if model == name]
        note = f" ({', '.join(roles)})" if roles and i < len(cards) else ""
        by_mode = {mode.replace("_", " "): scores["p_mpjpe_mm"]
                   for mode, scores in card.get("cmu_test_by_mode", {}).items()}
        p = card.get("cmu_test", {}).get("p_mpjpe_mm")
        score = (f"  cmu-test P-MPJPE {', '.join(f'{v:.1f} mm {m}' for m, v in by_mode.items())}" if by_mode
                 else f"  cmu-test P-MPJPE {p:.1f} mm" if p is not None else "")
        print(f"{name}{note}{score}")
        if card.get("description"):
            print(f"    {card['description']}")
        facts = []
        if "protocol" in card:
            facts.append(f"protocol {card['protocol']}")
        if "selection" in card:
            facts.append(f"selected on {card['selection']['criterion']}")
        if "needs" in card:
            facts.append(f"needs {card['needs']}")
        if "reads_3d" in card:
            facts.append(f"3D read: {card['reads_3d']}")
        if "training_seconds" in card:
            threads = card.get("threads", card.get("config", {}).get("train", {}).get("threads", "?"))
            facts.append(f"trained {card['training_seconds'] / 60:.1f} min on "
                         f"{counted(threads, 'thread') if isinstance(threads, int) else f'{threads} threads'}")
        if facts:
            print(f"    {'; '.join(facts)}")
    return 0


def _cmd_eval(args) -> int:
    import os

    from .evaluate import as_json, baselines, evaluate, format_table, load_dataset
    from .io._atomic import atomic_write_text
    from .lifting import MIN_VISIBLE_JOINTS, load_model
    from .skeleton import H36M17
    from .world_model import WORLD_MODEL

    most = H36M17.num_joints - MIN_VISIBLE_JOINTS
    if not 0 <= args.drop_joints <= most:
        raise UserError(f"--drop-joints must be between 0 and {most}, got {args.drop_joints}")
    if args.json:  # fail before the work, not after it
        folder = os.path.dirname(os.path.abspath(args.json))
        if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
            raise UserError(f"--json: cannot write into {folder}")
    if args.model == WORLD_MODEL:
        raise UserError(f"{WORLD_MODEL} is MediaPipe's own 3D: it runs in webcam, video and image, not on 2D files")
    model = load_model(args.model)        # a fusion model lifts 2D files with its lifter alone
    data_name, seq = load_dataset(args.data)
    methods = {"model": model, **baselines()}
    result = evaluate(seq, methods, drop_joints=args.drop_joints, seed=args.seed)
    print(f"data {data_name}, model {model.name}, drop_joints {args.drop_joints}, seed {args.seed}")
    print(format_table(result, list(methods)))
    if args.json:
        atomic_write_text(args.json, json.dumps(as_json(result, model.name, data_name, args.drop_joints,
                                                        args.seed), indent=2) + "\n")
    return 0


class _TrainHelp(argparse.Action):
    """-h/--help of `train`: the usage, the flags and the [train] keys; after CONFIG, that config's
    [train] and [params] keys with the values it loads (the --set given before --help applied)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, **kwargs):
        super().__init__(option_strings, dest=dest, default=argparse.SUPPRESS, nargs=0, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        config = getattr(namespace, "config", None)
        if config:
            from .trainers.config import keys_help, load_experiment
            try:
                exp = load_experiment(config, getattr(namespace, "set", None) or [])
            except UserError as exc:
                parser.error(str(exc))
            parser.epilog = (f"The keys of {exp.name} (method {exp.method}) as it loads them; each is a "
                             f"--set KEY=VALUE:\n\n[train]\n{keys_help(exp.train, 'train')}\n\n"
                             f"[params]\n{keys_help(exp.params, 'params')}")
        parser.print_help()
        parser.exit()


def _cmd_train(args) -> int:
    from .trainers.base import train
    from .trainers.config import load_experiment

    exp = load_experiment(args.config, args.set)
    summary = train(exp, args.run_dir or f"runs/{exp.name}", args.resume)
    if summary["rank"] == 0:  # under torchrun, rank 0 validates and speaks
        print(f"best {summary['criterion']} {summary['best_score']:.2f} after {summary['steps']} steps")
        if summary["best_path"] is not None:
            print("\n".join(_next_steps(summary["best_path"], summary["product"])))
    return 0


def _next_steps(best: str, product: str) -> list[str]:
    """The closing lines of `train`: where the selected model is, and the commands that use it."""
    lines = [f"best checkpoint: {best}"]
    if product == "detector":
        lines += [f"  evaluate: python benchmarks/bench_skeleton_net.py --weights {best}",
                  f"  use:      realtime3d video CLIP.mp4 -o out --detector skeleton-net --detector-weights {best}"]
    elif product == "encoder":
        lines += [f"  evaluate: python benchmarks/bench_chen.py --encoder {best}",
                  f"  use:      realtime3d train chen --set params.encoder={best}"]
    else:
        lines += [f"  evaluate: realtime3d eval --data cmu-test --model {best}",
                  f"  use:      realtime3d video CLIP.mp4 -o out --model {best}   (or webcam, image)"]
    return lines


def _cmd_plot(args) -> int:
    from .trainers.plot import plot_run
    print(plot_run(args.run_dir, args.output))
    return 0


# ----------------------------------------------------------------------------- webcam, video, image


def _warn_if_experimental(options) -> None:
    """The skeleton net: one warning line as the run starts (skeleton_net.EXPERIMENTAL)."""
    if options.skeleton_net:
        from .detect.skeleton_net import EXPERIMENTAL
        print(f"realtime3d: warning: {EXPERIMENTAL}", file=sys.stderr)


def _pipeline_options(args, **extra):
    """VideoOptions from the flags (which it checks: a bad --detector-weights file fails here), the lifter
    resolved (--model, else the skeleton net's own lifter with the skeleton net, else the command's default)."""
    from dataclasses import replace

    from .pipeline import VideoOptions, lifter_for
    options = VideoOptions(model=args.model, focal=args.focal, hfov=args.hfov, detect_width=args.detect_width,
                           detector=args.detector, detector_weights=args.detector_weights, person=args.person,
                           max_people=args.max_people, **extra)
    return replace(options, model=lifter_for(options.detector, options.detector_weights, args.model,
                                             args.default_model))


def _live_display(source, title: str, panel: bool = False):
    """on_result for run_live and run_video: the 2D overlay window and the open3d window, with status."""
    import time

    from .viz.display import VIEWER_SIZE, DisplayError, side_by_side_positions
    from .viz.frame import draw_result
    from .viz.viewer import PoseViewer
    from .viz.window2d import OverlayWindow
    where_2d, where_3d = side_by_side_positions()
    try:
        overlay = OverlayWindow(f"{title} 2D", position=where_2d)
        viewer = PoseViewer(title=f"{title} 3D", width=VIEWER_SIZE[0], height=VIEWER_SIZE[1],
                            position=where_3d)
    except DisplayError as exc:
        raise UserError(f"{exc} (or pass --no-show)") from None
    state = {"last": None, "fps": 0.0, "people": []}

    def on_result(frame, result) -> bool:
        if frame is None:                      # no new frame: keep the windows alive, show the status
            return viewer.update_people(state["people"])
        now = time.monotonic()
        if state["last"] is not None:
            state["fps"] = 0.9 * state["fps"] + 0.1 / max(now - state["last"], 1e-6)
        state["last"] = now
        state["people"] = result.lifted
        lines = [f"{state['fps']:.0f} fps", getattr(source, "status", "video")]
        lines.append(counted(len(state["people"]), "person") if state["people"] else "no person")
        picture = draw_result(frame.image.copy(), result, None, lines + ["q / Esc: quit"], panel=panel)
        return overlay.show(picture) and viewer.update_people(state["people"])

    def close() -> None:
        overlay.close()
        viewer.close()
    return on_result, close


def _cmd_webcam(args) -> int:
    from .capture import LiveSource
    from .export import NothingToExport, make_folder, remove_empty_folders, write_run
    from .filters import OneEuroFilter
    from .live import run_live
    from .pipeline import build_pipeline

    if args.max_seconds is not None and not args.max_seconds > 0:
        raise UserError(f"--max-seconds must be positive, got {args.max_seconds:g}")
    _refuse_with_no_filter(args, "--min-cutoff", "--beta", "--d-cutoff")
    options = _pipeline_options(args)
    try:
        live_filter = None if args.no_filter else OneEuroFilter(*_one_euro_parameters(args))
    except ValueError as exc:             # the flags' values, checked by the filter itself
        raise UserError(str(exc)) from None
    source = LiveSource(args.camera)          # a camera that does not exist fails here
    try:
        created = make_folder(args.record) if args.record else []
        _warn_if_experimental(options)
        pipeline = build_pipeline(options, live_filter=live_filter)
        on_result, close = _live_display(source, "realtime3d", panel=options.skeleton_net) \
            if not args.no_show else (None, lambda: None)
        try:
            stats = run_live(source.start(), pipeline, on_result, max_seconds=args.max_seconds,
                             record=bool(args.record))
        finally:
            close()
    finally:
        source.stop()
    latency = (f"; latency capture -> 3D {stats.latency_ms_mean:.0f} ms mean, {stats.latency_ms_p95:.0f} ms p95"
               if stats.frames else "")
    print(f"{source.name}: {counted(stats.frames, 'frame')} in {stats.seconds:.1f} s ({stats.fps:.1f} fps), "
          f"a person in {stats.with_person}{latency}; last status: {source.status}")
    if args.record:
        try:
            if stats.recording is None:
                raise UserError("nothing recorded: no frame was processed")
            paths = write_run(args.record, stats.recording)
        except NothingToExport as exc:
            remove_empty_folders(created)
            print(f"realtime3d: error: {exc}", file=sys.stderr)
            return EXIT_NOTHING_TO_EXPORT
        except UserError:
            remove_empty_folders(created)
            raise
        print(f"recorded {counted(len(stats.recording.timestamps), 'frame')}: "
              f"{', '.join(str(p) for p in paths.values())}")
    return 0


def _refuse_with_no_filter(args, *flags: str) -> None:
    """--no-filter with a filter parameter given too is a contradiction: refuse it."""
    given = [f for f in flags if getattr(args, f.lstrip("-").replace("-", "_")) is not None]
    if args.no_filter and given:
        raise UserError(f"{', '.join(given)} and --no-filter contradict each other; give one or the other")


def _one_euro_parameters(args) -> tuple[float, float, float]:
    from .filters import MEDIAPIPE_BETA, MEDIAPIPE_D_CUTOFF, MEDIAPIPE_MIN_CUTOFF
    return (MEDIAPIPE_MIN_CUTOFF if args.min_cutoff is None else args.min_cutoff,
            MEDIAPIPE_BETA if args.beta is None else args.beta,
            MEDIAPIPE_D_CUTOFF if args.d_cutoff is None else args.d_cutoff)


def _interrupt_on_sigterm() -> None:
    """SIGTERM (a scheduler's stop) ends a run like Ctrl-C: temp files go, saved partial results stay."""
    import signal

    def raise_interrupt(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, raise_interrupt)


def _cmd_video(args) -> int:
    from .camera import check_focal
    from .capture import VideoSource
    from .collection import output_dirs, parse_shard, run_videos, select_shard
    from .export import NothingToExport, make_folder, remove_empty_folders
    from .filters import ZERO_LAG_CUTOFF_HZ
    from .lifting import load_model
    from .pipeline import check_at_least_one

    check_at_least_one("--workers", args.workers)
    if args.show and args.workers > 1:
        raise UserError("--show needs --workers 1")
    if args.overlay_height < 0 or 0 < args.overlay_height < 16:
        raise UserError(f"--overlay-height must be 0 or at least 16 px, got {args.overlay_height}")
    _refuse_with_no_filter(args, "--cutoff-hz")
    shard = parse_shard(args.shard) if args.shard else None
    dirs = output_dirs(args.inputs, args.outdir)      # from the whole collection: the same in every shard
    chosen = select_shard(args.inputs, shard)
    cutoff = None if args.no_filter else ZERO_LAG_CUTOFF_HZ if args.cutoff_hz is None else args.cutoff_hz
    options = _pipeline_options(args, cutoff_hz=cutoff, resume=args.resume, max_frames=args.max_frames,
                                overlay_height=args.overlay_height or None)
    if not chosen:                                    # an array job with more shards than videos
        total = len(select_shard(args.inputs, None))
        print(f"shard {args.shard} selects none of {'the only video' if total == 1 else f'the {total} videos'}; "
              "nothing to do")
        return 0
    for path in chosen:                               # missing, not a video, no frames: fail before any work
        source = VideoSource(path)
        if args.focal is not None:
            check_focal(args.focal, source.image_size)
    load_model(options.model)                         # a file that is no model: fail once, before any work
    created = make_folder(args.outdir)
    _warn_if_experimental(options)
    _interrupt_on_sigterm()
    on_result, close = _live_display(None, "realtime3d video", panel=options.skeleton_net) \
        if args.show else (None, lambda: None)
    try:
        results = run_videos({p: dirs[p] for p in chosen}, options, workers=args.workers, on_result=on_result)
    except KeyboardInterrupt:
        print("realtime3d: interrupted; run the same command with --resume to continue", file=sys.stderr)
        return 130
    finally:
        close()
    failed = empty = 0
    for path, outcome in results.items():
        if isinstance(outcome, Exception):
            empty += isinstance(outcome, NothingToExport)
            failed += not isinstance(outcome, NothingToExport)
            msg = str(outcome).splitlines()[0] if str(outcome) else outcome.__class__.__name__
            print(f"realtime3d: error: {msg}", file=sys.stderr)
        elif outcome.already_done:
            print(f"{path}: already done in {outcome.outdir} (--resume)")
        else:
            resumed = f", {outcome.resumed_from} resumed" if outcome.resumed_from else ""
            for warning in outcome.warnings:
                print(f"realtime3d: warning: {warning}", file=sys.stderr)
            print(f"{path}: {counted(outcome.frames, 'frame')} ({outcome.with_person} with a person, "
                  f"{counted(outcome.people, 'person id')}, {outcome.skipped} failed to decode and skipped{resumed}) "
                  f"in {outcome.seconds:.1f} s -> {outcome.outdir}")
    remove_empty_folders(created)                     # -o made here, and no video wrote into it
    return 2 if failed else EXIT_NOTHING_TO_EXPORT if empty else 0


def _cmd_image(args) -> int:
    from .camera import check_focal
    from .collection import output_dirs
    from .export import make_folder
    from .images import process_image, read_image, write_image_outputs
    from .pipeline import build_pipeline

    options = _pipeline_options(args)
    images = {path: read_image(path) for path in dict.fromkeys(args.inputs)}   # bad input fails first
    for image in images.values():
        if args.focal is not None:
            check_focal(args.focal, (image.shape[1], image.shape[0]))
    make_folder(args.outdir)
    _warn_if_experimental(options)
    names = output_dirs(list(images), args.outdir)
    pipeline = build_pipeline(options, static_images=True)
    for path, image in images.items():
        result = process_image(pipeline, image)
        written = write_image_outputs(names[path], image, result, pipeline.focal_for(image.shape[1::-1]), path,
                                      panel=options.skeleton_net)
        lifted = [p for p in result.people if p.complete]
        if len(lifted) == 1:
            visible = int((lifted[0].visibility >= pipeline.visibility_threshold).sum())
            found = f"a person ({visible} of {counted(len(lifted[0].visibility), 'joint')} visible)"
        else:
            found = counted(len(lifted), "person") if lifted else "no person"
        print(f"{path}: {found} -> {', '.join(str(p) for p in written)}")
    return 0


def _add_pipeline_flags(p: argparse.ArgumentParser, model: str) -> None:
    from .defaults import DEFAULT_DETECTOR, DEFAULT_HFOV_DEG, DETECTORS, detector_name
    p.add_argument("--detector", type=detector_name, choices=DETECTORS, default=DEFAULT_DETECTOR,
                   help="the 2D detector: blazepose, MediaPipe's BlazePose models on every person; or "
                   "skeleton-net, the image path's skeleton net (Phi -> Omega, with the agreement of the two as a "
                   "confidence; EXPERIMENTAL and less accurate than MediaPipe: a person below its confidence "
                   "threshold is not answered). The old spellings mediapipe and skeleton still work "
                   f"(default: {DEFAULT_DETECTOR})")
    p.add_argument("--detector-weights", metavar="NAME|PATH",
                   help="with --detector skeleton-net: a shipped skeleton net's name (see `realtime3d models`) "
                   "or a skeleton-net .pt from `realtime3d train` (default: the shipped skeleton-net)")
    p.add_argument("--model", metavar="NAME|PATH",
                   help=f"a shipped model name (see `realtime3d models`), a .pt checkpoint, or mediapipe-world "
                   f"(MediaPipe's own 3D, with --detector blazepose) (default: {model}; with --detector "
                   "skeleton-net, the lifter the skeleton net was trained with)")
    p.set_defaults(default_model=model)
    p.add_argument("--focal", type=float, metavar="PX",
                   help="the camera's focal length in pixels (default: from --hfov)")
    p.add_argument("--hfov", type=float, default=DEFAULT_HFOV_DEG, metavar="DEG",
                   help=f"horizontal field of view assumed without --focal (default: {DEFAULT_HFOV_DEG:g})")
    p.add_argument("--detect-width", type=int, metavar="PX",
                   help="the detector sees a copy of wider frames downscaled to this width; joints are "
                   "mapped back to full-resolution pixels (default: full resolution)")
    p.add_argument("--person", default="all", metavar="all|largest|ID",
                   help="the people to keep, each with their id in the outputs: every tracked person (all); "
                   "the main person, the largest when first seen, followed while tracked (largest); or the "
                   "person with that id (default: all)")
    p.add_argument("--max-people", type=int, metavar="N",
                   help="the detector follows at most the N largest people, N >= 1 (default: all)")


def _add_app_commands(sub) -> None:
    from .filters import MEDIAPIPE_BETA, MEDIAPIPE_D_CUTOFF, MEDIAPIPE_MIN_CUTOFF, ZERO_LAG_CUTOFF_HZ
    from .defaults import DEFAULT_MODEL, LIVE_MODEL, OVERLAY_HEIGHT

    p = sub.add_parser("webcam", help="live 3D skeletons from a camera",
                       description="Live 3D skeletons from a camera: an OpenCV window with the 2D overlay "
                       "and the fps, and an open3d window with the 3D skeleton. q or Esc quits.",
                       epilog=f"exit status: 0 done; 2 bad input; {EXIT_NOTHING_TO_EXPORT} with --record, nothing "
                       "to export: no person (of --person) in any frame of the session, and nothing written")
    p.add_argument("--camera", default="0", metavar="N|PATH|URL",
                   help="a camera index, or a video file / stream URL played as a live camera (default: 0)")
    p.add_argument("--no-show", action="store_true", help="run headless: no windows")
    _add_pipeline_flags(p, LIVE_MODEL)
    p.add_argument("--no-filter", action="store_true",
                   help="no One Euro filtering of the 3D joints (not with --min-cutoff, --beta, --d-cutoff)")
    p.add_argument("--min-cutoff", type=float, metavar="HZ",
                   help=f"One Euro minimum cutoff (default: {MEDIAPIPE_MIN_CUTOFF:g}, MediaPipe's pose value)")
    p.add_argument("--beta", type=float, metavar="B",
                   help=f"One Euro speed coefficient (default: {MEDIAPIPE_BETA:g}, MediaPipe's pose value)")
    p.add_argument("--d-cutoff", type=float, metavar="HZ",
                   help=f"One Euro derivative cutoff (default: {MEDIAPIPE_D_CUTOFF:g}, MediaPipe's pose value)")
    p.add_argument("--record", metavar="OUTDIR",
                   help="on exit, write the session's poses (poses.npz/json/csv, poses_<id>.bvh) into OUTDIR")
    p.add_argument("--max-seconds", type=float, metavar="S",
                   help="stop after S seconds, S > 0 (default: run until q)")
    p.set_defaults(func=_cmd_webcam)

    p = sub.add_parser("video", help="video files to overlay.mp4 and pose files",
                       description="Video files to OUTDIR/<video name>/: overlay.mp4 (2D overlay beside a "
                       "3D view), poses.npz, poses.json, poses.csv and a poses_<id>.bvh per person (each person "
                       "--person keeps; docs/outputs.md). Headless unless --show.",
                       epilog=f"exit status: 0 every video done (or a --shard that selects none); 2 bad input, or "
                       f"a video failed; {EXIT_NOTHING_TO_EXPORT} nothing to export: a video with no person (of "
                       "--person) in any frame, which gets no folder (the others are done and named in the "
                       "summary); 130 interrupted (--resume continues)")
    p.add_argument("inputs", nargs="+", metavar="IN", help="video files (a still image is refused: use `image`)")
    p.add_argument("-o", "--outdir", default=".", metavar="OUTDIR",
                   help="outputs go to OUTDIR/<video name>/ (default: the current folder)")
    p.add_argument("--show", action="store_true", help="show the overlay and 3D windows while processing")
    p.add_argument("--no-show", action="store_true", help="no windows (the default; accepted for symmetry)")
    p.add_argument("--resume", action="store_true",
                   help="continue interrupted runs from their saved partial results; skip finished ones")
    p.add_argument("--workers", type=int, default=1, metavar="N", help="process N videos in parallel (default: 1)")
    p.add_argument("--shard", metavar="I/N",
                   help="process only every N-th video of the sorted inputs, starting at the I-th (0-based)")
    _add_pipeline_flags(p, DEFAULT_MODEL)
    p.add_argument("--cutoff-hz", type=float, metavar="HZ",
                   help="cutoff of the zero-lag low-pass applied to the exported 3D "
                   f"(default: {ZERO_LAG_CUTOFF_HZ:g})")
    p.add_argument("--no-filter", action="store_true", help="export the unfiltered 3D (not with --cutoff-hz)")
    p.add_argument("--max-frames", type=int, metavar="N", help="process only the first N frames of each video")
    p.add_argument("--overlay-height", type=int, default=OVERLAY_HEIGHT, metavar="PX",
                   help="overlay.mp4 is at most PX pixels high; 0: the video's own height "
                   f"(default: {OVERLAY_HEIGHT})")
    p.set_defaults(func=_cmd_video)

    p = sub.add_parser("image", help="3D skeletons from photos",
                       description="Photos to OUTDIR/<name>.json (2D, visibility, 3D) and "
                       "OUTDIR/<name>.overlay.png (2D overlay beside a 3D view).")
    p.add_argument("inputs", nargs="+", metavar="IN", help="image files (anything OpenCV reads)")
    p.add_argument("-o", "--outdir", default=".", metavar="OUTDIR",
                   help="where to write (default: the current folder)")
    _add_pipeline_flags(p, DEFAULT_MODEL)
    p.set_defaults(func=_cmd_image)


class _SubParsers(argparse._SubParsersAction):
    """Every subcommand also takes --verbose and --debug."""

    def add_parser(self, name, **kwargs):
        p = super().add_parser(name, **kwargs)
        p.add_argument("--verbose", action="store_true",
                       help="log realtime3d's own INFO lines, and let MediaPipe, TFLite, absl, libpng, FFmpeg and "
                       "libwayland print their own log lines (hidden by default)")
        p.add_argument("--debug", action="store_true",
                       help="show the full traceback of every error, also of the one-line errors about bad input")
        return p


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    from .defaults import DEFAULT_MODEL
    parser = argparse.ArgumentParser(prog="realtime3d", description="Live and offline 3D human skeletons "
                                     "from 2D poses; training and evaluation of lifting networks.")
    parser.add_argument("--version", action="version", version=f"realtime3d {__version__}")
    parser.register("action", "parsers", _SubParsers)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("eval", help="score a lifter and the two baselines on 3D data",
                       description="Score a lifting model, the constant-depth baseline and the supervised "
                       "baseline on the same frames, per clip and overall.")
    p.add_argument("--data", required=True, metavar="FILE.npz|FILE.bvh|cmu-test",
                   help="a pose-sequence .npz file, a CMU-dialect .bvh file, or cmu-test "
                   "(the held-out CMU subjects 09, 13, 14)")
    p.add_argument("--model", default=DEFAULT_MODEL, metavar="NAME|PATH",
                   help="a shipped model name (see `realtime3d models`; a fusion model lifts 2D files with its "
                        f"lifter alone) or a .pt checkpoint (default: {DEFAULT_MODEL})")
    p.add_argument("--json", metavar="OUT", help="also write the results as JSON to OUT")
    p.add_argument("--drop-joints", type=int, default=0, metavar="K",
                   help="hide K random joints per frame, to measure the cost of missing joints (default: 0)")
    p.add_argument("--seed", type=int, default=0, metavar="S",
                   help="seed of the random cameras and of the dropped joints (default: 0)")
    p.set_defaults(func=_cmd_eval)

    p = sub.add_parser("models", help="list the shipped models", description="List the shipped models.")
    p.set_defaults(func=_cmd_models)

    from .trainers.config import SHIPPED, TrainConfig, keys_help
    p = sub.add_parser("train", help="train a lifter from an experiment config", add_help=False,
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Train a lifter from an experiment config (docs/training.md). Under\n"
                       "`torchrun --nproc-per-node N -m realtime3d train CONFIG` it trains with DDP.",
                       epilog="[train] keys and their defaults (each a --set KEY=VALUE; `realtime3d train CONFIG "
                       "--help`\nlists a config's [train] and [params] keys with its values):\n\n"
                       + keys_help(TrainConfig, "train"))
    p.add_argument("-h", "--help", action=_TrainHelp, help="show this help (after CONFIG: with that config's keys "
                   "and values) and exit")
    p.add_argument("config", metavar="CONFIG", help="a config file, a packaged config's name, or a method "
                   f"name ({', '.join(SHIPPED)}) for its shipped config")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override one config key, e.g. --set train.max_steps=300 --set params.width=64 "
                   "(repeatable)")
    p.add_argument("--resume", nargs="?", const="last", metavar="CKPT",
                   help="go on from the run folder's last checkpoint, or from the checkpoint file CKPT")
    p.add_argument("--run-dir", metavar="DIR", help="folder for the run's files (default: runs/RUN_NAME, the config's name "
                   "followed by the --set overrides)")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("plot", help="draw a run's training and evaluation curves to PNG",
                       description="Draw the training losses and the val (and cmu-test) curves of a run "
                       "folder to a PNG.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run folder written by `realtime3d train`")
    p.add_argument("-o", "--output", metavar="OUT.png", help="the PNG to write (default: RUN_DIR/curves.png)")
    p.set_defaults(func=_cmd_plot)
    _add_app_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """The command. For webcam, video and image it sets the process up for the pipeline
    (runtime.set_up_pipeline_process). Run from the command line (argv None), it also sets up
    logging: library logs at WARNING (INFO with --verbose), and the native libraries' log lines
    off the terminal unless --verbose (native_logs.py). Callers that pass argv keep their own
    stderr and logging.

    A `UserError` prints its first line and returns 2; any other exception prints its traceback
    with a request to report it and returns 1. --debug shows the traceback of a UserError too."""
    args = build_parser().parse_args(argv)
    if args.command in PIPELINE_COMMANDS:
        from .runtime import set_up_pipeline_process
        set_up_pipeline_process()
    if argv is None:
        import logging
        logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                            format="realtime3d: %(message)s")
        if not args.verbose:
            from .native_logs import quiet_native_logs
            quiet_native_logs()
    try:
        return args.func(args)
    except UserError as exc:
        if args.debug:
            raise
        msg = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        print(f"realtime3d: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("realtime3d: interrupted", file=sys.stderr)
        return 130
    except Exception:
        import traceback
        traceback.print_exc()
        print("realtime3d: internal error: this is a bug in realtime3d; please report it with the "
              "traceback above and the command that gave it", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
