"""Person crops for HMR2, prepared the way HMR2 was trained to see them.

HMR2.0 takes a 256x256 RGB crop, ImageNet-normalised, of a square box centred on the person box
and grown to the 192:256 (w:h) aspect of its ViT backbone (it then looks at the central 192
columns). 4D-Humans prepares this in ``hmr2.datasets.vitdet_dataset.ViTDetDataset``; that class
Gaussian-blurs the *whole image* once per person before shrinking a large box (anti-aliasing)
and prints a debug line per item, so this module reimplements the same geometry in a few lines
and blurs only the region the crop reads. Pure numpy + OpenCV: no torch, testable anywhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

CROP_SIZE = 256  # MODEL.IMAGE_SIZE of the released HMR2.0 model
BBOX_ASPECT = (192.0, 256.0)  # MODEL.BBOX_SHAPE (w, h) that load_hmr2 sets for the ViT backbone
IMAGE_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)  # MODEL.IMAGE_MEAN (ImageNet)
IMAGE_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)  # MODEL.IMAGE_STD


@dataclass(frozen=True)
class CropBatch:
    """HMR2's input for the people of one frame, and the geometry needed to undo the crop."""

    images: np.ndarray  # (B, 3, S, S) float32, RGB, normalised
    box_center: np.ndarray  # (B, 2) float32, centre of the detector box, image pixels
    box_size: np.ndarray  # (B,) float32, side of the square crop, image pixels


def square_box_size(boxes: np.ndarray, aspect: tuple[float, float] = BBOX_ASPECT) -> np.ndarray:
    """Side of the square crop for each ``x0 y0 x1 y1`` box.

    Growing (w, h) to the aspect ``aw:ah`` and then taking the larger side gives
    ``max(h, w * ah / aw)``: a tall box keeps its height, a wide one is padded vertically.
    """
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    return np.maximum(h, w * (aspect[1] / aspect[0])).astype(np.float32)


def antialias_sigma(box_size: float, crop_size: int = CROP_SIZE) -> float:
    """Gaussian sigma HMR2's preprocessing applies before shrinking a box, 0 when none.

    Same rule as ViTDetDataset: half the downsampling factor; blur only above 1.1.
    """
    factor = box_size / crop_size / 2.0
    return (factor - 1.0) / 2.0 if factor > 1.1 else 0.0


def prepare_crops(
    rgb: np.ndarray,
    boxes: np.ndarray,
    crop_size: int = CROP_SIZE,
    mean: np.ndarray = IMAGE_MEAN,
    std: np.ndarray = IMAGE_STD,
    aspect: tuple[float, float] = BBOX_ASPECT,
) -> CropBatch:
    """Cut, resample and normalise one crop per box (``x0 y0 x1 y1``, image pixels)."""
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    centers = ((boxes[:, :2] + boxes[:, 2:]) / 2.0).astype(np.float32)
    sizes = square_box_size(boxes, aspect)
    images = np.zeros((len(boxes), 3, crop_size, crop_size), dtype=np.float32)
    for i, (center, side) in enumerate(zip(centers, sizes, strict=True)):
        patch = crop_square(rgb, float(center[0]), float(center[1]), float(side), crop_size)
        patch = (patch / 255.0 - mean) / std
        images[i] = patch.transpose(2, 0, 1)
    return CropBatch(images=images, box_center=centers, box_size=sizes)


def crop_square(rgb: np.ndarray, cx: float, cy: float, side: float, crop_size: int) -> np.ndarray:
    """The ``side``-pixel square centred on (cx, cy), resampled to ``crop_size``: (S, S, 3) float32.

    Outside the image is black, as in HMR2's training crops (``BORDER_CONSTANT``, 0).
    """
    import cv2  # lazy: the package itself does not depend on OpenCV; the hmr2 install does

    height, width = rgb.shape[:2]
    side = max(side, 1.0)
    sigma = antialias_sigma(side, crop_size)
    margin = int(4.0 * sigma + 0.5) + 2 if sigma > 0 else 1  # the blur kernel's reach
    x0 = max(0, math.floor(cx - side / 2.0) - margin)
    y0 = max(0, math.floor(cy - side / 2.0) - margin)
    x1 = min(width, math.ceil(cx + side / 2.0) + 1 + margin)
    y1 = min(height, math.ceil(cy + side / 2.0) + 1 + margin)
    if x1 <= x0 or y1 <= y0:
        return np.zeros((crop_size, crop_size, 3), dtype=np.float32)
    region = np.ascontiguousarray(rgb[y0:y1, x0:x1], dtype=np.float32)
    if sigma > 0:
        radius = int(4.0 * sigma + 0.5)  # scipy/skimage's truncate=4 kernel, 'nearest' border
        region = cv2.GaussianBlur(
            region,
            (2 * radius + 1, 2 * radius + 1),
            sigmaX=sigma,
            sigmaY=sigma,
            borderType=cv2.BORDER_REPLICATE,
        )
    scale = crop_size / side
    affine = np.array(
        [
            [scale, 0.0, crop_size / 2.0 - scale * (cx - x0)],
            [0.0, scale, crop_size / 2.0 - scale * (cy - y0)],
        ],
        dtype=np.float64,
    )
    return cv2.warpAffine(
        region,
        affine,
        (crop_size, crop_size),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
