"""The training spine: a Method supplies models, losses and a step; the Trainer owns the rest.

    class MyMethod(Method):
        name = "mine"
        Config = MyConfig                                  # a dataclass: the [params] table

        def __init__(self, cfg, ctx):                      # samplers come from the context
            super().__init__(cfg, ctx)
            self.poses = ctx.sampler("poses", mirror=cfg.mirror)

        def build(self):                                   # every model that is checkpointed
            return {"g": LiftingNetwork(width=self.cfg.width)}

        def optimizers(self, models):                      # one per name; its models are trained (DDP)
            return {"g": torch.optim.Adam(models["g"].parameters(), lr=self.cfg.lr)}

        def step(self, models, opts, step):                # losses, backward, optimizer steps
            pose2d, mask, body = self.poses.sample(self.ctx.batch)
            loss = ...
            descend(opts["g"], loss)                       # zero_grad, backward, step
            return {"loss": loss.item()}

The step calls backward and the optimizers itself, so a GAN alternates D and G (or
takes n_critic D steps) in whatever order it needs, with several models and
optimizers. `models` hold the DDP-wrapped modules when distributed; unwrap(m) gives the
module (EMA updates, a forward pass whose gradients must not be reduced).

The Trainer owns: data (the train 2D under the run's protocol, seeded random streams per
data shard, the global batch split over processes), the cosine schedule of every
optimizer, logging (CSV, TensorBoard, progress bar), validation and model selection
(best.pt, by the method's criterion: evaluation.CRITERIA), cmu-test metrics (logged only),
checkpoints and resume, DDP and bf16 autocast.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import random
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from realtime3d.io._atomic import atomic_write_text
from ..errors import UserError
from .checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint, save_model
from .config import Experiment, upgrade_params
from .distributed import Dist, broadcast_floats, gather_objects, init_distributed, shutdown, unwrap, wrap
from .evaluation import CRITERIA, TestMetrics, Validator
from .logs import RunLog
from .sampling import (OWN_2D, VAL_SEED, Pool2D, Pool2DSampler, PoseSampler, RandomStream, SequenceSampler,
                       fixed_camera_pool, pool_from_files, validation_pool)

log = logging.getLogger(__name__)


class Context:
    """What a method may ask the spine for: the global batch, the device, samplers of the train
    2D under the run's protocol (sampling.py) and seeded random streams (one generator per data
    shard this process draws)."""

    def __init__(self, exp: Experiment, d: Dist):
        tc = exp.train
        self.data, self.val_data, self.min_visibility = tc.data, tc.val_data, tc.data_min_visibility
        self.protocol = tc.protocol if tc.data == "cmu" else OWN_2D
        self.batch = exp.train.batch                       # global batch, over all processes
        self.device = d.device
        self.rank, self.world_size = d.rank, d.world_size
        self.seed = exp.train.seed
        self.total_shards = exp.train.shards or d.world_size
        if self.total_shards % d.world_size:
            raise UserError(f"train.shards={self.total_shards} must be a multiple of the {d.world_size} processes")
        if self.batch % self.total_shards:
            raise UserError(f"train.batch={self.batch} must be a multiple of the {self.total_shards} data shards")
        self.shards = list(range(d.rank, self.total_shards, d.world_size))
        self.streams: dict[str, RandomStream] = {}
        self._mocap: dict[str, dict[str, np.ndarray]] = {}
        self._pool: Pool2D | None = None

    def stream(self, name: str) -> RandomStream:
        """The named random stream (created once; its state is checkpointed)."""
        if name not in self.streams:
            self.streams[name] = RandomStream(name, self.seed, self.shards, self.total_shards)
        return self.streams[name]

    def _split(self, split: str) -> dict[str, np.ndarray]:
        """The CMU split's 3D [N, J, 3] mm and clip names: read only to make 2D views here."""
        if split not in self._mocap:
            from realtime3d.data.mocap import load_split
            self._mocap[split] = load_split(split)
        return self._mocap[split]

    def train_pool(self) -> Pool2D:
        """The fixed 2D pool of the fixed-camera and own-2d protocols (built once)."""
        if self._pool is None:
            if self.protocol == OWN_2D:
                self._pool = pool_from_files(self.data, self.min_visibility)
            else:
                split = self._split("train")
                self._pool = fixed_camera_pool(split["joints3d"], split["clip"], self.seed)
        return self._pool

    def sampler(self, name: str, mirror: bool = False, elevation_deg=None) -> PoseSampler | Pool2DSampler:
        """Random train 2D on the named stream: fresh random views under random-projection
        (elevation_deg: the cameras' range, default views.ELEVATION_DEG), draws from the fixed
        pool otherwise (elevation_deg is then ignored: the views are what the cameras saw)."""
        if self.protocol == "random-projection":
            kwargs = {} if elevation_deg is None else {"elevation_deg": elevation_deg}
            return PoseSampler(self._split("train")["joints3d"], self.stream(name), mirror=mirror,
                               device=self.device, **kwargs)
        return Pool2DSampler(self.train_pool(), self.stream(name), mirror=mirror, device=self.device)

    def tracks(self, name: str, frames: int, mirror: bool = False) -> SequenceSampler:
        """Random train tracks on the named stream: `frames` consecutive frames of a train clip through
        one random camera each (sampling.SequenceSampler); the random-projection protocol's cameras."""
        if self.protocol != "random-projection":
            raise UserError(f"tracks are of the CMU mocap through random cameras: train.protocol = "
                            f"random-projection, not {self.protocol}")
        split = self._split("train")
        return SequenceSampler(split["joints3d"], split["clip"], self.stream(name), frames, mirror=mirror,
                               device=self.device)

    def train_2d(self, max_poses: int = 200_000) -> torch.Tensor:
        """A fixed set of train 2D poses [N, J, 2] (N <= max_poses), for fitting priors: the pool
        itself, or under random-projection max_poses seeded random views."""
        if self.protocol == "random-projection":
            views = PoseSampler(self._split("train")["joints3d"], RandomStream.single(self.seed))
            return views.sample(max_poses)[0]
        return self.train_pool().subset(max_poses).pose2d

    def val_pool(self) -> Pool2D:
        """The validation 2D of this run (sampling.validation_pool)."""
        return validation_pool(self.protocol, self.val_data, min_visibility=self.min_visibility)


class Method(ABC):
    """A training method: its models, its losses and one step (see the module docstring)."""

    name: ClassVar[str]
    Config: ClassVar[type]
    #: The validation score that selects best.pt (evaluation.CRITERIA): the 2D one unless the
    #: method says it reads 3D.
    criterion: ClassVar[str] = "val_cycle_2d"
    #: What best.pt holds, which says how it is used: "lifter" (--model), "detector" (--detector
    #: skeleton --detector-weights) or "encoder" (a chen run's params.encoder).
    product: ClassVar[str] = "lifter"
    #: Where the method reads 3D beyond the sampler's 2D views ("" = nowhere; model cards say it).
    reads_3d: ClassVar[str] = ""
    #: How the shipped hyperparameters were chosen, when that read anything (model cards say it).
    tuned_on: ClassVar[str] = ""
    #: Whether the method scores its own validation (validate()) instead of the spine's lifter
    #: Validator, and the columns of eval.csv its scores fill.
    own_validation: ClassVar[bool] = False
    eval_fields: ClassVar[tuple[str, ...]] = ("val_cycle_2d", "val_p_mpjpe")

    def __init__(self, cfg, ctx: Context):
        self.cfg, self.ctx = cfg, ctx

    @abstractmethod
    def build(self) -> dict[str, nn.Module]:
        """Every model of the method, by name (all are checkpointed; EMA copies included)."""

    @abstractmethod
    def optimizers(self, models: dict[str, nn.Module]) -> dict[str, torch.optim.Optimizer]:
        """Optimizers by name. Each param group's lr is its peak; the spine decays it (cosine).
        The models they train are wrapped in DDP when distributed."""

    @abstractmethod
    def step(self, models: dict[str, nn.Module], opts: dict[str, torch.optim.Optimizer],
             step: int) -> dict[str, float]:
        """One training step on self.ctx.batch poses: the losses, backward, optimizer steps
        (under bf16 autocast with train.amp, on CUDA or a CPU with bf16 instructions). Returns the scalars to log (the same keys
        every step)."""

    @abstractmethod
    def eval_model(self, models: dict[str, nn.Module]) -> nn.Module:
        """The lifting network that validation scores and best.pt exports (e.g. the EMA generator).
        Called with unwrapped models."""

    def validate(self, models: dict[str, nn.Module]) -> dict[str, float]:
        """With own_validation: the method's validation scores {name: value} (eval_fields, the
        criterion among them). Called with unwrapped models on rank 0; a 2D-only method's
        criterion must not read 3D."""
        raise NotImplementedError(f"{self.name} sets own_validation but has no validate()")

    def model_card(self) -> dict:
        """Extra model-card keys of the exported network, read by Lifter.from_pretrained
        (e.g. {"flip_average": False} for a network that needs one pass)."""
        return {}


def cpu_has_bf16() -> bool:
    """Whether this CPU computes in bf16 natively (AVX512-BF16 or AMX): train.amp's autocast is faster there."""
    return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


def descend(opt: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    """One optimizer step on a loss: clear the gradients, backpropagate, step."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def cosine_factor(progress: float) -> float:
    """Learning-rate factor of a cosine decay from 1 to 0 as progress goes from 0 to 1."""
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, max(0.0, progress))))


def _rng_state(ctx: Context) -> dict:
    """This process's random states, as tensors and plain values (a weights_only checkpoint)."""
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    return {"torch": torch.get_rng_state(), "numpy": (name, torch.from_numpy(keys.astype(np.int64)), pos,
                                                      has_gauss, gauss),
            "python": random.getstate(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            "streams": {name: s.state_dict() for name, s in ctx.streams.items()}}


def _set_rng_state(state: dict) -> None:
    """The process-wide generators (the streams are restored per shard, see load_state_dict)."""
    torch.set_rng_state(state["torch"])
    name, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    random.setstate(state["python"])
    if state["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class Trainer:
    """Runs one experiment: `Trainer(exp, run_dir).fit()`, or `.fit(open_run(run_dir, "last"))` to resume."""

    def __init__(self, exp: Experiment, run_dir: str | Path):
        self.exp, self.run_dir = exp, Path(run_dir)
        self.tc = exp.train
        self.dist = init_distributed()
        torch.set_num_threads(self.tc.threads)
        self.ctx = Context(exp, self.dist)
        torch.manual_seed(self.tc.seed)                  # the same initial weights on every rank
        self.method: Method = exp.method_class()(exp.params, self.ctx)
        self.models = {k: m.to(self.dist.device) for k, m in self.method.build().items()}
        self.opts = self.method.optimizers(self.models)
        for opt in self.opts.values():
            for group in opt.param_groups:
                group.setdefault("initial_lr", group["lr"])
        trained = {id(p) for opt in self.opts.values() for g in opt.param_groups for p in g["params"]}
        self.wrapped = {k: wrap(m, self.dist, self.tc.sync_bn) if any(id(p) in trained for p in m.parameters())
                        else m for k, m in self.models.items()}
        self.models = {k: unwrap(m) for k, m in self.wrapped.items()}   # SyncBatchNorm may have replaced them
        self.step = 0
        self.elapsed_s = 0.0                             # training time, carried over resumes
        self.best = float("inf")
        self.since_best = 0
        self._saved_step = self._validated_step = -1
        self.main = self.dist.is_main

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict:
        rng = gather_objects(_rng_state(self.ctx), self.dist)        # every rank's streams and RNGs
        return {
            "step": self.step, "elapsed_s": self.elapsed_s, "best": self.best, "since_best": self.since_best,
            "experiment": self.exp.as_dict(), "world_size": self.dist.world_size,
            "models": {k: m.state_dict() for k, m in self.models.items()},
            "optimizers": {k: o.state_dict() for k, o in self.opts.items()},
            "rng": rng,
        }

    def load_state_dict(self, state: dict) -> None:
        for k, m in self.models.items():
            m.load_state_dict(state["models"][k])
        for k, o in self.opts.items():
            o.load_state_dict(state["optimizers"][k])
        self.step, self.elapsed_s = state["step"], state["elapsed_s"]
        self.best, self.since_best = state["best"], state["since_best"]
        ranks = state["rng"]
        if len(ranks) == self.dist.world_size:
            _set_rng_state(ranks[self.dist.rank])
        else:                                            # another process count: keep per-shard streams
            self._seed_process_rngs()
        streams: dict[str, dict] = {}
        for r in ranks:
            for name, shards in r["streams"].items():
                streams.setdefault(name, {}).update(shards)
        for name, shards in streams.items():
            self.ctx.stream(name).load_state_dict(shards)

    def _seed_process_rngs(self) -> None:
        seed = self.tc.seed * 1000 + self.dist.rank       # per rank: torch, numpy, python
        torch.manual_seed(seed)
        np.random.seed(seed)
        random.seed(seed)

    # ------------------------------------------------------------------ the loop
    def _progress(self) -> float:
        parts = []
        if self.tc.max_steps > 0:
            parts.append(self.step / self.tc.max_steps)
        if self.tc.minutes > 0:
            parts.append(self.elapsed_s / (self.tc.minutes * 60))
        return max(parts)

    def _set_lr(self, progress: float) -> None:
        factor = cosine_factor(progress) if self.tc.lr_decay else 1.0
        if self.tc.warmup_steps > 0:
            factor *= min(1.0, (self.step + 1) / self.tc.warmup_steps)
        for opt in self.opts.values():
            for group in opt.param_groups:
                group["lr"] = group["initial_lr"] * factor

    def _autocast(self):
        if self.tc.amp and (self.dist.device.type == "cuda" or cpu_has_bf16()):
            return torch.autocast(self.dist.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def fit(self, checkpoint: dict | None = None) -> dict:
        """Train to the end of the run, from scratch or from a checkpoint (see open_run); returns
        {'best_score', 'criterion', 'steps', 'elapsed_s', 'rank', 'best_path', 'product'} (the best
        score is rank 0's; best_path is RUN_DIR/best.pt, None where no validation ran; product is
        the method's)."""
        if checkpoint is not None:
            self._check_compatible(checkpoint)
            self.load_state_dict(checkpoint)
            self._note(f"resumed from {checkpoint['path']} at step {self.step}")
        else:
            self._seed_process_rngs()
        if self.tc.amp and self.dist.device.type != "cuda" and not cpu_has_bf16():
            self._note("amp: this CPU has no bf16 instructions (AVX512-BF16 or AMX); ignored", logging.WARNING)
        return self._loop(checkpoint is not None)

    def _loop(self, resumed: bool) -> dict:
        tc = self.tc
        log = validate = test = bar = None
        if self.main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.run_dir / "config.json", json.dumps(self.exp.as_dict(), indent=2) + "\n")
            validate = (None if self.method.own_validation
                        else Validator(self.ctx.val_pool(), seed=VAL_SEED, max_frames=tc.val_frames))
            if self.method.criterion == "val_p_mpjpe" and validate is not None and validate.body is None:
                raise UserError(f"{self.method.name} selects on val_p_mpjpe, which this validation data cannot "
                                "give (it has no 3D)")
            test = self._test_metrics() if tc.test_every_s > 0 else None
            log = RunLog(self.run_dir, self.step if resumed else None,
                         (*self.method.eval_fields, *(test.fields if test else ())))
            bar = self._bar()
        t0 = time.perf_counter() - self.elapsed_s
        # a fresh run validates (and tests) after its first step, a resumed one an interval after the resume
        next_val = self.elapsed_s + tc.val_every_s if resumed else 0.0
        next_test = self.elapsed_s + tc.test_every_s if resumed else 0.0
        stop_flag = 0.0
        while True:
            # rank 0's clock decides for everyone: the lr schedule's progress and early stopping
            progress, stop = broadcast_floats([self._progress(), stop_flag], self.dist)
            if progress >= 1.0 or stop:
                break
            self._set_lr(progress)
            with self._autocast():
                scalars = self.method.step(self.wrapped, self.opts, self.step)
            self.step += 1
            self.elapsed_s = time.perf_counter() - t0
            if self.main:
                if self.step % tc.log_every == 0 or self.step == 1:
                    lrs = {f"lr_{k}": o.param_groups[0]["lr"] for k, o in self.opts.items()}
                    log.scalars(log.train, self.step, self.elapsed_s, {**scalars, **lrs})
                if tc.val_every_steps > 0:
                    due = self.step % tc.val_every_steps == 0
                else:
                    due = tc.val_every_s > 0 and self.elapsed_s >= next_val
                if due:
                    self._validate(validate, log)
                    next_val = self.elapsed_s + tc.val_every_s
                if test is not None and self.elapsed_s >= next_test:
                    log.scalars(log.eval, self.step, self.elapsed_s, test(self.eval_model()))
                    next_test = self.elapsed_s + tc.test_every_s
                self._update_bar(bar, scalars)
                stop_flag = float(bool(tc.patience) and self.since_best >= tc.patience)
            if tc.ckpt_every > 0 and self.step % tc.ckpt_every == 0:
                self._checkpoint()
        if self.main:
            if self._validated_step != self.step:
                self._validate(validate, log)             # the final weights are a candidate too
            bar.close()
            log.close()
        if self._saved_step != self.step:
            self._checkpoint()
        best = self.run_dir / "best.pt"
        return {"best_score": self.best, "criterion": self.method.criterion, "steps": self.step,
                "elapsed_s": round(self.elapsed_s, 1), "rank": self.dist.rank,
                "best_path": str(best) if best.exists() else None, "product": self.method.product}

    def eval_model(self) -> nn.Module:
        return self.method.eval_model(self.models)

    def _test_metrics(self) -> TestMetrics | None:
        """The logged cmu-test metrics, or None (with a note) where the CMU test split is absent,
        as for a user who trains on their own 2D."""
        try:
            return TestMetrics(flip_average=self.method.model_card().get("flip_average", True))
        except FileNotFoundError as exc:
            self._note(f"train.test_every_s ignored: {exc}", logging.WARNING)
            return None

    def _validate(self, validate: Validator | None, log: RunLog) -> None:
        model = self.eval_model()
        scores = validate(model) if validate is not None else self.method.validate(self.models)
        self._validated_step = self.step
        log.scalars(log.eval, self.step, self.elapsed_s, scores)
        self.since_best += 1
        score = scores[self.method.criterion]         # the only score that selects
        if score < self.best:
            self.best, self.since_best = score, 0
            save_model(self.run_dir / "best.pt", model, self.card(score))

    def card(self, score: float) -> dict:
        """The model card of a selected checkpoint: what it is, what data and protocol made it,
        what selected it, where it read 3D, and its training time."""
        tc, method = self.tc, self.method
        if self.ctx.protocol == OWN_2D:
            reads = method.reads_3d or "nowhere"
        else:
            sampler = f"the sampler, to make the {self.ctx.protocol} 2D views of the CMU mocap"
            reads = f"{sampler}; {method.reads_3d}" if method.reads_3d else f"only {sampler}"
        return {"method": method.name, "experiment": self.exp.name, "step": self.step,
                "protocol": self.ctx.protocol, "data": tc.data, "val_data": tc.val_data,
                "selection": {"criterion": method.criterion, "value": round(score, 4),
                              "description": CRITERIA[method.criterion]},
                "reads_3d": reads, **({"hyperparameters_chosen_on": method.tuned_on} if method.tuned_on else {}),
                "selected_at_seconds": round(self.elapsed_s, 1), "budget_minutes": tc.minutes,
                "threads": tc.threads, **method.model_card()}

    def _checkpoint(self) -> None:
        state = self.state_dict()                        # a collective: every rank takes part
        if self.main:
            save_checkpoint(self.run_dir, state)
        self._saved_step = self.step

    def _check_compatible(self, state: dict) -> None:
        saved = state["experiment"]
        # a [params] key the checkpoint lacks was added to the method since, and ran at its default
        params = {**dataclasses.asdict(type(self.exp.params)()), **upgrade_params(saved["method"], saved["method_config"])}
        if saved["method"] != self.exp.method or params != self.exp.as_dict()["method_config"]:
            raise UserError(f"{state['path']}: written by another method or [params] ({saved['name']}); "
                            "resume with the config it was trained with")

    # ------------------------------------------------------------------ output
    def _note(self, text: str, level: int = logging.INFO) -> None:
        if self.main:
            log.log(level, "train: %s", text)

    def _bar(self):
        from tqdm import tqdm
        tc = self.tc
        if tc.max_steps > 0:
            return tqdm(total=tc.max_steps, initial=self.step, unit="step", desc=f"train {self.exp.name}",
                        dynamic_ncols=True, mininterval=2.0)
        return tqdm(total=round(tc.minutes * 60), initial=round(self.elapsed_s), unit="s",
                    desc=f"train {self.exp.name}", dynamic_ncols=True, mininterval=2.0,
                    bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} s [{elapsed}<{remaining}"
                               "{postfix}]")

    def _update_bar(self, bar, scalars: dict[str, float]) -> None:
        if self.tc.max_steps > 0:
            bar.update(self.step - bar.n)
        elif round(self.elapsed_s) > bar.n:
            bar.update(min(round(self.elapsed_s), bar.total) - bar.n)
        if self.step % 10 == 0:
            bar.set_postfix(step=self.step, steps_per_s=f"{self.step / max(self.elapsed_s, 1e-9):.1f}",
                            best=f"{self.best:.2f}" if self.best < float("inf") else "-", refresh=False)


def open_run(run_dir: str | Path, resume: str | Path | None) -> dict | None:
    """The checkpoint to resume from (resume: "last" for the run folder's latest, or a file), or
    None for a fresh run, which must not overwrite another run's checkpoints. Runs before any
    heavy work, so that a bad checkpoint fails at once."""
    run_dir = Path(run_dir)
    if resume is None:
        if any((run_dir / name).exists() for name in ("ckpt-last.pt", "ckpt-prev.pt")):
            raise UserError(f"{run_dir} holds a run already: go on with --resume, or choose another --run-dir")
        return None
    path = latest_checkpoint(run_dir) if resume == "last" else Path(resume)
    return {**load_checkpoint(path), "path": str(path)}


def train(exp: Experiment, run_dir: str | Path, resume: str | Path | None = None) -> dict:
    """Train one experiment (see Trainer.fit), then leave the process group if torchrun made one."""
    checkpoint = open_run(run_dir, resume)
    trainer = Trainer(exp, run_dir)
    try:
        return trainer.fit(checkpoint)
    finally:
        shutdown(trainer.dist)
