"""Reading our HLS output the way players do: over HTTP, with ffprobe/ffmpeg and m3u8."""

from __future__ import annotations

import asyncio
import json
import subprocess
import tempfile
import time
from pathlib import Path

import aiohttp
import m3u8


async def fetch(http: aiohttp.ClientSession, url: str) -> tuple[int, bytes]:
    async with http.get(url) as res:
        return res.status, await res.read()


async def wait_for_playlist(
    http: aiohttp.ClientSession,
    url: str,
    *,
    segments: int = 1,
    ended: bool = False,
    timeout: float = 30.0,
) -> m3u8.M3U8:
    """Poll until the playlist lists ``segments`` segments (and ENDLIST if ``ended``)."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        status, body = await fetch(http, url)
        if status == 200:
            last = body.decode()
            pl = m3u8.loads(last, uri=url)
            # Count complete segments only: m3u8 lists an LL-HLS playlist's trailing parts (of
            # the segment in progress) as a segment without a URI.
            complete = [s for s in pl.segments if s.uri]
            if len(complete) >= segments and (pl.is_endlist or not ended):
                return pl
        await asyncio.sleep(0.25)
    raise AssertionError(f"playlist {url} not ready in {timeout}s; last:\n{last}")


async def ffprobe_json(*args: str) -> dict:
    proc = await asyncio.create_subprocess_exec(
        "ffprobe",
        "-v",
        "error",
        "-of",
        "json",
        *args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return json.loads(out)


async def ffmpeg_decode(url: str) -> tuple[int, str]:
    """``ffmpeg -i url -f null -``: returns (exit code, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        "ffmpeg",
        "-nostdin",
        "-v",
        "error",
        "-i",
        url,
        "-f",
        "null",
        "-",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _, err = await proc.communicate()
    return proc.returncode or 0, err.decode()


async def first_video_packet(http: aiohttp.ClientSession, init_url: str, seg_url: str) -> dict:
    """The first video packet of one segment read on its own (init + segment)."""
    _, init = await fetch(http, init_url)
    status, seg = await fetch(http, seg_url)
    assert status == 200, seg_url
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "one.mp4"
        path.write_bytes(init + seg)
        probe = await ffprobe_json(
            "-select_streams", "v", "-show_packets", "-read_intervals", "%+#1", str(path)
        )
    return probe["packets"][0]


async def wait_for_master(
    http: aiohttp.ClientSession, base_url: str, stream_id: str, timeout: float = 30.0
) -> m3u8.M3U8:
    """The stream's master playlist, once every rendition's init segment exists."""
    url = f"{base_url}/hls/{stream_id}/index.m3u8"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = await fetch(http, url)
        if status == 200:
            master = m3u8.loads(body.decode(), uri=url)
            if master.is_variant:
                return master
        await asyncio.sleep(0.2)
    raise AssertionError(f"no master playlist at {url} after {timeout}s")


async def variant_url(
    http: aiohttp.ClientSession, base_url: str, stream_id: str, height: int = 720
) -> str:
    """URL of the media playlist of the rendition ``height`` pixels tall."""
    master = await wait_for_master(http, base_url, stream_id)
    for p in master.playlists:
        if p.stream_info.resolution[1] == height:
            return p.absolute_uri
    raise AssertionError(f"no {height}p rendition in {master.dumps()}")
