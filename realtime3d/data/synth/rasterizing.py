"""The capsule rasterizer: the nearest part at every crop pixel (a z-buffer over the parts)
and the silhouette's anti-aliased coverage, evaluated per 8 x 8 tile a part reaches.
"""
from __future__ import annotations

import torch

from .appearance import PARTS


#: Tile side (px) of the rasterizer's culling: a part is evaluated only on the tiles it reaches.
TILE = 8
_EMPTY = torch.iinfo(torch.int64).max
_PART_BITS = 5  # the z-buffer key: quantized depth << _PART_BITS | part
assert len(PARTS) <= 1 << _PART_BITS
_DEPTH_STEPS_PER_MM = 16.0


def _axis_geometry(px, py, abx, aby, inv_len2, za, zb, ra, rb):
    """Where pixels lie against a capsule's projected axis (all broadcast together).

    px, py: the pixel minus the projected a end; ab: the projected axis; inv_len2: 1 / |ab|^2
    (0 for a point); za, zb: depths of the ends; ra, rb: radii (mm).
    Returns t (the image parameter of the closest axis point), dx, dy (the offset from it, px),
    d (its length), z (the axis depth there), s (the 3D parameter), r (the radius there, mm).
    """
    t = ((px * abx + py * aby) * inv_len2).clamp(0.0, 1.0)
    dx, dy = px - t * abx, py - t * aby
    d = torch.sqrt(dx * dx + dy * dy)
    z = 1.0 / ((1 - t) / za + t / zb)       # 1/z is linear along the projected segment
    s = t * z / zb
    r = ra + s * (rb - ra)
    return t, dx, dy, d, z, s, r


def _rasterize(parts: dict, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The nearest part at every pixel and the silhouette's coverage.

    parts: a2, b2 [B, K, 2] crop pixels; za, zb [B, K] mm; ra, rb [B, K] mm; focal [B] px.
    -> (part [B, P, P] long, -1 where empty; alpha [B, P, P] the union of the parts'
    anti-aliased coverage), P = size rounded up to TILE. A part is evaluated only on the
    tiles within its reach, then a scatter-min of (depth, part) keys is the z-buffer.
    """
    a2, b2, za, zb, ra, rb, focal = (parts[k] for k in ("a2", "b2", "za", "zb", "ra", "rb", "focal"))
    bsz = za.shape[0]
    n_tiles = -(-size // TILE)
    side = n_tiles * TILE
    dev, dt = za.device, za.dtype
    # reach of each part, px: the larger end radius + 1 px of anti-aliasing
    reach = torch.maximum(ra * focal[:, None] / za, rb * focal[:, None] / zb) + 1.0       # [B, K]
    centres = (torch.arange(n_tiles, device=dev, dtype=dt) * TILE + (TILE - 1) / 2)
    cy, cx = torch.meshgrid(centres, centres, indexing="ij")
    tile_xy = torch.stack([cx.reshape(-1), cy.reshape(-1)], -1)                            # [T, 2]
    ab = b2 - a2                                                                           # [B, K, 2]
    len2 = (ab * ab).sum(-1)
    inv_len2 = torch.where(len2 > 1e-9, 1.0 / len2.clamp(min=1e-9), torch.zeros_like(len2))
    ap = tile_xy[None, None] - a2[:, :, None]                                              # [B, K, T, 2]
    t = ((ap * ab[:, :, None]).sum(-1) * inv_len2[..., None]).clamp(0, 1)
    dist = (ap - t[..., None] * ab[:, :, None]).norm(dim=-1)                               # [B, K, T]
    hits = (dist < reach[..., None] + TILE * 0.7072).nonzero()                             # [N, 3]
    bi, ki, ti = hits.unbind(1)

    lx = torch.arange(TILE, device=dev, dtype=dt)
    ox = (ti % n_tiles).to(dt) * TILE
    oy = (ti // n_tiles).to(dt) * TILE
    g = {name: parts[name][bi, ki] for name in ("za", "zb", "ra", "rb")}
    px = (ox - a2[bi, ki, 0])[:, None, None] + lx[None, None, :]                           # [N, 1, TILE]
    py = (oy - a2[bi, ki, 1])[:, None, None] + lx[None, :, None]                           # [N, TILE, 1]
    col = lambda v: v[:, None, None]  # noqa: E731
    _, _, _, d, z, _, r = _axis_geometry(px, py, col(ab[bi, ki, 0]), col(ab[bi, ki, 1]), col(inv_len2[bi, ki]),
                                         col(g["za"]), col(g["zb"]), col(g["ra"]), col(g["rb"]))
    f = col(focal[bi])
    alpha = (r * f / z - d + 0.5).clamp(0.0, 1.0)                                         # [N, TILE, TILE]
    q2 = ((d * z / f) / r).clamp(max=1.0) ** 2
    depth = z - r * torch.sqrt(1.0 - q2)
    key = (depth * _DEPTH_STEPS_PER_MM).round().long().clamp(min=0) * (1 << _PART_BITS) + ki[:, None, None]
    key = torch.where(alpha > 0, key, _EMPTY)
    iy = (oy.long()[:, None, None] + lx.long()[None, :, None])
    ix = (ox.long()[:, None, None] + lx.long()[None, None, :])
    flat = (bi[:, None, None] * side + iy) * side + ix                                    # [N, TILE, TILE]
    zbuf = torch.full((bsz * side * side,), _EMPTY, dtype=torch.long, device=dev)
    zbuf.scatter_reduce_(0, flat.reshape(-1), key.reshape(-1), "amin")
    cover = torch.zeros(bsz * side * side, dtype=dt, device=dev)
    cover.scatter_reduce_(0, flat.reshape(-1), alpha.reshape(-1), "amax")
    part = torch.where(zbuf == _EMPTY, -1, zbuf & ((1 << _PART_BITS) - 1))
    return part.view(bsz, side, side), cover.view(bsz, side, side)
