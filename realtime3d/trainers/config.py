"""Experiment configs: one TOML file per experiment, `--set key=value` overrides, typed by dataclasses.

A config file names its method and holds two tables, the spine's settings and the
method's hyperparameters:

    method = "drover"
    [train]            # TrainConfig below: batch, length, schedule, intervals, seed ...
    max_steps = 300
    [params]           # the method's own dataclass (e.g. realtime3d/trainers/drover.py DroverConfig)
    width = 512

Keys left out take the dataclass defaults, which are the shipped recipe: a shipped config
holds only what differs from them. Each key's help sits beside it in its field (`param`);
`realtime3d train --help` and the tables of docs/training.md (doc_tables) print it.
`--set train.batch=256 --set params.width=64` overrides one key each; the value is parsed as
the field's type (int, float, bool, str, or a comma-separated tuple). Unknown keys and
ill-typed values are one-line errors (UserError).
File names encode method, data, model size and length, as mmpose does:
`drover_cmu-h36m17_w512-g4d3_28min.toml`.
"""
from __future__ import annotations

import dataclasses
import importlib
import textwrap
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
    "cycle-temporal": "realtime3d.trainers.cycle_temporal:TemporalCycle",
    "skeleton-net": "realtime3d.trainers.skeleton_net:SkeletonNetMethod",
    "chen-views": "realtime3d.trainers.chen:ChenViews",
    "chen": "realtime3d.trainers.chen_regression:ChenRegression",
    "yang": "realtime3d.trainers.yang:Yang",
}

#: Every shipped model (realtime3d/weights/NAME.pt) and the one config that trains it
#: (benchmarks/bench_training.py). Without a suffix a model is of the random-projection protocol;
#: cycle-mediapipe-2d trains on MediaPipe's 2D of rendered people (its config says how to make it).
SHIPPED_MODELS = {
    "drover": "drover_cmu-h36m17_w512-g4d3_28min",
    "drover-fixed-camera": "drover_cmu-h36m17-fixedcam_w512-g4d3_28min",
    "cycle": "cycle_cmu-h36m17_w512_28min",
    "cycle-fixed-camera": "cycle_cmu-h36m17-fixedcam_w512_28min",
    "cycle-mediapipe-2d": "cycle_renders-mediapipe2d_w512_30min",
    "cycle-temporal": "cycle-temporal_cmu-h36m17_w512-t27_30min",
    "svmac": "svmac_cmu-h36m17_w512_28min",
    "svmac-fixed-camera": "svmac_cmu-h36m17-fixedcam_w512_28min",
    "supervised": "supervised_cmu-h36m17_w512-b4_28min",
    "drover-live": "distill_cmu-h36m17_drover-to-w256-b4_20min",
    "chen": "chen_cmu-h36m17_h1024-l5pct_10min",
    "yang": "yang_cmu-h36m17_supervised-w512-full_14min",
}

#: Every shipped 2D detector (realtime3d/weights/detectors/NAME.pt) and the config that trains it.
SHIPPED_DETECTORS = {
    "skeleton-net-start": "skeleton-net_renders-labelled_w16-l4_75min",
    "skeleton-net": "skeleton-net_renders-labelled-crowd_from-start_w16-l4_45min",
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
    "cycle-temporal": SHIPPED_MODELS["cycle-temporal"],
    "skeleton-net": SHIPPED_DETECTORS["skeleton-net"],
    "chen-views": SHIPPED_ENCODERS["chen-views"],
    "chen": SHIPPED_MODELS["chen"],
    "yang": SHIPPED_MODELS["yang"],
}


#: The help of the [params] keys that mean the same in every method that has them: a field made
#: with param(default) and no help of its own takes its line from here, by its name (help_of).
SHARED_HELP = {
    'mirror': 'also train on the mirror image of every mocap pose (left and right swapped)',
    'width': 'width of the residual blocks',
    'd_blocks': 'residual blocks in the discriminator',
    'lr_g': 'generator Adam learning rate',
    'lr_d': 'discriminator Adam learning rate',
    'betas': 'Adam betas of both networks',
    'composed_real': "draw the discriminator's real 2D poses through two composed random cameras",
    'ema': "decay of the exponential moving average of the generator's weights (0 = off)",
    'blocks': 'residual blocks in the lifting network',
    'lr': 'Adam learning rate (peak of the cosine decay)',
    'flow_weight': "weight of the 2D flow prior's NLL of the new views, L_NF (eq. 8; 0 = off, no fit)",
    'bone_weight': 'weight of the anthropometric relative bone-length prior, L_bl (eq. 10; 0 = off)',
    'pca_dim': 'PCA axes of the 2D poses that the flow prior models',
    'flow_steps': "Adam steps of the flow prior's fit, made in the first training step",
    'kernel_backend': 'realtime3d.kernels backend of the skeleton maps: auto, cpu, reference, triton',
    'fixed_elevation_max': "with elevation = 'fixed', the new views' elevation is uniform in 0 to this (degrees)",
    'cycle2d_weight': 'weight of the 2D reprojection of the cycle, L_2d (eq. 5)',
    'cycle3d_weight': 'weight of the 3D consistency of the re-lifted new view, L_3d (eq. 4)',
    'deform_weight': 'weight of the pairwise deformation loss, L_def (eq. 6)',
}


def param(default, help_text: str | None = None):
    """A config field: its default and its one line of help (for `realtime3d train --help` and the
    tables of docs/training.md, config_table); without help_text, the field's name must be a key of
    SHARED_HELP."""
    return field(default=default, metadata={} if help_text is None else {"help": help_text})


@dataclass
class TrainConfig:
    """What the spine owns (the [train] table). A run stops at max_steps or after `minutes`,
    whichever comes first; 0 is no limit."""

    protocol: str = param("random-projection", "how the CMU mocap becomes 2D: random-projection (fresh random "
                          "cameras) or fixed-camera (4 fixed cameras per clip); docs/training.md")
    data: str = param("cmu", "the train 2D: 'cmu' (the mocap under train.protocol) or your pose-sequence .npz "
                      "files (joints2d, no 3D; a file, a folder or a comma-separated list)")
    val_data: str = param("cmu", "the validation 2D: 'cmu' (the val subjects) or your own .npz files, as train.data")
    data_min_visibility: float = param(0.5, "your own 2D: a frame with a joint below this visibility is left out "
                                       "(0: every frame with finite 2D, the detector's guesses included)")
    batch: int = param(1024, "poses per step, summed over all processes")
    max_steps: int = param(0, "stop after this many steps (0 = no step limit)")
    minutes: float = param(0.0, "stop after this many minutes of training (0 = no time limit)")
    lr_decay: bool = param(True, "decay every learning rate to 0 over the run (cosine)")
    warmup_steps: int = param(0, "steps over which every learning rate rises linearly from 0 to its peak, "
                                 "before the decay (0 = none; for a run that starts from trained weights)")
    val_every_s: float = param(20.0, "seconds between validations (model selection by the method's criterion)")
    val_every_steps: int = param(0, "steps between validations; overrides val_every_s when > 0")
    val_frames: int = param(4000, "validation poses, evenly spaced over the validation 2D")
    test_every_s: float = param(0.0, "seconds between cmu-test evaluations, logged only, never used to select "
                                "(0 = off)")
    patience: int = param(0, "stop after this many validations without a new best (early stopping; 0 = off)")
    ckpt_every: int = param(500, "steps between checkpoints")
    log_every: int = param(20, "steps between rows of log.csv")
    seed: int = param(0, "random seed")
    threads: int = param(2, "CPU threads for torch, per process")
    shards: int = param(0, "data shards, each with its own seeded random streams (0 = one per process)")
    amp: bool = param(False, "bf16 autocast on CUDA, or on a CPU with bf16 instructions (ignored on others)")
    sync_bn: bool = param(True, "convert batch norm to SyncBatchNorm under DDP on CUDA")

    def __post_init__(self) -> None:
        from .sampling import PROTOCOLS
        if self.protocol not in PROTOCOLS:
            raise UserError(f"train.protocol must be one of {', '.join(PROTOCOLS)}, got {self.protocol!r}")
        if (self.data == "cmu") != (self.val_data == "cmu"):
            raise UserError("train.data and train.val_data go together: both 'cmu', or both your own 2D files")
        for key, least in TRAIN_MINIMUM.items():
            if getattr(self, key) < least:
                raise UserError(f"train.{key} must be at least {least:g}, got {getattr(self, key)}")


#: The smallest value each numeric [train] key accepts (a thread count of -1 is refused
#: here, not by torch in the middle of a run).
TRAIN_MINIMUM = {"data_min_visibility": 0.0, "batch": 1, "max_steps": 0, "minutes": 0.0, "val_every_s": 0.0, "val_every_steps": 0,
                 "val_frames": 1, "test_every_s": 0.0, "patience": 0, "ckpt_every": 1, "log_every": 1,
                 "threads": 1, "shards": 0}

#: [params] keys renamed since, per method: old name -> new name. Files on disk written with the
#: old name (a config TOML, a checkpoint's experiment) still load (upgrade_params).
RENAMED_PARAMS = {"yang": {"adv": "adversarial"}, "svmac": {"sym_weight": "bone_sym_weight"},
                  "skeleton-net": {"lr": "lr_g"}, "drover": {"r1_gamma": "r1_weight"}}


def upgrade_params(method: str, table: dict) -> dict:
    """A [params] table with the method's renamed keys (RENAMED_PARAMS) under their new names."""
    renamed = RENAMED_PARAMS.get(method, {})
    return {renamed.get(key, key): value for key, value in table.items()}


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
        raise UserError(f"unknown method {name!r}; known: {', '.join(sorted(METHODS))}")
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
        raise UserError(f"{path}: not valid TOML ({exc})") from None
    if "method" not in raw or not isinstance(raw["method"], str):
        raise UserError(f"{path}: needs a top-level method = \"NAME\" ({', '.join(sorted(METHODS))})")
    unknown = set(raw) - {"method", "train", "params"}
    if unknown:
        raise UserError(f"{path}: unknown top-level key(s) {', '.join(sorted(unknown))} "
                        "(expected method, [train], [params])")
    method = raw["method"]
    if method not in METHODS:
        raise UserError(f"{path}: unknown method {method!r}; known: {', '.join(sorted(METHODS))}")
    if not all(isinstance(raw.get(t, {}), dict) for t in ("train", "params")):
        raise UserError(f"{path}: train and params must be tables ([train], [params])")
    tables = {"train": dict(raw.get("train", {})), "params": upgrade_params(method, raw.get("params", {}))}
    config_cls = method_class(method).Config
    for item in overrides:
        section, key, value = _split_override(item)
        if section == "params":
            key = RENAMED_PARAMS.get(method, {}).get(key, key)
        cls = TrainConfig if section == "train" else config_cls
        tables[section][key] = _parse_value(value, _field(cls, key, f"--set {item}"), f"--set {item}")
    train = _build(TrainConfig, tables["train"], f"{path} [train]")
    params = _build(config_cls, tables["params"], f"{path} [params]")
    if train.max_steps <= 0 and train.minutes <= 0:
        raise UserError(f"{path}: set train.max_steps or train.minutes (a run needs a length)")
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
        raise UserError(f"--set {item}: expected train.KEY=VALUE or params.KEY=VALUE")
    return section, name, value.strip()


def _field(cls, key: str, where: str) -> dataclasses.Field:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    if key not in fields:
        raise UserError(f"{where}: unknown key {key!r}; known: {', '.join(fields)}")
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
            # a tuple of ints (a list of layers: dilations) takes any length; others (betas) their own
            ints = bool(f.default) and all(type(v) is int for v in f.default)
            types = [int] * len(items) if ints else [type(v) for v in f.default] or [float] * len(items)
            if len(items) != len(types) or not items:
                raise ValueError
            return tuple(t(s.strip()) for t, s in zip(types, items))
        return kind(text)
    except ValueError:
        raise UserError(f"{where}: {f.name} must be a {kind.__name__}, got {text!r}") from None


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
            raise UserError(f"{where}: {key} must be a {kind.__name__}, got {value!r}")
        values[key] = value
    try:
        return cls(**values)
    except ValueError as exc:
        raise UserError(f"{where}: {exc}") from None


def help_of(f: dataclasses.Field) -> str:
    """The one line of help of a config field: its own (param's help_text), else the shared one of
    its name (SHARED_HELP); "" for neither."""
    return f.metadata.get("help", SHARED_HELP.get(f.name, ""))


def config_table(config_cls, section: str) -> str:
    """The markdown table of a config dataclass's keys (docs/training.md "Config keys"; a test
    checks the docs hold it): key, default, meaning."""
    rows = ["| key | default | meaning |", "|---|---|---|"]
    for f in dataclasses.fields(config_cls):
        rows.append(f"| `{section}.{f.name}` | `{f.default}` | {help_of(f)} |")
    return "\n".join(rows)


def doc_tables() -> str:
    """Every config table of docs/training.md: [train], then each method's [params]."""
    parts = ["### [train]\n\n" + config_table(TrainConfig, "train")]
    parts += [f"### [params] of {name}\n\n" + config_table(method_class(name).Config, "params") for name in METHODS]
    return "\n\n".join(parts)


def keys_help(config, section: str) -> str:
    """The keys of a config dataclass or instance as `realtime3d train --help` lists them: one
    line per key as `--set` takes it, with its value (an instance's, else the default), then its help."""
    lines = []
    for f in dataclasses.fields(config):
        value = getattr(config, f.name) if not isinstance(config, type) else f.default
        if isinstance(value, bool):
            value = str(value).lower()
        elif isinstance(value, tuple):
            value = ",".join(map(str, value))
        lines.append(f"  {section}.{f.name}={value}")
        lines += textwrap.wrap(help_of(f), width=88, initial_indent=" " * 6, subsequent_indent=" " * 6)
    return "\n".join(lines)
