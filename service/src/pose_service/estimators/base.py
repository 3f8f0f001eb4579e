"""The one small interface every per-frame pose estimator implements.

Estimators know nothing about HTTP, sessions or tracks: a frame goes in, people come out.
They are created unloaded (cheap) and loaded once per process by the app's loader thread.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..types import Estimate, Frame

# The two models the backend and the mobile app know by name (``/health``'s ``models.hmr2`` and
# ``models.vitdet``), read as the roles they played in the old service: the 3D body model and
# the person detector. ``Estimator.model_roles`` says which model fills each.
MODEL_ROLES = ("hmr2", "vitdet")


class ModelUnavailable(RuntimeError):
    """The estimator cannot run (missing files, missing package): a configuration problem."""


class TransientInferenceError(RuntimeError):
    """This frame failed for a reason that may pass (e.g. CUDA out of memory): retryable, 503."""


class Estimator(abc.ABC):
    """Per-frame pose estimation.

    Required: :meth:`load`, :meth:`verify_install`, :meth:`estimate`, :meth:`model_status`,
    :meth:`describe`. Optional capabilities are plain members with defaults, so the pipeline
    asks them instead of probing with ``hasattr``: :attr:`batches_frames` with
    :meth:`estimate_batch`, :attr:`takes_box_hints`, :attr:`rescues` with
    :meth:`rescue`, :meth:`faces`. Estimators with a body
    model (SMPL) derive from :class:`BodyModelEstimator`.
    """

    name: str
    #: :meth:`estimate_batch` runs several frames in one pass (worth batching frames for).
    batches_frames: bool = False
    #: :meth:`estimate` uses ``Frame.hint`` (the track's predicted box) to skip its person
    #: detector; the pipeline sends hints only then.
    takes_box_hints: bool = False
    #: :meth:`rescue` can search the region where a track predicts its person.
    rescues: bool = False
    #: ... and needs no earlier pass over the same frame, so it may be tried first (a crop).
    rescues_first: bool = False
    #: ... and a look at the same place framed tighter is another chance: a model run on a
    #: crop finds a blurred person in one framing and collapses them in another.
    reframes: bool = False

    @abc.abstractmethod
    def load(self) -> None:
        """Load weights into memory (and onto the device). Called once, off the request path."""

    def warm_up(self) -> None:
        """One pass before the service says ready (after :meth:`load`), so the first real frame
        does not pay for lazy set-up (CUDA kernels and allocator, a graph's first run). The
        default has nothing to warm; estimators with a model run it once on
        :func:`warm_up_frame`."""
        return None

    @abc.abstractmethod
    def verify_install(self) -> dict[str, str]:
        """Check in seconds, without reading weights, that :meth:`load` will find everything
        (``pose-service verify-install``, run by the provisioning); what was checked. Raises
        :class:`ModelUnavailable` naming the fix."""

    @abc.abstractmethod
    def estimate(self, frame: Frame) -> Estimate:
        """Find the people in one frame. Must not keep per-video state."""

    def estimate_batch(self, frames: Sequence[Frame]) -> list[Estimate]:
        """Several frames (of any videos); the answers in order. Frame by frame unless the
        estimator :attr:`batches_frames`."""
        return [self.estimate(frame) for frame in frames]

    def rescue(self, frame: Frame, box: np.ndarray, first: Estimate | None) -> Estimate:
        """The people near ``box`` (x0 y0 x1 y1: the track's search box, where it predicts its
        person) in a frame where the first look (``first``, this estimator's estimate of the
        frame; None when the region is searched before the whole frame) found nobody the track
        accepts. Nobody, unless the estimator :attr:`rescues`."""
        return Estimate([], self.name, {}, detector_ran=False)

    @abc.abstractmethod
    def model_status(self) -> dict[str, str]:
        """Per-model ``"loaded"`` / ``"not_loaded"``, by the models' own names, e.g.
        ``{"hmr2": ..., "vitdet": ...}`` or ``{"mediapipe_pose": ...}``."""

    def model_roles(self) -> dict[str, str]:
        """Which of :meth:`model_status`'s models fills each of the backend's two roles
        (:data:`MODEL_ROLES`): ``hmr2`` the 3D body model, ``vitdet`` the person detector. By
        default the models of those names."""
        return {role: role for role in MODEL_ROLES}

    def role_status(self) -> dict[str, str]:
        """``/health``'s ``models``: each role ``loaded`` when the model filling it is (the
        contract's two values only), then every model's own state."""
        states = self.model_status()
        roles = {role: states.get(name, "not_loaded") for role, name in self.model_roles().items()}
        return {**roles, **{name: s for name, s in states.items() if name not in roles}}

    @abc.abstractmethod
    def describe(self) -> dict[str, object]:
        """Facts for /health: device, versions, paths."""

    def faces(self) -> np.ndarray | None:
        """The mesh's constant (F, 3) triangles, or None for estimators without a mesh."""
        return None


def warm_up_frame() -> Frame:
    """A black frame of the backend's size (640x360) for :meth:`Estimator.warm_up`."""
    return Frame(rgb=np.zeros((360, 640, 3), dtype=np.uint8), frame_number=0)


class BodyModelEstimator(Estimator):
    """An estimator with an SMPL body model: it can turn SMPL parameters into joints (PHALP's
    whole-video results carry parameters, not joints)."""

    @abc.abstractmethod
    def smpl_joints(self, params: Mapping[str, Any]) -> np.ndarray:
        """The 24 SMPL joints (body frame, metres) of ``global_orient``, ``body_pose``,
        ``betas``."""
