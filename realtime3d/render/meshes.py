"""What the rasterizer draws: materials, meshes, the sun, the ground, the backdrop, a scene, and a frame.

Plain data, shared by the scenery that builds scenes, the people that wear materials, and the
rasterizer (raster.py) that draws them; nothing here touches OpenGL. The world is Y up, metres,
floor at y = 0 (cameras.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FREE_RADIUS_M = 8.0   # m, the default radius about the origin that scenery leaves to people and cameras


#: Pattern names of Material.pattern, in the order of their ids in the fragment shader. The first six
#: are for clothes and skin (evaluated in 3D pattern space); the others are for scenery (evaluated on
#: the axis plane of pattern space that the surface lies closest to: floors in x-z, walls in x-y or z-y).
PATTERNS = ("plain", "stripes", "checks", "noise", "denim", "knit",
            "tiles", "bricks", "windows", "wood", "grass", "asphalt")


@dataclass
class Material:
    """A garment, skin or scenery surface: a colour, optionally a pattern in pattern space.

    Attributes:
        colour: linear RGB in [0, 1], the main colour.
        colour2: linear RGB in [0, 1], the pattern's second colour (stripes, grout, mortar, glass, weft).
        pattern: one of PATTERNS.
        scale_m: the pattern's period in metres of pattern space (stripe pair, tile, brick length,
            window bay, plank width, noise feature size).
        shininess: 0 matte .. 1 glossy (specular strength and sharpness).
        direction: [3] the direction along which stripes alternate, in pattern space ((0, 1, 0):
            horizontal bands on an upright body).
    """
    colour: tuple[float, float, float]
    colour2: tuple[float, float, float] = (0.0, 0.0, 0.0)
    pattern: str = "plain"
    scale_m: float = 0.05
    shininess: float = 0.0
    direction: tuple[float, float, float] = (0.0, 1.0, 0.0)


@dataclass
class Mesh:
    """A triangle mesh with per-vertex materials.

    Attributes:
        vertices: [V, 3] float32 m, world.
        faces: [F, 3] int32, counter-clockwise seen from outside.
        material_index: [V] int, index into materials (a triangle takes its first vertex's material).
        materials: the mesh's materials.
        pattern_coords: [V, 3] m, where patterns are evaluated (the rest pose, so that patterns
            follow the body); None: the world position.
        label: written to the label image: people 1..255, scenery 0.
        normals: [V, 3]; None: area-weighted vertex normals of the faces.
        casts_shadow: False keeps the mesh out of the shadow maps (a ceiling above an indoor light).
        closed: True when the mesh's back faces can never be seen (a closed surface, a floor seen
            from above): they are not drawn (culled), which saves drawing time, and in the shadow
            maps its faces turned away from the sun are drawn instead of those facing it.
    """
    vertices: np.ndarray
    faces: np.ndarray
    material_index: np.ndarray
    materials: list[Material]
    pattern_coords: np.ndarray | None = None
    label: int = 0
    normals: np.ndarray | None = None
    casts_shadow: bool = True
    closed: bool = False


@dataclass
class Light:
    """One sun (directional, casting shadows) plus a hemisphere ambient.

    Attributes:
        direction: [3] unit, world, pointing from the sun towards the scene (y < 0 for a sun above).
        colour: linear RGB of the sun.
        intensity: the sun's strength (multiplies colour).
        ambient: the ambient's strength.
        sky_colour: linear RGB of the ambient from above.
        bounce_colour: linear RGB of the ambient from below (light the ground sends back).
        penumbra_m: m, the radius of the shadows' soft edge (small for a clear sun, large for haze).
        shadows: False draws no shadows.
        exposure: multiplies the linear image before the tone map.
    """
    direction: np.ndarray
    colour: tuple[float, float, float] = (1.0, 1.0, 1.0)
    intensity: float = 1.0
    ambient: float = 0.35
    sky_colour: tuple[float, float, float] = (0.75, 0.85, 1.0)
    bounce_colour: tuple[float, float, float] = (0.5, 0.45, 0.4)
    penumbra_m: float = 0.03
    shadows: bool = True
    exposure: float = 1.0


@dataclass
class Ground:
    """The floor: a square at y = 0 about the camera (centred on the 50 m grid point nearest to it).

    Attributes:
        material: its surface (a pattern such as tiles, asphalt, grass, wood).
        half_size_m: m, half the side of the square (at most FAR_M is seen).
    """
    material: Material
    half_size_m: float = 150.0


@dataclass
class Backdrop:
    """What lies behind everything, at infinity: a sky gradient, optionally with a photo on it.

    The photo covers a band of azimuths (a cylinder about the vertical axis), from image_bottom_deg
    of elevation upwards with the photo's aspect ratio, repeated all around the horizon; the sky
    shows above it. The photo should show no people: they would be unlabelled.

    Attributes:
        zenith: linear RGB of the sky straight up.
        horizon: linear RGB of the sky at the horizon (also the colour of the distance fog).
        image: [H, W, 3] uint8 display RGB, or None.
        image_azimuth_deg: the azimuth of the photo's centre (0: towards world -z, 90: towards +x).
        image_hfov_deg: the band of azimuths the photo's width covers.
        image_bottom_deg: the elevation of the photo's bottom row.
        fog_distance_m: m, the distance at which the fog takes 63 % of a surface's colour.
    """
    zenith: tuple[float, float, float] = (0.25, 0.45, 0.85)
    horizon: tuple[float, float, float] = (0.75, 0.82, 0.9)
    image: np.ndarray | None = None
    image_azimuth_deg: float = 0.0
    image_hfov_deg: float = 90.0
    image_bottom_deg: float = -3.0
    fog_distance_m: float = 400.0


@dataclass
class Scene:
    """Everything but the people.

    Attributes:
        ground: the floor.
        backdrop: sky and background photo.
        props: scenery meshes (walls, buildings, pillars, boxes, occluders), label 0. A Rasterizer
            keeps them on the GPU between calls while the same Mesh objects come with equal
            vertices and materials (to change one, give it a new vertices array or a new Mesh).
        light: the sun and the ambient.
        free_radius_m: m, people and cameras belong within this horizontal distance of the world
            origin: the scenery sampled by scenery.sample_scene keeps out of it.
        kind: what the scene shows ("street", "park", "gym", ...), for the caller's records.
    """
    ground: Ground
    backdrop: Backdrop
    props: list[Mesh]
    light: Light
    free_radius_m: float = FREE_RADIUS_M
    kind: str = "custom"


@dataclass
class RenderedFrame:
    """One rendered image.

    Attributes:
        rgb: [H, W, 3] uint8, row 0 at the top.
        labels: [H, W] uint8, the label of the front-most surface at each pixel centre; 0 scenery or sky.
        depth: [H, W] float32 m, the camera z of that surface; inf where sky.
    """
    rgb: np.ndarray
    labels: np.ndarray
    depth: np.ndarray


def vertex_normals(vertices: np.ndarray, faces: np.ndarray, incidence=None) -> np.ndarray:
    """Area-weighted unit vertex normals.

    Args:
        vertices: [V, 3] m.
        faces: [F, 3] int, counter-clockwise seen from outside.
        incidence: face_incidence(faces, V), when kept from an earlier call; None: made here.

    Returns:
        [V, 3] float32 unit normals pointing outside ((0, 1, 0) for a vertex on no face).
    """
    v = np.asarray(vertices, dtype=np.float32)
    f = np.asarray(faces)
    if incidence is None:
        incidence = face_incidence(f, len(v))
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    n = np.asarray(incidence @ np.cross(b - a, c - a), dtype=np.float32)   # face normals: length 2 x area
    length = np.linalg.norm(n, axis=1, keepdims=True)
    n /= np.maximum(length, 1e-30)
    n[length[:, 0] == 0] = (0.0, 1.0, 0.0)
    return n


def face_incidence(faces: np.ndarray, n_vertices: int):
    """[V, F] sparse matrix (scipy CSR), 1 where a vertex belongs to a face: sums face values onto vertices."""
    from scipy.sparse import csr_matrix
    f = np.asarray(faces)
    return csr_matrix((np.ones(f.size, np.float32), (f.ravel(), np.repeat(np.arange(len(f)), 3))),
                      shape=(n_vertices, len(f)))
