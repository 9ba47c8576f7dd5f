"""Shading and finishing: the body's materials and Lambert shade per covered pixel, the
occluders drawn over it, and the per-image Gaussian blur.
"""
from __future__ import annotations

import math
from dataclasses import fields

import torch
import torch.nn.functional as F

from .appearance import _HEAD_PART, HAIR, MAX_OCCLUDERS, PARTS, SHIRT, SKIN, Appearance
from .rasterizing import _axis_geometry
from .textures import _pattern


def _split_fractions(appearance: Appearance) -> torch.Tensor:
    """[B, K] the fraction along each part's axis where its first material gives way to the second."""
    waist = appearance.waist

    def full(x):  # a garment that reaches the end reaches over its cap too
        return torch.where(x >= 1, 2.0, x.clamp(min=0))
    # a flank starts a quarter of pelvis -> spine above the pelvis and ends near the shoulders
    lengths = {
        "waist": full(waist),
        "waist_flank": full((waist * 0.5 - 0.125) / 0.75),
        "thigh": full(appearance.leg),
        "shin": full(appearance.leg - 1),
        "upper_arm": full(appearance.sleeve),
        "forearm": full(appearance.sleeve - 1),
        "": torch.full_like(waist, 2.0),
    }
    return torch.stack([lengths[p.split] for p in PARTS], 1)


def _shade(part: torch.Tensor, parts: dict, body: dict, appearance: Appearance, tables: torch.Tensor,
           side: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Colours of the covered pixels: (flat indices [M] into [B, side, side], rgb [M, 3])."""
    flat = (part.reshape(-1) >= 0).nonzero().squeeze(1)                        # [M]
    b = flat // (side * side)
    pix = flat % (side * side)
    k = part.reshape(-1)[flat]
    x = (pix % side).to(parts["za"])
    y = (pix // side).to(parts["za"])
    a2, ab = parts["a2"][b, k], parts["b2"][b, k] - parts["a2"][b, k]          # [M, 2]
    len2 = (ab * ab).sum(-1)
    inv_len2 = torch.where(len2 > 1e-9, 1.0 / len2.clamp(min=1e-9), torch.zeros_like(len2))
    focal = parts["focal"][b]
    _, dx, dy, d, z, s, r = _axis_geometry(x - a2[:, 0], y - a2[:, 1], ab[:, 0], ab[:, 1], inv_len2,
                                           parts["za"][b, k], parts["zb"][b, k], parts["ra"][b, k],
                                           parts["rb"][b, k])
    q = ((d * z / focal) / r).clamp(max=1.0)
    inv_d = torch.where(d > 1e-6, 1.0 / d.clamp(min=1e-6), torch.zeros_like(d))
    normal = torch.stack([dx * inv_d * q, dy * inv_d * q, -torch.sqrt((1 - q * q).clamp(min=0))], -1)  # [M, 3]

    axis3 = body["b"][b, k] - body["a"][b, k]                                  # [M, 3] camera
    length = axis3.norm(dim=-1)
    axis_u = axis3 / length.clamp(min=1e-6)[:, None]
    ref = body["ref"][b, k]
    across = torch.linalg.cross(axis_u, ref)
    u = s * length
    v = torch.atan2((normal * across).sum(-1), (normal * ref).sum(-1)) * r

    mats = torch.tensor([p.materials for p in PARTS], device=part.device)      # [K, 2]
    split = _split_fractions(appearance).to(s)[b, k]
    material = torch.where(s < split, mats[k, 0], mats[k, 1])
    head = k == _HEAD_PART
    hair = head & (((normal * axis_u).sum(-1) > appearance.hair_top.to(s)[b])
                   | ((normal * ref).sum(-1) < appearance.hair_back.to(s)[b]))
    material = torch.where(hair, HAIR, material)

    slot = (material - SHIRT).clamp(0, 2)
    pattern_kind = appearance.garment_pattern.to(part.device)[b, slot]
    period = appearance.garment_period.to(s)[b, slot]
    px_per_period = period * focal / z
    tex = _pattern(pattern_kind, u, v, period, appearance.garment_angle.to(s)[b, slot],
                   tables.flatten(0, 1), b * tables.shape[1] + slot, px_per_period)
    colors = appearance.garment_colors.to(s)[b, slot]                         # [M, 2, 3]
    rgb = colors[:, 0] * (1 - tex[:, None]) + colors[:, 1] * tex[:, None]
    rgb = torch.where((material == SKIN)[:, None], appearance.skin.to(s)[b], rgb)
    rgb = torch.where((material == HAIR)[:, None], appearance.hair.to(s)[b], rgb)
    lambert = (normal * appearance.light.to(s)[b]).sum(-1).clamp(min=0)
    light = appearance.ambient.to(s)[b] + appearance.diffuse.to(s)[b] * lambert
    return flat, rgb * light[:, None]


def _occluders(appearance: Appearance, tables: torch.Tensor, side: int, size: int,
               dtype, device) -> tuple[torch.Tensor, torch.Tensor]:
    """The occluders' coverage [B, side, side] and premultiplied colour [B, 3, side, side]
    (drawn over the image as image * (1 - coverage) + colour): rectangles and ellipses,
    anti-aliased, textured in their own frame and shaded lighter at the top."""
    bsz = len(appearance)
    alpha = torch.zeros(bsz, side, side, dtype=dtype, device=device)
    color = torch.zeros(bsz, 3, side, side, dtype=dtype, device=device)
    bi, oi = appearance.occluder_present.to(device).nonzero().unbind(1)
    if len(bi) == 0:
        return alpha, color
    a = {f.name[len("occluder_"):]: getattr(appearance, f.name).to(device)[bi, oi] for f in fields(appearance)
         if f.name.startswith("occluder_")}
    xs = torch.arange(side, device=device, dtype=dtype)
    px = xs[None, None, :] - (a["center"][:, 0] * size)[:, None, None]                # [n, 1, side]
    py = xs[None, :, None] - (a["center"][:, 1] * size)[:, None, None]                # [n, side, 1]
    c, s = torch.cos(a["angle"])[:, None, None], torch.sin(a["angle"])[:, None, None]
    lx, ly = px * c + py * s, py * c - px * s                                          # [n, side, side]
    hx = (a["half"][:, 0] * size)[:, None, None]
    hy = (a["half"][:, 1] * size)[:, None, None]
    rect = torch.minimum(hx - lx.abs(), hy - ly.abs())                                 # signed distance, px
    ellipse = (1 - torch.sqrt((lx / hx) ** 2 + (ly / hy) ** 2)) * torch.minimum(hx, hy)
    cover = (torch.where(a["ellipse"][:, None, None], ellipse, rect) + 0.5).clamp(0, 1)
    at = (cover.reshape(-1) > 0).nonzero().squeeze(1)                                  # covered points
    o = at // (side * side)
    period = (a["period"] * size)[o]
    tex = _pattern(a["pattern"][o], lx.reshape(-1)[at], ly.reshape(-1)[at], period, torch.zeros_like(period),
                   tables.flatten(0, 1), (bi * tables.shape[1] + 3 + oi)[o], period)
    cols = a["colors"].to(dtype)[o]                                                    # [m, 2, 3]
    lit = 0.8 + 0.2 * (1 - ly.reshape(-1)[at] / (2 * hy.reshape(-1)[o])).clamp(0, 1.2)
    rgb = torch.zeros(len(bi) * side * side, 3, dtype=dtype, device=device)
    rgb[at] = (cols[:, 0] * (1 - tex[:, None]) + cols[:, 1] * tex[:, None]) * lit[:, None]
    rgb = rgb.view(len(bi), side, side, 3).permute(0, 3, 1, 2)
    for j in range(MAX_OCCLUDERS):  # the second over the first
        m = (oi == j).nonzero().squeeze(1)
        w = cover[m]
        color[bi[m]] = color[bi[m]] * (1 - w[:, None]) + rgb[m] * w[:, None]
        alpha[bi[m]] = alpha[bi[m]] + w * (1 - alpha[bi[m]])
    return alpha, color


def _gaussian_blur(images: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian blur of [B, C, H, W] with one sigma [B] (px) per image (0 leaves
    it as it is), edges replicated: a weighted sum of shifted copies, rows then columns."""
    bsz, ch, h, w = images.shape
    radius = max(1, int(math.ceil(3 * float(sigma.max()))))
    x = torch.arange(-radius, radius + 1, dtype=images.dtype, device=images.device)
    s = sigma.to(images).clamp(min=1e-3)[:, None]
    kernel = torch.exp(-0.5 * (x[None] / s) ** 2)
    kernel = (kernel / kernel.sum(1, keepdim=True))[:, :, None, None, None]           # [B, taps, 1, 1, 1]
    padded = F.pad(images, (radius, radius, 0, 0), mode="replicate")
    rows = padded[..., 0:w] * kernel[:, 0]
    for i in range(1, 2 * radius + 1):
        rows.addcmul_(padded[..., i:i + w], kernel[:, i])
    padded = F.pad(rows, (0, 0, radius, radius), mode="replicate")
    out = padded[..., 0:h, :] * kernel[:, 0]
    for i in range(1, 2 * radius + 1):
        out.addcmul_(padded[..., i:i + h, :], kernel[:, i])
    return out
