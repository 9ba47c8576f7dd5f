"""The offscreen rasterizer of the renderer: meshes, materials and a sun in, RGB, labels and depth out.

OpenGL 3.3 through moderngl on a headless EGL context (Mesa's llvmpipe on a CPU, any driver on a
GPU); this is the only module that imports moderngl. No context exists before a Rasterizer's first
call, so the module imports anywhere; each process makes its own. Mesa cannot make a context in a
process forked from one that already has one, so workers are started with 'spawn' or
'forkserver', or forked before the first render.

A frame is drawn in up to three passes:
  1. shadow maps from the sun: orthographic, a near map fitted to the people (people and props cast
     into it) and a far map fitted to the props around them, side by side in one depth texture;
     looked up with bilinear PCF taps (4 for sharp shadows, 8 for soft ones);
  2. colour: ground, props, people, then the sky or backdrop photo where nothing was drawn, shaded
     with Lambert, a hemisphere ambient (sky above, ground bounce below), Blinn-Phong specular,
     procedural patterns evaluated in pattern space, distance fog, a filmic tone map and gamma;
     multisampled, then resolved;
  3. labels and depth without multisampling, so that every pixel holds the exact label and camera z
     of the surface at its centre (with samples <= 1, passes 2 and 3 are one pass).

llvmpipe runs every branch of a shader for every fragment, so the colour shader is compiled once per
pattern (and shadow mode) and each mesh's faces are drawn grouped by pattern. Under multisampling it
also shades hidden fragments (no early depth test), which is what multisampling costs here.

Geometry: the world is Y up, metres, floor at y = 0 (cameras.py). The OpenGL view is the camera's
rotation followed by a half turn about its x axis (y and z negated together), never a mirror, and
the projection puts pixel centres at integer coordinates exactly as Camera.project does. Output row 0
is the top of the image.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

import numpy as np

from ..errors import UserError
from . import shaders
from .cameras import Camera
from .meshes import PATTERNS, Ground, Light, Material, Mesh, RenderedFrame, Scene, face_incidence, vertex_normals

NEAR_M = 0.05   # m, near clipping plane
FAR_M = 200.0   # m, far clipping plane

_CONTEXT_PID = None   # the process that made the first context (a child forked from it cannot make one)


# ---------------------------------------------------------------------------------------------
# geometry on the CPU

def gl_view_projection(camera: Camera) -> np.ndarray:
    """[4, 4] world -> OpenGL clip coordinates for a camera (float64, row-major).

    The view is X_cam = R (X - position) followed by a half turn about the camera's x axis
    (OpenCV -> OpenGL eye: y and z negated together, a rotation); the projection makes pixel
    centres land at integer coordinates about Camera's principal point (the image centre, or a
    crop's): u = f x / z + cx, v = f y / z + cy, row 0 at the top once the image is read back.
    """
    w, h = camera.image_size
    cx, cy = camera.principal_point
    view = np.eye(4)
    view[:3, :3] = np.diag([1.0, -1.0, -1.0]) @ camera.rotation
    view[:3, 3] = -view[:3, :3] @ np.asarray(camera.position, dtype=np.float64)
    proj = np.zeros((4, 4))
    proj[0, 0] = 2.0 * camera.focal / w
    proj[1, 1] = 2.0 * camera.focal / h
    proj[0, 2] = 1.0 - 2.0 * (cx + 0.5) / w          # 0 for the image centre
    proj[1, 2] = 2.0 * (cy + 0.5) / h - 1.0
    proj[2, 2] = -(FAR_M + NEAR_M) / (FAR_M - NEAR_M)
    proj[2, 3] = -2.0 * FAR_M * NEAR_M / (FAR_M - NEAR_M)
    proj[3, 2] = -1.0
    return proj @ view


def _light_basis(direction: np.ndarray) -> np.ndarray:
    """[3, 3] rows: right, up, forward of an orthographic light looking along direction."""
    d = np.asarray(direction, dtype=np.float64)
    d = d / np.linalg.norm(d)
    ref = np.array([0.0, 0.0, 1.0]) if abs(d[1]) > 0.99 else np.array([0.0, 1.0, 0.0])
    right = np.cross(d, ref)
    right /= np.linalg.norm(right)
    up = np.cross(right, d)
    return np.stack([right, up, d])


def _ortho(basis: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """[4, 4] world -> NDC of an orthographic box lo..hi ([3] each) in the light's (right, up, forward)."""
    scale = 2.0 / np.maximum(hi - lo, 1e-6)
    m = np.eye(4)
    m[:3, :3] = basis * scale[:, None]
    m[:3, 3] = -1.0 - lo * scale
    return m


@dataclass
class _Batch:
    """Meshes concatenated into the arrays of one vertex buffer set (float32) and one index buffer.

    Each mesh's faces are grouped by pattern, so that one draw per run of equal patterns uses the
    shader compiled for it.
    """
    pos: np.ndarray          # [V, 3] m
    nrm: np.ndarray          # [V, 3]
    pco: np.ndarray          # [V, 3] m
    meta: np.ndarray         # [V, 2] material row, label
    idx: np.ndarray          # [3F] int32
    ranges: list[tuple[int, int]] = field(default_factory=list)       # (first index, count) per mesh
    runs: list[tuple[int, int, int, bool]] = field(default_factory=list)  # (first index, count, pattern id, closed)
    casters: list[tuple[int, int, bool]] = field(default_factory=list)    # (first index, count, closed) of casters
    caster_pos: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.float32))  # [C, 3] m


def _check_mesh(mesh: Mesh, what: str) -> None:
    v, f = np.shape(mesh.vertices), np.shape(mesh.faces)
    if len(v) != 2 or v[1] != 3 or len(f) != 2 or f[1] != 3:
        raise UserError(f"{what}: vertices must be [V, 3] and faces [F, 3], got {v} and {f}")
    if np.shape(mesh.material_index) != (v[0],):
        raise UserError(f"{what}: material_index must be [{v[0]}], got {np.shape(mesh.material_index)}")
    if not mesh.materials:
        raise UserError(f"{what}: no materials")
    if not 0 <= int(mesh.label) <= 255:
        raise UserError(f"{what}: label {mesh.label} is not in 0..255")
    for m in mesh.materials:
        if m.pattern not in PATTERNS:
            raise UserError(f"{what}: material pattern {m.pattern!r} is not one of {', '.join(PATTERNS)}")


def _append_run(runs: list, first: int, count: int, *key) -> None:
    """Appends (first, count, *key) to runs, merged with the last run when adjacent and equal in key."""
    if count <= 0:
        return
    if runs and runs[-1][0] + runs[-1][1] == first and tuple(runs[-1][2:]) == key:
        runs[-1] = (runs[-1][0], runs[-1][1] + count, *key)
    else:
        runs.append((first, count, *key))


class _Topology:
    """What a mesh's faces and materials decide, kept between frames: the faces grouped by pattern,
    the runs of equal patterns and the vertex-face incidence that sums face normals."""

    def __init__(self, faces: np.ndarray, material_index: np.ndarray, patterns: tuple[int, ...], n_vertices: int):
        self.faces = faces.copy()                          # [F, 3] as given, to recognise the mesh
        self.material_index = material_index.copy()        # [V]
        self.patterns = patterns                           # pattern id of each material
        self.n_vertices = n_vertices
        face_pattern = np.asarray(patterns, np.uint8)[material_index[faces[:, 0]]] if len(faces) else \
            np.zeros(0, np.uint8)                          # the first vertex provokes
        order = np.argsort(face_pattern, kind="stable")
        self.sorted_faces = np.ascontiguousarray(faces[order], dtype=np.int32)   # [F, 3]
        face_pattern = face_pattern[order]
        cuts = np.flatnonzero(np.diff(face_pattern)) + 1
        self.runs = [(int(a), int(b - a), int(face_pattern[a]))                 # (first face, faces, pattern)
                     for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(faces)]) if b > a]
        self._incidence = None

    def matches(self, faces: np.ndarray, material_index: np.ndarray, patterns: tuple[int, ...]) -> bool:
        return (patterns == self.patterns and np.array_equal(faces, self.faces)
                and np.array_equal(material_index, self.material_index))

    def normals(self, vertices: np.ndarray) -> np.ndarray:
        """[V, 3] float32 area-weighted unit vertex normals (vertex_normals)."""
        if self._incidence is None:
            self._incidence = face_incidence(self.faces, self.n_vertices)
        return vertex_normals(vertices, self.faces, self._incidence)


class _Topologies:
    """The _Topology of the meshes seen lately (looked up by content)."""

    def __init__(self, size: int = 64):
        self.size = size
        self.entries: dict = {}

    def get(self, mesh: Mesh) -> _Topology:
        f = np.asarray(mesh.faces)
        mi = np.clip(np.asarray(mesh.material_index), 0, len(mesh.materials) - 1)
        patterns = tuple(PATTERNS.index(m.pattern) for m in mesh.materials)
        key = (len(mesh.vertices), f.shape, patterns)
        for entry in self.entries.get(key, []):
            if entry.matches(f, mi, patterns):
                return entry
        entry = _Topology(f, mi, patterns, len(mesh.vertices))
        self.entries.setdefault(key, []).append(entry)
        if sum(len(v) for v in self.entries.values()) > self.size:      # forget the oldest key
            self.entries.pop(next(iter(self.entries)))
        return entry


def _batch(meshes: list[Mesh], first_material: int, what: str,
           topologies: _Topologies) -> tuple[_Batch, list[Material]]:
    """Concatenates meshes; their material rows are numbered from first_material."""
    pos, nrm, pco, meta, idx, ranges, runs, casters, caster_pos, mats = [], [], [], [], [], [], [], [], [], []
    nv = ni = 0
    row = first_material
    for k, mesh in enumerate(meshes):
        _check_mesh(mesh, f"{what} {k}")
        v = np.asarray(mesh.vertices, dtype=np.float32)
        topo = topologies.get(mesh)
        pos.append(v)
        nrm.append(topo.normals(v) if mesh.normals is None else np.asarray(mesh.normals, np.float32))
        pco.append(v if mesh.pattern_coords is None else np.asarray(mesh.pattern_coords, np.float32))
        m = np.empty((len(v), 2), np.float32)
        m[:, 0] = topo.material_index + row
        m[:, 1] = float(mesh.label)
        meta.append(m)
        idx.append(topo.sorted_faces.ravel() + nv)
        n_idx = topo.sorted_faces.size
        ranges.append((ni, n_idx))
        for first, count, pattern in topo.runs:
            _append_run(runs, ni + 3 * first, 3 * count, pattern, bool(mesh.closed))
        if mesh.casts_shadow:
            _append_run(casters, ni, n_idx, bool(mesh.closed))
            caster_pos.append(v)
        mats.extend(mesh.materials)
        row += len(mesh.materials)
        nv += len(v)
        ni += n_idx
    if not meshes:
        z3 = np.zeros((0, 3), np.float32)
        return _Batch(z3, z3, z3, np.zeros((0, 2), np.float32), np.zeros(0, np.int32)), []
    return _Batch(np.concatenate(pos), np.concatenate(nrm), np.concatenate(pco), np.concatenate(meta),
                  np.concatenate(idx).astype(np.int32), ranges, runs, casters,
                  np.concatenate(caster_pos) if caster_pos else np.zeros((0, 3), np.float32)), mats


def _stack_vertices(meshes: list[Mesh]) -> np.ndarray:
    """[sum V, 3] float32: the meshes' vertices one after the other."""
    if not meshes:
        return np.zeros((0, 3), np.float32)
    return np.concatenate([np.asarray(m.vertices, dtype=np.float32) for m in meshes])


def _shadow_side(image_size: tuple[int, int]) -> int:
    """Texels of a shadow map's side for an image: about its larger side, 128..1024."""
    return int(min(1024, max(128, 1 << max(int(max(image_size)) - 1, 1).bit_length())))


def _ground_mesh(ground: Ground, centre: tuple[float, float]) -> Mesh:
    """The floor square about centre (x, z m), as a mesh of two triangles facing up."""
    cx, cz = centre
    r = min(float(ground.half_size_m), FAR_M * 1.5)
    v = np.array([[cx - r, 0, cz - r], [cx - r, 0, cz + r], [cx + r, 0, cz + r], [cx + r, 0, cz - r]],
                 np.float32)
    return Mesh(v, np.array([[0, 1, 2], [0, 2, 3]], np.int32), np.zeros(4, np.int64), [ground.material],
                normals=np.tile(np.array([0.0, 1.0, 0.0], np.float32), (4, 1)), casts_shadow=False, closed=True)


def _distance(mesh: Mesh, point: np.ndarray) -> float:
    """m from point ([3]) to the mesh's bounding box, 0 inside it."""
    v = np.asarray(mesh.vertices)
    lo, hi = v.min(axis=0), v.max(axis=0)
    return float(np.linalg.norm(np.maximum(np.maximum(lo - point, point - hi), 0.0)))


def _material_rows(materials: list[Material]) -> np.ndarray:
    """[N, 3, 4] float32 rows of the material texture:
    (colour, pattern id), (colour2, scale), (direction, shininess)."""
    rows = np.zeros((max(len(materials), 1), 3, 4), np.float32)
    for k, m in enumerate(materials):
        d = np.asarray(m.direction, dtype=np.float64)
        d = d / max(np.linalg.norm(d), 1e-9)
        rows[k, 0] = (*m.colour, PATTERNS.index(m.pattern))
        rows[k, 1] = (*m.colour2, m.scale_m)
        rows[k, 2] = (*d, m.shininess)
    return rows


def _tonemap_np(c: np.ndarray) -> np.ndarray:
    """The shaders' tonemap() on the CPU: linear -> display in [0, 1]."""
    c = np.maximum(c, 0.0)
    c = np.clip((c * (2.51 * c + 0.03)) / (c * (2.43 * c + 0.59) + 0.14), 0.0, 1.0)
    return c ** (1.0 / 2.2)


def _untonemap_np(display: np.ndarray, exposure: float) -> np.ndarray:
    """Linear colour whose tone-mapped value at this exposure is display ([..., 3] in [0, 1])."""
    x = np.linspace(0.0, 16.0, 4097)
    y = _tonemap_np(x)
    return np.interp(np.clip(display, 0.0, y[-1]), y, x) / max(exposure, 1e-6)


# ---------------------------------------------------------------------------------------------

def _load_triton_first() -> None:
    """Import triton, where installed, before Mesa loads its LLVM: triton carries an LLVM of its own,
    and loading it into a process where llvmpipe already runs crashes the process (a segmentation
    fault when torch, or anny through roma, imports triton after the first render). The other order
    is safe."""
    import importlib
    import importlib.util
    if "triton" not in sys.modules and importlib.util.find_spec("triton") is not None:
        importlib.import_module("triton")


class Rasterizer:
    """Renders scenes with people into RGB, label and depth images, offscreen.

    The OpenGL context is created by the first call in each process and kept; buffers, programs,
    framebuffers (per image size) and shadow maps are reused between calls. Several Rasterizers
    may live in one process (each makes its context current for its calls); one Rasterizer is not
    to be used from several threads at once.

    Args:
        samples: multisampling of the colour image (0 or 1: none; labels and depth are never blended).
        threads: llvmpipe's rendering threads (sets LP_NUM_THREADS before the context is created;
            None leaves Mesa's default). Mesa reads it when the process's first context is made.
        shadow_size: texels of each side of the near and of the far shadow map; None: the power
            of two at or above the image's larger side, 128..1024.
    """

    _SIZES_KEPT = 4

    def __init__(self, samples: int = 4, threads: int | None = None, shadow_size: int | None = None):
        if not 0 <= samples <= 16:
            raise UserError(f"samples must be 0..16, got {samples}")
        if threads is not None and threads < 0:
            raise UserError(f"threads must be 0 or more, got {threads}")
        self.samples = int(samples)
        self.threads = threads
        self.shadow_size = shadow_size
        self._ctx = None
        self._pid = None

    def __getstate__(self) -> dict:
        """Pickles the settings only (a worker process makes its own context)."""
        return {"samples": self.samples, "threads": self.threads, "shadow_size": self.shadow_size}

    def __setstate__(self, state: dict) -> None:
        self.__init__(**state)

    # -- context and resources ----------------------------------------------------------------

    def _context(self):
        """This process's context (created on the first call)."""
        global _CONTEXT_PID
        if self._ctx is not None and self._pid == os.getpid():
            return self._ctx
        if _CONTEXT_PID is not None and _CONTEXT_PID != os.getpid():
            raise RuntimeError("this process was forked from one that had rendered (Mesa's EGL would hang "
                               "here): start workers with the 'spawn' or 'forkserver' method, or fork before "
                               "the first render")
        import moderngl
        _load_triton_first()
        if self.threads is not None:
            os.environ["LP_NUM_THREADS"] = str(int(self.threads))
        ctx = moderngl.create_standalone_context(backend="egl")
        _CONTEXT_PID = os.getpid()
        self._ctx, self._pid, self._mgl = ctx, os.getpid(), moderngl
        ctx.provoking_vertex = moderngl.FIRST_VERTEX_CONVENTION
        self._samples = min(self.samples, ctx.max_samples) if self.samples > 1 else 0
        self._progs = {
            "ids": ctx.program(vertex_shader=shaders.SCENE_VS, fragment_shader=shaders.IDS_FS),
            "shadow": ctx.program(vertex_shader=shaders.SHADOW_VS, fragment_shader=shaders.SHADOW_FS),
        }
        self._backdrop_vaos = {}  # with a photo or not -> VAO of the backdrop program
        self._buffers = {}       # batch name -> buffers, capacities, VAOs per program
        self._fbos = {}          # (w, h) -> framebuffers, oldest first
        self._atlas = None       # (side, depth texture, framebuffer) of the shadow maps
        self._materials_tex = ctx.texture((3, 256), 4, dtype="f4")
        self._materials_tex.filter = (moderngl.NEAREST, moderngl.NEAREST)
        self._image = None       # (array, texture) of the last backdrop photo
        self._topologies = _Topologies()
        self._scenery_cache = None
        return ctx

    def close(self) -> None:
        """Releases the OpenGL context (a later call creates a new one)."""
        if self._ctx is not None and self._pid == os.getpid():
            self._ctx.release()
        self._ctx = None

    def _program(self, key):
        """A program by key: "ids", "shadow", ("backdrop", with a photo) or ("colour", pattern id, shadow taps)."""
        prog = self._progs.get(key)
        if prog is None:
            if key[0] == "backdrop":
                fs = f"#version 330\n#define HAS_IMAGE {int(key[1])}\n" + shaders.BACKDROP_FS
                prog = self._ctx.program(vertex_shader=shaders.BACKDROP_VS, fragment_shader=fs)
            else:
                _, pattern, taps = key
                prog = self._ctx.program(vertex_shader=shaders.SCENE_VS, fragment_shader=shaders.colour_fs(pattern, taps))
            self._progs[key] = prog
        return prog

    @staticmethod
    def _set(prog, name: str, value) -> None:
        """Sets a uniform if the program uses it; a 2D array is a row-major matrix."""
        if name in prog:
            member = prog[name]
            if isinstance(value, np.ndarray) and value.ndim == 2:
                member.write(np.ascontiguousarray(value.T, dtype=np.float32).tobytes())
            else:
                member.value = value

    def _vao(self, slot: dict, key):
        """The VAO of a batch's buffers for one program (made on first use)."""
        vao = slot["vaos"].get(key)
        if vao is None:
            prog = self._program(key)
            pos, nrm, pco, meta, ibo = slot["bufs"]
            named = {"in_pos": (pos, "3f"), "in_nrm": (nrm, "3f"), "in_pco": (pco, "3f"), "in_meta": (meta, "2f")}
            content = [(b, fmt, n) for n, (b, fmt) in named.items() if n in prog]   # unused ones are compiled away
            vao = self._ctx.vertex_array(prog, content, ibo, 4)
            slot["vaos"][key] = vao
        return vao

    def _upload(self, name: str, batch: _Batch) -> dict:
        """Writes a batch into its reusable buffers (grown when too small)."""
        ctx = self._ctx
        nv, ni = len(batch.pos), len(batch.idx)
        slot = self._buffers.get(name)
        if slot is None or slot["nv"] < nv or slot["ni"] < ni:
            if slot is not None:
                for obj in (*slot["vaos"].values(), *slot["bufs"]):
                    obj.release()
            cap_v, cap_i = max(nv, 64) * 5 // 4, max(ni, 192) * 5 // 4
            bufs = [ctx.buffer(reserve=cap_v * 12), ctx.buffer(reserve=cap_v * 12), ctx.buffer(reserve=cap_v * 12),
                    ctx.buffer(reserve=cap_v * 8), ctx.buffer(reserve=cap_i * 4)]
            slot = {"nv": cap_v, "ni": cap_i, "bufs": bufs, "vaos": {}, "idx": None}
            self._buffers[name] = slot
        pos, nrm, pco, meta, ibo = slot["bufs"]
        if slot.get("batch") is batch:                       # already there
            return slot
        slot["batch"] = batch
        if nv:
            pos.write(batch.pos)
            nrm.write(batch.nrm)
            pco.write(batch.pco)
            meta.write(batch.meta)
        last = slot["idx"]
        if ni and (last is None or len(last) != ni or not np.array_equal(last, batch.idx)):
            ibo.write(batch.idx)
            slot["idx"] = batch.idx
        return slot

    def _framebuffers(self, size: tuple[int, int]) -> dict:
        """The framebuffers of one image size (the few latest sizes are kept)."""
        fb = self._fbos.pop(size, None)
        if fb is None:
            ctx = self._ctx
            while len(self._fbos) >= self._SIZES_KEPT:      # forget the oldest size
                old = self._fbos.pop(next(iter(self._fbos)))
                for obj in old["objects"]:
                    obj.release()
            label = ctx.texture(size, 1, dtype="f1")
            z = ctx.texture(size, 1, dtype="f4")
            ids_depth = ctx.depth_renderbuffer(size)
            ids = ctx.framebuffer([label, z], ids_depth)
            objects = [label, z, ids_depth, ids]
            if self._samples:
                ms_colour = ctx.renderbuffer(size, 4, samples=self._samples)
                ms_depth = ctx.depth_renderbuffer(size, samples=self._samples)
                ms = ctx.framebuffer([ms_colour], ms_depth)
                colour = ctx.renderbuffer(size, 4)
                resolved = ctx.framebuffer([colour])
                objects += [ms_colour, ms_depth, ms, colour, resolved]
                fb = {"ids": ids, "colour": ms, "resolved": resolved, "objects": objects}
            else:
                colour = ctx.renderbuffer(size, 4)
                one = ctx.framebuffer([colour, label, z], ids_depth)
                objects += [colour, one]
                fb = {"ids": ids, "colour": one, "resolved": one, "objects": objects}
        self._fbos[size] = fb                                 # the most recent last
        return fb

    def _shadow_atlas(self, side: int):
        """The depth texture (2 side x side: near map, far map) and its framebuffer."""
        if self._atlas is None or self._atlas[0] != side:
            if self._atlas is not None:
                self._atlas[2].release()
                self._atlas[1].release()
            mgl = self._mgl
            tex = self._ctx.depth_texture((2 * side, side))
            tex.compare_func = "<="
            tex.filter = (mgl.LINEAR, mgl.LINEAR)
            tex.repeat_x = tex.repeat_y = False
            self._atlas = (side, tex, self._ctx.framebuffer(depth_attachment=tex))
        return self._atlas

    # -- passes -------------------------------------------------------------------------------

    def _shadow_pass(self, light: Light, camera: Camera, people: _Batch, props: _Batch, slots: dict) -> dict | None:
        """Draws the shadow maps; returns the colour programs' shadow uniforms, None without shadows.

        The near map is fitted to the people (their shadows fall within their own light column),
        the far map to the props within 40 m of them; both span in depth every caster and the
        floor around them (a receiver beyond compares as if at the far end).
        """
        if not light.shadows or not (len(people.caster_pos) or len(props.caster_pos)):
            return None
        mgl, ctx = self._mgl, self._ctx
        basis = _light_basis(light.direction)
        side = int(self.shadow_size or _shadow_side(camera.image_size))
        if len(people.pos):
            focus = people.pos.mean(axis=0)
        else:
            focus = np.asarray(camera.position, dtype=np.float64) + 5.0 * np.asarray(camera.rotation)[2]
        focus = np.array([focus[0], 0.0, focus[2]])
        floor = focus + np.array([[-30, 0, -30], [-30, 0, 30], [30, 0, -30], [30, 0, 30]], np.float64)
        near_props = props.caster_pos[np.linalg.norm((props.caster_pos - focus)[:, [0, 2]], axis=1) < 40.0]
        # the depth range holds every caster (none is clipped) and the floor about the focus
        depth = np.concatenate([props.caster_pos @ basis[2], floor @ basis[2], people.caster_pos @ basis[2]])
        zlo, zhi = depth.min() - 1.0, depth.max() + 1.0
        _, tex, fbo = self._shadow_atlas(side)
        fbo.use()
        fbo.clear(depth=1.0)
        ctx.enable(mgl.DEPTH_TEST)
        ctx.disable(mgl.CULL_FACE)
        ctx.depth_func = "<"
        ctx.polygon_offset = (1.5, 4.0)
        prog = self._program("shadow")
        outside = np.zeros((4, 4))
        outside[:3, 3], outside[3, 3] = 5.0, 1.0          # maps every point outside the map
        out = {"light_near": outside, "light_far": outside, "use_far": 0, "near_radius": (0.0, 0.0),
               "far_radius": (0.0, 0.0), "near_offset": 0.0, "far_offset": 0.0}

        def draw(slot: str, x0: int, pts: np.ndarray, margin: float, batches) -> None:
            lp = pts.astype(np.float64) @ basis.T
            lo = np.array([*(lp[:, :2].min(axis=0) - margin), zlo])
            hi = np.array([*(lp[:, :2].max(axis=0) + margin), zhi])
            m = _ortho(basis, lo, hi)
            fbo.viewport = (x0, 0, side, side)
            self._set(prog, "light_vp", m)
            for name, batch in batches:       # closed casters: their faces turned away from the sun
                self._draw_runs(slots[name], "shadow", batch.casters, cull="front")
            texel = float(np.max((hi - lo)[:2])) / side
            out[f"light_{slot}"] = m
            out[f"{slot}_radius"] = tuple(float(r) for r in np.maximum(light.penumbra_m, 1.5 * texel) / (hi - lo)[:2])
            out[f"{slot}_offset"] = 1.5 * texel

        if len(people.caster_pos):
            draw("near", 0, people.caster_pos, 0.3, (("people", people), ("props", props)))
        if len(near_props):            # no person: their shadows lie within the near map
            draw("far", side, near_props, 0.5, (("props", props),))
            out["use_far"] = 1
        ctx.polygon_offset = (0.0, 0.0)
        ctx.disable(mgl.CULL_FACE)
        fbo.viewport = (0, 0, 2 * side, side)
        return out

    def _scenery(self, scene: Scene, camera: Camera) -> tuple[_Batch, np.ndarray]:
        """The batch of the ground and props and their material rows, kept while the scene stays
        the same (the same Mesh objects with equal vertices and materials, the camera within the
        same 50 m square of ground)."""
        centre = tuple(float(c) for c in np.round(np.asarray(camera.position, dtype=np.float64)[[0, 2]] / 50.0) * 50.0)
        sig = [(id(m), id(m.vertices), id(m.faces), m.label, m.closed, m.casts_shadow) for m in scene.props]
        cached = self._scenery_cache
        materials = _material_rows([scene.ground.material, *(x for m in scene.props for x in m.materials)])
        if (cached is not None and cached["sig"] == sig and cached["centre"] == centre
                and cached["half_size"] == scene.ground.half_size_m and np.array_equal(cached["materials"], materials)
                and np.array_equal(cached["vertices"], _stack_vertices(scene.props))):
            return cached["batch"], cached["rows"]
        # near to far, so that the depth test spares the shading of hidden surfaces; the ground last
        order = sorted(scene.props, key=lambda m: _distance(m, camera.position))
        batch, mats = _batch([*order, _ground_mesh(scene.ground, centre)], 0, "prop", self._topologies)
        rows = _material_rows(mats)
        self._scenery_cache = {"sig": sig, "centre": centre, "half_size": scene.ground.half_size_m,
                               "materials": materials, "vertices": _stack_vertices(scene.props),
                               "batch": batch, "rows": rows}
        return batch, rows

    def _backdrop(self, scene: Scene, camera: Camera):
        """The backdrop's VAO, its program's uniforms set."""
        b, light = scene.backdrop, scene.light
        key = ("backdrop", b.image is not None)
        prog = self._program(key)
        if key not in self._backdrop_vaos:
            self._backdrop_vaos[key] = self._ctx.vertex_array(prog, [])
        sun = -np.asarray(light.direction, dtype=np.float64)
        sun /= np.linalg.norm(sun)
        self._set(prog, "cam_to_world", np.asarray(camera.rotation, dtype=np.float64).T)
        self._set(prog, "centre", tuple(float(c) for c in camera.principal_point))
        self._set(prog, "focal", float(camera.focal))
        self._set(prog, "height", float(camera.image_size[1]))
        self._set(prog, "zenith", tuple(b.zenith))
        self._set(prog, "horizon", tuple(b.horizon))
        below = np.asarray(b.horizon) * 0.6 + np.asarray(scene.ground.material.colour) * 0.4
        self._set(prog, "below", tuple(float(c) for c in below))
        self._set(prog, "sun_dir", tuple(sun))
        self._set(prog, "sun_col", tuple(float(c) for c in np.asarray(light.colour) * light.intensity))
        self._set(prog, "exposure", float(light.exposure))
        if b.image is not None:
            tex = self._image_texture(b.image)
            tex.use(3)
            self._set(prog, "image", 3)
            img_h, img_w = b.image.shape[:2]
            span = np.radians(b.image_hfov_deg)
            bottom = np.radians(b.image_bottom_deg)
            top = bottom + span * img_h / img_w
            box = (float(np.radians(b.image_azimuth_deg)), float(span), float(bottom), float(top))
            self._set(prog, "image_box", box)
        return self._backdrop_vaos[key]

    def _image_texture(self, image: np.ndarray):
        if self._image is not None and self._image[0] is image:
            return self._image[1]
        img = np.asarray(image)
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise UserError(f"the backdrop image must be [H, W, 3] uint8, got {img.shape} {img.dtype}")
        if self._image is not None:
            self._image[1].release()
        mgl = self._mgl
        tex = self._ctx.texture((img.shape[1], img.shape[0]), 3, np.ascontiguousarray(img).tobytes(), alignment=1)
        tex.build_mipmaps()
        tex.filter = (mgl.LINEAR_MIPMAP_LINEAR, mgl.LINEAR)
        tex.repeat_x = True
        tex.repeat_y = False
        self._image = (image, tex)
        return tex

    @staticmethod
    def _fog_colour(scene: Scene) -> np.ndarray:
        """Linear RGB of the haze: the horizon's, or (behind a photo) that of the photo's bottom rows."""
        b = scene.backdrop
        if b.image is None:
            return np.asarray(b.horizon, dtype=np.float64)
        rows = np.asarray(b.image)[-max(1, b.image.shape[0] // 8):]
        return _untonemap_np(rows.reshape(-1, 3).mean(axis=0) / 255.0, scene.light.exposure)

    def _draw_runs(self, slot: dict, key, runs, cull: str) -> None:
        """Draws runs (first index, count, closed) of a batch with one program; the faces named by
        cull ("back" or "front") of closed meshes are not drawn."""
        mgl, ctx = self._mgl, self._ctx
        vao = self._vao(slot, key)
        ctx.cull_face = cull
        for first, count, closed in runs:
            if closed:
                ctx.enable(mgl.CULL_FACE)
            else:
                ctx.disable(mgl.CULL_FACE)
            vao.render(mgl.TRIANGLES, vertices=count, first=first)

    def _ids_pass(self, fb: dict, slots: dict, uniforms: dict, batches) -> None:
        ids = fb["ids"]
        ids.use()
        ids.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
        prog = self._program("ids")
        for name in ("view_proj", "cam_z", "cam_pos"):
            self._set(prog, name, uniforms[name])
        for name, batch in batches:
            runs = []
            for first, count, _, closed in batch.runs:
                _append_run(runs, first, count, closed)
            self._draw_runs(slots[name], "ids", runs, cull="back")
        self._ctx.disable(self._mgl.CULL_FACE)

    @staticmethod
    def _read(fb, attachment: int, h: int, w: int, components: int, dtype: str) -> np.ndarray:
        """One attachment as an array with row 0 at the top."""
        data = np.frombuffer(fb.read(components=components, attachment=attachment, dtype=dtype, alignment=1),
                             np.uint8 if dtype == "f1" else np.float32)
        return data.reshape(h, w, components)[::-1].copy()

    # -- public -------------------------------------------------------------------------------

    def render(self, camera: Camera, scene: Scene, people: list[Mesh]) -> RenderedFrame:
        """Renders people in a scene.

        Args:
            camera: the camera (its image_size is the output size).
            scene: ground, backdrop, props and light.
            people: meshes with labels 1..255 (any label is written as given).

        Returns:
            RenderedFrame: rgb [H, W, 3] uint8, labels [H, W] uint8, depth [H, W] float32 m (inf: sky).
        """
        with self._context():          # current on this thread (another Rasterizer may have been)
            return self._render(camera, scene, people)

    def _render(self, camera: Camera, scene: Scene, people: list[Mesh]) -> RenderedFrame:
        ctx, mgl = self._ctx, self._mgl
        w, h = (int(s) for s in camera.image_size)
        props, rows_s = self._scenery(scene, camera)
        crowd, mats_p = _batch(list(people), len(rows_s), "person", self._topologies)
        materials = np.concatenate([rows_s, _material_rows(mats_p)]) if mats_p else rows_s
        if len(materials) > self._materials_tex.height:
            self._materials_tex.release()
            self._materials_tex = ctx.texture((3, 2 * len(materials)), 4, dtype="f4")
            self._materials_tex.filter = (mgl.NEAREST, mgl.NEAREST)
        self._materials_tex.write(materials.tobytes(), viewport=(0, 0, 3, len(materials)))
        slots = {"props": self._upload("props", props), "people": self._upload("people", crowd)}
        slots["props"]["count"], slots["people"]["count"] = len(props.idx), len(crowd.idx)
        light = scene.light
        shadow = self._shadow_pass(light, camera, crowd, props, slots)

        sun = -np.asarray(light.direction, dtype=np.float64)
        sun /= np.linalg.norm(sun)
        uniforms = dict(view_proj=gl_view_projection(camera),
                        cam_z=tuple(float(c) for c in np.asarray(camera.rotation)[2]),
                        cam_pos=tuple(float(c) for c in camera.position), materials=0, shadow_atlas=1,
                        sun_dir=tuple(sun), sun_col=tuple(float(c) for c in np.asarray(light.colour) * light.intensity),
                        sky_col=tuple(light.sky_colour), bounce_col=tuple(light.bounce_colour),
                        ambient=float(light.ambient), fog_col=tuple(float(c) for c in self._fog_colour(scene)),
                        fog_dist=float(max(scene.backdrop.fog_distance_m, 1e-3)), exposure=float(light.exposure),
                        **(shadow or {}))
        self._materials_tex.use(0)
        if shadow is not None:
            self._atlas[1].use(1)
        backdrop = self._backdrop(scene, camera)

        fb = self._framebuffers((w, h))
        fb["colour"].use()
        fb["colour"].clear(0.0, 0.0, 0.0, 1.0, depth=1.0)
        ctx.disable(mgl.CULL_FACE)
        ctx.enable(mgl.DEPTH_TEST)
        ctx.depth_func = "<"
        ready = set()
        batches = (("people", crowd), ("props", props))                    # front to back, roughly
        for name, batch in batches:
            for first, count, pattern, closed in batch.runs:
                key = ("colour", pattern, 0 if shadow is None else shaders.shadow_taps(light))
                if key not in ready:
                    prog = self._program(key)
                    for uname, value in uniforms.items():
                        self._set(prog, uname, value)
                    ready.add(key)
                self._draw_runs(slots[name], key, [(first, count, closed)], cull="back")
        ctx.disable(mgl.CULL_FACE)
        ctx.depth_func = "<="
        backdrop.render(mgl.TRIANGLES, vertices=3)               # the sky where nothing was drawn
        ctx.depth_func = "<"
        if self._samples:
            ctx.copy_framebuffer(fb["resolved"], fb["colour"])
            self._ids_pass(fb, slots, uniforms, batches)
        rgb = self._read(fb["resolved"], 0, h, w, 3, "f1")
        labels = self._read(fb["ids"], 0, h, w, 1, "f1")[..., 0]
        depth = self._read(fb["ids"], 1, h, w, 1, "f4")[..., 0]
        depth[depth <= 0.0] = np.inf
        return RenderedFrame(rgb, labels, depth)

    def silhouettes(self, camera: Camera, people: list[Mesh]) -> tuple[np.ndarray, np.ndarray]:
        """Each person drawn alone (no scenery, no other person): pixel counts and boxes.

        Args:
            camera: the camera (its image_size is the image size).
            people: P meshes.

        Returns:
            counts: [P] int64, pixels whose centre the person covers.
            boxes: [P, 4] float64 px (x0, y0, x1, y1): the columns and rows of the first and last
                covered pixel centres (row 0 at the top); NaN for a person who covers none.
        """
        with self._context():
            return self._silhouettes(camera, people)

    def _silhouettes(self, camera: Camera, people: list[Mesh]) -> tuple[np.ndarray, np.ndarray]:
        ctx, mgl = self._ctx, self._mgl
        w, h = (int(s) for s in camera.image_size)
        counts = np.zeros(len(people), np.int64)
        boxes = np.full((len(people), 4), np.nan)
        if not people:
            return counts, boxes
        crowd, _ = _batch(list(people), 0, "person", self._topologies)
        crowd.meta[:, 1] = 255.0
        slot = self._upload("people", crowd)
        fb = self._framebuffers((w, h))
        ids = fb["ids"]
        ids.use()
        prog = self._program("ids")
        self._set(prog, "view_proj", gl_view_projection(camera))
        self._set(prog, "cam_z", tuple(float(c) for c in np.asarray(camera.rotation)[2]))
        self._set(prog, "cam_pos", tuple(float(c) for c in camera.position))
        ctx.disable(mgl.DEPTH_TEST)                         # coverage only
        for k, (first, count) in enumerate(crowd.ranges):
            ids.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
            self._draw_runs(slot, "ids", [(first, count, people[k].closed)], cull="back")
            mask = self._read(ids, 0, h, w, 1, "f1")[..., 0]
            rows = np.flatnonzero(mask.any(axis=1))
            if len(rows):
                cols = np.flatnonzero(mask.any(axis=0))
                counts[k] = int(np.count_nonzero(mask))
                boxes[k] = (cols[0], rows[0], cols[-1], rows[-1])
        ctx.enable(mgl.DEPTH_TEST)
        ctx.disable(mgl.CULL_FACE)
        return counts, boxes
