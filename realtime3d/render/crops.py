"""Person crops for training: a random scene with one to four people, cropped around the nearest.

Each crop is drawn directly at its resolution through the camera of its window of a
1280x720 frame (cameras.Camera.crop), so its labels are exact: the 3D is the same camera
frame as the full view's, the 2D and the focal are the crop's. The window is a square
around the person's projected mesh, CROP_MARGIN times its longer side (jittered), moved
by up to CROP_SHIFT of its side; other people may show in it, and a prop may hide part of
the person (a prop that leaves less than MIN_VISIBLE of it is taken away).

Bodies come from a pool of dressed bodies (shaping and dressing one costs about 0.2 s),
and one body of the pool is replaced every `refresh` crops, so a long run still sees new
people; a scene serves `refresh` crops in a row (while its clearing holds the new camera). Poses are frames of the motion capture a caller gives (render world, metres).

A holdout keeps appearances and scenes apart: "train" never shows the held-out scene kinds
(scenery.HELD_OUT_KINDS) nor tops of the held-out patterns (clothing.TOP_PATTERNS); "held-out"
shows only those; "all" draws from everything. A background crop (background_p of them) is a
window of the same size moved off every person: its person is False and its labels are empty.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .actors import Dressed, dressed_body
from .labels import label_frame, mask_box
from .raster import Rasterizer
from .scenery import holdout_kinds
from .staging import stage_clip

CROP_MARGIN = (1.15, 1.5)
CROP_SHIFT = 0.08
#: The least share of the target's silhouette that an occluder may leave visible.
MIN_VISIBLE = 0.4
FRAME_SIZE = (1280, 720)
#: Chances of one, two, three and four people in a scene.
PEOPLE_P = (0.55, 0.25, 0.12, 0.08)
#: A background crop's window moves this many of its sides (a range) off the target, and keeps at
#: most MAX_PERSON_SHARE of its pixels on people.
BACKGROUND_SHIFT = (1.0, 2.5)
MAX_PERSON_SHARE = 0.01


@dataclass
class CropBatch:
    """B crops of S x S pixels, each around its person (the "target"), with the target's labels.

    Attributes:
        images: [B, S, S, 3] uint8 RGB.
        joints2d: [B, 17, 2] float32 px in the crop.
        joints3d: [B, 17, 3] float32 mm, camera coordinates.
        visible: [B, 17] bool, inside the crop and not occluded.
        masks: [B, S, S] bool, the target's visible pixels.
        visible_fraction: [B] float32, the target's visible share of its silhouette in the crop.
        focal: [B] float32 px, the crop camera's focal; principal: [B, 2] px, its principal point.
        floor: [B, 4] float32, the floor in camera coordinates (cameras.Camera.floor_plane).
        boxes: [B, 4] float32 px, the crop's square in the 1280x720 frame.
        people: [B] int, people in the scene.
        person: [B] bool, False for a background crop (its joints2d are NaN, visible all False).
    """
    images: np.ndarray
    joints2d: np.ndarray
    joints3d: np.ndarray
    visible: np.ndarray
    masks: np.ndarray
    visible_fraction: np.ndarray
    focal: np.ndarray
    principal: np.ndarray
    floor: np.ndarray
    boxes: np.ndarray
    people: np.ndarray
    person: np.ndarray


class CropSampler:
    """Draws CropBatch es of random people in random scenes.

    Args:
        poses: [N, 17, 3] m, render world (Y up): the poses people take (actors.load_motion frames).
        size: crop side, px.
        seed: every random choice comes from it.
        pool: dressed bodies kept.
        refresh: one body of the pool is replaced after this many crops.
        backgrounds: photos the scenery may show.
        occluder_p: the chance that a prop stands between the camera and the people.
        rasterizer: reused if given (default: one without multisampling, which costs a crop
            about twice the time on llvmpipe).
        holdout: "all", "train" or "held-out" (the module docstring).
        background_p: the chance that a crop is a background crop.
    """

    def __init__(self, poses: np.ndarray, size: int = 128, seed: int = 0, pool: int = 16, refresh: int = 4,
                 backgrounds: list[np.ndarray] | None = None, occluder_p: float = 0.3,
                 rasterizer: Rasterizer | None = None, holdout: str = "all", background_p: float = 0.0):
        poses = np.asarray(poses, dtype=np.float64)
        if poses.ndim != 3 or poses.shape[1:] != (17, 3) or len(poses) == 0:
            raise ValueError(f"CropSampler: poses must be [N, 17, 3] m, got {list(poses.shape)}")
        self.poses, self.size, self.refresh = poses, int(size), max(1, int(refresh))
        self.rng = np.random.default_rng(seed)
        self.backgrounds, self.occluder_p = backgrounds, occluder_p
        self.scene_kinds = holdout_kinds(holdout)
        self.holdout, self.background_p = holdout, float(background_p)
        self.rasterizer = rasterizer or Rasterizer(samples=1)
        self.bodies: list[Dressed] = [dressed_body(self.rng, holdout=holdout) for _ in range(pool)]
        self.drawn = 0
        self.scene = None

    def _one(self):
        rng = self.rng
        if self.drawn and self.drawn % self.refresh == 0:
            self.bodies[int(rng.integers(len(self.bodies)))] = dressed_body(rng, holdout=self.holdout)
        self.drawn += 1
        count = int(rng.choice(len(PEOPLE_P), p=PEOPLE_P)) + 1
        motions = [self.poses[int(rng.integers(len(self.poses)))][None] for _ in range(count)]
        bodies = [self.bodies[int(i)] for i in rng.choice(len(self.bodies), count, replace=count > len(self.bodies))]
        stage = stage_clip(motions, rng, FRAME_SIZE, occluders=int(rng.random() < self.occluder_p),
                           backgrounds=self.backgrounds, bodies=bodies, scene=self.scene, scene_kinds=self.scene_kinds)
        # the same scenery for `refresh` crops, without this crop's occluders
        self.scene = None if self.drawn % self.refresh == 0 else dataclasses.replace(
            stage.scene, props=[m for m in stage.scene.props if all(m is not o for o in stage.occluders)])
        camera = stage.cameras[0]
        # the target: the person nearest the camera, whom nobody else hides
        depth = [camera.to_camera(a.posed.joints[0, 0])[2] for a in stage.actors]      # m, all in front
        actors = [stage.actors[k] for k in np.argsort(depth, kind="stable")]
        uv = camera.project(actors[0].posed.vertices[0])                # [V, 2] the target's mesh
        lo, hi = uv.min(0), uv.max(0)
        side = (hi - lo).max() * rng.uniform(*CROP_MARGIN)
        centre = (lo + hi) / 2 + rng.uniform(-CROP_SHIFT, CROP_SHIFT, 2) * side
        people = [a.mesh(0, k + 1) for k, a in enumerate(actors)]
        if self.background_p and rng.random() < self.background_p:
            for _ in range(4):        # a window off everyone; a crowded view gives a person crop instead
                angle = rng.uniform(0, 2 * np.pi)
                moved = centre + rng.uniform(*BACKGROUND_SHIFT) * side * np.array([np.cos(angle), np.sin(angle)])
                box = np.concatenate([moved - side / 2, moved + side / 2])
                crop = camera.crop(box, self.size)
                frame = self.rasterizer.render(crop, stage.scene, people)
                if (frame.labels > 0).mean() <= MAX_PERSON_SHARE:
                    return frame, None, crop, box, count
        box = np.array([centre[0] - side / 2, centre[1] - side / 2, centre[0] + side / 2, centre[1] + side / 2])
        crop = camera.crop(box, self.size)
        frame = self.rasterizer.render(crop, stage.scene, people)
        if len(people) == 1 and not stage.occluders:
            # nothing can stand in front (the scenery keeps clear): the visible pixels are the silhouette
            mask = frame.labels == 1
            pixels, boxes = np.array([mask.sum()]), mask_box(mask)[None]
        else:
            pixels, boxes = self.rasterizer.silhouettes(crop, people[:1])
        labels = label_frame(crop, frame, actors[0].posed.joints[:1], pixels, boxes)
        if labels.visible_fraction[0] < MIN_VISIBLE and stage.occluders:
            # a prop hides too much of the target: the same crop without it
            bare = dataclasses.replace(stage.scene, props=[m for m in stage.scene.props
                                                           if all(m is not o for o in stage.occluders)])
            frame = self.rasterizer.render(crop, bare, people)
            labels = label_frame(crop, frame, actors[0].posed.joints[:1], pixels, boxes)
        return frame, labels, crop, box, count

    def sample(self, count: int) -> CropBatch:
        """count crops."""
        rows = [self._one() for _ in range(count)]
        person = np.array([l is not None for _, l, *_ in rows])
        nan = np.full((17, 3), np.nan, np.float32)
        return CropBatch(
            images=np.stack([f.rgb for f, *_ in rows]),
            joints2d=np.stack([l.joints2d[0] if l is not None else nan[:, :2] for _, l, *_ in rows]),
            joints3d=np.stack([l.joints3d[0] if l is not None else nan for _, l, *_ in rows]),
            visible=np.stack([l.visible[0] if l is not None else np.zeros(17, bool) for _, l, *_ in rows]),
            masks=np.stack([(f.labels == 1) & (l is not None) for f, l, *_ in rows]),
            visible_fraction=np.array([l.visible_fraction[0] if l is not None else 0.0 for _, l, *_ in rows],
                                      dtype=np.float32),
            focal=np.array([c.focal for *_, c, _, _ in rows], dtype=np.float32),
            principal=np.stack([c.principal_point for *_, c, _, _ in rows]).astype(np.float32),
            floor=np.stack([c.floor_plane() for *_, c, _, _ in rows]).astype(np.float32),
            boxes=np.stack([b for *_, b, _ in rows]).astype(np.float32),
            people=np.array([n for *_, n in rows]), person=person)
