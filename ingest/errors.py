"""Errors of the WebRTC protocol edges: publishers (WHIP) and viewers (WHEP)."""

from teezu.errors import BadRequest, Conflict, NotFound, TeezuError, Unauthorized


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


class InvalidSessionToken(Unauthorized):
    """DELETE/PATCH of a session resource without the bearer token its POST carried."""

    code = "INVALID_SESSION_TOKEN"


class InvalidIceFragment(BadRequest):
    code = "INVALID_SDPFRAG"


class PreconditionRequired(TeezuError):
    """PATCH without If-Match (RFC 9725 §4.3.1, RFC 6585 §3)."""

    status = 428
    code = "IF_MATCH_REQUIRED"


class PreconditionFailed(TeezuError):
    """PATCH whose If-Match names another ICE session than the current one."""

    status = 412
    code = "ETAG_MISMATCH"


class IceRestartUnavailable(Conflict):
    """An ICE restart the session cannot take now (ICE not yet connected, no BUNDLE)."""

    code = "ICE_RESTART_UNAVAILABLE"


class ReceiverInternalsChanged(TeezuError):
    """aiortc's receiver lacks the queues ``ingest.receiver`` bounds (an aiortc upgrade?)."""

    code = "RECEIVER_INTERNALS_CHANGED"
