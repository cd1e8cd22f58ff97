"""The WHIP clients people use, each publishing for 15 s, read back by ffprobe; plus an ICE
restart by PATCH from Chromium while the broadcast goes on.

The matrix runs on its own server with a one-rung ladder (640x360): the point here is whether
each client's WebRTC stack gets media in, not the ladder (tests/integration/test_live_path.py
covers three rungs), and one rung keeps five 15-second broadcasts affordable on two cores.

* Chromium (VP8, then H.264): a WHIP client written in the page (as a web publisher would),
  trickling its candidates by PATCH; its offer carries none.
* aiortc: tests/publisher.py, candidates trickled by one PATCH.
* GStreamer webrtcbin (tests/gst_whip_publisher.py under Debian's python3): RSA DTLS
  certificate, offer without candidates, candidates by PATCH.
* FFmpeg's WHIP muxer (tests/ffmpeg_whip_publisher.py, PyAV's FFmpeg 8) with a P-256
  certificate made by the openssl commands docs/engine.md gives; and without it, the refusal
  docs/engine.md describes.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from playwright.async_api import BrowserContext, Page

from api.keys import POOL
from api.streams import store
from live.broadcasts import BROADCASTS, LiveBroadcasts
from tests.conftest import free_port
from tests.e2e.conftest import chromium
from tests.hlscheck import ffprobe_json, variant_url, wait_for_playlist
from tests.publisher import publish
from tests.servers import extra_server

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

ROOT = Path(__file__).resolve().parents[2]
SECONDS = 15.0
RUNG = {"name": "360p", "width": 640, "height": 360, "bitrate": 800_000}
DEBIAN_PYTHON = "/usr/bin/python3"  # python3-gi/python3-gst-1.0 are built for Debian's Python


@dataclass
class InteropServer:
    base_url: str
    pubs: LiveBroadcasts
    pool: object

    async def new_stream(self, title: str) -> tuple[str, str]:
        row, token = await store.create_stream(self.pool, title=title, creator_handle="interop")
        return str(row.id), token


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def interop(pg_dsn, tmp_path_factory) -> AsyncIterator[InteropServer]:
    async with extra_server(
        pg_dsn,
        tmp_path_factory.mktemp("interop-var"),
        free_port(),
        renditions=[RUNG],
        # Per-frame moderation inference would compete with the publishers for two cores;
        # tests/integration/test_moderation.py runs it on its own server.
        moderation_enabled=False,
        # Streams here belong to no performer account: the go-live gate is proven by
        # tests/integration/test_consent.py; these tests are about the WebRTC stacks.
        require_verification=False,
    ) as (base, app):
        yield InteropServer(base, app[BROADCASTS], app[POOL])


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def interop_browser(interop, tmp_path_factory) -> AsyncIterator[BrowserContext]:
    async with chromium(interop, tmp_path_factory, bypass_csp=True) as ctx:
        yield ctx


@pytest.fixture(scope="module")
def p256_cert(tmp_path_factory) -> tuple[str, str]:
    """A P-256 certificate for FFmpeg's muxer, made exactly as docs/engine.md says."""
    d = tmp_path_factory.mktemp("whip-cert")
    key, cert = d / "whip-key.pem", d / "whip-cert.pem"
    subprocess.run(
        ["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key)],
        check=True,
    )
    subprocess.run(
        [
            "openssl",
            "req",
            "-new",
            "-x509",
            "-key",
            str(key),
            "-out",
            str(cert),
            "-days",
            "365",
            "-subj",
            "/CN=whip-publisher",
        ],
        check=True,
    )
    return str(cert), str(key)


# A WHIP client in the page, as a web publisher would write one: the offer goes out at once,
# without candidates, and candidates follow by PATCH (RFC 9725 §4.3.2), after the 201 and
# with the ETag as If-Match; restart() does an ICE restart by PATCH (§4.3.3).
WHIP_CLIENT_JS = r"""
window.whip = (() => {
  const s = { patches: [], trickled: [], restarting: false, queue: [], busy: false };
  const firstSection = (sdp) => {
    const lines = sdp.split('\r\n');
    const start = lines.findIndex((l) => l.startsWith('m='));
    const mid = lines.slice(start).find((l) => l.startsWith('a=mid:'));
    return { mline: lines[start], mid };
  };
  const creds = (sdp) => ({
    ufrag: sdp.match(/a=ice-ufrag:(.*)\r\n/)[1], pwd: sdp.match(/a=ice-pwd:(.*)\r\n/)[1] });
  const fragment = (sdp, cands, end) => {
    const { mline, mid } = firstSection(sdp);
    const { ufrag, pwd } = creds(sdp);
    const out = [`a=ice-ufrag:${ufrag}`, `a=ice-pwd:${pwd}`, mline, mid,
      ...cands.map((c) => 'a=' + c)];
    if (end) out.push('a=end-of-candidates');
    return out.join('\r\n') + '\r\n';
  };
  async function patch(body, ifMatch) {
    const res = await fetch(s.location, { method: 'PATCH', body, headers: {
      'Content-Type': 'application/trickle-ice-sdpfrag', Authorization: 'Bearer ' + s.token,
      'If-Match': ifMatch } });
    s.patches.push(res.status);
    return res;
  }
  async function flush() {
    if (!s.location || s.busy || !s.queue.length) return;
    s.busy = true;
    const items = s.queue.splice(0);
    const cands = items.filter((c) => c !== null);
    s.trickled.push(...cands);
    await patch(fragment(s.pc.localDescription.sdp, cands, items.includes(null)), s.etag);
    s.busy = false;
    flush();
  }
  async function start(url, token, codec) {
    s.token = token;
    const media = await navigator.mediaDevices.getUserMedia({
      video: { width: 640, height: 360, frameRate: 30 }, audio: true });
    const pc = s.pc = new RTCPeerConnection({ iceServers: [] });
    for (const track of media.getTracks()) {
      const t = pc.addTransceiver(track, { direction: 'sendonly', streams: [media] });
      if (track.kind === 'video') {
        const want = ['video/' + codec.toLowerCase(), 'video/rtx'];
        t.setCodecPreferences(RTCRtpSender.getCapabilities('video').codecs.filter(
          (c) => want.includes(c.mimeType.toLowerCase())));
      }
    }
    pc.onicecandidate = (e) => {
      const cand = e.candidate && e.candidate.candidate ? e.candidate.candidate : null;
      if (s.restarting) {  // a restart sends its candidates in its own PATCH
        if (cand) s.restartCands.push(cand); else s.gathered();
        return;
      }
      s.queue.push(cand);
      flush();
    };
    await pc.setLocalDescription(await pc.createOffer());
    const offer = pc.localDescription.sdp;
    s.offerCandidates = (offer.match(/a=candidate:/g) || []).length;
    const body = offer.replace(/a=(candidate:.*|end-of-candidates)\r\n/g, '');
    const res = await fetch(url, { method: 'POST', body, headers: {
      'Content-Type': 'application/sdp', Authorization: 'Bearer ' + token } });
    if (res.status !== 201) return { status: res.status, body: await res.text() };
    s.location = new URL(res.headers.get('Location'), url).href;
    s.etag = res.headers.get('ETag');
    await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    flush();
    return { status: 201, location: s.location, offerCandidates: s.offerCandidates };
  }
  async function restart() {
    const pc = s.pc;
    s.restarting = true;
    s.restartCands = [];
    const gathered = new Promise((resolve) => { s.gathered = resolve; });
    const before = creds(pc.localDescription.sdp);
    pc.restartIce();
    await pc.setLocalDescription(await pc.createOffer());
    await gathered;  // the new generation's end-of-candidates
    const sdp = pc.localDescription.sdp;
    const cands = [...new Set(s.restartCands)];
    const res = await patch(fragment(sdp, cands, true), '*');
    const text = await res.text();
    if (res.status !== 200) return { status: res.status, body: text };
    s.etag = res.headers.get('ETag');
    const theirs = creds(text);
    const theirCands = [...text.matchAll(/a=(candidate:.*)\r\n/g)].map((m) => m[0]);
    let answer = pc.remoteDescription.sdp
      .replace(/a=ice-ufrag:.*\r\n/g, `a=ice-ufrag:${theirs.ufrag}\r\n`)
      .replace(/a=ice-pwd:.*\r\n/g, `a=ice-pwd:${theirs.pwd}\r\n`)
      .replace(/a=(candidate:.*|end-of-candidates)\r\n/g, '');
    const pwdLine = `a=ice-pwd:${theirs.pwd}\r\n`;
    const at = answer.indexOf(pwdLine) + pwdLine.length;
    answer = answer.slice(0, at) + theirCands.join('') + 'a=end-of-candidates\r\n'
      + answer.slice(at);
    await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    s.restarting = false;
    return { status: 200, etag: s.etag, ufrag: theirs.ufrag, pwd: theirs.pwd,
             oldUfrag: before.ufrag, newUfrag: creds(sdp).ufrag, candidates: cands };
  }
  async function transport() {
    const stats = await s.pc.getStats();
    let t = null;
    stats.forEach((r) => { if (r.type === 'transport') t = r; });
    const pair = t && stats.get(t.selectedCandidatePairId);
    const local = pair && stats.get(pair.localCandidateId);
    return { ufrag: t && t.iceLocalUsernameFragment, state: t && t.iceState,
             changes: t && t.selectedCandidatePairChanges, localPort: local && local.port,
             connection: s.pc.connectionState };
  }
  async function stop() {
    const res = await fetch(s.location, { method: 'DELETE', headers: {
      Authorization: 'Bearer ' + s.token } });
    s.pc.close();
    return res.status;
  }
  return { start, restart, stop, transport, state: () => ({ patches: s.patches,
    trickled: s.trickled, offerCandidates: s.offerCandidates }) };
})();
"""


async def chromium_page(browser: BrowserContext, base: str) -> Page:
    page = await browser.new_page()
    await page.goto(f"{base}/")
    await page.evaluate(WHIP_CLIENT_JS)
    return page


async def wait_session(srv: InteropServer, stream_id: str, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while srv.pubs.get(stream_id) is None or srv.pubs[stream_id].publisher is None:
        assert time.monotonic() < deadline, "no WHIP session"
        await asyncio.sleep(0.05)
    return srv.pubs[stream_id]


async def run_subprocess(*args: str) -> dict:
    proc = await asyncio.create_subprocess_exec(
        *args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()[-3000:]
    report = json.loads(out.decode().strip().splitlines()[-1])
    report["stderr"] = err.decode()[-3000:]
    return report


async def publish_with(client: str, srv, http, stream_id, token, browser, cert) -> dict:
    """Publish ``SECONDS`` of media with ``client`` and end with its DELETE; returns facts."""
    url = f"{srv.base_url}/whip/{stream_id}"
    facts: dict = {}
    if client.startswith("chromium"):
        page = await chromium_page(browser, srv.base_url)
        started = await page.evaluate(
            "([u, t, c]) => whip.start(u, t, c)", [url, token, client.split("-")[1]]
        )
        assert started["status"] == 201, started
        session = await wait_session(srv, stream_id)
        playlist = await variant_url(http, srv.base_url, stream_id, RUNG["height"])
        await wait_for_playlist(http, playlist, segments=1, timeout=30)
        await asyncio.sleep(SECONDS)
        facts["remote"] = session.publisher.ice.selected_remote()
        assert await page.evaluate("whip.stop()") == 200
        state = await page.evaluate("whip.state()")
        facts["trickled"] = state["trickled"]
        assert state["trickled"] and set(state["patches"]) == {204}, state
        await page.close()
    elif client == "aiortc":
        pub = await publish(http, srv.base_url, stream_id, token, size=(640, 360), trickle=True)
        session = await wait_session(srv, stream_id)
        playlist = await variant_url(http, srv.base_url, stream_id, RUNG["height"])
        await wait_for_playlist(http, playlist, segments=1, timeout=30)
        await asyncio.sleep(SECONDS)
        facts["remote"] = session.publisher.ice.selected_remote()
        facts["trickled"] = pub.trickled
        assert await pub.delete(http, srv.base_url) == 200
    elif client == "gstreamer":
        task = asyncio.ensure_future(
            run_subprocess(
                DEBIAN_PYTHON, "tests/gst_whip_publisher.py", url, token, str(SECONDS + 2)
            )
        )
        session = await wait_session(srv, stream_id)
        while session.publisher.ice.selected_remote() is None and not task.done():
            await asyncio.sleep(0.05)
        facts["remote"] = session.publisher.ice.selected_remote()
        dtls = session.publisher.pc.getTransceivers()[0].receiver.transport
        while dtls.state != "connected" and not task.done():
            await asyncio.sleep(0.05)
        facts["cipher"] = dtls._ssl.get_cipher_name() if dtls._ssl is not None else None
        report = await task
        assert "error" not in report, report
        assert report["post"] == 201 and report["delete"] == 200, report
        assert report["offer_candidates"] == 0 and report["candidates"] > 0, report
        assert set(report["patches"]) == {204}, report
        facts["trickled_count"] = report["candidates"]
    elif client == "ffmpeg":
        task = asyncio.ensure_future(
            run_subprocess(
                sys.executable,
                "tests/ffmpeg_whip_publisher.py",
                url,
                token,
                str(SECONDS + 2),
                *cert,
            )
        )
        session = await wait_session(srv, stream_id)
        report = await task
        assert "error" not in report, report
        assert report["video_packets"] >= (SECONDS + 1) * 30 * 0.9, report
    else:
        raise AssertionError(client)
    facts["session"] = session
    return facts


CLIENTS = ["chromium-vp8", "chromium-h264", "aiortc", "gstreamer", "ffmpeg"]


@pytest.mark.parametrize("client", CLIENTS)
async def test_client_publishes_and_hls_reads_back(client, interop, interop_browser, p256_cert):
    stream_id, token = await interop.new_stream(f"Interop {client}")
    async with aiohttp.ClientSession() as http:
        facts = await publish_with(
            client, interop, http, stream_id, token, interop_browser, p256_cert
        )
        playlist = await variant_url(http, interop.base_url, stream_id, RUNG["height"])
        ended = await wait_for_playlist(http, playlist, ended=True, timeout=20)
        row = await store.get_stream(interop.pool, uuid.UUID(stream_id))
        assert row is not None and row.state == "ended"
        probe = await ffprobe_json("-show_streams", "-show_format", playlist)
    kinds = {s["codec_type"]: s for s in probe["streams"]}
    assert kinds["video"]["codec_name"] == "h264"
    assert (kinds["video"]["width"], kinds["video"]["height"]) == (640, 360)
    assert kinds["audio"]["codec_name"] == "aac" and int(kinds["audio"]["sample_rate"]) == 48000
    duration = float(probe["format"]["duration"])
    listed = sum(s.duration for s in ended.segments)
    print(f"\n{client}: {duration:.1f} s of HLS ({len(ended.segments)} segments, {listed:.1f} s)")
    assert duration >= SECONDS, (duration, listed)

    session = facts["session"]
    # Each client ended its broadcast with an authorized DELETE (not by vanishing).
    assert session.stop_reason == "publisher sent DELETE", session.stop_reason
    video = session.publisher.pc.localDescription.sdp.split("m=video", 1)[1].split("m=audio", 1)[0]
    first_pt = video.split("\r\n", 1)[0].split()[2]
    codec = next(x for x in video.split("\r\n") if x.startswith(f"a=rtpmap:{first_pt} "))
    want = {"chromium-vp8": "VP8"}.get(client, "H264")
    assert f" {want}/90000" in codec, codec
    if "remote" in facts:
        # Candidates came by PATCH only: had they been ignored, the server would know the
        # publisher from its checks alone, as a peer-reflexive candidate.
        remote = facts["remote"]
        assert remote is not None and remote.type == "host", remote
    if client == "chromium-vp8" or client == "chromium-h264":
        ports = {int(c.split()[5]) for c in facts["trickled"]}
        assert facts["remote"].port in ports
    if client == "gstreamer":
        assert facts["cipher"] is not None and facts["cipher"].startswith("ECDHE-RSA-"), facts


def next_msn(pl) -> int:
    """The media sequence number the next complete segment will get."""
    return pl.media_sequence + len([x for x in pl.segments if x.uri])


async def test_ice_restart_by_patch_keeps_the_broadcast(interop, interop_browser):
    stream_id, token = await interop.new_stream("ICE restart")
    url = f"{interop.base_url}/whip/{stream_id}"
    async with aiohttp.ClientSession() as http:
        page = await chromium_page(interop_browser, interop.base_url)
        started = await page.evaluate("([u, t, c]) => whip.start(u, t, c)", [url, token, "h264"])
        assert started["status"] == 201, started
        session = await wait_session(interop, stream_id)
        output = interop.pubs[stream_id].hls
        playlist = await variant_url(http, interop.base_url, stream_id, RUNG["height"])
        pl = await wait_for_playlist(http, playlist, segments=1, timeout=30)
        agent = session.publisher.ice.agent()
        old = (agent.local_username, agent.local_password, session.publisher.ice.etag)
        old_remote = session.publisher.ice.selected_remote()
        before = await page.evaluate("whip.transport()")

        restarted = await page.evaluate("whip.restart()")
        assert restarted["status"] == 200, restarted
        # New ICE credentials on both sides and a new entity-tag for the new ICE session.
        assert restarted["newUfrag"] != restarted["oldUfrag"]
        assert (restarted["ufrag"], restarted["pwd"]) == (
            agent.local_username,
            agent.local_password,
        )
        assert (agent.local_username, agent.local_password) != old[:2]
        assert restarted["etag"] == session.publisher.ice.etag != old[2]
        assert agent.remote_username == restarted["newUfrag"]
        assert session.publisher.ice.restarts == 1

        # Chromium moves its media to a pair of the new ICE session...
        ports = {int(c.split()[5]) for c in restarted["candidates"]}
        deadline = time.monotonic() + 20
        while True:
            now = await page.evaluate("whip.transport()")
            remote = session.publisher.ice.selected_remote()
            if (
                remote is not old_remote
                and remote.port in ports
                and now["ufrag"]
                in (
                    restarted["newUfrag"],
                    None,  # a Chromium without iceLocalUsernameFragment: the pair change says it
                )
                and now["changes"] > before["changes"]
            ):
                break
            assert time.monotonic() < deadline, (now, remote, old_remote, ports)
            await asyncio.sleep(0.1)
        assert now["connection"] == "connected", now
        # ...and the same broadcast goes on producing parts and segments.
        pl = await wait_for_playlist(http, playlist, segments=1, timeout=10)
        at_switch = next_msn(pl)
        deadline = time.monotonic() + 30
        while next_msn(pl) < at_switch + 3:
            assert time.monotonic() < deadline, pl.dumps()
            await asyncio.sleep(0.25)
            pl = await wait_for_playlist(http, playlist, segments=1, timeout=10)
        assert interop.pubs[stream_id] is session
        assert interop.pubs[stream_id].hls is output
        assert session.stop_reason is None and session.pipeline.error is None

        assert await page.evaluate("whip.stop()") == 200
        await page.close()
        ended = await wait_for_playlist(http, playlist, ended=True, timeout=20)
        probe = await ffprobe_json("-show_streams", "-show_format", playlist)
    assert session.stop_reason == "publisher sent DELETE"
    assert {s["codec_type"] for s in probe["streams"]} == {"video", "audio"}
    # One continuous broadcast: no gap where the restart happened.
    assert float(probe["format"]["duration"]) >= sum(x.duration for x in ended.segments) - 0.5


async def test_ffmpeg_default_certificate_is_refused_as_documented(interop):
    """What docs/engine.md says a publisher sees with FFmpeg's own (P-224) certificate."""
    stream_id, token = await interop.new_stream("FFmpeg default certificate")
    url = f"{interop.base_url}/whip/{stream_id}"
    task = asyncio.ensure_future(
        run_subprocess(sys.executable, "tests/ffmpeg_whip_publisher.py", url, token, "5")
    )
    session = await wait_session(interop, stream_id)
    report = await task
    assert report["video_packets"] == 0, report
    assert "Input/output error" in report["error"], report
    assert "DTLS session failed" in report["error"], report
    assert "A TLS fatal alert has been received" in report["stderr"], report["stderr"]
    deadline = time.monotonic() + 10
    while session.stop_reason is None:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    assert session.stop_reason == "connection failed"
    row = await store.get_stream(interop.pool, uuid.UUID(stream_id))
    assert row is not None and row.state != "live"
