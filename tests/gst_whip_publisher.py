"""A WHIP publisher built on GStreamer's webrtcbin, the element under whip-client, whipsink and
whipclientsink, with the HTTP side in Python (Debian 12's whip-client binary aborts: it links
libsoup 2 while libnice pulls in libsoup 3).

Run by /usr/bin/python3 (Debian's python3-gi / python3-gst-1.0, not the project's venv):

    python3 tests/gst_whip_publisher.py URL TOKEN SECONDS

It sends the offer as webrtcbin makes it, without candidates, and trickles every candidate by
PATCH (``application/trickle-ice-sdpfrag`` with If-Match, RFC 9725 §4.3.2) as webrtcbin finds
them; webrtcbin's DTLS certificate is RSA. After SECONDS of media it DELETEs the session and
prints one JSON line with what happened. Standard library only besides gi.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstWebRTC", "1.0")
gi.require_version("GstSdp", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402

PIPELINE = (
    "webrtcbin name=wb bundle-policy=max-bundle "
    "videotestsrc is-live=true pattern=ball ! video/x-raw,width=640,height=360,framerate=30/1 "
    "! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 bitrate=800 "
    "! video/x-h264,profile=constrained-baseline ! rtph264pay config-interval=-1 pt=96 "
    "! application/x-rtp,media=video,encoding-name=H264,payload=96,clock-rate=90000 ! wb. "
    "audiotestsrc is-live=true wave=sine ! audioconvert ! audioresample ! opusenc "
    "! rtpopuspay pt=111 "
    "! application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000 ! wb. "
)


def request(method: str, url: str, token: str, body: str | None = None, **headers: str):
    data = body.encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Authorization", f"Bearer {token}")
    for name, value in headers.items():
        req.add_header(name.replace("_", "-"), value)
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            return res.status, dict(res.headers), res.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()


class Publisher:
    def __init__(self, url: str, token: str, seconds: float) -> None:
        self.url, self.token, self.seconds = url, token, seconds
        self.loop = GLib.MainLoop()
        self.pipe = Gst.parse_launch(PIPELINE)
        self.wb = self.pipe.get_by_name("wb")
        self.lock = threading.Lock()
        self.pending: list[tuple[int, str]] = []  # (mline index, candidate) until we can PATCH
        self.offer = ""
        self.location = ""
        self.etag = ""
        self.report: dict = {"patches": [], "candidates": 0, "offer_candidates": 0}
        self.wb.connect("on-negotiation-needed", self.on_negotiation_needed)
        self.wb.connect("on-ice-candidate", self.on_ice_candidate)
        self.wb.connect("notify::connection-state", self.on_state)

    def run(self) -> dict:
        for i in range(2):  # before PLAYING: one negotiation, with sendonly sections
            t = self.wb.emit("get-transceiver", i)
            if t is not None:
                t.set_property("direction", GstWebRTC.WebRTCRTPTransceiverDirection.SENDONLY)
        self.pipe.set_state(Gst.State.PLAYING)
        GLib.timeout_add(50, self.flush_candidates)
        GLib.timeout_add(60_000, self.give_up)
        self.loop.run()
        self.pipe.set_state(Gst.State.NULL)
        return self.report

    def give_up(self) -> bool:
        self.report["error"] = "timed out"
        self.loop.quit()
        return False

    def on_negotiation_needed(self, wb) -> None:
        promise = Gst.Promise.new_with_change_func(self.on_offer, wb, None)
        wb.emit("create-offer", None, promise)

    def on_offer(self, promise, wb, _data) -> None:
        promise.wait()
        reply = promise.get_reply()  # owns the offer: keep it referenced while we use it
        offer = reply.get_value("offer")
        self.offer = offer.sdp.as_text()  # before set-local-description, which takes the SDP
        wb.emit("set-local-description", offer, Gst.Promise.new())
        self.report["offer_candidates"] = self.offer.count("a=candidate:")
        GLib.idle_add(self.post_offer)

    def post_offer(self) -> bool:
        status, headers, body = request(
            "POST", self.url, self.token, self.offer, Content_Type="application/sdp"
        )
        self.report["post"] = status
        if status != 201:
            self.report["error"] = body
            self.loop.quit()
            return False
        self.location = urllib.parse.urljoin(self.url, headers["Location"])
        self.etag = headers.get("ETag", "")
        _, sdp = GstSdp.SDPMessage.new_from_text(body)
        answer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, sdp)
        self.wb.emit("set-remote-description", answer, Gst.Promise.new())
        return False

    def on_ice_candidate(self, _wb, mline: int, candidate: str) -> None:
        with self.lock:
            self.pending.append((mline, candidate))

    def _fragment(self, items: list[tuple[int, str]]) -> str:
        lines = self.offer.splitlines()
        ufrag = next(line for line in lines if line.startswith("a=ice-ufrag:"))
        pwd = next(line for line in lines if line.startswith("a=ice-pwd:"))
        mlines = [i for i, line in enumerate(lines) if line.startswith("m=")]
        out = [ufrag, pwd]
        for index in sorted({m for m, _ in items}):
            start = mlines[index]
            mid = next(line for line in lines[start:] if line.startswith("a=mid:"))
            out += [lines[start], mid]
            out += [f"a={c}" if not c.startswith("a=") else c for m, c in items if m == index]
        return "\r\n".join(out) + "\r\n"

    def flush_candidates(self) -> bool:
        if not self.location:
            return True
        with self.lock:
            items, self.pending = self.pending, []
        if items:
            status, _, body = request(
                "PATCH",
                self.location,
                self.token,
                self._fragment(items),
                Content_Type="application/trickle-ice-sdpfrag",
                If_Match=self.etag,
            )
            self.report["patches"].append(status)
            self.report["candidates"] += len(items)
            if status != 204:
                self.report["patch_error"] = body
        return True

    def on_state(self, wb, _pspec) -> None:
        state = wb.get_property("connection-state")
        self.report.setdefault("states", []).append(state.value_nick)
        connected = state == GstWebRTC.WebRTCPeerConnectionState.CONNECTED
        if connected and "connected_at" not in self.report:
            self.report["connected_at"] = time.monotonic()
            GLib.timeout_add(int(self.seconds * 1000), self.finish)
        elif state == GstWebRTC.WebRTCPeerConnectionState.FAILED:
            self.report["error"] = "connection failed"
            GLib.idle_add(self.loop.quit)

    def finish(self) -> bool:
        self.report["published_seconds"] = time.monotonic() - self.report["connected_at"]
        status, _, _ = request("DELETE", self.location, self.token)
        self.report["delete"] = status
        self.loop.quit()
        return False


def main() -> None:
    url, token, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    Gst.init(None)
    report = Publisher(url, token, seconds).run()
    report.pop("connected_at", None)
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
