"""The knobs of the session rules (``router``), apart from the router so the settings read them
without importing it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SessionPolicy:
    """Knobs of the session rules above. Their defaults are written here only: the
    ``POSE_SERVICE_SESSION_*`` settings take them from this class (see ``Settings.fill``)."""

    idle_s: float = 300.0
    max_sessions: int = 32
    protect_s: float = 10.0
    max_forward_gap: int = 15
    reorder_window: int = 30
    match_threshold: float = 40.0
