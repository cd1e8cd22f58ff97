"""Errors of the HLS origin."""

from teezu.errors import NotFound


class MediaNotFound(NotFound):
    code = "MEDIA_NOT_FOUND"
