"""BVH motion capture: a parser with forward kinematics, and a writer.

Conventions (those of the Biovision format as Blender and CMU use it):
- each joint's rotation is the product of its rotation channels in the order the
  CHANNELS line lists them, as intrinsic rotations: "Zrotation Yrotation Xrotation"
  gives R = Rz @ Ry @ Rx;
- a joint's local translation is its OFFSET plus its position channels, if any;
- an End Site becomes a joint named "<parent>_end" with no channels.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from ..errors import UserError

class BVHError(UserError):
    """A malformed BVH file; the message names the file and the line."""


_AXES = {"Xrotation": "X", "Yrotation": "Y", "Zrotation": "Z"}
_POSITIONS = ("Xposition", "Yposition", "Zposition")


@dataclass
class BVHMotion:
    joint_names: list[str]
    parents: list[int]             # -1 for the root
    offsets: np.ndarray            # [J, 3] rest offsets from the parent
    channels: list[list[str]]      # per joint, in file order
    frame_time: float
    motion: np.ndarray             # [F, C] all channel values, file order

    @property
    def num_frames(self) -> int:
        return int(self.motion.shape[0])

    def channel_slices(self) -> list[slice]:
        out, start = [], 0
        for ch in self.channels:
            out.append(slice(start, start + len(ch)))
            start += len(ch)
        return out

    def forward_kinematics(self) -> tuple[np.ndarray, np.ndarray]:
        """Global joint positions [F, J, 3] and rotations [F, J, 3, 3], in file units."""
        num_frames, num_joints = self.num_frames, len(self.joint_names)
        positions = np.zeros((num_frames, num_joints, 3))
        rotations = np.zeros((num_frames, num_joints, 3, 3))
        for j, (chans, sl) in enumerate(zip(self.channels, self.channel_slices())):
            values = self.motion[:, sl]
            local_t = np.broadcast_to(self.offsets[j], (num_frames, 3)).copy()
            rot_axes, rot_cols = "", []
            for k, name in enumerate(chans):
                if name in _POSITIONS:
                    local_t[:, _POSITIONS.index(name)] += values[:, k]
                else:
                    rot_axes += _AXES[name]
                    rot_cols.append(k)
            if rot_axes:
                local_r = Rotation.from_euler(rot_axes, values[:, rot_cols], degrees=True).as_matrix()
            else:
                local_r = np.broadcast_to(np.eye(3), (num_frames, 3, 3))
            p = self.parents[j]
            if p < 0:
                positions[:, j] = local_t
                rotations[:, j] = local_r
            else:
                positions[:, j] = positions[:, p] + np.einsum("fij,fj->fi", rotations[:, p], local_t)
                rotations[:, j] = rotations[:, p] @ local_r
        return positions, rotations


def read_bvh(path: str | os.PathLike) -> BVHMotion:
    """Parse a BVH file. Raises BVHError("file:line: reason") on malformed input."""
    path = os.fspath(path)
    try:
        with open(path, "r", encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError as exc:
        raise BVHError(f"{path}: cannot read: {exc.strerror}") from None
    return _Parser(path, lines).parse()


class _Parser:
    def __init__(self, path: str, lines: list[str]):
        self.path, self.lines, self.i = path, lines, 0

    def fail(self, msg: str, line: int | None = None) -> BVHError:
        n = (self.i if line is None else line) + 1
        return BVHError(f"{self.path}:{n}: {msg}")

    def next_tokens(self) -> list[str]:
        while self.i < len(self.lines):
            toks = self.lines[self.i].split()
            self.i += 1
            if toks:
                return toks
        self.i = len(self.lines)
        raise self.fail("unexpected end of file")

    def numbers(self, toks: list[str], count: int, what: str) -> list[float]:
        if len(toks) != count:
            raise self.fail(f"{what} expects {count} numbers, got {len(toks)}", self.i - 1)
        try:
            return [float(t) for t in toks]
        except ValueError:
            raise self.fail(f"{what} has a value that is not a number: {' '.join(toks)}", self.i - 1) from None

    def parse(self) -> BVHMotion:
        toks = self.next_tokens()
        if toks[0].upper() != "HIERARCHY":
            raise self.fail("expected HIERARCHY", self.i - 1)
        toks = self.next_tokens()
        if toks[0].upper() != "ROOT" or len(toks) < 2:
            raise self.fail("expected ROOT <name>", self.i - 1)
        names, parents, offsets, channels = [], [], [], []
        self._joint(" ".join(toks[1:]), -1, names, parents, offsets, channels)
        toks = self.next_tokens()
        if toks[0].upper() != "MOTION":
            raise self.fail(f"expected MOTION, got {toks[0]!r}", self.i - 1)
        toks = self.next_tokens()
        if toks[0].rstrip(":").lower() != "frames" or len(toks) != 2 or not toks[1].isdigit():
            raise self.fail("expected 'Frames: <count>'", self.i - 1)
        num_frames = int(toks[1])
        toks = self.next_tokens()
        if " ".join(toks[:2]).rstrip(":").lower() != "frame time" or len(toks) != 3:
            raise self.fail("expected 'Frame Time: <seconds>'", self.i - 1)
        frame_time = self.numbers(toks[2:], 1, "Frame Time")[0]
        if not frame_time > 0:
            raise self.fail("Frame Time must be positive", self.i - 1)
        motion = self._motion(num_frames, sum(len(c) for c in channels))
        return BVHMotion(names, parents, np.asarray(offsets, dtype=np.float64), channels, frame_time, motion)

    def _joint(self, name, parent, names, parents, offsets, channels) -> None:
        index = len(names)
        names.append(name)
        parents.append(parent)
        offsets.append([0.0, 0.0, 0.0])
        channels.append([])
        if self.next_tokens() != ["{"]:
            raise self.fail(f"expected '{{' after joint {name!r}", self.i - 1)
        seen_offset = False
        while True:
            toks = self.next_tokens()
            key = toks[0].upper()
            if key == "OFFSET":
                offsets[index] = self.numbers(toks[1:], 3, "OFFSET")
                seen_offset = True
            elif key == "CHANNELS":
                if len(toks) < 2 or not toks[1].isdigit() or int(toks[1]) != len(toks) - 2:
                    raise self.fail("CHANNELS count does not match the channel names", self.i - 1)
                for ch in toks[2:]:
                    if ch not in _AXES and ch not in _POSITIONS:
                        raise self.fail(f"unknown channel {ch!r}", self.i - 1)
                if len(set(toks[2:])) != len(toks) - 2:
                    raise self.fail("a channel is listed twice", self.i - 1)
                channels[index] = toks[2:]
            elif key == "JOINT":
                if len(toks) < 2:
                    raise self.fail("JOINT without a name", self.i - 1)
                self._joint(" ".join(toks[1:]), index, names, parents, offsets, channels)
            elif key == "END":
                self._end_site(name, index, names, parents, offsets, channels)
            elif key == "}":
                if not seen_offset:
                    raise self.fail(f"joint {name!r} has no OFFSET", self.i - 1)
                return
            else:
                raise self.fail(f"unexpected {toks[0]!r} in joint {name!r}", self.i - 1)

    def _end_site(self, parent_name, parent, names, parents, offsets, channels) -> None:
        names.append(parent_name + "_end")
        parents.append(parent)
        channels.append([])
        if self.next_tokens() != ["{"]:
            raise self.fail("expected '{' after End Site", self.i - 1)
        toks = self.next_tokens()
        if toks[0].upper() != "OFFSET":
            raise self.fail("End Site needs an OFFSET", self.i - 1)
        offsets.append(self.numbers(toks[1:], 3, "OFFSET"))
        if self.next_tokens() != ["}"]:
            raise self.fail("expected '}' closing End Site", self.i - 1)

    def _motion(self, num_frames: int, num_channels: int) -> np.ndarray:
        start = self.i
        rows = list(self.lines[start:])
        while rows and not rows[-1].strip():  # trailing blank lines are allowed
            rows.pop()
        for k, row in enumerate(rows[:num_frames]):
            toks = row.split()
            if len(toks) != num_channels:
                raise self.fail(f"frame has {len(toks)} values, expected {num_channels}", start + k)
        if len(rows) != num_frames:
            at = start + min(len(rows), num_frames)
            raise self.fail(f"header says {num_frames} frames, file has {len(rows)}", at)
        if num_frames == 0:
            return np.zeros((0, num_channels))
        try:
            flat = np.array(" ".join(rows).split(), dtype=np.float64)
        except ValueError:
            flat = None
        if flat is None or not np.isfinite(flat).all():
            for k, row in enumerate(rows):  # find the bad line
                try:
                    vals = [float(t) for t in row.split()]
                except ValueError:
                    raise self.fail("frame has a value that is not a number", start + k) from None
                if not np.isfinite(vals).all():
                    raise self.fail("frame has a NaN or infinite value", start + k)
        return flat.reshape(num_frames, num_channels)


# ----------------------------------------------------------------------------- writing


def write_bvh(path: str | os.PathLike, names: list[str], parents: list[int], offsets: np.ndarray,
              root_positions: np.ndarray, local_rotations: np.ndarray, frame_time: float,
              end_sites: dict[int, np.ndarray] | None = None) -> None:
    """Write a BVH with a 6-channel root and 3 rotation channels (Z Y X) per joint.

    offsets [J, 3], root_positions [F, 3], local_rotations [F, J, 3, 3]. Parents must
    precede children. end_sites maps a leaf joint to its End Site offset. Atomic.
    """
    from ._atomic import atomic_write_text

    end_sites = end_sites or {}
    children: dict[int, list[int]] = {j: [] for j in range(len(names))}
    for j, p in enumerate(parents):
        if p >= 0:
            children[p].append(j)
    out: list[str] = ["HIERARCHY"]

    def emit(j: int, depth: int) -> None:
        pad = "  " * depth
        kind = "ROOT" if parents[j] < 0 else "JOINT"
        out.append(f"{pad}{kind} {names[j]}")
        out.append(pad + "{")
        o = offsets[j]
        out.append(f"{pad}  OFFSET {o[0]:.6f} {o[1]:.6f} {o[2]:.6f}")
        if parents[j] < 0:
            out.append(f"{pad}  CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation")
        else:
            out.append(f"{pad}  CHANNELS 3 Zrotation Yrotation Xrotation")
        for c in children[j]:
            emit(c, depth + 1)
        if not children[j]:
            e = end_sites.get(j, np.zeros(3))
            out.extend([f"{pad}  End Site", f"{pad}  {{",
                        f"{pad}    OFFSET {e[0]:.6f} {e[1]:.6f} {e[2]:.6f}", f"{pad}  }}"])
        out.append(pad + "}")

    order: list[int] = []

    def visit(j: int) -> None:
        order.append(j)
        for c in children[j]:
            visit(c)

    roots = [j for j, p in enumerate(parents) if p < 0]
    if len(roots) != 1:
        raise ValueError("write_bvh needs exactly one root")
    emit(roots[0], 0)
    visit(roots[0])
    num_frames = local_rotations.shape[0]
    eulers = Rotation.from_matrix(local_rotations[:, order].reshape(-1, 3, 3)).as_euler("ZYX", degrees=True)
    eulers = eulers.reshape(num_frames, len(order) * 3)
    data = np.concatenate([root_positions, eulers], axis=1)
    out += ["MOTION", f"Frames: {num_frames}", f"Frame Time: {frame_time:.8f}"]
    out += [" ".join(f"{v:.6f}" for v in row) for row in data]
    atomic_write_text(path, "\n".join(out) + "\n")
