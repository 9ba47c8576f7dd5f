"""MediaPipe's 2D of rendered people as train 2D (realtime3d/render/detections.py): the detector finds
the rendered person it is given, its 2D goes to the virtual camera by the crop's own camera, and the
files it writes are train 2D that a trainer reads (train.data)."""
from __future__ import annotations

import numpy as np

from realtime3d.render.detections import VIRTUAL_FOCAL, VIRTUAL_SIZE, generate, to_virtual
from realtime3d.trainers.sampling import pool_from_files


def test_a_crop_pixel_goes_to_the_virtual_camera_through_the_frame():
    frame_size, frame_focal = (1280, 720), 800.0
    box = np.array([400.0, 100.0, 700.0, 400.0])             # a 300 px window, drawn at 150 px
    corner = to_virtual(np.array([[-0.5, -0.5]]), box, 150, frame_focal, frame_size)
    expected = (box[:2] - np.array([0.5, 0.5]) - np.array(frame_size) / 2) / frame_focal * VIRTUAL_FOCAL
    np.testing.assert_allclose(corner[0], expected + np.array(VIRTUAL_SIZE) / 2)
    centre = to_virtual(np.array([[74.5, 74.5]]), box, 150, frame_focal, frame_size)   # the window's centre
    np.testing.assert_allclose(centre[0], ((box[:2] + box[2:]) / 2 - 0.5 - np.array(frame_size) / 2)
                               / frame_focal * VIRTUAL_FOCAL + np.array(VIRTUAL_SIZE) / 2)


def test_rendered_people_are_found_and_their_2d_trains(cmu_root, tmp_path):
    stats = generate("val", tmp_path / "d", minutes=5.0, seed=3, size=256, cmu_root=cmu_root, max_detections=12)
    assert stats["detections"] == 12 and stats["crops"] <= 16       # the nearest person is nearly always found
    pool = pool_from_files(str(tmp_path / "d"))
    assert pool.body is None and len(pool.pose2d) <= 12               # full poses only; no 3D anywhere
    assert len(pool_from_files(str(tmp_path / "d"), min_visibility=0.0).pose2d) == 12   # the guesses too
    data = np.load(next((tmp_path / "d").glob("*.npz")))
    assert "joints3d" not in data and data["world3d"].shape == (12, 17, 3)
    assert np.isfinite(data["world3d"]).all() and (data["visibility"] > 0).any()
