"""Experiment configs: one TOML file per experiment, `--set key=value` overrides, typed by dataclasses.

A config file names its method and holds two tables, the spine's settings and the
method's hyperparameters:

    method = "drover"
    [train]            # TrainConfig below: batch, length, schedule, intervals, seed ...
    max_steps = 300
    [params]           # the method's own dataclass (e.g. realtime3d/trainers/drover.py DroverConfig)
    width = 512

Keys left out take the dataclass defaults. `--set train.batch=256 --set params.width=64`
overrides one key each; the value is parsed as the field's type (int, float, bool,
str, or a comma-separated tuple). Unknown keys and ill-typed values are errors.
File names encode method, data, model size and length, as mmpose does:
`drover_cmu-h36m17_w512-g4d3_28min.toml`.
"""
from __future__ import annotations

import dataclasses
import importlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..errors import UserError

CONFIG_DIR = Path(__file__).resolve().parent / "configs"

#: method name -> "module:class" of its Method (imported on use).
METHODS = {
    "drover": "realtime3d.trainers.drover:Drover",
    "supervised": "realtime3d.trainers.baselines:Supervised",
    "distill": "realtime3d.trainers.distill:Distill",
    "svmac": "realtime3d.trainers.svmac:SVMAC",
    "cycle": "realtime3d.trainers.cycle:Cycle",
    "skeleton-net": "realtime3d.trainers.skeleton_net:SkeletonNetMethod",
    "chen-views": "realtime3d.trainers.chen:ChenViews",
    "chen": "realtime3d.trainers.chen_regression:ChenRegression",
    "yang": "realtime3d.trainers.yang:Yang",
}

#: Every shipped model (realtime3d/weights/NAME.pt) and the one config that trains it
#: (benchmarks/bench_training.py). Without a suffix a model is of the random-projection protocol.
SHIPPED_MODELS = {
    "drover": "drover_cmu-h36m17_w512-g4d3_28min",
    "drover-fixed-camera": "drover_cmu-h36m17-fixedcam_w512-g4d3_28min",
    "cycle": "cycle_cmu-h36m17_w512_28min",
    "cycle-fixed-camera": "cycle_cmu-h36m17-fixedcam_w512_28min",
    "svmac": "svmac_cmu-h36m17_w512_28min",
    "svmac-fixed-camera": "svmac_cmu-h36m17-fixedcam_w512_28min",
    "supervised": "supervised_cmu-h36m17_w512-b4_28min",
    "drover-live": "distill_cmu-h36m17_drover-to-w256-b4_20min",
    "chen": "chen_cmu-h36m17_h1024-l5pct_10min",
    "yang": "yang_cmu-h36m17_supervised-w512-full_14min",
}

#: Every shipped 2D detector (realtime3d/weights/detectors/NAME.pt) and the config that trains it.
SHIPPED_DETECTORS = {
    "skeleton-net": "skeleton-net_cmu-synth-fixedcam_w24_60min",
}

#: Every shipped encoder (realtime3d/weights/encoders/NAME.pt: not a lifter; the chen trainer's
#: params.encoder names it) and the config that trains it.
SHIPPED_ENCODERS = {
    "chen-views": "chen-views_cmu-h36m17_w32-m32_59min",
}

#: `realtime3d train METHOD` trains the shipped config of that method.
SHIPPED = {
    "drover": SHIPPED_MODELS["drover"],
    "supervised": SHIPPED_MODELS["supervised"],
    "distill": SHIPPED_MODELS["drover-live"],
    "svmac": SHIPPED_MODELS["svmac"],
    "cycle": SHIPPED_MODELS["cycle"],
    "skeleton-net": SHIPPED_DETECTORS["skeleton-net"],
    "chen-views": SHIPPED_ENCODERS["chen-views"],
    "chen": SHIPPED_MODELS["chen"],
    "yang": SHIPPED_MODELS["yang"],
}


@dataclass
class TrainConfig:
    """What the spine owns (the [train] table; TRAIN_HELP says what each key means). A run stops
    at max_steps or after `minutes`, whichever comes first; 0 is no limit."""

    protocol: str = "random-projection"
    data: str = "cmu"
    val_data: str = "cmu"
    batch: int = 1024
    max_steps: int = 0
    minutes: float = 0.0
    lr_decay: bool = True
    val_every_s: float = 20.0
    val_every_steps: int = 0
    val_frames: int = 4000
    test_every_s: float = 0.0
    patience: int = 0
    ckpt_every: int = 500
    log_every: int = 20
    seed: int = 0
    threads: int = 2
    shards: int = 0
    amp: bool = False
    sync_bn: bool = True

    def __post_init__(self) -> None:
        from .sampling import PROTOCOLS
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"train.protocol must be one of {', '.join(PROTOCOLS)}, got {self.protocol!r}")
        if (self.data == "cmu") != (self.val_data == "cmu"):
            raise ValueError("train.data and train.val_data go together: both 'cmu', or both your own 2D files")
        for key, least in TRAIN_MINIMUM.items():
            if getattr(self, key) < least:
                raise ValueError(f"train.{key} must be at least {least:g}, got {getattr(self, key)}")


#: The smallest value each numeric [train] key accepts (a thread count of -1 is refused
#: here, not by torch in the middle of a run).
TRAIN_MINIMUM = {"batch": 1, "max_steps": 0, "minutes": 0.0, "val_every_s": 0.0, "val_every_steps": 0,
                 "val_frames": 1, "test_every_s": 0.0, "patience": 0, "ckpt_every": 1, "log_every": 1,
                 "threads": 1, "shards": 0}


#: One line of help per config key, shared by the docs test and `realtime3d train --help`.
TRAIN_HELP = {
    "protocol": "how the CMU mocap becomes 2D: random-projection (fresh random cameras) or fixed-camera "
                "(4 fixed cameras per clip); docs/training.md",
    "data": "the train 2D: 'cmu' (the mocap under train.protocol) or your pose-sequence .npz files "
            "(joints2d, no 3D; a file, a folder or a comma-separated list)",
    "val_data": "the validation 2D: 'cmu' (the val subjects) or your own .npz files, as train.data",
    "batch": "poses per step, summed over all processes",
    "max_steps": "stop after this many steps (0 = no step limit)",
    "minutes": "stop after this many minutes of training (0 = no time limit)",
    "lr_decay": "decay every learning rate to 0 over the run (cosine)",
    "val_every_s": "seconds between validations (model selection by the method's criterion)",
    "val_every_steps": "steps between validations; overrides val_every_s when > 0",
    "val_frames": "validation poses, evenly spaced over the validation 2D",
    "test_every_s": "seconds between cmu-test evaluations, logged only, never used to select (0 = off)",
    "patience": "stop after this many validations without a new best (early stopping; 0 = off)",
    "ckpt_every": "steps between checkpoints",
    "log_every": "steps between rows of log.csv",
    "seed": "random seed",
    "threads": "CPU threads for torch, per process",
    "shards": "data shards, each with its own seeded random streams (0 = one per process)",
    "amp": "bf16 autocast on CUDA (ignored on CPU)",
    "sync_bn": "convert batch norm to SyncBatchNorm under DDP on CUDA",
}


@dataclass
class Experiment:
    """A loaded config: the method's name and class, and its two typed tables."""

    name: str                    # the file's stem and the overrides (run_name), e.g. drover_cmu-h36m17_w512-g4d3_28min
    method: str
    train: TrainConfig
    params: Any                  # the method's Config dataclass
    source: str = ""             # the file it came from
    overrides: list[str] = field(default_factory=list)

    def method_class(self):
        return method_class(self.method)

    def as_dict(self) -> dict:
        return {"name": self.name, "method": self.method, "train": dataclasses.asdict(self.train),
                "method_config": dataclasses.asdict(self.params), "source": self.source,
                "overrides": list(self.overrides)}


def method_class(name: str):
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; known: {', '.join(sorted(METHODS))}")
    module, cls = METHODS[name].split(":")
    return getattr(importlib.import_module(module), cls)


def packaged_configs() -> list[str]:
    return sorted(p.stem for p in CONFIG_DIR.glob("*.toml"))


def resolve_config(spec: str) -> Path:
    """A path, a packaged config's name (with or without .toml), or a method name (its shipped config)."""
    path = Path(spec)
    if path.is_file():
        return path
    name = SHIPPED.get(spec, spec)
    packaged = CONFIG_DIR / (name if name.endswith(".toml") else name + ".toml")
    if packaged.is_file():
        return packaged
    raise UserError(f"no config {spec!r}: not a file, and not one of the packaged configs "
                            f"({', '.join(packaged_configs())}) or methods ({', '.join(SHIPPED)})")


def load_experiment(spec: str, overrides: Sequence[str] = ()) -> Experiment:
    """The experiment of a config (see resolve_config) with `--set` overrides applied."""
    path = resolve_config(spec)
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML ({exc})") from None
    if "method" not in raw or not isinstance(raw["method"], str):
        raise ValueError(f"{path}: needs a top-level method = \"NAME\" ({', '.join(sorted(METHODS))})")
    unknown = set(raw) - {"method", "train", "params"}
    if unknown:
        raise ValueError(f"{path}: unknown top-level key(s) {', '.join(sorted(unknown))} "
                         "(expected method, [train], [params])")
    method = raw["method"]
    if method not in METHODS:
        raise ValueError(f"{path}: unknown method {method!r}; known: {', '.join(sorted(METHODS))}")
    if not all(isinstance(raw.get(t, {}), dict) for t in ("train", "params")):
        raise ValueError(f"{path}: train and params must be tables ([train], [params])")
    tables = {"train": dict(raw.get("train", {})), "params": dict(raw.get("params", {}))}
    config_cls = method_class(method).Config
    for item in overrides:
        section, key, value = _split_override(item)
        cls = TrainConfig if section == "train" else config_cls
        tables[section][key] = _parse_value(value, _field(cls, key, f"--set {item}"), f"--set {item}")
    train = _build(TrainConfig, tables["train"], f"{path} [train]")
    params = _build(config_cls, tables["params"], f"{path} [params]")
    if train.max_steps <= 0 and train.minutes <= 0:
        raise ValueError(f"{path}: set train.max_steps or train.minutes (a run needs a length)")
    return Experiment(run_name(path.stem, overrides), method, train, params, str(path), list(overrides))


def run_name(stem: str, overrides: Sequence[str] = ()) -> str:
    """An experiment's name: the config's stem, then each `--set` override as it was given
    ('drover_..._28min+params.width=256'), so that a run's name never claims settings it did not
    run; characters that do not belong in a folder's name become '-'."""
    parts = ["".join(c if c.isalnum() or c in "._=-" else "-" for c in item.replace(" ", "")) for item in overrides]
    return "+".join([stem, *parts])


def _split_override(item: str) -> tuple[str, str, str]:
    key, sep, value = item.partition("=")
    section, dot, name = key.strip().partition(".")
    if not sep or not dot or section not in ("train", "params"):
        raise ValueError(f"--set {item}: expected train.KEY=VALUE or params.KEY=VALUE")
    return section, name, value.strip()


def _field(cls, key: str, where: str) -> dataclasses.Field:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    if key not in fields:
        raise ValueError(f"{where}: unknown key {key!r}; known: {', '.join(fields)}")
    return fields[key]


def _parse_value(text: str, f: dataclasses.Field, where: str):
    """A --set value as the type of the field's default."""
    kind = type(f.default)
    try:
        if kind is bool:
            low = text.lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if kind is tuple:
            items = [s for s in text.strip("()[] ").split(",") if s.strip()]
            types = [type(v) for v in f.default] or [float] * len(items)
            if len(items) != len(types):
                raise ValueError
            return tuple(t(s.strip()) for t, s in zip(types, items))
        return kind(text)
    except ValueError:
        raise ValueError(f"{where}: {f.name} must be a {kind.__name__}, got {text!r}") from None


def _build(cls, table: dict, where: str):
    """The dataclass from a TOML table: unknown keys and wrong types are errors."""
    values = {}
    for key, value in table.items():
        f = _field(cls, key, where)
        kind = type(f.default)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        elif kind is tuple and isinstance(value, list):
            value = tuple(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ValueError(f"{where}: {key} must be a {kind.__name__}, got {value!r}")
        values[key] = value
    try:
        return cls(**values)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
