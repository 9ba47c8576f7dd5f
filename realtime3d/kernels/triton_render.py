"""Triton skeleton images, heatmaps and the fused render_views, forward and backward.

Grid: one program per (image, pixel tile of TRITON_TILE), all on grid axis 0 (program
image * tiles + tile; CUDA allows 2^31 - 1 programs there, but only 65535 on axes 1 and 2,
which a 4096x4096 image's 65536 tiles would pass). A program loops over the bones
and skips (per-tile culling) every bone whose bounding box grown by the cull radius
misses its tile. "max" keeps, per pixel in registers, the smallest d^2, its bone and its
r, and writes the value, the winning bone (-1 where no bone is within the cull radius)
and r. The backward program reads them back, so each pixel touches one segment, and
reduces each bone's endpoint gradients over its tile into a per-tile partial buffer;
PyTorch sums the partials over tiles and maps bones to joints with a fixed incidence
matmul: no atomics, deterministic. render_views projects the two endpoints of each bone
in registers (no 2D tensor in global memory); its backward stops at d loss / dP (the
rotated 3D endpoints) per tile, and the rotation and joint gradients are two small
einsums over [B, V, J, 3].
All arithmetic is float32; outputs are float32 (the public ops cast back). Element offsets
into the images and partials are int64 (pixel_offset, slot_offset): [images, H, W] passes
2^31 elements on a large GPU (per_bone at B=1024, K=16, 512x512 is 2^32).
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from .tiling import TRITON_TILE, cull_radius, num_tiles
from .triton_project import load_rotation, projection_grad, rotate

#: CUDA's limit on grid axis 0 (axes 1 and 2 stop at 65535); every launch here is one axis.
MAX_PROGRAMS = 2**31 - 1


@triton.jit
def program_tile(n_tiles):
    """(image, tile) of this program: the grid is images x tiles programs on axis 0, image-major."""
    pid = tl.program_id(0)
    return pid // n_tiles, pid % n_tiles


@triton.jit
def pixel_offset(img, ys, xs, H, W):
    """int64 element offset of pixels (xs, ys) of image img in an [images, H, W] tensor.

    img, H and W come in as int32 (program ids, kernel arguments below 2^31): in int32,
    (img * H + ys) * W + xs wraps once images * H * W passes 2^31."""
    return (img.to(tl.int64) * H + ys) * W + xs


@triton.jit
def slot_offset(img, tile, n_tiles, K, k, C: tl.constexpr):
    """int64 offset of partial slot [img, tile, k, 0] in an [images, n_tiles, K, C] buffer."""
    return ((img.to(tl.int64) * n_tiles + tile) * K + k) * C


@triton.jit
def tile_pixels(tile, n_tx, BH: tl.constexpr, BW: tl.constexpr):
    """Integer pixel coordinates (xs [1, BW], ys [BH, 1]) of a tile."""
    xs = (tile % n_tx) * BW + tl.arange(0, BW)[None, :]
    ys = (tile // n_tx) * BH + tl.arange(0, BH)[:, None]
    return xs, ys


@triton.jit
def touches(ax, ay, bx, by, tile, n_tx, radius, BH: tl.constexpr, BW: tl.constexpr):
    """Whether segment (a, b), grown by radius, overlaps the tile's pixel box."""
    x0 = ((tile % n_tx) * BW).to(tl.float32)
    y0 = ((tile // n_tx) * BH).to(tl.float32)
    return ((tl.minimum(ax, bx) - radius <= x0 + (BW - 1)) & (tl.maximum(ax, bx) + radius >= x0)
            & (tl.minimum(ay, by) - radius <= y0 + (BH - 1)) & (tl.maximum(ay, by) + radius >= y0))


@triton.jit
def segment(pxf, pyf, ax, ay, bx, by):
    """r and d^2 of every pixel to segment (a, b) (r = 0 for a zero-length bone)."""
    abx = bx - ax
    aby = by - ay
    len2 = abx * abx + aby * aby
    inv = tl.where(len2 > 0, 1.0 / tl.where(len2 > 0, len2, 1.0), 0.0)
    apx = pxf - ax
    apy = pyf - ay
    r = tl.minimum(tl.maximum(apx * (abx * inv) + apy * (aby * inv), 0.0), 1.0)
    ex = apx - r * abx
    ey = apy - r * aby
    return r, ex * ex + ey * ey


@triton.jit
def joint2d(j_ptr, n, J, jidx):
    base = j_ptr + (n * J + jidx) * 2
    return tl.load(base).to(tl.float32), tl.load(base + 1).to(tl.float32)


@triton.jit
def rotated_joint(x_ptr, b, J, jidx, r00, r01, r02, r10, r11, r12, r20, r21, r22, depth):
    """P = R (X - T) + T of joint jidx of pose b."""
    base = x_ptr + (b * J + jidx) * 3
    qx = tl.load(base).to(tl.float32)
    qy = tl.load(base + 1).to(tl.float32)
    qz = tl.load(base + 2).to(tl.float32) - depth
    return rotate(qx, qy, qz, r00, r01, r02, r10, r11, r12, r20, r21, r22, depth)


@triton.jit
def to_pixels(px, py, pz, min_z, scale, cx, cy):
    z = tl.maximum(pz, min_z)
    return px / z * scale + cx, py / z * scale + cy


@triton.jit
def keep_nearest(pxf, pyf, ax, ay, bx, by, k, best, best_k, best_r):
    """Per pixel: bone k replaces the winner (squared distance, bone index, r) where it is nearer."""
    r, d2 = segment(pxf, pyf, ax, ay, bx, by)
    win = d2 < best
    return tl.where(win, d2, best), tl.where(win, k, best_k), tl.where(win, r, best_r)


@triton.jit
def store_winners(out_ptr, bone_ptr, r_ptr, img, best, best_k, best_r, xs, ys, H, W, gamma, radius):
    lit = best <= radius * radius
    m = (xs < W) & (ys < H)
    off = pixel_offset(img, ys, xs, H, W)
    tl.store(out_ptr + off, tl.where(lit, tl.exp(-gamma * best), 0.0), mask=m)
    tl.store(bone_ptr + off, tl.where(lit, best_k, -1), mask=m)
    tl.store(r_ptr + off, best_r, mask=m)


@triton.jit
def endpoint_grads(pxf, pyf, coef, sel, r, ax, ay, bx, by):
    """Tile sums of d loss / d a and d loss / d b over the pixels won by segment (a, b)."""
    w = tl.where(sel, coef, 0.0)
    gcx = w * (pxf - ax - r * (bx - ax))           # d loss / dc = 2 gamma g kappa (p - c)
    gcy = w * (pyf - ay - r * (by - ay))
    gbx = tl.sum(gcx * r)
    gby = tl.sum(gcy * r)
    return tl.sum(gcx) - gbx, tl.sum(gcy) - gby, gbx, gby


@triton.jit
def _skeleton_max_fwd(j_ptr, bones_ptr, out_ptr, bone_ptr, r_ptr, J, K, H, W, n_tx, n_tiles, gamma, radius,
                      BH: tl.constexpr, BW: tl.constexpr):
    n, tile = program_tile(n_tiles)
    xs, ys = tile_pixels(tile, n_tx, BH, BW)
    pxf = xs.to(tl.float32)
    pyf = ys.to(tl.float32)
    best = tl.full([BH, BW], float("inf"), tl.float32)
    best_k = tl.full([BH, BW], -1, tl.int32)
    best_r = tl.zeros([BH, BW], tl.float32)
    for k in range(0, K):
        ax, ay = joint2d(j_ptr, n, J, tl.load(bones_ptr + 2 * k))
        bx, by = joint2d(j_ptr, n, J, tl.load(bones_ptr + 2 * k + 1))
        if touches(ax, ay, bx, by, tile, n_tx, radius, BH, BW):
            best, best_k, best_r = keep_nearest(pxf, pyf, ax, ay, bx, by, k, best, best_k, best_r)
    store_winners(out_ptr, bone_ptr, r_ptr, n, best, best_k, best_r, xs, ys, H, W, gamma, radius)


@triton.jit
def _skeleton_max_bwd(j_ptr, bones_ptr, grad_ptr, out_ptr, bone_ptr, r_ptr, part_ptr, J, K, H, W, n_tx, n_tiles,
                      gamma, BH: tl.constexpr, BW: tl.constexpr):
    n, tile = program_tile(n_tiles)
    xs, ys = tile_pixels(tile, n_tx, BH, BW)
    m = (xs < W) & (ys < H)
    off = pixel_offset(n, ys, xs, H, W)
    coef = 2.0 * gamma * tl.load(grad_ptr + off, mask=m, other=0.0).to(tl.float32) \
        * tl.load(out_ptr + off, mask=m, other=0.0)
    bone = tl.load(bone_ptr + off, mask=m, other=-1)
    r = tl.load(r_ptr + off, mask=m, other=0.0)
    for k in range(0, K):
        sel = bone == k
        if tl.max(sel.to(tl.int32)) > 0:
            ax, ay = joint2d(j_ptr, n, J, tl.load(bones_ptr + 2 * k))
            bx, by = joint2d(j_ptr, n, J, tl.load(bones_ptr + 2 * k + 1))
            gax, gay, gbx, gby = endpoint_grads(xs.to(tl.float32), ys.to(tl.float32), coef, sel, r, ax, ay, bx, by)
            base = part_ptr + slot_offset(n, tile, n_tiles, K, k, 4)
            tl.store(base + 0, gax)
            tl.store(base + 1, gay)
            tl.store(base + 2, gbx)
            tl.store(base + 3, gby)


@triton.jit
def _skeleton_per_bone_fwd(j_ptr, bones_ptr, out_ptr, J, K, H, W, n_tx, n_tiles, gamma, radius,
                           BH: tl.constexpr, BW: tl.constexpr):
    nk, tile = program_tile(n_tiles)
    n = nk // K
    k = nk % K
    xs, ys = tile_pixels(tile, n_tx, BH, BW)
    ax, ay = joint2d(j_ptr, n, J, tl.load(bones_ptr + 2 * k))
    bx, by = joint2d(j_ptr, n, J, tl.load(bones_ptr + 2 * k + 1))
    value = tl.zeros([BH, BW], tl.float32)
    if touches(ax, ay, bx, by, tile, n_tx, radius, BH, BW):
        r, d2 = segment(xs.to(tl.float32), ys.to(tl.float32), ax, ay, bx, by)
        value = tl.exp(-gamma * d2)
    tl.store(out_ptr + pixel_offset(nk, ys, xs, H, W), value, mask=(xs < W) & (ys < H))


@triton.jit
def _skeleton_per_bone_bwd(j_ptr, bones_ptr, grad_ptr, part_ptr, J, K, H, W, n_tx, n_tiles, gamma, radius,
                           BH: tl.constexpr, BW: tl.constexpr):
    nk, tile = program_tile(n_tiles)
    n = nk // K
    k = nk % K
    xs, ys = tile_pixels(tile, n_tx, BH, BW)
    ax, ay = joint2d(j_ptr, n, J, tl.load(bones_ptr + 2 * k))
    bx, by = joint2d(j_ptr, n, J, tl.load(bones_ptr + 2 * k + 1))
    if touches(ax, ay, bx, by, tile, n_tx, radius, BH, BW):
        m = (xs < W) & (ys < H)
        pxf = xs.to(tl.float32)
        pyf = ys.to(tl.float32)
        r, d2 = segment(pxf, pyf, ax, ay, bx, by)
        g = tl.load(grad_ptr + pixel_offset(nk, ys, xs, H, W), mask=m, other=0.0).to(tl.float32)
        gax, gay, gbx, gby = endpoint_grads(pxf, pyf, 2.0 * gamma * g * tl.exp(-gamma * d2), m, r, ax, ay, bx, by)
        base = part_ptr + slot_offset(nk, tile, n_tiles, 1, 0, 4)
        tl.store(base + 0, gax)
        tl.store(base + 1, gay)
        tl.store(base + 2, gbx)
        tl.store(base + 3, gby)


@triton.jit
def _heatmaps_fwd(j_ptr, d_ptr, heat_ptr, depth_ptr, H, W, n_tx, n_tiles, inv_two_s2,
                  BH: tl.constexpr, BW: tl.constexpr):
    nj, tile = program_tile(n_tiles)
    xs, ys = tile_pixels(tile, n_tx, BH, BW)
    ux, uy = joint2d(j_ptr, nj, 1, 0)
    dx = xs.to(tl.float32) - ux
    dy = ys.to(tl.float32) - uy
    heat = tl.exp(-(dx * dx + dy * dy) * inv_two_s2)
    m = (xs < W) & (ys < H)
    off = pixel_offset(nj, ys, xs, H, W)
    tl.store(heat_ptr + off, heat, mask=m)
    tl.store(depth_ptr + off, tl.load(d_ptr + nj).to(tl.float32) * heat, mask=m)


@triton.jit
def _heatmaps_bwd(j_ptr, d_ptr, grad_heat_ptr, grad_depth_ptr, part_ptr, H, W, n_tx, n_tiles, inv_two_s2,
                  BH: tl.constexpr, BW: tl.constexpr):
    nj, tile = program_tile(n_tiles)
    xs, ys = tile_pixels(tile, n_tx, BH, BW)
    ux, uy = joint2d(j_ptr, nj, 1, 0)
    depth = tl.load(d_ptr + nj).to(tl.float32)
    dx = xs.to(tl.float32) - ux
    dy = ys.to(tl.float32) - uy
    heat = tl.exp(-(dx * dx + dy * dy) * inv_two_s2)
    m = (xs < W) & (ys < H)
    off = pixel_offset(nj, ys, xs, H, W)
    gh = tl.load(grad_heat_ptr + off, mask=m, other=0.0).to(tl.float32)
    gd = tl.load(grad_depth_ptr + off, mask=m, other=0.0).to(tl.float32)
    w = (gh + depth * gd) * heat * (2.0 * inv_two_s2)    # d heat / d u = heat (p - u) / sigma^2
    base = part_ptr + slot_offset(nj, tile, n_tiles, 1, 0, 3)
    tl.store(base + 0, tl.sum(w * dx))
    tl.store(base + 1, tl.sum(w * dy))
    tl.store(base + 2, tl.sum(gd * heat))


@triton.jit
def _views_fwd(x_ptr, rot_ptr, bones_ptr, out_ptr, bone_ptr, r_ptr, J, K, V, H, W, n_tx, n_tiles, depth, min_z,
               scale, cx, cy, gamma, radius, BH: tl.constexpr, BW: tl.constexpr):
    bv, tile = program_tile(n_tiles)
    b = bv // V
    xs, ys = tile_pixels(tile, n_tx, BH, BW)
    pxf = xs.to(tl.float32)
    pyf = ys.to(tl.float32)
    r00, r01, r02, r10, r11, r12, r20, r21, r22 = load_rotation(rot_ptr, bv)
    best = tl.full([BH, BW], float("inf"), tl.float32)
    best_k = tl.full([BH, BW], -1, tl.int32)
    best_r = tl.zeros([BH, BW], tl.float32)
    for k in range(0, K):
        pax, pay, paz = rotated_joint(x_ptr, b, J, tl.load(bones_ptr + 2 * k),
                                      r00, r01, r02, r10, r11, r12, r20, r21, r22, depth)
        pbx, pby, pbz = rotated_joint(x_ptr, b, J, tl.load(bones_ptr + 2 * k + 1),
                                      r00, r01, r02, r10, r11, r12, r20, r21, r22, depth)
        ax, ay = to_pixels(pax, pay, paz, min_z, scale, cx, cy)
        bx, by = to_pixels(pbx, pby, pbz, min_z, scale, cx, cy)
        if touches(ax, ay, bx, by, tile, n_tx, radius, BH, BW):
            best, best_k, best_r = keep_nearest(pxf, pyf, ax, ay, bx, by, k, best, best_k, best_r)
    store_winners(out_ptr, bone_ptr, r_ptr, bv, best, best_k, best_r, xs, ys, H, W, gamma, radius)


@triton.jit
def _views_bwd(x_ptr, rot_ptr, bones_ptr, grad_ptr, out_ptr, bone_ptr, r_ptr, part_ptr, J, K, V, H, W, n_tx,
               n_tiles, depth, min_z, scale, cx, cy, gamma, BH: tl.constexpr, BW: tl.constexpr):
    bv, tile = program_tile(n_tiles)
    b = bv // V
    xs, ys = tile_pixels(tile, n_tx, BH, BW)
    m = (xs < W) & (ys < H)
    off = pixel_offset(bv, ys, xs, H, W)
    coef = 2.0 * gamma * tl.load(grad_ptr + off, mask=m, other=0.0).to(tl.float32) \
        * tl.load(out_ptr + off, mask=m, other=0.0)
    bone = tl.load(bone_ptr + off, mask=m, other=-1)
    r = tl.load(r_ptr + off, mask=m, other=0.0)
    r00, r01, r02, r10, r11, r12, r20, r21, r22 = load_rotation(rot_ptr, bv)
    for k in range(0, K):
        sel = bone == k
        if tl.max(sel.to(tl.int32)) > 0:
            pax, pay, paz = rotated_joint(x_ptr, b, J, tl.load(bones_ptr + 2 * k),
                                          r00, r01, r02, r10, r11, r12, r20, r21, r22, depth)
            pbx, pby, pbz = rotated_joint(x_ptr, b, J, tl.load(bones_ptr + 2 * k + 1),
                                          r00, r01, r02, r10, r11, r12, r20, r21, r22, depth)
            ax, ay = to_pixels(pax, pay, paz, min_z, scale, cx, cy)
            bx, by = to_pixels(pbx, pby, pbz, min_z, scale, cx, cy)
            gax, gay, gbx, gby = endpoint_grads(xs.to(tl.float32), ys.to(tl.float32), coef, sel, r, ax, ay, bx, by)
            ga_x, ga_y, ga_z = projection_grad(gax * scale, gay * scale, pax, pay, paz, min_z)
            gb_x, gb_y, gb_z = projection_grad(gbx * scale, gby * scale, pbx, pby, pbz, min_z)
            base = part_ptr + slot_offset(bv, tile, n_tiles, K, k, 6)
            tl.store(base + 0, ga_x)
            tl.store(base + 1, ga_y)
            tl.store(base + 2, ga_z)
            tl.store(base + 3, gb_x)
            tl.store(base + 4, gb_y)
            tl.store(base + 5, gb_z)


BH, BW = TRITON_TILE


def _tiles(size: tuple[int, int]) -> tuple[int, int, int, int]:
    """(H, W, tiles per image, tiles per row) of an image size on TRITON_TILE: every launch's geometry."""
    nty, ntx = num_tiles(size, TRITON_TILE)
    return size[0], size[1], nty * ntx, ntx


def _grid(images: int, tiles: int) -> tuple[int]:
    """The launch grid of images x tiles programs: one axis (program_tile), within CUDA's limits."""
    programs = images * tiles
    if programs > MAX_PROGRAMS:
        raise ValueError(f"{images} images of {tiles} tiles need {programs} Triton programs, more than CUDA's "
                         f"{MAX_PROGRAMS}; render fewer or smaller images per call")
    return (programs,)


def _incidence(bones: torch.Tensor, num_joints: int) -> tuple[torch.Tensor, torch.Tensor]:
    """[K, J] one-hot maps from bones to their first and second joints (a deterministic scatter)."""
    eye = torch.eye(num_joints, dtype=torch.float32, device=bones.device)
    return eye[bones[:, 0]], eye[bones[:, 1]]


def _to_joints(part: torch.Tensor, bones: torch.Tensor, num_joints: int) -> torch.Tensor:
    """Per-tile endpoint partials [N, T, K, 2C] -> per-joint sums [N, J, C]."""
    ends = part.sum(1)                                                   # [N, K, 2C]
    c = ends.shape[-1] // 2
    inc_a, inc_b = _incidence(bones, num_joints)
    return torch.einsum("nkc,kj->njc", ends[..., :c], inc_a) + torch.einsum("nkc,kj->njc", ends[..., c:], inc_b)


class SkeletonMax(torch.autograd.Function):
    """joints2d [N, J, 2], bones [K, 2] -> [N, H, W] float32."""

    @staticmethod
    def forward(ctx, joints2d, bones, size, gamma):
        joints2d, bones = joints2d.contiguous(), bones.contiguous()    # the kernels index them as dense rows
        n, j = joints2d.shape[:2]
        k = bones.shape[0]
        h, w, tiles, ntx = _tiles(size)
        dev = joints2d.device
        out = torch.empty(n, h, w, dtype=torch.float32, device=dev)
        bone = torch.empty(n, h, w, dtype=torch.int32, device=dev)
        r = torch.empty(n, h, w, dtype=torch.float32, device=dev)
        _skeleton_max_fwd[_grid(n, tiles)](joints2d, bones, out, bone, r, j, k, h, w, ntx, tiles, gamma,
                                           cull_radius(gamma), BH=BH, BW=BW)
        ctx.save_for_backward(joints2d, bones, out, bone, r)
        ctx.size, ctx.gamma = size, gamma
        return out

    @staticmethod
    def backward(ctx, grad_out):
        joints2d, bones, out, bone, r = ctx.saved_tensors
        n, j = joints2d.shape[:2]
        k = bones.shape[0]
        h, w, tiles, ntx = _tiles(ctx.size)
        part = torch.zeros(n, tiles, k, 4, dtype=torch.float32, device=joints2d.device)
        _skeleton_max_bwd[_grid(n, tiles)](joints2d, bones, grad_out.contiguous(), out, bone, r, part, j, k, h, w,
                                           ntx, tiles, ctx.gamma, BH=BH, BW=BW)
        return _to_joints(part, bones, j).to(joints2d.dtype), None, None, None


class SkeletonPerBone(torch.autograd.Function):
    """joints2d [N, J, 2], bones [K, 2] -> [N, K, H, W] float32."""

    @staticmethod
    def forward(ctx, joints2d, bones, size, gamma):
        joints2d, bones = joints2d.contiguous(), bones.contiguous()
        n, j = joints2d.shape[:2]
        k = bones.shape[0]
        h, w, tiles, ntx = _tiles(size)
        out = torch.empty(n, k, h, w, dtype=torch.float32, device=joints2d.device)
        _skeleton_per_bone_fwd[_grid(n * k, tiles)](joints2d, bones, out, j, k, h, w, ntx, tiles, gamma,
                                                    cull_radius(gamma), BH=BH, BW=BW)
        ctx.save_for_backward(joints2d, bones)
        ctx.size, ctx.gamma = size, gamma
        return out

    @staticmethod
    def backward(ctx, grad_out):
        joints2d, bones = ctx.saved_tensors
        n, j = joints2d.shape[:2]
        k = bones.shape[0]
        h, w, tiles, ntx = _tiles(ctx.size)
        part = torch.zeros(n, k, tiles, 4, dtype=torch.float32, device=joints2d.device)
        _skeleton_per_bone_bwd[_grid(n * k, tiles)](joints2d, bones, grad_out.contiguous(), part, j, k, h, w, ntx,
                                                    tiles, ctx.gamma, cull_radius(ctx.gamma), BH=BH, BW=BW)
        grad = _to_joints(part.transpose(1, 2), bones, j)                 # [N, J, 2]
        return grad.to(joints2d.dtype), None, None, None


class Heatmaps(torch.autograd.Function):
    """joints2d [N, J, 2], depths [N, J] -> heatmaps, depth maps [N, J, H, W] float32."""

    @staticmethod
    def forward(ctx, joints2d, depths, size, sigma):
        joints2d, depths = joints2d.contiguous(), depths.contiguous()
        n, j = joints2d.shape[:2]
        h, w, tiles, ntx = _tiles(size)
        heat = torch.empty(n, j, h, w, dtype=torch.float32, device=joints2d.device)
        depth_maps = torch.empty_like(heat)
        inv = 1.0 / (2.0 * sigma * sigma)
        _heatmaps_fwd[_grid(n * j, tiles)](joints2d, depths, heat, depth_maps, h, w, ntx, tiles, inv, BH=BH, BW=BW)
        ctx.save_for_backward(joints2d, depths)
        ctx.size, ctx.inv = size, inv
        return heat, depth_maps

    @staticmethod
    def backward(ctx, grad_heat, grad_depth):
        joints2d, depths = ctx.saved_tensors
        n, j = joints2d.shape[:2]
        h, w, tiles, ntx = _tiles(ctx.size)
        part = torch.empty(n, j, tiles, 3, dtype=torch.float32, device=joints2d.device)
        gh = torch.zeros_like(joints2d[..., 0, None, None].expand(n, j, h, w)) if grad_heat is None else grad_heat
        gd = torch.zeros_like(gh) if grad_depth is None else grad_depth
        _heatmaps_bwd[_grid(n * j, tiles)](joints2d, depths, gh.contiguous(), gd.contiguous(), part, h, w, ntx,
                                           tiles, ctx.inv, BH=BH, BW=BW)
        total = part.sum(2)                                               # [N, J, 3]
        return total[..., :2].to(joints2d.dtype), total[..., 2].to(depths.dtype), None, None


class RenderViews(torch.autograd.Function):
    """joints3d [B, J, 3], rotations [B, V, 3, 3], bones [K, 2] -> [B, V, H, W] float32, in one kernel."""

    @staticmethod
    def forward(ctx, joints3d, rotations, bones, size, gamma, depth, scale, center, min_z):
        joints3d, rotations, bones = joints3d.contiguous(), rotations.contiguous(), bones.contiguous()
        b, j = joints3d.shape[:2]
        v, k = rotations.shape[1], bones.shape[0]
        h, w, tiles, ntx = _tiles(size)
        dev = joints3d.device
        out = torch.empty(b, v, h, w, dtype=torch.float32, device=dev)
        bone = torch.empty(b, v, h, w, dtype=torch.int32, device=dev)
        r = torch.empty(b, v, h, w, dtype=torch.float32, device=dev)
        args = (j, k, v, h, w, ntx, tiles, depth, min_z, scale, center[0], center[1], gamma)
        _views_fwd[_grid(b * v, tiles)](joints3d, rotations, bones, out, bone, r, *args, cull_radius(gamma),
                                        BH=BH, BW=BW)
        ctx.save_for_backward(joints3d, rotations, bones, out, bone, r)
        ctx.args, ctx.size = args, size
        return out

    @staticmethod
    def backward(ctx, grad_out):
        joints3d, rotations, bones, out, bone, r = ctx.saved_tensors
        b, j = joints3d.shape[:2]
        v, k = rotations.shape[1], bones.shape[0]
        tiles = _tiles(ctx.size)[2]
        part = torch.zeros(b * v, tiles, k, 6, dtype=torch.float32, device=joints3d.device)
        _views_bwd[_grid(b * v, tiles)](joints3d, rotations, bones, grad_out.contiguous(), out, bone, r, part,
                                        *ctx.args, BH=BH, BW=BW)
        grad_p = _to_joints(part, bones, j).view(b, v, j, 3)                # d loss / dP
        depth = ctx.args[7]
        q = joints3d.float() - joints3d.new_tensor([0.0, 0.0, depth], dtype=torch.float32)
        grad_rot = torch.einsum("bvji,bjk->bvik", grad_p, q)
        grad_x = torch.einsum("bvji,bvik->bjk", grad_p, rotations.float())
        return grad_x.to(joints3d.dtype), grad_rot.to(rotations.dtype), *([None] * 7)


def render_skeleton(joints2d, bones, size, gamma, mode="max"):
    fn = SkeletonPerBone if mode == "per_bone" else SkeletonMax
    return fn.apply(joints2d, bones, tuple(size), float(gamma)).to(joints2d.dtype)


def render_heatmaps(joints2d, depths, size, sigma):
    heat, depth_maps = Heatmaps.apply(joints2d, depths, tuple(size), float(sigma))
    return heat.to(joints2d.dtype), depth_maps.to(depths.dtype)


def render_views(joints3d, rotations, bones, size, gamma, depth=10.0, scale=1.0, center=(0.0, 0.0), min_z=1.0):
    return RenderViews.apply(joints3d, rotations, bones, tuple(size), float(gamma), float(depth), float(scale),
                             (float(center[0]), float(center[1])), float(min_z)).to(joints3d.dtype)
