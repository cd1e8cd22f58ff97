// Home page: the streams live now (refreshed every 5 s). A file, not inline: the CSP allows
// scripts from 'self' only.
(async function () {
  const list = document.getElementById('streams');
  async function refresh() {
    try {
      const res = await fetch('/api/v1/streams?state=live&limit=50');
      const body = await res.json();
      list.replaceChildren(...body.data.map((s) => {
        const li = document.createElement('li');
        const a = document.createElement('a');
        a.href = s.watchUrl;
        a.textContent = s.title + ' — @' + s.creatorHandle;
        li.append(a);
        return li;
      }));
      document.getElementById('empty').hidden = body.data.length > 0;
    } catch (e) { /* retry on the next tick */ }
  }
  refresh();
  setInterval(refresh, 5000);
})();
