"""Tests for realtime3d.detect.skeleton_net: loading, the person crop, the Phi/Omega agreement,
the Detection it returns, and `realtime3d video|image --detector skeleton` end to end.

The weights: the shipped realtime3d/weights/detectors/skeleton-net.pt (else a SkeletonNet()
with a fixed torch seed, untrained), saved again by trainers.checkpoint.save_model exactly as the
trainer saves one, with a card whose person_confidence is 0, so that every frame has a person.
Nothing here needs the weights to be good: the tests check geometry, bookkeeping and files, and
the agreement on images made for the purpose. The people's crops come from BlazePose's person
detector (the full frame when it finds nobody): the tests that need the full frame give a black
frame, where nobody is found. The shipped net as it is (it finds rendered and real people) is
tested at the end.
"""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from conftest import SHARED, one_line_error, run_cli
from realtime3d.cli import main
from realtime3d.pipeline import VideoOptions, build_pipeline
from realtime3d.crops import cut, square_box, to_crop
from realtime3d.data.sample import sample_keypoints_px
from realtime3d.detect import Detection, SkeletonNetDetector, load_skeleton_net
from realtime3d.detect.choice import check_detector
from realtime3d.detect.skeleton_net import (DETECTORS_DIR, EXPERIMENTAL, MIN_CROP_SIDE, PERSON_CONFIDENCE,
                                            bone_agreement, corner_box, crop_to_frame, full_frame_box,
                                            joint_visibility, phi_omega, render_kappa)
from realtime3d.io.poses import read_poses
from realtime3d.models.image import CROP_SIZE, NUM_BONES, SKELETON_SIZE, SkeletonNet
from realtime3d.pipeline import FrameResult
from realtime3d.tracking import Person
from realtime3d.viz.frame import draw_result
from realtime3d.skeleton import H36M17
from realtime3d.trainers.checkpoint import save_model

MEDIA = SHARED / "data" / "media"
STREET = MEDIA / "street_dance.avi"
SHIPPED = DETECTORS_DIR / "skeleton-net.pt"
OUTPUTS = ("overlay.mp4", "poses.npz", "poses.json", "poses.csv", "poses.bvh")
J = H36M17.num_joints
#: The shipped net's least 2D PCK on fresh held-out test renders (benchmarks/results/skeleton_net.json
#: measures it on 1,200: SHIPPED_PCK_MEASURED).
SHIPPED_PCK_BAR = 0.6


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    """The shipped skeleton net (else a seeded untrained one), saved as the trainer saves, with a card
    whose person_confidence is 0: every frame has a person, whatever the net's confidence."""
    path = tmp_path_factory.mktemp("weights") / "skeleton-net-every-frame.pt"
    if SHIPPED.is_file():
        net, card = load_skeleton_net(SHIPPED)
        card = {k: v for k, v in card.items() if k != "architecture"}
    else:
        torch.manual_seed(0)
        net, card = SkeletonNet(), {"lifter": "cycle", "crop_margin": 1.25,
                                    "description": "untrained, seed 0: tests only"}
    save_model(path, net, {**card, "person_confidence": 0.0})
    return path


@pytest.fixture(scope="module")
def street() -> Path:
    if not STREET.is_file():
        pytest.skip(f"test video not found at {STREET} (see shared/data/README.md)")
    return STREET


@pytest.fixture(scope="module")
def frames(street) -> list[np.ndarray]:
    """The first 4 BGR frames of street_dance.avi."""
    cap = cv2.VideoCapture(str(street))
    out = [cap.read()[1] for _ in range(4)]
    cap.release()
    return out


@pytest.fixture(scope="module")
def two_people(frames) -> np.ndarray:
    """Two people side by side: street_dance.avi's frames 0 and 3 next to each other, RGB [720, 2560, 3]
    (the person detector finds the dancer in each half)."""
    return cv2.cvtColor(np.concatenate([frames[0], frames[3]], axis=1), cv2.COLOR_BGR2RGB)


def _black(frame: np.ndarray) -> np.ndarray:
    """A black frame of the same size: the person detector finds nobody, the crop is the full frame."""
    return np.zeros_like(frame)


def _centre(crop_box) -> np.ndarray:
    x0, y0, side = crop_box
    return np.array([x0 + side / 2, y0 + side / 2])


def _crop_pose() -> torch.Tensor:
    """The project's sample person [1, J, 2] in crop pixels, framed by the crop rule."""
    pose = torch.from_numpy(sample_keypoints_px()).float()[None]                   # [1, J, 2] px of 1280x720
    return to_crop(pose, square_box(pose), CROP_SIZE)


class _Agreeing(nn.Module):
    """A stand-in SkeletonNet that answers fixed crop joints and, as Phi's image, their own kappa:
    Phi and Omega agree exactly (confidence 1)."""

    def __init__(self, joints_crop: torch.Tensor):
        super().__init__()
        self.joints = joints_crop

    def forward(self, image):
        j = self.joints.expand(len(image), -1, -1)
        return render_kappa(j), j


def _standin(net: nn.Module, card: dict, **kwargs) -> SkeletonNetDetector:
    """A detector on a stand-in net, without refinement passes: a stand-in's crop joints do not
    depend on the crop, so each pass would move them (test_refinement_reads_again_in_the_answers_crop)."""
    return SkeletonNetDetector(net, card, refine_passes=0, **kwargs)


class _Blank(_Agreeing):
    """The same joints, but Phi draws nothing: they disagree (confidence about 0)."""

    def forward(self, image):
        skeleton, joints = super().forward(image)
        return torch.zeros_like(skeleton), joints


# ----------------------------------------------------------------------------- loading


def test_load_skeleton_net(weights):
    net, card = load_skeleton_net(weights)
    assert isinstance(net, SkeletonNet) and not net.training
    assert card["architecture"]["kind"] == "skeleton-net"
    assert card["lifter"] and card["crop_margin"] > 0
    assert all(p.dtype == torch.float32 for p in net.parameters())              # fp16 on disk, float here


def test_bad_weights_are_one_line_value_errors(tmp_path):
    text = tmp_path / "notes.pt"
    text.write_text("not a checkpoint\n")
    lifter = Path(__file__).resolve().parents[1] / "realtime3d" / "weights" / "cycle.pt"
    cases = [(tmp_path / "missing.pt", "not found"), (text, "not a realtime3d skeleton-net checkpoint"),
             ("no-such-net", "no-such-net")]
    if lifter.is_file():
        cases.append((lifter, "a lifter"))
    for path, words in cases:
        with pytest.raises(ValueError, match=words) as err:
            load_skeleton_net(path)
        assert "\n" not in str(err.value)


# ----------------------------------------------------------------------------- the crop


def test_crop_round_trip_is_exact():
    """Frame -> crop -> frame is the identity, and the resampled crop shows the frame point the
    mapping names: on a frame whose pixels hold their own coordinates, every crop pixel inside the
    frame holds (c + 0.5) * side / 128 + corner (INTER_AREA and bilinear keep linear ramps), up to
    OpenCV's interpolation grid."""
    rng = np.random.default_rng(0)
    w, h = 1000, 700
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    frame = np.dstack([xs, ys, np.ones_like(xs)])                                # float ramp: (x, y, 1)
    c = np.arange(CROP_SIZE) + 0.0
    for box in [(400.3, 300.7, 64.0),        # upsampled
                (500.0, 350.0, 230.0),       # down by 1.8: bilinear only
                (480.2, 360.9, 900.0),       # down by 7: INTER_AREA first; partly outside the frame
                full_frame_box(w, h)]:
        points = rng.uniform(-50, 1050, (20, 2))
        back = crop_to_frame(to_crop(torch.from_numpy(points)[None], torch.tensor([box], dtype=torch.float64),
                                     CROP_SIZE)[0].numpy(), box)
        np.testing.assert_allclose(back, points, atol=1e-9)
        crop = cut(frame, box, CROP_SIZE)                                             # [128, 128, 3]
        px = crop_to_frame(np.stack(np.meshgrid(c, c), -1), box)                 # [128, 128, 2] frame points
        step = box[2] / CROP_SIZE
        inside = ((px[..., 0] > 2 * step) & (px[..., 0] < w - 1 - 2 * step)
                  & (px[..., 1] > 2 * step) & (px[..., 1] < h - 1 - 2 * step))
        outside = ((px[..., 0] < -0.5 - step) | (px[..., 0] > w - 0.5 + step)
                   | (px[..., 1] < -0.5 - step) | (px[..., 1] > h - 0.5 + step))
        assert inside.sum() > 100
        # OpenCV interpolates on a 1/32-pixel grid: up to 1/64 of a (pre-downscaled) pixel off
        np.testing.assert_allclose(crop[inside][:, :2], px[inside], atol=max(1.0, step) / 32)
        assert (crop[outside] == 0).all()                                        # padded black
    assert full_frame_box(w, h) == ((w - 1) / 2, (h - 1) / 2, float(w))


@pytest.mark.data
def test_joints_are_omegas_crop_joints_mapped_back(weights, frames):
    """Every person's 2D is Omega's on their own crop, mapped back to the frame (the crops of a frame
    go through the net in one batch: each answer is the net's on that crop alone), flip-averaged as
    the card says (the shipped net's does)."""
    det = SkeletonNetDetector(weights)
    frame = frames[0]
    people = det.detect_all(frame)
    assert people, "the weights fixture's person_confidence is 0: every frame has a person"
    for found in people:
        box = (*_centre(found.crop_box), found.crop_box[2])
        crop = cut(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), box, CROP_SIZE)
        with torch.inference_mode():
            skeleton, joints = phi_omega(det.net, torch.from_numpy(crop).permute(2, 0, 1)[None].float() / 255,
                                         det.flip_average)
        np.testing.assert_allclose(found.joints2d_px, crop_to_frame(joints[0].numpy(), box), atol=1e-3)
        np.testing.assert_allclose(found.skeleton, skeleton[0].numpy(), atol=1e-5)


# ----------------------------------------------------------------------------- tracking


@pytest.mark.data
def test_full_frame_when_nobody_is_found_and_after_reset_then_the_crop_follows(frames):
    h, w = frames[0].shape[:2]
    full = (-0.5, (h - w) / 2 - 0.5, float(w))                                   # (x0, y0, side)
    black = _black(frames[0])
    with _standin(_Agreeing(_crop_pose()), {"crop_margin": 1.25}) as det:
        assert det.next_box is None and det.next_boxes == []
        first = det.detect(black)
        np.testing.assert_allclose(first.crop_box, full)
        assert first.confidence == pytest.approx(1.0, abs=1e-5)
        follow = det.next_box                                                    # the pose's square box x 1.25
        assert det.next_boxes == [follow]
        lo, hi = first.joints2d_px.min(0), first.joints2d_px.max(0)
        np.testing.assert_allclose(follow[2], max(MIN_CROP_SIDE, 1.25 * (hi - lo).max()), rtol=1e-5)
        np.testing.assert_allclose(np.array(follow[:2]) + follow[2] / 2, (lo + hi) / 2, atol=1e-3)
        second = det.detect(black)
        np.testing.assert_allclose(second.crop_box, follow)
        det.reset()
        assert det.next_box is None
        np.testing.assert_allclose(det.detect(black).crop_box, full)
    with pytest.raises(ValueError, match="closed"):
        det.detect(frames[0])


def test_refinement_reads_again_in_the_answers_crop():
    black = np.zeros((360, 640, 3), np.uint8)                                    # nobody: the full frame first
    once = _standin(_Agreeing(_crop_pose()), {})
    first = once.detect(black)
    again = SkeletonNetDetector(_Agreeing(_crop_pose()), {}, refine_passes=1).detect(black)
    np.testing.assert_allclose(again.crop_box, once.next_box)                   # read where the first answer says
    assert not np.allclose(again.crop_box, first.crop_box)
    with pytest.raises(ValueError, match="refine_passes"):
        SkeletonNetDetector(_Agreeing(_crop_pose()), {}, refine_passes=-1)


@pytest.mark.data
def test_people_are_cropped_where_the_person_detector_finds_them(frames):
    """On a real frame, each crop is a person detector's person (the square of its ROI, upright), not
    the full frame; then each person's crop follows their own pose."""
    rgb = cv2.cvtColor(frames[0], cv2.COLOR_BGR2RGB)
    with _standin(_Agreeing(_crop_pose()), {}, person_confidence=0.0, lost_confidence=0.0) as det:
        proposals = det.person_crops(rgb)
        if not proposals:
            pytest.skip("the person detector finds nobody on street_dance.avi's first frame")
        people = det.detect_all_rgb(rgb)
        assert det.detector_runs == 1
        assert {tuple(np.round(p.crop_box, 3)) for p in people} <= {tuple(np.round(corner_box(c), 3)) for c in proposals}
        assert len(people) >= 1
        h, w = rgb.shape[:2]
        assert all(p.crop_box != corner_box(full_frame_box(w, h)) for p in people)
        follow = det.next_boxes
        assert len(follow) == len(people)                                        # confidence 1: all followed
        again = det.detect_all_rgb(rgb)
        assert sorted(tuple(np.round(p.crop_box, 3)) for p in again) == sorted(tuple(np.round(b, 3)) for b in follow)


@pytest.mark.data
def test_a_lost_person_is_not_followed(frames):
    h, w = frames[0].shape[:2]
    # the confidence below lost_confidence: Phi draws nothing that Omega's 2D explains
    det = _standin(_Blank(_crop_pose()), {}, person_confidence=0.0)
    found = det.detect(frames[0])
    assert found.confidence < det.lost_confidence and det.next_box is None
    assert _standin(_Agreeing(_crop_pose()), {}, lost_confidence=0.0).detect(frames[0]) is not None
    # a crop below person_confidence holds no person (and nobody is followed)
    det = _standin(_Blank(_crop_pose()), {"person_confidence": 0.5})
    assert det.detect(frames[0]) is None and det.next_box is None and det.detect_all(frames[0]) == []
    # most joints in the crop's padding, beyond the frame (a wide frame: a full-frame crop is mostly padding)
    wide = np.zeros((h // 4, w, 3), np.uint8)
    top = _crop_pose().clone()
    top[..., 1] = top[..., 1] * 0.2                                              # squashed into the crop's top rows
    det = _standin(_Agreeing(top), {})
    found = det.detect(wide)
    assert found.confidence == pytest.approx(1.0, abs=1e-5) and (found.joints2d_px[:, 1] < -0.5).mean() > 0.5
    assert det.next_box is None


# ----------------------------------------------------------------------------- many people


@pytest.mark.data
def test_two_people_side_by_side_are_two_detections(weights, two_people):
    """Whatever the net answers (person_confidence and lost_confidence 0: every crop is a person),
    the two dancers get a crop each, one in each half of the frame, apart."""
    width = two_people.shape[1]
    for static in (True, False):
        with SkeletonNetDetector(weights, person_confidence=0.0, lost_confidence=0.0,
                                 static_image_mode=static) as det:
            people = det.detect_all_rgb(two_people)
            assert len(people) == 2, [p.crop_box for p in people]
            (a, b) = sorted(people, key=lambda p: p.crop_box[0])
            assert _centre(a.crop_box)[0] < width / 2 < _centre(b.crop_box)[0]
            assert a.crop_box[0] + a.crop_box[2] < b.crop_box[0]                 # the two squares do not overlap
            areas = [np.prod(p.joints2d_px.max(0) - p.joints2d_px.min(0)) for p in people]
            assert areas == sorted(areas, reverse=True)                          # largest first
            assert det.detect_rgb(two_people) is not None


@pytest.mark.data
def test_max_people_keeps_the_largest(weights, two_people):
    with SkeletonNetDetector(weights, person_confidence=0.0, lost_confidence=0.0, max_people=1,
                             static_image_mode=True) as det:
        assert len(det.detect_all_rgb(two_people)) == 1
    with _standin(_Agreeing(_crop_pose()), {}, person_confidence=0.0, lost_confidence=0.0,
                             max_people=1) as det:
        for _ in range(3):
            assert len(det.detect_all_rgb(two_people)) == 1
            assert len(det.next_boxes) == 1
    with pytest.raises(ValueError, match="max_people"):
        SkeletonNetDetector(weights, max_people=0)


@pytest.mark.data
def test_the_person_detector_runs_only_when_due_in_video_mode(two_people):
    """Video mode: the person detector runs on the first frame and on every detect_every-th frame
    while fewer than max_people are followed, not on the frames between; on every call in static
    image mode; after reset() the next frame runs it."""
    frames = [two_people] * 7
    def runs(**kwargs) -> int:
        with _standin(_Agreeing(_crop_pose()), {}, person_confidence=0.0, lost_confidence=0.0,
                                 **kwargs) as det:
            for frame in frames:
                assert det.detect_all_rgb(frame)
            return det.detector_runs
    assert runs() == 1                                                           # 7 frames < DETECT_EVERY
    assert runs(detect_every=3) == 3                                             # frames 0, 3, 6
    assert runs(detect_every=3, max_people=2) == 1                               # two followed: no room
    assert runs(static_image_mode=True) == 7
    with _standin(_Agreeing(_crop_pose()), {}, person_confidence=0.0, lost_confidence=0.0) as det:
        assert len(det.detect_all_rgb(two_people)) == 2
        # the person detector's people are the two followed ones: no newcomer, each taken for one of them
        newcomers, held = det._newcomers(two_people, det._followed)
        assert newcomers == [] and sorted(len(matched) for _, matched in held) == [1, 1]
        det.detect_all_rgb(two_people)
        det.reset(search=False)
        det.detect_all_rgb(two_people)
        assert det.detector_runs == 3                                            # _newcomers counts its run


@pytest.mark.data
def test_one_person_found_twice_is_one(frames):
    """Two crops whose answers' 2D boxes overlap by IoU > 0.5 are one person: the more confident kept."""
    with _standin(_Agreeing(_crop_pose()), {}, person_confidence=0.0, lost_confidence=0.0) as det:
        first = det.detect_all(_black(frames[0]))
        assert len(first) == 1
        # the followed person's crop and the full frame again: the same 2D box up to the crops' scale
        found = det._read(cv2.cvtColor(_black(frames[0]), cv2.COLOR_BGR2RGB),
                          [det._followed[0].crop, full_frame_box(frames[0].shape[1], frames[0].shape[0])])
        assert len(found) == 2 and len(det._distinct(found)) == 1


def test_check_detector_takes_max_people_with_the_skeleton_net(weights):
    assert check_detector("skeleton-net", str(weights), max_people=2) == "skeleton-net"
    assert check_detector("skeleton", str(weights), max_people=1) == "skeleton-net"


# ----------------------------------------------------------------------------- the agreement


def test_agreement_is_one_for_kappa_of_the_2d_and_lower_when_shuffled():
    kappa = render_kappa(_crop_pose())                                            # [1, K, S, S]
    same = bone_agreement(kappa, kappa)
    assert same.shape == (1, NUM_BONES)
    np.testing.assert_allclose(same.numpy(), 1.0, atol=1e-6)
    np.testing.assert_allclose(joint_visibility(same).numpy(), 1.0, atol=1e-6)
    gen = torch.Generator().manual_seed(0)
    bones_shuffled = kappa[:, torch.randperm(NUM_BONES, generator=gen)]
    pixels_shuffled = kappa.flatten(2)[..., torch.randperm(SKELETON_SIZE ** 2, generator=gen)].view_as(kappa)
    moved = torch.roll(kappa, shifts=(3, -2), dims=(2, 3))
    for other in (bones_shuffled, pixels_shuffled, moved):
        agreement = bone_agreement(other, kappa)
        assert float(agreement.mean()) < 0.6 and float(agreement.max()) <= 1.0 and float(agreement.min()) >= 0.0
    assert float(bone_agreement(torch.zeros_like(kappa), kappa).max()) < 1e-3
    # a joint's visibility is the mean of its bones': drop the left forearm, the wrist sees it
    one_bad = kappa.clone()
    forearm = H36M17.bones.index((H36M17.index["left_elbow"], H36M17.index["left_wrist"]))
    one_bad[:, forearm] = 0
    vis = joint_visibility(bone_agreement(one_bad, kappa))[0]
    assert float(vis[H36M17.index["left_wrist"]]) < 1e-3
    assert 0.4 < float(vis[H36M17.index["left_elbow"]]) < 0.6                   # one of its two bones
    assert float(vis[H36M17.index["right_wrist"]]) == pytest.approx(1.0, abs=1e-6)


def test_the_flip_average_is_the_mirror_images_answer_mirrored_back():
    torch.manual_seed(0)
    net = SkeletonNet(phi_width=8).eval()
    x = torch.rand(2, 3, CROP_SIZE, CROP_SIZE)
    with torch.no_grad():
        single, averaged, of_mirror = phi_omega(net, x), phi_omega(net, x, True), phi_omega(net, x.flip(-1), True)
    assert all(torch.equal(a, b) for a, b in zip(single, net(x)))              # off: the net's own answer
    flip = torch.from_numpy(H36M17.flip_permutation).long()
    mirrored = of_mirror[1][:, flip]
    mirrored = torch.stack([CROP_SIZE - 1 - mirrored[..., 0], mirrored[..., 1]], -1)
    torch.testing.assert_close(averaged[1], mirrored, atol=1e-4, rtol=0)       # a mirrored crop: the mirrored 2D
    assert not torch.allclose(averaged[1], single[1], atol=1e-3)               # and it is not the single pass
    shipped_card = {"flip_average": True}
    assert SkeletonNetDetector(net, shipped_card).flip_average and not SkeletonNetDetector(net, {}).flip_average
    assert not SkeletonNetDetector(net, shipped_card, flip_average=False).flip_average


@pytest.mark.data
def test_detection_fields(weights, frames):
    with SkeletonNetDetector(weights) as det:
        found = det.detect(frames[0])
    assert found is not None, "the weights fixture's person_confidence is 0: every frame has a person"
    assert isinstance(found, Detection) and found.landmarks33 is None
    assert found.joints2d_px.shape == (J, 2) and found.joints2d_px.dtype == np.float32
    assert found.visibility.shape == (J,) and found.visibility.dtype == np.float32
    assert ((found.visibility >= 0) & (found.visibility <= 1)).all()
    for image in (found.skeleton, found.rendered):
        assert image.shape == (NUM_BONES, SKELETON_SIZE, SKELETON_SIZE) and image.dtype == np.float32
        assert image.min() >= 0 and image.max() <= 1
    assert len(found.crop_box) == 3 and isinstance(found.confidence, float) and 0 <= found.confidence <= 1
    agreement = bone_agreement(found.skeleton, found.rendered)
    assert found.confidence == pytest.approx(float(agreement.mean()), abs=1e-6)
    np.testing.assert_allclose(found.visibility, joint_visibility(agreement).numpy(), atol=1e-6)


# ----------------------------------------------------------------------------- the overlay


@pytest.mark.data
def test_overlay_panel_is_inset_at_the_top_right(frames):
    frame = frames[0]
    det = _standin(_Agreeing(_crop_pose()), {})
    found = det.detect(frame)
    result = FrameResult([Person(1, found, joints3d=np.zeros((J, 3), np.float32))], visibility_threshold=0.0)
    drawn = draw_result(frame.copy(), result, None)
    assert drawn.shape == frame.shape
    h, w = frame.shape[:2]
    panel = drawn[: h // 3, w - h // 3:]
    assert (panel != frame[: h // 3, w - h // 3:]).any()
    assert (drawn[h - 20:, :20] == frame[h - 20:, :20]).all()                   # nothing at the bottom left
    empty = draw_result(frame.copy(), FrameResult(), None, panel=True)
    assert (empty[: h // 3, w - h // 3:] != frame[: h // 3, w - h // 3:]).any()  # "no person" panel


# ----------------------------------------------------------------------------- the commands


@pytest.mark.data
def test_video_command_writes_every_output_with_confidence(weights, street, tmp_path):
    done = run_cli("video", str(street), "-o", str(tmp_path), "--detector", "skeleton-net",
                   "--detector-weights", str(weights), "--max-frames", "10", "--person", "largest")
    assert done.returncode == 0, done.stderr[-2000:]
    out = tmp_path / "street_dance"
    ids = np.load(out / "poses.npz")["person_ids"]
    assert sorted(p.name for p in out.iterdir()) == sorted([*OUTPUTS[:-1], *(f"poses_{i}.bvh" for i in ids)])
    assert len(ids) >= 1                   # the main person's id may change where the net's 2D jumps
    doc = json.loads((out / "poses.json").read_text())
    assert all(len(f["people"]) <= 1 for f in doc["frames"])                     # --person largest: one at most
    for person_id in ids:
        seq = read_poses(out / "poses.npz", person=int(person_id))
        confidence = seq.extra["confidence"]
        assert confidence.shape == (10,) and confidence.dtype == np.float32
        found = np.isfinite(confidence)
        assert found.any() and ((confidence[found] >= 0) & (confidence[found] <= 1)).all()
        assert (found == np.isfinite(seq.joints2d).all(axis=(1, 2))).all()       # NaN exactly where not seen
        assert [p["confidence"] for f in doc["frames"] for p in f["people"] if p["id"] == person_id] \
            == pytest.approx(confidence[np.isfinite(seq.joints3d).all(axis=(1, 2))], abs=1e-4)
    cap = cv2.VideoCapture(str(out / "overlay.mp4"))
    assert cap.get(cv2.CAP_PROP_FRAME_COUNT) == 10
    cap.release()


@pytest.mark.data
def test_resume_with_the_skeleton_net_is_exact(weights, street, tmp_path, monkeypatch):
    """Chunks of 10 frames: a run stopped after 15 frames resumes to what an uninterrupted one writes."""
    import realtime3d.offline as offline
    monkeypatch.setattr(offline, "CHUNK_FRAMES", 10)
    monkeypatch.setattr(offline, "LIFT_BATCH", 5)
    pipeline = build_pipeline(VideoOptions(model=None, detector="skeleton-net", detector_weights=str(weights),
                                           person="largest"))
    offline.run_video(street, tmp_path / "whole", pipeline, max_frames=25, overlay=False, progress=False)
    stop = iter(range(100))
    with pytest.raises(KeyboardInterrupt):
        offline.run_video(street, tmp_path / "cut", pipeline, max_frames=25, overlay=False, progress=False,
                          on_result=lambda frame, result: next(stop) < 14)
    assert (tmp_path / "cut" / offline.PARTIAL_NAME).is_file()
    summary = offline.run_video(street, tmp_path / "cut", pipeline, max_frames=25, resume=True, progress=False)
    assert summary.resumed_from == 10
    ids = np.load(tmp_path / "whole" / "poses.npz")["person_ids"]
    np.testing.assert_array_equal(np.load(tmp_path / "cut" / "poses.npz")["person_ids"], ids)
    for person_id in ids:
        whole, resumed = (read_poses(tmp_path / run / "poses.npz", person=int(person_id)) for run in ("whole", "cut"))
        for key in ("confidence", "visibility"):
            np.testing.assert_array_equal(resumed.extra[key], whole.extra[key])
        np.testing.assert_array_equal(resumed.joints2d, whole.joints2d)
        np.testing.assert_array_equal(resumed.joints3d, whole.joints3d)


@pytest.mark.data
def test_image_command_with_the_skeleton_net(weights, capsys, tmp_path):
    bus = MEDIA / "bus.jpg"
    if not bus.is_file():
        pytest.skip(f"test photos not found in {MEDIA}")
    assert main(["image", str(bus), "-o", str(tmp_path), "--detector", "skeleton-net",
                 "--detector-weights", str(weights), "--person", "largest"]) == 0
    doc = json.loads((tmp_path / "bus.json").read_text())
    for person in doc["people"]:
        assert 0 <= person["confidence"] <= 1
    picture = cv2.imread(str(tmp_path / "bus.overlay.png"))
    assert picture.shape[1] == doc["image_size"][0] + doc["image_size"][1]       # same size as MediaPipe's


@pytest.mark.data
def test_bad_detector_weights_are_one_line_errors(street, capsys, tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"\x00not torch\n")
    out = str(tmp_path / "out")
    done = run_cli("video", str(street), "-o", out, "--detector", "skeleton-net", "--detector-weights", str(junk))
    one_line_error(done.returncode, done.stderr, "junk.pt", "not a realtime3d skeleton-net checkpoint")
    for argv, words in [(["video", str(street), "-o", out, "--detector", "skeleton-net", "--detector-weights",
                          str(tmp_path / "gone.pt")], ("gone.pt", "not found")),
                        (["video", str(street), "-o", out, "--detector-weights", str(junk)],
                         ("--detector-weights needs --detector skeleton",)),
                        (["webcam", "--no-show", "--detector", "skeleton-net", "--detector-weights", str(junk)],
                         ("junk.pt",))]:
        code = main(argv)
        one_line_error(code, capsys.readouterr().err, *words)
    assert not (tmp_path / "out").exists()


# ----------------------------------------------------------------------------- the shipped net


@pytest.fixture(scope="module")
def shipped() -> Path:
    if not SHIPPED.is_file():
        pytest.skip(f"no skeleton net is shipped at {SHIPPED}")
    return SHIPPED


@pytest.mark.data
def test_by_default_a_frame_below_the_person_confidence_has_no_person(frames):
    """detect() answers None below PERSON_CONFIDENCE unless the card or the caller says otherwise."""
    net = _Blank(_crop_pose())                                                   # confidence about 0
    assert SkeletonNetDetector(net, {}).person_confidence == PERSON_CONFIDENCE > 0
    assert SkeletonNetDetector(net, {}).detect(frames[0]) is None
    assert SkeletonNetDetector(net, {"person_confidence": 0.0}).detect(frames[0]) is not None
    assert _standin(_Agreeing(_crop_pose()), {}).detect(frames[0]).confidence > PERSON_CONFIDENCE


@pytest.mark.slow
def test_the_shipped_net_finds_rendered_people_it_never_saw(shipped, tmp_path):
    """Fresh renders of the CMU test subjects, in the held-out scenes and clothes: the shipped net's
    2D is far better than one pose for every crop, and it is surer of people than of backgrounds."""
    from conftest import CMU
    if not CMU.is_dir():
        pytest.skip(f"CMU mocap data not found at {CMU} (see shared/data/README.md)")
    from realtime3d.detect.skeleton_net import read_crops
    from realtime3d.metrics import pck_torso
    from realtime3d.render.crop_shards import generate, read_shards
    generate("test", "held-out", tmp_path, minutes=5.0, seed=77, size=CROP_SIZE, cmu_root=CMU, max_crops=40,
             background_p=0.25)
    data = read_shards(tmp_path, ("images", "joints2d", "person"))
    person, truth = data["person"], data["joints2d"][data["person"]]
    net, _ = load_skeleton_net(shipped)
    read = read_crops(net, torch.from_numpy(data["images"]).permute(0, 3, 1, 2).float() / 255.0)
    pck = pck_torso(read["joints"][torch.from_numpy(person)].numpy(), truth).mean()
    constant = pck_torso(np.broadcast_to(truth.mean(0), truth.shape), truth).mean()   # the crops' own mean pose
    assert pck >= SHIPPED_PCK_BAR and pck > constant + 0.3, (pck, constant)
    confidence = read["confidence"].numpy()
    assert np.median(confidence[person]) > np.median(confidence[~person]) + 0.1


@pytest.mark.data
def test_the_shipped_net_warns_and_finds_the_dancer(shipped, street, tmp_path):
    """--detector skeleton with the shipped net: one warning line at the start, and a person in
    most frames of the street video."""
    done = run_cli("video", str(street), "-o", str(tmp_path / "out"), "--detector", "skeleton-net",
                   "--max-frames", "10")
    assert done.returncode == 0, done.stderr[-2000:]
    ours = [line.split("\r")[-1] for line in done.stderr.splitlines() if "realtime3d:" in line]
    assert ours == [f"realtime3d: warning: {EXPERIMENTAL}"], done.stderr
    poses = np.load(tmp_path / "out" / "street_dance" / "poses.npz")
    found = np.isfinite(poses["joints2d"]).all(-1).all(-1).any(-1)                   # [N] a person in the frame
    assert found.sum() >= 8, found


@pytest.mark.data
@pytest.mark.parametrize("command", ["image", "webcam"])
def test_image_and_webcam_warn_that_the_skeleton_net_is_experimental(command, shipped, street, capsys, tmp_path):
    argv = {"image": ["image", str(MEDIA / "bus.jpg"), "-o", str(tmp_path)],
            "webcam": ["webcam", "--camera", str(street), "--no-show", "--max-seconds", "1"]}[command]
    if not (MEDIA / "bus.jpg").is_file():
        pytest.skip(f"test photos not found in {MEDIA}")
    assert main([*argv, "--detector", "skeleton-net"]) == 0
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines() == [f"realtime3d: warning: {EXPERIMENTAL}"]
    assert "no person" not in captured.out if command == "image" else "a person in 0" not in captured.out


def test_help_says_the_skeleton_net_is_experimental():
    for command in ("video", "image", "webcam"):
        text = " ".join(run_cli(command, "--help").stdout.split())
        assert "EXPERIMENTAL and less accurate than MediaPipe" in text, text
