"""The networks of Chen et al., "Weakly-Supervised Discovery of Geometry-Aware Representation for 3D
Human Pose Estimation" (2019), secs. 3.1-3.4: per-bone skeleton maps, the view-synthesis
encoder-decoder whose bottleneck is a set of M 3D points G, and the shallow regressors of its
experiments (Regression#1 on G, and Baseline#1, the same regressor on the 2D coordinates).
Where they differ from the paper's, and why: docs/methods.md.

Maps (sec. 3.1): one map per bone (K = 16), the kernels' profile exp(-MAP_GAMMA d^2)
(realtime3d.kernels.render_skeleton, mode "per_bone"), drawn from a normalized 2D pose
(normalization.normalize_2d: root at the centre, fixed RMS radius) at one fixed scale, MAP_SCALE
pixels per normalized unit. skeleton_maps() is the one place that draws them: for the view-synthesis
training, the regressor's training and the shipped lifter at inference.

Networks (sec. 3.2). ViewSynthesis is one generator: an encoder (strided convs, no skip connections;
maps [B, K, 64, 64] -> G [B, M, 3]) and a decoder (G turned by R_ij [B, 3, 3] -> the maps of view j
[B, K, 64, 64], a sigmoid per pixel). The bidirectional model is two of them, (phi, psi) and
(mu, nu) (realtime3d/trainers/chen.py).

Lifters (sec. 3.4). ChenLifter = skeleton_maps -> the frozen encoder phi -> Regression#1 (two fully
connected layers, 1024 then J x 3) -> 3D; CoordinateRegressor = the same regressor on the normalized
2D coordinates (Baseline#1). Both give the lifters' output convention (LiftingNetwork): 2D [B, J, 2]
and mask [B, J] -> 3D [B, J, 3] in normalized units, the root at (0, 0, DEPTH + 1), the pose's
image-plane size that of the 2D at that depth: the regressor's output is scaled by the signed
least-squares factor that takes its x, y about the root to (DEPTH + 1) times the 2D (from the 2D
alone). Missing joints (mask False) are put at the 2D centre, in the maps and in the coordinates
alike: their bones shrink to the root.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..kernels import render_skeleton
from ..normalization import DEPTH
from ..skeleton import H36M17
from .image import conv_unit

#: Side of a skeleton map, pixels (the paper's 64 x 64).
MAP_SIZE = 64
#: Map pixels per normalized 2D unit. Normalized poses have an RMS radius of 0.07 (normalization.py);
#: over 200k random views of CMU train no joint lies farther than 0.18 from the root, 25 px here,
#: which leaves at least 6 px to the border of the 64-px map (tests/test_chen.py checks the val views).
MAP_SCALE = 140.0
#: The profile's sharpness per map pixel squared: exp(-0.2 d^2) is 1/2 at 1.9 px from a bone's axis,
#: a line about 4 px wide on the 64-px map (the paper: binary, 8 px wide, on its maps).
MAP_GAMMA = 0.2
#: Poses whose maps are drawn at once by ChenLifter (a pose's maps are 256 kB).
MAP_CHUNK = 512
#: The bones (parent, child) [K, 2]: one map each.
BONES = torch.tensor(H36M17.bones, dtype=torch.long)
NUM_BONES = len(H36M17.bones)


def skeleton_maps(pose2d: torch.Tensor, backend: str = "auto", size: int = MAP_SIZE) -> torch.Tensor:
    """Per-bone skeleton maps [B, K, S, S] of normalized 2D poses [B, J, 2] (the root at the map's
    centre, MAP_SCALE pixels per unit), drawn by realtime3d.kernels.render_skeleton (per_bone)."""
    if pose2d.ndim != 3 or pose2d.shape[1:] != (H36M17.num_joints, 2):
        raise ValueError(f"pose2d must be [B, {H36M17.num_joints}, 2], got {list(pose2d.shape)}")
    pixels = pose2d * (MAP_SCALE * size / MAP_SIZE) + (size - 1) / 2.0                   # [B, J, 2]
    return render_skeleton(pixels, BONES.to(pose2d.device), (size, size), MAP_GAMMA, mode="per_bone",
                           backend=backend)


def _check_maps(maps: torch.Tensor, bones: int, size: int) -> None:
    if maps.ndim != 4 or maps.shape[1:] != (bones, size, size):
        raise ValueError(f"maps must be [B, {bones}, {size}, {size}], got {list(maps.shape)}")


#: The decoder's first output logit (see MapDecoder).
OUT_BIAS = -4.0
#: Stride-2 levels of the encoder (and upsampling levels of the decoder): 64 -> 4 pixels.
_LEVELS = 4


class MapEncoder(nn.Module):
    """phi (or mu): skeleton maps [B, K, S, S] -> G [B, M, 3], M points in 3D. Strided 3x3 convs
    (channels w, 2w, 4w, 4w at S/2 ... S/16, GroupNorm, ReLU), no skip connections, then one linear
    layer to the M x 3 numbers."""

    def __init__(self, num_bones: int = NUM_BONES, width: int = 32, points: int = 32, size: int = MAP_SIZE):
        super().__init__()
        if size % 2 ** _LEVELS:
            raise ValueError(f"size must be a multiple of {2 ** _LEVELS}, got {size}")
        self.architecture = {"kind": "chen-encoder", "num_bones": num_bones, "width": width, "points": points,
                             "size": size}
        self.num_bones, self.points, self.size = num_bones, points, size
        chans = [width, 2 * width, 4 * width, 4 * width]
        layers, cin = [], num_bones
        for cout in chans:
            layers.append(conv_unit(cin, cout, 2))
            cin = cout
        self.net = nn.Sequential(*layers)
        self.head = nn.Linear(cin * (size // 2 ** _LEVELS) ** 2, points * 3)

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        _check_maps(maps, self.num_bones, self.size)
        return self.head(self.net(maps).flatten(1)).view(len(maps), self.points, 3)      # [B, M, 3]


class MapDecoder(nn.Module):
    """psi (or nu): G [B, M, 3] (already turned into the target camera) -> skeleton maps
    [B, K, S, S] in (0, 1): a linear layer to 4w x S/16 x S/16, then nearest 2x upsampling and 3x3
    convs back to S, a 3x3 conv to K maps and a sigmoid."""

    def __init__(self, num_bones: int = NUM_BONES, width: int = 32, points: int = 32, size: int = MAP_SIZE):
        super().__init__()
        self.points, self.low = points, size // 2 ** _LEVELS
        chans = [4 * width, 4 * width, 2 * width, width, width]
        self.fc = nn.Linear(points * 3, chans[0] * self.low ** 2)
        self.ups = nn.ModuleList(conv_unit(chans[i], chans[i + 1]) for i in range(_LEVELS))
        self.out = nn.Conv2d(chans[-1], num_bones, 3, 1, 1)
        # start at nearly blank maps (sigmoid(-4) = 0.018; a bone covers about 1% of its map), not at
        # 0.5 everywhere, which is 36 times the error of a blank map and takes hundreds of steps to unlearn
        nn.init.constant_(self.out.bias, OUT_BIAS)

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        if latent.ndim != 3 or latent.shape[1:] != (self.points, 3):
            raise ValueError(f"latent must be [B, {self.points}, 3], got {list(latent.shape)}")
        x = F.relu(self.fc(latent.flatten(1))).view(len(latent), -1, self.low, self.low)
        for up in self.ups:
            x = up(F.interpolate(x, scale_factor=2.0, mode="nearest"))
        return torch.sigmoid(self.out(x))                                                 # [B, K, S, S]


class ViewSynthesis(nn.Module):
    """One generator of the bidirectional model: forward(maps of view i [B, K, S, S], R_ij [B, 3, 3])
    -> (G_i [B, M, 3], the maps of view j [B, K, S, S] decoded from R_ij G_i)."""

    def __init__(self, num_bones: int = NUM_BONES, width: int = 32, points: int = 32, size: int = MAP_SIZE):
        super().__init__()
        self.encoder = MapEncoder(num_bones, width, points, size)
        self.decoder = MapDecoder(num_bones, width, points, size)

    def forward(self, maps: torch.Tensor, rotations: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if rotations.shape != (len(maps), 3, 3):
            raise ValueError(f"rotations must be [{len(maps)}, 3, 3], got {list(rotations.shape)}")
        latent = self.encoder(maps)                                                       # [B, M, 3]
        return latent, self.decoder(rotate_latent(latent, rotations))


def rotate_latent(latent: torch.Tensor, rotations: torch.Tensor) -> torch.Tensor:
    """Each point g of G [B, M, 3] turned by R [B, 3, 3]: R g (about the latent origin)."""
    return latent @ rotations.transpose(-1, -2)


class _Regressed(nn.Module):
    """Regression#1 and the lifters' output convention, on features [B, F] of a 2D pose: the
    features standardized by fixed statistics (buffers set once by the trainer from its training
    inputs, 2D only), Linear(F, hidden), ReLU, Linear(hidden, J x 3), then the output placed and
    scaled as the module docstring says."""

    def __init__(self, features: int, num_joints: int, hidden: int, depth: float):
        super().__init__()
        self.num_joints, self.depth = num_joints, depth
        self.register_buffer("feature_mean", torch.zeros(features))
        self.register_buffer("feature_std", torch.ones(features))
        self.regressor = nn.Sequential(nn.Linear(features, hidden), nn.ReLU(inplace=True),
                                       nn.Linear(hidden, num_joints * 3))

    def features(self, pose2d: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        raise NotImplementedError

    @torch.no_grad()
    def set_feature_stats(self, features: torch.Tensor) -> None:
        """Standardize inputs by the mean and spread of features [N, F] (the training inputs)."""
        self.feature_mean.copy_(features.mean(0))
        self.feature_std.copy_(features.std(0).clamp(min=1e-6))

    def forward(self, pose2d: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """(normalized 2D [B, J, 2], mask [B, J] or None) -> 3D [B, J, 3]."""
        pose2d = _masked(pose2d, mask, self.num_joints)
        return self.from_features(self.features(pose2d), pose2d, mask)

    def from_features(self, features: torch.Tensor, pose2d: torch.Tensor,
                      mask: torch.Tensor | None = None) -> torch.Tensor:
        """The regressor on precomputed features [B, F] of pose2d [B, J, 2] -> 3D [B, J, 3]."""
        b, j = pose2d.shape[:2]
        raw = self.regressor((features - self.feature_mean) / self.feature_std).view(b, j, 3)
        rel = raw - raw[:, H36M17.root:H36M17.root + 1]                                   # [B, J, 3]
        w = torch.ones(b, j, 1, dtype=rel.dtype, device=rel.device) if mask is None else mask[..., None].to(rel.dtype)
        seen = pose2d * (self.depth + 1.0)                                                # [B, J, 2]
        drawn = rel[..., :2]
        scale = (drawn * seen * w).sum((1, 2)) / (drawn ** 2 * w).sum((1, 2)).clamp(min=1e-12)   # [B], signed
        return rel * scale[:, None, None] + rel.new_tensor([0.0, 0.0, self.depth + 1.0])


def _masked(pose2d: torch.Tensor, mask: torch.Tensor | None, num_joints: int) -> torch.Tensor:
    if pose2d.ndim != 3 or pose2d.shape[1:] != (num_joints, 2):
        raise ValueError(f"pose2d must be [B, {num_joints}, 2], got {list(pose2d.shape)}")
    if mask is None:
        return pose2d
    if mask.shape != pose2d.shape[:2]:
        raise ValueError(f"mask must be {list(pose2d.shape[:2])}, got {list(mask.shape)}")
    return torch.where(mask[..., None], pose2d, torch.zeros_like(pose2d))


class ChenLifter(_Regressed):
    """The shipped lifter (kind "chen"): skeleton_maps -> the frozen encoder phi -> G [B, M, 3] ->
    Regression#1 -> 3D [B, J, 3]. encoder: the MapEncoder's architecture dict (its weights are part
    of this network's). kernel_backend: realtime3d.kernels backend of the maps (not saved)."""

    def __init__(self, encoder: dict, num_joints: int = H36M17.num_joints, hidden: int = 1024,
                 depth: float = DEPTH):
        args = {k: v for k, v in encoder.items() if k != "kind"}
        net = MapEncoder(**args)
        super().__init__(net.points * 3, num_joints, hidden, depth)
        self.encoder = net.requires_grad_(False)
        self.kernel_backend = "auto"
        self.architecture = {"kind": "chen", "encoder": dict(net.architecture), "num_joints": num_joints,
                             "hidden": hidden, "depth": depth}

    def features(self, pose2d: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """G of the encoder, flattened [B, M * 3] (pose2d [B, J, 2] normalized, missing joints at 0)."""
        pose2d = _masked(pose2d, mask, self.num_joints)
        dtype = next(self.encoder.parameters()).dtype
        parts = [self.encoder(skeleton_maps(pose2d[i:i + MAP_CHUNK], backend=self.kernel_backend,
                                            size=self.encoder.size).to(dtype)).flatten(1)
                 for i in range(0, len(pose2d), MAP_CHUNK)]                                # maps of a chunk at a time
        return torch.cat(parts) if parts else pose2d.new_zeros(0, self.encoder.points * 3)


class CoordinateRegressor(_Regressed):
    """Baseline#1 (kind "chen-coords"): the same regressor on the normalized 2D coordinates
    [B, J * 2] (times DEPTH, about unit size, as LiftingNetwork reads them)."""

    def __init__(self, num_joints: int = H36M17.num_joints, hidden: int = 1024, depth: float = DEPTH):
        super().__init__(num_joints * 2, num_joints, hidden, depth)
        self.architecture = {"kind": "chen-coords", "num_joints": num_joints, "hidden": hidden, "depth": depth}

    def features(self, pose2d: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return (_masked(pose2d, mask, self.num_joints) * self.depth).flatten(1)
