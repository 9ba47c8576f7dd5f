"""The tiling and culling constants and rules shared by the fused CPU path and the Triton kernels."""
from __future__ import annotations

import math

#: A bone is evaluated only where gamma * d^2 <= CUTOFF: exp(-16) = 1.1e-7, below half a float32
#: ulp of 1.0, so a pixel farther from every bone than this may read 0 instead of its tiny value.
CUTOFF = 16.0
#: Pixel tile edge of the fused CPU path (pixels per tile = TILE * TILE).
CPU_TILE = 4
#: Pixel tile of a Triton program (rows, columns).
TRITON_TILE = (16, 16)


def cull_radius(gamma: float) -> float:
    """Distance in pixels beyond which a bone's kappa is below exp(-CUTOFF)."""
    return math.sqrt(CUTOFF / gamma)


def num_tiles(size: tuple[int, int], tile: tuple[int, int]) -> tuple[int, int]:
    """(tile rows, tile columns) covering an image size (H, W); edge tiles may overhang."""
    return -(-size[0] // tile[0]), -(-size[1] // tile[1])
