"""The spine's evaluation hooks: validation (model selection) and cmu-test (logged only)."""
from __future__ import annotations

import copy

import torch

from realtime3d.data.mocap import load_split
from realtime3d.data.views import project_views, random_rotations
from realtime3d.metrics import p_mpjpe
from realtime3d.normalization import BODY_UNIT_MM


class Validator:
    """P-MPJPE of a lifting network on fixed, seeded views of the validation subjects (02, 07).
    The only score that selects models."""

    def __init__(self, seed: int = 1234, max_frames: int = 4000):
        joints = load_split("val")["joints3d"]
        step = max(1, len(joints) // max_frames)
        joints = torch.from_numpy(joints[::step]).float()
        gen = torch.Generator().manual_seed(seed)
        self.pose2d, self.body = project_views(joints, random_rotations(len(joints), gen))   # [N, J, 2], [N, J, 3]

    @torch.no_grad()
    def __call__(self, model: torch.nn.Module) -> float:
        was_training = model.training
        model.eval()
        device = next(model.parameters()).device
        pred = model(self.pose2d.to(device)).float().cpu().numpy()
        model.train(was_training)
        return float(p_mpjpe(pred, self.body.numpy() * BODY_UNIT_MM).mean())  # pred's scale is irrelevant


class TestMetrics:
    """The `realtime3d eval --data cmu-test` protocol (seed 0) on a copy of the model.
    Logged for the curves only: a run never selects on it."""

    def __init__(self, seed: int = 0, flip_average: bool = True):
        from realtime3d.evaluate import load_dataset
        _, self.seq = load_dataset("cmu-test")
        self.seed, self.flip_average = seed, flip_average

    @property
    def fields(self) -> tuple[str, ...]:
        from realtime3d.evaluate import METRICS
        return tuple(f"test_{m}" for m in METRICS)

    def __call__(self, model: torch.nn.Module) -> dict[str, float]:
        from realtime3d.evaluate import METRICS, evaluate
        from realtime3d.lifting import Lifter
        network = copy.deepcopy(model).float().cpu()      # Lifter puts its network in eval mode
        result = evaluate(self.seq, {"model": Lifter(network, name="training", flip_average=self.flip_average)}, seed=self.seed)
        return {f"test_{m}": result["model"][m] for m in METRICS}
