"""Measure the sampler constants of normalization.py on CMU train: `python -m realtime3d.data.stats`.

BODY_UNIT_MM is the sampler's unit (it reads the 3D, as only the sampler may); RMS_RADIUS is a
ratio of 2D distances in the sampler's views. Neither sets the size of an answer
(anthropometry.BONE_SUM_MM does)."""
from __future__ import annotations

import torch

from ..camera import perspective_project
from ..skeleton import H36M17
from .mocap import load_split
from .views import random_rotations


def main() -> None:
    joints = torch.from_numpy(load_split("train", progress=True)["joints3d"]).double()
    root, head = H36M17.root, H36M17.head
    body_unit = (joints[:, head] - joints[:, root]).norm(dim=-1).mean().item()
    body = (joints - joints[:, root:root + 1]) / body_unit
    rot = random_rotations(len(body), torch.Generator().manual_seed(0)).double()
    body = body @ rot.transpose(-1, -2) + body.new_tensor([0.0, 0.0, 10.0])
    p = perspective_project(body)
    p = p - p[:, root:root + 1]
    rms = (p ** 2).sum(-1).mean(-1).sqrt()
    ratio = (p[:, head].norm(dim=-1) / rms).mean().item()
    print(f"BODY_UNIT_MM = {body_unit:.1f}")
    print(f"RMS_RADIUS = {0.1 / ratio:.4f}")


if __name__ == "__main__":
    main()
