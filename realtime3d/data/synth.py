"""Synthetic people: CMU mocap poses drawn as a shaded 3D body in person-centred crops.

Training data for an image -> skeleton-image network without labels (Sosa & Hogg's Phi):
the network sees these crops, and the 2D labels are returned for evaluation only. The
module knows cameras and skeletons, nothing of training.

The body is 23 capsules (a segment swept by a radius that tapers linearly from one end to
the other) built on the 17 joints of skeleton.H36M17: torso and flanks, hips, shoulders,
upper and lower limbs, hands a little beyond each wrist along the forearm, feet from each
ankle forward, a neck, a head between the head joint and the head top, and a nose (so the
face shows which way the head looks). Each pixel takes the nearest surface in depth over
the parts (a z-buffer): for a capsule whose axis projects to an image segment, a pixel at
image distance d from it, d_mm = d * z / f at the axis depth z, is covered when d_mm < r,
at depth z - sqrt(r^2 - d_mm^2); its normal is the in-plane offset (d_mm / r along the
image direction away from the axis) plus the out-of-plane height towards the camera. The
shade is Lambert (a light direction, ambient + diffuse strengths) times the part's colour:
skin, hair (the back and top of the head), or a garment (shirt, trousers, shoes) with a
texture in coordinates along the bone (mm) and around it (angle times radius), so stripes
follow the limbs. Background (a photo window or a procedural texture) behind, 0-2
occluders in front, then a colour tint, a Gaussian blur and pixel noise.

Conventions:
- joints are millimetres in mocap.load_split's world frame: camera-style axes, y down
  (gravity), so the world's up is -y;
- the person's forward is normalize(cross(left - right, up)), with left - right the sum of
  the hip and shoulder axes made horizontal: for a person facing a camera (left on +x,
  up -y) it is -z, towards the camera. On CMU walking clips it points along the walk
  (mean cosine 0.99 with the pelvis velocity) and the knees bend towards it; the feet and
  the face point that way;
- the camera orbits the pivot (the pelvis unless told): P = R (X - pivot) + t, with R =
  camera.rotation_from_angles(azimuth, elevation) (azimuth about the vertical axis; the
  elevation raises the camera so it looks down a little), t = distance * (cx, cy, 1); a
  proper rotation, so left and right are never mirrored. It projects with focal f into a
  virtual FRAME_SIZE frame, principal point at its centre;
- pixel centres are at integer coordinates, x right, y down (the kernels' convention), in
  the frame and in the crop. A crop box (x0, y0, x1, y1), x1 - x0 = y1 - y0 = side, is the
  square of frame coordinates it covers: crop pixel i has its centre at frame coordinate
  x0 + (i + 0.5) * side / size. The crop is rendered directly at that resolution (the
  focal scaled by size / side), which is the resampling done exactly.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..camera import default_focal, rotation_from_angles
from ..crops import CROP_MARGIN, SCALE_JITTER, SHIFT_JITTER, square_box
from ..skeleton import H36M17

#: The virtual frame the camera's focal length refers to (width, height), pixels.
FRAME_SIZE = (1280, 720)
AZIMUTH_DEG = (0.0, 360.0)
ELEVATION_DEG = (0.0, 20.0)
DISTANCE_MM = (3000.0, 6000.0)
HFOV_DEG = (50.0, 70.0)
#: The crop rule of realtime3d.crops: the side is the joints' bounding box's longer side times
#: MARGIN, jittered by +-MARGIN_JITTER (relative); its centre moves by up to +-SHIFT of the side.
MARGIN, MARGIN_JITTER, SHIFT = CROP_MARGIN, SCALE_JITTER, SHIFT_JITTER
#: Limb bones (thigh, shank, upper arm, forearm) are scaled by a factor in this range.
LIMB_SCALE = (0.9, 1.1)
BLUR_SIGMA_PX = (0.0, 1.2)
NOISE_STD = (0.0, 0.04)
MAX_OCCLUDERS = 2

_J = H36M17.index
_UP = (0.0, -1.0, 0.0)  # the world's up: y is down
_LIMB_CHILDREN = tuple(_J[n] for n in ("right_knee", "right_ankle", "left_knee", "left_ankle",
                                        "left_elbow", "left_wrist", "right_elbow", "right_wrist"))

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


@dataclass
class Camera(_Batch):
    """A batch of cameras and their crop jitter. Angles in radians, distances in mm."""

    azimuth: torch.Tensor    # [B] about the vertical axis through the pivot
    elevation: torch.Tensor  # [B] camera above, looking down
    distance: torch.Tensor   # [B] depth of the pivot
    focal: torch.Tensor      # [B] px of the FRAME_SIZE frame
    center: torch.Tensor     # [B, 2] the pivot's normalized image position (x/z, y/z)
    margin: torch.Tensor     # [B] crop side / the joints' box side
    shift: torch.Tensor      # [B, 2] crop centre offset, fractions of the side


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


def sample_camera(generator: torch.Generator, n: int = 1) -> Camera:
    """n random cameras: azimuth 0-360 deg, elevation 0-20 deg, distance 3-6 m, a horizontal
    field of view of 50-70 deg for the FRAME_SIZE frame, the pivot within the middle of the
    frame, and the crop's jitter."""
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    g = generator
    hfov = _uniform(g, (n,), *HFOV_DEG)
    focal = torch.tensor([default_focal(FRAME_SIZE, float(h)) for h in hfov], dtype=torch.float32)
    return Camera(
        azimuth=torch.deg2rad(_uniform(g, (n,), *AZIMUTH_DEG)),
        elevation=torch.deg2rad(_uniform(g, (n,), *ELEVATION_DEG)),
        distance=_uniform(g, (n,), *DISTANCE_MM), focal=focal,
        center=_uniform(g, (n, 2), -1, 1) * torch.tensor([0.3, 0.15]),
        margin=MARGIN * _uniform(g, (n,), 1 - MARGIN_JITTER, 1 + MARGIN_JITTER),
        shift=_uniform(g, (n, 2), -SHIFT, SHIFT),
    )


def _check(name: str, t, shape: tuple) -> None:
    """ValueError unless t is a floating tensor of shape (ints exact, None any)."""
    if not isinstance(t, torch.Tensor):
        raise ValueError(f"{name} must be a tensor, got {type(t).__name__}")
    if t.ndim != len(shape) or any(s is not None and s != d for s, d in zip(shape, t.shape)):
        want = ", ".join("*" if s is None else str(s) for s in shape)
        raise ValueError(f"{name} must have shape [{want}], got {list(t.shape)}")
    if not t.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got {t.dtype}")


def _as_joints(joints3d_mm, name: str = "joints3d_mm") -> torch.Tensor:
    if isinstance(joints3d_mm, np.ndarray):
        joints3d_mm = torch.from_numpy(joints3d_mm)
    _check(name, joints3d_mm, (None, H36M17.num_joints, 3))
    if joints3d_mm.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one pose")
    if not torch.isfinite(joints3d_mm).all():
        raise ValueError(f"{name} must be finite")
    return joints3d_mm.float()


def scale_limbs(joints3d_mm: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """[B, 17, 3] joints with the limb bones (thigh, shank, upper arm, forearm) scaled by
    scale [B], along the kinematic chain from the pelvis: every joint moves with its
    parent, so the skeleton stays connected and the 2D labels are its projection."""
    out = [joints3d_mm[:, 0]]
    s = scale.to(joints3d_mm)[:, None]
    for child, parent in enumerate(H36M17.parents):
        if parent < 0:
            continue
        bone = joints3d_mm[:, child] - joints3d_mm[:, parent]                  # [B, 3]
        out.append(out[parent] + (s * bone if child in _LIMB_CHILDREN else bone))
    return torch.stack(out, 1)


def _unit(v: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    return v / v.norm(dim=-1, keepdim=True).clamp(min=eps)


def _perpendicular(v: torch.Tensor, axis: torch.Tensor, fallback: torch.Tensor) -> torch.Tensor:
    """The unit part of v [..., 3] perpendicular to the unit axis; fallback's where v is
    (nearly) along the axis."""
    p = v - (v * axis).sum(-1, keepdim=True) * axis
    q = fallback - (fallback * axis).sum(-1, keepdim=True) * axis
    return _unit(torch.where(p.norm(dim=-1, keepdim=True) > 0.2, p, q))


def forward_direction(joints3d_mm: torch.Tensor) -> torch.Tensor:
    """[B, 17, 3] world joints -> [B, 3] the way the person faces, horizontal and unit:
    normalize(cross(left - right, up)) with left - right the hips' plus the shoulders' axis
    (see the module docstring for the check on CMU)."""
    j = joints3d_mm
    across = (j[:, _J["left_hip"]] - j[:, _J["right_hip"]]) + (j[:, _J["left_shoulder"]] - j[:, _J["right_shoulder"]])
    up = j.new_tensor(_UP).expand_as(across)
    return _unit(torch.linalg.cross(across, up))


def _segments(j: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """World joints [B, 17, 3] -> part axes (a [B, K, 3], b [B, K, 3]) and each part's
    texture reference direction [B, K, 3] (the person's forward made perpendicular to
    the axis), in PARTS order."""
    up = j.new_tensor(_UP).expand(j.shape[0], 3)
    fwd = forward_direction(j)                                                 # [B, 3]

    def p(name):
        return j[:, _J[name]]

    pelvis, spine, thorax, head, top = p("pelvis"), p("spine"), p("thorax"), p("head"), p("head_top")
    a, b = [], []

    def add(x, y):
        a.append(x)
        b.append(y)

    add(pelvis, spine)
    add(spine, thorax)
    for side in ("left", "right"):  # flanks: widen the torso from above the hip to below the shoulder
        hip, shoulder = p(f"{side}_hip"), p(f"{side}_shoulder")
        add(pelvis + 0.55 * (hip - pelvis) + 0.25 * (spine - pelvis),
            thorax + 0.50 * (shoulder - thorax) + 0.30 * (spine - thorax))
    for side in ("left", "right"):
        add(pelvis, p(f"{side}_hip"))
    for side in ("left", "right"):
        add(thorax, p(f"{side}_shoulder"))
    for lo, hi in (("hip", "knee"), ("knee", "ankle"), ("shoulder", "elbow"), ("elbow", "wrist")):
        for side in ("left", "right"):
            add(p(f"{side}_{lo}"), p(f"{side}_{hi}"))
    for side in ("left", "right"):  # hands: beyond the wrist along the forearm
        wrist = p(f"{side}_wrist")
        along = _unit(wrist - p(f"{side}_elbow"))
        add(wrist + 22 * along, wrist + 80 * along)
    for side in ("left", "right"):  # feet: perpendicular to the shank, towards the forward
        ankle = p(f"{side}_ankle")
        down = _unit(ankle - p(f"{side}_knee"))
        toes = _perpendicular(fwd, down, -up)
        add(ankle + 25 * down - 35 * toes, ankle + 35 * down + 140 * toes)
    head_up = _unit(top - head)
    face = _perpendicular(fwd, head_up, -up)
    add(thorax, head - 0.15 * (top - head))
    add(head + 0.05 * (top - head) + 15 * face, head + 0.42 * (top - head) + 5 * face)
    add(head + 0.05 * (top - head) + 98 * face, head + 0.05 * (top - head) + 98 * face)
    a, b = torch.stack(a, 1), torch.stack(b, 1)                                # [B, K, 3]
    ref = _perpendicular(fwd[:, None].expand_as(a), _unit(b - a), up[:, None].expand_as(a))
    ref[:, _HEAD_PART] = face
    return a, b, ref


def camera_rotation(camera: Camera) -> torch.Tensor:
    """[B, 3, 3] world -> camera rotations of a batch of cameras."""
    return rotation_from_angles(camera.azimuth, camera.elevation)


def to_camera(points: torch.Tensor, camera: Camera, pivot: torch.Tensor) -> torch.Tensor:
    """World points [B, N, 3] -> camera coordinates [B, N, 3]: R (X - pivot) + t, pivot [B, 3]."""
    r = camera_rotation(camera).to(points)                                     # [B, 3, 3]
    t = torch.cat([camera.center, torch.ones_like(camera.center[:, :1])], 1).to(points) \
        * camera.distance.to(points)[:, None]                                  # [B, 3]
    return (points - pivot[:, None]) @ r.transpose(1, 2) + t[:, None]


def _project(points: torch.Tensor, focal: torch.Tensor, principal: torch.Tensor) -> torch.Tensor:
    """Camera points [B, N, 3] -> pixels [B, N, 2] with focal [B] and principal point [B, 2]."""
    z = points[..., 2:].clamp(min=10.0)
    return points[..., :2] / z * focal[:, None, None] + principal[:, None]


def _body(joints_world: torch.Tensor, appearance: Appearance, camera: Camera, pivot: torch.Tensor | None):
    """The limb-scaled skeleton, the parts' axes and texture references, in camera coordinates."""
    joints = scale_limbs(joints_world, appearance.limb_scale)                  # [B, 17, 3]
    if pivot is None:
        pivot = joints[:, H36M17.root]
    a, b, ref = _segments(joints)                                              # [B, K, 3]
    r = camera_rotation(camera).to(joints)
    cam = to_camera(torch.cat([joints, a, b], 1), camera, pivot)               # [B, 17 + 2K, 3]
    j_cam, a_cam, b_cam = cam.split([H36M17.num_joints, NUM_PARTS, NUM_PARTS], 1)
    frame_centre = joints.new_tensor([FRAME_SIZE[0] / 2, FRAME_SIZE[1] / 2]).expand(len(joints), 2)
    return {"joints": j_cam, "a": a_cam, "b": b_cam, "ref": ref @ r.transpose(1, 2),
            "frame_centre": frame_centre}


def _body_box(body: dict, camera: Camera) -> torch.Tensor:
    """[B, 4] the square crop (x0, y0, x1, y1) in frame pixels: the crop rule of realtime3d.crops
    (the joints' bounding box, its longer side times the margin) with the camera's jitter
    (margin and shift), as the detector and the skeleton-image prior frame people."""
    px = _project(body["joints"], camera.focal.to(body["joints"]), body["frame_centre"])   # [B, 17, 2]
    box = square_box(px, 1.0)                                                  # [B, 3] cx, cy, joints' side
    side = box[:, 2] * camera.margin.to(px)                                    # [B]
    centre = box[:, :2] + camera.shift.to(px) * side[:, None]
    return torch.cat([centre - side[:, None] / 2, centre + side[:, None] / 2], 1)


# --- rasterization -----------------------------------------------------------------------

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


# --- textures ----------------------------------------------------------------------------

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


# --- shading -----------------------------------------------------------------------------

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


# --- the public renders ------------------------------------------------------------------

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
        _check("box", box, (bsz, 4))
        box = box.to(joints)
        if not torch.allclose(box[:, 2] - box[:, 0], box[:, 3] - box[:, 1], rtol=1e-4, atol=1e-3) \
                or not ((box[:, 2] - box[:, 0]) > 0).all():
            raise ValueError("box must hold square windows (x1 - x0 = y1 - y0 > 0)")
    if pivot is not None:
        _check("pivot", pivot, (bsz, 3))
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


def load_backgrounds(folder: str | Path, short_side: int = 256) -> list[np.ndarray]:
    """Every .jpg/.jpeg/.png under folder (recursively, sorted) as RGB uint8 [H, W, 3],
    resized so the short side is short_side (small photos are enlarged, large ones shrunk:
    crops are small). Files OpenCV cannot read are skipped with a warning."""
    import cv2
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"background folder {folder} does not exist")
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


def grid(images: torch.Tensor, joints2d: torch.Tensor | None = None, columns: int | None = None) -> np.ndarray:
    """Tile images [B, 3, H, W] (RGB 0..1) into one RGB uint8 picture, for looking at; with
    joints2d [B, 17, 2] (crop pixels), each image's skeleton drawn on it (left blue, right
    orange, as everywhere in realtime3d)."""
    _check("images", images, (None, 3, None, None))
    bsz, _, h, w = images.shape
    if joints2d is not None:
        _check("joints2d", joints2d, (bsz, H36M17.num_joints, 2))
    cols = columns or int(math.ceil(math.sqrt(bsz)))
    rows = int(math.ceil(bsz / cols))
    pics = (images.detach().float().clamp(0, 1).cpu().permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8)
    out = np.zeros((rows * h, cols * w, 3), np.uint8)
    for i, pic in enumerate(pics):
        if joints2d is not None:
            from ..viz.overlay import draw_skeleton_2d  # BGR drawing, so flip around it
            bgr = np.ascontiguousarray(pic[..., ::-1])
            draw_skeleton_2d(bgr, joints2d[i].detach().cpu().numpy())
            pic = bgr[..., ::-1]
        r, c = divmod(i, cols)
        out[r * h:(r + 1) * h, c * w:(c + 1) * w] = pic
    return out
