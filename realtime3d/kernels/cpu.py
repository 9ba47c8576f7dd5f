"""The fused CPU path: tiled, culled, vectorised PyTorch with hand-written backward passes.

render_skeleton ("max"):
- every bone of every pose lists the TILE x TILE pixel tiles it can reach (its bounding
  box grown by the cull radius, minus tiles whose centre is too far from the segment):
  a list of (pose, bone, tile) pairs, as pytorch3d's binned rasterizer;
- the pairs are evaluated as one [TILE*TILE, pairs] tensor program, and a scatter-min
  keyed on (float32 bits of d^2 << 32 | bone) picks the winning bone per pixel in one pass;
- the forward pass stores, per lit pixel, its index, the winning bone (as its two joints)
  and r; the backward pass touches that one segment per pixel: with c = a + r (b - a),
  dkappa/dc = 2 gamma kappa (p - c) (d d^2 / dr = 0 at the optimum r, or r is clamped),
  split (1 - r) to a and r to b, and index_add_ into the joints (sequential on the CPU,
  so deterministic).
render_skeleton ("per_bone") evaluates the same pairs and recomputes them in its backward
pass; render_heatmaps uses the separability of the Gaussian; render_views feeds the
projection (autograd: a few FLOPs per joint) to the "max" renderer.
Poses are processed in chunks so that the pair tensors stay small; coordinates are kept
as rows (x, y) so that every elementwise chain runs over long contiguous vectors.
Everything is computed in float32 and returned in the input's dtype.
"""
from __future__ import annotations

import math

import torch

from .reference import rotate_project
from .tiling import CPU_TILE, cull_radius

#: Poses per chunk of the tiled passes (bounds the [TILE*TILE, pairs] temporaries).
CHUNK = 128
_NO_HIT = torch.iinfo(torch.int64).max


def _bone_ends(joints2d: torch.Tensor, bones: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Segment starts a and directions b - a, as rows (x, y) over the B*K segments: [2, B*K] each.

    Rows of coordinates (structure of arrays) keep every vector contiguous for the long
    elementwise chains below."""
    rows = joints2d.permute(2, 0, 1)                                     # [2, B, J]
    a = rows.index_select(2, bones[:, 0])                                # [2, B, K]
    return a.reshape(2, -1), (rows.index_select(2, bones[:, 1]) - a).reshape(2, -1)


def _inverse_length2(abx: torch.Tensor, aby: torch.Tensor) -> torch.Tensor:
    """1 / |ab|^2, and 0 for a zero-length bone (so that r = 0)."""
    len2 = torch.addcmul(abx * abx, aby, aby)
    return torch.where(len2 > 0, 1.0 / torch.where(len2 > 0, len2, torch.ones_like(len2)), torch.zeros_like(len2))


def _padded(size: tuple[int, int], tile: int = CPU_TILE) -> tuple[int, int]:
    """Image size rounded up to whole tiles."""
    return -(-size[0] // tile) * tile, -(-size[1] // tile) * tile


def _tile_pairs(a: torch.Tensor, ab: torch.Tensor, size: tuple[int, int], radius: float, tile: int):
    """The (segment, tile) pairs where a segment can light a pixel.

    a, ab [2, S] -> (segment [P], tile column [P], tile row [P], a [2, P], ab [2, P]).
    A segment lists the tiles of its bounding box grown by the radius, minus those whose
    centre is farther from it than the radius plus half a tile diagonal.
    """
    h, w = size
    b = a + ab
    lo = torch.minimum(a, b).sub_(radius)                               # [2, S]
    hi = torch.maximum(a, b).add_(radius)
    limit = a.new_tensor([[w - 1], [h - 1]])
    visible = ((hi >= 0) & (lo <= limit)).all(0)                        # [S]; NaN poses are never visible
    t0 = torch.minimum(lo.clamp_(min=0), limit).ceil_().div_(tile, rounding_mode="floor").long()
    t1 = torch.minimum(hi.clamp_(min=0), limit).floor_().div_(tile, rounding_mode="floor").long()
    extent = (t1 - t0 + 1).clamp_(min=0, max=1 << 20).mul_(visible)     # [2, S] tiles along x and y
    counts = extent[0] * extent[1]
    seg = torch.repeat_interleave(counts)                               # [P0] segment of each pair
    offset = torch.arange(len(seg)) - (torch.cumsum(counts, 0) - counts).index_select(0, seg)
    nx = extent[0].index_select(0, seg)
    row = offset.div(nx, rounding_mode="floor")
    tx = t0[0].index_select(0, seg) + offset - row * nx
    ty = t0[1].index_select(0, seg) + row
    pa, pab = a.index_select(1, seg), ab.index_select(1, seg)           # [2, P0]
    half = (tile - 1) / 2.0
    cx = (tx * tile).to(a.dtype).add_(half).sub_(pa[0])                 # tile centre - a
    cy = (ty * tile).to(a.dtype).add_(half).sub_(pa[1])
    r = torch.addcmul(cx * pab[0], cy, pab[1]).mul_(_inverse_length2(pab[0], pab[1])).clamp_(0.0, 1.0)
    ex, ey = cx.addcmul_(r, pab[0], value=-1.0), cy.addcmul_(r, pab[1], value=-1.0)
    near = torch.nonzero(ex.mul_(ex).addcmul_(ey, ey) <= (radius + tile * math.sqrt(0.5)) ** 2).squeeze(1)
    return (seg.index_select(0, near), tx.index_select(0, near), ty.index_select(0, near),
            pa.index_select(1, near), pab.index_select(1, near))


def _pair_offsets(tx, ty, pa, pab, tile: int):
    """Every pair's tile, pixels first so that the long pair axis is the contiguous one:
    (r [T*T, P], p - c [T*T, P] twice: x and y), c = a + r (b - a) the nearest point.
    In-place after the first three allocations: these are the big tensors of the CPU path."""
    lin = torch.arange(tile, dtype=pa.dtype)
    ax, ay, abx, aby = pa[0], pa[1], pab[0], pab[1]                     # [P] each
    inv = _inverse_length2(abx, aby)
    ex = lin.repeat(tile)[:, None] + ((tx * tile).to(pa.dtype) - ax)     # [T*T, P] p - a
    ey = lin.repeat_interleave(tile)[:, None] + ((ty * tile).to(pa.dtype) - ay)
    r = (ex * (abx * inv)).addcmul_(ey, aby * inv).clamp_(0.0, 1.0)
    return r, ex.addcmul_(r, abx, value=-1.0), ey.addcmul_(r, aby, value=-1.0)


def _tile_offsets(tile: int, row_stride: int) -> torch.Tensor:
    """Flat offsets [T*T, 1] of a tile's pixels from its top-left pixel (same order as _pair_offsets)."""
    lin = torch.arange(tile)
    return (lin.repeat_interleave(tile) * row_stride + lin.repeat(tile))[:, None]


def _nearest_bones(joints2d: torch.Tensor, bones: torch.Tensor, size: tuple[int, int], gamma: float,
                   tile: int = CPU_TILE):
    """The nearest bone of every lit pixel (gamma d^2 <= CUTOFF), chunk by chunk of poses.

    Yields (first pose of the chunk, lit pixel ids into the chunk's padded [C, Hp, Wp] [N],
    their nearest bone [N]). One scatter_reduce "amin" of the keys (float32 bits of d^2 << 32
    | bone) per chunk, into a buffer reused by every chunk.
    """
    h, w = size
    n, k = joints2d.shape[0], bones.shape[0]
    radius = cull_radius(gamma)
    hp, wp = _padded(size, tile)
    limit = torch.tensor([radius * radius], dtype=torch.float32).view(torch.int32).item()
    offsets = _tile_offsets(tile, wp)
    buffer = torch.empty(min(n, CHUNK), hp, wp, dtype=torch.int64)
    for start in range(0, n, CHUNK):
        a, ab = _bone_ends(joints2d[start:start + CHUNK], bones)         # [2, C*K]
        keys = buffer[:a.shape[1] // k].fill_(_NO_HIT)
        seg, tx, ty, pa, pab = _tile_pairs(a, ab, size, radius, tile)
        _, ex, ey = _pair_offsets(tx, ty, pa, pab, tile)
        d2 = ex.mul_(ex).addcmul_(ey, ey)                                # [T*T, P]
        corner = seg.div(k, rounding_mode="floor") * (hp * wp) + ty * (tile * wp) + tx * tile
        key = d2.view(torch.int32).long().bitwise_left_shift_(32).bitwise_or_(seg % k)      # [T*T, P]
        del d2, ex, ey
        keys.view(-1).scatter_reduce_(0, (offsets + corner).view(-1), key.view(-1), "amin")
        keys[:, h:] = _NO_HIT                                            # the padding is not lit
        keys[:, :, w:] = _NO_HIT
        lit = torch.nonzero(keys.view(-1) < ((limit + 1) << 32)).squeeze(1)
        yield start, lit, keys.view(-1).index_select(0, lit) & 0xFFFFFFFF


class SkeletonMax(torch.autograd.Function):
    """render_skeleton "max": joints2d [B, J, 2] float32 -> [B, H, W].

    The forward pass keeps, per lit pixel, its index, the winning bone's two joints, r and
    d kappa / dc (c the nearest point of the bone); the backward pass is four 1-D index_add_.
    Chunks yield pixel ids into a padded [C, Hp, Wp] stack; small tables turn them into
    coordinates and ids into [B, H, W].
    """

    @staticmethod
    def forward(ctx, joints2d, bones, size, gamma):
        h, w = size
        n, j = joints2d.shape[:2]
        k = bones.shape[0]
        hp, wp = _padded(size)
        lin_y, lin_x = torch.arange(hp), torch.arange(wp)
        pixel_x = lin_x.repeat(hp).to(joints2d.dtype)                     # [Hp*Wp]
        pixel_y = lin_y.repeat_interleave(wp).to(joints2d.dtype)
        pixel_id = (lin_y[:, None] * w + lin_x).view(-1)                 # [Hp*Wp] into H*W
        ends = (bones.t()[:, None, :] + torch.arange(n)[None, :, None] * j).reshape(2, -1)   # [2, B*K] into B*J
        a, ab = _bone_ends(joints2d, bones)
        segments = torch.cat([a, ab, _inverse_length2(ab[0], ab[1])[None]])   # [5, B*K]: a, b - a, 1 / |b - a|^2
        saved = []
        for start, lit, bone in _nearest_bones(joints2d, bones, size, gamma):
            pose = lit.div(hp * wp, rounding_mode="floor")
            local = lit - pose * (hp * wp)                                # [N] into Hp*Wp
            pose += start
            seg = pose * k + bone                                         # [N] into B*K
            ax, ay, abx, aby, inv = segments.index_select(1, seg)         # [N] each
            ex = pixel_x.index_select(0, local).sub_(ax)                  # p - a
            ey = pixel_y.index_select(0, local).sub_(ay)
            r = torch.addcmul(ex * abx, ey, aby).mul_(inv).clamp_(0.0, 1.0)
            ex.addcmul_(r, abx, value=-1.0)                               # p - c
            ey.addcmul_(r, aby, value=-1.0)
            value = (ex * ex).addcmul_(ey, ey).mul_(-gamma).exp_()
            slope = value * (2.0 * gamma)                                 # d kappa / dc = 2 gamma kappa (p - c)
            hits = pose * (h * w) + pixel_id.index_select(0, local)       # [N] into B*H*W
            saved.append((hits, ends.index_select(1, seg), r, torch.stack([ex * slope, ey * slope]), value))
        hits, joint_ids, r, dvalue_dc, value = (torch.cat(parts, dim=-1) for parts in zip(*saved))
        out = joints2d.new_zeros(n * h * w).index_copy_(0, hits, value)
        ctx.save_for_backward(hits, joint_ids, r, dvalue_dc)
        ctx.shape = joints2d.shape
        return out.view(n, h, w)

    @staticmethod
    def backward(ctx, grad_out):
        hits, joint_ids, r, dvalue_dc = ctx.saved_tensors                # [N], [2, N], [N], [2, N]
        grad_c = dvalue_dc * grad_out.reshape(-1).index_select(0, hits)   # [2, N]
        to_a, to_b = grad_c * (1.0 - r), grad_c * r                       # c = (1 - r) a + r b
        grad = grad_c.new_zeros(2, ctx.shape[0] * ctx.shape[1])
        for axis in (0, 1):
            grad[axis].index_add_(0, joint_ids[0], to_a[axis]).index_add_(0, joint_ids[1], to_b[axis])
        return grad.t().reshape(ctx.shape), None, None, None


class SkeletonPerBone(torch.autograd.Function):
    """render_skeleton "per_bone": joints2d [B, J, 2] float32 -> [B, K, H, W]."""

    @staticmethod
    def forward(ctx, joints2d, bones, size, gamma):
        h, w = size
        n, k = joints2d.shape[0], bones.shape[0]
        hp, wp = _padded(size)
        out = joints2d.new_zeros(n * k * hp * wp)
        for pixel, _, _, ex, ey in _per_bone_pairs(joints2d, bones, size, gamma):
            out.index_copy_(0, pixel.view(-1), ex.mul_(ex).addcmul_(ey, ey).mul_(-gamma).exp_().view(-1))
        ctx.save_for_backward(joints2d, bones)
        ctx.size, ctx.gamma = size, gamma
        return out.view(n, k, hp, wp)[:, :, :h, :w].contiguous()

    @staticmethod
    def backward(ctx, grad_out):
        joints2d, bones = ctx.saved_tensors
        h, w = ctx.size
        n, j = joints2d.shape[:2]
        hp, wp = _padded(ctx.size)
        padded = grad_out.new_zeros(n, bones.shape[0], hp, wp)
        padded[:, :, :h, :w] = grad_out
        padded = padded.view(-1)
        ends = (bones.t()[:, None, :] + torch.arange(n)[None, :, None] * j).reshape(2, -1)   # [2, B*K] into B*J
        grad = joints2d.new_zeros(2, n * j)
        for pixel, seg, r, dx, dy in _per_bone_pairs(joints2d, bones, ctx.size, ctx.gamma):
            coef = (dx * dx).addcmul_(dy, dy).mul_(-ctx.gamma).exp_().mul_(2.0 * ctx.gamma)   # [T*T, P]
            coef *= padded.index_select(0, pixel.view(-1)).view(coef.shape)
            ja, jb = ends.index_select(1, seg)
            for axis, diff in enumerate((dx, dy)):
                to_c = (coef * diff).sum(0)                               # [P]
                to_b = (coef * r * diff).sum(0)
                grad[axis].index_add_(0, ja, to_c - to_b).index_add_(0, jb, to_b)
        return grad.t().reshape(n, j, 2), None, None, None


def _per_bone_pairs(joints2d, bones, size, gamma, tile: int = CPU_TILE):
    """Per chunk of poses: (pixel ids into the padded [B*K, Hp, Wp] [T*T, P], segment into B*K [P],
    r, (p - c)_x, (p - c)_y [T*T, P])."""
    k = bones.shape[0]
    hp, wp = _padded(size, tile)
    radius = cull_radius(gamma)
    offsets = _tile_offsets(tile, wp)
    for start in range(0, joints2d.shape[0], CHUNK):
        a, ab = _bone_ends(joints2d[start:start + CHUNK], bones)
        seg, tx, ty, pa, pab = _tile_pairs(a, ab, size, radius, tile)
        seg = seg + start * k
        corner = seg * (hp * wp) + ty * (tile * wp) + tx * tile
        yield (offsets + corner, seg, *_pair_offsets(tx, ty, pa, pab, tile))


class Heatmaps(torch.autograd.Function):
    """Separable Gaussians: heat = gy[h] * gx[w], so the backward needs two contractions, no
    [B, J, H, W] temporaries beyond the incoming gradients. joints2d [B, J, 2], depths [B, J]."""

    @staticmethod
    def forward(ctx, joints2d, depths, size, sigma):
        h, w = size
        xs = torch.arange(w, dtype=joints2d.dtype)
        ys = torch.arange(h, dtype=joints2d.dtype)
        dx = xs - joints2d[..., 0, None]                                  # [B, J, W]
        dy = ys - joints2d[..., 1, None]                                  # [B, J, H]
        gx = torch.exp(-dx ** 2 / (2 * sigma ** 2))
        gy = torch.exp(-dy ** 2 / (2 * sigma ** 2))
        heat = gy[..., :, None] * gx[..., None, :]                        # [B, J, H, W]
        ctx.save_for_backward(depths, dx, dy, gx, gy)
        ctx.sigma = sigma
        return heat, depths[..., None, None] * heat

    @staticmethod
    def backward(ctx, grad_heat, grad_depth):
        depths, dx, dy, gx, gy = ctx.saved_tensors
        grad = grad_heat + depths[..., None, None] * grad_depth           # d loss / d heat
        grad_gx = torch.einsum("bjhw,bjh->bjw", grad, gy)
        grad_gy = torch.einsum("bjhw,bjw->bjh", grad, gx)
        s2 = ctx.sigma ** 2
        grad_x = (grad_gx * gx * dx).sum(-1) / s2                         # d gx / d u_x = gx dx / s^2
        grad_y = (grad_gy * gy * dy).sum(-1) / s2
        grad_depths = torch.einsum("bjhw,bjh,bjw->bj", grad_depth, gy, gx)
        return torch.stack([grad_x, grad_y], -1), grad_depths, None, None


def render_skeleton(joints2d, bones, size, gamma, mode="max"):
    fn = SkeletonPerBone if mode == "per_bone" else SkeletonMax
    return fn.apply(joints2d.float(), bones, tuple(size), float(gamma)).to(joints2d.dtype)


def render_heatmaps(joints2d, depths, size, sigma):
    heat, depth_maps = Heatmaps.apply(joints2d.float(), depths.float(), tuple(size), float(sigma))
    return heat.to(joints2d.dtype), depth_maps.to(depths.dtype)


def render_views(joints3d, rotations, bones, size, gamma, depth=10.0, scale=1.0, center=(0.0, 0.0), min_z=1.0):
    """The projection (a few FLOPs per joint, autograd) feeding the fused skeleton renderer."""
    b, v = rotations.shape[:2]
    proj = rotate_project(joints3d.float(), rotations.float(), depth, min_z)       # [B, V, J, 2]
    pixels = proj * scale + proj.new_tensor(center)
    out = SkeletonMax.apply(pixels.reshape(b * v, -1, 2), bones, tuple(size), float(gamma))
    return out.view(b, v, *size).to(joints3d.dtype)
