"""What a body wears: skin, hair or a cap, a top, a bottom and shoes, as a material per vertex.

Clothes are painted on the body's own surface (no cloth geometry): each vertex takes the
material of the garment that covers it. Where a garment ends is decided on the rest
pose, from the skinning weights and the rest skeleton:

- trunk vertices (their strongest bone is a trunk bone) above the waist wear the top,
  below it the bottom; the waist lies WAIST of the way from the pelvis to the thorax;
- arm vertices wear the top's sleeve up to `sleeve` of the way from shoulder to wrist
  (0: a vest, 1: long sleeves), leg vertices the bottom down to `leg` of the way from hip
  to ankle (shorts to trousers); hands are skin, feet wear shoes;
- head vertices above the hairline (or the cap's rim) and, for hair, behind the ears wear
  the hair or the cap.
Patterns (stripes, checks, denim...) are drawn by the rasterizer in rest-pose coordinates,
so they follow the body as it moves.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..skeleton import H36M17
from .body import BodyShape
from .meshes import Material

#: Materials' order in every outfit.
SKIN, HAIR, TOP, BOTTOM, SHOES = range(5)
#: Where the waist lies from the pelvis (0) to the thorax (1).
WAIST = 0.3

_TRUNK = {"Hips", "LHipJoint", "RHipJoint", "LowerBack", "Spine", "Spine1", "LeftShoulder", "RightShoulder", "Neck"}
_J = H36M17.index

# Skin tones from dark to light (sRGB-ish in [0, 1]), hair colours, garment palettes.
_SKIN = np.array([[0.24, 0.15, 0.10], [0.36, 0.23, 0.15], [0.50, 0.33, 0.22], [0.64, 0.45, 0.32],
                  [0.76, 0.57, 0.44], [0.85, 0.67, 0.55], [0.92, 0.76, 0.66]])
_HAIR = np.array([[0.03, 0.03, 0.03], [0.12, 0.08, 0.05], [0.28, 0.18, 0.10], [0.55, 0.42, 0.24],
                  [0.72, 0.60, 0.38], [0.45, 0.20, 0.10], [0.60, 0.60, 0.60]])
_TOPS = np.array([[0.9, 0.9, 0.9], [0.1, 0.1, 0.12], [0.7, 0.1, 0.1], [0.1, 0.25, 0.6], [0.2, 0.5, 0.25],
                  [0.9, 0.75, 0.2], [0.5, 0.5, 0.55], [0.85, 0.45, 0.6], [0.35, 0.2, 0.45], [0.95, 0.5, 0.15],
                  [0.3, 0.6, 0.75], [0.55, 0.4, 0.3]])
_BOTTOMS = np.array([[0.12, 0.2, 0.38], [0.25, 0.35, 0.55], [0.08, 0.08, 0.09], [0.35, 0.35, 0.37],
                     [0.6, 0.52, 0.38], [0.3, 0.25, 0.18], [0.75, 0.72, 0.65], [0.2, 0.28, 0.2]])
_SHOES = np.array([[0.92, 0.92, 0.92], [0.06, 0.06, 0.06], [0.3, 0.18, 0.1], [0.5, 0.5, 0.52],
                   [0.7, 0.15, 0.12]])


@dataclass(frozen=True)
class Outfit:
    """A person's appearance: materials [SKIN, HAIR, TOP, BOTTOM, SHOES] and where garments end.

    Attributes:
        materials: five meshes.Material, in the order SKIN, HAIR, TOP, BOTTOM, SHOES.
        sleeve: 0 (vest) .. 1 (long sleeves), of the way from shoulder to wrist.
        leg: 0.3 (shorts) .. 1 (trousers), of the way from hip to ankle.
        hair: 0 (bald) .. 1 (long); the HAIR material is a cap when cap is True.
        cap: a cap instead of hair.
    """
    materials: tuple[Material, ...]
    sleeve: float
    leg: float
    hair: float
    cap: bool


def _jitter(rng: np.random.Generator, colour: np.ndarray, amount: float = 0.06) -> tuple[float, float, float]:
    return tuple(float(c) for c in np.clip(colour * rng.uniform(1 - amount * 2, 1 + amount * 2)
                                           + rng.normal(0, amount / 2, 3), 0.0, 1.0))


def _garment(rng: np.random.Generator, palette: np.ndarray, patterns: tuple[str, ...], weights: tuple[float, ...],
             shininess: float = 0.1) -> Material:
    colour = _jitter(rng, palette[rng.integers(len(palette))])
    second = _jitter(rng, palette[rng.integers(len(palette))])
    pattern = str(rng.choice(patterns, p=np.asarray(weights) / np.sum(weights)))
    return Material(colour=colour, colour2=second, pattern=pattern, scale_m=float(rng.uniform(0.015, 0.08)),
                    shininess=float(rng.uniform(0.0, shininess)))


#: The top's patterns and their weights, by holdout: no training crop wears a held-out pattern
#: (render.crops.CropSampler's holdout "train"), every test crop does ("held-out").
TOP_PATTERNS = {"all": (("plain", "stripes", "checks", "knit", "noise"), (5, 2, 1, 1, 1)),
                "train": (("plain", "stripes", "noise"), (5, 2, 1)),
                "held-out": (("checks", "knit"), (1, 1))}


def sample_outfit(rng: np.random.Generator, holdout: str = "all") -> Outfit:
    """A random appearance: skin tone, hair or cap, a top and a bottom with patterns, shoes; the
    top's pattern from TOP_PATTERNS[holdout]."""
    if holdout not in TOP_PATTERNS:
        raise ValueError(f"holdout must be one of {', '.join(TOP_PATTERNS)}, got {holdout!r}")
    skin = Material(colour=_jitter(rng, _SKIN[rng.integers(len(_SKIN))], 0.04), pattern="plain",
                    shininess=float(rng.uniform(0.05, 0.2)))
    cap = rng.random() < 0.15
    hair = (_garment(rng, _TOPS, ("plain",), (1.0,)) if cap
            else Material(colour=_jitter(rng, _HAIR[rng.integers(len(_HAIR))], 0.04), pattern="noise",
                          colour2=_jitter(rng, _HAIR[rng.integers(len(_HAIR))], 0.04), scale_m=0.01,
                          shininess=0.2))
    top = _garment(rng, _TOPS, *TOP_PATTERNS[holdout])
    bottom = _garment(rng, _BOTTOMS, ("plain", "denim", "checks", "noise"), (4, 4, 0.5, 1))
    shoes = Material(colour=_jitter(rng, _SHOES[rng.integers(len(_SHOES))]), pattern="plain",
                     shininess=float(rng.uniform(0.1, 0.5)))
    sleeve = float(rng.choice([0.05, 0.3, 0.45, 1.0], p=[0.1, 0.35, 0.1, 0.45]))
    leg = float(rng.choice([0.35, 0.5, 0.8, 1.0], p=[0.15, 0.1, 0.05, 0.7]))
    return Outfit((skin, hair, top, bottom, shoes), sleeve=sleeve, leg=leg,
                  hair=0.0 if (not cap and rng.random() < 0.08) else float(rng.uniform(0.2, 1.0)), cap=bool(cap))


def _along(points: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """[V] where points ([V, 3]) lie along the polyline a -> b -> c, by length: 0 at a, 1 at c
    (beyond a, negative values are clipped to 0; beyond c, values pass 1). Each point goes to the
    segment nearer to it."""
    def on(p0: np.ndarray, p1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        d = p1 - p0
        t = np.clip((points - p0) @ d / (d @ d), 0.0, None)                      # [V] along the segment
        distance = np.linalg.norm(points - (p0 + np.minimum(t, 1.0)[:, None] * d), axis=1)
        return t, distance
    l1, l2 = np.linalg.norm(b - a), np.linalg.norm(c - b)
    t1, d1 = on(a, b)
    t2, d2 = on(b, c)
    first = (t1 <= 1.0) & ((d1 <= d2) | (t2 <= 0.0))
    return np.where(first, t1 * l1, l1 + t2 * l2) / (l1 + l2)


def dress(shape: BodyShape, outfit: Outfit) -> np.ndarray:
    """[V] int: the material of each vertex of the body (SKIN, HAIR, TOP, BOTTOM or SHOES)."""
    v = shape.vertices
    names = np.array(shape.bone_names)
    strongest = names[shape.bone_weights.argmax(1)]
    rest = shape.rest_joints
    out = np.full(len(v), SKIN, dtype=np.int32)

    up = rest[_J["thorax"]] - rest[_J["pelvis"]]
    height = (v - rest[_J["pelvis"]]) @ up / (up @ up)
    trunk = np.isin(strongest, list(_TRUNK))
    out[trunk & (height >= WAIST)] = TOP
    out[trunk & (height < WAIST)] = BOTTOM
    neck = trunk & (height > 1.0 + 0.15 * (1.0 - outfit.sleeve))   # a low neckline with short sleeves
    out[neck & (strongest == "Neck")] = SKIN

    for side in ("Left", "Right"):
        s = side.lower()
        arm = np.isin(strongest, [f"{side}Shoulder", f"{side}Arm", f"{side}ForeArm"])
        t = _along(v, rest[_J[f"{s}_shoulder"]], rest[_J[f"{s}_elbow"]], rest[_J[f"{s}_wrist"]])
        out[arm & ~trunk & (t <= outfit.sleeve * 0.97)] = TOP
        out[np.isin(strongest, [f"{side}Shoulder"]) & (t <= max(outfit.sleeve, 0.05))] = TOP
        leg = np.isin(strongest, [f"{side}UpLeg", f"{side}Leg", f"{'L' if side == 'Left' else 'R'}HipJoint"])
        t = _along(v, rest[_J[f"{s}_hip"]], rest[_J[f"{s}_knee"]], rest[_J[f"{s}_ankle"]])
        out[leg & (t <= outfit.leg)] = BOTTOM
        out[leg & (t > outfit.leg)] = SKIN
        out[np.isin(strongest, [f"{side}Foot", f"{side}ToeBase"])] = SHOES
        ankle_height = rest[_J[f"{s}_ankle"]][1]
        out[leg & (v[:, 1] < ankle_height + 0.03)] = SHOES

    head = strongest == "Head"
    skull = rest[_J["head"]]
    top_dir = rest[_J["head_top"]] - skull
    rel = v - skull
    h = rel @ top_dir / (top_dir @ top_dir)            # 0 at the skull's base, 1 at the head top (100 mm)
    back = rel[:, 2] < -0.01                            # behind the ears: the body faces +Z at rest
    if outfit.cap:
        covered = head & (h > 1.05)
    elif outfit.hair > 0:
        covered = head & ((h > 1.25 - 0.2 * outfit.hair) | (back & (h > 0.6 - 0.8 * outfit.hair)))
    else:
        covered = np.zeros(len(v), dtype=bool)
    out[covered] = HAIR
    return out
