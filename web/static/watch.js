// Watch page: plays the stream's HLS playlist (hls.js, or native HLS on Safari) and shows
// live/offline. "Low latency" plays over WebRTC instead (WHEP: POST /whep/{id}), in the same
// <video>, and falls back to HLS if that fails.
(function () {
  'use strict';
  const streamId = location.pathname.split('/').filter(Boolean).pop();
  const src = '/hls/' + streamId + '/index.m3u8';
  const video = document.getElementById('video'), badge = document.getElementById('badge');
  const message = document.getElementById('message'), llButton = document.getElementById('lowlatency');
  const LL_KEY = 'teezu.lowLatency';
  let hls = null, state = null, rtc = null;
  let lowLatency = readChoice();

  function readChoice() { try { return localStorage.getItem(LL_KEY) === '1'; } catch (e) { return false; } }
  function saveChoice() { try { localStorage.setItem(LL_KEY, lowLatency ? '1' : '0'); } catch (e) { /* private mode */ } }

  function show(next, text) {
    state = next;
    document.body.dataset.state = next;
    badge.className = 'badge' + (next === 'live' ? ' live' : '');
    badge.textContent = next === 'live' ? 'Live' : next === 'ended' ? 'Ended' : 'Offline';
    message.textContent = text || '';
  }

  function showMode() {
    llButton.setAttribute('aria-pressed', String(lowLatency));
    llButton.textContent = 'Low latency: ' + (lowLatency ? 'on' : 'off');
    document.body.dataset.playback = rtc ? 'webrtc' : hls || video.src ? 'hls' : 'none';
  }

  function play() {
    if (lowLatency) playRtc(); else playHls();
  }

  function playHls() {
    if (hls || video.src) return;
    if (window.Hls && Hls.isSupported()) {
      hls = new Hls({ lowLatencyMode: true, liveSyncDurationCount: 2, manifestLoadingMaxRetry: 30, manifestLoadingRetryDelay: 1000 });
      hls.on(Hls.Events.ERROR, (_, data) => {
        if (!data.fatal) return;
        if (data.type === Hls.ErrorTypes.MEDIA_ERROR) { hls.recoverMediaError(); return; }
        hls.destroy(); hls = null;
        // hls.js does not retry HTTP 4xx (e.g. the playlist's 404 in the first seconds of a
        // broadcast, before its first segment): try again shortly rather than on the next poll.
        setTimeout(() => { if (state === 'live' && !lowLatency) playHls(); }, 1000);
      });
      hls.loadSource(src);
      hls.attachMedia(video);
    } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
      video.src = src;
    } else {
      message.textContent = 'This browser cannot play HLS.';
      return;
    }
    video.play().catch(() => {});
    showMode();
  }

  function stopHls() {
    if (hls) { hls.destroy(); hls = null; }
    if (video.getAttribute('src')) { video.removeAttribute('src'); video.load(); }
  }

  function gathered(pc) {
    // No trickle ICE: the offer goes out with its candidates (bounded wait).
    if (pc.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise((resolve) => {
      pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') resolve(); });
      setTimeout(resolve, 2000);
    });
  }

  async function playRtc() {
    if (rtc || !window.RTCPeerConnection) { if (!rtc) fallBack('this browser has no WebRTC'); return; }
    const session = rtc = { pc: new RTCPeerConnection({ iceServers: [] }), location: null };
    const pc = session.pc;
    showMode();
    try {
      pc.addTransceiver('video', { direction: 'recvonly' });
      pc.addTransceiver('audio', { direction: 'recvonly' });
      pc.ontrack = (e) => {
        if (rtc !== session) return;
        stopHls();
        if (!(video.srcObject instanceof MediaStream)) video.srcObject = new MediaStream();
        video.srcObject.addTrack(e.track);
        video.play().catch(() => {});
      };
      pc.onconnectionstatechange = () => {
        if (rtc === session && pc.connectionState === 'failed') fallBack('the connection failed');
      };
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc);
      const res = await fetch('/whep/' + streamId, {
        method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription.sdp,
      });
      if (res.status !== 201) {
        let why = 'HTTP ' + res.status;
        try { const body = await res.json(); why = body.message + ' (' + body.code + ')'; } catch (e) { /* not JSON */ }
        throw new Error(why);
      }
      session.location = res.headers.get('Location');
      const answer = await res.text();
      if (rtc !== session) { endRtc(session); return; }
      await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    } catch (e) {
      if (rtc === session) fallBack(e.message || String(e));
    }
  }

  function endRtc(session) {
    session.pc.close();
    if (session.location) fetch(session.location, { method: 'DELETE', keepalive: true }).catch(() => {});
  }

  function stopRtc() {
    if (!rtc) return;
    const session = rtc;
    rtc = null;
    endRtc(session);
    if (video.srcObject) video.srcObject = null;
  }

  function fallBack(why) {
    stopRtc();
    lowLatency = false;
    showMode();
    if (state === 'live') {
      message.textContent = 'Low latency is unavailable (' + why + '): playing HLS.';
      playHls();
    }
  }

  llButton.addEventListener('click', () => {
    lowLatency = !lowLatency;
    saveChoice();
    stopRtc();
    stopHls();
    if (state === 'live') { message.textContent = ''; play(); }
    showMode();
  });

  async function poll() {
    try {
      const res = await fetch('/api/v1/streams/' + streamId, { cache: 'no-store' });
      if (res.status === 404) { show('offline', 'This stream does not exist.'); return; }
      const s = (await res.json()).data;
      document.title = s.title + ' — TeezU Live';
      document.getElementById('title').textContent = s.title;
      document.getElementById('creator').textContent = '@' + s.creatorHandle;
      if (s.state === 'live') { if (state !== 'live') show('live'); play(); }
      else {
        stopRtc();
        if (s.state === 'ended') show('ended', 'The broadcast has ended.');
        else show('offline', 'Not live yet. This page starts playing when the broadcast begins.');
      }
      showMode();
    } catch (e) { /* network hiccup: try again on the next tick */ }
  }

  window.addEventListener('pagehide', stopRtc);
  showMode();
  poll();
  setInterval(poll, 3000);
  window.teezuWatch = {
    video: () => video, state: () => state,
    playback: () => (rtc ? 'webrtc' : hls || video.src ? 'hls' : 'none'),
    peer: () => rtc && rtc.pc,
  };
})();
