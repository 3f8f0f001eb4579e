"""Temporal tracking of one video's main subject: its maths only (no threads, no HTTP, no
estimator, no persistence; routing many videos is ``sessions``).

- ``config``: ``TrackerConfig``, the tracker's knobs.
- ``track``: one video's track, frame by frame: association, outlier check, prediction,
  confidence, history; ``Expectation``: what the track expects of one new frame.
- ``association``: which detection continues the track, and the coherence checks.
- ``motion_model``: the motion model declared once (field groups, noise, decay).
- ``filters``: Kalman filters (vector spaces and SO(3)), RTS smoother, One-Euro.
- ``interpolation``: a pose between two observations (slerp for rotations).
- ``learned_prediction``: the learned forecast of missed frames' joints.
- ``record``: a video's frames kept for the whole-video answer.
- ``frame_order``: which moment of its video a frame is (string-sorted sending).
- ``segments``: one track per continuous stretch of a video.
- ``offline``: whole-video filling and smoothing (two-sided).
- ``lookahead``: a missed frame filled from both sides once a later frame is detected.
"""
