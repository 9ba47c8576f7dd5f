"""The empirical 2D pose prior of Sosa & Hogg, "Self-supervised 3D Human Pose Estimation from a Single
Image" (2023), eqs. 7-8, after Wandt et al.'s ElePose (2022): a normalizing flow on normalized 2D
poses in a PCA subspace, fitted once on 2D poses and then frozen. Why an NSF and 26 axes:
docs/methods.md.

    prior = FlowPrior2D()                       # in Method.build(): checkpointed, not trained by Adam
    prior.fit(ctx.train_2d())                   # at the first step; sets prior.fitted
    loss = prior.nll(pose2d).mean()             # L_NF = -log p_Y(y_bar) (eq. 8), differentiable in pose2d

The PCA: the 34 coordinates of a normalized pose [B, 17, 2] (normalization.normalize_2d) are centred
on the pool's mean and projected on its first `dim` principal axes, y_bar [B, dim] (eq. 7's PCA
subspace). The flow sees y_bar divided by each axis's standard deviation (whitened); nll() [B] is the
NLL of these whitened coordinates, in nats, which differs from -log p(y_bar) by a constant.

The flow: zuko's NSF (Durkan et al., "Neural Spline Flows", 2019), 3 autoregressive monotonic
rational-quadratic spline transforms with (128, 128) hidden units, the identity outside [-5, 5].
"""
from __future__ import annotations

import math
import time

import torch
import zuko
from torch import nn
from realtime3d.errors import UserError

#: The flow's transforms and hidden layers, and its fit: Adam, cosine-decayed lr, batches of poses
#: drawn with replacement from the pool. 2000 steps (the cycle's flow_steps) on 190k poses took
#: 150-200 s on one thread, beside other work on the other core (benchmarks/bench_flow_prior.py).
FLOW_TRANSFORMS = 3
FLOW_HIDDEN = (128, 128)
FLOW_BATCH = 1024
FLOW_LR = 1e-3


class FlowPrior2D(nn.Module):
    """PCA + normalizing flow density of normalized 2D poses [B, J, 2]; fit() once, then frozen.

    Everything it needs after the fit (PCA mean, axes, deviations, flow weights, the `fitted`
    flag) is a buffer or a parameter, so a checkpoint restores it and a resumed run does not refit."""

    def __init__(self, num_joints: int = 17, dim: int = 26):
        super().__init__()
        features = num_joints * 2
        if not 2 <= dim <= features:
            raise UserError(f"pca_dim must lie in 2..{features}, got {dim}")
        self.num_joints, self.dim = num_joints, dim
        self.register_buffer("mean", torch.zeros(features))          # [2J]
        self.register_buffer("axes", torch.eye(features)[:dim])      # [dim, 2J], orthonormal rows
        self.register_buffer("std", torch.ones(dim))                 # [dim]
        self.register_buffer("fitted", torch.tensor(False))
        self.register_buffer("held_out_nll", torch.tensor(float("nan")))  # the fit's, for the model card
        self.flow = zuko.flows.NSF(dim, transforms=FLOW_TRANSFORMS, hidden_features=FLOW_HIDDEN)
        self.requires_grad_(False)                                   # frozen but for fit()

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # checkpoints written before the held-out NLL was kept: it reads as unknown (nan)
        state_dict.setdefault(prefix + "held_out_nll", torch.tensor(float("nan")))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def latent(self, pose2d: torch.Tensor) -> torch.Tensor:
        """Whitened PCA coordinates [B, dim] of normalized 2D poses [B, J, 2]."""
        x = pose2d.reshape(len(pose2d), -1).float()                  # [B, 2J]
        return (x - self.mean) @ self.axes.T / self.std

    def nll(self, pose2d: torch.Tensor) -> torch.Tensor:
        """-log p_Y(y_bar) of each pose (eqs. 7-8; whitened, see the module doc), [B]; gradients flow to
        pose2d, not to the prior."""
        device = pose2d.device.type
        with torch.autocast(device, enabled=False):                 # the splines in float32
            z = self.latent(pose2d)
            return -self.flow().log_prob(z)

    def fit(self, poses: torch.Tensor, steps: int, seed: int = 0, held_out: float = 0.05) -> dict[str, float]:
        """PCA of the pool poses [N, J, 2], then `steps` Adam steps of the flow's NLL (the last
        `held_out` of the pool is kept out, to report an honest NLL). Returns the fit's numbers."""
        t0 = time.perf_counter()
        poses = poses.to(self.mean.device).float()
        n_val = max(1, int(len(poses) * held_out))
        train, val = poses[:-n_val], poses[-n_val:]
        x = train.reshape(len(train), -1)                            # [N, 2J]
        mean = x.mean(0)
        cov = (x - mean).T @ (x - mean) / (len(x) - 1)               # [2J, 2J]
        eigval, eigvec = torch.linalg.eigh(cov.double())             # ascending
        order = eigval.argsort(descending=True)[: self.dim]
        self.mean.copy_(mean)
        self.axes.copy_(eigvec[:, order].T.float())
        self.std.copy_(eigval[order].clamp(min=1e-12).sqrt().float())
        explained = float(eigval[order].sum() / eigval.sum())

        z = self.latent(train)                                       # [N, dim]
        gen = torch.Generator().manual_seed(seed)
        self.flow.requires_grad_(True)
        opt = torch.optim.Adam(self.flow.parameters(), lr=FLOW_LR)
        with torch.enable_grad(), torch.autocast(poses.device.type, enabled=False):
            for k in range(steps):
                for group in opt.param_groups:
                    group["lr"] = FLOW_LR * 0.5 * (1 + math.cos(math.pi * k / steps))
                idx = torch.randint(0, len(z), (FLOW_BATCH,), generator=gen).to(z.device)
                loss = -self.flow().log_prob(z[idx]).mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        self.flow.zero_grad(set_to_none=True)
        self.flow.requires_grad_(False)
        self.fitted.fill_(True)
        with torch.no_grad():
            val_nll = self.nll(val).mean().item()
        self.held_out_nll.fill_(val_nll)
        return {"seconds": time.perf_counter() - t0, "explained": explained, "val_nll": val_nll,
                "poses": float(len(train)), "steps": float(steps)}
