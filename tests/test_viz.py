"""Viewing: colours, the 2D overlay, the software 3D render, and real windows under Xvfb.

The window tests start their own X server (Xvfb) for the session, open the real
open3d and OpenCV windows in it, and read the pixels back.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest


from conftest import hand_made_pose_mm, project
from realtime3d.errors import UserError
from realtime3d.skeleton import H36M17
from realtime3d.viz.overlay import draw_skeleton_2d, draw_status
from realtime3d.viz.render3d import PoseRenderer, side_by_side
from realtime3d.viz.style import (CENTER_RGB, LEFT_RGB, RIGHT_RGB, bone_colors_rgb, joint_colors_bgr,
                                  rgb_to_bgr8)
from realtime3d.viz.world import camera_to_world, stand_on_ground

J = H36M17.index
SIZE = (640, 480)
FOCAL = 600.0


def person_at(depth_mm: float = 4000.0, turn_deg: float = 0.0) -> np.ndarray:
    """The hand-made person [17, 3] in camera coordinates, turned about the vertical axis."""
    a = np.radians(turn_deg)
    rot = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    return hand_made_pose_mm() @ rot.T + np.array([0.0, 0.0, depth_mm])


def side_masks(image_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixels of the left (blue) and right (orange) colours, shaded or anti-aliased alike."""
    b, g, r = (image_bgr[..., i].astype(int) for i in range(3))
    return (b > r + 80) & (b > g + 20), (r > b + 80) & (r > g + 40)


def grid_mask(image_bgr: np.ndarray) -> np.ndarray:
    """Grey pixels brighter than the background: the ground grid."""
    c = image_bgr.astype(int)
    return (np.ptp(c, axis=2) < 16) & (c.mean(axis=2) > 60) & (c.mean(axis=2) < 160)


def mean_column(mask: np.ndarray) -> float:
    return float(np.nonzero(mask)[1].mean())


# ---- colours and the viewers' world -------------------------------------------------------------

def test_colours_by_side():
    assert len({LEFT_RGB, RIGHT_RGB, CENTER_RGB}) == 3
    bones = bone_colors_rgb()
    assert bones.shape == (len(H36M17.bones), 3)
    k_left_hip = H36M17.bones.index((J["pelvis"], J["left_hip"]))
    k_right_forearm = H36M17.bones.index((J["right_elbow"], J["right_wrist"]))
    k_neck = H36M17.bones.index((J["thorax"], J["head"]))
    assert tuple(bones[k_left_hip]) == LEFT_RGB and tuple(bones[k_right_forearm]) == RIGHT_RGB
    assert tuple(bones[k_neck]) == CENTER_RGB
    joints = joint_colors_bgr()
    assert len(joints) == 17 and joints[J["left_wrist"]] == rgb_to_bgr8(LEFT_RGB)
    assert joints[J["left_wrist"]][0] == 255          # BGR: blue first


def test_camera_to_world_is_a_rotation_and_the_person_stands_on_the_ground():
    pose = person_at(4000.0) + np.array([500.0, -200.0, 0.0])
    world = camera_to_world(pose)
    assert world[J["head_top"], 1] > world[J["pelvis"], 1] > world[J["left_ankle"], 1]    # y up
    assert world[J["left_hip"], 0] > world[J["right_hip"], 0]       # left stays on +x: not mirrored
    np.testing.assert_allclose(world[:, 2], -pose[:, 2])
    placed = stand_on_ground(world)
    np.testing.assert_allclose(placed[J["pelvis"], [0, 2]], 0.0, atol=1e-9)
    assert min(placed[J["left_ankle"], 1], placed[J["right_ankle"], 1]) == pytest.approx(0.0)
    np.testing.assert_allclose(np.diff(placed - world, axis=0), 0.0, atol=1e-9)   # a translation only


# ---- 2D drawing ---------------------------------------------------------------------------------

def projected_person() -> np.ndarray:
    return project(person_at(4000.0).astype(np.float32), FOCAL, SIZE)      # [17, 2] px


def pixel_at(frame: np.ndarray, point: np.ndarray) -> tuple[int, ...]:
    x, y = np.round(point).astype(int)
    return tuple(int(v) for v in frame[y, x])


def test_draw_skeleton_2d_colours_bones_by_side():
    joints = projected_person()
    frame = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
    assert draw_skeleton_2d(frame, joints) is frame
    upper_arm_left = 0.5 * (joints[J["left_shoulder"]] + joints[J["left_elbow"]])
    shin_right = 0.5 * (joints[J["right_knee"]] + joints[J["right_ankle"]])
    assert pixel_at(frame, upper_arm_left) == rgb_to_bgr8(LEFT_RGB)
    assert pixel_at(frame, shin_right) == rgb_to_bgr8(RIGHT_RGB)
    left, right = side_masks(frame)
    assert mean_column(left) > mean_column(right)     # facing the camera: their left on the image right


@pytest.mark.parametrize("hide", ["nan", "visibility"])
def test_draw_skeleton_2d_skips_missing_joints(hide):
    joints, visibility = projected_person(), np.ones(17)
    if hide == "nan":
        joints[J["left_elbow"]] = np.nan
    else:
        visibility[J["left_elbow"]] = 0.2
    frame = draw_skeleton_2d(np.zeros((SIZE[1], SIZE[0], 3), np.uint8), joints, visibility)
    where = projected_person()
    for a, b in [("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist")]:
        assert pixel_at(frame, 0.5 * (where[J[a]] + where[J[b]])) == (0, 0, 0)    # both bones left out
    assert pixel_at(frame, joints[J["left_wrist"]]) == rgb_to_bgr8(LEFT_RGB)   # the wrist itself is drawn
    assert pixel_at(frame, 0.5 * (joints[J["left_hip"]] + joints[J["left_knee"]])) == rgb_to_bgr8(LEFT_RGB)


def test_draw_skeleton_2d_rejects_bad_shapes():
    frame = np.zeros((10, 10, 3), np.uint8)
    with pytest.raises(ValueError, match=r"joints2d_px must be \[17, 2\]"):
        draw_skeleton_2d(frame, np.zeros((33, 2)))
    with pytest.raises(ValueError, match=r"visibility must be \[17\]"):
        draw_skeleton_2d(frame, np.zeros((17, 2)), np.ones(16))
    with pytest.raises(ValueError, match="uint8"):
        draw_skeleton_2d(frame.astype(np.float32), np.zeros((17, 2)))


def test_draw_status_box_at_the_top_left():
    frame = np.full((480, 640, 3), 200, np.uint8)
    draw_status(frame, ["12.3 fps", "camera lost: reconnecting (attempt 3)"])
    assert (frame[:60, :40] < 200).any() and (frame[:60, :300] > 240).any()     # dark box, white text
    assert (frame[240:, 320:] == 200).all()                                       # the rest untouched
    with pytest.raises(ValueError, match="list of strings"):
        draw_status(frame, "12 fps")


# ---- the software 3D render ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def front_renderer() -> PoseRenderer:
    return PoseRenderer(size=(400, 300), azimuth_deg=0.0, elevation_deg=10.0)


def test_render_draws_sides_where_they_are_and_a_grid(front_renderer):
    image = front_renderer.render(person_at(4000.0))
    assert image.shape == (300, 400, 3) and image.dtype == np.uint8
    left, right = side_masks(image)
    assert left.sum() > 50 and right.sum() > 50 and grid_mask(image).sum() > 200
    assert mean_column(left) > mean_column(right)         # seen from the front: their left on our right
    turned = front_renderer.render(person_at(4000.0, turn_deg=180.0))
    left, right = side_masks(turned)
    assert mean_column(left) < mean_column(right)         # seen from behind: not mirrored


def test_render_centres_the_person_and_stands_it_on_the_grid(front_renderer):
    near = front_renderer.render(person_at(3000.0) + np.array([800.0, -300.0, 0.0]))
    far = front_renderer.render(person_at(6000.0))
    np.testing.assert_array_equal(near, far)              # placement ignores where the lifter put it


def test_render_without_a_person_is_the_grid_alone(front_renderer):
    empty = front_renderer.render(None)
    left, right = side_masks(empty)
    assert not left.any() and not right.any() and grid_mask(empty).sum() > 200
    np.testing.assert_array_equal(front_renderer.render(np.full((17, 3), np.nan)), empty)
    with pytest.raises(ValueError, match=r"joints3d_mm must be \[17, 3\]"):
        front_renderer.render(np.zeros((16, 3)))


def test_side_by_side_resizes_the_panel_to_the_frame_height(front_renderer):
    frame = np.zeros((600, 800, 3), np.uint8)
    both = side_by_side(frame, front_renderer.render(None))         # panel 400x300 -> 800x600
    assert both.shape == (600, 1600, 3)


# ---- real windows under Xvfb (conftest.xvfb_display) ---------------------------------------------


def test_viewer_shows_the_skeleton_by_side_on_a_grid_and_hides_it(xvfb_display, tmp_path):
    from realtime3d.viz.viewer import PoseViewer

    with PoseViewer(width=640, height=480) as viewer:
        assert viewer.update(None)
        viewer.screenshot(tmp_path / "empty.png")
        assert viewer.update(person_at(4000.0))
        viewer.screenshot(tmp_path / "person.png")
        assert viewer.update(None)
        viewer.screenshot(tmp_path / "hidden.png")
        with pytest.raises(UserError, match="does not exist"):
            viewer.screenshot(tmp_path / "no" / "such" / "folder.png")
    assert not viewer.update(person_at(4000.0))            # closed

    with PoseViewer(width=320, height=240) as viewer:
        viewer._vis.close()                                # what Q, Esc and the close button do
        assert not viewer.update(person_at(4000.0))

    person, empty, hidden = (cv2.imread(str(tmp_path / f"{n}.png")) for n in ("person", "empty", "hidden"))
    assert person.shape == (480, 640, 3)
    left, right = side_masks(person)
    assert left.sum() > 200 and right.sum() > 200
    assert mean_column(left) > mean_column(right)          # the default view faces the person
    assert grid_mask(person).sum() > 500
    left, right = side_masks(hidden)
    assert not left.any() and not right.any()
    np.testing.assert_array_equal(hidden, empty)           # the view did not move with the skeleton


def test_overlay_window_shows_frames(xvfb_display):
    from realtime3d.viz.window2d import OverlayWindow

    frame = draw_skeleton_2d(np.zeros((SIZE[1], SIZE[0], 3), np.uint8), projected_person())
    window = OverlayWindow("test overlay")
    assert all(window.show(draw_status(frame.copy(), [f"{k} fps"])) for k in range(3))
    with pytest.raises(ValueError, match="uint8"):
        window.show(frame[..., 0])
    window.close()
    assert not window.show(frame)

    window = OverlayWindow("closed by the user")
    assert window.show(frame)
    cv2.destroyWindow(window.title)                        # as the window's close button does
    assert not window.show(frame)


def test_windows_without_a_display_raise_a_clear_error(monkeypatch):
    from realtime3d.viz.display import DisplayError
    from realtime3d.viz.viewer import PoseViewer
    from realtime3d.viz.window2d import OverlayWindow

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(DisplayError, match="no display"):
        OverlayWindow()                  # checked before Qt, which would abort the process
    with pytest.raises(DisplayError, match="no display"):
        PoseViewer(visible=True)


def test_hidden_viewer_renders_offscreen_without_a_display(tmp_path):
    """visible=False needs no X server: open3d falls back to EGL (own process: GLFW starts once)."""
    script = (
        "import sys, numpy as np\n"
        "sys.path.insert(0, sys.argv[2])\n"
        "from conftest import hand_made_pose_mm\n"
        "from realtime3d.viz.viewer import PoseViewer\n"
        "with PoseViewer(visible=False, width=320, height=240) as viewer:\n"
        "    assert viewer.update(hand_made_pose_mm() + np.array([0.0, 0.0, 4000.0]))\n"
        "    viewer.screenshot(sys.argv[1])\n")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    out = tmp_path / "offscreen.png"
    done = subprocess.run([sys.executable, "-c", script, str(out), str(Path(__file__).parent)],
                          env={**env, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    left, right = side_masks(cv2.imread(str(out)))
    assert left.sum() > 50 and right.sum() > 50 and mean_column(left) > mean_column(right)


def test_viewer_keeps_the_users_orbit_across_updates(xvfb_display, tmp_path):
    from realtime3d.viz.viewer import PoseViewer

    with PoseViewer(width=480, height=360) as viewer:
        viewer.update(person_at(4000.0))
        viewer.screenshot(tmp_path / "start.png")
        viewer._vis.get_view_control().rotate(300.0, 0.0)      # a mouse drag: orbit about the person
        viewer.update(person_at(4000.0))
        viewer.screenshot(tmp_path / "orbited.png")
        viewer.update(person_at(4000.0, turn_deg=90.0))
        viewer.update(None)
        viewer.update(person_at(4000.0))
        viewer.screenshot(tmp_path / "after.png")
    start, orbited, after = (cv2.imread(str(tmp_path / f"{n}.png")) for n in ("start", "orbited", "after"))
    assert np.abs(start.astype(int) - orbited).mean() > 1.0    # the orbit moved the view
    np.testing.assert_array_equal(after, orbited)               # and the updates kept it


def _window_x_range(title: str) -> tuple[int, int]:
    """The window's left and right edge on the screen, from xwininfo."""
    info = subprocess.run(["xwininfo", "-name", title], capture_output=True, text=True, timeout=10).stdout
    field = {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in info.splitlines())}
    left, width = int(field["Absolute upper-left X"]), int(field["Width"])
    return left, left + width


@pytest.mark.skipif(shutil.which("xwininfo") is None, reason="xwininfo is not installed (apt-get install x11-utils)")
def test_the_live_windows_open_side_by_side(xvfb_display):
    from realtime3d.viz.display import VIEWER_SIZE, side_by_side_positions
    from realtime3d.viz.viewer import PoseViewer
    from realtime3d.viz.window2d import OverlayWindow

    where_2d, where_3d = side_by_side_positions()
    frame = np.zeros((720, 1280, 3), np.uint8)
    with OverlayWindow("side 2D", position=where_2d) as window, \
            PoseViewer(title="side 3D", width=VIEWER_SIZE[0], height=VIEWER_SIZE[1], position=where_3d) as viewer:
        for _ in range(3):
            assert window.show(frame) and viewer.update(person_at(4000.0))
        left_2d, right_2d = _window_x_range("side 2D")
        left_3d, right_3d = _window_x_range("side 3D")
    assert right_2d <= left_3d, (left_2d, right_2d, left_3d, right_3d)   # neither covers the other
    assert right_2d - left_2d > 400 and right_3d - left_3d == VIEWER_SIZE[0]
