"""The real MediaPipe estimator on real frames of the runner clip."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from pose_service.camera import project
from pose_service.config import Settings
from pose_service.estimators.lite import MediaPipeEstimator
from pose_service.estimators.mediapipe_to_smpl import DERIVATION, MEDIAPIPE_TO_SMPL
from pose_service.skeleton import JOINT_INDEX, SMPL_JOINT_NAMES
from pose_service.types import Frame
from tests.support.frames import runner_pngs

pytestmark = pytest.mark.service  # real programs (gunicorn, nginx, MediaPipe): the service tier


def test_every_smpl_joint_has_a_derivation_whose_weights_sum_to_one():
    assert set(DERIVATION) == set(SMPL_JOINT_NAMES)
    np.testing.assert_allclose(MEDIAPIPE_TO_SMPL.sum(axis=1), 1.0, atol=1e-6)


@pytest.fixture(scope="module")
def estimator() -> MediaPipeEstimator:
    lite = MediaPipeEstimator(Settings(estimator="lite"))
    lite.load()
    return lite


def decode(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def test_finds_the_runner_with_an_anatomically_ordered_skeleton(estimator):
    rgb = decode(runner_pngs(640)[60])
    estimate = estimator.estimate(Frame(rgb, 60))
    assert len(estimate.people) == 1
    pose = estimate.people[0]
    assert pose.joints_3d.shape == (24, 3) and pose.keypoints_2d.shape == (24, 2)
    y = {name: pose.keypoints_2d[i, 1] for name, i in JOINT_INDEX.items()}
    assert y["head"] < y["neck"] < y["spine3"] < y["pelvis"]  # image y grows downwards
    assert y["pelvis"] < min(y["left_knee"], y["right_knee"])
    assert max(y["left_knee"], y["right_knee"]) < max(y["left_ankle"], y["right_ankle"])
    height_m = pose.joints_3d[:, 1].max() - pose.joints_3d[:, 1].min()
    assert 1.0 < height_m < 2.2  # metric, a human


def test_the_solved_camera_reprojects_the_3d_joints_onto_the_keypoints(estimator):
    rgb = decode(runner_pngs(640)[90])
    pose = estimator.estimate(Frame(rgb, 90)).people[0]
    assert pose.camera_translation is not None and pose.camera_translation[2] > 0
    projected = project(pose.joints_3d, pose.camera_translation, pose.focal_length, 640, 360)
    error = np.linalg.norm(projected - pose.keypoints_2d, axis=1).mean()
    assert error < 15.0, error


def test_an_empty_picture_has_nobody(estimator):
    estimate = estimator.estimate(Frame(np.full((360, 640, 3), 128, dtype=np.uint8), 0))
    assert estimate.people == [] and estimate.model_version.startswith("mediapipe-pose-0.10.21")
    assert estimator.model_status() == {"mediapipe_pose": "loaded"}
    # MediaPipe Pose fills both of the backend's roles: the mobile app's marks say loaded
    assert estimator.model_roles() == {"hmr2": "mediapipe_pose", "vitdet": "mediapipe_pose"}
    assert estimator.role_status() == {
        "hmr2": "loaded", "vitdet": "loaded", "mediapipe_pose": "loaded"
    }  # fmt: skip


def test_a_small_runner_missed_in_the_whole_frame_is_found_by_looking_where_he_should_be(
    estimator,
):
    """Real footage made hard (the runner shrunk to 45%, as if far away): MediaPipe on the whole
    frame misses him; on the region around where he is it finds him, in full-frame pixels."""
    from pose_service.devtools.evaluation.degrade import SmallSubject

    small = SmallSubject(0.45)
    found = 0
    for index in (30, 60, 90, 120):
        rgb = decode(runner_pngs(640)[index])
        reference = estimator.estimate(Frame(rgb, index)).people[0]
        hard = small(rgb, index)
        height, width = hard.shape[:2]
        if estimator.estimate(Frame(hard, index)).people:
            continue  # the whole frame found him this time: nothing to rescue
        box = small.map_points(reference.bbox.reshape(2, 2), width, height).reshape(4)
        again = estimator.rescue(Frame(hard, index), box, None)
        assert len(again.people) == 1 and "rescue" in again.timings_ms
        expected = small.map_points(reference.keypoints_2d, width, height)
        error = np.linalg.norm(again.people[0].keypoints_2d - expected, axis=1)
        assert np.median(error) < 6.0, (index, error)  # pixels of the 640-wide frame
        found += 1
    assert found >= 2  # most of these frames are misses the region search recovers


def test_a_collapsed_pose_on_a_dark_frame_does_not_throw_the_track_off(estimator):
    """Real footage made hard (the runner at 50%, dark and noisy): on frame 2 MediaPipe returns
    a confident pose with every keypoint in his upper body (spread 0.4x). Before, the track took
    it, its velocity carried the prediction (and the search region) off him, frames 3-6 were
    predicted and frames 7-11's good detections rejected as jumps. Now it is a jump, and every
    frame after the first detection is answered from a detection or a rescue at his place."""
    from pose_service.devtools.evaluation.degrade import CASES
    from pose_service.pipeline import PosePipeline

    dark = CASES["small_dark"]
    pipeline = PosePipeline(Settings(session_persist=False), estimator)
    pipeline.load()
    answers, references = [], []
    for index in range(14):
        rgb = decode(runner_pngs(640)[index])
        references.append(estimator.estimate(Frame(rgb, index)).people[0])
        answers.append(pipeline.process(Frame(dark(rgb, index), index), video_id="v").tracked)
    first = next(n for n, a in enumerate(answers) if a.source == "detected")
    assert first <= 2
    height, width = 360, 640
    for n in range(first, 14):
        assert answers[n].source == "detected", (n, answers[n].flags)
        expected = dark.map_points(references[n].keypoints_2d, width, height)
        error = np.median(np.linalg.norm(answers[n].pose.keypoints_2d - expected, axis=1))
        assert error < 4.0, (n, error)  # pixels: at the runner, not a collapsed pose


def test_the_warm_up_pass_runs_on_a_black_frame(estimator):
    from pose_service.estimators.base import warm_up_frame

    estimator.warm_up()  # the pipeline's pass before it says ready: no error, nobody found
    assert estimator.estimate(warm_up_frame()).people == []
