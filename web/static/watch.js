// Watch page: plays the stream's HLS playlist (hls.js, or native HLS on Safari) and shows
// live/offline. "Low latency" plays over WebRTC instead (WHEP: POST /whep/{id}), in the same
// <video>, and falls back to HLS if that fails.
//
// Playback tokens (streams that are not open: non-public, age-gated, geo-blocked) live a few
// minutes. The page asks POST /api/v1/streams/{id}/playback-tokens again at the grant's
// refreshAt and swaps the new token in without stopping the picture: hls.js sends every
// request with the current token (xhrSetup), and a WebRTC session is replaced by a new one
// made with the new token, whose picture takes over once it arrives (the server ends a WHEP
// session when its token expires). A 403 from the media servers (the token was revoked: who
// may watch changed) asks for a new token at once; if the API refuses, the page says why.
(function () {
  'use strict';
  const streamId = location.pathname.split('/').filter(Boolean).pop();
  // The API names where to play from: the LL-HLS edge when the server runs one (hlsUrl).
  let src = '/hls/' + streamId + '/index.m3u8';
  let grant = null;  // {token, expiresAt, refreshAt, hlsUrl, ...}: streams that are not open
  let renewTimer = null, renewing = null, lastRenewal = 0;
  const video = document.getElementById('video'), badge = document.getElementById('badge');
  const message = document.getElementById('message'), llButton = document.getElementById('lowlatency');
  const LL_KEY = 'teezu.lowLatency';
  let hls = null, state = null, rtc = null, nextRtc = null;
  let lowLatency = readChoice();

  function readChoice() { try { return localStorage.getItem(LL_KEY) === '1'; } catch (e) { return false; } }
  function saveChoice() { try { localStorage.setItem(LL_KEY, lowLatency ? '1' : '0'); } catch (e) { /* private mode */ } }

  function show(next, text) {
    state = next;
    document.body.dataset.state = next;
    badge.className = 'badge' + (next === 'live' ? ' live' : '');
    badge.textContent = { live: 'Live', ended: 'Ended', denied: 'Restricted' }[next] || 'Offline';
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
      // No liveSyncDuration* option: any of them overrides the playlist's PART-HOLD-BACK,
      // which is what low-latency mode should hold back (3 parts, ~1 s, not 2 segments). After
      // a stall hls.js holds back more (default +1 s per stall): half a second is enough with
      // parts of 1/3 s, and playing up to 1.25x speed brings the latency back to its target.
      hls = new Hls({
        lowLatencyMode: true, liveSyncOnStallIncrease: 0.5, maxLiveSyncPlaybackRate: 1.25,
        manifestLoadingMaxRetry: 30, manifestLoadingRetryDelay: 1000,
        // Every request (and retry) carries the newest token, not the one its URL was made with.
        xhrSetup: (xhr, url) => { xhr.open('GET', withToken(url), true); },
      });
      hls.on(Hls.Events.ERROR, (_, data) => {
        // 403: the token expired or was revoked: a new one, which hls.js's retries then carry.
        if (data.response && data.response.code === 403) renewSoon();
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

  // replace: a session made with a renewed token, taking over from the playing one once its
  // picture arrives (make before break).
  async function playRtc(replace) {
    if (replace ? (!rtc || nextRtc) : rtc) return;
    if (!window.RTCPeerConnection) { fallBack('this browser has no WebRTC'); return; }
    const session = { pc: new RTCPeerConnection({ iceServers: [] }), location: null, tracks: [] };
    if (replace) nextRtc = session; else rtc = session;
    const pc = session.pc;
    showMode();
    try {
      pc.addTransceiver('video', { direction: 'recvonly' });
      pc.addTransceiver('audio', { direction: 'recvonly' });
      pc.ontrack = (e) => {
        if (nextRtc === session) {
          session.tracks.push(e.track);
          if (e.track.kind !== 'video') return;
          const old = rtc;
          rtc = session; nextRtc = null;
          video.srcObject = new MediaStream(session.tracks);
          video.play().catch(() => {});
          if (old) endRtc(old);
          return;
        }
        if (rtc !== session) return;
        stopHls();
        if (!(video.srcObject instanceof MediaStream)) video.srcObject = new MediaStream();
        video.srcObject.addTrack(e.track);
        video.play().catch(() => {});
      };
      pc.onconnectionstatechange = () => {
        // The server closes a session whose access ended; HLS then asks the API again.
        if (rtc === session && (pc.connectionState === 'failed' || pc.connectionState === 'closed')) {
          fallBack('the connection ended');
        }
        if (nextRtc === session && pc.connectionState === 'failed') { nextRtc = null; endRtc(session); }
      };
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc);
      const headers = { 'Content-Type': 'application/sdp' };
      if (grant) headers.Authorization = 'Bearer ' + grant.token;
      const res = await fetch('/whep/' + streamId, { method: 'POST', headers, body: pc.localDescription.sdp });
      if (res.status !== 201) {
        let why = 'HTTP ' + res.status;
        try { const body = await res.json(); why = body.message + ' (' + body.code + ')'; } catch (e) { /* not JSON */ }
        throw new Error(why);
      }
      session.location = res.headers.get('Location');
      session.auth = headers.Authorization;  // DELETE needs the POST's token, if it had one
      const answer = await res.text();
      if (rtc !== session && nextRtc !== session) { endRtc(session); return; }
      await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    } catch (e) {
      if (rtc === session) fallBack(e.message || String(e));
      else if (nextRtc === session) { nextRtc = null; endRtc(session); }
    }
  }

  function endRtc(session) {
    session.pc.close();
    if (session.location) {
      const headers = session.auth ? { Authorization: session.auth } : {};
      fetch(session.location, { method: 'DELETE', headers, keepalive: true }).catch(() => {});
    }
  }

  function stopRtc() {
    if (nextRtc) { endRtc(nextRtc); nextRtc = null; }
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

  // Non-public, age-gated and geo-blocked streams: the API decides from the signed-in viewer
  // (session cookie) and where they are whether a playback token is due; the token then rides
  // on every HLS request and the WHEP offer, and is renewed before it expires.
  async function access(s) {
    const gated = s.viewerAccess && s.viewerAccess.tokenRequired;
    if (s.visibility === 'public' && !gated) return null;
    if (grant && grant.expiresAt - Date.now() / 1000 > 5) return null;  // renew() keeps it fresh
    return renew();
  }

  function withToken(url) {
    if (!grant) return url;
    return url.replace(/([?&]token=)[^&#]*/, '$1' + encodeURIComponent(grant.token));
  }

  // A new token from the API; null when it came (and was swapped in), else why not.
  function renew() {
    if (!renewing) renewing = fetchGrant().finally(() => { renewing = null; });
    return renewing;
  }

  async function fetchGrant() {
    clearTimeout(renewTimer);
    lastRenewal = Date.now();
    let res;
    try {
      res = await fetch('/api/v1/streams/' + streamId + '/playback-tokens', {
        method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' }, body: '{}',
      });
    } catch (e) {
      renewTimer = setTimeout(renewAndApply, 3000);  // a network hiccup: try again shortly
      return null;
    }
    if (!res.ok) {
      grant = null;
      let why = 'HTTP ' + res.status;
      let body = null;
      try { body = await res.json(); why = body.code; } catch (e) { /* not JSON */ }
      if (why === 'AGE_VERIFICATION_REQUIRED') {
        const need = body.meta && body.meta.requirement === 'verified'
          ? 'verify your age' : 'confirm you are 18 or older';
        return 'This stream is for adults: ' + need + (body.meta && body.meta.signInRequired ? ' (sign in first).' : '.');
      }
      if (why === 'GEO_BLOCKED') return 'This stream is not available where you are.';
      if (why === 'BANNED') return 'You are banned from this stream.';
      const visibility = body && body.meta && body.meta.visibility;
      return 'This stream is for its ' + (visibility || 'audience') + ' (' + why + '). Sign in with an account that may watch it.';
    }
    grant = (await res.json()).data;
    src = grant.hlsUrl || grant.playbackUrl;
    renewTimer = setTimeout(renewAndApply, Math.max(1000, grant.refreshAt * 1000 - Date.now()));
    if (rtc) playRtc(true);  // the WHEP session ends with its token: a new one takes over
    else if (!hls && video.getAttribute('src')) video.src = src;  // native HLS: no other way
    return null;
  }

  async function renewAndApply() {
    const refused = await renew();
    if (refused) { stopRtc(); stopHls(); show('denied', refused); }
  }

  function renewSoon() {
    if (grant && !renewing && Date.now() - lastRenewal > 2000) renewAndApply();
  }

  async function poll() {
    try {
      const res = await fetch('/api/v1/streams/' + streamId, { cache: 'no-store' });
      if (res.status === 404) { show('offline', 'This stream does not exist.'); return; }
      if (res.status === 451) { stopRtc(); stopHls(); show('denied', 'This stream is not available where you are.'); return; }
      const s = (await res.json()).data;
      document.title = s.title + ' — TeezU Live';
      document.getElementById('title').textContent = s.title;
      document.getElementById('creator').textContent = '@' + s.creatorHandle;
      if (s.hlsUrl && !hls && !video.getAttribute('src') && !grant) src = s.hlsUrl;
      if (s.state === 'live') {
        const refused = await access(s);
        if (refused) { stopRtc(); stopHls(); show('denied', refused); return; }
        if (state !== 'live') show('live');
        play();
      }
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
    hls: () => hls, // hls.js instance while playing HLS (tests read its latency figures)
    grant: () => grant, // the playback token in use (null on open streams)
    renew: renewAndApply, // ask for a new token now, as the timer does at grant.refreshAt
  };
})();
