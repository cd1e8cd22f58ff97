// Watch page: plays the stream's HLS playlist (hls.js, or native HLS on Safari) and shows live/offline.
(function () {
  'use strict';
  const streamId = location.pathname.split('/').filter(Boolean).pop();
  const src = '/hls/' + streamId + '/index.m3u8';
  const video = document.getElementById('video'), badge = document.getElementById('badge');
  const message = document.getElementById('message');
  let hls = null, state = null;

  function show(next, text) {
    state = next;
    document.body.dataset.state = next;
    badge.className = 'badge' + (next === 'live' ? ' live' : '');
    badge.textContent = next === 'live' ? 'Live' : next === 'ended' ? 'Ended' : 'Offline';
    message.textContent = text || '';
  }

  function play() {
    if (hls || video.src) return;
    if (window.Hls && Hls.isSupported()) {
      hls = new Hls({ lowLatencyMode: true, liveSyncDurationCount: 2, manifestLoadingMaxRetry: 30, manifestLoadingRetryDelay: 1000 });
      hls.on(Hls.Events.ERROR, (_, data) => {
        if (!data.fatal) return;
        if (data.type === Hls.ErrorTypes.MEDIA_ERROR) { hls.recoverMediaError(); return; }
        hls.destroy(); hls = null;
        // hls.js does not retry HTTP 4xx (e.g. the playlist's 404 in the first seconds of a
        // broadcast, before its first segment): try again shortly rather than on the next poll.
        setTimeout(() => { if (state === 'live') play(); }, 1000);
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
  }

  async function poll() {
    try {
      const res = await fetch('/api/v1/streams/' + streamId, { cache: 'no-store' });
      if (res.status === 404) { show('offline', 'This stream does not exist.'); return; }
      const s = (await res.json()).data;
      document.title = s.title + ' — TeezU Live';
      document.getElementById('title').textContent = s.title;
      document.getElementById('creator').textContent = '@' + s.creatorHandle;
      if (s.state === 'live') { if (state !== 'live') show('live'); play(); }
      else if (s.state === 'ended') show('ended', 'The broadcast has ended.');
      else show('offline', 'Not live yet. This page starts playing when the broadcast begins.');
    } catch (e) { /* network hiccup: try again on the next tick */ }
  }

  poll();
  setInterval(poll, 3000);
  window.teezuWatch = { video: () => video, state: () => state };
})();
