"""The spine's evaluation hooks: validation (model selection) and cmu-test (logged only).

Validation scores a lifter on fixed validation 2D by the criteria in CRITERIA. A method
names the one that selects its checkpoint (Method.criterion): every 2D-only method
selects on "val_cycle_2d", computed from the validation 2D alone; only a method that
says it reads 3D may select on "val_p_mpjpe". The 3D score is logged next to the 2D
one when the validation data has 3D (the plot of benchmarks/bench_criterion.py), and
nothing reads it to choose unless the method's criterion is the 3D one.
"""
from __future__ import annotations

import copy

import torch

from realtime3d.data.views import at_depth, random_projection, random_rotations
from realtime3d.metrics import p_mpjpe
from realtime3d.normalization import BODY_UNIT_MM, DEPTH, RMS_RADIUS, normalize_2d
from .sampling import Pool2D

#: Selection criteria: name -> what it is (model cards quote it). Lower is better for both.
CRITERIA = {
    "val_cycle_2d": "rotation-cycle 2D reprojection error of the validation 2D alone: lift, turn by a fixed "
                    "seeded random camera (azimuth 0-360, elevation 0-20 deg), project, lift again, turn back, "
                    "project; mean joint distance to the input, in % of the pose's RMS radius",
    "val_p_mpjpe": "P-MPJPE (mm) against the validation subjects' 3D (reads 3D)",
    "val_render_2d": "2D error of the image path on fixed validation render crops (the val subjects, held-out "
                     "appearances and scenes): mean joint distance to the renders' own 2D, in % of the torso "
                     "height (reads the renders' 2D labels: synthetic-labelled)",
    "val_disagreement": "the image path's disagreement on fixed validation render crops: 1 - the soft Dice of "
                        "Phi's skeleton image and kappa of Omega's 2D, in % (images alone, no label)",
    "val_disagreement_footage": "val_disagreement on fixed person crops of the user's own footage (images "
                                "alone, no label)",
    "val_synthesis": "view-synthesis error of fixed pairs of 2D views of the val subjects (skeleton maps of two "
                     "cameras and their relative rotation): squared map error summed over the bone maps, meaned "
                     "over pixels, both directions averaged, x 100 (2D maps alone, no 3D)",
    "val_labelled_p_mpjpe": "P-MPJPE (mm) on the held-out share of the labelled train poses' views (reads only the "
                            "labelled poses' 3D)",
}


@torch.no_grad()
def cycle_2d_error(model: torch.nn.Module, pose2d: torch.Tensor, rotations: torch.Tensor) -> torch.Tensor:
    """Per-pose rotation-cycle reprojection error [N] of a lifter on normalized 2D [N, J, 2],
    with rotations [N, 3, 3]: y -> v = lift(y) -> y_hat = proj(R v) -> v' = lift(y_hat) ->
    y' = proj(R^T v'), y' normalized as y is; the mean joint distance |y' - y| / RMS_RADIUS * 100.

    A right lifter gets 0 (its views are views of the same body). The relifted pose is put
    back at the pivot (root at depth DEPTH) before it is turned back, as v is placed."""
    lifted = model(pose2d)                                                          # [N, J, 3]
    seen, _, _ = normalize_2d(random_projection(lifted, rotations, DEPTH))           # [N, J, 2]
    relifted = at_depth(model(seen))                                                # [N, J, 3]
    back, _, _ = normalize_2d(random_projection(relifted, rotations.transpose(-1, -2), DEPTH))
    return (back - pose2d).norm(dim=-1).mean(-1) / RMS_RADIUS * 100.0


class Validator:
    """Fixed validation 2D (a Pool2D: the val subjects under the run's protocol, or the user's
    val files) and its criteria. __call__(model) -> {criterion: value}, val_p_mpjpe only when the
    pool has 3D."""

    def __init__(self, pool: Pool2D, seed: int = 1234, max_frames: int = 4000):
        pool = pool.subset(max_frames)
        self.pose2d, self.body, self.protocol = pool.pose2d, pool.body, pool.protocol   # [N, J, 2], [N, J, 3]
        self.rotations = random_rotations(len(self.pose2d), torch.Generator().manual_seed(seed))

    @torch.no_grad()
    def __call__(self, model: torch.nn.Module) -> dict[str, float]:
        was_training = model.training
        model.eval()
        device = next(model.parameters()).device
        pose2d = self.pose2d.to(device)
        scores = {"val_cycle_2d": float(cycle_2d_error(model, pose2d, self.rotations.to(device)).mean())}
        if self.body is not None:         # pred's scale is irrelevant to P-MPJPE
            pred = model(pose2d).float().cpu().numpy()
            scores["val_p_mpjpe"] = float(p_mpjpe(pred, self.body.numpy() * BODY_UNIT_MM).mean())
        model.train(was_training)
        return scores


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
