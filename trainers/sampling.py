"""Random 2D training samples, drawn from seeded streams, one per data shard.

A stream is a named source of randomness (the input poses, the real pool, the random
projection layer ...). It holds one torch.Generator per data shard this process
draws, seeded from (seed, stream name, shard). A step's global batch is the
concatenation of every shard's part, so a run with S shards draws the same global
batches on 1 process or on S processes (DDP: rank r draws shards r, r + W, ...).
"""
from __future__ import annotations

import zlib
from typing import Callable

import numpy as np
import torch

from realtime3d.data.views import ELEVATION_DEG, drop_joints, project_views, random_rotations
from realtime3d.skeleton import H36M17, Skeleton


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
            raise ValueError(f"{n} samples cannot be split over {self.total} data shards evenly")
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
            raise ValueError(f"stream {self.name}: the checkpoint has no state for shard(s) {missing}")
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


def mirror_poses(joints3d: torch.Tensor, skeleton: Skeleton = H36M17) -> torch.Tensor:
    """Mirror images of 3D poses [N, J, 3]: x negated and left and right swapped, so the
    result is again a person (negating x alone would put the left leg on the right)."""
    perm = torch.from_numpy(skeleton.flip_permutation)
    return joints3d[:, perm] * joints3d.new_tensor([-1.0, 1.0, 1.0])
