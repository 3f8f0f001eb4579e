"""The ViTDet-H person detector, as 4D-Humans' demo.py sets it up, on any device.

demo.py builds ``hmr2.utils.utils_detectron2.DefaultPredictor_Lazy`` from detectron2's
LazyConfig ``cascade_mask_rcnn_vitdet_h_75ep.py`` with the model-zoo checkpoint, sets each
cascade stage's ``test_score_thresh`` to 0.25 and keeps class 0 (COCO "person") with score > 0.5.
``DefaultPredictor_Lazy`` hard-codes ``.cuda()`` and takes BGR; this class does the same few
steps (instantiate, load weights, the test mapper's resize) on the device we choose, from RGB.
torch and detectron2 are imported only when the detector is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

PERSON_CLASS = 0  # COCO category "person" in detectron2's contiguous ids
STAGE_SCORE_THRESHOLD = 0.25  # demo.py's per-stage threshold; the person filter comes after


class ViTDetPersonDetector:
    """Boxes of the people in an RGB image."""

    def __init__(self, model: Any, augmentations: Any, image_format: str) -> None:
        self.model = model
        self.augmentations = augmentations
        self.image_format = image_format

    @classmethod
    def build(
        cls, config_path: Path, weights: Path, device: str, score_threshold: float
    ) -> ViTDetPersonDetector:
        """Instantiate the LazyConfig model, load ``weights`` (a local file) and move it."""
        from detectron2.checkpoint import DetectionCheckpointer
        from detectron2.config import LazyConfig, instantiate

        cfg = LazyConfig.load(str(config_path))
        # A local path: detectron2 then never goes through its URL handler (no download).
        cfg.train.init_checkpoint = str(weights)
        for predictor in cfg.model.roi_heads.box_predictors:
            predictor.test_score_thresh = min(STAGE_SCORE_THRESHOLD, score_threshold)
        model = instantiate(cfg.model)
        DetectionCheckpointer(model).load(str(weights))
        model.eval().to(device)
        mapper = instantiate(cfg.dataloader.test.mapper)
        if mapper.image_format not in ("RGB", "BGR"):  # pragma: no cover - config invariant
            raise ValueError(f"unexpected detector image format {mapper.image_format!r}")
        return cls(model, mapper.augmentations, mapper.image_format)

    def detect(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All detections: boxes (N, 4) x0 y0 x1 y1 in input pixels, scores (N,), classes (N,).

        Call under ``torch.inference_mode()``.
        """
        return self.detect_many([rgb])[0]

    def detect_many(
        self, images: Sequence[np.ndarray]
    ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """``detect`` for several images in one forward pass (detectron2 batches a list of
        inputs: ``ImageList`` pads them to one size, each keeps its own output size)."""
        import detectron2.data.transforms as T
        import torch

        inputs = []
        for rgb in images:
            image = rgb if self.image_format == "RGB" else rgb[:, :, ::-1]
            height, width = image.shape[:2]
            resized = self.augmentations(T.AugInput(image)).apply_image(image)
            chw = np.ascontiguousarray(resized.astype("float32").transpose(2, 0, 1))
            # The model resizes its boxes back to (height, width) in its postprocess step.
            inputs.append({"image": torch.as_tensor(chw), "height": height, "width": width})
        results = []
        for output in self.model(inputs):
            instances = output["instances"].to("cpu")
            results.append(
                (
                    instances.pred_boxes.tensor.numpy().astype(np.float32).reshape(-1, 4),
                    instances.scores.numpy().astype(np.float32).reshape(-1),
                    instances.pred_classes.numpy().astype(np.int64).reshape(-1),
                )
            )
        return results


def low_score_people(
    boxes: np.ndarray,
    scores: np.ndarray,
    classes: np.ndarray,
    floor: float,
    threshold: float,
    limit: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Person boxes scoring at least ``floor`` that :func:`select_people` leaves out (not above
    ``threshold``, or beyond its ``limit``), best first: the rescue's candidates."""
    person = classes == PERSON_CLASS
    keep = person & (scores >= floor) & (scores <= threshold)
    if limit > 0:
        above = np.flatnonzero(person & (scores > threshold))
        keep[above[np.argsort(-scores[above], kind="stable")][limit:]] = True
    order = np.argsort(-scores[keep], kind="stable")
    return boxes[keep][order], scores[keep][order]


def select_people(
    boxes: np.ndarray,
    scores: np.ndarray,
    classes: np.ndarray,
    threshold: float,
    limit: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Person boxes scoring above ``threshold`` (strictly, as demo.py), best first; only the
    best ``limit`` of them when it is positive."""
    keep = (classes == PERSON_CLASS) & (scores > threshold)
    kept_boxes, kept_scores = boxes[keep], scores[keep]
    order = np.argsort(-kept_scores, kind="stable")
    if limit > 0:
        order = order[:limit]
    return kept_boxes[order], kept_scores[order]
