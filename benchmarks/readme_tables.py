"""The result tables of README.md and docs/results.md, printed from the benchmarks' results files.

Nothing is measured here: every number is read from benchmarks/results/ (eval.json from
bench_eval.py, training.json from bench_training.py, ablations.json from
bench_ablations.py, drop_joints.csv from bench_drop_joints.py, criterion.json from
bench_criterion.py, skeleton_net*.json from the bench_skeleton_net*.py scripts, chen.json,
yang.json and map_kernels.json from bench_chen.py, bench_yang.py and bench_map_kernels.py, people.json
from bench_people.py, recall.json from bench_recall.py, video3d.json from bench_video3d.py) or from the
model cards those scripts write. docs/results.md holds every table (but README_ONLY's short views) and the README its
headline ones (`README_TABLES`); tests/test_docs.py checks that both hold each table exactly
as printed, so a figure in them cannot drift from its source.

    python benchmarks/readme_tables.py            # every table
    python benchmarks/readme_tables.py --write    # refill the marked tables of README.md and docs/results.md in place

In those pages each table sits between `<!-- table: NAME -->` and `<!-- /table -->`.
"""
from __future__ import annotations

import argparse
import csv
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
MODES = ("single_pass", "flip_averaged")
#: Scored by bench_eval.py with the others, but tabled in their own section of docs/results.md (chen,
#: yang tables): their labels and budgets are not the 2D-only models' 28 minutes.
MAP_SEEDS = ("chen", "yang")
PROTOCOLS = ("random-projection", "fixed-camera", "own-2d")
#: The pages whose marked tables --write refills: docs/results.md marks every table, the README these.
PAGES = ("README.md", "docs/results.md")
README_TABLES = ("video3d headline", "image path summary", "accuracy random-projection")
#: Tables that only the README shows (a short view of a table docs/results.md holds whole).
README_ONLY = ("video3d headline", "image path summary")


def _load(name: str) -> dict:
    return json.loads((RESULTS / name).read_text())


def _card(name: str) -> dict:
    return json.loads((ROOT / "realtime3d" / "weights" / f"{name}.json").read_text())


def _card_of(row: str) -> dict:
    """The card of a results row's model (NAME or NAME:single-pass), {} for one that is not shipped."""
    path = ROOT / "realtime3d" / "weights" / f"{row.split(':')[0]}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _row(cells) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _table(header: list[str], rows: list[list]) -> str:
    return "\n".join([_row(header), _row(["---"] * len(header)), *(_row(r) for r in rows)])


def _budget(card: dict) -> str:
    threads = card["threads"]
    return f"{card['training_seconds'] / 60:.1f} min, {threads} thread{'s' if threads != 1 else ''}"


METRICS = (("p_mpjpe_mm", "{:.1f}"), ("mpjpe_mm", "{:.1f}"), ("pck150", "{:.3f}"), ("auc", "{:.3f}"))


def accuracy(protocol: str) -> str:
    """cmu-test scores of the shipped models trained under one protocol, and constant depth."""
    from realtime3d.lifting import DEFAULT_MODEL, LIVE_MODEL
    report = _load("eval.json")

    def scores(name: str) -> list[str]:          # every metric, single pass then flip-averaged
        return [fmt.format(report["methods"][f"{name}:{mode}"][metric]) for metric, fmt in METRICS for mode in MODES]

    fused = {n: _card(n)["lifter"] for n in report["training_protocol"] if _card(n).get("kind") == "fusion"}
    rows = []
    for name in (n for n, p in report["training_protocol"].items() if p == protocol and n not in MAP_SEEDS
                 and n not in fused and f"{n}:single_pass" in report["methods"]):      # tracks: their own table
        card = _card(name)
        roles = {name: ", ".join(r for r, m in (("default", DEFAULT_MODEL), ("webcam", LIVE_MODEL)) if m == name)
                 for name in (DEFAULT_MODEL, LIVE_MODEL)}
        note = f" ({roles[name]})" if name in roles else ""
        users = [f"{f}, {roles[f]}" if f in roles else f for f, lifter in fused.items() if lifter == name]
        note += f" (lifts for {'; '.join(users)})" if users else ""
        rows.append([f"{name}{note}", card["method"], report["selection"][name], _budget(card), *scores(name)])
    rows.append(["constant depth (trivial baseline)", "-", "-", "-", *scores("constant_depth")])
    return _table(["model", "method", "selected on", "trained", "P-MPJPE mm, single pass", "P-MPJPE, flip-averaged",
                   "MPJPE mm, single", "MPJPE, flip", "PCK@150, single", "PCK@150, flip", "AUC, single",
                   "AUC, flip"], rows)


def tracks() -> str:
    """cmu-test through a still camera per clip (bench_eval.py's clip_cameras): the lifters of tracks
    beside the frame lifter they grew from and constant depth."""
    block = _load("eval.json")["clip_cameras"]
    methods = block["methods"]
    names = [*block["temporal_models"], *(k.split(":")[0] for k in methods if k.endswith(":single_pass")
                                          and k.split(":")[0] not in block["temporal_models"])]
    label = {"constant_depth": "constant depth (trivial baseline)"}
    rows = [[label.get(n, n), *(fmt.format(methods[f"{n}:{mode}"][metric]) for metric, fmt in METRICS for mode in MODES)]
            for n in sorted(dict.fromkeys(names), key=lambda n: n == "constant_depth")]
    return _table(["model (still camera per clip)", "P-MPJPE mm, single pass", "P-MPJPE, flip-averaged",
                   "MPJPE mm, single", "MPJPE, flip", "PCK@150, single", "PCK@150, flip", "AUC, single",
                   "AUC, flip"], rows)


def validation() -> str:
    """Each model's validation scores under its own protocol: the 2D criterion and the logged 3D."""
    report = _load("eval.json")
    rows = [[name, report["training_protocol"][name], f"{v['val_cycle_2d']:.2f}",
             f"{v['val_p_mpjpe']:.1f}" if "val_p_mpjpe" in v else "-"]
            for name, v in report["validation_single_pass"].items() if name not in MAP_SEEDS]
    return _table(["model", "protocol", "val_cycle_2d (% of pose radius)", "val P-MPJPE mm (selects the supervised baseline only)"], rows)


def checks() -> str:
    """The acceptance ratios of the 2D-only lifters, per protocol, as bench_eval.py computed them."""
    rows = []
    for protocol, summary in _load("eval.json")["by_protocol"].items():
        for key, value in summary.items():
            if key.startswith("check: ") or key.endswith(("_over_constant_depth", "_over_supervised")):
                rows.append([protocol, key.removeprefix("check: "),
                             ("yes" if value else "no") if isinstance(value, bool) else value])
    return _table(["protocol", "single pass", "value"], rows)


def training() -> str:
    """What each shipped model cost to train (bench_training.py)."""
    models = _load("training.json")["models"]
    rows = [[name, e["config"]["method"],
             e["config"]["train"]["protocol"] if e["config"]["train"]["data"] == "cmu" else "own-2d",
             f"{e['training_seconds'] / 60:.1f}", e["config"]["train"]["threads"], e["steps"],
             f"{e['criterion']} {e['best_score']:.2f}"]
            for name, e in sorted(models.items())]
    return _table(["model", "method", "protocol", "train minutes", "threads", "steps", "best criterion"], rows)


def ablation(table: str) -> str:
    """One table of bench_ablations.py: every row's budget and its cmu-test score."""
    t = _load("ablations.json")["tables"][table]
    rows = [[label, f"{r['training_seconds'] / 60:.1f}", r["steps"], f"{r['best_val_cycle_2d']:.2f}",
             f"{r['cmu_test_p_mpjpe_mm_single_pass']:.1f}", f"{r['cmu_test_p_mpjpe_mm_flip_averaged']:.1f}"]
            for label, r in t["rows"].items()]
    return _table([f"{table} ({t['protocol']}, {t['budget_minutes']:g} min, {t['threads']} thread per row)",
                   "train minutes", "steps", "val_cycle_2d chosen", "cmu-test P-MPJPE mm, single pass",
                   "flip-averaged"], rows)


def drop_joints() -> str:
    """bench_drop_joints.py: P-MPJPE with K joints hidden, single pass and flip-averaged per model."""
    with open(RESULTS / "drop_joints.csv", newline="") as fh:
        rows = list(csv.DictReader(line for line in fh if not line.startswith("#")))
    models = [c.removesuffix("_single_pass_p_mpjpe_mm") for c in rows[0] if c.endswith("_single_pass_p_mpjpe_mm")]
    header = ["hidden joints", "constant depth"]
    for m in models:
        header += [f"{m}, single pass", f"{m}, flip"]
    body = []
    for r in rows:
        cells = [r["drop_joints"], r["constant_depth_p_mpjpe_mm"]]
        for m in models:
            cells += [f"{r[f'{m}_single_pass_p_mpjpe_mm']} (+{r[f'{m}_single_pass_increase_mm']})",
                      f"{r[f'{m}_flip_averaged_p_mpjpe_mm']} (+{r[f'{m}_flip_averaged_increase_mm']})"]
        body.append(cells)
    return _table(header, body)


def criterion() -> str:
    """bench_criterion.py: how well the 2D criterion ranked each run's checkpoints by 3D error."""
    runs = _load("criterion.json")["runs"]
    rows = [[name, r["validations"], f"{r['spearman']:+.2f}", f"{r['chosen_p_mpjpe_mm']:.1f}",
             f"{r['best_p_mpjpe_mm']:.1f}", f"{r['chosen_over_best']:.3f}"] for name, r in runs.items()]
    return _table(["run", "validations", "Spearman (criterion, val 3D)", "chosen checkpoint, val P-MPJPE mm",
                   "best in the run", "chosen / best"], rows)


def _pck(value: float) -> str:
    return f"{value:.3f}"


def image_path() -> str:
    """bench_skeleton_net.py: 2D PCK and the same lifter's P-MPJPE on synthetic test renders."""
    r = _load("skeleton_net.json")
    names = {label: f"{label} ({info['supervision']}, {info['train_minutes']:g} min)" if info.get("train_minutes")
             else label for label, info in r["nets"].items()}
    names.update({"mediapipe": "MediaPipe", "constant pose": "one pose for every crop (the mean train 2D)",
                  "ground-truth 2D": "the renders' true 2D"})
    rows = []
    for key, label in names.items():
        mp = r["on_mediapipe_crops"][key]
        every = r["all_crops"].get(key)
        rows.append([label, _pck(every["pck_2d"]) if every else "-", f"{every['p_mpjpe_mm']:.1f}" if every else "-",
                     _pck(mp["pck_2d"]), f"{mp['p_mpjpe_mm']:.1f}"])
    return _table([f"2D -> {r['lifter']}, single pass", f"PCK@0.2 torso, all {r['crops']} crops", "P-MPJPE mm, all",
                   f"PCK, the {r['mediapipe_found']} MediaPipe finds", "P-MPJPE mm, those"], rows)


def image_path_media() -> str:
    """bench_skeleton_net_media.py: agreement with MediaPipe on a real video, with and without adapting."""
    r = _load("skeleton_net_media.json")
    return _table(["on " + r["video"], "frames", "the dancer's joints within 0.2 x torso of MediaPipe's"],
                  [[name, row["frames"], _pck(row["agreement"])] for name, row in r["rows"].items()])


def image_path_adapt() -> str:
    """bench_skeleton_net_adapt.py: PCK on the rendered val clips before and after adapting to them without labels."""
    r = _load("skeleton_net_adapt.json")
    return _table(["rendered val clips (truth held, never trained on)", "people x frames", "PCK@0.2 torso"],
                  [[name, row["people_frames"], _pck(row["pck_2d"])] for name, row in r["rows"].items()])


def image_path_summary() -> str:
    """The README's image-path table: bench_skeleton_net.py (test renders, on the crops MediaPipe finds) and
    bench_skeleton_net_media.py (the street video)."""
    renders, media = _load("skeleton_net.json"), _load("skeleton_net_media.json")["rows"]
    nets = renders["nets"]
    rows = []
    for label, info in nets.items():
        row = renders["on_mediapipe_crops"][label]
        street = media.get(label)
        rows.append([label, f"{info['train_minutes']:g} min, {info['supervision']}", _pck(row["pck_2d"]),
                     f"{row['p_mpjpe_mm']:.1f}", _pck(street["agreement"]) if street else "-"])
    mp = renders["on_mediapipe_crops"]["mediapipe"]
    rows.append(["MediaPipe", "-", _pck(mp["pck_2d"]), f"{mp['p_mpjpe_mm']:.1f}", "1 (the reference)"])
    const = renders["on_mediapipe_crops"]["constant pose"]
    rows.append(["constant pose", "-", _pck(const["pck_2d"]), f"{const['p_mpjpe_mm']:.1f}",
                 _pck(media["constant pose"]["agreement"])])
    return _table(["image path", "trained", "test renders: PCK@0.2 torso", f"P-MPJPE mm through {renders['lifter']}",
                   "street video: joints within 0.2 torso of MediaPipe's"], rows)


def image_path_speed() -> str:
    """bench_skeleton_net_speed.py: per-frame time at batch 1, one thread, beside MediaPipe."""
    r = _load("skeleton_net_speed.json")
    return _table(["per frame, batch 1, one thread", "median ms", "fps", "speed / MediaPipe + lifter"],
                  [[name, f"{row['median_ms']:.1f}", f"{row['fps']:.0f}", f"{r['ratio_to_mediapipe'][name]:.2f}"]
                   for name, row in r["rows"].items()])


def image_path_kernels() -> str:
    """bench_skeleton_net_kernels.py: the trainer's step with the fused kernels against the reference."""
    r = _load("skeleton_net_kernels.json")
    rows = [[backend, f"{row['step_ms']:.0f}", f"{row['step_peak_mb']:.0f}", f"{row['kernels_ms']:.1f}",
             f"{row['kernels_peak_mb']:.1f}"] for backend, row in r["rows"].items()]
    ratio = r["reference_over_fused"]
    rows.append(["reference / fused", f"{ratio['step_ms']:.2f}x", f"{ratio['step_peak_mb']:.2f}x",
                 f"{ratio['kernels_ms']:.1f}x", f"{ratio['kernels_peak_mb']:.1f}x"])
    return _table([f"skeleton-net step (batch {r['batch']})", "step ms", "step peak MB", "its renders ms",
                   "renders peak MB"], rows)


def chen() -> str:
    """bench_chen.py: Regression#1 on the chen-views latent against the same regressor on the 2D, per label share."""
    r = _load("chen.json")
    fractions = sorted({row["label_fraction"] for row in r["rows"].values()})
    cell = lambda m: f"{m['mean']:.1f} +- {m['std']:.1f}"  # noqa: E731
    rows = []
    for f in fractions:
        lat, coo = r["rows"][f"latent@{f:g}"], r["rows"][f"coords@{f:g}"]
        rows.append([f"{100 * f:g}% ({lat['labelled_poses']} poses)", cell(lat["p_mpjpe_mm"]), cell(coo["p_mpjpe_mm"]),
                     cell(lat["n_mpjpe_mm"]), cell(coo["n_mpjpe_mm"])])
    seeds = len(r["seeds"])
    return _table(["3D labels of CMU train", f"latent + regressor, P-MPJPE mm ({seeds} seeds)",
                   "2D coordinates + regressor", "latent N-MPJPE", "coordinates N-MPJPE"], rows)


def yang() -> str:
    """bench_yang.py: Table 2's rows on cmu-test, single pass and flip-averaged, all joints and 2 hidden."""
    r = _load("yang.json")
    p = r["p_mpjpe_mm"]
    drops = [d for d in p if d != "drop_0"]
    names = {"supervised": "start: the shipped supervised lifter", "baseline": "Baseline (no discriminator)",
             "map": "Map (2D + heatmaps, depth maps)", "geo": "Geo (2D + descriptor)", "full": "Full (all three)"}
    rows = []
    for row, label in names.items():
        for kind, what in (("", ""), ("-last", ", last weights")):
            if row == "supervised" and kind or f"{row}{kind}:single_pass" not in p["drop_0"]:
                continue
            key = f"{row}{kind}"
            rows.append([label + what, *(f"{p[d][f'{key}:{mode}']:.1f}" for mode in MODES for d in ("drop_0", *drops))])
    head = [f"cmu-test P-MPJPE mm ({r['frames']} frames)"]
    for mode in MODES:
        head += [mode.replace("_", " ") + ", all joints", *(f"{mode.replace('_', ' ')}, {d[5:]} hidden" for d in drops)]
    return _table(head, rows)


def map_kernels() -> str:
    """bench_map_kernels.py: each map trainer's step with the fused kernels against the reference."""
    r = _load("map_kernels.json")
    rows = []
    for name, t in r["trainers"].items():
        fused, ref, ratio = t["rows"]["cpu"], t["rows"]["reference"], t["reference_over_fused"]
        rows.append([f"{name} (batch {t['batch']})", f"{fused['step_ms']:.0f}", f"{ref['step_ms']:.0f}",
                     f"{ratio['step_ms']:.2f}x", f"{fused['step_peak_mb']:.0f}", f"{ref['step_peak_mb']:.0f}",
                     f"{ratio['step_peak_mb']:.2f}x"])
    return _table(["one training step, one thread", "fused ms", "reference ms", "reference / fused",
                   "fused peak MB", "reference peak MB", "reference / fused"], rows)


def people() -> str:
    """bench_people.py: the offline run and the live loop at 1, 4 and all people, against MediaPipe alone."""
    r = _load("people.json")
    rows = []
    for k, run in r["offline"].items():
        live, cost = r["live"][k], r["per_person"][k]
        extra = cost["extra_ms_per_extra_person"]
        rows.append([k, f"{run['fps']:.1f} ({run['over_mediapipe']:.2f}x)", f"{live['fps']:.1f}",
                     f"{live['people_per_frame']:.1f}", f"{live['latency_ms_mean']:.0f}",
                     f"{cost['detect_ms']:.1f} + {cost['track_lift_ms']:.1f} for {cost['people_per_frame']:.1f} people",
                     "" if extra is None else f"{extra:.1f}", str(run["ids_tracked_100_frames"]),
                     str(run["largest_person_id_switches"])])
    return _table(["--max-people", f"offline fps (x MediaPipe alone, {r['mediapipe_alone_fps']:.1f} fps)",
                   "live fps", "live: people a frame", "live latency ms", "detect + track/lift ms a frame",
                   "ms per extra person", "ids tracked >= 100 frames", "switches of the largest's id"], rows)


def speed() -> str:
    """bench_people.py: the default (every person) beside --max-people 1, offline and live."""
    r = _load("people.json")
    cols = [("all", "default: every person"), ("1", "--max-people 1")]
    offline, live = r["offline"], r["live"]
    rows = [[f"offline fps, everything (x MediaPipe's one-person graph alone, {r['mediapipe_alone_fps']:.1f} fps)",
             *(f"{offline[k]['fps']:.1f} ({offline[k]['over_mediapipe']:.2f}x)" for k, _ in cols)],
            ["live fps, the video played as a 1280x720 camera",
             *(f"{live[k]['fps']:.1f}" for k, _ in cols)],
            ["live: people lifted a frame", *(f"{live[k]['people_per_frame']:.1f}" for k, _ in cols)],
            ["live latency, capture to 3D, ms mean / p95",
             *(f"{live[k]['latency_ms_mean']:.0f} / {live[k]['latency_ms_p95']:.0f}" for k, _ in cols)]]
    return _table(["measure", *(name for _, name in cols)], rows)


def recall() -> str:
    """bench_recall.py: each detector route on the annotated COCO photos and the named photos."""
    r = _load("recall.json")
    rows = []
    for name, route in r["routes"].items():
        coco, named = route["coco_annotated"], route["named"]
        ms = [photo["ms"] for photo in coco["photos"].values()]
        rows.append([name, f"{coco['found']} of {coco['counted']}", str(coco["unmatched_max"]),
                     f"{coco['mean_limb_error']:.4f}", str(named["zidane"]["people"]),
                     str(named["coco_257"]["people"]), str(named["coco_357"]["people"]),
                     f"{named['bus']['people']} / {named['bus_gray']['people']} / {named['bus_dark']['people']}",
                     f"{sum(ms) / len(ms):.0f}"])
    return _table(["route", "annotated people found", "unmatched a photo, most", "limb error / sqrt(box area)",
                   "zidane.jpg", "COCO 257", "COCO 357", "bus.jpg colour / gray / dark", "ms a photo"], rows)


def _cell(value, fmt: str) -> str:
    return "-" if value is None else fmt.format(value)


#: bench_video3d.py's rows, in the order tabled: the command's default, the other shipped lifters (as
#: the results file lists them), MediaPipe's own 3D, then the baselines.
_VIDEO3D_KINDS = ("command", "cached detections", "detection pass", "baseline")


def _trained(name: str) -> str:
    """A shipped model's training minutes from its card (a fusion model: its lifter's), "-" for others."""
    card = _card_of(name)
    if card.get("kind") == "fusion":
        return _trained(card["lifter"])
    if "training_seconds" not in card:
        return "-"
    own = f"{card['training_seconds'] / 60:.1f} min"
    encoder = card.get("encoder")
    return f"{own} + encoder {encoder['budget_minutes']:.0f} min" if isinstance(encoder, dict) else own


def _video3d_rows(r: dict, single_pass_rows: bool = True) -> list[tuple[str, str, str, dict]]:
    """(name, mode, trained, aggregate) per model: the command first, the baselines last
    (single_pass_rows: with the flip-averaged models' single-pass rows)."""
    order = {k: i for i, k in enumerate(_VIDEO3D_KINDS)}
    models = sorted(r["models"].items(), key=lambda kv: order.get(kv[1]["kind"], len(order)))
    names = {"command": " (default)", "baseline": " (baseline)"}
    default = r["settings"]["default_model"]
    return [(f"{default if m['kind'] == 'command' and name != default else name}{names.get(m['kind'], '')}"
             f"{' (3D-labelled)' if _labelled(name) else ''}",
             m.get("mode", "-"), _trained(default if m["kind"] == "command" else name), m["aggregate"])
            for name, m in models if single_pass_rows or not name.endswith(":single-pass")]


def _labelled(name: str) -> bool:
    """Whether a shipped model's card says it read 3D labels (beyond a sampler's or a renderer's use of 3D)."""
    reads = _card_of(name).get("reads_3d", "")
    return bool(reads) and not reads.startswith(("only the sampler", "nowhere", "no 3D label"))


def video3d(r: dict | None = None) -> str:
    """Every figure of the whole-app benchmark (bench_video3d.py), per model (r: a results file's
    contents; default: video3d.json)."""
    r = r if r is not None else _load("video3d.json")
    rows = []
    for name, mode, trained, a in _video3d_rows(r):
        j13, j17, floor = a["joints13"], a["joints17"], a["floor"] or {}
        rows.append([name, mode, trained, _cell(a["found"], "{:.3f}"), _cell(j13["p_mpjpe_mm"], "{:.1f}"),
                     _cell(j13["mpjpe_mm"], "{:.1f}"), _cell(j13["pck150"], "{:.3f}"),
                     _cell(j17["p_mpjpe_mm"], "{:.1f}"), _cell(j17["mpjpe_mm"], "{:.1f}"), _cell(j17["pck150"], "{:.3f}"),
                     _cell(j17["accel_error_mm"], "{:.1f}"), _cell(a["error2d_torso"]["limbs12"], "{:.3f}"),
                     _cell(a["id_switches"], "{:d}"), _cell(floor.get("camera_height_abs_error_mm"), "{:.0f}"),
                     _cell(floor.get("up_error_deg"), "{:.1f}")])
    multi = sum(bool(c["multi_person"]) for c in r["clips"].values())
    return _table(["model", "mode", "trained", "found", "P-MPJPE mm, 13 joints", "MPJPE mm, 13", "PCK@150, 13", "P-MPJPE mm, 17",
                   "MPJPE mm, 17", "PCK@150, 17", "accel error mm/frame^2, 17", "2D error / torso, 12 limbs",
                   f"id switches ({multi} multi-person clips)", "camera height error mm", "up error deg"], rows)


def video3d_headline() -> str:
    """The README's whole-app table: the 13 joints every convention shares, jitter, the detector's 2D."""
    r = _load("video3d.json")
    rows = [[name, mode, trained, _cell(a["found"], "{:.3f}"), _cell(a["joints13"]["p_mpjpe_mm"], "{:.1f}"),
             _cell(a["joints13"]["mpjpe_mm"], "{:.1f}"), _cell(a["joints13"]["pck150"], "{:.3f}"),
             _cell(a["joints17"]["accel_error_mm"], "{:.1f}"), _cell(a["error2d_torso"]["limbs12"], "{:.3f}")]
            for name, mode, trained, a in _video3d_rows(r, single_pass_rows=False)]
    return _table(["model", "mode", "trained", "people found", "P-MPJPE mm", "MPJPE mm", "PCK@150", "jitter: accel error mm/frame^2",
                   "2D error / torso"], rows)


def fusion_choice() -> str:
    """choose_fusion.py on the validation clips: MediaPipe's own 3D, each lifter alone (share 0, or
    the least share tried) and each lifter's best fusion settings."""
    r = _load("fusion_choice.json")
    models = r["models"]

    def row(label: str, what: str) -> list[str]:
        a = models[label]
        return [what, _cell(a["joints13"]["p_mpjpe_mm"], "{:.1f}"), _cell(a["joints13"]["mpjpe_mm"], "{:.1f}"),
                _cell(a["joints17"]["accel_error_mm"], "{:.1f}")]

    rows = [row("mediapipe-world", "mediapipe-world")]
    for lifter, best in r["chosen_per_lifter"].items():
        alone = f"{lifter}@0"
        if alone in models:
            rows.append(row(alone, f"{lifter} alone"))
        tau = best["disagreement_mm"]
        rows.append(row(best["label"], f"{lifter} fused: share {best['world_share']:g}, "
                                       f"tau {'-' if tau is None else f'{tau:g} mm'}"))
    return _table(["model (validation clips, single pass)", "P-MPJPE mm, 13", "MPJPE mm, 13",
                   "accel error mm/frame^2, 17"], rows)


def tables() -> dict[str, str]:
    """Every result table by name."""
    evaluated = set(_load("eval.json")["training_protocol"].values())
    made = {f"accuracy {p}": accuracy(p) for p in PROTOCOLS if p in evaluated}
    if _load("eval.json").get("clip_cameras"):
        made["tracks"] = tracks()
    made.update({"validation": validation(), "checks": checks(), "training": training(),
                 "ablation cycle": ablation("cycle"), "ablation svmac": ablation("svmac"),
                 "drop joints": drop_joints(), "criterion": criterion()})
    for name, fn in (("image path", image_path), ("image path media", image_path_media),
                     ("image path adapt", image_path_adapt), ("image path speed", image_path_speed),
                     ("image path kernels", image_path_kernels)):
        if (RESULTS / f"skeleton_net{name.removeprefix('image path').replace(' ', '_')}.json").exists():
            made[name] = fn()
    if all((RESULTS / f).exists() for f in ("skeleton_net.json", "skeleton_net_media.json")):
        made["image path summary"] = image_path_summary()
    for name, fn, source in (("chen", chen, "chen.json"), ("yang", yang, "yang.json"),
                             ("map kernels", map_kernels, "map_kernels.json"), ("people", people, "people.json"),
                             ("speed", speed, "people.json"), ("recall", recall, "recall.json"),
                             ("video3d", video3d, "video3d.json"), ("video3d headline", video3d_headline, "video3d.json"),
                             ("fusion choice", fusion_choice, "fusion_choice.json")):
        if (RESULTS / source).exists():
            made[name] = fn()
    return made


MARKED = re.compile(r"<!-- table: (.*?) -->\n.*?<!-- /table -->", flags=re.S)


def refill(text: str, made: dict[str, str]) -> str:
    """text with every marked table replaced by its freshly printed form."""
    def table(m: re.Match) -> str:
        if m.group(1) not in made:
            raise SystemExit(f"readme_tables: a page marks a table {m.group(1)!r} that no results file makes")
        return f"<!-- table: {m.group(1)} -->\n{made[m.group(1)]}\n<!-- /table -->"
    return MARKED.sub(table, text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="refill the marked tables of README.md and docs/results.md in place")
    args = ap.parse_args()
    made = tables()
    if args.write:
        from realtime3d.io._atomic import atomic_write_text
        for page in PAGES:
            path = ROOT / page
            atomic_write_text(path, refill(path.read_text(), made))
            print(f"{page}: refilled {', '.join(MARKED.findall(path.read_text()))}")
        return
    for name, text in made.items():
        print(f"<!-- table: {name} -->\n{text}\n<!-- /table -->\n")

if __name__ == "__main__":
    main()
