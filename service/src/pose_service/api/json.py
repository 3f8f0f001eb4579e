"""A JSON provider built on orjson: numpy arrays serialise natively, without ``tolist()``.

Pre-encoded constants (the SMPL faces) are passed as ``orjson.Fragment`` and copied verbatim.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask.json.provider import JSONProvider

OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def dumps_bytes(obj: Any) -> bytes:
    """The service's JSON encoding, as bytes."""
    return orjson.dumps(obj, option=OPTIONS)


class OrjsonProvider(JSONProvider):
    """Flask JSON provider using orjson."""

    mimetype = "application/json"

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return dumps_bytes(obj).decode("utf-8")

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return orjson.loads(s)

    def response(self, *args: Any, **kwargs: Any) -> Any:
        obj = args[0] if len(args) == 1 else (args or kwargs)
        return self._app.response_class(dumps_bytes(obj), mimetype=self.mimetype)
