"""The image networks of Sosa & Hogg, "Self-supervised 3D Human Pose Estimation from a Single Image"
(2023), sec. 3.1: Phi, Omega and the skeleton-image discriminator D.

Sizes (chosen for a CPU budget; docs/methods.md): a person crop of CROP_SIZE x CROP_SIZE RGB
pixels; skeleton images of SKELETON_SIZE x SKELETON_SIZE, one channel per bone (the kernels'
render_skeleton "per_bone": eq. 2 per bone), where the paper's image is one channel.

Pixels: a joint (x, y) in skeleton-image pixels has its centre at integer coordinates (the
kernels' convention); the crop's pixel of the same point is (x + 0.5) * SCALE - 0.5.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from realtime3d.errors import UserError
from ..kernels import render_skeleton
from ..skeleton import H36M17

#: Side of the person crop that Phi reads, pixels.
CROP_SIZE = 128
#: Side of a skeleton image, pixels.
SKELETON_SIZE = 64
#: Crop pixels per skeleton-image pixel.
SCALE = CROP_SIZE // SKELETON_SIZE
#: kappa's sharpness (eq. 2), per skeleton-image pixel squared: a bone's profile exp(-gamma d^2)
#: falls to 1/e at 1.4 px from its axis, about the line width of Jakab et al.'s renders.
GAMMA = 0.5
NUM_BONES = len(H36M17.bones)


def crop_to_skeleton_px(points: torch.Tensor) -> torch.Tensor:
    """Crop pixels [..., 2] -> skeleton-image pixels [..., 2]."""
    return (points + 0.5) / SCALE - 0.5


def skeleton_to_crop_px(points: torch.Tensor) -> torch.Tensor:
    """Skeleton-image pixels [..., 2] -> crop pixels [..., 2]."""
    return (points + 0.5) * SCALE - 0.5


def conv_unit(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    """3x3 conv, GroupNorm, ReLU: the unit of every network here (GroupNorm: batch-size free)."""
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.GroupNorm(min(8, cout // 4), cout),
                         nn.ReLU(inplace=True))


class _UNet(nn.Module):
    """A small U-Net: [B, cin, 2S, 2S] -> [B, cout, S, S] logits, `levels` levels from S down
    (3: S, S/2, S/4; 4 adds S/8, whose 3x3 units see the whole person of a 128-pixel crop).
    Channels c, 2c, 4c, 8c by level; skip connections at every level but the lowest."""

    def __init__(self, cin: int, cout: int, width: int, levels: int = 3):
        super().__init__()
        if levels not in (3, 4):
            raise UserError(f"a U-Net here has 3 or 4 levels, got {levels}")
        c = width
        self.levels = levels
        self.stem = nn.Sequential(conv_unit(cin, c, 2), conv_unit(c, c))                # 2S -> S
        self.down1 = nn.Sequential(conv_unit(c, 2 * c, 2), conv_unit(2 * c, 2 * c))     # S/2
        self.down2 = nn.Sequential(conv_unit(2 * c, 4 * c, 2), conv_unit(4 * c, 4 * c), conv_unit(4 * c, 4 * c))  # S/4
        if levels == 4:
            self.down3 = nn.Sequential(conv_unit(4 * c, 8 * c, 2), conv_unit(8 * c, 8 * c), conv_unit(8 * c, 8 * c))  # S/8
            self.up2 = conv_unit(8 * c + 4 * c, 4 * c)                              # S/4
        self.up1 = conv_unit(4 * c + 2 * c, 2 * c)                                  # S/2
        self.up0 = conv_unit(2 * c + c, c)                                          # S
        self.head = nn.Conv2d(c, cout, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = self.stem(x)
        s1 = self.down1(s0)
        s2 = self.down2(s1)
        if self.levels == 4:
            s3 = self.down3(s2)
            s2 = self.up2(torch.cat([F.interpolate(s3, scale_factor=2.0, mode="nearest"), s2], 1))
        u1 = self.up1(torch.cat([F.interpolate(s2, scale_factor=2.0, mode="nearest"), s1], 1))
        u0 = self.up0(torch.cat([F.interpolate(u1, scale_factor=2.0, mode="nearest"), s0], 1))
        return self.head(u0)


#: Phi's two output forms: "image", a free skeleton image (a sigmoid per pixel and bone, the
#: paper's Phi); "keypoints", joint heatmaps whose soft-argmax kappa renders (eq. 2), so that every
#: skeleton image Phi draws is one of some 2D pose (Jakab et al.'s keypoint bottleneck).
PHI_OUTPUTS = ("image", "keypoints")
_BONES = torch.tensor(H36M17.bones, dtype=torch.long)


class ImageToSkeleton(nn.Module):
    """Phi: an RGB crop [B, 3, CROP_SIZE, CROP_SIZE] in 0..1 -> a skeleton image
    [B, NUM_BONES, SKELETON_SIZE, SKELETON_SIZE] in (0, 1) (the encoder half of Jakab et al.'s
    autoencoder, as the paper says); output: PHI_OUTPUTS; levels: its U-Net's (3 or 4)."""

    def __init__(self, width: int = 24, output: str = "image", levels: int = 3):
        super().__init__()
        if output not in PHI_OUTPUTS:
            raise UserError(f"Phi's output must be one of {', '.join(PHI_OUTPUTS)}, got {output!r}")
        self.output = output
        self.net = _UNet(3, NUM_BONES if output == "image" else H36M17.num_joints, width, levels)
        self.register_buffer("mean", torch.tensor([0.5, 0.5, 0.5]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("bones", _BONES.clone(), persistent=False)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        _check_image(image)
        logits = self.net((image - self.mean) * 2.0)
        if self.output == "image":
            return torch.sigmoid(logits)
        joints = soft_argmax(logits)                                             # [B, J, 2] skeleton px
        return render_skeleton(joints, self.bones, (SKELETON_SIZE, SKELETON_SIZE), GAMMA, mode="per_bone")


def soft_argmax(logits: torch.Tensor) -> torch.Tensor:
    """Heatmap logits [B, J, h, w] -> the expected pixel [B, J, 2] (x, y) of each softmax map,
    in the pixels of the map (centres at integers)."""
    b, j, h, w = logits.shape
    prob = logits.flatten(2).float().softmax(-1).view(b, j, h, w)
    xs = torch.arange(w, dtype=prob.dtype, device=prob.device)
    ys = torch.arange(h, dtype=prob.dtype, device=prob.device)
    return torch.stack([(prob.sum(2) * xs).sum(-1), (prob.sum(3) * ys).sum(-1)], -1)


class SkeletonToPose(nn.Module):
    """Omega: a skeleton image [B, NUM_BONES, S, S] -> 2D joints [B, J, 2] in its pixels.
    Joint heatmaps at S / 2 and their soft-argmax (translation equivariant: a joint's place is
    read where the bones meet, not memorised)."""

    def __init__(self, width: int = 32, num_joints: int = H36M17.num_joints):
        super().__init__()
        c = width
        self.net = nn.Sequential(conv_unit(NUM_BONES, c, 2), conv_unit(c, c), conv_unit(c, 2 * c, 2), conv_unit(2 * c, 2 * c),
                                 conv_unit(2 * c, 2 * c))
        self.up = conv_unit(2 * c + c, c)
        self.head = nn.Conv2d(c, num_joints, 3, 1, 1)
        self.skip = conv_unit(NUM_BONES, c, 2)

    def forward(self, skeleton: torch.Tensor) -> torch.Tensor:
        low = self.net(skeleton)                                                 # [B, 2c, S/4, S/4]
        mid = self.skip(skeleton)                                                # [B, c, S/2, S/2]
        u = self.up(torch.cat([F.interpolate(low, scale_factor=2.0, mode="nearest"), mid], 1))
        half = soft_argmax(self.head(u))                                         # [B, J, 2] at S / 2
        return (half + 0.5) * 2.0 - 0.5


class SkeletonDiscriminator(nn.Module):
    """D (eq. 3): a skeleton image [B, NUM_BONES, S, S] -> a logit [B] (real: a prior kappa(u))."""

    def __init__(self, width: int = 32):
        super().__init__()
        c = width
        layers, cin = [], NUM_BONES
        for cout in (c, 2 * c, 4 * c, 4 * c):                                   # S -> S / 16
            layers += [nn.Conv2d(cin, cout, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
            cin = cout
        self.net = nn.Sequential(*layers)
        self.head = nn.Linear(cin, 1)

    def forward(self, skeleton: torch.Tensor) -> torch.Tensor:
        return self.head(self.net(skeleton).mean((2, 3)))[:, 0]                  # [B]


class SkeletonNet(nn.Module):
    """Phi then Omega, the detector half of the image path: crops [B, 3, 128, 128] in 0..1 ->
    (skeleton images [B, NUM_BONES, 64, 64], joints [B, J, 2] in crop pixels)."""

    def __init__(self, phi_width: int = 16, omega_width: int = 32, phi_output: str = "image", phi_levels: int = 4):
        super().__init__()
        self.architecture = {"kind": "skeleton-net", "phi_width": phi_width, "omega_width": omega_width,
                             "phi_output": phi_output, "phi_levels": phi_levels}
        self.phi = ImageToSkeleton(phi_width, phi_output, phi_levels)
        self.omega = SkeletonToPose(omega_width)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        skeleton = self.phi(image)                                               # [B, K, S, S]
        return skeleton, skeleton_to_crop_px(self.omega(skeleton))               # [B, J, 2]


def _check_image(image: torch.Tensor) -> None:
    if image.ndim != 4 or image.shape[1] != 3 or image.shape[2] != CROP_SIZE or image.shape[3] != CROP_SIZE:
        raise ValueError(f"crops must be [B, 3, {CROP_SIZE}, {CROP_SIZE}], got {list(image.shape)}")
