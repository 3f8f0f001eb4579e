"""The ``hmr2`` estimator: 4D-Humans (ViTDet-H person detector + HMR2.0b) behind the estimator
interface, on the GPU host (or a CPU, slowly, with MediaPipe's box as the detector).

- ``estimator``: :class:`~.estimator.HMR2Estimator`: loading, one frame or a batch, box hints,
  looking again at the detector's low-score boxes.
- ``upstream_loading``: importing and loading the upstream stack around its pitfalls (messages
  naming the fix, no renderer, torch's unpickling, smplx's own SMPL forward).
- ``model_files``: where each model file is, checked; nothing downloads.
- ``vitdet_detector``: ViTDet-H as 4D-Humans' demo sets it up, on any device.
- ``mediapipe_detector``: MediaPipe Pose's box as the person detector on a CPU host.
- ``crop``: the 256x256 person crops HMR2 was trained on.
- ``camera``: HMR2's crop camera moved to the full image; per-joint confidence.
- ``box_hint``: the rules for the track's predicted box (usable, confirmed, rebuilt from joints).

Nothing here imports torch at import time (``create_estimator`` imports ``estimator`` lazily).
"""
