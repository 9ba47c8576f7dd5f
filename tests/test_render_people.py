"""Tests for rendered people: labels against the pixels, left and right, occlusion, seeds, crops, clips.

They run on the project's own sample pose (data/sample.py), so they need no shared data.
"""
from __future__ import annotations

import av
import numpy as np
import pytest

from realtime3d.data.sample import standing_pose_mm
from realtime3d.io.video_truth import read_truth
from realtime3d.render.actors import camera_to_world, make_actor
from realtime3d.render.body import Phenotype
from realtime3d.render.cameras import camera_from_hfov
from realtime3d.render.clips import TRUTH_NAME, VIDEO_NAME, draw, render_clip
from realtime3d.render.crops import CropSampler
from realtime3d.render.labels import label_frame
from realtime3d.render.meshes import Material, Mesh
from realtime3d.render.raster import Rasterizer
from realtime3d.render.scenery import box, sample_scene
from realtime3d.render.staging import Stage, stage_clip
from realtime3d.skeleton import H36M17

J = H36M17.index
SIZE = (320, 240)


def sample_motion(frames: int = 1) -> np.ndarray:
    """[F, 17, 3] m, render world: the sample pose (facing +Z, towards a camera on +Z), swaying."""
    pose = camera_to_world(standing_pose_mm())
    pose[..., 1] += 0.95
    motion = np.repeat(pose[None], frames, axis=0)
    motion[..., 0] += 0.02 * np.sin(np.arange(frames) / 3.0)[:, None]
    return motion


@pytest.fixture(scope="module")
def rasterizer():
    r = Rasterizer(samples=0)
    yield r
    r.close()


@pytest.fixture(scope="module")
def facing():
    """One person facing a camera 3 m in front of them, in a plain scene, nothing in between."""
    actor = make_actor(sample_motion(), np.random.default_rng(0), phenotype=Phenotype())
    camera = camera_from_hfov([0.0, 1.0, 3.0], [0.0, 0.9, 0.0], SIZE, 60.0)
    scene = sample_scene(np.random.default_rng(0), kind="plaza", free_radius_m=5.0)
    scene.props = []
    return actor, camera, scene


def labels_of(rasterizer, camera, scene, actor):
    people = [actor.mesh(0, 1)]
    frame = rasterizer.render(camera, scene, people)
    pixels, boxes = rasterizer.silhouettes(camera, people)
    return frame, label_frame(camera, frame, actor.posed.joints[:1], pixels, boxes)


def test_labels_match_the_pixels(rasterizer, facing):
    actor, camera, scene = facing
    frame, labels = labels_of(rasterizer, camera, scene, actor)
    assert labels.visible[0].sum() >= 14 and labels.visible_fraction[0] > 0.99
    # the skeleton's projection lies on the person's pixels
    for j in np.nonzero(labels.visible[0])[0]:
        u, v = np.rint(labels.joints2d[0, j]).astype(int)
        assert (frame.labels[v - 3:v + 4, u - 3:u + 4] == 1).any(), H36M17.joint_names[j]
    # the mesh's projection is the silhouette: same box to a pixel
    uv = camera.project(actor.posed.vertices[0])
    mesh_box = np.concatenate([uv.min(0), uv.max(0)])
    assert np.abs(mesh_box - labels.amodal_boxes[0]).max() <= 1.5
    assert np.allclose(labels.boxes[0], labels.amodal_boxes[0])
    # 3D and 2D agree through the camera
    cam = labels.joints3d[0] / 1000.0
    uv = camera.focal * cam[:, :2] / cam[:, 2:] + camera.principal_point
    assert np.allclose(uv, labels.joints2d[0], atol=1e-3)
    # depth: the person's nearest pixel is in front of the pelvis, by less than a body's depth
    z = frame.depth[frame.labels == 1]
    assert cam[J["pelvis"], 2] - 0.4 < z.min() < cam[J["pelvis"], 2]


def test_left_is_drawn_on_the_left(rasterizer, facing):
    """Paint the body's left side red and its right side blue: a person facing the camera shows
    red on the image's right, at the labelled left wrist, and blue at the right wrist."""
    actor, camera, scene = facing
    names = np.array(actor.shape.bone_names)[actor.shape.bone_weights.argmax(1)]
    side = np.where(np.char.startswith(names, "Left") | np.char.startswith(names, "LThumb"), 1,
                    np.where(np.char.startswith(names, "Right") | np.char.startswith(names, "RThumb"), 2, 0))
    mesh = Mesh(actor.posed.vertices[0], actor.shape.faces, side,
                [Material((0.5, 0.5, 0.5)), Material((0.9, 0.05, 0.05)), Material((0.05, 0.05, 0.9))], label=1)
    frame = rasterizer.render(camera, scene, [mesh])
    _, labels = labels_of(rasterizer, camera, scene, actor)
    left, right = labels.joints2d[0, J["left_wrist"]], labels.joints2d[0, J["right_wrist"]]
    assert left[0] > right[0] + 20                       # facing the camera: their left on the image's right
    for (u, v), channel in ((left, 0), (right, 2)):
        patch = frame.rgb[int(v) - 3:int(v) + 4, int(u) - 3:int(u) + 4].reshape(-1, 3).astype(int)
        assert (patch[:, channel] > patch[:, 2 - channel] + 30).mean() > 0.5


def test_visibility_follows_occlusion(rasterizer, facing):
    actor, camera, scene = facing
    wall = box((1.5, 0.6, 0.1), (0.0, 0.0, 1.5), [Material((0.3, 0.6, 0.3))])   # knee-high, between them
    blocked = sample_scene(np.random.default_rng(0), kind="plaza", free_radius_m=5.0)
    blocked.props = [wall]
    _, seen = labels_of(rasterizer, camera, scene, actor)
    frame, hidden = labels_of(rasterizer, camera, blocked, actor)
    feet = [J["left_ankle"], J["right_ankle"]]
    top = [J["head"], J["head_top"], J["left_shoulder"], J["right_shoulder"]]
    assert seen.visible[0, feet].all() and not hidden.visible[0, feet].any()
    assert hidden.visible[0, top].all()
    assert 0.4 < hidden.visible_fraction[0] < 0.95
    assert (frame.labels == 0).sum() > 0


def test_seeds_are_deterministic(rasterizer):
    frames = []
    for _ in range(2):
        stage = stage_clip([sample_motion(3), sample_motion(3)], np.random.default_rng(11), SIZE)
        frames.append(draw(rasterizer, stage, 1))
    (a, la), (b, lb) = frames
    assert np.array_equal(a.rgb, b.rgb) and np.array_equal(a.labels, b.labels)
    assert np.array_equal(la.joints2d, lb.joints2d) and np.array_equal(la.visible, lb.visible)
    other = draw(rasterizer, stage_clip([sample_motion(3), sample_motion(3)], np.random.default_rng(12), SIZE), 1)
    assert not np.array_equal(a.rgb, other[0].rgb)


def test_crops_carry_exact_labels():
    sampler = CropSampler(np.stack([sample_motion()[0]] * 4), size=96, seed=3, pool=2,
                          rasterizer=Rasterizer(samples=0))
    batch = sampler.sample(4)
    assert batch.images.shape == (4, 96, 96, 3) and batch.masks.shape == (4, 96, 96)
    cam = batch.joints3d / 1000.0
    uv = batch.focal[:, None, None] * cam[..., :2] / cam[..., 2:] + batch.principal[:, None]
    assert np.allclose(uv, batch.joints2d, atol=1e-2)
    for i in range(4):
        assert batch.visible_fraction[i] >= 0.4
        for j in np.nonzero(batch.visible[i])[0]:
            u, v = np.rint(batch.joints2d[i, j]).astype(int)
            assert batch.masks[i, max(v - 2, 0):v + 3, max(u - 2, 0):u + 3].any()


def test_clip_files(tmp_path, rasterizer):
    stage = stage_clip([sample_motion(8)], np.random.default_rng(5), SIZE, occluders=0, names=["sample"])
    folder = render_clip(stage, tmp_path / "clip", fps=10.0, rasterizer=rasterizer)
    truth = read_truth(folder / TRUTH_NAME)
    assert truth.joints3d.shape == (8, 1, 17, 3) and truth.fps == 10.0 and truth.image_size == SIZE
    assert truth.person_names == ("sample",) and truth.clip == "clip"
    assert np.allclose(truth.floor[:, :3] @ np.array([0.0, -1.0, 0.0]), np.cos(0.0), atol=0.5)
    with av.open(str(folder / VIDEO_NAME)) as video:
        assert sum(1 for _ in video.decode(video=0)) == 8
    assert isinstance(stage, Stage)


def test_a_crop_camera_draws_its_window_of_the_frame(rasterizer, facing):
    """A crop camera at the frame's scale (Camera.crop of a box side == size) draws exactly that window
    of the frame: labels and depth, also for a window far off the image centre."""
    actor, camera, scene = facing
    people = [actor.mesh(0, 1)]
    whole = rasterizer.render(camera, scene, people)
    for x0, y0 in ((120, 30), (150, 20), (170, 100)):
        side = 90      # the window's pixel edges at -0.5: crop pixel i is frame pixel x0 + i
        crop = camera.crop(np.array([x0, y0, x0 + side, y0 + side]) - 0.5, side)
        part = rasterizer.render(crop, scene, people)
        window = (slice(y0, y0 + side), slice(x0, x0 + side))
        assert (part.labels == 1).sum() > 500
        assert (part.labels == whole.labels[window]).mean() > 0.999
        both = np.isfinite(part.depth) & np.isfinite(whole.depth[window])
        assert np.allclose(part.depth[both], whole.depth[window][both], atol=1e-3)
