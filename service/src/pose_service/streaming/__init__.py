"""One streamed frame's way through the model and its video's track.

- ``stepper``: ``FrameStepper``: route -> hint -> first look -> estimate -> rescue -> step ->
  outcome, in the model's turn.
- ``rescue``: looking again where the track predicts the person (``POSE_SERVICE_RESCUE``).
- ``holding``: missed frames held while their video's later frames are in hand.
- ``counters``: the per-video counters about the estimator (frames since the detector ran, the
  rescue streak).
- ``outcome``: ``FrameOutcome``, what the API renders for one frame.
"""
