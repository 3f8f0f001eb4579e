"""What saving a live session costs: size and time to write and read one hmr2-like session
(mesh and rotations in the filters and the newest history, a whole-video record) in the
explicit format of ``tracking/session_codec``.

    .venv/bin/python -m benchmarks.session_codec [--frames 1000] [--repeats 20] [--json]
"""

from __future__ import annotations

import time
from typing import Any

from benchmarks.common import detected, emit, parser, walking_person


def measure(frames: int, repeats: int) -> dict[str, Any]:
    from pose_service.config import Settings
    from pose_service.sessions.codec import decode_session, encode_session
    from pose_service.sessions.router import Session
    from pose_service.tracking.track import Track

    config = Settings().tracker_config()
    track = Track(config)
    for n in range(frames):
        track.step(n, [walking_person(n, 640, 360, mesh=True)] if detected(n) else [])
    session = Session.of_track("s", True, (640, 360), track, 0.0, frames)
    start = time.perf_counter()
    for _ in range(repeats):
        blob = encode_session(session)
    write_ms = (time.perf_counter() - start) / repeats * 1e3
    start = time.perf_counter()
    for _ in range(repeats):
        decode_session(blob, config, 0.0)
    read_ms = (time.perf_counter() - start) / repeats * 1e3
    return {"frames": frames, "kib": round(len(blob) / 1024, 1),
            "write_ms": round(write_ms, 2), "read_ms": round(read_ms, 2)}  # fmt: skip


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=20)
    args = p.parse_args(argv)
    figures = measure(args.frames, args.repeats)
    result = {"benchmark": "session_codec", **figures}
    rows = [[figures["frames"], figures["kib"], figures["write_ms"], figures["read_ms"]]]
    emit(result, rows, ["frames", "KiB", "write ms", "read ms"], args.json)
    return result


if __name__ == "__main__":
    main()
