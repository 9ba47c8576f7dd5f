"""Choose a fusion model's settings on the validation clips: every (lifter, share, tau) on one set of detections.

    python benchmarks/choose_fusion.py [--lifters A,B] [--shares 0,0.25,0.5] [--taus none,150,300,500]
                                       [--card NAME[=LIFTER]] [--clips DIR] [--work DIR] [--workers N]

The shipped cards came from the defaults with --card fusion-cycle=cycle
--card fusion-cycle-mediapipe-2d=cycle-mediapipe-2d.

The clips are the val subjects' (realtime3d.render.benchmark_clips.VALIDATION_CLIPS, rendered
first), never the benchmark's test subjects; --clips DIR scores folders of video + truth.npz
instead. Per clip, one detection pass as bench_video3d.py makes it (the app's defaults with
MediaPipe's world landmarks), then every fusion.Fusion(lifter, share) replayed on those
detections through the same pipeline and export code, scored by video_scoring. Every lifter
runs in a single pass (no flip average). Share 0 without tau is the lifter alone, share 1
MediaPipe's world landmarks at their own size. The choice: the (lifter, share, tau) of the least
P-MPJPE on the 13 shared joints. Writes benchmarks/results/fusion_choice.json
(machine, commit); with --card NAME also the fusion model's card, realtime3d/weights/NAME.json, with
the chosen lifter and settings, and with --card NAME=LIFTER that lifter's best settings (the
option repeats: one card each).
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _args  # noqa: E402
import bench_video3d as bv  # noqa: E402

OUT = bv.RESULTS / "fusion_choice.json"
SHARES = (0.0, 0.25, 0.5)
TAUS = (None, 150.0, 300.0, 500.0)
LIFTERS = ("cycle", "cycle-mediapipe-2d", "cycle-temporal", "drover-live")
#: The score that chooses, and the others reported.
CHOOSE_BY = ("joints13", "p_mpjpe_mm")


def label(lifter: str, share: float, tau: float | None) -> str:
    return f"{lifter}@{share:g}" + ("" if tau is None else f"~{tau:g}")


def run_clip(clip: bv.Clip, work: Path, lifters: list[str], shares: list[float], taus: list) -> dict:
    """The detection pass of one clip, then every (lifter, share, tau) replayed and scored: {label: row}."""
    from realtime3d.export import NothingToExport
    from realtime3d.fusion import Fusion
    from realtime3d.io.video_truth import read_truth
    from realtime3d.lifting import load_model
    from realtime3d.world_model import WORLD_MODEL
    truth = read_truth(clip.truth)
    work = work / clip.name.replace("/", "_")
    shutil.rmtree(work, ignore_errors=True)
    recorder, found = bv.record_run(clip.video, work / WORLD_MODEL, bv.app_options(WORLD_MODEL))
    rows = {WORLD_MODEL: bv.score(truth, work / WORLD_MODEL if found else None)}
    options = bv.app_options(WORLD_MODEL)
    for name in lifters:
        lifter = load_model(name)
        lifter.flip_average = False           # single pass: the targets' mode
        for share, tau in ((s, t) for s in shares for t in taus if not (s == 1.0 and t is not None)):
            out = work / label(name, share, tau)
            try:
                bv.replay_run(clip.video, out, Fusion(lifter, share, tau), recorder.frames,
                              recorder.visibility_threshold, options)
            except NothingToExport:              # nobody found
                out = None
            rows[label(name, share, tau)] = bv.score(truth, out)
    shutil.rmtree(work, ignore_errors=True)
    return rows


def compact(results: dict[str, dict]) -> dict:
    """Per clip, each model's 13-joint P-MPJPE and MPJPE (the full rows make the aggregates)."""
    return {clip: {name: {k: row["joints13"][k] for k in ("p_mpjpe_mm", "mpjpe_mm")} for name, row in rows.items()}
            for clip, rows in results.items()}


def write_card(name: str, chosen: dict, among: list[str], report: dict, results: Path) -> None:
    """The fusion model's card of a chosen (lifter, settings) (lifting.fusion_models reads it;
    fusion.Fusion.from_card builds it)."""
    import json
    from realtime3d.io._atomic import atomic_write_text
    from realtime3d.lifting import WEIGHTS_DIR, model_card
    lifter = model_card(chosen["lifter"])
    card = {"name": name, "kind": "fusion", "method": "fusion", "lifter": chosen["lifter"],
            "world_share": chosen["world_share"], "disagreement_mm": chosen["disagreement_mm"], "flip_average": False,
            "description": f"the {chosen['lifter']} lifter's 3D blended per joint with MediaPipe's world landmarks "
                           "(realtime3d/fusion.py), single pass; without world landmarks (2D files, the skeleton "
                           "net) the lifter alone",
            "needs": "--detector blazepose for the blend (MediaPipe's world landmarks)",
            "protocol": lifter.get("protocol"),
            "reads_3d": f"no 3D label in training: {chosen['lifter']}'s card says what it read; at run time "
                        "MediaPipe's world landmarks, an input (Google's model, trained on 3D)",
            "selection": {"criterion": "P-MPJPE on the 13 shared joints of the validation clips (renders of the val "
                                       "subjects 02 and 07; their 3D read to choose these two settings, never by "
                                       "training)", "value": chosen["p_mpjpe_mm"],
                          "description": "benchmarks/choose_fusion.py: world share and disagreement scale"},
            "chosen_from": {"lifters": among, "shares": report["settings"]["shares"],
                            "disagreement_mm": report["settings"]["taus"]},
            "results": str(results.relative_to(bv.ROOT)) if results.is_relative_to(bv.ROOT) else str(results),
            "commit": report["commit"]}
    atomic_write_text(WEIGHTS_DIR / f"{name}.json", json.dumps(card, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lifters", type=_args.names, default=list(LIFTERS), metavar="A,B",
                    help=f"the lifters to fuse (default: {','.join(LIFTERS)})")
    ap.add_argument("--shares", type=lambda s: [float(v) for v in s.split(",")], default=list(SHARES),
                    metavar="W,W", help=f"MediaPipe's shares to try (default: {','.join(f'{s:g}' for s in SHARES)})")
    ap.add_argument("--taus", type=lambda s: [None if v == "none" else float(v) for v in s.split(",")],
                    default=list(TAUS), metavar="T,T",
                    help="disagreement scales to try, mm ('none': one share for every joint; default: "
                         f"{','.join('none' if t is None else f'{t:g}' for t in TAUS)})")
    ap.add_argument("--clips", type=Path, metavar="DIR", help="score the clips under DIR instead of the validation clips")
    ap.add_argument("--work", type=Path, metavar="DIR", help="where the rendered clips go, kept (default: temporary)")
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), metavar="N",
                    help="clips in parallel (default: %(default)s)")
    ap.add_argument("--out", type=Path, default=OUT, help=f"results file (default: {OUT.relative_to(bv.ROOT)})")
    ap.add_argument("--card", action="append", default=[], metavar="NAME[=LIFTER]",
                    help="write a fusion model's card, realtime3d/weights/NAME.json: the chosen (lifter, settings), "
                         "or LIFTER's best settings (repeatable)")
    ap.add_argument("--cmu", type=Path, default=bv.CMU, metavar="DIR", help="the CMU mocap the renderer reads")
    args = ap.parse_args(argv)
    unknown = [spec for spec in args.card if spec.partition("=")[2] not in ("", *args.lifters)]
    if unknown:
        ap.error(f"--card {unknown[0]}: its lifter is not one of --lifters ({','.join(args.lifters)})")
    from _env import commit, machine_info, write_json
    from realtime3d.native_logs import quiet_native_logs
    from realtime3d.video_scoring import aggregate
    quiet_native_logs()
    work = args.work or Path(tempfile.mkdtemp(prefix="fusion-"))
    started = time.perf_counter()
    try:
        clips = bv.find_clips(args.clips) if args.clips else bv.render_clips(work / "clips", args.cmu, args.workers,
                                                                                "val")
        results: dict[str, dict] = {}
        with ProcessPoolExecutor(max_workers=args.workers, mp_context=get_context("spawn"),
                                 initializer=bv._set_up_worker) as pool:
            futures = {pool.submit(run_clip, c, work / "runs", args.lifters, args.shares, args.taus): c.name for c in clips}
            for future in as_completed(futures):
                results[futures[future]] = future.result()
    except bv.UserError as exc:
        print(f"choose_fusion: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    names = list(next(iter(results.values())))
    models = {name: aggregate([r[name] for r in results.values()]) for name in names}
    group, key = CHOOSE_BY
    fused = [n for n in names if "@" in n]

    def chosen(lifter: str | None = None) -> dict:
        """The least P-MPJPE's (lifter, share, tau), over every lifter or one."""
        best = min((n for n in fused if lifter is None or n.partition("@")[0] == lifter),
                   key=lambda n: models[n][group][key])
        name, _, setting = best.partition("@")
        share, _, tau = setting.partition("~")
        return {"label": best, "lifter": name, "world_share": float(share), "disagreement_mm": float(tau) if tau else None,
                **{k: models[best][group][k] for k in ("p_mpjpe_mm", "mpjpe_mm")}}

    report = {"benchmark": "fusion_choice: the world share of a fusion model, chosen on the validation clips",
              "machine": machine_info(), "commit": commit(),
              "settings": {"clips": str(args.clips) if args.clips else "VALIDATION_CLIPS (val subjects 02, 07)",
                           "lifters": args.lifters, "shares": args.shares, "taus": args.taus, "chosen_by": f"{group} {key}"},
              "chosen": chosen(), "chosen_per_lifter": {name: chosen(name) for name in args.lifters},
              "models": models, "per_clip": compact(results), "seconds": round(time.perf_counter() - started, 1)}
    write_json(args.out, report)
    for spec in args.card:
        name, _, lifter = spec.partition("=")
        write_card(name, report["chosen_per_lifter"][lifter] if lifter else report["chosen"],
                   [lifter] if lifter else args.lifters, report, args.out)
    print(f"{'model':28s} P-MPJPE13  MPJPE13  accel")
    for n in names:
        m = models[n]
        print(f"{n:28s} {m['joints13']['p_mpjpe_mm']:8.1f} {m['joints13']['mpjpe_mm']:8.1f} "
              f"{m['joints17']['accel_error_mm']:6.1f}")
    print(f"chosen: {report['chosen']['label']}; results -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
