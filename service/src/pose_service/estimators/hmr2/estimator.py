"""The GPU estimator: 4D-Humans' ViTDet-H person detector + HMR2.0b, SMPL joints and mesh.

One frame in: ViTDet finds the people (class 0, score > threshold, as 4D-Humans' demo.py),
each person's box becomes a 256x256 crop (``crop``), HMR2 regresses SMPL pose, shape and
a crop camera for all crops in one batch, and the crop camera is moved to the full image
(``camera``). When the frame carries the track's predicted box (``Frame.hint``), the estimator
decides whether to use it (``box_hint.usable_hint``); a usable hint runs HMR2 on that crop alone
and the detector only if the result does not confirm it (``box_hint.confirms_hint``).
Several frames can go through together (``estimate_batch``): one detector pass for those that
need it, and all their crops batched through HMR2.
Creating the estimator is cheap; torch, hmr2 and detectron2 are imported in
:meth:`HMR2Estimator.load` (``upstream_loading``), which also refuses to start when a model
file is missing instead of letting a library download it (``model_files``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import structlog

from ...config import Settings
from ...skeleton import NUM_JOINTS
from ...types import Estimate, Frame, PersonPose
from ..base import BodyModelEstimator, ModelUnavailable, TransientInferenceError, warm_up_frame
from ..search_region import best_overlap
from .box_hint import box_around_joints, confirms_hint, usable_hint
from .camera import (
    crop_to_full_translation,
    full_image_focal,
    joint_confidence,
    project_to_image,
)
from .crop import prepare_crops
from .mediapipe_detector import MediaPipePersonDetector
from .model_files import (
    default_cache_dir_4dhumans,
    hmr2_checkpoint_path,
    model_config_path,
    require_smpl,
    vitdet_config_path,
    vitdet_weights_path,
)
from .upstream_loading import (
    import_failure,
    import_upstream,
    load_hmr2_without_renderer,
    smpl_layer_forward,
    torch_full_unpickling,
)
from .vitdet_detector import ViTDetPersonDetector, low_score_people, select_people

log = structlog.get_logger(__name__)

MODEL_VERSION = "4D-Humans HMR2.0b + ViTDet-H"  # as 4D-Humans' demo runs it
DETECTOR_LABELS = {"vitdet": "ViTDet-H", "mediapipe": "MediaPipe Pose person box"}
PersonDetector = ViTDetPersonDetector | MediaPipePersonDetector
SMPL_VERTICES = 6890
RESCUE_MIN_IOU = 0.3  # a low-score box must overlap the track's search box this much
DEFAULT_BATCH_SIZE = 8  # people per HMR2 forward pass (demo.py's DataLoader batch size)


class HMR2Estimator(BodyModelEstimator):
    """4D-Humans behind the estimator interface. Stateless between frames."""

    name = "hmr2"
    takes_box_hints = True  # the pipeline may send Frame.hint to skip the detector
    batches_frames = True  # one ViTDet pass and batched HMR2 crops for several frames
    rescues = True  # ViTDet's low-score boxes where the track predicts the person

    def __init__(
        self, settings: Settings, *, fp16: bool | None = None, batch_size: int | None = None
    ) -> None:
        self._settings = settings
        # fp16 autocast of the HMR2 network (not of SMPL): faster on tensor cores, off by default
        # because HMR2 was validated in fp32 (POSE_SERVICE_HMR2_FP16).
        self._fp16 = settings.hmr2_fp16 if fp16 is None else fp16
        self._batch_size = max(1, int(batch_size or DEFAULT_BATCH_SIZE))
        self._torch: Any = None
        self._device = "cpu"
        self._model: Any = None
        self._cfg: Any = None
        self._detector: PersonDetector | None = None
        self._detector_name = ""
        self._model_version = MODEL_VERSION
        self._smpl_forward: Callable[..., Any] | None = None
        self._faces: np.ndarray | None = None
        self._paths: dict[str, str] = {}

    # --- loading ---------------------------------------------------------------------------

    def load(self) -> None:
        """Import the stack, check every file, load HMR2 then the person detector."""
        checkpoint = self._locate()
        with torch_full_unpickling():
            model, cfg = load_hmr2_without_renderer(checkpoint)
        model = model.to(self._device).eval()
        self._smpl_forward = smpl_layer_forward(model.smpl)
        self._faces = np.ascontiguousarray(np.asarray(model.smpl.faces).reshape(-1, 3), np.int32)
        self._cfg = cfg
        self._model = model
        log.info("model_loaded", model="hmr2", device=self._device, path=str(checkpoint))
        self._detector = self._build_detector()
        log.info("model_loaded", model=self._detector_name, device=self._device)

    def warm_up(self) -> None:
        """One pass over a black frame: the person detector's first run on the device (HMR2
        itself runs only where someone is found)."""
        self.estimate(warm_up_frame())

    def verify_install(self) -> dict[str, str]:
        """What :meth:`load` needs, checked in seconds and without reading weights: the imports
        (``hmr2.models`` under this process's GL setting), every file, the converted SMPL model
        read by smplx, and the detector (ViTDet-H's LazyConfig parsed, or MediaPipe built)."""
        checkpoint = self._locate()
        import_upstream("hmr2.models")  # imports pyrender: fails here, not at load, without GL
        smpl_path = require_smpl(Path(import_upstream("hmr2.configs").CACHE_DIR_4DHUMANS))
        smpl = import_upstream("smplx").SMPLLayer(model_path=str(smpl_path))
        vertices = int(smpl.v_template.shape[0])
        if vertices != SMPL_VERTICES:
            raise ModelUnavailable(
                f"the SMPL model {smpl_path} has {vertices} vertices, not SMPL's {SMPL_VERTICES}"
            )
        if self._detector_name == "vitdet":
            try:
                import_upstream("detectron2.config").LazyConfig.load(self._paths["vitdet_config"])
            except ImportError as exc:  # detectron2's modeling, or model_zoo without pkg_resources
                raise import_failure("detectron2", exc) from exc
        else:
            MediaPipePersonDetector.build(self._settings)
        return {
            "device": self._device,
            "detector": self._detector_name,
            "torch": self._torch.__version__,
            "smpl": str(smpl_path),
            "model_config": str(model_config_path(checkpoint)),
            **self._paths,
        }

    def _locate(self) -> Path:
        """Import torch and hmr2.configs, choose device and detector, check every file (so a
        missing one fails in a second, before gigabytes are read); the HMR2 checkpoint."""
        torch = import_upstream("torch")
        self._torch = torch
        self._device = self._choose_device(torch)
        self._detector_name = self._choose_detector()
        self._model_version = f"4D-Humans HMR2.0b + {DETECTOR_LABELS[self._detector_name]}"
        default_cache_dir_4dhumans()  # hmr2.configs crashes on import when HOME is unset
        hmr2_configs = import_upstream("hmr2.configs")
        hmr2_pkg = import_upstream("hmr2")
        cache_dir = Path(hmr2_configs.CACHE_DIR_4DHUMANS)
        checkpoint = hmr2_checkpoint_path(self._settings.hmr2_checkpoint, cache_dir)
        require_smpl(cache_dir)
        self._paths = {"hmr2_checkpoint": str(checkpoint)}
        if self._detector_name == "vitdet":
            self._paths["vitdet_weights"] = str(vitdet_weights_path(self._settings.vitdet_weights))
            self._paths["vitdet_config"] = str(
                vitdet_config_path(self._settings.fourd_humans_dir, Path(hmr2_pkg.__file__).parent)
            )
        return checkpoint

    def _choose_detector(self) -> str:
        """``auto``: ViTDet-H on CUDA (4D-Humans' own); on a CPU MediaPipe's box, which is
        ~300x faster there, where it is installed (the ``lite`` extra, Python <= 3.12), else
        ViTDet-H."""
        wanted = self._settings.hmr2_detector
        if wanted != "auto":
            return wanted
        if self._device != "cuda" and importlib.util.find_spec("mediapipe") is not None:
            return "mediapipe"
        return "vitdet"

    def _build_detector(self) -> PersonDetector:
        if self._detector_name == "mediapipe":
            return MediaPipePersonDetector.build(self._settings)
        try:
            return ViTDetPersonDetector.build(
                Path(self._paths["vitdet_config"]),
                Path(self._paths["vitdet_weights"]),
                self._device,
                self._detector_floor(),
            )
        except ImportError as exc:  # detectron2 missing, or its model_zoo without pkg_resources
            raise import_failure("detectron2", exc) from exc

    def _detector_floor(self) -> float:
        """The least score the detector returns: the threshold, or lower for rescue."""
        settings = self._settings
        floor = settings.detector_score_threshold
        return min(floor, settings.rescue_min_score) if settings.rescue else floor

    def _choose_device(self, torch: Any) -> str:
        wanted = self._settings.device
        if wanted == "cpu":
            return "cpu"
        if torch.cuda.is_available():
            return "cuda"
        if wanted == "cuda":
            raise ModelUnavailable(
                f"POSE_SERVICE_DEVICE=cuda but torch {torch.__version__} sees no CUDA device "
                f"(built for CUDA {torch.version.cuda}); check the driver, or set it to auto/cpu"
            )
        log.warning("hmr2_on_cpu", reason="no CUDA device; ViTDet-H + HMR2 take seconds a frame")
        return "cpu"

    # --- the interface ---------------------------------------------------------------------

    def model_status(self) -> dict[str, str]:
        """``loaded`` / ``not_loaded`` per model: HMR2 and the person detector in use
        (``vitdet``, or ``mediapipe_pose`` on a CPU host)."""
        return {
            "hmr2": "loaded" if self._model is not None else "not_loaded",
            self._detector_model(): "loaded" if self._detector is not None else "not_loaded",
        }

    def model_roles(self) -> dict[str, str]:
        """HMR2 is the body model; the person detector is ViTDet-H or MediaPipe's box."""
        return {"hmr2": "hmr2", "vitdet": self._detector_model()}

    def _detector_model(self) -> str:
        """The detector's model name (before the load chose one: the one asked for, if any)."""
        chosen = self._detector_name or self._settings.hmr2_detector
        return "mediapipe_pose" if chosen == "mediapipe" else "vitdet"

    def describe(self) -> dict[str, object]:
        """Device, versions and the files in use, for /health and the load log."""
        info: dict[str, object] = {
            "estimator": self.name,
            "model_version": self._model_version,
            "device": self._device,
            "fp16": self._fp16,
            "batch_size": self._batch_size,
            "detector": self._detector_name,
            "detector_score_threshold": self._settings.detector_score_threshold,
            **self._paths,
        }
        torch = self._torch
        if torch is not None:
            info["torch"] = torch.__version__
            if self._device == "cuda":
                info["cuda_device"] = torch.cuda.get_device_name(0)
        return info

    def smpl_joints(self, params: Mapping[str, Any]) -> np.ndarray:
        """The 24 SMPL joints (24, 3) of one person's SMPL parameters (rotation matrices), on the
        loaded model's SMPL layer: how another tracker's SMPL output (PHALP) becomes joints."""
        torch = self._torch

        def tensor(name: str, shape: tuple[int, ...]) -> Any:
            value = np.asarray(params[name], dtype=np.float32).reshape(shape)
            return torch.as_tensor(value, device=self._device)

        with torch.inference_mode():
            joints = self._smpl_joints(
                tensor("global_orient", (1, 1, 3, 3)),
                tensor("body_pose", (1, -1, 3, 3)),
                tensor("betas", (1, -1)),
            )
        return joints[0].float().cpu().numpy()

    def faces(self) -> np.ndarray | None:
        """SMPL's (13776, 3) int32 triangles (constant: encode once); None until loaded."""
        return self._faces

    def estimate(self, frame: Frame) -> Estimate:
        """People in one frame; an empty list when the detector finds nobody.

        A CUDA out-of-memory error frees the allocator cache and becomes
        :class:`TransientInferenceError` (the next frame may fit); anything else propagates.
        """
        return self.estimate_batch([frame])[0]

    def estimate_batch(self, frames: Sequence[Frame]) -> list[Estimate]:
        """Several frames at once (frames of other videos waiting for the model, or a chunk of
        a whole-video job): one ViTDet pass over the frames that need the detector, and all
        their people's crops through HMR2 together, ``batch_size`` crops per pass. Each frame's
        answer is what :meth:`estimate` alone would give; the timings are the shared passes'."""
        if self._model is None or self._detector is None:
            raise ModelUnavailable("the hmr2 estimator is not loaded")
        with self._out_of_memory_is_transient([f.frame_number for f in frames]):
            return self._estimate_batch(list(frames))

    @contextlib.contextmanager
    def _out_of_memory_is_transient(self, frame_numbers: list[int]) -> Iterator[None]:
        """A CUDA out-of-memory error frees the allocator cache and becomes
        :class:`TransientInferenceError` (the next pass may fit); anything else propagates."""
        torch = self._torch
        try:
            yield
        except RuntimeError as exc:
            if not _is_cuda_oom(torch, exc):
                raise
            torch.cuda.empty_cache()
            log.warning("cuda_out_of_memory", frame_numbers=frame_numbers, error=str(exc))
            raise TransientInferenceError(f"CUDA out of memory: {exc}") from exc

    # --- inference -------------------------------------------------------------------------

    def _estimate_batch(self, frames: list[Frame]) -> list[Estimate]:
        assert self._detector is not None
        timings: dict[str, float] = {}
        found: list[list[PersonPose] | None] = [None] * len(frames)
        with self._torch.inference_mode():
            hinted = [i for i, frame in enumerate(frames) if _has_usable_hint(frame)]
            for i, person in zip(
                hinted, self._people_in_hints(frames, hinted, timings), strict=True
            ):
                if person is not None:
                    found[i] = [person]
            need = [i for i in range(len(frames)) if found[i] is None]
            low_boxes: dict[int, tuple[np.ndarray, np.ndarray]] = {}
            if need:
                start = time.perf_counter()
                detections = self._detector.detect_many([frames[i].rgb for i in need])
                threshold = self._settings.detector_score_threshold
                limit = self._settings.hmr2_max_people
                people_boxes = [select_people(*d, threshold, limit) for d in detections]
                # Each frame's low-score person boxes travel on its Estimate, for rescue.
                low_boxes = {
                    i: low_score_people(*d, self._detector_floor(), threshold, limit)
                    for i, d in zip(need, detections, strict=True)
                }
                timings["detect"] = _ms_since(start)
                groups = [
                    (frames[i], b, s)
                    for i, (b, s) in zip(need, people_boxes, strict=True)
                    if len(b)
                ]
                results = iter(self._people_in_boxes(groups, timings))
                for i, (boxes, _) in zip(need, people_boxes, strict=True):
                    found[i] = next(results) if len(boxes) else []
        return [
            Estimate(
                people or [],
                self._model_version,
                dict(timings),
                detector_ran=i in need,
                candidates=low_boxes.get(i),
            )  # fmt: skip
            for i, people in enumerate(found)
        ]

    def rescue(self, frame: Frame, box: np.ndarray, first: Estimate | None) -> Estimate:
        """HMR2 on the person box of ``first``'s detector pass that scored below the threshold
        (down to ``POSE_SERVICE_RESCUE_MIN_SCORE``) and overlaps the track's search box most
        (IoU at least ``RESCUE_MIN_IOU``): ByteTrack's second association. Nobody when the
        detector did not run on this frame or found no such box."""
        candidates = None if first is None else first.candidates
        if not isinstance(candidates, tuple) or not len(candidates[0]):
            return Estimate([], self._model_version, {}, detector_ran=False)
        boxes, scores = candidates
        best, overlap = best_overlap(boxes, np.asarray(box, dtype=np.float32))
        if overlap < RESCUE_MIN_IOU:
            return Estimate([], self._model_version, {}, detector_ran=False)
        timings: dict[str, float] = {}
        group = (frame, boxes[best : best + 1], scores[best : best + 1])
        with self._out_of_memory_is_transient([frame.frame_number]), self._torch.inference_mode():
            people = self._people_in_boxes([group], timings)[0]
        return Estimate(people, self._model_version, timings, detector_ran=False)

    def _people_in_hints(
        self, frames: list[Frame], hinted: list[int], timings: dict[str, float]
    ) -> list[PersonPose | None]:
        """HMR2 on each hinted frame's predicted box; the person where the result confirms
        the box, None where the detector must look instead."""
        groups = []
        for i in hinted:
            hint = frames[i].hint
            assert hint is not None
            box = np.asarray(hint.box, dtype=np.float32).reshape(1, 4)
            groups.append((frames[i], box, np.array([hint.score], dtype=np.float32)))
        confirmed: list[PersonPose | None] = []
        for (frame, box, _), people in zip(
            groups, self._people_in_boxes(groups, timings), strict=True
        ):
            if people and confirms_hint(people[0].keypoints_2d, box[0]):
                person = people[0]
                person.bbox = box_around_joints(person.keypoints_2d, frame.width, frame.height)
                confirmed.append(person)
            else:
                log.info(
                    "box_hint_not_confirmed", frame_number=frame.frame_number, box=box[0].tolist()
                )
                confirmed.append(None)
        return confirmed

    def _people_in_boxes(
        self,
        groups: list[tuple[Frame, np.ndarray, np.ndarray]],
        timings: dict[str, float],
    ) -> list[list[PersonPose]]:
        """Crop every box of every ``(frame, boxes, scores)`` group and regress the people with
        HMR2, ``batch_size`` crops per pass whatever frame they come from; people per group."""
        if not groups:
            return []
        mark = time.perf_counter()
        model_cfg = self._cfg.MODEL
        crops = [
            prepare_crops(
                frame.rgb,
                boxes,
                crop_size=int(model_cfg.IMAGE_SIZE),
                mean=np.asarray(model_cfg.IMAGE_MEAN, dtype=np.float32),
                std=np.asarray(model_cfg.IMAGE_STD, dtype=np.float32),
                aspect=(float(model_cfg.BBOX_SHAPE[0]), float(model_cfg.BBOX_SHAPE[1])),
            )
            for frame, boxes, _ in groups
        ]
        images = np.concatenate([c.images for c in crops])
        box_center = np.concatenate([c.box_center for c in crops])
        box_size = np.concatenate([c.box_size for c in crops])
        boxes = np.concatenate([g[1] for g in groups])
        scores = np.concatenate([g[2] for g in groups])
        owner = np.repeat(np.arange(len(groups)), [len(g[1]) for g in groups])
        timings["crop"] = timings.get("crop", 0.0) + _ms_since(mark)

        mark = time.perf_counter()
        focals = [
            full_image_focal(
                frame.width,
                frame.height,
                float(self._cfg.EXTRA.FOCAL_LENGTH),
                float(model_cfg.IMAGE_SIZE),
            )
            for frame, _, _ in groups
        ]
        people: list[list[PersonPose]] = [[] for _ in groups]
        for lo in range(0, len(boxes), self._batch_size):
            hi = lo + self._batch_size
            for g, person in self._people_from_crops(
                images[lo:hi],
                box_center[lo:hi],
                box_size[lo:hi],
                boxes[lo:hi],
                scores[lo:hi],
                [(int(g), groups[g][0], focals[g]) for g in owner[lo:hi]],
            ):
                people[g].append(person)
        timings["pose"] = timings.get("pose", 0.0) + _ms_since(mark)
        return people

    def _people_from_crops(
        self,
        images: np.ndarray,
        box_center: np.ndarray,
        box_size: np.ndarray,
        boxes: np.ndarray,
        scores: np.ndarray,
        owners: list[tuple[int, Frame, float]],
    ) -> list[tuple[int, PersonPose]]:
        """One HMR2 pass; ``owners[i]`` is crop i's (group, frame, full-image focal)."""
        torch = self._torch
        batch = {"img": torch.from_numpy(np.ascontiguousarray(images)).to(self._device)}
        use_fp16 = self._fp16 and self._device == "cuda"
        with torch.autocast(device_type=self._device, dtype=torch.float16, enabled=use_fp16):
            out = self._model(batch)
        n = images.shape[0]
        params = out["pred_smpl_params"]
        global_orient = params["global_orient"].float().reshape(n, 1, 3, 3)
        body_pose = params["body_pose"].float().reshape(n, -1, 3, 3)
        betas = params["betas"].float().reshape(n, -1)
        joints = self._smpl_joints(global_orient, body_pose, betas)

        joints_np = joints.cpu().numpy().astype(np.float32)
        vertices_np = out["pred_vertices"].float().cpu().numpy().astype(np.float32)
        rotations_np = torch.cat([global_orient, body_pose], dim=1).cpu().numpy()
        betas_np = betas.cpu().numpy().astype(np.float32)
        translations = crop_to_full_translation(
            out["pred_cam"].float().cpu().numpy(),
            box_center,
            box_size,
            np.array([frame.width for _, frame, _ in owners], dtype=np.float64),
            np.array([frame.height for _, frame, _ in owners], dtype=np.float64),
            np.array([focal for _, _, focal in owners], dtype=np.float64),
        )

        people = []
        for i, (group, frame, focal) in enumerate(owners):
            t = translations[i]
            if not (np.all(np.isfinite(t)) and t[2] > 0 and np.all(np.isfinite(joints_np[i]))):
                # A non-positive crop scale puts the body behind the camera: not a pose.
                log.warning("hmr2_invalid_camera", frame_number=frame.frame_number, t=t.tolist())
                continue
            keypoints = project_to_image(joints_np[i], t, focal, frame.width, frame.height)
            score = float(scores[i])
            person = PersonPose(
                joints_3d=joints_np[i],
                keypoints_2d=keypoints,
                joint_confidence=joint_confidence(score, keypoints, frame.width, frame.height),
                score=score,
                bbox=np.asarray(boxes[i], dtype=np.float32),
                camera_translation=t.astype(np.float32),
                focal_length=focal,
                vertices=vertices_np[i],
                rotations=rotations_np[i].astype(np.float32),
                betas=betas_np[i],
            )
            people.append((group, person))
        return people

    def _smpl_joints(self, global_orient: Any, body_pose: Any, betas: Any) -> Any:
        """The 24 SMPL skeleton joints (B, 24, 3), body frame, metres.

        Not ``pred_keypoints_3d``: HMR2's SMPL wrapper (``hmr2.models.smpl_wrapper.SMPL``)
        overrides ``forward`` to reorder smplx's joints into OpenPose BODY_25 order (nose,
        neck, ...) and append 19 extra regressed joints: 44 rows, of which the first 24 are
        *not* SMPL's. So we call the parent ``smplx.SMPLLayer.forward`` on the same module and
        parameters: its joints are the kinematic SMPL joints from linear blend skinning (the
        skeleton the predicted rotations act on), followed by smplx's extra vertex joints; the
        first 24 rows are exactly the SMPL skeleton, in SMPL order.
        """
        assert self._smpl_forward is not None
        torch = self._torch
        with torch.autocast(device_type=self._device, enabled=False):
            output = self._smpl_forward(
                self._model.smpl,
                global_orient=global_orient,
                body_pose=body_pose,
                betas=betas,
                pose2rot=False,
            )
        return output.joints[:, :NUM_JOINTS]


def _has_usable_hint(frame: Frame) -> bool:
    """The frame carries a predicted box worth a crop (``box_hint.usable_hint``: finite, not
    tiny, mostly inside the image); a frame without one, or with any other, gets the detector.
    The estimator decides, so every caller (the pipeline, jobs, benchmarks) gets the same rule."""
    hint = frame.hint
    return hint is not None and usable_hint(hint.box, frame.width, frame.height)


def _is_cuda_oom(torch: Any, exc: BaseException) -> bool:
    oom_type = getattr(getattr(torch, "cuda", None), "OutOfMemoryError", None)
    if oom_type is not None and isinstance(exc, oom_type):
        return True
    return "CUDA out of memory" in str(exc)  # torch < 1.13 raised a plain RuntimeError


def _ms_since(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0
