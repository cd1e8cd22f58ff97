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

  let media = null, pc = null, resource = null, startedAt = 0, timer = null;

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
    setState('connecting', 'Connecting…');
    try {
      const stream = await camera();
      pc = new RTCPeerConnection({ iceServers: [] });
      for (const track of stream.getTracks()) {
        const t = pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
        if (track.kind === 'video') {
          preferH264(t);
          const params = t.sender.getParameters();
          params.degradationPreference = 'maintain-resolution';
          params.encodings = params.encodings && params.encodings.length ? params.encodings : [{}];
          params.encodings[0].maxBitrate = 4000000;
          await t.sender.setParameters(params).catch(() => {});
        }
      }
      pc.addEventListener('connectionstatechange', () => {
        if (pc && (pc.connectionState === 'failed' || pc.connectionState === 'disconnected')) {
          setState('error', 'Connection to the server was lost.');
        } else if (pc && pc.connectionState === 'connected') {
          startedAt = Date.now();
          setState('live', 'You are live.');
          timer = setInterval(() => {
            const s = Math.floor((Date.now() - startedAt) / 1000);
            elapsed.textContent = Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0');
          }, 1000);
        }
      });
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc);
      const res = await fetch('/whip/' + streamId, {
        method: 'POST',
        headers: { 'Content-Type': 'application/sdp', Authorization: 'Bearer ' + token },
        body: pc.localDescription.sdp,
      });
      if (res.status !== 201) throw new Error(await errorText(res));
      resource = res.headers.get('Location');
      await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    } catch (e) {
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
    const url = resource;
    resource = null;
    cleanup();
    setState('stopped', 'Ending the broadcast…');
    if (url) {
      const res = await fetch(url, { method: 'DELETE' }).catch(() => null);
      if (res && !res.ok && res.status !== 404) { setState('error', 'Stop failed: ' + (await errorText(res))); return; }
    }
    setState('stopped', 'Broadcast ended.');
  }

  goLive.addEventListener('click', start);
  stopBtn.addEventListener('click', stop);
  window.addEventListener('pagehide', () => { if (resource) navigator.sendBeacon && fetch(resource, { method: 'DELETE', keepalive: true }); });
  camera().catch((e) => say('Camera/microphone unavailable: ' + e.message, true));
  window.teezuStudio = { start, stop, pc: () => pc };
})();
