"""Textures and backgrounds: value noise, stripes and checks for garments and occluders, the
procedural backgrounds and photo windows, all drawn from each sample's seed; and
`load_backgrounds`, which reads a folder of photos.
"""
from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ...errors import UserError
from .appearance import BACKGROUNDS, Appearance


_NOISE_GRID = 8  # the period, in cells, of the noise tables of textures


def _generator(seed: int, stream: int) -> torch.Generator:
    """A generator for one sample's stream (0: textures and background, 1+: pixel noise of a frame)."""
    return torch.Generator().manual_seed((int(seed) * 1_000_003 + stream * 7_919) % (2**63 - 1))


def _value_noise(tables: torch.Tensor, which: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Smooth value noise at points (x, y) [M] in cells, each from table which [M] of
    tables [T, G, G] (each repeats every G cells)."""
    grid = tables.shape[-1]
    x0, y0 = torch.floor(x), torch.floor(y)
    fx, fy = x - x0, y - y0
    fx, fy = fx * fx * (3 - 2 * fx), fy * fy * (3 - 2 * fy)
    ix0, iy0 = x0.long() % grid, y0.long() % grid
    ix1, iy1 = (ix0 + 1) % grid, (iy0 + 1) % grid
    flat = tables.reshape(-1)

    def at(iy, ix):
        return flat[(which * grid + iy) * grid + ix]
    top = at(iy0, ix0) * (1 - fx) + at(iy0, ix1) * fx
    bottom = at(iy1, ix0) * (1 - fx) + at(iy1, ix1) * fx
    return top * (1 - fy) + bottom * fy


def _pattern(kind: torch.Tensor, u: torch.Tensor, v: torch.Tensor, period: torch.Tensor, angle: torch.Tensor,
             tables: torch.Tensor, which: torch.Tensor, sharp: torch.Tensor) -> torch.Tensor:
    """Texture values in 0..1 at points [M]: kind (PATTERNS index), coordinates u, v, the
    period and angle of stripes/checks, the noise table (which [M] of tables [T, G, G]),
    and the edge sharpness (px per period, so that fine stripes blur instead of aliasing).
    Each pattern is computed only at its own points."""
    out = torch.zeros_like(u)
    some = (kind > 0).nonzero().squeeze(1)
    if len(some) == 0:
        return out
    kind, u, v, period, angle, which, sharp = (t[some] for t in (kind, u, v, period, angle, which, sharp))
    c, s = torch.cos(angle), torch.sin(angle)
    x = (u * c + v * s) / period
    y = (v * c - u * s) / period
    k = (0.25 * sharp).clamp(1.0, 12.0)
    value = torch.empty_like(u)
    lines = (kind < 3).nonzero().squeeze(1)
    stripe_x = torch.sigmoid(torch.sin((2 * math.pi) * x[lines]) * k[lines])
    stripe_y = torch.sigmoid(torch.sin((2 * math.pi) * y[lines]) * k[lines])
    checks = stripe_x * stripe_y + (1 - stripe_x) * (1 - stripe_y)
    value[lines] = torch.where(kind[lines] == 1, stripe_x, checks)
    dots = (kind == 3).nonzero().squeeze(1)
    value[dots] = _value_noise(tables, which[dots], 2 * x[dots], 2 * y[dots])
    out[some] = value
    return out


_OCTAVES = ((3, 0.5), (6, 0.25), (12, 0.15), (24, 0.1))  # cells and weights of background noise


def _sample_assets(appearance: Appearance, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """From each sample's seed: the noise tables [B, 5, G, G] of the textures (3 garments,
    2 occluders) and the background [B, 3, size, size] (a photo window or a procedural
    texture: BACKGROUNDS). The random grids are drawn per sample (so that a sample looks
    the same in any batch); the textures are then made for each kind's samples at once."""
    bsz = len(appearance)
    draws = {"tables": [], "corners": [], "wall": [], "tiles": [], **{c: [] for c, _ in _OCTAVES}}
    for i in range(bsz):
        g = _generator(appearance.seed[i], 0)
        draws["tables"].append(torch.rand(5, _NOISE_GRID, _NOISE_GRID, generator=g))
        draws["corners"].append(torch.rand(3, 3, 3, generator=g))
        draws["wall"].append(torch.rand(1, 2, 2, generator=g))
        draws["tiles"].append(torch.rand(1, 8, 8, generator=g))
        for cells, _ in _OCTAVES:
            draws[cells].append(torch.rand(1, cells, cells, generator=g))
    draws = {k: torch.stack(v) for k, v in draws.items()}
    out = torch.zeros(bsz, 3, size, size)
    kinds = appearance.background_kind
    colours = appearance.background_colors.float()                           # [B, 3 colours, 3]

    def up(grid: torch.Tensor, mode: str) -> torch.Tensor:
        return F.interpolate(grid, size=(size, size), mode=mode, align_corners=True)

    def mix(weight: torch.Tensor, c0: torch.Tensor, c1: torch.Tensor) -> torch.Tensor:
        """weight [n, H, W] between colours c0, c1 [n, 3] -> [n, 3, H, W]."""
        w = weight[:, None]
        return c0[:, :, None, None] * (1 - w) + c1[:, :, None, None] * w

    for i in (kinds == BACKGROUNDS.index("photo")).nonzero().squeeze(1).tolist():
        photo = appearance.photos[int(appearance.background_photo[i])]
        out[i] = _photo_window(photo, appearance.background_window[i], bool(appearance.background_flip[i]), size)
    m = (kinds == BACKGROUNDS.index("gradient")).nonzero().squeeze(1)
    if len(m):   # the three colours weighted at the corners of a 3x3 grid, smoothly blended
        w = draws["corners"][m]
        w = up(w / w.sum(1, keepdim=True), "bilinear")                        # [n, 3, H, W]
        out[m] = torch.einsum("nkhw,nkc->nchw", w, colours[m])
    m = (kinds == BACKGROUNDS.index("noise")).nonzero().squeeze(1)
    if len(m):   # value noise at several scales, through a three-colour ramp
        value = sum(up(draws[c][m], "bicubic")[:, 0] * w for c, w in _OCTAVES)     # [n, H, W]
        mean = value.mean((1, 2), keepdim=True)
        std = value.std((1, 2), keepdim=True).clamp(min=1e-3)
        value = ((value - mean) / std * 0.25 + 0.5).clamp(0, 1)
        c = colours[m]
        out[m] = torch.where(value[:, None] < 0.5, mix(2 * value, c[:, 0], c[:, 1]),
                             mix(2 * value - 1, c[:, 1], c[:, 2]))
    m = ((kinds == BACKGROUNDS.index("stripes")) | (kinds == BACKGROUNDS.index("tiles"))).nonzero().squeeze(1)
    if len(m):   # stripes, or tiles with grout lines, on an unevenly lit wall
        xs = torch.linspace(0, 1, size)
        angle = appearance.background_angle[m].float()[:, None, None]
        period = appearance.background_period[m].float()[:, None, None]
        x = (xs[None, None, :] * torch.cos(angle) + xs[None, :, None] * torch.sin(angle)) / period
        y = (xs[None, :, None] * torch.cos(angle) - xs[None, None, :] * torch.sin(angle)) / period
        sharp = period * size * 0.5
        sx = torch.sigmoid(torch.sin(2 * math.pi * x) * sharp)               # [n, H, W]
        sy = torch.sigmoid(torch.sin(2 * math.pi * y) * sharp)
        c = colours[m]
        stripes = mix(sx, c[:, 1], c[:, 0])
        checker = sx * sy + (1 - sx) * (1 - sy)
        edge = period * size / 2.4  # px per half period (a tile's side) over the grout's width
        grout = torch.maximum(torch.exp(-((2 * x - (2 * x).round()) * edge) ** 2),
                              torch.exp(-((2 * y - (2 * y).round()) * edge) ** 2))
        tiles = mix(checker, c[:, 1], c[:, 0]) * (0.9 + 0.2 * up(draws["tiles"][m], "bicubic"))
        tiles = mix(grout, torch.zeros_like(c[:, 2]), c[:, 2]) + tiles * (1 - grout[:, None])
        is_tiles = (kinds[m] == BACKGROUNDS.index("tiles"))[:, None, None, None]
        out[m] = torch.where(is_tiles, tiles, stripes) * (0.85 + 0.3 * up(draws["wall"][m], "bilinear"))
    return draws["tables"], out.clamp(0, 1)


def _photo_window(photo: np.ndarray, window: torch.Tensor, flip: bool, size: int) -> torch.Tensor:
    """[3, size, size] 0..1 from a square window of an RGB uint8 photo."""
    import cv2
    h, w = photo.shape[:2]
    side = max(2, int(round(float(window[2]) * min(h, w))))
    x0 = int(round(float(window[0]) * (w - side)))
    y0 = int(round(float(window[1]) * (h - side)))
    cut = photo[y0:y0 + side, x0:x0 + side]
    cut = cv2.resize(cut, (size, size), interpolation=cv2.INTER_AREA if side > size else cv2.INTER_LINEAR)
    if flip:
        cut = cut[:, ::-1]
    return torch.from_numpy(np.ascontiguousarray(cut)).permute(2, 0, 1).float() / 255.0


def load_backgrounds(folder: str | Path, short_side: int = 256) -> list[np.ndarray]:
    """Every .jpg/.jpeg/.png under folder (recursively, sorted) as RGB uint8 [H, W, 3],
    resized so the short side is short_side (small photos are enlarged, large ones shrunk:
    crops are small). Files OpenCV cannot read are skipped with a warning."""
    import cv2
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"background folder {folder} does not exist")
    out = []
    for path in sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png")):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None or min(image.shape[:2]) < 2:
            warnings.warn(f"load_backgrounds: skipped {path}: not a readable image", stacklevel=2)
            continue
        h, w = image.shape[:2]
        k = short_side / min(h, w)
        image = cv2.resize(image, (max(1, round(w * k)), max(1, round(h * k))),
                           interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR)
        out.append(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    return out
