"""Temporal tracking: one track of the main subject per video, predicting missed frames.

- ``motion``: damped constant-velocity extrapolation and interpolation of poses (SO(3) aware).
- ``track``: one video's track: association, outlier check, prediction, confidence, history.
- ``sessions``: which video a frame belongs to when the backend sends no id.

Nothing here knows about HTTP or about which estimator runs.
"""
