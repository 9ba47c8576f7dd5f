"""Staging: where the people stand, where the camera is, what surrounds them, over a clip.

Cameras are like those of real footage: 0.5-2.5 m high, 2-12 m from the people, a
horizontal field of view of 40-90 degrees and a little roll (up to 4 degrees); the
distance is at least what keeps everyone in the picture. A moving camera travels 1-2 m
sideways over the clip at a constant speed while it keeps looking at the people's
smoothed centre. People stand apart: their pelvis paths keep MIN_GAP_M between them.
Occluders stand between the camera and the people; one that would cover more than
MAX_HIDDEN of someone's image box (in any HIDES_EVERY-th frame) is left out, so that props
hide parts of people, not whole people.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import uniform_filter1d

from ..camera import default_focal
from .actors import Actor, Dressed, make_actor, turn_and_place
from .cameras import Camera, look_at
from .meshes import Mesh
from .scenery import Scene, sample_occluders, sample_scene

#: The smallest distance between two people's pelvis paths, m.
MIN_GAP_M = 0.8
HEIGHT_M = (0.5, 2.5)
DISTANCE_M = (2.0, 12.0)
HFOV_DEG = (40.0, 90.0)
ROLL_DEG = 4.0
#: The largest share of a person's box that an occluder may cover (more and it is left out), checked
#: every HIDES_EVERY frames.
MAX_HIDDEN = 0.5
HIDES_EVERY = 5


def _box_of(points: np.ndarray) -> np.ndarray:
    return np.concatenate([points.min(0), points.max(0)])


def _hides(prop: list[Mesh], actors: list[Actor], cameras: list[Camera]) -> float:
    """The largest share of a person's image box that a prop's image box covers (the prop: its meshes),
    where the prop is nearer the camera, over every HIDES_EVERY-th frame: an upper bound of what it
    hides. A person's box is their skeleton's, grown by a tenth on each side."""
    worst = 0.0
    vertices = np.concatenate([m.vertices for m in prop])
    for t in range(0, len(cameras), HIDES_EVERY):
        camera = cameras[t]
        depth = camera.to_camera(vertices)[:, 2]
        if (depth <= 0.05).any():
            return 1.0                                   # around or behind the camera: not an occluder
        occluder = _box_of(camera.project(vertices))
        for a in actors:
            z = camera.to_camera(a.posed.joints[t, 0])[2]
            if depth.min() >= z:
                continue
            person = _box_of(camera.project(a.posed.joints[t]))
            grow = 0.1 * (person[2:] - person[:2])
            person = np.concatenate([person[:2] - grow, person[2:] + grow])
            lo, hi = np.maximum(occluder[:2], person[:2]), np.minimum(occluder[2:], person[2:])
            area = np.prod(np.clip(hi - lo, 0.0, None)) / max(np.prod(person[2:] - person[:2]), 1e-9)
            worst = max(worst, float(area))
    return worst


@dataclass
class Stage:
    """A staged clip: the actors, one camera per frame, the scenery (its props include the occluders)
    and the occluders alone."""
    actors: list[Actor]
    cameras: list[Camera]
    scene: Scene
    occluders: list[Mesh]

    @property
    def num_frames(self) -> int:
        return len(self.cameras)


def place_motions(motions: list[np.ndarray], rng: np.random.Generator, tries: int = 50) -> list[np.ndarray]:
    """Turn each motion ([F, 17, 3] m, render world, the same F) to a random heading and place the
    people side by side, MIN_GAP_M apart over the whole clip (as far as tries allow)."""
    best, best_gap = None, -np.inf
    for _ in range(tries):
        placed, x = [], 0.0
        for k, m in enumerate(motions):
            at = np.array([x, rng.uniform(-1.5, 1.5) if k else 0.0])
            placed.append(turn_and_place(m, rng.uniform(-np.pi, np.pi), at))
            x += rng.uniform(1.2, 2.5)
        gap = np.inf
        for a in range(len(placed)):
            for b in range(a):
                d = np.linalg.norm(placed[a][:, 0, [0, 2]] - placed[b][:, 0, [0, 2]], axis=1).min()
                gap = min(gap, d)
        if gap >= MIN_GAP_M:
            return placed
        if gap > best_gap:
            best, best_gap = placed, gap
    return best


def _cameras(actors: list[Actor], rng: np.random.Generator, image_size: tuple[int, int],
             moving: bool) -> list[Camera]:
    pelvis = np.stack([a.posed.joints[:, 0] for a in actors], axis=1)       # [F, P, 3] m
    f = pelvis.shape[0]
    centre = pelvis.mean(axis=1)                                           # [F, 3]
    smooth = uniform_filter1d(centre, size=min(f, 31), axis=0, mode="nearest")
    hfov = rng.uniform(*HFOV_DEG)
    focal = default_focal(image_size, hfov)
    w, h = image_size
    azimuth = rng.uniform(-np.pi, np.pi)
    view = np.array([np.sin(azimuth), 0.0, np.cos(azimuth)])              # from the people to the camera
    across = np.array([view[2], 0.0, -view[0]])
    # Keep everyone in the picture: the spread across the view, and a 2 m tall person top to bottom.
    spread = np.abs((pelvis - smooth[:, None]) @ across).max() + 0.6
    nearest = ((pelvis - smooth[:, None]) @ view).max()          # how far towards the camera anyone comes
    need = max(spread * focal / (0.45 * w), 1.1 * focal / (0.45 * h)) + max(nearest, 0.0)
    need = max(need, nearest + DISTANCE_M[0])
    distance = float(np.clip(max(need, rng.uniform(*DISTANCE_M) * rng.uniform(0.4, 1.0)), need, max(need, DISTANCE_M[1])))
    height = rng.uniform(*HEIGHT_M)
    roll = rng.uniform(-ROLL_DEG, ROLL_DEG)
    travel = rng.uniform(1.0, 2.0) * rng.choice([-1.0, 1.0]) if moving else 0.0
    start = smooth[0] + view * distance
    cameras = []
    for t in range(f):
        position = start + across * travel * (t / max(f - 1, 1) - 0.5)
        position = np.array([position[0], height, position[2]])
        target = np.array([smooth[t, 0] if moving else smooth[:, 0].mean(), 0.95,
                           smooth[t, 2] if moving else smooth[:, 2].mean()])
        cameras.append(Camera(look_at(position, target, roll), position, focal, image_size))
    return cameras


def stage_clip(motions: list[np.ndarray], rng: np.random.Generator, image_size: tuple[int, int] = (1280, 720),
               moving_camera: bool = False, occluders: int | None = None, names: list[str] | None = None,
               backgrounds: list[np.ndarray] | None = None, bodies: list[Dressed] | None = None,
               scene: Scene | None = None, scene_kinds: tuple[str, ...] | None = None) -> Stage:
    """Stage people performing motions ([F, 17, 3] m each, render world, the same F frames).

    Args:
        motions: one per person.
        rng: every random choice (bodies, clothes, places, camera, scenery) comes from it.
        image_size: (width, height) px.
        moving_camera: the camera travels sideways during the clip.
        occluders: how many props stand between the camera and the people (None: 0-2 at random).
        names: what each person performs, for the labels.
        backgrounds: photos [H, W, 3] uint8 the scenery may show behind everything.
        bodies: one dressed body per person (None: random ones).
        scene: scenery to stand in, if it keeps clear of everyone's path and the camera's (its
            free radius); None, or too small a clearing: a new random one.
        scene_kinds: the kinds a new scene may be (scenery.sample_scene's kinds; None: any).

    Returns:
        The stage.
    """
    placed = place_motions(motions, rng)
    actors = [make_actor(m, rng, name=(names[k] if names else ""), body=(bodies[k] if bodies else None))
              for k, m in enumerate(placed)]
    cameras = _cameras(actors, rng, image_size, moving_camera)
    # The scenery keeps clear of everyone's path and of the camera's.
    paths = np.concatenate([np.stack([c.position for c in cameras])] + [a.posed.joints[:, 0] for a in actors])
    free = float(np.linalg.norm(paths[:, [0, 2]], axis=1).max()) + 1.0
    if scene is None or scene.free_radius_m < free:
        scene = sample_scene(rng, backgrounds, free_radius_m=free, kinds=scene_kinds)
    centres = np.stack([a.posed.joints[:, 0].mean(axis=0) for a in actors])
    count = int(rng.integers(0, 3)) if occluders is None else occluders
    props = []
    for _ in range(count):
        occluder = sample_occluders(rng, cameras[len(cameras) // 2], centres, 1)   # its meshes (a car is three)
        if occluder and _hides(occluder, actors, cameras) <= MAX_HIDDEN:
            props += occluder
    return Stage(actors, cameras, dataclasses.replace(scene, props=list(scene.props) + props), props)
