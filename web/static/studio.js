// Creator studio: camera/microphone preview and publishing over WHIP (RFC 9725).
(function () {
  'use strict';
  const streamId = location.pathname.split('/').filter(Boolean).pop();
  const $ = (id) => document.getElementById(id);
  const preview = $('preview'), badge = $('badge'), message = $('message');
  const goLive = $('golive'), stopBtn = $('stop'), tokenInput = $('token'), elapsed = $('elapsed');
  const hashToken = new URLSearchParams(location.hash.slice(1)).get('token');
  if (hashToken) tokenInput.value = hashToken; else $('tokenbox').open = true;
  $('watchlink').href = '/watch/' + streamId;
  $('watchlink').textContent = location.origin + '/watch/' + streamId;

  let media = null, pc = null, resource = null, startedAt = 0, timer = null, attempts = 0;

  function setState(state, text) {
    document.body.dataset.state = state;
    badge.className = 'badge' + (state === 'live' ? ' live' : state === 'connecting' ? ' connecting' : '');
    badge.textContent = { idle: 'Offline', connecting: 'Connecting', live: 'Live', stopped: 'Stopped', error: 'Error' }[state];
    goLive.disabled = state === 'connecting' || state === 'live';
    stopBtn.disabled = !(state === 'connecting' || state === 'live');
    if (text !== undefined) say(text, state === 'error');
  }
  function say(text, isError) { message.textContent = text; message.className = 'message' + (isError ? ' error' : ''); }

  async function camera() {
    if (media) return media;
    media = await navigator.mediaDevices.getUserMedia({
      video: { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } },
      audio: true,
    });
    preview.srcObject = media;
    return media;
  }

  function preferH264(transceiver) {
    // H.264 costs the server far less to decode than VP8; fall back to whatever is offered.
    const caps = RTCRtpSender.getCapabilities && RTCRtpSender.getCapabilities('video');
    if (!caps || !transceiver.setCodecPreferences) return;
    const rank = (c) => (c.mimeType === 'video/H264' ? 0 : c.mimeType === 'video/VP8' ? 1 : 2);
    transceiver.setCodecPreferences([...caps.codecs].sort((a, b) => rank(a) - rank(b)));
  }

  function gathered(peer) {
    // No trickle ICE: send the offer once all candidates are in it (bounded wait).
    if (peer.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => { if (peer.iceGatheringState === 'complete') resolve(); };
      peer.addEventListener('icegatheringstatechange', done);
      setTimeout(resolve, 2000);
    });
  }

  async function errorText(res) {
    try { const body = await res.json(); return body.message + ' (' + body.code + ')'; }
    catch (e) { return 'HTTP ' + res.status; }
  }

  async function start() {
    const token = tokenInput.value.trim();
    if (!token) { setState('error', 'A publish token is needed to go live.'); $('tokenbox').open = true; return; }
    const attempt = ++attempts;  // a Stop (or a new Go live) meanwhile supersedes this attempt
    const current = () => attempt === attempts;
    setState('connecting', 'Connecting…');
    let peer = null;
    try {
      const stream = await camera();
      if (!current()) return;
      peer = pc = new RTCPeerConnection({ iceServers: [] });
      for (const track of stream.getTracks()) {
        const t = peer.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
        if (track.kind === 'video') {
          preferH264(t);
          const params = t.sender.getParameters();
          params.degradationPreference = 'maintain-resolution';
          params.encodings = params.encodings && params.encodings.length ? params.encodings : [{}];
          params.encodings[0].maxBitrate = 4000000;
          await t.sender.setParameters(params).catch(() => {});
        }
      }
      peer.addEventListener('connectionstatechange', () => {
        if (!current() || pc !== peer) return;  // stopped: the state changes are expected
        if (peer.connectionState === 'failed' || peer.connectionState === 'disconnected') {
          setState('error', 'Connection to the server was lost.');
        } else if (peer.connectionState === 'connected') {
          startedAt = Date.now();
          setState('live', 'You are live.');
          if (timer) clearInterval(timer);
          timer = setInterval(() => {
            const s = Math.floor((Date.now() - startedAt) / 1000);
            elapsed.textContent = Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0');
          }, 1000);
        }
      });
      await peer.setLocalDescription(await peer.createOffer());
      await gathered(peer);
      if (!current()) return;
      const res = await fetch('/whip/' + streamId, {
        method: 'POST',
        headers: { 'Content-Type': 'application/sdp', Authorization: 'Bearer ' + token },
        body: peer.localDescription.sdp,
      });
      if (!current()) {
        // Stopped while connecting: end the session the server has just created, if it did.
        if (res.status === 201) fetch(res.headers.get('Location'), { method: 'DELETE' }).catch(() => {});
        return;
      }
      if (res.status !== 201) throw new Error(await errorText(res));
      resource = res.headers.get('Location');
      await peer.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    } catch (e) {
      if (!current()) { if (peer && peer !== pc) peer.close(); return; }
      cleanup();
      setState('error', 'Could not go live: ' + (e.message || e));
    }
  }

  function cleanup() {
    if (timer) clearInterval(timer);
    timer = null;
    elapsed.textContent = '';
    if (pc) { pc.close(); pc = null; }
  }

  async function stop() {
    // WHIP: DELETE the session first, then close the peer connection. Closing first makes the
    // server see a lost connection (it ends the broadcast on its own and the DELETE gets a 404).
    const url = resource, peer = pc;
    attempts++;  // supersedes a Go live still connecting
    resource = null;
    pc = null;  // from here on the peer's state changes are expected, not errors
    cleanup();
    setState('stopped', 'Ending the broadcast…');
    let failure = null;
    if (url) {
      const res = await fetch(url, { method: 'DELETE' }).catch(() => null);
      if (res && !res.ok && res.status !== 404) failure = await errorText(res);
      else if (res) await res.arrayBuffer().catch(() => {});  // read to the end: a complete request
    }
    if (peer) peer.close();
    if (failure) { setState('error', 'Stop failed: ' + failure); return; }
    setState('stopped', 'Broadcast ended.');
  }

  goLive.addEventListener('click', start);
  stopBtn.addEventListener('click', stop);
  window.addEventListener('pagehide', () => { if (resource) navigator.sendBeacon && fetch(resource, { method: 'DELETE', keepalive: true }); });
  camera().catch((e) => say('Camera/microphone unavailable: ' + e.message, true));
  window.teezuStudio = { start, stop, pc: () => pc };
})();
