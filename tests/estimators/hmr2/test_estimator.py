"""The hmr2 estimator against fakes of hmr2 / smplx / detectron2 (tests/fakes), on real CPU torch.

The real stack runs in ``tests/upstream`` (``make test-upstream``: the real 4D-Humans,
detectron2 and smplx, stand-in weights). These fakes stay for what the real code cannot show on
a CPU with random weights: CUDA out of memory, several people with known scores, hints that a
known body confirms or not, exact batching arithmetic. They mirror the real module paths,
signatures, output keys, shapes and dtypes (each fake's docstring names its upstream file).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from pose_service.config import Settings
from pose_service.estimators.base import ModelUnavailable, TransientInferenceError
from pose_service.estimators.hmr2.camera import crop_to_full_translation, joint_confidence
from pose_service.estimators.hmr2.crop import (
    IMAGE_MEAN,
    IMAGE_STD,
    antialias_sigma,
    crop_square,
    square_box_size,
)
from pose_service.types import Frame

FAKES = Path(__file__).resolve().parents[2] / "fakes"
FAKE_PACKAGES = ("hmr2", "smplx", "detectron2")
VITDET_REL = "detectron2/ViTDet/COCO/cascade_mask_rcnn_vitdet_h/f328730692/model_final_f05665.pkl"
CKPT_REL = ".cache/4DHumans/logs/train/multiruns/hmr2/0/checkpoints/epoch=35-step=1000000.ckpt"
W, H = 640, 360


def _purge_fakes() -> None:
    for name in list(sys.modules):
        if name.split(".")[0] in FAKE_PACKAGES:
            del sys.modules[name]


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SimpleNamespace]:
    """HOME with the provisioned files, the fakes importable, their records reset."""
    torch = pytest.importorskip("torch")
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("FVCORE_CACHE", str(tmp_path / "iopath"))
    for name in ("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "TORCH_FORCE_WEIGHTS_ONLY_LOAD"):
        monkeypatch.delenv(name, raising=False)
    ckpt = _touch(home / CKPT_REL)
    _touch(ckpt.parent.parent / "model_config.yaml")
    _touch(home / ".cache/4DHumans/data/smpl/SMPL_NEUTRAL.pkl")
    vitdet = _touch(tmp_path / "iopath" / VITDET_REL)
    _purge_fakes()
    monkeypatch.syspath_prepend(str(FAKES))
    import detectron2._fake as d2_fake
    import hmr2._fake as hmr2_fake

    d2_fake.reset()
    hmr2_fake.reset()
    yield SimpleNamespace(
        torch=torch, home=home, ckpt=ckpt, vitdet=vitdet, d2=d2_fake, hmr2=hmr2_fake
    )
    _purge_fakes()


def _estimator(**settings: object):  # type: ignore[no-untyped-def]
    from pose_service.estimators.hmr2.estimator import HMR2Estimator

    return HMR2Estimator(
        Settings(estimator="hmr2", device="cpu", hmr2_detector="vitdet", **settings)
    )


def _loaded(**settings: object):  # type: ignore[no-untyped-def]
    est = _estimator(**settings)
    est.load()
    return est


def _frame(color: tuple[int, int, int] = (120, 80, 40)) -> Frame:
    rgb = np.empty((H, W, 3), dtype=np.uint8)
    rgb[:] = color
    return Frame(rgb=rgb, frame_number=3)


# --- loading ---------------------------------------------------------------------------------


def test_module_import_is_cheap() -> None:
    code = (
        "import sys; import pose_service.estimators.hmr2.estimator as m; "
        "m.HMR2Estimator(__import__('pose_service.config').config.Settings()); "
        "bad = [n for n in ('torch', 'hmr2', 'detectron2', 'cv2') if n in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_create_estimator_builds_hmr2_unloaded() -> None:
    from pose_service.estimators import create_estimator
    from pose_service.estimators.hmr2.estimator import HMR2Estimator

    est = create_estimator(Settings(estimator="hmr2"))
    assert isinstance(est, HMR2Estimator)
    assert est.model_status() == {"hmr2": "not_loaded", "vitdet": "not_loaded"}
    assert est.faces() is None
    with pytest.raises(ModelUnavailable, match="not loaded"):
        est.estimate(_frame())


def test_on_a_cpu_host_mediapipe_fills_the_detector_role() -> None:
    """The backend's ``models.vitdet`` is the person detector's role: MediaPipe's box fills it
    on a CPU host (it said ``not_used`` before, outside the contract's two values)."""
    from pose_service.estimators.hmr2.estimator import HMR2Estimator

    est = HMR2Estimator(Settings(estimator="hmr2", hmr2_detector="mediapipe"))
    assert est.model_status() == {"hmr2": "not_loaded", "mediapipe_pose": "not_loaded"}
    assert est.model_roles() == {"hmr2": "hmr2", "vitdet": "mediapipe_pose"}
    assert est.role_status() == {
        "hmr2": "not_loaded", "vitdet": "not_loaded", "mediapipe_pose": "not_loaded"
    }  # fmt: skip


@pytest.mark.parametrize(
    ("device", "mediapipe_installed", "chosen"),
    [("cuda", True, "vitdet"), ("cpu", True, "mediapipe"), ("cpu", False, "vitdet")],
)
def test_auto_detector_is_vitdet_on_cuda_and_where_mediapipe_is_missing(
    monkeypatch: pytest.MonkeyPatch, device: str, mediapipe_installed: bool, chosen: str
) -> None:
    """On Python 3.13 MediaPipe has no wheels (the ``lite`` extra installs nothing): a CPU
    host then detects with ViTDet-H, as a GPU host does, rather than failing to load."""
    import importlib.util

    from pose_service.estimators.hmr2 import estimator as module

    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: object):
        if name == "mediapipe":
            return object() if mediapipe_installed else None
        return real_find_spec(name, *args)

    monkeypatch.setattr(module.importlib.util, "find_spec", find_spec)
    est = module.HMR2Estimator(Settings(estimator="hmr2", hmr2_detector="auto"))
    est._device = device
    assert est._choose_detector() == chosen


def test_load_builds_no_renderer_and_loads_local_files(stack: SimpleNamespace) -> None:
    est = _loaded()
    assert est.model_status() == {"hmr2": "loaded", "vitdet": "loaded"}
    assert est.model_roles() == {"hmr2": "hmr2", "vitdet": "vitdet"}
    (call,) = stack.hmr2.LOAD_CALLS
    assert call["init_renderer"] is False
    assert call["weights_only"] is False
    assert call["map_location"] == "cpu"
    assert call["cfg"].MODEL.BBOX_SHAPE == [192, 256]  # what load_hmr2 would have added
    assert stack.hmr2.RENDERERS_BUILT == []
    assert stack.hmr2.LOAD_HMR2_CALLS == []  # load_hmr2 always builds the renderer
    assert stack.hmr2.DOWNLOADS == []
    assert est._model.renderer is None and est._model.mesh_renderer is None
    # ViTDet: the iopath-cached model-zoo file, as a local path; demo.py's stage threshold.
    assert list(stack.d2.CHECKPOINTS) == [str(stack.vitdet)]
    cfg = stack.d2.CONFIGS[0]
    assert cfg.train.init_checkpoint == str(stack.vitdet)
    # demo.py's 0.25 per stage, lowered to RESCUE_MIN_SCORE (0.1) for the second look
    assert [p.test_score_thresh for p in cfg.model.roi_heads.box_predictors] == [0.1] * 3
    described = est.describe()
    assert described["device"] == "cpu"
    assert described["vitdet_weights"] == str(stack.vitdet)
    assert described["model_version"] == "4D-Humans HMR2.0b + ViTDet-H"


def test_faces_are_smpl_triangles_int32(stack: SimpleNamespace) -> None:
    faces = _loaded().faces()
    assert faces is not None
    assert faces.shape == (13776, 3) and faces.dtype == np.int32
    assert faces.flags.c_contiguous


def test_explicit_vitdet_weights_setting_wins(stack: SimpleNamespace, tmp_path: Path) -> None:
    weights = _touch(tmp_path / "elsewhere" / "vitdet.pkl")
    _loaded(vitdet_weights=str(weights))
    assert list(stack.d2.CHECKPOINTS) == [str(weights)]


def test_missing_checkpoint_is_model_unavailable(stack: SimpleNamespace) -> None:
    stack.ckpt.unlink()
    est = _estimator()
    with pytest.raises(ModelUnavailable) as info:
        est.load()
    message = str(info.value)
    assert str(stack.ckpt) in message
    assert "pose_service_models" in message and "POSE_SERVICE_HMR2_CHECKPOINT" in message
    assert est.model_status() == {"hmr2": "not_loaded", "vitdet": "not_loaded"}
    assert stack.hmr2.LOAD_CALLS == []


def test_missing_vitdet_weights_never_downloads(stack: SimpleNamespace) -> None:
    stack.vitdet.unlink()
    with pytest.raises(ModelUnavailable) as info:
        _estimator().load()
    message = str(info.value)
    assert str(stack.vitdet) in message
    assert "pose_service_models" in message and "POSE_SERVICE_VITDET_WEIGHTS" in message
    assert list(stack.d2.CHECKPOINTS) == [] and stack.hmr2.LOAD_CALLS == []


def test_missing_smpl_names_the_licence(stack: SimpleNamespace) -> None:
    (stack.home / ".cache/4DHumans/data/smpl/SMPL_NEUTRAL.pkl").unlink()
    with pytest.raises(ModelUnavailable, match="SMPL neutral model not found.*smplify"):
        _estimator().load()


def test_unset_home_is_model_unavailable(
    stack: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HOME")
    with pytest.raises(ModelUnavailable, match="HOME is not set"):
        _estimator().load()


def test_cuda_requested_without_cuda(stack: SimpleNamespace) -> None:
    if stack.torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    from pose_service.estimators.hmr2.estimator import HMR2Estimator

    with pytest.raises(ModelUnavailable, match="POSE_SERVICE_DEVICE=cuda"):
        HMR2Estimator(Settings(estimator="hmr2", device="cuda")).load()


def test_weights_only_env_fallback_for_older_lightning(
    stack: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a ``weights_only`` parameter, the env override is set for the load only."""
    import os

    from hmr2.models import HMR2

    seen: list[str | None] = []
    original = HMR2.load_from_checkpoint.__func__

    def old_lightning(cls, checkpoint_path, map_location=None, strict=None, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(os.environ.get("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"))
        return original(cls, checkpoint_path, map_location=map_location, strict=strict, **kwargs)

    monkeypatch.setattr(HMR2, "load_from_checkpoint", classmethod(old_lightning))
    _loaded()
    assert seen == ["1"]
    assert "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD" not in os.environ


def test_operator_weights_only_choice_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from pose_service.estimators.hmr2.upstream_loading import torch_full_unpickling

    monkeypatch.setenv("TORCH_FORCE_WEIGHTS_ONLY_LOAD", "1")
    monkeypatch.delenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", raising=False)
    with torch_full_unpickling():
        assert "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD" not in os.environ


# --- detection -------------------------------------------------------------------------------


def test_detections_filtered_by_class_and_score(stack: SimpleNamespace) -> None:
    stack.d2.DETECTIONS[:] = [
        (10, 20, 110, 300, 0.50, 0),  # exactly the threshold: demo.py keeps score > 0.5 only
        (300, 40, 400, 330, 0.70, 0),
        (50, 50, 150, 150, 0.99, 2),  # a car
        (200, 30, 280, 320, 0.90, 0),
        (500, 10, 600, 200, 0.30, 0),
    ]
    est = _loaded()
    estimate = est.estimate(_frame())
    assert [p.score for p in estimate.people] == pytest.approx([0.90, 0.70])
    np.testing.assert_allclose(estimate.people[0].bbox, [200, 30, 280, 320])
    np.testing.assert_allclose(estimate.people[1].bbox, [300, 40, 400, 330])
    assert estimate.people[0].bbox.dtype == np.float32
    # one batched HMR2 pass for both people
    assert len(stack.hmr2.FORWARD_BATCHES) == 1
    assert stack.hmr2.FORWARD_BATCHES[0].shape == (2, 3, 256, 256)
    # the detector got the RGB frame (its LazyConfig's format) and the original size
    (call,) = stack.d2.CALLS
    assert (call[0]["height"], call[0]["width"]) == (H, W)
    first_pixel = call[0]["image"][:, 0, 0].numpy()
    np.testing.assert_allclose(first_pixel, [120, 80, 40])
    assert set(estimate.timings_ms) == {"detect", "crop", "pose"}


def test_max_people_keeps_the_best_boxes_for_hmr2(stack: SimpleNamespace) -> None:
    """A crowd's boxes each cost an HMR2 crop: ``hmr2_max_people`` keeps the best-scoring ones
    (0, the default, keeps every box above the threshold, as demo.py)."""
    stack.d2.DETECTIONS[:] = [
        (10, 20, 110, 300, 0.60, 0),
        (300, 40, 400, 330, 0.95, 0),
        (200, 30, 280, 320, 0.80, 0),
    ]
    assert len(_loaded().estimate(_frame()).people) == 3
    stack.hmr2.reset()
    estimate = _loaded(hmr2_max_people=2).estimate(_frame())
    assert [p.score for p in estimate.people] == pytest.approx([0.95, 0.80])
    assert stack.hmr2.FORWARD_BATCHES[-1].shape[0] == 2
    # the box left out stays a rescue candidate, where the track may predict its person
    boxes, scores = estimate.candidates
    assert scores[0] == pytest.approx(0.60)
    np.testing.assert_allclose(boxes[0], [10, 20, 110, 300])


def test_threshold_setting_is_used(stack: SimpleNamespace) -> None:
    stack.d2.DETECTIONS[:] = [(10, 20, 110, 300, 0.6, 0), (200, 30, 280, 320, 0.9, 0)]
    estimate = _loaded(detector_score_threshold=0.8).estimate(_frame())
    assert [p.score for p in estimate.people] == pytest.approx([0.9])


def test_no_person_gives_empty_estimate(stack: SimpleNamespace) -> None:
    stack.d2.DETECTIONS[:] = [(50, 50, 150, 150, 0.99, 15)]  # a cat, no person
    estimate = _loaded().estimate(_frame())
    assert estimate.people == []
    assert estimate.model_version == "4D-Humans HMR2.0b + ViTDet-H"
    assert "detect" in estimate.timings_ms
    assert stack.hmr2.FORWARD_BATCHES == []  # never HMR2 on the whole image (old defect)


def test_rescue_takes_the_low_score_box_where_the_track_predicts(stack: SimpleNamespace):
    """ByteTrack's second association on the detector's own pass (the fake detector stands in
    for ViTDet's scores: random weights cannot score a box 0.3 on demand)."""
    stack.d2.DETECTIONS[:] = [
        (400, 60, 520, 300, 0.9, 0),  # a confident person elsewhere
        (200, 30, 280, 320, 0.3, 0),  # the tracked person, blurred: a low score
        (40, 40, 100, 200, 0.2, 0),  # another low-score box, away from the track
        (210, 40, 270, 300, 0.3, 15),  # not a person
    ]
    est = _loaded()
    frame = _frame()
    first = est.estimate(frame)
    assert [p.score for p in first.people] == pytest.approx([0.9])
    tracked = np.array([205, 35, 285, 310], np.float32)
    again = est.rescue(frame, tracked, first)
    assert [p.score for p in again.people] == pytest.approx([0.3])
    assert again.detector_ran is False and "pose" in again.timings_ms
    assert est.rescue(frame, np.array([560, 300, 600, 340], np.float32), first).people == []
    assert est.rescue(frame, tracked, None).people == []  # no detector pass to reuse
    # with rescue off the detector keeps demo.py's 0.25 per stage and keeps no candidates
    off = _loaded(rescue=False)
    assert off.rescue(frame, tracked, off.estimate(frame)).people == []


def test_batches_are_capped(stack: SimpleNamespace) -> None:
    from pose_service.estimators.hmr2.estimator import HMR2Estimator

    stack.d2.DETECTIONS[:] = [(20 * i, 20, 20 * i + 60, 200, 0.9 - 0.01 * i, 0) for i in range(5)]
    est = HMR2Estimator(
        Settings(estimator="hmr2", device="cpu", hmr2_detector="vitdet"), batch_size=2
    )
    est.load()
    assert len(est.estimate(_frame()).people) == 5
    assert [b.shape[0] for b in stack.hmr2.FORWARD_BATCHES] == [2, 2, 1]


# --- crops -----------------------------------------------------------------------------------


def test_crops_are_normalised_squares(stack: SimpleNamespace) -> None:
    # A tall box: the square side is its height (300 px); it reaches past the left edge.
    stack.d2.DETECTIONS[:] = [(0, 30, 100, 330, 0.9, 0)]
    _loaded().estimate(_frame((200, 100, 50)))
    (batch,) = stack.hmr2.FORWARD_BATCHES
    crop = batch[0].numpy()
    assert crop.shape == (3, 256, 256) and crop.dtype == np.float32
    inside = (np.array([200, 100, 50]) / 255.0 - IMAGE_MEAN) / IMAGE_STD
    outside = (0.0 - IMAGE_MEAN) / IMAGE_STD  # black border, as HMR2's training crops
    np.testing.assert_allclose(crop[:, 128, 200], inside, atol=1e-5)
    np.testing.assert_allclose(crop[:, 128, 5], outside, atol=1e-5)  # x < 0 in the image


def test_square_box_size_follows_192_256_aspect() -> None:
    boxes = np.array([[0, 0, 100, 300], [0, 0, 300, 100], [0, 0, 192, 256]], dtype=np.float32)
    np.testing.assert_allclose(square_box_size(boxes), [300, 400, 256])


def test_crop_geometry_maps_box_centre_to_crop_centre() -> None:
    rgb = np.zeros((H, W, 3), dtype=np.uint8)
    rgb[150:152, 300:302] = 255  # a 2x2 dot centred at (301, 151)
    patch = crop_square(rgb, 301.0, 151.0, 128.0, 256)  # 2x upsampling
    ys, xs = np.nonzero(patch[..., 0] > 127)
    assert abs(xs.mean() - 128) <= 1.0 and abs(ys.mean() - 128) <= 1.0


def test_antialias_blur_matches_whole_image_blur() -> None:
    """Blurring only the crop's region equals ViTDetDataset's whole-image blur."""
    from scipy.ndimage import gaussian_filter

    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (900, 1600, 3), dtype=np.uint8)
    cx, cy, side = 700.0, 420.0, 1000.0
    sigma = antialias_sigma(side)
    assert sigma > 0
    blurred = np.stack(
        [gaussian_filter(rgb[..., c].astype(np.float64), sigma, mode="nearest") for c in range(3)],
        axis=-1,
    ).astype(np.float32)
    s = 256 / side
    affine = np.array([[s, 0, 128 - s * cx], [0, s, 128 - s * cy]])
    reference = cv2.warpAffine(blurred, affine, (256, 256), flags=cv2.INTER_LINEAR)
    ours = crop_square(rgb, cx, cy, side, 256)
    assert np.abs(ours - reference).max() < 0.5  # of 255


# --- camera and joints -----------------------------------------------------------------------


def test_projection_matches_direct_pinhole(stack: SimpleNamespace) -> None:
    stack.d2.DETECTIONS[:] = [(200, 30, 280, 320, 0.9, 0), (400, 60, 520, 300, 0.8, 0)]
    estimate = _loaded().estimate(_frame())
    out = stack.hmr2.FORWARD_OUTPUTS[0]
    focal = 5000.0 / 256.0 * max(W, H)
    for i, person in enumerate(estimate.people):
        x0, y0, x1, y1 = person.bbox
        b = max(y1 - y0, (x1 - x0) * 256 / 192)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        s, tx, ty = out["pred_cam"][i].numpy().astype(np.float64)
        t = np.array(
            [tx + 2 * (cx - W / 2) / (b * s), ty + 2 * (cy - H / 2) / (b * s), 2 * focal / (b * s)]
        )
        np.testing.assert_allclose(person.camera_translation, t, rtol=1e-5)
        assert person.focal_length == pytest.approx(focal)
        cam = person.joints_3d.astype(np.float64) + t
        expected = focal * cam[:, :2] / cam[:, 2:3] + np.array([W / 2, H / 2])
        np.testing.assert_allclose(person.keypoints_2d, expected, atol=1e-2)
        assert person.keypoints_2d.shape == (24, 2) and person.keypoints_2d.dtype == np.float32


def test_crop_to_full_keeps_the_crop_projection_for_z0_points() -> None:
    """A point at the body origin lands where the crop camera put it, mapped to the image."""
    pred_cam = np.array([[0.9, 0.05, -0.1]])
    center, size = np.array([[400.0, 200.0]]), np.array([240.0])
    focal = 5000 / 256 * 640
    t = crop_to_full_translation(pred_cam, center, size, 640, 360, focal)[0].astype(np.float64)
    point = np.array([0.1, -0.2, 0.0])
    full = focal * (point[:2] + t[:2]) / t[2] + [320, 180]
    crop_pixels = 128 * 0.9 * (point[:2] + pred_cam[0, 1:])  # weak perspective, from centre
    np.testing.assert_allclose(full, center[0] + crop_pixels * 240 / 256, rtol=1e-5)


def test_joints_come_from_smpl_layer_not_openpose_rows(stack: SimpleNamespace) -> None:
    import smplx

    stack.d2.DETECTIONS[:] = [(200, 30, 280, 320, 0.9, 0)]
    est = _loaded()
    (person,) = est.estimate(_frame()).people
    out = stack.hmr2.FORWARD_OUTPUTS[0]
    params = out["pred_smpl_params"]
    base = smplx.SMPLLayer.forward(est._model.smpl, **params, pose2rot=False)
    np.testing.assert_allclose(person.joints_3d, base.joints[0, :24].numpy(), atol=1e-6)
    openpose_rows = out["pred_keypoints_3d"][0, :24].numpy()
    assert out["pred_keypoints_3d"].shape == (1, 44, 3)
    assert np.abs(person.joints_3d - openpose_rows).max() > 0.05
    assert person.joints_3d.shape == (24, 3) and person.joints_3d.dtype == np.float32
    # the mesh, rotations and shape are HMR2's own
    np.testing.assert_allclose(person.vertices, out["pred_vertices"][0].numpy())
    assert person.vertices.shape == (6890, 3) and person.vertices.dtype == np.float32
    rotations = np.concatenate(
        [params["global_orient"][0].numpy(), params["body_pose"][0].numpy()], axis=0
    )
    np.testing.assert_allclose(person.rotations, rotations)
    assert person.rotations.shape == (24, 3, 3)
    np.testing.assert_allclose(person.betas, params["betas"][0].numpy())


def test_joint_confidence_is_detector_score_halved_off_frame() -> None:
    kp = np.array([[10, 10], [-5, 10], [639, 359], [640, 100]], dtype=np.float32)
    np.testing.assert_allclose(joint_confidence(0.8, kp, 640, 360), [0.8, 0.4, 0.8, 0.4])


def test_person_behind_camera_is_dropped(stack: SimpleNamespace) -> None:
    stack.d2.DETECTIONS[:] = [(200, 30, 280, 320, 0.9, 0)]
    stack.hmr2.PRED_CAM = (-0.5, 0.0, 0.0)
    assert _loaded().estimate(_frame()).people == []


# --- failures --------------------------------------------------------------------------------


def test_cuda_oom_is_transient_and_frees_cache(
    stack: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    torch = stack.torch
    stack.d2.DETECTIONS[:] = [(200, 30, 280, 320, 0.9, 0)]
    est = _loaded()
    freed: list[bool] = []
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: freed.append(True))

    def oom(batch: object) -> None:
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    stack.hmr2.FORWARD_HOOK = oom
    with pytest.raises(TransientInferenceError, match="out of memory"):
        est.estimate(_frame())
    assert freed == [True]
    stack.hmr2.FORWARD_HOOK = None  # the next frame works again
    assert len(est.estimate(_frame()).people) == 1


def test_other_runtime_errors_propagate(stack: SimpleNamespace) -> None:
    stack.d2.DETECTIONS[:] = [(200, 30, 280, 320, 0.9, 0)]
    est = _loaded()

    def boom(batch: object) -> None:
        raise RuntimeError("shape mismatch")

    stack.hmr2.FORWARD_HOOK = boom
    with pytest.raises(RuntimeError, match="shape mismatch"):
        est.estimate(_frame())


# --- detect on reacquire (Frame.hint) --------------------------------------------------------


def _hinted(frame: Frame, box: tuple[float, float, float, float], score: float = 0.8) -> Frame:
    from pose_service.types import BoxHint

    return Frame(frame.rgb, frame.frame_number, BoxHint(np.array(box, np.float32), score))


def test_a_confirmed_hint_skips_the_detector(stack: SimpleNamespace) -> None:
    # A crop scale that makes the fake's small body fill the box, as a real person fills ViTDet's.
    stack.hmr2.PRED_CAM = (2.0, 0.0, 0.3)
    stack.d2.DETECTIONS[:] = [(200, 30, 280, 320, 0.9, 0)]
    est = _loaded()
    detected = est.estimate(_frame()).people[0]
    stack.d2.CALLS.clear()
    stack.hmr2.FORWARD_BATCHES.clear()

    estimate = est.estimate(_hinted(_frame(), (200, 30, 280, 320), score=0.85))
    assert stack.d2.CALLS == []  # ViTDet never ran
    assert len(stack.hmr2.FORWARD_BATCHES) == 1 and not estimate.detector_ran
    (person,) = estimate.people
    assert person.score == pytest.approx(0.85)  # the score the track was confirmed with
    np.testing.assert_allclose(person.joints_3d, detected.joints_3d, atol=1e-5)  # same crop
    # the box now follows the body HMR2 found: around its projected joints, in the image
    x0, y0, x1, y1 = person.bbox
    assert x0 <= person.keypoints_2d[:, 0].min() and x1 >= person.keypoints_2d[:, 0].max()
    assert y0 <= person.keypoints_2d[:, 1].min() and y1 >= person.keypoints_2d[:, 1].max()
    assert 0 <= x0 < x1 <= W and 0 <= y0 < y1 <= H
    assert set(estimate.timings_ms) == {"crop", "pose"}


def test_a_hint_the_body_does_not_confirm_falls_back_to_the_detector(
    stack: SimpleNamespace,
) -> None:
    # HMR2 puts the body far to the side of the crop: nobody where the track expected one.
    stack.hmr2.PRED_CAM = (0.8, 3.0, 0.0)
    stack.d2.DETECTIONS[:] = [(10, 20, 110, 300, 0.9, 0)]
    estimate = _loaded().estimate(_hinted(_frame(), (200, 30, 280, 320)))
    assert len(stack.d2.CALLS) == 1 and estimate.detector_ran
    assert len(stack.hmr2.FORWARD_BATCHES) == 2  # the hinted crop, then the detected one
    assert "detect" in estimate.timings_ms


@pytest.mark.parametrize(
    "box",
    [
        (600, 30, 700, 320),  # mostly outside the picture: the person walks out of view
        (200, 30, 208, 320),  # 8 px wide: no crop to run HMR2 on
        (np.nan, 30, 280, 320),  # a prediction gone wrong
    ],
)
def test_an_unusable_hint_is_left_to_the_detector(stack: SimpleNamespace, box) -> None:
    """The estimator applies the box-hint rule itself (``box_hint.usable_hint``): a frame whose
    hint is no crop worth running goes to the detector, as if it carried no hint at all."""
    stack.hmr2.PRED_CAM = (2.0, 0.0, 0.3)
    stack.d2.DETECTIONS[:] = [(200, 30, 280, 320, 0.9, 0)]
    est = _loaded()
    plain = est.estimate(_frame())
    stack.d2.CALLS.clear()
    stack.hmr2.FORWARD_BATCHES.clear()

    estimate = est.estimate(_hinted(_frame(), box))
    assert len(stack.d2.CALLS) == 1 and estimate.detector_ran
    assert len(stack.hmr2.FORWARD_BATCHES) == 1  # the detected crop only: no hinted crop first
    (person,) = estimate.people
    np.testing.assert_allclose(person.joints_3d, plain.people[0].joints_3d, atol=1e-5)
    assert person.score == pytest.approx(0.9)  # the detector's score, not the hint's


def test_a_batch_mixes_usable_and_unusable_hints(stack: SimpleNamespace) -> None:
    """In one batch the usable hint skips the detector and the unusable one gets it."""
    stack.hmr2.PRED_CAM = (2.0, 0.0, 0.3)
    stack.d2.DETECTIONS[:] = [(200, 30, 280, 320, 0.9, 0)]
    est = _loaded()
    stack.d2.CALLS.clear()
    good, bad = _hinted(_frame(), (200, 30, 280, 320)), _hinted(_frame(), (620, 30, 700, 320))
    estimates = est.estimate_batch([good, bad])
    assert [e.detector_ran for e in estimates] == [False, True]
    assert len(stack.d2.CALLS) == 1 and all(len(e.people) == 1 for e in estimates)


def test_smpl_joints_of_given_parameters_match_the_estimate(stack: SimpleNamespace) -> None:
    """What maps PHALP's SMPL output to joints: the same SMPL layer as the estimate's own."""
    stack.d2.DETECTIONS[:] = [(200, 30, 280, 320, 0.9, 0)]
    est = _loaded()
    (person,) = est.estimate(_frame()).people
    params = {
        "global_orient": person.rotations[:1],
        "body_pose": person.rotations[1:],
        "betas": person.betas,
    }
    joints = est.smpl_joints(params)
    assert joints.shape == (24, 3) and joints.dtype == np.float32
    np.testing.assert_allclose(joints, person.joints_3d, atol=1e-5)


# --- several frames at once (estimate_batch) -------------------------------------------------


def _coloured(number: int, colour: tuple[int, int, int], size: tuple[int, int] = (W, H)) -> Frame:
    rgb = np.empty((size[1], size[0], 3), dtype=np.uint8)
    rgb[:] = colour
    return Frame(rgb=rgb, frame_number=number)


def test_a_batch_of_frames_answers_as_each_frame_alone(stack: SimpleNamespace) -> None:
    stack.hmr2.PRED_CAM = (2.0, 0.0, 0.3)
    stack.d2.DETECTIONS[:] = [(200, 30, 280, 320, 0.9, 0), (300, 40, 380, 330, 0.8, 0)]
    est = _loaded()
    frames = [
        _coloured(1, (120, 80, 40)),
        _hinted(_coloured(2, (30, 160, 90)), (200, 30, 280, 320), score=0.85),
        _coloured(3, (200, 20, 220), size=(960, 540)),  # another video's size and focal
    ]
    alone = [est.estimate(f) for f in frames]
    stack.d2.CALLS.clear()
    stack.hmr2.FORWARD_BATCHES.clear()

    together = est.estimate_batch(frames)
    # one detector pass for the two frames without a confirmed hint, in order, each its size
    (call,) = stack.d2.CALLS
    assert [(c["height"], c["width"]) for c in call] == [(H, W), (540, 960)]
    # the hinted crop, then the four detected people of both frames in one HMR2 pass
    assert [b.shape[0] for b in stack.hmr2.FORWARD_BATCHES] == [1, 4]
    assert [e.detector_ran for e in together] == [True, False, True]
    for single, batched in zip(alone, together, strict=True):
        assert len(single.people) == len(batched.people)
        for a, b in zip(single.people, batched.people, strict=True):
            np.testing.assert_allclose(b.joints_3d, a.joints_3d, atol=1e-5)
            np.testing.assert_allclose(b.keypoints_2d, a.keypoints_2d, atol=1e-3)
            np.testing.assert_allclose(b.camera_translation, a.camera_translation, atol=1e-5)
            np.testing.assert_allclose(b.vertices, a.vertices, atol=1e-5)
            assert b.focal_length == pytest.approx(a.focal_length)
            assert b.score == pytest.approx(a.score)
    # the frames differ in colour, so a mix-up of whose crop is whose would show
    assert not np.allclose(together[0].people[0].joints_3d, together[2].people[0].joints_3d)


def test_a_batch_splits_into_hmr2_passes_of_batch_size(stack: SimpleNamespace) -> None:
    from pose_service.estimators.hmr2.estimator import HMR2Estimator

    stack.d2.DETECTIONS[:] = [(200, 30, 280, 320, 0.9, 0)]
    est = HMR2Estimator(
        Settings(estimator="hmr2", device="cpu", hmr2_detector="vitdet"), batch_size=2
    )
    est.load()
    estimates = est.estimate_batch([_coloured(n, (40 * n, 90, 60)) for n in range(5)])
    assert [len(e.people) for e in estimates] == [1] * 5
    assert [b.shape[0] for b in stack.hmr2.FORWARD_BATCHES] == [2, 2, 1]
    assert len(stack.d2.CALLS) == 1 and len(stack.d2.CALLS[0]) == 5


def test_a_batch_where_nobody_is_found_in_some_frames(stack: SimpleNamespace) -> None:
    stack.d2.DETECTIONS[:] = [(50, 50, 150, 150, 0.99, 15)]  # a cat, no person
    estimates = _loaded().estimate_batch([_coloured(n, (90, 90, 90)) for n in range(3)])
    assert [e.people for e in estimates] == [[], [], []]
    assert stack.hmr2.FORWARD_BATCHES == []


def test_the_drawn_mesh_lands_on_the_answered_keypoints(stack: SimpleNamespace) -> None:
    """HMR2's own mesh (the fake SMPL layer's, skinned to the joints the keypoints come from),
    drawn with the answer's own camera (``camera_translation``, ``scaled_focal_length``): it
    covers every keypoint, and exactly the region its vertices project to."""
    from pose_service.api.responses import FacesCache, build_frame_answer
    from pose_service.camera import project
    from pose_service.drawing import draw_answer
    from pose_service.mesh_render import MeshRenderer
    from pose_service.pipeline import FrameOutcome
    from pose_service.types import TrackedPose

    stack.hmr2.PRED_CAM = (2.0, 0.0, 0.3)
    stack.d2.DETECTIONS[:] = [(200, 30, 280, 320, 0.9, 0)]
    est = _loaded()
    frame = _frame((90, 90, 90))
    (person,) = est.estimate(frame).people
    outcome = FrameOutcome(frame, TrackedPose(person, "detected", 0.9, 1, 0), "s", "r", "m")
    answer = build_frame_answer(outcome, FacesCache(est.faces()))
    vertices = np.asarray(answer["mesh_vertices_data"], np.float64)
    pixels = project(
        vertices, np.asarray(answer["camera_translation"]), answer["scaled_focal_length"], W, H
    )
    keypoints = np.array([[k["x"], k["y"]] for k in answer["keypoints"]])

    drawn = draw_answer(frame.rgb, person, "detected", 0.9, MeshRenderer(est.faces()), "mesh")
    covered = np.any(drawn != 90, axis=2)
    covered[:27] = False  # the label
    inside = (keypoints >= 0).all(axis=1) & (keypoints < [W, H]).all(axis=1)
    assert inside.sum() >= 20
    x, y = np.round(keypoints[inside]).astype(int).T
    assert covered[y, x].all()
    ys, xs = np.nonzero(covered)
    used = pixels[np.unique(est.faces())]
    assert abs(xs.min() - max(used[:, 0].min(), 0)) <= 1.5
    assert abs(xs.max() - min(used[:, 0].max(), W - 1)) <= 1.5
    assert abs(ys.max() - min(used[:, 1].max(), H - 1)) <= 1.5
