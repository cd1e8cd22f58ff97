"""Errors of the HLS origin."""

from teezu.errors import BadRequest, NotFound, Unavailable


class MediaNotFound(NotFound):
    code = "MEDIA_NOT_FOUND"


class BadPlaylistRequest(BadRequest):
    """A blocking-reload query the spec says to refuse (bad value, too far ahead)."""

    code = "BAD_PLAYLIST_REQUEST"


class PlaylistNotReady(Unavailable):
    """A blocked playlist request timed out (three target durations, RFC 8216bis 6.2.5.2)."""

    code = "PLAYLIST_NOT_READY"
