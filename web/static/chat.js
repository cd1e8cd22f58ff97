// Watch page chat: the stream's room over Socket.IO (socket.io-client), the last messages from
// GET /api/v1/streams/{id}/chat, live messages, removals, freezes, typing and the viewer count.
// Anonymous visitors read; sending needs a signed-in member (the join ack says canSend).
(function () {
  'use strict';
  const streamId = location.pathname.split('/').filter(Boolean).pop();
  const panel = document.getElementById('chat'), log = document.getElementById('chat-log');
  const form = document.getElementById('chat-form'), input = document.getElementById('chat-input');
  const sendButton = document.getElementById('chat-send'), status = document.getElementById('chat-status');
  const viewers = document.getElementById('viewers'), typing = document.getElementById('chat-typing');
  const MAX_SHOWN = 200;
  const shown = new Set();
  let canSend = false, typingTimer = null, lastTyping = 0;

  function say(text, error) {
    status.textContent = text || '';
    status.className = 'message' + (error ? ' error' : '');
  }

  function setState(state, placeholder) {
    panel.dataset.state = state;
    const on = state === 'joined' && canSend;
    input.disabled = !on;
    sendButton.disabled = !on;
    input.placeholder = placeholder || (on ? 'Say something' : 'Sign in to chat');
  }

  function add(message) {
    if (shown.has(message.id)) return;
    shown.add(message.id);
    const item = document.createElement('li');
    item.dataset.id = message.id;
    const who = document.createElement('span');
    who.className = 'who';
    who.textContent = message.user.handle;
    const text = document.createElement('span');
    text.className = 'text';
    text.textContent = message.text;  // never innerHTML: chat is untrusted text
    item.append(who, text);
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    log.append(item);
    while (log.children.length > MAX_SHOWN) {
      shown.delete(log.firstElementChild.dataset.id);
      log.firstElementChild.remove();
    }
    if (atBottom) log.scrollTop = log.scrollHeight;
  }

  async function loadHistory() {
    try {
      const res = await fetch('/api/v1/streams/' + streamId + '/chat?limit=50');
      const body = await res.json();
      if (!res.ok) return;
      // History goes above whatever arrived live meanwhile, in order, without duplicates.
      const live = Array.from(log.children);
      log.replaceChildren();
      shown.clear();
      body.data.forEach(add);
      live.forEach((item) => {
        if (shown.has(item.dataset.id)) return;
        shown.add(item.dataset.id);
        log.append(item);
      });
      log.scrollTop = log.scrollHeight;
    } catch (e) { /* the live messages still arrive */ }
  }

  function describe(ack) {
    if (ack.retryAfter) return ack.message + ' (' + ack.code + ', wait ' + ack.retryAfter + ' s)';
    return ack.message + ' (' + ack.code + ')';
  }

  if (!window.io) { say('Chat is unavailable.', true); return; }
  const socket = io({ transports: ['websocket', 'polling'] });

  socket.on('connect', async () => {
    const ack = await socket.emitWithAck('chat:join', { streamId });
    if (!ack.ok) { canSend = false; setState('refused', 'Chat unavailable'); say(describe(ack), true); return; }
    canSend = ack.canSend;
    viewers.textContent = ack.viewers + ' watching';
    setState('joined');
    say(ack.timedOutUntil ? 'You are timed out until ' + new Date(ack.timedOutUntil).toLocaleTimeString()
      : ack.frozen ? 'The stream is paused: chat is frozen.' : '');
    await loadHistory();
  });
  socket.on('disconnect', () => setState('connecting', 'Reconnecting…'));
  socket.on('chat:messages', (batch) => { if (batch.streamId === streamId) batch.messages.forEach(add); });
  socket.on('chat:removed', (event) => {
    const item = log.querySelector('li[data-id="' + CSS.escape(event.messageId) + '"]');
    if (item) item.remove();
  });
  socket.on('chat:viewers', (event) => { viewers.textContent = event.count + ' watching'; });
  socket.on('chat:typing', (event) => {
    typing.textContent = event.user.handle + ' is typing…';
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => { typing.textContent = ''; }, 3000);
  });
  socket.on('chat:settings', (event) => {
    const modes = [];
    if (event.slowMode) modes.push('slow mode: one message every ' + event.slowMode + ' s');
    if (event.followersOnly) modes.push('followers only');
    if (event.reviewMode === 'hold') modes.push('messages appear once a moderator approves them');
    if (event.reviewMode === 'delay') modes.push('messages appear after a short delay');
    say(modes.join(', '));
  });
  socket.on('chat:frozen', (event) => {
    if (event.streamId === streamId) say(event.frozen ? 'The stream is paused: chat is frozen.' : '');
  });
  socket.on('chat:banned', () => { canSend = false; setState('banned', 'You were removed from this chat'); });

  input.addEventListener('input', () => {
    const now = Date.now();
    if (canSend && now - lastTyping > 2000) { lastTyping = now; socket.emit('chat:typing', { streamId }, () => {}); }
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    sendButton.disabled = true;
    try {
      const ack = await socket.timeout(10000).emitWithAck('chat:send', { streamId, text });
      if (ack.ok && ack.held) {
        input.value = '';
        say(ack.releaseAt ? 'Sent: it appears after a short delay.' : 'Sent: it appears once a moderator approves it.');
      } else if (ack.ok) { input.value = ''; add(ack.message); say(''); } else { say(describe(ack), true); }
    } catch (e) {
      say('Not sent: no answer from the server.', true);
    } finally {
      sendButton.disabled = !canSend;
      input.focus();
    }
  });
})();
