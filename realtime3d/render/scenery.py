"""Procedural scenery for the renderer: streets, parks, plazas, gyms, rooms and offices.

A scene is built around the world origin from a textured ground plane, walls and buildings (boxes
with brick, plaster or window faces), a few props (cars, benches, trees, pillars, tables, shelves),
a sky gradient or a backdrop photo, and one sun (sunny: hard shadows, strong contrast; overcast:
soft shadows, flat light; indoors: a high key light). Nothing is placed within the scene's
free_radius_m of the origin, where the caller puts people and cameras; sample_occluders then puts
objects between a camera and the people on purpose. Everything is drawn from the caller's
numpy Generator, so one seed gives one scene.
"""
from __future__ import annotations

import numpy as np

from ..errors import UserError
from .cameras import Camera
from .meshes import FREE_RADIUS_M, Backdrop, Ground, Light, Material, Mesh, Scene

#: The kinds of scene sample_scene draws, with their probabilities.
KINDS = {"street": 0.25, "park": 0.17, "plaza": 0.1, "gym": 0.16, "room": 0.16, "office": 0.16}
OUTDOOR = ("street", "park", "plaza")
#: Scene kinds that no training crop shows (render.crops.CropSampler's holdout "train"); test crops
#: show only these (holdout "held-out"): one outdoor kind and one indoor.
HELD_OUT_KINDS = ("plaza", "office")


def holdout_kinds(holdout: str) -> tuple[str, ...] | None:
    """The scene kinds of a holdout: "all" (None: every kind at its KINDS weight), "train" (the kinds
    not held out) or "held-out" (HELD_OUT_KINDS)."""
    if holdout == "all":
        return None
    if holdout == "train":
        return tuple(k for k in KINDS if k not in HELD_OUT_KINDS)
    if holdout == "held-out":
        return HELD_OUT_KINDS
    raise UserError(f"holdout must be 'all', 'train' or 'held-out', got {holdout!r}")

# the 24 corners of a unit box's 6 faces (+x, -x, +y, -y, +z, -z), counter-clockwise from outside
_FACE_AXES = [(0, 1), (0, -1), (1, 1), (1, -1), (2, 1), (2, -1)]


def _face_quad(axis: int, sign: int) -> np.ndarray:
    """[4, 3] corners in {0, 1}^3 of one face of the unit cube, counter-clockwise seen from outside."""
    u, v = [(1, 2), (2, 0), (0, 1)][axis]
    corners = []
    for a, b in ((0, 0), (1, 0), (1, 1), (0, 1)):
        c = [0, 0, 0]
        c[axis] = 1 if sign > 0 else 0
        c[u], c[v] = a, b
        corners.append(c)
    q = np.array(corners, dtype=np.float64)
    return q if sign > 0 else q[::-1]


_BOX_CORNERS = np.concatenate([_face_quad(a, s) for a, s in _FACE_AXES])              # [24, 3]
_BOX_NORMALS = np.repeat(np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]],
                                  dtype=np.float32), 4, axis=0)                        # [24, 3]
_BOX_FACES = np.concatenate([np.array([[0, 1, 2], [0, 2, 3]]) + 4 * k for k in range(6)]).astype(np.int32)


def box(size: tuple[float, float, float], centre: tuple[float, float, float], materials: list[Material],
        face_material: tuple[int, ...] = (0, 0, 0, 0, 0, 0), yaw_deg: float = 0.0,
        casts_shadow: bool = True) -> Mesh:
    """A box standing on its own axes, turned by yaw_deg about the vertical.

    Args:
        size: (x, y, z) m before the turn.
        centre: (x, y, z) m, world, of the box's bottom face (y: the height it stands on).
        materials: the box's materials.
        face_material: material index of the faces +x, -x, +y (top), -y, +z, -z.
        yaw_deg: turn about the vertical axis (positive from +z towards +x).
        casts_shadow: Mesh.casts_shadow.

    Returns:
        A Mesh of 24 vertices and 12 triangles whose pattern coordinates start at its corner, so
        patterns (bricks, windows, tiles) line up with its edges.
    """
    s = np.asarray(size, dtype=np.float64)
    local = _BOX_CORNERS * s - np.array([s[0] / 2, 0.0, s[2] / 2])
    a = np.radians(yaw_deg)
    rot = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    verts = local @ rot.T + np.asarray(centre, dtype=np.float64)
    return Mesh(verts.astype(np.float32), _BOX_FACES.copy(), np.repeat(np.asarray(face_material), 4),
                list(materials), pattern_coords=(_BOX_CORNERS * s).astype(np.float32),
                normals=(_BOX_NORMALS @ rot.T.astype(np.float32)), casts_shadow=casts_shadow, closed=True)


def prism(radius: float, height: float, centre: tuple[float, float, float], material: Material,
          sides: int = 12) -> Mesh:
    """An upright prism (a round pillar, a post, a trunk) standing at centre (its bottom, m)."""
    a = np.linspace(0, 2 * np.pi, sides, endpoint=False)
    ring = np.stack([np.sin(a), np.zeros(sides), np.cos(a)], axis=1) * radius
    bottom, top = ring + centre, ring + centre + np.array([0.0, height, 0.0])
    side_v = np.concatenate([bottom, top])                                   # [2S, 3]
    k = np.arange(sides)
    n = (k + 1) % sides
    side_f = np.concatenate([np.stack([k, n, sides + n], 1), np.stack([k, sides + n, sides + k], 1)])
    cap_c = np.asarray(centre, dtype=np.float64) + np.array([0.0, height, 0.0])
    verts = np.concatenate([side_v, top, cap_c[None]])
    cap_f = np.stack([2 * sides + k, 2 * sides + n, np.full(sides, 3 * sides)], 1)
    faces = np.concatenate([side_f, cap_f]).astype(np.int32)
    # pattern coordinates unrolled around the prism: (arc length, height, 0)
    arc = np.concatenate([a, a, a, [0.0]]) * radius
    pco = np.stack([arc, verts[:, 1] - centre[1], np.zeros(len(verts))], 1)
    return Mesh(verts.astype(np.float32), faces, np.zeros(len(verts), np.int64), [material],
                pattern_coords=pco.astype(np.float32), closed=True)   # its open bottom stands on the floor


def blob(radius: tuple[float, float, float], centre: tuple[float, float, float], material: Material,
         rng: np.random.Generator, roughness: float = 0.15) -> Mesh:
    """A lumpy ellipsoid (a tree crown, a bush, a rock) of 80 triangles."""
    t = (1 + 5 ** 0.5) / 2
    v = np.array([[-1, t, 0], [1, t, 0], [-1, -t, 0], [1, -t, 0], [0, -1, t], [0, 1, t], [0, -1, -t],
                  [0, 1, -t], [t, 0, -1], [t, 0, 1], [-t, 0, -1], [-t, 0, 1]], dtype=np.float64)
    f = np.array([[0, 11, 5], [0, 5, 1], [0, 1, 7], [0, 7, 10], [0, 10, 11], [1, 5, 9], [5, 11, 4],
                  [11, 10, 2], [10, 7, 6], [7, 1, 8], [3, 9, 4], [3, 4, 2], [3, 2, 6], [3, 6, 8],
                  [3, 8, 9], [4, 9, 5], [2, 4, 11], [6, 2, 10], [8, 6, 7], [9, 8, 1]])
    edges = {}
    verts = list(v / np.linalg.norm(v, axis=1, keepdims=True))
    faces = []
    for a, b, c in f:
        mids = []
        for p, q in ((a, b), (b, c), (c, a)):
            key = (min(p, q), max(p, q))
            if key not in edges:
                m = verts[p] + verts[q]
                edges[key] = len(verts)
                verts.append(m / np.linalg.norm(m))
            mids.append(edges[key])
        ab, bc, ca = mids
        faces += [[a, ab, ca], [b, bc, ab], [c, ca, bc], [ab, bc, ca]]
    unit = np.array(verts)
    unit *= 1.0 + roughness * rng.uniform(-1, 1, size=(len(unit), 1))
    verts = unit * np.asarray(radius) + np.asarray(centre)
    return Mesh(verts.astype(np.float32), np.array(faces, np.int32), np.zeros(len(verts), np.int64),
                [material], pattern_coords=(unit * np.asarray(radius)).astype(np.float32), closed=True)


# ---------------------------------------------------------------------------------------------
# materials

def _jitter(rng: np.random.Generator, colour, amount: float = 0.1) -> tuple[float, float, float]:
    c = np.asarray(colour, dtype=np.float64) * (1.0 + amount * rng.uniform(-1, 1, 3))
    return tuple(float(x) for x in np.clip(c, 0.0, 1.0))


def _pick(rng: np.random.Generator, options: list):
    return options[int(rng.integers(len(options)))]


def _ground_material(rng: np.random.Generator, kind: str) -> Material:
    j = lambda c, a=0.12: _jitter(rng, c, a)   # noqa: E731
    options = {
        "street": [Material(j((0.12, 0.12, 0.12)), j((0.3, 0.3, 0.3)), "asphalt", float(rng.uniform(0.5, 2.0))),
                   Material(j((0.3, 0.28, 0.26)), j((0.15, 0.15, 0.15)), "tiles", float(rng.uniform(0.3, 0.6)))],
        "park": [Material(j((0.12, 0.22, 0.06)), j((0.2, 0.25, 0.08)), "grass", float(rng.uniform(1.0, 3.0))),
                 Material(j((0.3, 0.25, 0.18)), j((0.22, 0.18, 0.13)), "noise", float(rng.uniform(0.2, 1.0)))],
        "plaza": [Material(j((0.35, 0.33, 0.3)), j((0.2, 0.19, 0.18)), "tiles", float(rng.uniform(0.4, 1.2))),
                  Material(j((0.4, 0.28, 0.22)), j((0.25, 0.22, 0.2)), "bricks", float(rng.uniform(0.2, 0.3)))],
        "gym": [Material(j((0.45, 0.28, 0.13)), j((0.3, 0.17, 0.08)), "wood", float(rng.uniform(0.08, 0.15)), 0.4),
                Material(j((0.08, 0.08, 0.09)), j((0.15, 0.15, 0.16)), "noise", 0.05),
                Material(j((0.25, 0.35, 0.45)), j((0.2, 0.28, 0.38)), "noise", 0.5, 0.2)],
        "room": [Material(j((0.4, 0.25, 0.13)), j((0.25, 0.15, 0.08)), "wood", float(rng.uniform(0.1, 0.2)), 0.3),
                 Material(j((0.3, 0.28, 0.3)), j((0.2, 0.18, 0.2)), "noise", 0.03),
                 Material(j((0.5, 0.48, 0.45)), j((0.3, 0.3, 0.3)), "tiles", float(rng.uniform(0.3, 0.6)), 0.3)],
        "office": [Material(j((0.18, 0.2, 0.24)), j((0.12, 0.13, 0.16)), "noise", 0.03),
                   Material(j((0.45, 0.45, 0.43)), j((0.3, 0.3, 0.3)), "tiles", 0.6, 0.2),
                   Material(j((0.35, 0.22, 0.12)), j((0.22, 0.14, 0.07)), "wood", 0.12, 0.2)],
    }[kind]
    return _pick(rng, options)


_FACADES = [(0.55, 0.5, 0.45), (0.6, 0.58, 0.52), (0.45, 0.3, 0.22), (0.5, 0.45, 0.38), (0.35, 0.38, 0.42),
            (0.62, 0.55, 0.4), (0.4, 0.42, 0.38), (0.6, 0.4, 0.32)]
_PAINTS = [(0.6, 0.6, 0.58), (0.55, 0.52, 0.45), (0.5, 0.55, 0.6), (0.6, 0.55, 0.45), (0.45, 0.5, 0.42),
           (0.62, 0.6, 0.6), (0.55, 0.45, 0.4), (0.35, 0.4, 0.5)]
_CAR_PAINTS = [(0.5, 0.02, 0.02), (0.02, 0.05, 0.25), (0.6, 0.6, 0.62), (0.05, 0.05, 0.05), (0.75, 0.75, 0.75),
               (0.1, 0.2, 0.1), (0.5, 0.35, 0.05), (0.3, 0.32, 0.35)]


def _facade(rng: np.random.Generator, bay_m: float) -> Material:
    glass = _jitter(rng, (0.05, 0.07, 0.1), 0.3)
    wall = _jitter(rng, _pick(rng, _FACADES), 0.1)
    return Material(wall, glass, "windows", bay_m, 0.1)


def _wall_material(rng: np.random.Generator, indoor: bool) -> Material:
    j = lambda c: _jitter(rng, c, 0.1)   # noqa: E731
    options = [Material(j(_pick(rng, _PAINTS)), j((0.4, 0.4, 0.38)), "noise", float(rng.uniform(0.3, 1.5)))]
    if indoor:
        options += [Material(j(_pick(rng, _PAINTS)), j((0.75, 0.75, 0.72)), "stripes",
                             float(rng.uniform(1.0, 3.0)), direction=(0.0, 1.0, 0.0)),
                    Material(j((0.6, 0.58, 0.55)), j((0.3, 0.3, 0.3)), "tiles", float(rng.uniform(0.2, 0.5)), 0.2)]
    options += [Material(j((0.42, 0.2, 0.13)), j((0.5, 0.47, 0.42)), "bricks", float(rng.uniform(0.21, 0.26))),
                Material(j((0.5, 0.5, 0.5)), j((0.35, 0.35, 0.35)), "tiles", float(rng.uniform(0.4, 1.0)))]
    return _pick(rng, options)


def _prop_material(rng: np.random.Generator) -> Material:
    j = lambda c: _jitter(rng, c, 0.15)   # noqa: E731
    return _pick(rng, [
        Material(j((0.4, 0.25, 0.12)), j((0.25, 0.15, 0.07)), "wood", 0.12, 0.2),
        Material(j(_pick(rng, _PAINTS)), j((0.3, 0.3, 0.3)), "noise", 0.3),
        Material(j((0.35, 0.36, 0.38)), j((0.2, 0.2, 0.22)), "noise", 0.2, 0.6),
        Material(j((0.45, 0.22, 0.14)), j((0.5, 0.47, 0.42)), "bricks", 0.23),
        Material(j(_pick(rng, _CAR_PAINTS)), (0.0, 0.0, 0.0), "plain", 0.1, 0.5),
        Material(j((0.45, 0.44, 0.42)), j((0.3, 0.3, 0.3)), "tiles", 0.5),
    ])


# ---------------------------------------------------------------------------------------------
# objects

def _car(rng: np.random.Generator, yaw_deg: float) -> list[Mesh]:
    """A parked-car-like block about the origin: wheels, a body and a glass cabin, its length along yaw_deg."""
    paint = Material(_jitter(rng, _pick(rng, _CAR_PAINTS), 0.15), (0.0, 0.0, 0.0), "plain", 0.1,
                     float(rng.uniform(0.4, 0.8)))
    glass = Material((0.03, 0.04, 0.05), (0.0, 0.0, 0.0), "plain", 0.1, 0.9)
    length, width = float(rng.uniform(3.8, 4.8)), float(rng.uniform(1.7, 1.9))
    a = np.radians(yaw_deg)
    fwd = np.array([np.sin(a), 0.0, np.cos(a)])
    c = np.zeros(3)
    body = box((width, float(rng.uniform(0.75, 0.9)), length), tuple(c + [0, 0.25, 0]), [paint], yaw_deg=yaw_deg)
    wheels = box((width * 0.9, 0.25, length * 0.8), tuple(c), [Material((0.03, 0.03, 0.03))], yaw_deg=yaw_deg)
    cabin_h = float(body.vertices[:, 1].max())
    cabin = box((width * 0.88, float(rng.uniform(0.45, 0.6)), length * 0.5),
                tuple(c + fwd * float(rng.uniform(-0.5, 0.1)) + [0, cabin_h, 0]), [glass, paint],
                face_material=(0, 0, 1, 1, 0, 0), yaw_deg=yaw_deg)
    return [wheels, body, cabin]


def _tree(rng: np.random.Generator) -> list[Mesh]:
    """A trunk and a lumpy crown standing at the origin."""
    bark = Material(_jitter(rng, (0.2, 0.14, 0.09), 0.2), (0.1, 0.08, 0.06), "noise", 0.1)
    leaves = Material(_jitter(rng, (0.08, 0.18, 0.05), 0.3), _jitter(rng, (0.15, 0.25, 0.05), 0.3), "noise", 0.3)
    trunk_h = float(rng.uniform(1.8, 3.5))
    r = float(rng.uniform(1.2, 2.8))
    c = np.zeros(3)
    return [prism(float(rng.uniform(0.12, 0.25)), trunk_h + r * 0.5, tuple(c), bark, sides=8),
            blob((r, r * float(rng.uniform(0.8, 1.3)), r), tuple(c + [0, trunk_h + r * 0.8, 0]), leaves, rng)]


def _bench(rng: np.random.Generator, yaw_deg: float) -> list[Mesh]:
    """A bench about the origin, its seat's back towards yaw_deg."""
    wood = Material(_jitter(rng, (0.4, 0.25, 0.12), 0.2), (0.25, 0.15, 0.07), "wood", 0.1, 0.2)
    metal = Material((0.08, 0.08, 0.09), (0, 0, 0), "plain", 0.1, 0.5)
    a = np.radians(yaw_deg)
    side = np.array([np.cos(a), 0.0, -np.sin(a)])
    back = np.array([np.sin(a), 0.0, np.cos(a)])
    c = np.zeros(3)
    length = float(rng.uniform(1.5, 2.2))
    out = [box((length, 0.06, 0.45), tuple(c + [0, 0.42, 0]), [wood], yaw_deg=yaw_deg),
           box((length, 0.4, 0.05), tuple(c + back * 0.22 + [0, 0.5, 0]), [wood], yaw_deg=yaw_deg)]
    for s in (-1, 1):
        out.append(box((0.06, 0.42, 0.45), tuple(c + side * s * (length / 2 - 0.1)), [metal], yaw_deg=yaw_deg))
    return out


def _table(rng: np.random.Generator, yaw_deg: float) -> list[Mesh]:
    """A table about the origin: a top on four legs."""
    top = _prop_material(rng)
    leg = Material((0.1, 0.1, 0.1), (0, 0, 0), "plain", 0.1, 0.4)
    w, d, h = float(rng.uniform(1.0, 2.0)), float(rng.uniform(0.6, 1.0)), float(rng.uniform(0.72, 0.78))
    a = np.radians(yaw_deg)
    ex = np.array([np.cos(a), 0.0, -np.sin(a)])
    ez = np.array([np.sin(a), 0.0, np.cos(a)])
    c = np.zeros(3)
    out = [box((w, 0.04, d), tuple(c + [0, h - 0.04, 0]), [top], yaw_deg=yaw_deg)]
    for sx in (-1, 1):
        for sz in (-1, 1):
            p = c + ex * sx * (w / 2 - 0.05) + ez * sz * (d / 2 - 0.05)
            out.append(box((0.05, h - 0.04, 0.05), tuple(p), [leg], yaw_deg=yaw_deg))
    return out


def _building(rng: np.random.Generator, size, yaw_deg: float) -> Mesh:
    """A block about the origin with window facades and a flat roof; its size is rounded to whole bays."""
    bay = float(rng.uniform(2.8, 4.0))
    w, h, d = (max(1, round(s / bay)) * bay for s in size)
    roof = Material(_jitter(rng, (0.25, 0.25, 0.25), 0.2), (0.15, 0.15, 0.15), "noise", 1.0)
    face = _facade(rng, bay) if rng.random() < 0.8 else _wall_material(rng, indoor=False)
    return box((w, h, d), (0.0, 0.0, 0.0), [face, roof], face_material=(0, 0, 1, 1, 0, 0), yaw_deg=yaw_deg)


def _moved(meshes: list[Mesh], offset) -> list[Mesh]:
    """The meshes moved by offset ([3] m; their patterns move with them)."""
    for m in meshes:
        m.vertices = (m.vertices + np.asarray(offset, dtype=np.float32)).astype(np.float32)
    return meshes


def _reach(meshes: list[Mesh]) -> float:
    """m, how far the meshes reach horizontally from the vertical axis through the origin."""
    return float(max(np.hypot(m.vertices[:, 0], m.vertices[:, 2]).max() for m in meshes))


def _around(rng: np.random.Generator, meshes: list[Mesh], r_lo: float, r_hi: float) -> list[Mesh]:
    """Meshes built about the origin, moved to a random bearing so that all of them stay between
    r_lo and r_hi + their reach from the origin (nothing nearer than r_lo)."""
    reach = _reach(meshes)
    a = rng.uniform(0, 2 * np.pi)
    r = rng.uniform(r_lo + reach, max(r_hi, r_lo) + reach)
    return _moved(meshes, (r * np.sin(a), 0.0, r * np.cos(a)))


# ---------------------------------------------------------------------------------------------
# layouts (objects are built about the origin, then moved out of the free area)

def _street(rng, free: float) -> list[Mesh]:
    props = []
    yaw = float(rng.uniform(0, 180))
    a = np.radians(yaw)
    along = np.array([np.sin(a), 0.0, np.cos(a)])     # the street's direction
    across = np.array([np.cos(a), 0.0, -np.sin(a)])
    half_width = free + float(rng.uniform(2.5, 7.0))  # parked cars (1 m from the axis of their row) stay out
    kerb = Material(_jitter(rng, (0.4, 0.39, 0.37), 0.1), (0.25, 0.25, 0.25), "tiles", float(rng.uniform(0.3, 0.6)))
    post = Material((0.1, 0.1, 0.1), (0, 0, 0), "plain", 0.1, 0.4)
    for side in (-1, 1):
        if rng.random() < 0.15:
            continue                                   # an open side: the backdrop shows
        walk = float(rng.uniform(2.5, 4.5))
        props.append(box((walk, 0.12, 140.0), tuple(across * side * (half_width + walk / 2 - 0.5)), [kerb],
                         yaw_deg=yaw))
        s = -70.0
        while s < 70.0:
            width = float(rng.uniform(8, 25))
            depth = float(rng.uniform(8, 16))
            block = _building(rng, (width, float(rng.uniform(6, 35)), depth), yaw + 90.0)
            # its width lies along the street, its depth across; both rounded to whole bays
            width, depth = float(block.pattern_coords[:, 0].max()), float(block.pattern_coords[:, 2].max())
            props += _moved([block], along * (s + width / 2) + across * side * (half_width + walk + depth / 2))
            s += width + float(rng.uniform(0.0, 4.0))
        for _ in range(int(rng.integers(0, 5))):
            car = _car(rng, yaw + (0.0 if rng.random() < 0.5 else 180.0))
            props += _moved(car, along * rng.uniform(-25, 25) + across * side * (half_width - 1.2))
        for _ in range(int(rng.integers(0, 4))):
            lamp = [prism(0.07, float(rng.uniform(4, 7)), (0.0, 0.0, 0.0), post, sides=6)]
            props += _moved(lamp, along * rng.uniform(-30, 30) + across * side * (half_width + 0.3))
    return props


def _park(rng, free: float) -> list[Mesh]:
    props = []
    for _ in range(int(rng.integers(4, 14))):
        props += _around(rng, _tree(rng), free + 1, free + 30)
    for _ in range(int(rng.integers(10, 30))):                   # a tree line in the distance
        props += _around(rng, _tree(rng), 45, 80)
    for _ in range(int(rng.integers(0, 4))):
        props += _around(rng, _bench(rng, float(rng.uniform(0, 360))), free + 0.5, free + 10)
    for _ in range(int(rng.integers(0, 3))):
        hedge = Material(_jitter(rng, (0.06, 0.15, 0.04), 0.3), (0.12, 0.22, 0.05), "noise", 0.15)
        wall = _wall_material(rng, indoor=False)
        size = (float(rng.uniform(3, 12)), float(rng.uniform(0.6, 1.5)), float(rng.uniform(0.4, 1.0)))
        block = box(size, (0.0, 0.0, 0.0), [hedge if rng.random() < 0.5 else wall], yaw_deg=float(rng.uniform(0, 180)))
        props += _around(rng, [block], free + 1, free + 20)
    if rng.random() < 0.5:                                        # buildings beyond the park
        for _ in range(int(rng.integers(2, 7))):
            size = (rng.uniform(10, 30), rng.uniform(8, 40), rng.uniform(10, 20))
            props += _around(rng, [_building(rng, size, float(rng.uniform(0, 90)))], 50, 90)
    return props


def _plaza(rng, free: float) -> list[Mesh]:
    props = []
    for _ in range(int(rng.integers(4, 10))):
        size = (rng.uniform(12, 35), rng.uniform(8, 30), rng.uniform(10, 20))
        props += _around(rng, [_building(rng, size, float(rng.uniform(0, 90)))], free + 8, free + 40)
    stone = Material(_jitter(rng, (0.5, 0.48, 0.44), 0.1), (0.35, 0.34, 0.32), "noise", 0.4)
    for _ in range(int(rng.integers(0, 8))):
        if rng.random() < 0.5:
            thing = prism(float(rng.uniform(0.2, 0.5)), float(rng.uniform(3, 6)), (0.0, 0.0, 0.0), stone)
        else:
            thing = box((rng.uniform(1, 3), rng.uniform(0.4, 0.9), rng.uniform(1, 3)), (0.0, 0.0, 0.0), [stone],
                        yaw_deg=float(rng.uniform(0, 90)))
        props += _around(rng, [thing], free + 1, free + 12)
    for _ in range(int(rng.integers(0, 3))):
        props += _around(rng, _bench(rng, float(rng.uniform(0, 360))), free + 0.5, free + 8)
    for _ in range(int(rng.integers(0, 5))):
        props += _around(rng, _tree(rng), free + 1, free + 15)
    return props


def _hall(rng, free: float, kind: str) -> list[Mesh]:
    """A room, an office or a gym: four walls around the free area, a ceiling and furniture."""
    props = []
    hx, hz = free + float(rng.uniform(1.0, 6.0)), free + float(rng.uniform(1.0, 6.0))
    height = float({"gym": rng.uniform(6, 10), "room": rng.uniform(2.6, 3.4), "office": rng.uniform(2.7, 3.6)}[kind])
    yaw = float(rng.uniform(0, 90))
    a = np.radians(yaw)
    ex, ez = np.array([np.cos(a), 0.0, -np.sin(a)]), np.array([np.sin(a), 0.0, np.cos(a)])
    wall = _wall_material(rng, indoor=True)
    t = 0.3
    for sign in (-1, 1):
        props.append(box((2 * hx + 2 * t, height, t), tuple(ez * sign * (hz + t / 2)), [wall], yaw_deg=yaw))
        props.append(box((t, height, 2 * hz), tuple(ex * sign * (hx + t / 2)), [wall], yaw_deg=yaw))
    ceiling = Material(_jitter(rng, (0.7, 0.7, 0.68), 0.05), (0.45, 0.45, 0.45), "tiles",
                       float(rng.uniform(0.6, 1.2)))
    props.append(box((2 * hx + 2 * t, t, 2 * hz + 2 * t), (0.0, height, 0.0), [ceiling], yaw_deg=yaw,
                     casts_shadow=False))
    # windows and doors: thin panels on the walls
    glass = Material((0.7, 0.75, 0.8), (0.3, 0.32, 0.35), "windows", float(rng.uniform(1.0, 1.6)), 0.8)
    door = Material(_jitter(rng, (0.35, 0.22, 0.12), 0.2), (0.2, 0.12, 0.06), "wood", 0.15, 0.2)
    for _ in range(int(rng.integers(1, 6))):
        sign, along_x = (1 if rng.random() < 0.5 else -1), rng.random() < 0.5
        is_door = rng.random() < 0.4
        w = float(rng.uniform(0.9, 1.1)) if is_door else float(rng.uniform(1.5, 4.0))
        h = 2.1 if is_door else float(min(rng.uniform(1.2, 2.0), height - 1.2))
        y0 = 0.0 if is_door else float(rng.uniform(0.8, max(0.8, height - h - 0.3)))
        if along_x:
            c = ex * rng.uniform(-hx + w, hx - w) + ez * sign * (hz - 0.02)
            size = (w, h, 0.06)
        else:
            c = ez * rng.uniform(-hz + w, hz - w) + ex * sign * (hx - 0.02)
            size = (0.06, h, w)
        props.append(box(size, tuple(c + [0, y0, 0]), [door if is_door else glass], yaw_deg=yaw))

    def put(meshes: list[Mesh]) -> list[Mesh]:
        """Meshes built about the origin, moved inside the hall and out of the free area (or dropped)."""
        reach = _reach(meshes)
        for _ in range(20):
            p = ex * rng.uniform(-hx + reach, hx - reach) + ez * rng.uniform(-hz + reach, hz - reach)
            if np.hypot(p[0], p[2]) > free + reach:
                return _moved(meshes, p)
        return []

    furniture = {"room": 8, "office": 12, "gym": 6}[kind]
    for _ in range(int(rng.integers(2, furniture))):
        facing = yaw + float(rng.choice([0.0, 90.0, 180.0, 270.0]))
        r = rng.random()
        if kind == "gym":
            if r < 0.4:
                thing = _bench(rng, facing)
            elif r < 0.7:
                thing = [box((rng.uniform(0.5, 0.9), rng.uniform(0.3, 0.8), rng.uniform(0.5, 0.9)), (0.0, 0.0, 0.0),
                             [_prop_material(rng)], yaw_deg=facing)]
            else:
                mat = Material(_jitter(rng, (0.1, 0.2, 0.45), 0.4), (0.05, 0.05, 0.05), "noise", 0.2, 0.2)
                thing = [box((rng.uniform(1.5, 3), 0.05, rng.uniform(1, 2)), (0.0, 0.0, 0.0), [mat], yaw_deg=facing)]
        elif r < 0.45:
            thing = _table(rng, facing)
        elif r < 0.75:                                            # a shelf or cupboard
            thing = [box((rng.uniform(0.8, 2.0), rng.uniform(1.5, 2.2), rng.uniform(0.35, 0.5)), (0.0, 0.0, 0.0),
                         [_prop_material(rng)], yaw_deg=facing)]
        else:
            sofa = Material(_jitter(rng, _pick(rng, _PAINTS), 0.3), (0.2, 0.2, 0.2), "noise", 0.05)
            thing = [box((rng.uniform(1.6, 2.4), rng.uniform(0.7, 0.9), rng.uniform(0.8, 1.0)), (0.0, 0.0, 0.0),
                         [sofa], yaw_deg=facing)]
        props += put(thing)
    if kind != "room" and rng.random() < 0.6:                    # pillars
        pillar = _wall_material(rng, indoor=True)
        for _ in range(int(rng.integers(1, 5))):
            props += put([box((0.5, height, 0.5), (0.0, 0.0, 0.0), [pillar], yaw_deg=yaw)])
    return props


def _light(rng: np.random.Generator, indoor: bool) -> tuple[Light, Backdrop]:
    """The sun (or an indoor key light), the ambient and the sky."""
    if indoor:
        el = np.radians(rng.uniform(55, 85))
        weather = "indoor"
    else:
        el = np.radians(rng.uniform(20, 80))
        weather = "sunny" if rng.random() < 0.6 else "overcast"
    az = rng.uniform(0, 2 * np.pi)
    direction = -np.array([np.cos(el) * np.sin(az), np.sin(el), np.cos(el) * np.cos(az)])
    warm = np.clip((np.degrees(el) - 20) / 50, 0, 1)
    sun_colour = tuple(float(x) for x in (1 - warm) * np.array([1.0, 0.82, 0.6]) + warm * np.array([1.0, 0.96, 0.9]))
    if weather == "sunny":
        zenith = _jitter(rng, (0.18, 0.35, 0.85), 0.15)
        horizon = _jitter(rng, (0.75, 0.85, 1.0), 0.08)
        light = Light(direction, sun_colour, float(rng.uniform(2.0, 3.0)), float(rng.uniform(0.35, 0.6)),
                      sky_colour=_jitter(rng, (0.6, 0.75, 1.0), 0.1),
                      bounce_colour=_jitter(rng, (0.5, 0.45, 0.38), 0.1),
                      penumbra_m=float(rng.uniform(0.01, 0.04)), exposure=float(rng.uniform(0.45, 0.7)))
        backdrop = Backdrop(zenith, horizon, fog_distance_m=float(rng.uniform(250, 800)))
    elif weather == "overcast":
        g = float(rng.uniform(0.6, 0.9))
        zenith = _jitter(rng, (g, g, g * 1.04), 0.04)
        horizon = _jitter(rng, (g * 1.1, g * 1.1, g * 1.12), 0.04)
        light = Light(direction, (0.95, 0.97, 1.0), float(rng.uniform(0.15, 0.5)), float(rng.uniform(0.9, 1.4)),
                      sky_colour=(0.9, 0.92, 0.95), bounce_colour=_jitter(rng, (0.5, 0.48, 0.45), 0.1),
                      penumbra_m=float(rng.uniform(0.3, 0.8)), exposure=float(rng.uniform(0.6, 0.9)))
        backdrop = Backdrop(zenith, horizon, fog_distance_m=float(rng.uniform(120, 400)))
    else:
        tint = _jitter(rng, (1.0, 0.95, 0.88), 0.05)
        light = Light(direction, tint, float(rng.uniform(0.6, 1.4)), float(rng.uniform(0.6, 1.0)),
                      sky_colour=_jitter(rng, (0.9, 0.88, 0.82), 0.05),
                      bounce_colour=_jitter(rng, (0.5, 0.45, 0.4), 0.1),
                      penumbra_m=float(rng.uniform(0.1, 0.4)), exposure=float(rng.uniform(0.7, 1.0)))
        backdrop = Backdrop((0.5, 0.5, 0.5), (0.6, 0.6, 0.6), fog_distance_m=1e6)
    return light, backdrop


def sample_scene(rng: np.random.Generator, backgrounds: list[np.ndarray] | None = None, *,
                 kind: str | None = None, free_radius_m: float = FREE_RADIUS_M,
                 kinds: tuple[str, ...] | None = None) -> Scene:
    """A random scene around the world origin.

    Args:
        rng: the generator every choice is drawn from (one seed, one scene).
        backgrounds: photos ([H, W, 3] uint8 RGB) that outdoor scenes may show at the far end.
        kind: one of KINDS; None draws one.
        kinds: the kinds a draw may give (their KINDS weights renormalized); None: all of KINDS.
        free_radius_m: m, nothing stands within this horizontal distance of the origin: people and
            cameras go there.

    Returns:
        A Scene (its kind and free_radius_m filled in).
    """
    if kind is None:
        names = list(KINDS) if kinds is None else [k for k in KINDS if k in kinds]
        if not names:
            raise UserError(f"kinds must name some of {', '.join(KINDS)}, got {kinds!r}")
        weights = np.array([KINDS[k] for k in names])
        kind = names[int(rng.choice(len(names), p=weights / weights.sum()))]
    if kind not in KINDS:
        raise UserError(f"scene kind {kind!r} is not one of {', '.join(KINDS)}")
    if free_radius_m <= 0:
        raise UserError(f"free_radius_m must be positive, got {free_radius_m}")
    indoor = kind not in OUTDOOR
    light, backdrop = _light(rng, indoor)
    ground = Ground(_ground_material(rng, kind))
    if kind == "street":
        props = _street(rng, free_radius_m)
    elif kind == "park":
        props = _park(rng, free_radius_m)
    elif kind == "plaza":
        props = _plaza(rng, free_radius_m)
    else:
        props = _hall(rng, free_radius_m, kind)
    if not indoor and backgrounds and rng.random() < 0.6:
        backdrop.image = backgrounds[int(rng.integers(len(backgrounds)))]
        backdrop.image_azimuth_deg = float(rng.uniform(-180, 180))
        backdrop.image_hfov_deg = float(rng.uniform(60, 120))
        backdrop.image_bottom_deg = float(rng.uniform(-3, 0))
    return Scene(ground, backdrop, props, light, free_radius_m=float(free_radius_m), kind=kind)


def sample_occluders(rng: np.random.Generator, camera: Camera, people_centres: np.ndarray,
                     count: int) -> list[Mesh]:
    """Objects standing on the floor between the camera and the people, hiding some of their joints.

    Each occluder (a box, a pillar, a fence or low wall, a parked-car-like block) stands on the
    floor across the line from the camera to one of the people, in the half of it nearer the
    person, moved sideways so that its edge falls anywhere on the person, and keeps 0.45 m
    clear of every person's centre.

    Args:
        rng: the generator.
        camera: the camera the occluders are placed for.
        people_centres: [P, 3] m, world: the people's centres (e.g. their pelvis).
        count: how many occluders to place.

    Returns:
        The meshes (label 0) of up to count occluders (a car is three meshes); fewer occluders when
        no place is found (a camera too close to the people).
    """
    centres = np.asarray(people_centres, dtype=np.float64).reshape(-1, 3)
    if count <= 0 or len(centres) == 0:
        return []
    cam = np.asarray(camera.position, dtype=np.float64)
    out: list[Mesh] = []
    placed: list[np.ndarray] = []
    for _ in range(int(count)):
        for _attempt in range(12):
            target = centres[int(rng.integers(len(centres)))]
            ray = (target - cam)[[0, 2]]
            dist = float(np.linalg.norm(ray))
            if dist < 1.6:
                continue
            ray /= dist
            side = np.array([ray[1], -ray[0]])
            yaw = float(np.degrees(np.arctan2(ray[0], ray[1])))      # a box's depth (size z) along the ray
            kind = ("box", "pillar", "fence", "car")[int(rng.choice(4, p=[0.35, 0.25, 0.25, 0.15]))]
            if kind == "car":
                meshes = _car(rng, yaw + 90.0)                        # its length across the ray
            else:
                size = {"box": (rng.uniform(0.5, 1.3), rng.uniform(0.5, 1.2), rng.uniform(0.4, 0.9)),
                        "pillar": (rng.uniform(0.3, 0.7), rng.uniform(2.5, 4.0), rng.uniform(0.3, 0.7)),
                        "fence": (rng.uniform(1.5, 4.0), rng.uniform(0.9, 1.4), rng.uniform(0.05, 0.3))}[kind]
                mat = _wall_material(rng, indoor=False) if kind == "pillar" else _prop_material(rng)
                meshes = [box(tuple(float(x) for x in size), (0.0, 0.0, 0.0), [mat], yaw_deg=yaw)]
            xz_all = np.concatenate([m.vertices[:, [0, 2]] for m in meshes]).astype(np.float64)
            half_depth, half_width = np.abs(xz_all @ ray).max(), np.abs(xz_all @ side).max()
            lo = max(0.5 + half_depth, 0.5 * dist)    # nearer the person than the camera: it hides a part of them
            hi = dist - 0.6 - half_depth
            if hi <= lo:
                continue
            # sideways so that an edge may fall anywhere on the person (some joints hidden, some not)
            xz = cam[[0, 2]] + ray * rng.uniform(lo, hi) + side * rng.uniform(-1, 1) * (half_width + 0.15)
            rel = centres[:, [0, 2]] - xz             # its footprint keeps clear of every person
            if not np.all((np.abs(rel @ ray) > half_depth + 0.45) | (np.abs(rel @ side) > half_width + 0.45)):
                continue
            if any(np.linalg.norm(xz - p) < 0.8 for p in placed):
                continue
            out += _moved(meshes, (float(xz[0]), 0.0, float(xz[1])))
            placed.append(xz)
            break
    return out
