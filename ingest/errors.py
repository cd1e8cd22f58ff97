"""Errors of the WebRTC protocol edges: publishers (WHIP) and viewers (WHEP)."""

from teezu.errors import BadRequest, Conflict, NotFound, Unauthorized


class StreamNotFound(NotFound):
    code = "STREAM_NOT_FOUND"


class InvalidPublishToken(Unauthorized):
    code = "INVALID_PUBLISH_TOKEN"


class StreamAlreadyLive(Conflict):
    code = "STREAM_ALREADY_LIVE"


class InvalidSdp(BadRequest):
    code = "INVALID_SDP"


class SdpWithoutVideo(InvalidSdp):
    code = "SDP_NO_VIDEO"


class NoCommonCodec(InvalidSdp):
    code = "NO_COMMON_CODEC"


class SessionNotFound(NotFound):
    code = "SESSION_NOT_FOUND"


class StreamOffline(Conflict):
    """WHEP: the stream exists but is not live on this node (409: its state forbids playback)."""

    code = "STREAM_OFFLINE"


class UnknownRendition(BadRequest):
    code = "UNKNOWN_RENDITION"
