// Creator studio: camera/microphone preview and publishing over WHIP (RFC 9725).
(function () {
  'use strict';
  const streamId = location.pathname.split('/').filter(Boolean).pop();
  const $ = (id) => document.getElementById(id);
  const preview = $('preview'), badge = $('badge'), message = $('message');
  const goLive = $('golive'), stopBtn = $('stop'), tokenInput = $('token'), elapsed = $('elapsed');
  const hashToken = new URLSearchParams(location.hash.slice(1)).get('token');
  if (hashToken) tokenInput.value = hashToken;
  const loginForm = $('login'), whoami = $('whoami');
  const safety = $('safety'), safeButton = $('safeword'), resumeForm = $('resume');
  let me = null, challenge = null;
  $('watchlink').href = '/watch/' + streamId;
  $('watchlink').textContent = location.origin + '/watch/' + streamId;

  let media = null, pc = null, resource = null, resourceAuth = null, startedAt = 0, timer = null, attempts = 0;

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

  // --- account: the studio signs in with the session cookie (httpOnly: this script never sees it)
  function showAccount() {
    whoami.hidden = !me;
    loginForm.hidden = !!me || !!tokenInput.value.trim();
    if (me) $('handle').textContent = '@' + me.handle;
    document.body.dataset.account = me ? 'signed-in' : 'signed-out';
    showSafety();
  }

  async function loadMe() {
    const res = await fetch('/api/v1/auth/me', { credentials: 'same-origin' }).catch(() => null);
    me = res && res.ok ? (await res.json()).data : null;
    showAccount();
  }

  async function signIn(event) {
    event.preventDefault();
    const json = (body) => ({
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
    });
    let res;
    if (challenge) {
      res = await fetch('/api/v1/auth/login/2fa', json({ challenge, code: $('totp').value.trim() }));
    } else {
      res = await fetch('/api/v1/auth/login', json({ email: $('email').value.trim(), password: $('password').value }));
    }
    if (!res.ok) {
      if (challenge && res.status === 401) { challenge = null; $('totpbox').hidden = true; }
      say('Sign-in failed: ' + await errorText(res), true);
      return;
    }
    const data = (await res.json()).data;
    if (data.twoFactorRequired) {
      challenge = data.challenge;
      $('totpbox').hidden = false;
      $('totp').focus();
      say('Enter the code from your authenticator app.');
      return;
    }
    challenge = null;
    $('password').value = '';
    me = data.user;
    showAccount();
    if (document.body.dataset.state === 'error') setState('idle');  // a fresh start
    say('Signed in. Press Go live when ready.');
  }

  async function signOut() {
    await fetch('/api/v1/auth/logout', { method: 'POST', credentials: 'same-origin' }).catch(() => {});
    me = null;
    showAccount();
    say('Signed out.');
  }

  async function publishToken() {
    // A pasted token (OBS-style, from `teezu streams create`) wins; otherwise the signed-in
    // owner gets a short-lived grant, so the long-lived token never reaches the browser.
    const pasted = tokenInput.value.trim();
    if (pasted) return pasted;
    if (!me) return null;
    const res = await fetch('/api/v1/streams/' + streamId + '/publish-credentials', {
      method: 'POST', credentials: 'same-origin',
    });
    if (!res.ok) throw new Error(await errorText(res));
    return (await res.json()).data.token;
  }

  async function start() {
    let token;
    try { token = await publishToken(); }
    catch (e) { setState('error', 'Could not go live: ' + (e.message || e)); return; }
    if (!token) { setState('error', 'Sign in (or paste a publish token) to go live.'); loginForm.hidden = false; return; }
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
        if (res.status === 201) fetch(res.headers.get('Location'), { method: 'DELETE', headers: { Authorization: 'Bearer ' + token } }).catch(() => {});
        return;
      }
      if (res.status !== 201) throw new Error(await errorText(res));
      resource = res.headers.get('Location');
      resourceAuth = 'Bearer ' + token;  // the session's DELETE needs the POST's token
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
    const url = resource, auth = resourceAuth, peer = pc;
    attempts++;  // supersedes a Go live still connecting
    resource = null;
    pc = null;  // from here on the peer's state changes are expected, not errors
    cleanup();
    setState('stopped', 'Ending the broadcast…');
    let failure = null;
    if (url) {
      const res = await fetch(url, { method: 'DELETE', headers: { Authorization: auth } }).catch(() => null);
      if (res && !res.ok && res.status !== 404) failure = await errorText(res);
      else if (res) await res.arrayBuffer().catch(() => {});  // read to the end: a complete request
    }
    if (peer) peer.close();
    if (failure) { setState('error', 'Stop failed: ' + failure); return; }
    setState('stopped', 'Broadcast ended.');
  }

  // --- the safe word: one big button (Socket.IO `safe_word`, the REST route as a fallback);
  // resuming needs the creator's explicit confirmation (POST /resume {confirm: true}).
  let socket = null;
  function showFrozen(frozen, reason) {
    resumeForm.hidden = !frozen;
    document.body.dataset.frozen = frozen ? 'yes' : 'no';
    $('frozen-reason').textContent = frozen && reason ? '(' + reason + ')' : '';
    if (!frozen) $('resume-confirm').checked = false;
  }
  let socketUser = null;
  function connectSafety() {
    // The socket acts as whoever was signed in at its handshake: a new account needs a new one.
    if (!window.io || (socket && socketUser === (me && me.id))) return;
    if (socket) socket.disconnect();
    socketUser = me && me.id;
    socket = io({ transports: ['websocket', 'polling'], forceNew: true });
    socket.on('connect', async () => {
      const ack = await socket.emitWithAck('chat:join', { streamId });
      if (ack.ok) showFrozen(ack.frozen);
    });
    socket.on('chat:frozen', (event) => { if (event.streamId === streamId) showFrozen(event.frozen, event.reason); });
  }
  async function safeWord() {
    safeButton.disabled = true;
    try {
      let result;
      if (socket && socket.connected) {
        result = await socket.timeout(5000).emitWithAck('safe_word', { streamId });
      } else {
        const res = await fetch('/api/v1/streams/' + streamId + '/safe-word', { method: 'POST', credentials: 'same-origin' });
        result = res.ok ? { ok: true, ...(await res.json()).data } : { ok: false, message: await errorText(res) };
      }
      if (result.ok) { showFrozen(true, 'safe word'); say('Stream frozen. Viewers see the slate.'); }
      else say('Safe word failed: ' + (result.code ? result.message + ' (' + result.code + ')' : result.message), true);
    } catch (e) {
      say('Safe word failed: no answer from the server. Press again or stop the broadcast.', true);
    } finally {
      safeButton.disabled = false;
    }
  }
  async function resume(event) {
    event.preventDefault();
    if (!$('resume-confirm').checked) return;
    const res = await fetch('/api/v1/streams/' + streamId + '/resume', {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ confirm: true }),
    });
    if (!res.ok) { say('Could not resume: ' + await errorText(res), true); return; }
    showFrozen(false);
    say('Resumed: you are live again.');
  }
  safeButton.addEventListener('click', safeWord);
  resumeForm.addEventListener('submit', resume);
  function showSafety() {
    safety.hidden = !me;
    if (me) connectSafety();
    else if (socket) { socket.disconnect(); socket = null; socketUser = null; }
  }

  goLive.addEventListener('click', start);
  stopBtn.addEventListener('click', stop);
  loginForm.addEventListener('submit', signIn);
  $('logout').addEventListener('click', signOut);
  tokenInput.addEventListener('input', showAccount);
  loadMe();
  window.addEventListener('pagehide', () => { if (resource) navigator.sendBeacon && fetch(resource, { method: 'DELETE', headers: { Authorization: resourceAuth }, keepalive: true }); });
  camera().catch((e) => say('Camera/microphone unavailable: ' + e.message, true));
  window.teezuStudio = { start, stop, pc: () => pc, safeWord };
})();
