"""The box-hint rules on plain boxes (no model): which body confirms a predicted box, and the
box rebuilt around a confirmed body's joints. The estimator applying them to frames:
``test_estimator.py``."""

from __future__ import annotations

import numpy as np

from pose_service.estimators.hmr2.box_hint import box_around_joints, confirms_hint


def test_hint_checks_on_plain_boxes() -> None:
    body = np.array([[100, 50], [140, 60], [120, 250], [90, 240]], np.float32)
    assert confirms_hint(body, np.array([80, 30, 160, 270]))
    assert not confirms_hint(body, np.array([300, 30, 380, 270]))  # elsewhere
    assert not confirms_hint(body * 0.05 + 100, np.array([80, 30, 160, 270]))  # a speck
    assert not confirms_hint(np.full((4, 2), np.nan, np.float32), np.array([0, 0, 10, 10]))
    box = box_around_joints(body, 640, 360)
    assert box[0] < 90 and box[2] > 140 and box[1] < 50 and box[3] > 250
    np.testing.assert_allclose(box_around_joints(body + 500, 640, 360)[2:], [640, 360])
