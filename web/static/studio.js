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
  function say(text, isError) {
    message.textContent = text;
    message.className = 'message' + (isError ? ' error' : '');
    delete message.dataset.code;
  }

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
    catch (e) { return 'the server answered ' + res.status + ' without saying why'; }
  }

  // --- refusals: what is missing to go live, in words, with a link to where to fix it
  class Refusal extends Error {
    constructor(error) { super(error.message || error.code); this.error = error; }
  }
  async function refusal(res) {
    let body = null;
    try { body = await res.json(); } catch (e) { /* not the envelope: a proxy's page */ }
    return new Refusal({
      status: res.status,
      code: body && body.code,
      message: body && body.message,
      meta: (body && body.meta) || {},
      retryAfter: body && body.retryAfter,
    });
  }
  function showRefusal(error) {
    const help = window.teezuGoLiveHelp.explain(error.code, error, {
      streamId, signedIn: !!me, handle: me && me.handle, identity: checks.identity,
      identityReason: checks.identityReason,
    });
    setState('error');
    message.className = 'message error';
    message.textContent = help.text;
    message.dataset.code = error.code || '';
    if (help.href) {
      const link = document.createElement('a');
      link.href = help.href;
      link.id = 'fix';
      link.textContent = help.label;
      message.append(' ', link);
    }
    if (error.code) {
      const code = document.createElement('span');
      code.className = 'code';
      code.textContent = error.code;  // for support: the words above are for the creator
      message.append(code);
    }
    if (['STREAM_FROZEN', 'ACCOUNT_SUSPENDED', 'ACCOUNT_BANNED'].includes(error.code)) {
      $('check-standing').hidden = false;
      $('standing-state').textContent = help.text;
    }
    loadChecklist();
  }
  message.addEventListener('click', (event) => {
    // In-page fixes: scroll there without replacing the URL's #token=... fragment.
    const link = event.target.closest('a');
    if (!link || !link.getAttribute('href').startsWith('#')) return;
    event.preventDefault();
    const id = link.getAttribute('href').slice(1);
    if (id === 'login') { loginForm.hidden = false; $('email').focus(); return; }
    const target = $(id);
    if (id.startsWith('check-')) $('checklist').hidden = false;
    target.scrollIntoView({ block: 'center' });
    target.focus();
  });

  // --- the checklist: identity, this broadcast's consent check-ins (a signed-in performer)
  const checks = { identity: null, identityReason: '' };
  async function loadChecklist() {
    const list = $('checklist');
    if (!me) { list.hidden = true; return; }
    list.hidden = false;
    const [status, people] = await Promise.all([
      fetch('/api/v1/verification/status', { credentials: 'same-origin' }).catch(() => null),
      fetch('/api/v1/streams/' + streamId + '/performers', { credentials: 'same-origin' }).catch(() => null),
    ]);
    if (status && status.ok) {
      const data = (await status.json()).data, latest = data.latest;
      checks.identity = data.verified ? 'approved' : latest ? latest.status : 'none';
      checks.identityReason = latest ? latest.reason : '';
      const when = latest ? new Date(latest.submittedAt).toLocaleString() : '';
      $('identity-state').textContent = {
        approved: 'Approved: you may perform.',
        pending: 'Sent ' + when + ': waiting for a moderator\'s review.',
        rejected: 'Not approved' + (checks.identityReason ? ' (' + checks.identityReason + ')' : '') +
          '. Send a new one below.',
        none: 'Not verified yet: send a photo of your ID and a selfie. A moderator checks them once.',
      }[checks.identity];
      $('idform').hidden = !['none', 'rejected'].includes(checks.identity);
    }
    const ul = $('performers');
    ul.textContent = '';
    if (people && people.ok) {
      const data = (await people.json()).data;
      let mine = null;
      for (const p of data.performers) {
        const li = document.createElement('li');
        li.textContent = '@' + p.handle + (p.role === 'creator' ? ' (creator)' : '') + ': ' +
          (p.verified ? 'identity approved' : 'identity not approved yet') + ', ' +
          (p.checkedIn ? 'checked in' : 'not checked in yet');
        li.dataset.handle = p.handle;
        ul.append(li);
        if (me && p.userId === me.id) mine = p;
      }
      $('checkin').hidden = !mine || mine.checkedIn;
    } else {
      const li = document.createElement('li');
      li.textContent = 'You are not a performer of this stream.';
      ul.append(li);
      $('checkin').hidden = true;
    }
  }
  async function checkIn() {
    const res = await fetch('/api/v1/streams/' + streamId + '/consent', { method: 'POST', credentials: 'same-origin' });
    if (!res.ok) { showRefusal((await refusal(res)).error); return; }
    await loadChecklist();
    if (document.body.dataset.state === 'error') setState('idle');
    say('Checked in for this broadcast. Press Go live when ready.');
  }
  async function sendIdentity(event) {
    event.preventDefault();
    $('idsend').disabled = true;
    try {
      const res = await fetch('/api/v1/verification/records', {
        method: 'POST', credentials: 'same-origin', body: new FormData($('idform')),
      });
      if (!res.ok) { say('Your ID was not accepted: ' + await errorText(res), true); return; }
      $('idform').reset();
      await loadChecklist();
      say('Sent for review. A moderator checks it; you can go live once it is approved.');
    } finally {
      $('idsend').disabled = false;
    }
  }

  // --- account: the studio signs in with the session cookie (httpOnly: this script never sees it)
  function showAccount() {
    whoami.hidden = !me;
    loginForm.hidden = !!me || !!tokenInput.value.trim();
    if (me) $('handle').textContent = '@' + me.handle;
    document.body.dataset.account = me ? 'signed-in' : 'signed-out';
    showSafety();
    loadChecklist();
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
    if (!res.ok) throw await refusal(res);
    return (await res.json()).data.token;
  }

  async function start() {
    const attempt = ++attempts;  // a Stop (or a new Go live) meanwhile supersedes this attempt
    const current = () => attempt === attempts;
    setState('connecting', 'Connecting…');  // at once: the last refusal's words are stale now
    let token;
    try { token = await publishToken(); }
    catch (e) {
      if (current()) showRefusal(e instanceof Refusal ? e.error : { code: 'NETWORK' });
      return;
    }
    if (!current()) return;
    if (!token) { setState('error', 'Sign in (or paste a publish token) to go live.'); loginForm.hidden = false; return; }
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
      if (res.status !== 201) throw await refusal(res);
      resource = res.headers.get('Location');
      resourceAuth = 'Bearer ' + token;  // the session's DELETE needs the POST's token
      await peer.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    } catch (e) {
      if (!current()) { if (peer && peer !== pc) peer.close(); return; }
      cleanup();
      if (e instanceof Refusal) showRefusal(e.error);
      else if (e instanceof TypeError) showRefusal({ code: 'NETWORK' });  // fetch could not connect
      else setState('error', 'Could not go live: ' + (e.message || e));
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
    loadChecklist();  // the next broadcast needs new check-ins
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

  $('checkin').addEventListener('click', checkIn);
  $('idform').addEventListener('submit', sendIdentity);
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
