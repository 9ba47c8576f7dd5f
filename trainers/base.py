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

The Trainer owns: data (the train poses, seeded random streams per data shard, the
global batch split over processes), the cosine schedule of every optimizer, logging
(CSV, TensorBoard, progress bar), validation and model selection (best.pt), cmu-test
metrics (logged only), checkpoints and resume, DDP and bf16 autocast.
"""
from __future__ import annotations

import contextlib
import json
import math
import random
import sys
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from realtime3d.io._atomic import atomic_write_text
from .checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint, save_model
from .config import Experiment
from .distributed import Dist, broadcast_floats, gather_objects, init_distributed, shutdown, unwrap, wrap
from .evaluation import TestMetrics, Validator
from .logs import RunLog
from .sampling import PoseSampler, RandomStream


class Context:
    """What a method may ask the spine for: the global batch, the device, the train poses and
    seeded random streams (one generator per data shard this process draws)."""

    def __init__(self, exp: Experiment, d: Dist):
        self.batch = exp.train.batch                       # global batch, over all processes
        self.device = d.device
        self.rank, self.world_size = d.rank, d.world_size
        self.seed = exp.train.seed
        self.total_shards = exp.train.shards or d.world_size
        if self.total_shards % d.world_size:
            raise ValueError(f"train.shards={self.total_shards} must be a multiple of the {d.world_size} processes")
        if self.batch % self.total_shards:
            raise ValueError(f"train.batch={self.batch} must be a multiple of the {self.total_shards} data shards")
        self.shards = list(range(d.rank, self.total_shards, d.world_size))
        self.streams: dict[str, RandomStream] = {}
        self._poses: np.ndarray | None = None

    def stream(self, name: str) -> RandomStream:
        """The named random stream (created once; its state is checkpointed)."""
        if name not in self.streams:
            self.streams[name] = RandomStream(name, self.seed, self.shards, self.total_shards)
        return self.streams[name]

    def train_poses(self) -> np.ndarray:
        """The train split's 3D poses [N, J, 3] mm (a method's 2D comes from views of them)."""
        if self._poses is None:
            from realtime3d.data.mocap import load_split
            self._poses = load_split("train")["joints3d"]
        return self._poses

    def sampler(self, name: str, **kwargs) -> PoseSampler:
        """Random 2D views of the train poses on the named stream (kwargs: elevation_deg, mirror)."""
        return PoseSampler(self.train_poses(), self.stream(name), device=self.device, **kwargs)


class Method(ABC):
    """A training method: its models, its losses and one step (see the module docstring)."""

    name: ClassVar[str]
    Config: ClassVar[type]

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
        (under bf16 autocast with train.amp on CUDA). Returns the scalars to log (the same keys
        every step)."""

    @abstractmethod
    def eval_model(self, models: dict[str, nn.Module]) -> nn.Module:
        """The lifting network that validation scores and best.pt exports (e.g. the EMA generator).
        Called with unwrapped models."""

    def model_card(self) -> dict:
        """Extra model-card keys of the exported network, read by Lifter.from_pretrained
        (e.g. {"flip_average": False} for a network that needs one pass)."""
        return {}


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
        for opt in self.opts.values():
            for group in opt.param_groups:
                group["lr"] = group["initial_lr"] * factor

    def _autocast(self):
        if self.tc.amp and self.dist.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def fit(self, checkpoint: dict | None = None) -> dict:
        """Train to the end of the run, from scratch or from a checkpoint (see open_run);
        returns {'best_val_p_mpjpe', 'steps', 'elapsed_s', 'rank'} (the best score is rank 0's)."""
        if checkpoint is not None:
            self._check_compatible(checkpoint)
            self.load_state_dict(checkpoint)
            self._note(f"resumed from {checkpoint['path']} at step {self.step}")
        else:
            self._seed_process_rngs()
        if self.tc.amp and self.dist.device.type != "cuda":
            self._note("amp: bf16 autocast is for CUDA; ignored on CPU")
        return self._loop(checkpoint is not None)

    def _loop(self, resumed: bool) -> dict:
        tc = self.tc
        log = validate = test = bar = None
        if self.main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.run_dir / "config.json", json.dumps(self.exp.as_dict(), indent=2) + "\n")
            validate = Validator(max_frames=tc.val_frames)
            test = TestMetrics(flip_average=self.method.model_card().get("flip_average", True)) if tc.test_every_s > 0 else None
            log = RunLog(self.run_dir, self.step if resumed else None,
                         ("val_p_mpjpe", *(test.fields if test else ())))
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
        return {"best_val_p_mpjpe": self.best, "steps": self.step, "elapsed_s": round(self.elapsed_s, 1),
                "rank": self.dist.rank}

    def eval_model(self) -> nn.Module:
        return self.method.eval_model(self.models)

    def _validate(self, validate: Validator, log: RunLog) -> None:
        model = self.eval_model()
        val = validate(model)
        self._validated_step = self.step
        log.scalars(log.eval, self.step, self.elapsed_s, {"val_p_mpjpe": val})
        self.since_best += 1
        if val < self.best:
            self.best, self.since_best = val, 0
            save_model(self.run_dir / "best.pt", model, {"method": self.method.name, "val_p_mpjpe_mm": val,
                                                         "step": self.step, "experiment": self.exp.name,
                                                         **self.method.model_card()})

    def _checkpoint(self) -> None:
        state = self.state_dict()                        # a collective: every rank takes part
        if self.main:
            save_checkpoint(self.run_dir, state)
        self._saved_step = self.step

    def _check_compatible(self, state: dict) -> None:
        saved = state["experiment"]
        if saved["method"] != self.exp.method or saved["method_config"] != self.exp.as_dict()["method_config"]:
            raise ValueError(f"{state['path']}: written by another method or [params] ({saved['name']}); "
                             "resume with the config it was trained with")

    # ------------------------------------------------------------------ output
    def _note(self, text: str) -> None:
        if self.main:
            print(f"realtime3d train: {text}", file=sys.stderr)

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
                            best=f"{self.best:.1f}mm" if self.best < float("inf") else "-", refresh=False)


def open_run(run_dir: str | Path, resume: str | Path | None) -> dict | None:
    """The checkpoint to resume from (resume: "last" for the run folder's latest, or a file), or
    None for a fresh run, which must not overwrite another run's checkpoints. Runs before any
    heavy work, so that a bad checkpoint fails at once."""
    run_dir = Path(run_dir)
    if resume is None:
        if any((run_dir / name).exists() for name in ("ckpt-last.pt", "ckpt-prev.pt")):
            raise ValueError(f"{run_dir} holds a run already: go on with --resume, or choose another --run-dir")
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
