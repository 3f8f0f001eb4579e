"""How a live session is written to disk and read back: an explicit format with a version.

A saved session is one ``.npz`` archive (numpy's own container, read with
``allow_pickle=False``: a state file can hold no code): an ``index`` entry with a JSON document
of the session's named values, and one entry per array. The names come from the objects'
``to_state()`` (:meth:`Segments.to_state` with each segment's :meth:`Track.to_state`,
:meth:`FrameOrder.to_state`, :meth:`FieldFilter.to_state`, :meth:`FrameRecord.to_state`),
never from private attribute names, so refactoring a class does
not change the format; a change of the format raises :data:`SCHEMA_VERSION`, and a session saved
under another version is refused with :class:`UnreadableSession` (logged, and the video starts a
new track) rather than misread.
"""

from __future__ import annotations

import dataclasses
import io
import json
from typing import Any

import numpy as np

from ..tracking.config import TrackerConfig
from ..tracking.frame_order import FrameOrder
from ..tracking.segments import Segments
from ..types import PersonPose, TrackedPose
from .router import Session

SCHEMA_VERSION = 3  # 2: the track keeps its running size ("spread"); 3: segments and frame order
FORMAT = "pose-service-session"
_RECORDS = {"PersonPose": PersonPose, "TrackedPose": TrackedPose}  # the only types a file names
_ARRAY, _RECORD = "$array", "$record"
# The frame stepper's counters (``streaming.counters``), kept where schema 3 has always had them:
# at the session's top level.
STREAM_STATE_KEYS = ("frames_since_detector", "rescue_streak")


class UnreadableSession(ValueError):
    """A saved session this version cannot read (another format or version, or damaged)."""


def encode_session(session: Session) -> bytes:
    """The session as bytes (see the module docstring for the layout)."""
    arrays: dict[str, np.ndarray] = {}
    document = {
        "format": FORMAT,
        "schema": SCHEMA_VERSION,
        "session": _pack(
            {
                "session_id": session.session_id,
                "explicit": session.explicit,
                "frame_size": list(session.frame_size),
                "frames_seen": session.frames_seen,
                "created": session.created,
                **{key: session.stream_state.get(key, 0) for key in STREAM_STATE_KEYS},
                "newest_sent": session.newest_sent,
                "segments": session.segments.to_state(),
                "order": session.order.to_state(),
            },
            arrays,
        ),
    }
    index = np.frombuffer(json.dumps(document).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, index=index, **arrays)
    return buffer.getvalue()


def decode_session(blob: bytes, config: TrackerConfig, last_seen: float) -> Session:
    """The session :func:`encode_session` wrote, its track under this process's ``config``."""
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as archive:
            document = json.loads(archive["index"].tobytes())
            _check_version(document)
            arrays = {name: archive[name] for name in archive.files if name != "index"}
        saved = _unpack(document["session"], arrays)
        return Session(
            session_id=str(saved["session_id"]),
            explicit=bool(saved["explicit"]),
            frame_size=(int(saved["frame_size"][0]), int(saved["frame_size"][1])),
            segments=Segments.from_state(config, saved["segments"]),
            last_seen=last_seen,
            order=FrameOrder.from_state(saved["order"]),
            frames_seen=int(saved["frames_seen"]),
            created=float(saved["created"]),
            stream_state={key: int(saved[key]) for key in STREAM_STATE_KEYS},
            newest_sent=int(saved["newest_sent"]),
        )
    except UnreadableSession:
        raise
    except Exception as exc:
        raise UnreadableSession(f"{type(exc).__name__}: {exc}") from exc


def _check_version(document: Any) -> None:
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise UnreadableSession("not a saved pose-service session")
    if document.get("schema") != SCHEMA_VERSION:
        raise UnreadableSession(
            f"saved with schema {document.get('schema')}, this version reads {SCHEMA_VERSION}"
        )


def _pack(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    """JSON-able form of ``value``: arrays moved into ``arrays``, records named by type."""
    if isinstance(value, np.ndarray):
        name = f"a{len(arrays)}"
        arrays[name] = value
        return {_ARRAY: name}
    if isinstance(value, (PersonPose, TrackedPose)):
        fields = {f.name: _pack(getattr(value, f.name), arrays) for f in dataclasses.fields(value)}
        return {_RECORD: type(value).__name__, "fields": fields}
    if isinstance(value, dict):
        return {str(k): _pack(v, arrays) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_pack(v, arrays) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _unpack(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(value, list):
        return [_unpack(v, arrays) for v in value]
    if not isinstance(value, dict):
        return value
    if _ARRAY in value:
        return arrays[value[_ARRAY]]
    if _RECORD in value:
        record = _RECORDS[value[_RECORD]]
        return record(**{k: _unpack(v, arrays) for k, v in value["fields"].items()})
    return {k: _unpack(v, arrays) for k, v in value.items()}
