"""The harness on a real clip: an estimator's own undropped output is the reference.

Every frame is estimated once (the ``lite`` MediaPipe estimator by default, frames resized to
640 wide like the backend). Frames are then hidden by the same miss model as for motion capture
and every method is fed what remains; its body-frame 3D joints (mm) are compared with the
estimator's output on the hidden frames. This measures how well the gaps are filled relative to
what the estimator would have said, not against true 3D (a real clip has none); frames where the
estimator found nobody even undropped are left out of the scores.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from ...config import Settings
from ...estimators import create_estimator
from ...tracking.config import TrackerConfig
from ...types import Frame, PersonPose
from ...video_frames import read_frames
from .harness import Report, Scenario, score_methods
from .simulate import miss_mask


def estimate_video(
    path: Path, estimator_name: str, max_frames: int = 0, width: int = 640
) -> list[PersonPose | None]:
    """The estimator's main person in every frame (None where it found nobody)."""
    estimator = create_estimator(Settings.from_env(estimator=estimator_name))
    estimator.load()
    found: list[PersonPose | None] = []
    frames = read_frames(path, width)
    for rgb in itertools.islice(frames, max_frames or None):
        people = estimator.estimate(Frame(rgb, len(found)))
        found.append(max(people.people, key=lambda p: p.score) if people.people else None)
    return found


def evaluate_video(
    path: Path,
    scenario: Scenario,
    config: TrackerConfig,
    estimator_name: str = "lite",
    max_frames: int = 0,
) -> Report:
    reference = estimate_video(path, estimator_name, max_frames)
    return evaluate_reference(reference, f"{path.stem} ({estimator_name})", scenario, config)


def evaluate_reference(
    reference: list[PersonPose | None], name: str, scenario: Scenario, config: TrackerConfig
) -> Report:
    """The harness on an estimator's undropped output (``estimate_video``), hidden frames
    scored against it."""
    T = len(reference)
    truth = np.full((T, 24, 3), np.nan)
    root = np.full((T, 3), np.nan)
    for t, pose in enumerate(reference):
        if pose is not None:
            truth[t] = pose.joints_3d
            if pose.camera_translation is not None:
                root[t] = pose.camera_translation
    hidden = miss_mask(T, scenario.miss_share, scenario.burst, scenario.miss_first, scenario.seed)
    observed = [None if hidden[t] else pose for t, pose in enumerate(reference)]
    missed = hidden & ~np.isnan(truth[:, 0, 0])
    methods, calibration, by_source = score_methods(
        observed, config, scenario.in_flight, truth, root, missed, hidden
    )
    return Report(
        name, T, methods, calibration, int(hidden.sum()),
        in_flight=scenario.in_flight, noise_model="estimator", by_source=by_source,
    )  # fmt: skip
