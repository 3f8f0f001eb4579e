"""``pose-service eval``: measure gap filling against ground truth.

- ``sequences``: motion with ground truth (BVH via ``bvhio``, or ``.npz``) as 24 SMPL joints.
- ``simulate``: per-frame detections from the truth: noise, burst misses, first frames missed.
- ``methods``: streaming tracker, whole-video filler and the baselines (no fill, hold last
  pose as PHALP outputs, linear interpolation), all fed the same detections.
- ``metrics``: coverage, MPJPE (missed / all frames), acceleration error, time per frame.
- ``video``: the same on a real clip through an estimator, its undropped output as reference.
"""
