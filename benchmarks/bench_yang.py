"""The ablation of Yang et al., "3D Human Pose Estimation in the Wild by Adversarial Learning" (2018),
Table 2, for the lifter: Baseline, Map, Geo and Full on cmu-test, in one run.

Trains nothing unless --train. The four rows are the configs of ROWS (realtime3d/trainers/yang.py): the
shipped supervised lifter fine-tuned for the same 14 minutes on one thread with its 3D loss,
without a discriminator (Baseline) or against the multi-source discriminator with the 2D pose and
the heatmaps with depth maps (Map), the 2D pose and the geometric descriptor (Geo), or all three
(Full). Each row's run folder is RUNS/ROW (default runs/yang/ROW); its best.pt (selected on the val
subjects' 3D) is scored. With --train the rows are trained first, two at a time on one thread
each (a run folder that holds a checkpoint is resumed), after MediaPipe's 2D of the media is
cached once in RUNS/media_2d.json (params.media_cache of every row).

Scores (realtime3d.evaluate.evaluate, bench_eval's protocol and definitions: cmu-test through
seeded random cameras, seed 0, every frame): every row, the starting point (the shipped
`supervised` model before fine-tuning) and the constant-depth baseline, each single-pass
(Lifter.flip_average = False) and flip-averaged, with all joints and with --drops' hidden joints
per frame (bench_drop_joints' protocol, default 2). Each row twice: ROW, its best.pt (selected on
the val subjects' 3D, which includes the first step's weights, about the start's), and ROW-last,
its generator at the end of the budget (ckpt-last.pt: no selection, so no luck of a validation).
Writes benchmarks/results/yang.json (machine, commit, the rows' cards, every metric, and each
row's P-MPJPE change against the start and against Baseline).

    python benchmarks/bench_yang.py --train    # trains the four rows (about 30 minutes on 2 cores), then scores
    python benchmarks/bench_yang.py            # scores runs/yang/ROW/best.pt (a few minutes)
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
import _args  # noqa: E402
from _env import commit, machine_info  # noqa: E402
from bench_eval import DEFINITIONS, MODES  # noqa: E402

from realtime3d.evaluate import constant_depth, evaluate, load_dataset  # noqa: E402
from realtime3d.io._atomic import atomic_write_text  # noqa: E402
from realtime3d.lifting import Lifter  # noqa: E402
from realtime3d.models import build_network  # noqa: E402
from realtime3d.trainers.checkpoint import latest_checkpoint  # noqa: E402
from realtime3d.trainers.config import SHIPPED_MODELS, load_experiment  # noqa: E402

#: Table 2's rows -> their configs (same budget, init and pose loss; the discriminator's sources differ).
ROWS = {
    "baseline": "yang_cmu-h36m17_supervised-w512-baseline_14min",
    "map": "yang_cmu-h36m17_supervised-w512-map_14min",
    "geo": "yang_cmu-h36m17_supervised-w512-geo_14min",
    "full": "yang_cmu-h36m17_supervised-w512-full_14min",
}
START = "supervised"
assert SHIPPED_MODELS["yang"] == ROWS["full"]


def train_rows(rows: list[str], runs: Path, sets: list[str], parallel: int) -> None:
    """Train the rows' configs into runs/ROW, `parallel` at a time on one thread each (stdout and
    stderr in runs/ROW.log); resume a run folder that holds a checkpoint."""
    from realtime3d.native_logs import quiet_native_logs
    from realtime3d.trainers.yang import write_media_cache
    quiet_native_logs()
    cache = write_media_cache("", runs / "media_2d.json")        # MediaPipe once, for every row
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    queue, running = list(rows), []
    while queue or running:
        while queue and len(running) < parallel:
            row = queue.pop(0)
            run = runs / row
            cmd = [sys.executable, "-m", "realtime3d", "train", ROWS[row], "--run-dir", str(run),
                   "--set", f"params.media_cache={cache}", "--set", "train.threads=1"]
            for item in sets:
                cmd += ["--set", item]
            if latest_checkpoint(run).exists():
                cmd.append("--resume")
            log = open(runs / f"{row}.log", "a")
            print(f"train {row}: {' '.join(cmd[1:])}", flush=True)
            running.append((row, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT), log))
        row, proc, log = running.pop(0)
        if proc.wait() != 0:
            raise SystemExit(f"training {row} failed (exit {proc.returncode}); see {runs / (row + '.log')}")
        log.close()


def last_log_row(run: Path) -> dict:
    """The last row of a run's log.csv (its steps and seconds), or {} when there is none."""
    path = run / "log.csv"
    if not path.exists():
        return {}
    rows = list(csv.DictReader(path.open()))
    return {"steps": int(rows[-1]["step"]), "time_s": float(rows[-1]["time_s"])} if rows else {}


def last_weights(best: Lifter, run: Path) -> Lifter:
    """The run's generator at its last checkpoint (the end of the budget, no selection), called as best is."""
    state = torch.load(latest_checkpoint(run), map_location="cpu", weights_only=True)["models"]["g"]
    network = build_network(best.card["architecture"])
    network.load_state_dict(state)
    return Lifter(network, name=f"{run.name}-last", card=best.card, flip_average=best.flip_average)


def row_info(row: str, run: Path, card: dict) -> dict:
    """What a row's report keeps of its run: config, card, and length."""
    keep = ("experiment", "step", "selection", "reads_3d", "selected_at_seconds", "budget_minutes", "threads",
            "init", "adversarial", "discriminator")
    return {"run": str(run), **{k: card[k] for k in keep if k in card},
            "last_logged": last_log_row(run)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", default="runs/yang", help="folder of the rows' run folders (RUNS/ROW/best.pt)")
    ap.add_argument("--rows", type=_args.names, default=",".join(ROWS), help=f"comma-separated rows ({', '.join(ROWS)})")
    ap.add_argument("--train", action="store_true", help="train the rows first (resuming run folders with a checkpoint)")
    ap.add_argument("--parallel", type=int, default=2, help="with --train: rows trained at a time, one thread each")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="with --train: a config override for every row (e.g. train.minutes=1, for a check)")
    ap.add_argument("--drops", type=_args.ints, default="2", help="hidden joints per frame scored beside all joints")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="benchmarks/results/yang.json")
    args = ap.parse_args()
    if unknown := [r for r in args.rows if r not in ROWS]:
        ap.error(f"unknown row(s) {', '.join(unknown)}; rows: {', '.join(ROWS)}")
    for item in args.set:
        load_experiment(ROWS[args.rows[0]], [item])                   # a bad override fails before any training
    runs = Path(args.runs)
    if args.train:
        train_rows(args.rows, runs, args.set, max(1, args.parallel))
    missing = [str(runs / r / "best.pt") for r in args.rows if not (runs / r / "best.pt").is_file()]
    if missing:
        ap.error(f"no trained row at {', '.join(missing)} (train them: --train)")

    _, seq = load_dataset("cmu-test")
    methods = {"constant_depth": constant_depth()}
    cards = {}
    for name in [START, *args.rows]:
        path = START if name == START else runs / name / "best.pt"
        for mode, flip in MODES.items():
            lifter = Lifter.from_pretrained(path)
            lifter.flip_average = flip
            methods[f"{name}:{mode}"] = lifter
            if name != START:
                methods[f"{name}-last:{mode}"] = last_weights(lifter, runs / name)
        cards[name] = lifter.card
    drops = [0, *[k for k in args.drops if k != 0]]
    scores = {}
    for k in drops:
        result = evaluate(seq, methods, drop_joints=k, seed=args.seed)
        scores[f"drop_{k}"] = {m: result[m] for m in methods}
        frames = result["frames"]
        print(f"hidden joints per frame: {k}")
        for m in methods:
            print(f"  {m:28s} P-MPJPE {result[m]['p_mpjpe_mm']:6.2f} mm   MPJPE {result[m]['mpjpe_mm']:6.2f} mm")
    p = {d: {m: round(s[m]["p_mpjpe_mm"], 2) for m in methods} for d, s in scores.items()}
    change = {d: {f"{row}{kind}:{mode}": {
        "vs_start_mm": round(v[f"{row}{kind}:{mode}"] - v[f"{START}:{mode}"], 2),
        **({"vs_baseline_mm": round(v[f"{row}{kind}:{mode}"] - v[f"baseline{kind}:{mode}"], 2)}
           if "baseline" in args.rows else {})}
        for row in args.rows for kind in ("", "-last") for mode in MODES} for d, v in p.items()}
    report = {
        "benchmark": "bench_yang", "machine": machine_info(), "commit": commit(),
        "data": "cmu-test", "frames": frames, "seed": args.seed, "drop_joints": drops,
        "protocol": "GT 3D through seeded random cameras (evaluate.RANDOM_CAMERA) to pixels, then Lifter.lift; "
                    "drop_K: K random joints hidden per frame (evaluate.drop_mask)",
        "definitions": DEFINITIONS, "start": {"model": START, "card_selection": cards[START].get("selection")},
        "rows": {row: row_info(row, runs / row, cards[row]) for row in args.rows},
        "p_mpjpe_mm": p, "p_mpjpe_change": change, "scores": scores,
    }
    out = ROOT / args.out if not Path(args.out).is_absolute() else Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
