// Glass-to-glass clock for loadtests/bench_latency.py, injected into Chromium pages.
//
// A publisher paints the current wall-clock time (ms, mod 2^32) as a grid of black/white blocks
// on a 1280x720 canvas and sends the canvas as its camera; a reader decodes the blocks from every
// frame its <video> presents (requestVideoFrameCallback) and records now - painted time. The
// blocks are big (160x144 at 720p, still 33x48 at 240p) and carry an 8-bit checksum, so frames
// blended by the encoder or caught mid-transition are rejected, not misread. Publisher and
// readers run in one browser, so they share one clock.
(function () {
  'use strict';
  const COLS = 8, ROWS = 5, W = 1280, H = 720;
  const BW = W / COLS, BH = H / ROWS;
  const now = () => performance.timeOrigin + performance.now();

  function checksum(v) {
    return ((v & 0xff) + ((v >>> 8) & 0xff) + ((v >>> 16) & 0xff) + ((v >>> 24) & 0xff)) & 0xff;
  }

  function bitsOf(v) {
    const bits = [];
    for (let i = 31; i >= 0; i--) bits.push((v >>> i) & 1);
    const c = checksum(v);
    for (let i = 7; i >= 0; i--) bits.push((c >>> i) & 1);
    return bits; // 40 = COLS * ROWS
  }

  // Paint the clock on every animation tick (and on a timer: rAF may be throttled headless).
  function startPainting(canvas) {
    canvas.width = W; canvas.height = H;
    const g = canvas.getContext('2d');
    function paint() {
      const bits = bitsOf(Math.floor(now()) >>> 0);
      for (let i = 0; i < bits.length; i++) {
        g.fillStyle = bits[i] ? '#fff' : '#000';
        g.fillRect((i % COLS) * BW, Math.floor(i / COLS) * BH, BW, BH);
      }
    }
    paint();
    return setInterval(paint, 10);
  }

  // Decode one presented frame; null when the checksum fails.
  function decode(g, w, h) {
    const px = g.getImageData(0, 0, w, h).data;
    const bw = w / COLS, bh = h / ROWS;
    let v = 0, c = 0;
    for (let i = 0; i < COLS * ROWS; i++) {
      const cx = Math.floor((i % COLS) * bw + bw / 2), cy = Math.floor(Math.floor(i / COLS) * bh + bh / 2);
      let sum = 0, n = 0;
      for (let y = cy - 2; y <= cy + 2; y++) {
        for (let x = cx - 2; x <= cx + 2; x++) { sum += px[(y * w + x) * 4 + 1]; n++; }
      }
      const bit = sum / n > 128 ? 1 : 0;
      if (i < 32) v = ((v << 1) | bit) >>> 0; else c = (c << 1) | bit;
    }
    return checksum(v) === c ? v : null;
  }

  // Read every frame the video presents: samples {t, latency, height}.
  function startReading(video) {
    const out = { samples: [], rejected: 0, frames: 0 };
    const canvas = document.createElement('canvas');
    const w = 160, h = 90;
    canvas.width = w; canvas.height = h;
    const g = canvas.getContext('2d', { willReadFrequently: true });
    function onFrame(_, meta) {
      out.frames++;
      // "Glass" on this side is when the compositor shows the frame.
      const shown = performance.timeOrigin + (meta.expectedDisplayTime || performance.now());
      g.drawImage(video, 0, 0, w, h);
      const v = decode(g, w, h);
      if (v === null) out.rejected++;
      else {
        const latency = ((Math.floor(shown) >>> 0) - v) >>> 0;
        if (latency < 60000) out.samples.push({ t: shown, latency: latency, height: video.videoHeight });
        else out.rejected++;
      }
      video.requestVideoFrameCallback(onFrame);
    }
    video.requestVideoFrameCallback(onFrame);
    return out;
  }

  function gathered(pc) {
    if (pc.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise((resolve) => {
      pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') resolve(); });
      setTimeout(resolve, 2000);
    });
  }

  function clockStream() {
    const canvas = document.createElement('canvas');
    startPainting(canvas);
    const stream = canvas.captureStream(30);
    // A tone too, so the server runs its usual audio path (parts close on audio as well).
    const ac = new AudioContext();
    const osc = ac.createOscillator();
    const dest = ac.createMediaStreamDestination();
    osc.frequency.value = 440; osc.connect(dest); osc.start();
    stream.addTrack(dest.stream.getAudioTracks()[0]);
    return stream;
  }

  // The studio page's sender settings: H.264 first, full resolution from the first frame.
  async function tuneVideo(t) {
    const rank = (c) => (c.mimeType === 'video/H264' ? 0 : c.mimeType === 'video/VP8' ? 1 : 2);
    const caps = RTCRtpSender.getCapabilities('video');
    if (caps && t.setCodecPreferences) t.setCodecPreferences([...caps.codecs].sort((a, b) => rank(a) - rank(b)));
    const params = t.sender.getParameters();
    params.degradationPreference = 'maintain-resolution';
    params.encodings = params.encodings && params.encodings.length ? params.encodings : [{}];
    params.encodings[0].maxBitrate = 4000000;
    await t.sender.setParameters(params).catch(() => {});
  }

  // Publish the clock over WHIP, as the studio page does (H.264 preferred, bitrate hints).
  async function publish(streamId, token) {
    const stream = clockStream();
    const pc = new RTCPeerConnection({ iceServers: [] });
    for (const track of stream.getTracks()) {
      const t = pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
      if (track.kind === 'video') await tuneVideo(t);
    }
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    const res = await fetch('/whip/' + streamId, {
      method: 'POST',
      headers: { 'Content-Type': 'application/sdp', Authorization: 'Bearer ' + token },
      body: pc.localDescription.sdp,
    });
    if (res.status !== 201) throw new Error('WHIP ' + res.status + ': ' + (await res.text()));
    await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    window.teezuPublisher = pc;
    return true;
  }

  // The reference: the same clock sent browser-to-browser over WebRTC in this page (no server),
  // i.e. what capture + Chromium's own encoder + decoder + jitter buffer + display cost.
  async function loopback(video) {
    const stream = clockStream();
    const a = new RTCPeerConnection(), b = new RTCPeerConnection();
    a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
    b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
    b.ontrack = (e) => {
      if (!(video.srcObject instanceof MediaStream)) video.srcObject = new MediaStream();
      video.srcObject.addTrack(e.track);
      video.play().catch(() => {});
    };
    for (const track of stream.getTracks()) {
      const t = a.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
      if (track.kind === 'video') await tuneVideo(t);
    }
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription(a.localDescription);
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(b.localDescription);
    window.teezuLoopback = [a, b];
    return true;
  }

  window.teezuClock = { publish, loopback, startReading, startPainting, decode };
})();
