"""The public renders: one crop per pose (`render`, `render_random`), two frames of one video
(`render_pairs`) and the pairs of frames to draw (`pair_indices`).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ...skeleton import H36M17
from .appearance import Appearance, sample_appearance
from ...kernels import check_tensor
from .bodies import Camera, _as_joints, _body, _body_box, _project, sample_camera
from .rasterizing import _rasterize
from .shading import _gaussian_blur, _occluders, _shade
from .textures import _generator, _sample_assets


def _check_batch(name: str, value, cls, n: int) -> None:
    if not isinstance(value, cls):
        raise ValueError(f"{name} must be a {cls.__name__}, got {type(value).__name__}")
    if len(value) != n:
        raise ValueError(f"{name} holds {len(value)} samples but the poses are {n}")


def render(joints3d_mm: torch.Tensor, appearance: Appearance, camera: Camera, size: int = 128,
           box: torch.Tensor | None = None, pivot: torch.Tensor | None = None, frame: int = 0) -> dict:
    """Draw a batch of people: joints3d_mm [B, 17, 3] (load_split's world frame), one
    appearance and camera per sample, into size x size crops.

    box [B, 4] fixes the crop windows (frame pixels, x0, y0, x1, y1; square); by default
    each is fitted around its body. pivot [B, 3] is the world point the camera orbits (by
    default the pelvis of the limb-scaled pose). frame numbers the pixel noise (so two
    frames of one sequence get different noise and the same everything else).

    Returns {"image": [B, 3, size, size] float32 RGB 0..1, "joints2d": [B, 17, 2] crop
    pixels, "visible": [B, 17] bool (inside the crop and not under an occluder), "box":
    [B, 4], "mask": [B, size, size] bool (the body covers the pixel, before occluders),
    "joints3d": [B, 17, 3] the limb-scaled joints in camera coordinates, mm}.
    """
    joints = _as_joints(joints3d_mm)
    bsz, dev = joints.shape[0], joints.device
    _check_batch("appearance", appearance, Appearance, bsz)
    _check_batch("camera", camera, Camera, bsz)
    if int(size) != size or size < 8:
        raise ValueError(f"size must be an integer of at least 8, got {size!r}")
    size = int(size)
    if box is not None:
        check_tensor("box", box, (bsz, 4))
        box = box.to(joints)
        if not torch.allclose(box[:, 2] - box[:, 0], box[:, 3] - box[:, 1], rtol=1e-4, atol=1e-3) \
                or not ((box[:, 2] - box[:, 0]) > 0).all():
            raise ValueError("box must hold square windows (x1 - x0 = y1 - y0 > 0)")
    if pivot is not None:
        check_tensor("pivot", pivot, (bsz, 3))
        pivot = pivot.to(joints)

    body = _body(joints, appearance, camera, pivot)
    radii = appearance.radii.to(joints)
    if box is None:
        box = _body_box(body, camera)
    scale = size / (box[:, 2] - box[:, 0])                                         # [B] crop px per frame px
    focal = camera.focal.to(joints) * scale
    principal = (body["frame_centre"] - box[:, :2]) * scale[:, None] - 0.5          # crop pixel centres
    a2 = _project(body["a"], focal, principal)
    b2 = _project(body["b"], focal, principal)
    parts = {"a2": a2, "b2": b2, "za": body["a"][..., 2].clamp(min=10.0), "zb": body["b"][..., 2].clamp(min=10.0),
             "ra": radii[..., 0], "rb": radii[..., 1], "focal": focal}
    part, alpha = _rasterize(parts, size)                                          # [B, P, P]
    side = part.shape[-1]

    tables, background = _sample_assets(appearance, size)
    tables = tables.to(dev)
    background = F.pad(background.to(dev), (0, side - size, 0, side - size), mode="replicate")
    body_rgb = torch.zeros(bsz * side * side, 3, dtype=joints.dtype, device=dev)
    flat, rgb = _shade(part, parts, body, appearance, tables, side)
    body_rgb[flat] = rgb
    body_rgb = body_rgb.view(bsz, side, side, 3).permute(0, 3, 1, 2)
    image = alpha[:, None] * body_rgb + (1 - alpha[:, None]) * background
    occ_alpha, occ_rgb = _occluders(appearance, tables, side, size, joints.dtype, dev)
    image = image * (1 - occ_alpha[:, None]) + occ_rgb
    image = image[:, :, :size, :size] * appearance.tint.to(joints)[:, :, None, None]
    image = _gaussian_blur(image, appearance.blur.to(joints))
    noise = torch.stack([torch.randn(3, size, size, generator=_generator(s, 1 + frame)) for s in appearance.seed])
    image = (image + noise.to(image) * appearance.noise.to(joints)[:, None, None, None]).clamp(0, 1)

    joints2d = _project(body["joints"], focal, principal)                          # [B, 17, 2]
    inside = ((joints2d > -0.5) & (joints2d < size - 0.5)).all(-1)
    ij = joints2d.round().long().clamp(0, size - 1)
    under = occ_alpha[torch.arange(bsz, device=dev)[:, None], ij[..., 1], ij[..., 0]] >= 0.5
    return {"image": image.contiguous(), "joints2d": joints2d, "visible": inside & ~under, "box": box,
            "mask": (alpha[:, :size, :size] >= 0.5), "joints3d": body["joints"]}


def render_pairs(joints_a: torch.Tensor, joints_b: torch.Tensor, generator: torch.Generator,
                 backgrounds: list[np.ndarray] | None = None, size: int = 128,
                 appearance: Appearance | None = None, camera: Camera | None = None) -> tuple[dict, dict]:
    """Two frames of one video per sample, for an image-reconstruction loss (Jakab et al.).

    joints_a, joints_b [B, 17, 3]: two poses of one person (pair_indices). Both frames share
    the appearance, background, occluders and camera (orbiting the midpoint of the two
    pelvises), and one crop window, frame b's (the target a reconstruction loss redraws; a is
    cut by the same window), so the static background lines up between them as in a video
    from a fixed camera, and b is framed as every single crop is. The appearance and
    camera are drawn from generator unless given. -> (render's dict for frame a, for frame
    b); the two differ only where the person moved, and in the pixel noise.
    """
    ja, jb = _as_joints(joints_a, "joints_a"), _as_joints(joints_b, "joints_b")
    if ja.shape != jb.shape:
        raise ValueError(f"joints_a {list(ja.shape)} and joints_b {list(jb.shape)} must have one shape")
    n = ja.shape[0]
    if appearance is None:
        appearance = sample_appearance(generator, backgrounds, n)
    if camera is None:
        camera = sample_camera(generator, n)
    _check_batch("appearance", appearance, Appearance, n)
    _check_batch("camera", camera, Camera, n)
    root = H36M17.root
    pivot = 0.5 * (ja[:, root] + jb[:, root])
    box = _body_box(_body(jb, appearance, camera, pivot), camera)
    return (render(ja, appearance, camera, size, box=box, pivot=pivot, frame=0),
            render(jb, appearance, camera, size, box=box, pivot=pivot, frame=1))


def render_random(joints3d_mm: torch.Tensor, generator: torch.Generator,
                  backgrounds: list[np.ndarray] | None = None, size: int = 128) -> dict:
    """render with a random appearance and camera per sample (the training feed)."""
    n = _as_joints(joints3d_mm).shape[0]
    return render(joints3d_mm, sample_appearance(generator, backgrounds, n), sample_camera(generator, n), size)


def pair_indices(clips: np.ndarray, generator: torch.Generator, n: int,
                 gap_frames: tuple[int, int] = (5, 30)) -> tuple[np.ndarray, np.ndarray]:
    """n random pairs of frames of one clip: (idx_a [n], idx_b [n]) int64 indices into clips.

    clips [N] holds each frame's clip name, a clip's frames contiguous and in order (as
    mocap.load_split gives them; a name that comes back later counts as another clip).
    idx_b is idx_a plus or minus a gap drawn uniformly from gap_frames (inclusive), clamped
    to the clip, so short clips give shorter gaps (a one-frame clip pairs a frame with itself).
    At 30 fps (mocap.TRAIN_FPS) the default gaps are 1/6 s to 1 s.
    """
    clips = np.asarray(clips)
    if clips.ndim != 1 or len(clips) == 0:
        raise ValueError(f"clips must be a non-empty [N] array of names, got shape {list(clips.shape)}")
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    lo, hi = (int(g) for g in gap_frames)
    if not 0 <= lo <= hi:
        raise ValueError(f"gap_frames must be (low, high) with 0 <= low <= high, got {gap_frames!r}")
    starts = np.flatnonzero(np.r_[True, clips[1:] != clips[:-1]])                   # [C]
    ends = np.r_[starts[1:], len(clips)] - 1                                        # [C] last frame
    run = np.cumsum(np.r_[True, clips[1:] != clips[:-1]]) - 1                        # [N] clip of each frame
    idx_a = torch.randint(0, len(clips), (int(n),), generator=generator).numpy()
    gap = torch.randint(lo, hi + 1, (int(n),), generator=generator).numpy()
    sign = np.where(torch.rand(int(n), generator=generator).numpy() < 0.5, -1, 1)
    idx_b = np.clip(idx_a + sign * gap, starts[run[idx_a]], ends[run[idx_a]])
    return idx_a.astype(np.int64), idx_b.astype(np.int64)
