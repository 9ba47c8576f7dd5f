"""Yang et al.'s multi-source discriminator (CVPR 2018, sec. 3.2, Figure 2), for a lifter.

D(2D pose, 3D pose) -> one real/fake logit. Each information source is embedded on its own,
the embeddings are concatenated, and three fully connected layers decide (sec. 5):
- "pose": the 2D pose itself (the paper's image: the input that G saw; we have no images of the
  CMU reals, and the normalized 2D is all a lifter sees) through a two-layer MLP. Chosen over
  its skeleton image (kernels.render_skeleton) because the 2D is the lifter's whole input, loses
  nothing, and costs no render;
- "geo": the geometric descriptor (eq. 1): for every joint pair (i, j) [dx, dy, dz, dx^2, dy^2,
  dz^2] of the 3D pose -> [B, 6, J, J], flattened through a two-layer MLP;
- "map": heatmaps and depth maps (sec. 3.2.1): a Gaussian at each joint's 2D position and the
  same Gaussian times the joint's depth, [B, J, H, W] each, rendered by
  realtime3d.kernels.render_heatmaps (backend: the module's kernel_backend), then two strided
  3x3 convolutions and a linear layer.

Inputs, for real and fake alike: the normalized 2D [B, J, 2] (normalization.normalize_2d), and
the 3D [B, J, 3] root-centred and divided by its RMS joint distance from the root (the caller's
canonical form: realtime3d/trainers/cycle.canonical), so that a lifter's units and a mocap's units look the
same. The depth maps carry that canonical z (the root's is 0; about -2 to 2). The maps' pixels
are the normalized 2D at one fixed scale: MAP_EXTENT normalized units from the centre reach the
map's edge (99.9% of the sampler's views lie within 0.17).

No batch norm: the real and the fake halves go through one forward and must not be told apart
by their batch statistics.
"""
from __future__ import annotations

import torch
from torch import nn

from realtime3d.errors import UserError
from ..kernels import render_heatmaps
from ..normalization import DEPTH

#: The information sources, in the order their embeddings are concatenated.
SOURCES = ("pose", "map", "geo")
#: Normalized 2D units from the map centre to its edge (the maps' one fixed scale).
MAP_EXTENT = 0.2


def parse_sources(spec: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """'pose,geo' (or a list) -> ('pose', 'geo') in SOURCES order; ValueError on an unknown or empty set."""
    names = [s.strip() for s in spec.split(",")] if isinstance(spec, str) else [str(s).strip() for s in spec]
    names = [s for s in names if s]
    unknown = sorted(set(names) - set(SOURCES))
    if unknown or not names:
        raise UserError(f"sources must be a comma-separated subset of {', '.join(SOURCES)}, got {spec!r}")
    return tuple(s for s in SOURCES if s in names)


def geometric_descriptor(pose3d: torch.Tensor) -> torch.Tensor:
    """Eq. 1 for every joint pair: [B, J, 3] -> [B, 6, J, J], channel c of (i, j) is
    [dx, dy, dz, dx^2, dy^2, dz^2][c] with d = joint i - joint j."""
    if pose3d.ndim != 3 or pose3d.shape[-1] != 3:
        raise ValueError(f"pose3d must be [B, J, 3], got {list(pose3d.shape)}")
    delta = pose3d[:, :, None, :] - pose3d[:, None, :, :]              # [B, J, J, 3]: i - j
    return torch.cat([delta, delta * delta], dim=-1).permute(0, 3, 1, 2)  # [B, 6, J, J]


def map_pixels(pose2d: torch.Tensor, size: int) -> torch.Tensor:
    """Normalized 2D [B, J, 2] -> pixels [B, J, 2] of a size x size map (centre at (size - 1) / 2,
    MAP_EXTENT at the edge; pixel centres at integers, as the kernels take them)."""
    return pose2d * (0.5 * size / MAP_EXTENT) + 0.5 * (size - 1)


def _mlp(n_in: int, width: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, width), nn.LeakyReLU(0.2), nn.Linear(width, width), nn.LeakyReLU(0.2))


class MultiSourceDiscriminator(nn.Module):
    """D: (normalized 2D [B, J, 2], canonical 3D [B, J, 3]) -> logit [B] (see the module doc)."""

    def __init__(self, sources=SOURCES, num_joints: int = 17, width: int = 256, map_size: int = 16,
                 map_sigma: float = 1.0, map_channels: int = 16, kernel_backend: str = "auto"):
        super().__init__()
        self.sources = parse_sources(sources)
        if map_size < 4 or map_size % 4:
            raise UserError(f"map_size must be a multiple of 4 (two stride-2 convolutions), got {map_size}")
        self.num_joints, self.map_size, self.map_sigma = num_joints, map_size, float(map_sigma)
        self.kernel_backend = kernel_backend      # a setting, not a weight: a benchmark may switch it
        embed = {}
        if "pose" in self.sources:
            embed["pose"] = _mlp(2 * num_joints, width)
        if "map" in self.sources:
            c = map_channels
            embed["map"] = nn.Sequential(
                nn.Conv2d(2 * num_joints, c, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
                nn.Conv2d(c, 2 * c, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
                nn.Flatten(), nn.Linear(2 * c * (map_size // 4) ** 2, width), nn.LeakyReLU(0.2))
        if "geo" in self.sources:
            embed["geo"] = _mlp(6 * num_joints * num_joints, width)
        self.embed = nn.ModuleDict(embed)
        self.head = nn.Sequential(nn.Linear(len(self.sources) * width, width), nn.LeakyReLU(0.2),
                                  nn.Linear(width, width), nn.LeakyReLU(0.2), nn.Linear(width, 1))

    def maps(self, pose2d: torch.Tensor, pose3d: torch.Tensor) -> torch.Tensor:
        """Heatmaps and depth maps [B, 2J, H, W] (the "map" source's input) through the kernels."""
        heat, depth = render_heatmaps(map_pixels(pose2d, self.map_size), pose3d[..., 2],
                                      (self.map_size, self.map_size), self.map_sigma, backend=self.kernel_backend)
        return torch.cat([heat, depth], dim=1)

    def forward(self, pose2d: torch.Tensor, pose3d: torch.Tensor) -> torch.Tensor:
        b, j = pose2d.shape[:2]
        if pose2d.shape != (b, self.num_joints, 2) or pose3d.shape != (b, self.num_joints, 3):
            raise ValueError(f"expected 2D [B, {self.num_joints}, 2] and 3D [B, {self.num_joints}, 3], "
                             f"got {list(pose2d.shape)} and {list(pose3d.shape)}")
        feats = []
        for name in self.sources:
            if name == "pose":
                x = pose2d.reshape(b, -1) * DEPTH                       # about unit size, as Discriminator2D
            elif name == "map":
                x = self.maps(pose2d, pose3d)                            # [B, 2J, H, W]
            else:
                x = geometric_descriptor(pose3d).reshape(b, -1)          # [B, 6 J J]
            feats.append(self.embed[name](x))                            # [B, width]
        return self.head(torch.cat(feats, dim=1)).squeeze(-1)            # [B]
