"""The streams API's errors (other packages raise them too: a stream is the streams' own)."""

from __future__ import annotations

from api.routing import IdParam
from hls.access import PlaybackDenied
from teezu.errors import Forbidden, NotFound


class StreamNotFound(NotFound):
    code = "STREAM_NOT_FOUND"


class NotStreamOwner(Forbidden):
    code = "NOT_STREAM_OWNER"


class BannedFromStream(PlaybackDenied):
    """Banned from the stream's room (``chat:ban``): no playback token either."""

    code = "BANNED"


class PosterNotFound(NotFound):
    code = "POSTER_NOT_FOUND"


# ``{stream_id}`` in a path: a malformed one is an unknown stream.
STREAM_ID = IdParam(StreamNotFound, "no such stream", "streamId")
