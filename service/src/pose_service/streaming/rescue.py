"""Rescue (``POSE_SERVICE_RESCUE``), track-guided re-detection: where a frame's first look
found nobody the track accepts, look again where the track predicts the person (the estimator's
``rescue``: lite, MediaPipe on a crop there; hmr2, ViTDet's low-score box there, ByteTrack's
second association).

A rescued person goes through the track's coherence checks like any detection
(``Track.step(rescued=True)``), against the same :class:`~pose_service.tracking.track.Expectation`
of the frame as the step and is answered flagged ``rescued``. While a video keeps needing
rescues (a small or blurred subject), an estimator whose search needs no full-frame pass
(``rescues_first``) is asked there first, and the whole frame only when that finds nobody
the track accepts: a run of rescued frames then costs one crop each, not a frame and a crop.
Every ``RECHECK_EVERY``-th frame of such a run the whole frame is looked at first again, so a
subject that became easy to find is soon answered ``detected`` again. When what a look found is
not taken and the estimator ``reframes`` (a crop model), it looks once more at the same place
framed ``REFRAME_SHRINK`` times tighter: on a blurred frame MediaPipe collapses the person in
one framing and finds them in the next.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from ..estimators import Estimator
from ..observability import get_logger
from ..sessions.router import Routing
from ..tracking.track import Expectation
from ..types import Estimate, Frame
from .counters import EstimatorCounters

log = get_logger("pose_service.redetection")  # the events' logger name is part of the log contract

RECHECK_EVERY = 5  # in a run of rescued frames, the whole frame first again this often
# The second framing: lite's region 3x the person instead of 4x (RESCUE_REGION_SCALE's
# benchmark: 3 the next best alone; as a second chance it takes small_blur from 178 to 179).
REFRAME_SHRINK = 0.75


@dataclass
class Look:
    """A frame's estimate after the looks it got, and whether it came from looking again."""

    estimate: Estimate
    rescued: bool
    failed: bool = False  # the estimator raised: nothing to gain from looking once more


class Rescuer:
    """Decides when to look again, asks the estimator, and counts (for ``/health``)."""

    def __init__(self, estimator: Estimator, enabled: bool) -> None:
        self.estimator = estimator
        self.enabled = enabled and estimator.rescues
        self._lock = threading.Lock()
        self._counts = {
            "looked_again": 0, "rescued": 0, "looked_first": 0, "reframed": 0, "failed": 0
        }  # fmt: skip

    def first_look(self, frame: Frame, routing: Routing, expected: Expectation) -> Look | None:
        """The search region first, for a video whose last frame was rescued (None: not tried).
        Unless it is ``rescued``, the whole frame is estimated next."""
        streak = EstimatorCounters(routing.session).rescue_streak
        if not (self.enabled and self.estimator.rescues_first and streak):
            return None
        if streak % RECHECK_EVERY == 0:
            return None
        box = expected.search_box
        if box is None:
            return None
        return self._look(frame, routing, expected, box, None)

    def second_look(
        self,
        frame: Frame,
        routing: Routing,
        expected: Expectation,
        estimate: Estimate,
        looked: bool = False,
    ) -> Look:
        """The whole frame's estimate when the track takes it (or there is no live track, or
        the region was ``looked`` at first already); otherwise what looking again where the
        track predicts the person found, if the track takes that. The second look's timings
        join the first's as ``rescue_*``."""
        if not self.enabled or looked:
            return Look(estimate, False)
        box = expected.search_box
        if box is None or expected.accepts(estimate.people):
            return Look(estimate, False)
        look = self._look(frame, routing, expected, box, estimate)
        timings = {**estimate.timings_ms, **_as_rescue(look.estimate.timings_ms)}
        chosen = look.estimate if look.rescued else estimate
        merged = Estimate(chosen.people, chosen.model_version, timings, estimate.detector_ran)
        return Look(merged, look.rescued)

    def _look(
        self,
        frame: Frame,
        routing: Routing,
        expected: Expectation,
        box: np.ndarray,
        first: Estimate | None,
    ) -> Look:
        """Look at ``box``, and once more framed tighter when the track does not take what
        that found and the estimator :attr:`~Estimator.reframes`."""
        look = self._look_once(frame, routing, expected, box, first)
        if look.rescued or look.failed or not self.estimator.reframes:
            return look
        with self._lock:
            self._counts["reframed"] += 1
        again = self._look_once(frame, routing, expected, _tighter(box), first)
        timings = {**look.estimate.timings_ms}
        for key, ms in again.estimate.timings_ms.items():
            timings[key] = timings.get(key, 0.0) + ms
        chosen = again.estimate if again.rescued else look.estimate
        merged = Estimate(chosen.people, chosen.model_version, timings, chosen.detector_ran)
        return Look(merged, again.rescued)

    def _look_once(
        self,
        frame: Frame,
        routing: Routing,
        expected: Expectation,
        box: np.ndarray,
        first: Estimate | None,
    ) -> Look:
        """Ask the estimator to look at ``box``; a failure there (it is only a second chance)
        is logged and counted, and the frame keeps what it had."""
        try:
            found = self.estimator.rescue(frame, box, first)
        except Exception as exc:  # noqa: BLE001 - a failed rescue must not fail the frame
            with self._lock:
                self._counts["failed"] += 1
            error = f"{type(exc).__name__}: {exc}"
            log.warning("rescue_failed", session=routing.session.session_id,
                        frame_number=frame.frame_number, error=error)  # fmt: skip
            return Look(Estimate([], self.estimator.name, {}, detector_ran=False), False, True)
        rescued = expected.accepts(found.people)
        with self._lock:
            self._counts["looked_first" if first is None else "looked_again"] += 1
            self._counts["rescued"] += int(rescued)
        if rescued:
            log.info("frame_rescued", session=routing.session.session_id,
                     frame_number=frame.frame_number,
                     first_look=first is None, score=round(max(p.score for p in found.people), 3),
                     ms=round(sum(found.timings_ms.values()), 1))  # fmt: skip
        return Look(found, rescued)

    def counts(self) -> dict[str, int | bool]:
        """Looks and rescues so far (``/health``'s ``rescue``)."""
        with self._lock:
            return {"enabled": self.enabled, **self._counts}


def _tighter(box: np.ndarray) -> np.ndarray:
    """``box`` shrunk ``REFRAME_SHRINK`` times around its centre."""
    centre, half = (box[:2] + box[2:]) / 2.0, (box[2:] - box[:2]) / 2.0 * REFRAME_SHRINK
    return np.concatenate([centre - half, centre + half]).astype(np.float32)


def _as_rescue(timings: dict[str, float]) -> dict[str, float]:
    """A second look's timings, named apart from the first look's (hmr2 uses the same keys)."""
    return {k if k.startswith("rescue") else f"rescue_{k}": v for k, v in timings.items()}
