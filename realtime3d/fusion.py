"""A lifter's 3D and MediaPipe's own, fused: a model that reads each person's 2D and world landmarks.

Both answers explain the same 2D; their errors differ. The lifter (a 2D-only network) and
MediaPipe's world landmarks (world_model.WorldLandmarks: Google's GHUM-trained 3D, read at run
time as an input, never by any training here) are blended per joint about the pelvis:

    rel = (1 - w) * k * rel_lifter + w * rel_world        # [N, 17, 3] mm, camera axes
    k = size_world / size_lifter                          # the lifter's pose at MediaPipe's size

then placed where the blend projects onto the 2D (world_model.place_by_projection), as both
models place their own. w, the world share, is per joint: `world_share` where the two answers
agree, rising to 1 where they part (with `disagreement_mm` = tau set, w = 1 - (1 - world_share)
exp(-(d / tau)^2), d the joint's distance between the two answers about the pelvis): where a lifter
and an image model disagree by a limb's length, the lifter has most likely taken a limb's depth
the wrong way round, which the image model sees. A fusion model is a card (weights/NAME.json with
"kind": "fusion") that names its lifter and settings, and how they were chosen.
Where a person has no world landmarks (the skeleton net's detections, 2D files in `realtime3d
eval`), the lifter's answer stands alone.

    model = Fusion(Lifter.from_pretrained("cycle"), world_share=0.5)
    joints3d = model.lift(joints2d_px, (1280, 720), focal=1000.0, visibility=vis, world3d=world)
"""
from __future__ import annotations

import numpy as np

from .camera import default_focal
from .lifting import VISIBILITY_THRESHOLD, Lifter
from .skeleton import H36M17
from .world_model import place_by_projection

_PARENTS = np.array([p for p, _ in H36M17.bones])
_CHILDREN = np.array([c for _, c in H36M17.bones])


def bone_sum(rel: np.ndarray) -> np.ndarray:
    """[N] the sum of the 16 bone lengths of poses [N, 17, 3]."""
    return np.linalg.norm(rel[:, _CHILDREN] - rel[:, _PARENTS], axis=-1).sum(-1)


class Fusion:
    """A Lifter's answer blended with MediaPipe's world landmarks (see the module docstring).

    Args:
        lifter: the 2D-only network.
        world_share: w in [0, 1], MediaPipe's share of the blend.
        disagreement_mm: tau, mm: where the answers part by more, MediaPipe's share rises to 1
            (None: the one share everywhere).
        name: the model's name.
        card: its model card.
    """

    #: lift() reads each person's world3d where it has one
    reads_world3d = True

    def __init__(self, lifter: Lifter, world_share: float, disagreement_mm: float | None = None,
                 name: str = "fusion", card: dict | None = None):
        if not 0.0 <= world_share <= 1.0:
            raise ValueError(f"world_share must lie in [0, 1], got {world_share}")
        if disagreement_mm is not None and not disagreement_mm > 0:
            raise ValueError(f"disagreement_mm must be positive, got {disagreement_mm}")
        self.lifter, self.world_share = lifter, float(world_share)
        self.disagreement_mm = None if disagreement_mm is None else float(disagreement_mm)
        self.name, self.card = name, card or {}

    @classmethod
    def from_card(cls, name: str, card: dict) -> "Fusion":
        """The fusion model of a card: {"kind": "fusion", "lifter": a shipped lifter's name,
        "world_share": w, "disagreement_mm": tau or null, "flip_average": whether the lifter also
        lifts the mirror image}."""
        lifter = Lifter.from_pretrained(card["lifter"])
        lifter.flip_average = bool(card.get("flip_average", False))
        return cls(lifter, float(card["world_share"]), card.get("disagreement_mm"), name=name, card=card)

    @property
    def flip_average(self) -> bool:
        """Whether the lifter also lifts each pose mirrored (a test-time augmentation)."""
        return self.lifter.flip_average

    @flip_average.setter
    def flip_average(self, value: bool) -> None:
        self.lifter.flip_average = bool(value)

    @property
    def network(self):
        """The lifter's network (what the 2D alone goes through)."""
        return self.lifter.network

    def lift(self, keypoints_px, image_size: tuple[int, int], focal: float | None = None, visibility=None,
             threshold: float = VISIBILITY_THRESHOLD, world3d=None, batch_size: int = 4096) -> np.ndarray:
        """Lift [N, 17, 2] px (H36M17 order; NaN = missing) to [N, 17, 3] float32 mm, camera coordinates
        (one pose [17, 2]: [17, 3]).

        Args, as Lifter.lift, and world3d: [N, 17, 3] mm ([17, 3] for one pose), MediaPipe's world
        landmarks as the 17 joints (Detection.world3d), NaN rows where a person has none; None: the
        lifter alone.

        Returns:
            [N, 17, 3] float32 mm; NaN rows where the lifter has no answer.
        """
        if np.ndim(keypoints_px) == 2:                                            # one pose [17, 2]
            return self.lift(np.asarray(keypoints_px)[None], image_size, focal,
                             None if visibility is None else np.asarray(visibility)[None], threshold,
                             None if world3d is None else np.asarray(world3d)[None], batch_size)[0]
        lifted = self.lifter.lift(keypoints_px, image_size, focal, visibility, batch_size, threshold)
        return self.blend(lifted, keypoints_px, image_size, focal, visibility, threshold, world3d)

    @property
    def temporal(self) -> bool:
        """Whether the lifter reads whole tracks (lift_sequence)."""
        return self.lifter.temporal

    def lift_sequence(self, keypoints_px, image_size: tuple[int, int], focal: float | None = None, visibility=None,
                      threshold: float = VISIBILITY_THRESHOLD, world3d=None) -> np.ndarray:
        """One person's track [T, 17, 2] px -> [T, 17, 3] mm: the lifter's Lifter.lift_sequence, blended
        frame by frame with world3d [T, 17, 3] mm (NaN rows: none) as lift() blends."""
        lifted = self.lifter.lift_sequence(keypoints_px, image_size, focal, visibility, threshold)
        return self.blend(lifted, keypoints_px, image_size, focal, visibility, threshold, world3d)

    def blend(self, lifted: np.ndarray, keypoints_px, image_size: tuple[int, int], focal: float | None,
              visibility, threshold: float, world3d) -> np.ndarray:
        """The lifter's answer [N, 17, 3] mm blended with world3d [N, 17, 3] mm and placed on the 2D
        [N, 17, 2] px (the module docstring); rows without world landmarks stay the lifter's."""
        if world3d is None or (self.world_share == 0.0 and self.disagreement_mm is None) or lifted.ndim != 3:
            return lifted
        kp = np.asarray(keypoints_px, dtype=np.float64)
        world = np.asarray(world3d, dtype=np.float64)
        if world.shape != lifted.shape:
            raise ValueError(f"world3d must be {list(lifted.shape)}, got {list(world.shape)}")
        both = np.isfinite(lifted).all((1, 2)) & np.isfinite(world).all((1, 2))   # [N]
        if not both.any():
            return lifted
        root = H36M17.root
        rel_l = lifted[both].astype(np.float64) - lifted[both, root:root + 1]      # [M, 17, 3] mm
        rel_w = world[both] - world[both, root:root + 1]                          # [M, 17, 3] mm
        k = bone_sum(rel_w) / np.maximum(bone_sum(rel_l), 1e-6)                   # [M]
        rel_l = k[:, None, None] * rel_l                                          # at MediaPipe's size
        w = np.full(rel_l.shape[:2] + (1,), self.world_share)                    # [M, 17, 1]
        if self.disagreement_mm is not None:
            d = np.linalg.norm(rel_l - rel_w, axis=-1, keepdims=True)             # [M, 17, 1] mm
            w = 1.0 - (1.0 - w) * np.exp(-(d / self.disagreement_mm) ** 2)
        rel = (1.0 - w) * rel_l + w * rel_w                                       # [M, 17, 3] mm
        focal = float(focal) if focal is not None else default_focal(image_size)
        mask = np.isfinite(kp[both]).all(-1)
        if visibility is not None:
            mask &= np.asarray(visibility, dtype=np.float64)[both] >= threshold
        t = place_by_projection(rel, np.nan_to_num(kp[both]), mask, image_size, focal)   # [M, 3] mm
        placed = np.isfinite(t).all(-1) & (t[:, 2] > 0)
        out = lifted.copy()
        rows = np.nonzero(both)[0][placed]
        out[rows] = (rel[placed] + t[placed, None, :]).astype(np.float32)
        return out
