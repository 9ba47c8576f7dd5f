"""What a synthetic person looks like: the body's capsule parts, materials, and a batch's
random appearance (build, skin, hair, garments, light, background, occluders, image noise).

`sample_appearance` draws an `Appearance` from a torch.Generator; every random choice the
renderer makes per pixel is then a function of `Appearance.seed`, so a render is a
deterministic function of its arguments.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import numpy as np
import torch


#: Limb bones (thigh, shank, upper arm, forearm) are scaled by a factor in this range.
LIMB_SCALE = (0.9, 1.1)
BLUR_SIGMA_PX = (0.0, 1.2)
NOISE_STD = (0.0, 0.04)
MAX_OCCLUDERS = 2


# Materials of a body pixel; the garments are slots 0-2 of the garment tables.
SKIN, HAIR, SHIRT, TROUSERS, SHOES = range(5)
GARMENTS = ("shirt", "trousers", "shoes")
#: Textures of garments and occluders: the pattern index of Appearance.garment_pattern.
PATTERNS = ("plain", "stripes", "checks", "noise")
#: Backgrounds: Appearance.background_kind.
BACKGROUNDS = ("photo", "gradient", "noise", "stripes", "tiles")


@dataclass(frozen=True)
class _Part:
    name: str
    radius_mm: tuple[float, float]  # at the a and b ends, for the average build
    build_gain: float               # relative radius growth from the thinnest to the heaviest build
    materials: tuple[int, int]      # material before and after the split along the axis
    split: str                      # which Appearance length sets the split ("" = none)


#: The body's parts, in the order of every [B, K, ...] tensor here. Endpoints: _segments.
PARTS = (
    _Part("torso_low", (118, 120), 0.50, (TROUSERS, SHIRT), "waist"),
    _Part("torso_up", (120, 112), 0.40, (SHIRT, SHIRT), ""),
    _Part("flank_left", (88, 92), 0.50, (TROUSERS, SHIRT), "waist_flank"),
    _Part("flank_right", (88, 92), 0.50, (TROUSERS, SHIRT), "waist_flank"),
    _Part("hip_left", (92, 88), 0.40, (TROUSERS, TROUSERS), ""),
    _Part("hip_right", (92, 88), 0.40, (TROUSERS, TROUSERS), ""),
    _Part("shoulder_left", (62, 55), 0.30, (SHIRT, SHIRT), ""),
    _Part("shoulder_right", (62, 55), 0.30, (SHIRT, SHIRT), ""),
    _Part("thigh_left", (82, 56), 0.40, (TROUSERS, SKIN), "thigh"),
    _Part("thigh_right", (82, 56), 0.40, (TROUSERS, SKIN), "thigh"),
    _Part("shin_left", (54, 40), 0.30, (TROUSERS, SKIN), "shin"),
    _Part("shin_right", (54, 40), 0.30, (TROUSERS, SKIN), "shin"),
    _Part("upper_arm_left", (48, 40), 0.35, (SHIRT, SKIN), "upper_arm"),
    _Part("upper_arm_right", (48, 40), 0.35, (SHIRT, SKIN), "upper_arm"),
    _Part("forearm_left", (40, 31), 0.25, (SHIRT, SKIN), "forearm"),
    _Part("forearm_right", (40, 31), 0.25, (SHIRT, SKIN), "forearm"),
    _Part("hand_left", (36, 32), 0.10, (SKIN, SKIN), ""),
    _Part("hand_right", (36, 32), 0.10, (SKIN, SKIN), ""),
    _Part("foot_left", (44, 34), 0.10, (SHOES, SHOES), ""),
    _Part("foot_right", (44, 34), 0.10, (SHOES, SHOES), ""),
    _Part("neck", (54, 50), 0.30, (SKIN, SKIN), ""),
    _Part("head", (86, 84), 0.05, (SKIN, SKIN), ""),
    _Part("nose", (17, 17), 0.00, (SKIN, SKIN), ""),
)
NUM_PARTS = len(PARTS)
_HEAD_PART = [p.name for p in PARTS].index("head")
#: The thinnest and heaviest builds scale the radii by 1 + build_gain * (build - 0.5) * 2 * _BUILD_SPAN.
_BUILD_SPAN = 0.35

# Skin tones (light to dark) and hair colours to sample among, RGB 0..1.
_SKIN_TONES = ((0.98, 0.85, 0.75), (0.93, 0.76, 0.63), (0.82, 0.62, 0.47), (0.66, 0.47, 0.33),
               (0.47, 0.32, 0.22), (0.30, 0.20, 0.14))
_HAIR_COLOURS = ((0.05, 0.04, 0.04), (0.20, 0.13, 0.09), (0.42, 0.28, 0.17), (0.78, 0.64, 0.40),
                 (0.52, 0.24, 0.12), (0.62, 0.61, 0.60))


class _Batch:
    """A dataclass of [B, ...] tensors (and constants): len() is B, select() takes samples."""

    def __len__(self) -> int:
        return int(getattr(self, fields(self)[0].name).shape[0])

    def select(self, index):
        """The samples at index (an int, a slice, a [n] long or bool tensor), as a batch."""
        if isinstance(index, int):
            index = [index]
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return type(self)(**{k: v[index] if isinstance(v, torch.Tensor) else v for k, v in values.items()})


@dataclass
class Appearance(_Batch):
    """Everything drawn for a batch of people (or of sequences: the same appearance on
    every frame). Tensors have a leading batch dimension B; colours are RGB 0..1.

    `seed` drives what is drawn per pixel (noise textures, procedural backgrounds, pixel
    noise), so that render is a deterministic function of its arguments.
    """

    seed: torch.Tensor                # [B] long
    build: torch.Tensor               # [B] 0 (thin) .. 1 (heavy); radii already include it
    radii: torch.Tensor               # [B, K, 2] mm, the capsule radius at each end of each part
    limb_scale: torch.Tensor          # [B] factor on the limb bones' lengths
    skin: torch.Tensor                # [B, 3]
    hair: torch.Tensor                # [B, 3]
    hair_top: torch.Tensor            # [B] hair where the head's normal . up > this (>1: bald)
    hair_back: torch.Tensor           # [B] hair where the head's normal . forward < this
    garment_colors: torch.Tensor      # [B, 3, 2, 3] (shirt, trousers, shoes) x two colours
    garment_pattern: torch.Tensor     # [B, 3] long index into PATTERNS
    garment_period: torch.Tensor      # [B, 3] mm, the texture's period
    garment_angle: torch.Tensor       # [B, 3] rad: 0 = rings around the limb, pi/2 = along it
    sleeve: torch.Tensor              # [B] 0 (no sleeve) .. 1 (to the elbow) .. 2 (to the wrist)
    leg: torch.Tensor                 # [B] trouser leg: 0.4 (short shorts) .. 1 (knee) .. 2 (ankle)
    waist: torch.Tensor               # [B] where the shirt starts, fraction of pelvis -> spine
    light: torch.Tensor               # [B, 3] unit vector towards the light, camera coordinates
    ambient: torch.Tensor             # [B]
    diffuse: torch.Tensor             # [B]
    background_kind: torch.Tensor     # [B] long index into BACKGROUNDS
    background_colors: torch.Tensor   # [B, 3, 3] three colours of a procedural background
    background_photo: torch.Tensor    # [B] long index into photos (-1: procedural)
    background_window: torch.Tensor   # [B, 3] photo window: left, top (0..1 of the free room), side / short side
    background_flip: torch.Tensor     # [B] bool, the photo mirrored (a background only)
    background_period: torch.Tensor   # [B] stripes/tiles period, fraction of the crop
    background_angle: torch.Tensor    # [B] rad
    occluder_present: torch.Tensor    # [B, 2] bool
    occluder_ellipse: torch.Tensor    # [B, 2] bool (else a rectangle)
    occluder_center: torch.Tensor     # [B, 2, 2] (x, y) fractions of the crop
    occluder_half: torch.Tensor       # [B, 2, 2] half extents, fractions of the crop
    occluder_angle: torch.Tensor      # [B, 2] rad
    occluder_colors: torch.Tensor     # [B, 2, 2, 3]
    occluder_pattern: torch.Tensor    # [B, 2] long index into PATTERNS
    occluder_period: torch.Tensor     # [B, 2] fraction of the crop
    blur: torch.Tensor                # [B] Gaussian sigma, crop pixels
    noise: torch.Tensor               # [B] pixel noise standard deviation
    tint: torch.Tensor                # [B, 3] per-channel gain (white balance)
    photos: list = field(default_factory=list, repr=False)  # the background photos, RGB uint8


def _uniform(generator: torch.Generator, shape, low: float, high: float) -> torch.Tensor:
    return low + (high - low) * torch.rand(shape, generator=generator)


def _choice(generator: torch.Generator, shape, probabilities) -> torch.Tensor:
    p = torch.tensor(probabilities, dtype=torch.float32)
    n = int(np.prod(shape)) if shape else 1
    return torch.multinomial(p, n, replacement=True, generator=generator).reshape(shape)


def _palette(generator: torch.Generator, shape, anchors) -> torch.Tensor:
    """Colours [*shape, 3] along the polyline through anchors, jittered a little."""
    a = torch.tensor(anchors, dtype=torch.float32)                     # [A, 3]
    x = torch.rand(shape, generator=generator) * (len(anchors) - 1)
    i = x.floor().long().clamp(max=len(anchors) - 2)
    w = (x - i)[..., None]
    c = a[i] * (1 - w) + a[i + 1] * w
    return (c * _uniform(generator, (*shape, 3), 0.94, 1.06)).clamp(0, 1)


def _random_colors(generator: torch.Generator, shape) -> torch.Tensor:
    """[*shape, 3] colours from random hue, saturation 0-0.85 and value 0.08-0.95 (HSV)."""
    h = torch.rand(shape, generator=generator) * 6
    s = torch.rand(shape, generator=generator) * 0.85
    v = _uniform(generator, shape, 0.08, 0.95)
    k = (torch.tensor([5.0, 3.0, 1.0]) + h[..., None]) % 6            # the usual HSV -> RGB
    return v[..., None] * (1 - s[..., None] * (torch.minimum(k, 4 - k).clamp(0, 1)))


def sample_appearance(generator: torch.Generator, backgrounds: list[np.ndarray] | None = None,
                      n: int = 1) -> Appearance:
    """n random appearances (a batch). backgrounds: RGB uint8 photos (load_backgrounds);
    with some, 60 % of the samples use a window of one, the rest a procedural texture."""
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    photos = list(backgrounds or [])
    for i, p in enumerate(photos):
        if not (isinstance(p, np.ndarray) and p.dtype == np.uint8 and p.ndim == 3 and p.shape[2] == 3):
            raise ValueError(f"backgrounds[{i}] must be an RGB uint8 [H, W, 3] array")
    g = generator
    seed = torch.randint(0, 2**62, (n,), generator=g)
    build = torch.rand(n, generator=g)
    base = torch.tensor([p.radius_mm for p in PARTS], dtype=torch.float32)        # [K, 2]
    gain = torch.tensor([p.build_gain for p in PARTS], dtype=torch.float32)       # [K]
    widen = 1 + gain * ((build[:, None] - 0.5) * 2 * _BUILD_SPAN)                # [B, K]
    jitter = _uniform(g, (n, NUM_PARTS), 0.94, 1.06)
    names = [p.name for p in PARTS]
    for k, name in enumerate(names):  # the same jitter on both sides: a person is symmetric
        if name.endswith("_right"):
            jitter[:, k] = jitter[:, names.index(name[:-6] + "_left")]
    radii = base * (widen * jitter)[..., None]                                    # [B, K, 2]

    pattern = _choice(g, (n, 3), (0.45, 0.25, 0.12, 0.18))
    pattern[:, 2] = torch.where(torch.rand(n, generator=g) < 0.8, 0, pattern[:, 2])  # shoes: mostly plain
    angle = torch.where(torch.rand(n, 3, generator=g) < 0.6, 0.0,
                        torch.where(torch.rand(n, 3, generator=g) < 0.5, math.pi / 2,
                                    _uniform(g, (n, 3), 0, math.pi)))
    garment_colors = _random_colors(g, (n, 3, 2))
    dark = _random_colors(g, (n,)) * 0.35                                        # shoes are mostly dark
    garment_colors[:, 2, 0] = torch.where(torch.rand(n, 1, generator=g) < 0.7, dark, garment_colors[:, 2, 0])

    sleeve = torch.where(torch.rand(n, generator=g) < 0.45, 2.0, _uniform(g, (n,), 0.0, 1.3))
    leg = torch.where(torch.rand(n, generator=g) < 0.6, 2.0, _uniform(g, (n,), 0.4, 1.7))

    azimuth = _uniform(g, (n,), -2.1, 2.1)           # mostly from the camera's side
    elevation = _uniform(g, (n,), 0.25, 1.3)         # above the horizon
    light = torch.stack([torch.sin(azimuth) * torch.cos(elevation), -torch.sin(elevation),
                         -torch.cos(azimuth) * torch.cos(elevation)], -1)
    ambient = _uniform(g, (n,), 0.25, 0.6)

    if photos:
        use_photo = torch.rand(n, generator=g) < 0.6
        photo = torch.where(use_photo, torch.randint(0, len(photos), (n,), generator=g), -1)
    else:
        photo = torch.full((n,), -1, dtype=torch.long)
    procedural = 1 + torch.randint(0, len(BACKGROUNDS) - 1, (n,), generator=g)
    kind = torch.where(photo >= 0, 0, procedural)
    window = torch.cat([torch.rand(n, 2, generator=g), _uniform(g, (n, 1), 0.35, 1.0)], 1)

    count = _choice(g, (n,), (0.5, 0.3, 0.2))
    return Appearance(
        seed=seed, build=build, radii=radii, limb_scale=_uniform(g, (n,), *LIMB_SCALE),
        skin=_palette(g, (n,), _SKIN_TONES), hair=_palette(g, (n,), _HAIR_COLOURS),
        hair_top=torch.where(torch.rand(n, generator=g) < 0.1, 2.0, _uniform(g, (n,), 0.15, 0.6)),
        hair_back=_uniform(g, (n,), -0.35, 0.25),
        garment_colors=garment_colors, garment_pattern=pattern, garment_period=_uniform(g, (n, 3), 60.0, 260.0),
        garment_angle=angle, sleeve=sleeve, leg=leg, waist=_uniform(g, (n,), 0.15, 0.6),
        light=light, ambient=ambient, diffuse=_uniform(g, (n,), 0.45, 0.9) * (1.3 - ambient),
        background_kind=kind, background_colors=_random_colors(g, (n, 3)), background_photo=photo,
        background_window=window, background_flip=torch.rand(n, generator=g) < 0.5,
        background_period=_uniform(g, (n,), 0.04, 0.3), background_angle=_uniform(g, (n,), 0, math.pi),
        occluder_present=torch.arange(MAX_OCCLUDERS)[None] < count[:, None],
        occluder_ellipse=torch.rand(n, 2, generator=g) < 0.5,
        occluder_center=_uniform(g, (n, 2, 2), 0.1, 0.9), occluder_half=_uniform(g, (n, 2, 2), 0.06, 0.28),
        occluder_angle=_uniform(g, (n, 2), 0, math.pi), occluder_colors=_random_colors(g, (n, 2, 2)),
        occluder_pattern=_choice(g, (n, 2), (0.4, 0.25, 0.15, 0.2)),
        occluder_period=_uniform(g, (n, 2), 0.03, 0.2),
        blur=_uniform(g, (n,), *BLUR_SIGMA_PX), noise=_uniform(g, (n,), *NOISE_STD),
        tint=_uniform(g, (n, 3), 0.88, 1.12), photos=photos,
    )
