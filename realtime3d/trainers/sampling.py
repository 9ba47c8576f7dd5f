"""2D training samples under a named data protocol, drawn from seeded streams, one per data shard.

The one place where the mocap's 3D is read by training: it is turned into 2D views here,
under one of two protocols (PROTOCOLS), and nothing downstream of a 2D-only method reads it.
- random-projection: every sample is a fresh random camera's view of a random train pose
  (PoseSampler). Drover's trainer makes its 2D so. It carries an implicit 3D prior: the 2D
  pool holds every view of every pose, which no set of real cameras gives (SVMAC sec. 2
  criticises Drover for exactly this).
- fixed-camera: every train clip is seen through FIXED_CAMERAS seeded cameras and nothing
  else (fixed_camera_pool; data/views.fixed_camera_rotations says how they are placed). The
  3D is never re-projected: the inputs, a discriminator's reals and a prior's data all come
  from these views (Pool2DSampler). This is the setting of SVMAC and of Sosa & Hogg.
A user's own 2D (train.data = pose-sequence files with joints2d, no 3D needed) is a pool of
the same kind (pool_from_files), recorded as the protocol "own-2d".

A stream is a named source of randomness (the input poses, the real pool, the random
projection layer ...). It holds one torch.Generator per data shard this process
draws, seeded from (seed, stream name, shard). A step's global batch is the
concatenation of every shard's part, so a run with S shards draws the same global
batches on 1 process or on S processes (DDP: rank r draws shards r, r + W, ...).
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from realtime3d.data.views import (ELEVATION_DEG, drop_joints, fixed_camera_rotations, project_views,
                                   random_rotations)
from realtime3d.skeleton import H36M17, Skeleton
from realtime3d.errors import UserError

#: The data protocols of a mocap run (see the module docstring); "own-2d" is a user's 2D files.
PROTOCOLS = ("random-projection", "fixed-camera")
OWN_2D = "own-2d"
#: The seed of the validation views (the val subjects' cameras, and the criterion's).
VAL_SEED = 1234


def stream_seed(seed: int, name: str, shard: int) -> int:
    """A 63-bit seed for (run seed, stream name, shard): distinct streams never share a sequence."""
    state = np.random.SeedSequence([seed, zlib.crc32(name.encode()), shard]).generate_state(2, np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1]))


class RandomStream:
    """One generator per owned shard. draw(fn, n) splits a global count n over all shards
    and returns this process's part: cat([fn(n / shards, generator) for each owned shard])."""

    def __init__(self, name: str, seed: int, shards: list[int], total_shards: int):
        if not shards or max(shards) >= total_shards:
            raise ValueError(f"stream {name}: shards {shards} must lie in 0..{total_shards - 1}")
        self.name, self.shards, self.total = name, list(shards), total_shards
        self.generators = [torch.Generator().manual_seed(stream_seed(seed, name, s)) for s in shards]

    @classmethod
    def single(cls, seed: int) -> "RandomStream":
        """A one-shard stream seeded exactly with torch.Generator().manual_seed(seed)."""
        stream = cls("single", 0, [0], 1)
        stream.generators[0].manual_seed(seed)
        return stream

    def local(self, n: int) -> int:
        """This process's part of a global count n."""
        if n % self.total:
            raise UserError(f"{n} samples cannot be split over {self.total} data shards evenly")
        return n // self.total * len(self.shards)

    def draw(self, fn: Callable[[int, torch.Generator], object], n: int):
        """fn(count, generator) -> a tensor or a tuple of tensors, concatenated over the owned shards."""
        self.local(n)
        parts = [fn(n // self.total, g) for g in self.generators]
        if isinstance(parts[0], tuple):
            return tuple(torch.cat(p) for p in zip(*parts))
        return torch.cat(parts)

    def state_dict(self) -> dict[int, torch.Tensor]:
        return {s: g.get_state() for s, g in zip(self.shards, self.generators)}

    def load_state_dict(self, states: dict[int, torch.Tensor]) -> None:
        missing = [s for s in self.shards if s not in states]
        if missing:
            raise UserError(f"stream {self.name}: the checkpoint has no state for shard(s) {missing}")
        for s, g in zip(self.shards, self.generators):
            g.set_state(states[s])


class PoseSampler:
    """Random 2D views of mocap poses. Training reads only the 2D it returns,
    except trainers that say they are supervised (they also take the 3D)."""

    def __init__(self, joints3d_mm: np.ndarray, stream: RandomStream | int, elevation_deg=ELEVATION_DEG,
                 mirror: bool = False, device: torch.device | str = "cpu"):
        self.device = torch.device(device)
        self.joints = torch.from_numpy(np.asarray(joints3d_mm, dtype=np.float32))    # [N, J, 3]
        if mirror:  # add every pose's mirror image: another person who could have been filmed
            self.joints = torch.cat([self.joints, mirror_poses(self.joints)])
        self.stream = RandomStream.single(stream) if isinstance(stream, int) else stream
        self.elevation_deg = elevation_deg

    def sample(self, n: int, max_drop: int = 0, drop_prob: float = 0.0, cameras: int = 1):
        """n is the global count; returns this process's part, k = stream.local(n):
        (2D [k, J, 2], mask [k, J], 3D body units at depth d [k, J, 3]).

        cameras=2 composes two random camera rotations: the views that a random
        projection layer makes of a pose that was itself seen by a random camera.
        """
        def one_shard(k: int, gen: torch.Generator):
            idx = torch.randint(0, len(self.joints), (k,), generator=gen)
            rot = random_rotations(k, gen, elevation_deg=self.elevation_deg)
            for _ in range(cameras - 1):
                rot = random_rotations(k, gen, elevation_deg=self.elevation_deg) @ rot
            pose2d, body = project_views(self.joints[idx], rot)
            mask = drop_joints(k, pose2d.shape[1], max_drop, drop_prob, gen)
            return pose2d, mask, body

        return tuple(t.to(self.device) for t in self.stream.draw(one_shard, n))


class SequenceSampler:
    """Random tracks of mocap through one random camera each: T consecutive frames of a train clip,
    all seen by the same camera (random-projection's cameras, one per track), as a person filmed by a
    still camera. The 2D of each frame is normalized as PoseSampler's (root-relative: the track's
    path is not kept). Training reads only the 2D it returns.

    Args:
        joints3d_mm: [N, J, 3] mm, the split's frames in clip order (load_split).
        clips: [N] each frame's clip name; a track never spans two clips.
        stream: the named random stream (or a seed).
        frames: T, the track's length.
        elevation_deg: the cameras' elevation range (views.ELEVATION_DEG).
        mirror: add every clip's mirror image (left and right swapped), as a clip of its own.
    """

    def __init__(self, joints3d_mm: np.ndarray, clips: np.ndarray, stream: RandomStream | int, frames: int,
                 elevation_deg=ELEVATION_DEG, mirror: bool = False, device: torch.device | str = "cpu"):
        joints = torch.from_numpy(np.asarray(joints3d_mm, dtype=np.float32))      # [N, J, 3]
        clips = np.asarray(clips).astype(str)
        if mirror:
            joints, clips = torch.cat([joints, mirror_poses(joints)]), np.concatenate([clips, np.char.add(clips, "~m")])
        self.joints, self.frames = joints, int(frames)
        same = clips[:len(clips) - self.frames + 1] == clips[self.frames - 1:]       # [N - T + 1]
        self.starts = torch.from_numpy(np.flatnonzero(same))                         # tracks inside one clip
        if len(self.starts) == 0:
            raise UserError(f"no clip is {self.frames} frames long")
        self.stream = RandomStream.single(stream) if isinstance(stream, int) else stream
        self.elevation_deg, self.device = elevation_deg, torch.device(device)

    def sample(self, n: int, max_drop: int = 0, drop_prob: float = 0.0):
        """n tracks (the global count); returns this process's part, k = stream.local(n):
        (2D [k, T, J, 2], mask [k, T, J]: the same joints hidden in every frame of a track)."""
        t, j = self.frames, self.joints.shape[1]

        def one_shard(k: int, gen: torch.Generator):
            start = self.starts[torch.randint(0, len(self.starts), (k,), generator=gen)]
            idx = start[:, None] + torch.arange(t)                                    # [k, T]
            rot = random_rotations(k, gen, elevation_deg=self.elevation_deg).repeat_interleave(t, dim=0)
            pose2d, _ = project_views(self.joints[idx.reshape(-1)], rot)              # [k * T, J, 2]
            mask = drop_joints(k, j, max_drop, drop_prob, gen)[:, None].expand(k, t, j)
            return pose2d.reshape(k, t, j, 2), mask.contiguous()

        return tuple(x.to(self.device) for x in self.stream.draw(one_shard, n))


def mirror_poses(poses: torch.Tensor, skeleton: Skeleton = H36M17) -> torch.Tensor:
    """Mirror images of poses [N, J, D] (D = 2 or 3): x negated and left and right swapped, so
    the result is again a person (negating x alone would put the left leg on the right)."""
    perm = torch.from_numpy(skeleton.flip_permutation)
    sign = torch.ones(poses.shape[-1], dtype=poses.dtype)
    sign[0] = -1.0
    return poses[:, perm] * sign


@dataclass
class Pool2D:
    """A fixed set of normalized 2D poses [N, J, 2], every joint known, and where they came from.
    body [N, J, 3] is the 3D of each view (body units, camera frame at depth DEPTH) when the
    pool was made from mocap: for supervised methods and validation logs, never for a 2D-only
    method's losses or selection; None for a user's 2D."""

    pose2d: torch.Tensor
    body: torch.Tensor | None
    protocol: str

    def __post_init__(self) -> None:
        if self.pose2d.ndim != 3 or self.pose2d.shape[-1] != 2:
            raise ValueError(f"pose2d must be [N, J, 2], got {tuple(self.pose2d.shape)}")
        if len(self.pose2d) == 0:
            raise ValueError(f"the {self.protocol} 2D pool holds no poses")

    def subset(self, max_poses: int) -> "Pool2D":
        """At most max_poses of the pool, evenly spaced (the same ones every call)."""
        step = max(1, -(-len(self.pose2d) // max_poses))
        return Pool2D(self.pose2d[::step], None if self.body is None else self.body[::step], self.protocol)


def fixed_camera_pool(joints3d_mm: np.ndarray, clips: np.ndarray, seed: int) -> Pool2D:
    """The fixed-camera protocol's pool: every frame [N, J, 3] mm of every clip [N] through its
    clip's FIXED_CAMERAS cameras -> [N * FIXED_CAMERAS] views."""
    joints = torch.from_numpy(np.asarray(joints3d_mm, dtype=np.float32))              # [N, J, 3]
    rotations = fixed_camera_rotations(np.asarray(clips).astype(str), seed)           # [N, C, 3, 3]
    cams = rotations.shape[1]
    pose2d, body = project_views(joints.repeat_interleave(cams, dim=0), rotations.reshape(-1, 3, 3))
    return Pool2D(pose2d, body, "fixed-camera")


def pool_from_files(spec: str, min_visibility: float = 0.5) -> Pool2D:
    """A user's 2D: pose-sequence files (realtime3d.io.poses; what `realtime3d video` writes) with
    joints2d, image_size and focal, and no 3D needed. spec: one .npz, a folder of them, or several
    separated by commas. Frames where a joint is missing (NaN, or a visibility below min_visibility)
    are left out; with min_visibility 0 every frame with finite 2D stays, the detector's guesses of
    the joints it did not see included."""
    from realtime3d.camera import pixels_to_normalized
    from realtime3d.io.poses import read_poses
    from realtime3d.normalization import normalize_2d
    paths: list[Path] = []
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        path = Path(part)
        paths += sorted(path.rglob("*.npz")) if path.is_dir() else [path]
    if not paths:
        raise UserError(f"train data {spec!r}: no pose-sequence files (.npz) there")
    poses = []
    for path in paths:
        seq = read_poses(path, require_3d=False)
        if seq.joints2d is None:
            raise UserError(f"{path}: no joints2d (training from 2D needs joints2d, image_size and focal)")
        known = np.isfinite(seq.joints2d).all(-1)                                     # [N, J]
        if seq.extra and "visibility" in seq.extra and min_visibility > 0:
            known &= np.asarray(seq.extra["visibility"]) >= min_visibility
        full = known.all(-1)
        px = torch.from_numpy(np.asarray(seq.joints2d[full], dtype=np.float32))        # [n, J, 2]
        poses.append(normalize_2d(pixels_to_normalized(px, seq.image_size, seq.focal))[0])
    pose2d = torch.cat(poses)
    if len(pose2d) == 0:
        raise UserError(f"train data {spec!r}: no frame has all {H36M17.num_joints} joints")
    return Pool2D(pose2d, None, OWN_2D)


class Pool2DSampler:
    """Random draws from a fixed 2D pool, with hidden joints: the sampler of the fixed-camera
    and own-2d protocols. sample() returns what PoseSampler.sample does, body None when the
    pool has no 3D."""

    def __init__(self, pool: Pool2D, stream: RandomStream | int, mirror: bool = False,
                 device: torch.device | str = "cpu"):
        self.device = torch.device(device)
        self.pose2d, self.body = pool.pose2d, pool.body
        if mirror:  # a mirrored person is as likely as the person (a 2D operation on the views)
            self.pose2d = torch.cat([self.pose2d, mirror_poses(self.pose2d)])
            if self.body is not None:
                self.body = torch.cat([self.body, mirror_poses(self.body)])
        self.stream = RandomStream.single(stream) if isinstance(stream, int) else stream
        self.protocol = pool.protocol

    def sample(self, n: int, max_drop: int = 0, drop_prob: float = 0.0, cameras: int = 1):
        """n is the global count; returns this process's part: (2D [k, J, 2], mask [k, J],
        3D [k, J, 3] or None). cameras > 1 (composed random cameras) needs random projection."""
        if cameras != 1:
            raise UserError(f"composed cameras re-project the 3D: the {self.protocol} protocol has fixed views "
                            "(set params.composed_real = false)")

        def one_shard(k: int, gen: torch.Generator):
            idx = torch.randint(0, len(self.pose2d), (k,), generator=gen)
            mask = drop_joints(k, self.pose2d.shape[1], max_drop, drop_prob, gen)
            return self.pose2d[idx], mask, idx

        pose2d, mask, idx = self.stream.draw(one_shard, n)
        body = None if self.body is None else self.body[idx].to(self.device)
        return pose2d.to(self.device), mask.to(self.device), body


def validation_pool(protocol: str, val_data: str = "cmu", seed: int = VAL_SEED, min_visibility: float = 0.5) -> Pool2D:
    """The validation 2D: the CMU val subjects under the protocol (the fixed-camera protocol's
    own cameras of each val clip, or one seeded random camera per frame), or a user's own 2D
    files (protocol own-2d; min_visibility as pool_from_files')."""
    if protocol == OWN_2D:
        return pool_from_files(val_data, min_visibility)
    from realtime3d.data.mocap import load_split
    split = load_split("val")
    if protocol == "fixed-camera":
        return fixed_camera_pool(split["joints3d"], split["clip"], seed)
    joints = torch.from_numpy(split["joints3d"]).float()
    pose2d, body = project_views(joints, random_rotations(len(joints), torch.Generator().manual_seed(seed)))
    return Pool2D(pose2d, body, protocol)


#: A reflection of the camera's x axis: what mirror_poses does to a view, as a matrix.
_MIRROR = torch.diag(torch.tensor([-1.0, 1.0, 1.0]))


class ViewPairSampler:
    """Pairs of 2D views of one train pose by two cameras, with their relative rotation: the
    multi-view 2D with known relative rotations of Chen et al. (realtime3d/trainers/chen.py). sample() never
    returns the 3D.

    - random-projection: two independent random cameras (azimuth 0-360 deg, elevation in
      elevation_deg: the paper's virtual cameras on a torus) of a random train pose;
    - fixed-camera: two different ones of the pose's clip's FIXED_CAMERAS cameras (the views of
      fixed_camera_pool, the same numbers), so no view outside the protocol's is made.
    R_ij [B, 3, 3] takes camera i's frame to camera j's: X_j = R_ij X_i for the pose's 3D about its
    root (project_views' rotations R_i, R_j give R_ij = R_j R_i^T). mirror adds every pose's mirror
    image (as PoseSampler does); a mirrored pair is the two views mirrored in 2D (mirror_poses),
    whose relative rotation is M R_ij M, M the reflection of x."""

    def __init__(self, joints3d_mm: np.ndarray, stream: RandomStream | int, protocol: str = "random-projection",
                 clips: np.ndarray | None = None, seed: int = 0, elevation_deg=ELEVATION_DEG, mirror: bool = False,
                 device: torch.device | str = "cpu"):
        if protocol not in PROTOCOLS:
            raise UserError(f"view pairs need mocap under one of {', '.join(PROTOCOLS)}, got {protocol!r} "
                            "(your own 2D files have one view per pose)")
        self.joints = torch.from_numpy(np.asarray(joints3d_mm, dtype=np.float32))    # [N, J, 3]
        self.protocol, self.mirror, self.elevation_deg = protocol, mirror, elevation_deg
        self.device = torch.device(device)
        self.stream = RandomStream.single(stream) if isinstance(stream, int) else stream
        self.cameras = None
        if protocol == "fixed-camera":
            if clips is None or len(clips) != len(self.joints):
                raise UserError("the fixed-camera protocol's pairs need the clip name of every frame")
            self.cameras = fixed_camera_rotations(np.asarray(clips).astype(str), seed)   # [N, C, 3, 3]

    def sample(self, n: int):
        """n is the global count; returns this process's part, k = stream.local(n):
        (2D view i [k, J, 2], 2D view j [k, J, 2], R_ij [k, 3, 3]), normalized as project_views does."""
        count = len(self.joints) * (2 if self.mirror else 1)

        def one_shard(k: int, gen: torch.Generator):
            idx = torch.randint(0, count, (k,), generator=gen)
            frame, flip = idx % len(self.joints), idx >= len(self.joints)
            if self.cameras is None:
                rot_i = random_rotations(k, gen, elevation_deg=self.elevation_deg)
                rot_j = random_rotations(k, gen, elevation_deg=self.elevation_deg)
            else:
                cams = self.cameras.shape[1]
                i = torch.randint(0, cams, (k,), generator=gen)
                j = (i + torch.randint(1, cams, (k,), generator=gen)) % cams
                rot_i, rot_j = self.cameras[frame, i], self.cameras[frame, j]
            joints = self.joints[frame]
            view_i, _ = project_views(joints, rot_i)
            view_j, _ = project_views(joints, rot_j)
            rel = rot_j @ rot_i.transpose(-1, -2)                                        # [k, 3, 3]
            if flip.any():
                view_i[flip], view_j[flip] = mirror_poses(view_i[flip]), mirror_poses(view_j[flip])
                rel[flip] = _MIRROR @ rel[flip] @ _MIRROR
            return view_i, view_j, rel

        return tuple(t.to(self.device) for t in self.stream.draw(one_shard, n))


def labelled_views(joints3d_mm: np.ndarray, clips: np.ndarray, frames: np.ndarray, protocol: str, views: int,
                   seed: int) -> Pool2D:
    """The views of labelled train poses, with their 3D (a method that reads these labels says so):
    frames [N] (indices into joints3d_mm [F, J, 3] mm and clips [F]) under the protocol: their
    clips' FIXED_CAMERAS fixed cameras (fixed_camera_pool's views of those frames), or `views`
    seeded random cameras each. -> a Pool2D of N x cameras views, pose by pose."""
    frames = np.asarray(frames)
    if protocol == "fixed-camera":
        return fixed_camera_pool(np.asarray(joints3d_mm)[frames], np.asarray(clips)[frames], seed)
    if protocol != "random-projection":
        raise ValueError(f"labelled views need mocap under one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    if views < 1:
        raise ValueError(f"views must be at least 1, got {views}")
    joints = torch.from_numpy(np.asarray(joints3d_mm, dtype=np.float32)[frames]).repeat_interleave(views, dim=0)
    gen = torch.Generator().manual_seed(stream_seed(seed, "labelled-views", 0))
    pose2d, body = project_views(joints, random_rotations(len(joints), gen))
    return Pool2D(pose2d, body, protocol)
