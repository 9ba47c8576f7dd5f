"""Bodies and cameras: limb scaling, the person's forward, the capsule axes of the parts, and
the orbiting camera that frames the person (see the package docstring for the conventions).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ...camera import default_focal, rotation_from_angles
from ...crops import CROP_MARGIN, SCALE_JITTER, SHIFT_JITTER, square_box
from ...kernels import check_tensor
from ...skeleton import H36M17
from .appearance import _HEAD_PART, NUM_PARTS, Appearance, _Batch, _uniform


#: The virtual frame the camera's focal length refers to (width, height), pixels.
FRAME_SIZE = (1280, 720)
AZIMUTH_DEG = (0.0, 360.0)
ELEVATION_DEG = (0.0, 20.0)
DISTANCE_MM = (3000.0, 6000.0)
HFOV_DEG = (50.0, 70.0)
#: The crop rule of realtime3d.crops: the side is the joints' bounding box's longer side times
#: MARGIN, jittered by +-MARGIN_JITTER (relative); its centre moves by up to +-SHIFT of the side.
MARGIN, MARGIN_JITTER, SHIFT = CROP_MARGIN, SCALE_JITTER, SHIFT_JITTER

_J = H36M17.index
_UP = (0.0, -1.0, 0.0)  # the world's up: y is down
_LIMB_CHILDREN = tuple(_J[n] for n in ("right_knee", "right_ankle", "left_knee", "left_ankle",
                                        "left_elbow", "left_wrist", "right_elbow", "right_wrist"))


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


def _as_joints(joints3d_mm, name: str = "joints3d_mm") -> torch.Tensor:
    if isinstance(joints3d_mm, np.ndarray):
        joints3d_mm = torch.from_numpy(joints3d_mm)
    check_tensor(name, joints3d_mm, (None, H36M17.num_joints, 3))
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
