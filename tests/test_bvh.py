"""Tests for realtime3d.io.bvh: parsing, forward kinematics, error reporting, writing."""
from __future__ import annotations

import itertools
import math
import warnings
import zlib

import numpy as np
import pytest
from scipy.spatial.transform import Rotation


from realtime3d.io.bvh import BVHError, BVHMotion, read_bvh, write_bvh


# ----------------------------------------------------------------------------- helpers


def _rx(deg: float) -> np.ndarray:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]], dtype=float)


def _ry(deg: float) -> np.ndarray:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]], dtype=float)


def _rz(deg: float) -> np.ndarray:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]], dtype=float)


_ELEMENTARY = {"X": _rx, "Y": _ry, "Z": _rz}


def _euler(order: str, angles) -> np.ndarray:
    """Intrinsic rotation for channel order 'ZXY' etc.: R = R1 @ R2 @ R3 (hand-rolled)."""
    r = np.eye(3)
    for axis, a in zip(order, angles):
        r = r @ _ELEMENTARY[axis](a)
    return r


def _channels(order: str) -> str:
    return " ".join(f"{a}rotation" for a in order)


def _write(tmp_path, lines: list[str], name: str = "t.bvh"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def _chain_lines(root_order: str, child_order: str, frames: list[list[float]]) -> list[str]:
    """root (3 positions + 3 rotations) -> child 'b' (3 rotations) -> End Site."""
    return [
        "HIERARCHY",
        "ROOT root",
        "{",
        "  OFFSET 0 0 0",
        f"  CHANNELS 6 Xposition Yposition Zposition {_channels(root_order)}",
        "  JOINT b",
        "  {",
        "    OFFSET 0 2 0",
        f"    CHANNELS 3 {_channels(child_order)}",
        "    End Site",
        "    {",
        "      OFFSET 1 0 0",
        "    }",
        "  }",
        "}",
        "MOTION",
        f"Frames: {len(frames)}",
        "Frame Time: 0.1",
        *[" ".join(repr(float(v)) for v in row) for row in frames],
    ]


# ----------------------------------------------------------------------------- the elementary matrices


def test_elementary_helpers_match_scipy():
    # Guard the hand-rolled references themselves.
    for axis in "XYZ":
        for a in (-120.0, 30.0, 90.0):
            np.testing.assert_allclose(_ELEMENTARY[axis](a),
                                       Rotation.from_euler(axis, a, degrees=True).as_matrix(), atol=1e-12)


# ----------------------------------------------------------------------------- forward kinematics


def test_fk_fully_hand_computed_zxy(tmp_path):
    # Root at (1, 2, 3), rotated Z=90 then (intrinsically) X=90; the child has no rotation.
    # Intrinsic ZXY: R = Rz(90) @ Rx(90). Rx(90) maps +y to +z, Rz(90) keeps +z:
    #   child offset (0, 2, 0) -> (0, 0, 2); the end site offset (1, 0, 0): Rx keeps +x,
    #   Rz(90) maps +x to +y -> (0, 1, 0).
    # (The extrinsic reading, Rx(90) @ Rz(90), would put the child at (-2, 0, 0)+root.)
    path = _write(tmp_path, _chain_lines("ZXY", "ZXY", [[1, 2, 3, 90, 90, 0, 0, 0, 0]]))
    m = read_bvh(path)
    assert m.joint_names == ["root", "b", "b_end"]
    assert m.parents == [-1, 0, 1]
    pos, rot = m.forward_kinematics()
    assert pos.shape == (1, 3, 3) and rot.shape == (1, 3, 3, 3)
    np.testing.assert_allclose(pos[0, 0], [1, 2, 3], atol=1e-12)
    np.testing.assert_allclose(pos[0, 1], [1, 2, 5], atol=1e-12)
    np.testing.assert_allclose(pos[0, 2], [1, 3, 5], atol=1e-12)


def test_fk_fully_hand_computed_child_rotation(tmp_path):
    # Root: no rotation at (0, 0, 0). Child b: Y=90 in order "Xrotation Yrotation Zrotation".
    # Ry(90) maps +x to -z: the end site lands at b + (0, 0, -1) = (0, 2, -1).
    path = _write(tmp_path, _chain_lines("XYZ", "XYZ", [[0, 0, 0, 0, 0, 0, 0, 90, 0]]))
    pos, rot = read_bvh(path).forward_kinematics()
    np.testing.assert_allclose(pos[0, 1], [0, 2, 0], atol=1e-12)
    np.testing.assert_allclose(pos[0, 2], [0, 2, -1], atol=1e-12)
    np.testing.assert_allclose(rot[0, 1], _ry(90), atol=1e-12)
    np.testing.assert_allclose(rot[0, 2], _ry(90), atol=1e-12)  # an End Site inherits


@pytest.mark.parametrize("root_order", ["ZXY", "XYZ", "ZYX", "YXZ", "YZX", "XZY"])
@pytest.mark.parametrize("child_order", ["ZXY", "XYZ", "YZX"])
def test_fk_matches_intrinsic_euler(tmp_path, root_order, child_order):
    rng = np.random.default_rng(zlib.crc32((root_order + child_order).encode()))
    frames = np.concatenate([rng.uniform(-5, 5, (4, 3)), rng.uniform(-170, 170, (4, 6))], axis=1)
    frames = np.round(frames, 4)  # written with repr, read back exactly
    path = _write(tmp_path, _chain_lines(root_order, child_order, frames.tolist()))
    m = read_bvh(path)
    assert m.channels[0][3:] == [f"{a}rotation" for a in root_order]
    np.testing.assert_array_equal(m.motion, frames)
    pos, rot = m.forward_kinematics()
    for f, row in enumerate(frames):
        r_root = _euler(root_order, row[3:6])
        r_child = _euler(child_order, row[6:9])
        # the same, as scipy spells intrinsic rotations (uppercase axes)
        np.testing.assert_allclose(r_root, Rotation.from_euler(root_order, row[3:6], degrees=True).as_matrix(),
                                   atol=1e-12)
        np.testing.assert_allclose(r_child, Rotation.from_euler(child_order, row[6:9], degrees=True).as_matrix(),
                                   atol=1e-12)
        b = row[:3] + r_root @ [0, 2, 0]
        end = b + r_root @ r_child @ [1, 0, 0]
        np.testing.assert_allclose(pos[f, 0], row[:3], atol=1e-9)
        np.testing.assert_allclose(pos[f, 1], b, atol=1e-9)
        np.testing.assert_allclose(pos[f, 2], end, atol=1e-9)
        np.testing.assert_allclose(rot[f, 0], r_root, atol=1e-9)
        np.testing.assert_allclose(rot[f, 1], r_root @ r_child, atol=1e-9)
        # the extrinsic reading differs for these generic angles: the test can tell them apart
        extrinsic = Rotation.from_euler(root_order.lower(), row[3:6], degrees=True).as_matrix()
        assert not np.allclose(extrinsic, r_root, atol=1e-3)


def test_fk_partial_rotation_channels(tmp_path):
    # A joint with a single rotation channel, and one with two.
    lines = [
        "HIERARCHY", "ROOT r", "{", "  OFFSET 0 0 0", "  CHANNELS 4 Xposition Yposition Zposition Zrotation",
        "  JOINT a", "  {", "    OFFSET 1 0 0", "    CHANNELS 2 Yrotation Xrotation",
        "    End Site", "    {", "      OFFSET 0 1 0", "    }", "  }", "}",
        "MOTION", "Frames: 1", "Frame Time: 0.5", "0 0 0 30 40 50",
    ]
    pos, _ = read_bvh(_write(tmp_path, lines)).forward_kinematics()
    r0 = _rz(30)
    a = r0 @ [1, 0, 0]
    end = a + r0 @ _ry(40) @ _rx(50) @ [0, 1, 0]
    np.testing.assert_allclose(pos[0], [[0, 0, 0], a, end], atol=1e-12)


def test_position_channels_on_non_root_joint(tmp_path):
    # b: local translation = OFFSET + its position channels, in the parent's frame,
    # whatever the channel order (positions interleaved with rotations).
    lines = [
        "HIERARCHY", "ROOT root", "{", "  OFFSET 0 0 0",
        "  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation",
        "  JOINT b", "  {", "    OFFSET 1 2 3",
        "    CHANNELS 6 Zrotation Xposition Yrotation Yposition Xrotation Zposition",
        "    End Site", "    {", "      OFFSET 0 0 1", "    }", "  }", "}",
        "MOTION", "Frames: 2", "Frame Time: 0.04",
        "0 0 0 0 0 0 10 20 30 40 50 60",
        "5 6 7 90 0 0 0 0 0 -1.5 0 2",
    ]
    m = read_bvh(_write(tmp_path, lines))
    pos, rot = m.forward_kinematics()
    # Frame 0: no root motion. b at offset + (20, 40, 60); rotation Z=10, Y=30, X=50 in that order.
    np.testing.assert_allclose(pos[0, 1], [21, 42, 63], atol=1e-12)
    r_b = _rz(10) @ _ry(30) @ _rx(50)
    np.testing.assert_allclose(pos[0, 2], np.array([21, 42, 63]) + r_b @ [0, 0, 1], atol=1e-12)
    # Frame 1: root at (5, 6, 7) rotated Z=90; b local translation (1, 2, 3) + (0, -1.5, 2) = (1, 0.5, 5)
    # rotated by Rz(90) -> (-0.5, 1, 5). b itself is unrotated -> end = b + Rz(90) (0, 0, 1).
    np.testing.assert_allclose(pos[1, 0], [5, 6, 7], atol=1e-12)
    np.testing.assert_allclose(pos[1, 1], [4.5, 7, 12], atol=1e-12)
    np.testing.assert_allclose(pos[1, 2], [4.5, 7, 13], atol=1e-12)
    np.testing.assert_allclose(rot[1, 1], _rz(90), atol=1e-12)


def test_end_sites_become_named_joints(tmp_path):
    lines = [
        "HIERARCHY", "ROOT Hips", "{", "  OFFSET 0 0 0",
        "  CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation",
        "  JOINT LeftLeg", "  {", "    OFFSET 1 -1 0", "    CHANNELS 3 Zrotation Yrotation Xrotation",
        "    End Site", "    {", "      OFFSET 0 -4 0.5", "    }", "  }",
        "  JOINT Spine", "  {", "    OFFSET 0 1 0", "    CHANNELS 3 Zrotation Yrotation Xrotation",
        "    JOINT Head", "    {", "      OFFSET 0 3 0", "      CHANNELS 3 Zrotation Yrotation Xrotation",
        "      End Site", "      {", "        OFFSET 0 1 0", "      }", "    }", "  }", "}",
        "MOTION", "Frames: 1", "Frame Time: 0.01", " ".join(["0"] * 15),
    ]
    m = read_bvh(_write(tmp_path, lines))
    assert m.joint_names == ["Hips", "LeftLeg", "LeftLeg_end", "Spine", "Head", "Head_end"]
    assert m.parents == [-1, 0, 1, 0, 3, 4]
    assert m.channels[2] == [] and m.channels[5] == []
    assert [len(c) for c in m.channels] == [6, 3, 0, 3, 3, 0]
    assert [s.stop - s.start for s in m.channel_slices()] == [6, 3, 0, 3, 3, 0]
    np.testing.assert_allclose(m.offsets[2], [0, -4, 0.5])
    np.testing.assert_allclose(m.offsets[5], [0, 1, 0])
    assert m.frame_time == pytest.approx(0.01)
    pos, _ = m.forward_kinematics()
    np.testing.assert_allclose(pos[0, 2], [1, -5, 0.5])
    np.testing.assert_allclose(pos[0, 5], [0, 5, 0])


def test_whitespace_tabs_crlf_and_joint_names_with_spaces(tmp_path):
    text = ("HIERARCHY\r\nROOT my root\r\n{\r\n\tOFFSET\t0 0 0\r\n\tCHANNELS 3 Xposition Yposition Zposition\r\n"
            "\tEnd Site\r\n\t{\r\n\t\tOFFSET 0 1 0\r\n\t}\r\n}\r\nMOTION\r\nFrames:\t2\r\nFrame Time:\t0.0083333\r\n"
            "1 2 3\r\n4\t5 6 \r\n\r\n")
    path = tmp_path / "crlf.bvh"
    path.write_bytes(text.encode())
    m = read_bvh(path)
    assert m.joint_names == ["my root", "my root_end"]
    np.testing.assert_array_equal(m.motion, [[1, 2, 3], [4, 5, 6]])
    assert m.num_frames == 2


def test_zero_frames(tmp_path):
    lines = _chain_lines("ZXY", "ZXY", [])
    m = read_bvh(_write(tmp_path, lines))
    assert m.motion.shape == (0, 9)
    pos, rot = m.forward_kinematics()
    assert pos.shape == (0, 3, 3) and rot.shape == (0, 3, 3, 3)


# ----------------------------------------------------------------------------- errors


def _good_lines() -> list[str]:
    # 3 frames of 9 channels; line numbers (1-based): Frames at 17, Frame Time 18, data 19..21.
    return _chain_lines("ZXY", "ZXY", [[0.0] * 9, [1.0] * 9, [2.0] * 9])


def _expect_error(tmp_path, lines, lines_ok: set[int], *, text: str | None = None, raw: str | None = None):
    path = tmp_path / "bad.bvh"
    if raw is not None:
        path.write_text(raw)
    else:
        path.write_text("\n".join(lines) + "\n")
    with pytest.raises(BVHError) as info:
        read_bvh(path)
    msg = str(info.value)
    assert str(path) in msg, msg
    got = {n for n in lines_ok if f"{path}:{n}:" in msg}
    assert got, f"expected one of lines {sorted(lines_ok)} in {msg!r}"
    if text is not None:
        assert text.lower() in msg.lower(), msg
    return msg


def test_good_lines_parse(tmp_path):
    lines = _good_lines()
    assert lines[16].startswith("Frames") and lines[18] == " ".join(["0.0"] * 9)
    m = read_bvh(_write(tmp_path, lines))
    assert m.num_frames == 3


#: One line of the good file replaced: {case: (its 1-based number, the new text, the line
#: numbers the error may name, a word the message must hold or None)}.
ONE_BAD_LINE = {
    "missing value in a frame": (20, " ".join(["1.0"] * 8), {20}, "8"),
    "extra value in the last frame": (21, " ".join(["1.0"] * 10), {21}, None),
    "non-numeric value": (21, "2 2 2 2 abc 2 2 2 2", {21}, "not a number"),
    "nan value": (20, "1 1 1 1 nan 1 1 1 1", {20}, None),
    # the header (17) or the end of the data (the last row 21, or just past it) are both fair
    "frames count too large": (17, "Frames: 4", {17, 21, 22}, "4"),
    # the header (17) or the first surplus row (21)
    "frames count too small": (17, "Frames: 2", {17, 21}, "2"),
    "frames not a number": (17, "Frames: three", {17}, None),
    "frame time zero": (18, "Frame Time: 0", {18}, "positive"),
    "frame time not a number": (18, "Frame Time: fast", {18}, None),
    "frame time misspelt": (18, "Frametime 0.1", {18}, None),
    "offset with two numbers": (8, "    OFFSET 0 2", {8}, "OFFSET"),
    "offset with four numbers": (8, "    OFFSET 0 2 0 1", {8}, "OFFSET"),
    "end site offset with two numbers": (12, "      OFFSET 1 0", {12}, "OFFSET"),
    "offset not numeric": (4, "  OFFSET 0 x 0", {4}, None),
    "unknown channel": (9, "    CHANNELS 3 Zrotation Wrotation Yrotation", {9}, "Wrotation"),
    "channel count mismatch": (9, "    CHANNELS 2 Zrotation Xrotation Yrotation", {9}, None),
    "missing MOTION": (16, "MOTIONS", {16}, None),
}


@pytest.mark.parametrize("case", list(ONE_BAD_LINE))
def test_error_names_the_bad_line(tmp_path, case):
    number, text, lines_ok, word = ONE_BAD_LINE[case]
    lines = _good_lines()
    lines[number - 1] = text
    _expect_error(tmp_path, lines, lines_ok, text=word)


def test_error_joint_without_offset(tmp_path):
    lines = _good_lines()
    del lines[7]  # b's OFFSET; b's closing brace is now line 13
    _expect_error(tmp_path, lines, {13}, text="OFFSET")


def test_error_not_a_bvh(tmp_path):
    _expect_error(tmp_path, None, {3}, raw="\n\nHIERACHY\nROOT a\n")


def test_error_truncated_in_hierarchy(tmp_path):
    lines = _good_lines()[:10]  # ends at "    End Site" (line 10)
    # End of file: the last line, or the one just past it, are both fair.
    _expect_error(tmp_path, lines, {10, 11}, text="end of file")


def test_error_truncated_after_frames_header(tmp_path):
    lines = _good_lines()[:17]  # ends with "Frames: 3" (line 17)
    _expect_error(tmp_path, lines, {17, 18}, text="end of file")


def test_error_truncated_mid_frame(tmp_path):
    raw = "\n".join(_good_lines())[:-10]  # the last frame (line 21) is cut short, no final newline
    _expect_error(tmp_path, None, {21}, raw=raw)


def test_error_missing_file(tmp_path):
    path = tmp_path / "nope.bvh"
    with pytest.raises(BVHError) as info:
        read_bvh(path)
    assert str(path) in str(info.value)


def test_error_compensating_row_lengths(tmp_path):
    lines = _good_lines()
    lines[18] = " ".join(["0.0"] * 10)  # line 19: one value too many
    lines[19] = " ".join(["1.0"] * 8)   # line 20: one value too few; the total is still 27
    _expect_error(tmp_path, lines, {19})


def test_blank_line_inside_data_is_located(tmp_path):
    lines = _good_lines()
    lines.insert(19, "")  # blank line 20 between frame 1 and frame 2
    path = _write(tmp_path, lines)
    try:
        m = read_bvh(path)  # tolerating the blank line is fine too ...
    except BVHError as exc:  # ... and so is an error that points at it
        assert f"{path}:20:" in str(exc), str(exc)
    else:
        np.testing.assert_array_equal(m.motion, [[0.0] * 9, [1.0] * 9, [2.0] * 9])


# ----------------------------------------------------------------------------- writing

@pytest.fixture
def writer():
    return write_bvh


def _reference_fk(parents, offsets, root_positions, local_rotations):
    """Independent FK: global position/rotation of each input joint, parents first."""
    num_frames, num_joints = local_rotations.shape[:2]
    pos = np.zeros((num_frames, num_joints, 3))
    rot = np.zeros((num_frames, num_joints, 3, 3))
    for j, p in enumerate(parents):
        if p < 0:
            pos[:, j] = offsets[j] + root_positions
            rot[:, j] = local_rotations[:, j]
        else:
            pos[:, j] = pos[:, p] + np.einsum("fab,b->fa", rot[:, p], offsets[j])
            rot[:, j] = rot[:, p] @ local_rotations[:, j]
    return pos, rot


# A branching tree whose index order is not depth-first (the writer must reorder and
# the reader then returns joints in file order), with a joint name containing no spaces.
_NAMES = ["hips", "spine", "lleg", "neck", "rleg", "lfoot", "head", "rfoot", "larm"]
_PARENTS = [-1, 0, 0, 1, 0, 2, 3, 4, 3]


@pytest.mark.parametrize("root_offset", [(0.0, 0.0, 0.0), (1.5, -2.0, 0.25)])
def test_write_read_round_trip(tmp_path, root_offset, writer):
    rng = np.random.default_rng(7)
    num_frames, num_joints = 6, len(_NAMES)
    offsets = rng.uniform(-10, 10, (num_joints, 3))
    offsets[0] = root_offset
    root_positions = rng.uniform(-50, 50, (num_frames, 3))
    local_rotations = Rotation.random(num_frames * num_joints, random_state=11).as_matrix()
    local_rotations = local_rotations.reshape(num_frames, num_joints, 3, 3)
    end_sites = {5: np.array([0.0, -1.0, 3.0]), 6: np.array([0.0, 2.0, 0.0])}
    path = tmp_path / "out.bvh"
    writer(path, _NAMES, _PARENTS, offsets, root_positions, local_rotations, 1 / 120, end_sites=end_sites)

    m = read_bvh(path)
    assert m.num_frames == num_frames
    assert m.frame_time == pytest.approx(1 / 120, rel=1e-6)
    leaves = [j for j in range(num_joints) if j not in _PARENTS]
    assert set(m.joint_names) == set(_NAMES) | {_NAMES[j] + "_end" for j in leaves}
    idx = {n: i for i, n in enumerate(m.joint_names)}
    for j, name in enumerate(_NAMES):  # the same tree, by name
        p = m.parents[idx[name]]
        assert (p < 0 and _PARENTS[j] < 0) or m.joint_names[p] == _NAMES[_PARENTS[j]]
    assert m.channels[idx["hips"]][:3] == ["Xposition", "Yposition", "Zposition"]

    pos, rot = m.forward_kinematics()
    # BVH convention (the reader's): the root's translation is its OFFSET plus its position channels.
    ref_pos, ref_rot = _reference_fk(_PARENTS, offsets, root_positions, local_rotations)
    for j, name in enumerate(_NAMES):
        np.testing.assert_allclose(pos[:, idx[name]], ref_pos[:, j], atol=1e-3, err_msg=name)
        np.testing.assert_allclose(rot[:, idx[name]], ref_rot[:, j], atol=1e-5, err_msg=name)
    for j in leaves:
        e = end_sites.get(j, np.zeros(3))
        want = ref_pos[:, j] + np.einsum("fab,b->fa", ref_rot[:, j], e)
        np.testing.assert_allclose(pos[:, idx[_NAMES[j] + "_end"]], want, atol=1e-3)


def test_write_read_round_trip_gimbal_lock(tmp_path, writer):
    # Y = +-90 degrees in the written Z Y X order: the Euler angles are not unique,
    # the rotation (and so the positions) must still come back.
    names, parents = ["r", "a", "b"], [-1, 0, 1]
    offsets = np.array([[0, 0, 0], [0, 3, 0], [2, 0, 1]], dtype=float)
    rots = np.stack([
        Rotation.from_euler("ZYX", [[30, 90, 20], [-40, -90, 75], [0, 90, 0]], degrees=True).as_matrix(),
        Rotation.from_euler("XYZ", [[10, 20, 30], [0, 90, 0], [120, -90, 5]], degrees=True).as_matrix(),
        Rotation.from_euler("ZYX", [[5, 90, 60], [1, 2, 3], [-170, -90, 170]], degrees=True).as_matrix(),
    ], axis=1)
    root = np.array([[1, 2, 3], [0, 0, 0], [-4, 5, 6]], dtype=float)
    path = tmp_path / "g.bvh"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy's gimbal lock warning
        writer(path, names, parents, offsets, root, rots, 0.5)
    pos, rot = read_bvh(path).forward_kinematics()
    ref_pos, ref_rot = _reference_fk(parents, offsets, root, rots)
    np.testing.assert_allclose(pos[:, :3], ref_pos, atol=1e-3)
    np.testing.assert_allclose(rot[:, :3], ref_rot, atol=1e-5)


def test_write_is_readable_text_and_atomic(tmp_path, writer):
    path = tmp_path / "w.bvh"
    path.write_text("old content")
    rots = np.broadcast_to(np.eye(3), (2, 2, 3, 3)).copy()
    writer(path, ["r", "c"], [-1, 0], np.array([[0, 0, 0], [0, 1, 0.0]]), np.zeros((2, 3)), rots, 0.1)
    text = path.read_text()
    assert text.startswith("HIERARCHY\n") and "MOTION\nFrames: 2\n" in text
    assert [p.name for p in tmp_path.iterdir()] == ["w.bvh"]  # no temporary left behind
    m = read_bvh(path)
    np.testing.assert_allclose(m.motion, 0.0, atol=1e-9)


def test_write_rejects_two_roots(tmp_path):
    rots = np.broadcast_to(np.eye(3), (1, 2, 3, 3)).copy()
    with pytest.raises(ValueError):
        write_bvh(tmp_path / "x.bvh", ["a", "b"], [-1, -1], np.zeros((2, 3)), np.zeros((1, 3)), rots, 0.1)
    assert not (tmp_path / "x.bvh").exists()


def test_bvherror_is_valueerror():
    assert issubclass(BVHError, ValueError)


def test_motion_dataclass_fk_direct():
    # BVHMotion can be built in memory; FK broadcasts offsets over frames.
    m = BVHMotion(["r", "c"], [-1, 0], np.array([[0, 0, 0], [0, 1, 0.0]]),
                  [["Xposition", "Yposition", "Zposition", "Xrotation"], []], 0.1,
                  np.array([[0, 0, 0, 90.0], [1, 1, 1, -90.0]]))
    pos, _ = m.forward_kinematics()
    np.testing.assert_allclose(pos[:, 1], [[0, 0, 1], [1, 1, 0]], atol=1e-12)


def test_all_orders_distinct_guard():
    # Sanity: the six orders give six different rotations for generic angles, so the
    # parametrised FK test would notice a reader that ignores the channel order.
    mats = [_euler("".join(o), (20, 50, 70)) for o in itertools.permutations("XYZ")]
    for a, b in itertools.combinations(mats, 2):
        assert not np.allclose(a, b, atol=1e-3)
