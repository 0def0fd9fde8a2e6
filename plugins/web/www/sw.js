// The service worker of městys' pages: network first for the site's own
// pages, /lib, /vendor and public GET /api/*, falling back to the last copy
// kept when the network fails.  A copy served from the cache carries the
// header X-Mestys-Cached-At (when it was kept), which /lib/app.js turns into
// the stale banner.  Requests with a bearer token (clerk pages) are never
// kept: an operator's data stays off the disk of a shared computer.
const CACHE = 'mestys-pages-v1';
const CACHED_HEADER = 'X-Mestys-Cached-At';
// the shell, kept at install so even the first page can come back offline
const SHELL = ['/', '/lib/app.js', '/lib/i18n.js', '/lib/site.css', '/api/web/theme.css', '/api/web/config',
  '/api/pages', '/favicon.svg', '/manifest.webmanifest'];
// pages answered from the cache lately: url -> when that copy was kept
const servedFromCache = new Map();

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => Promise.all(SHELL.map((url) => keep(cache, url))))
    .then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys()
    .then((names) => Promise.all(names.filter((n) => n.startsWith('mestys-') && n !== CACHE).map((n) => caches.delete(n))))
    .then(() => self.clients.claim()));
});

function keepable(request) {
  if (request.method !== 'GET') return false;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return false; // map tiles: the browser's own cache
  if (request.headers.get('Authorization')) return false;
  if (url.pathname === '/sw.js' || url.pathname.startsWith('/api/admin/')) return false;
  return true;
}

// a copy of res with the time it was kept, for the stale banner
async function stamped(res) {
  const headers = new Headers(res.headers);
  headers.set(CACHED_HEADER, new Date().toISOString());
  return new Response(await res.blob(), { status: res.status, statusText: res.statusText, headers });
}

async function store(cache, request, res) {
  if (res.ok && res.type === 'basic') await cache.put(request, await stamped(res));
}

async function keep(cache, url) {
  try {
    const res = await fetch(url, { cache: 'no-cache' });
    await store(cache, url, res);
  } catch {
    /* offline at install: kept on the next visit */
  }
}

async function networkFirst(event) {
  const cache = await caches.open(CACHE);
  try {
    const res = await fetch(event.request);
    event.waitUntil(store(cache, event.request, res.clone()).catch(() => {}));
    if (event.request.mode === 'navigate') servedFromCache.delete(event.request.url);
    return res;
  } catch (err) {
    const copy = await cache.match(event.request, { ignoreVary: true });
    if (!copy) throw err;
    if (event.request.mode === 'navigate') servedFromCache.set(event.request.url, copy.headers.get(CACHED_HEADER));
    return copy;
  }
}

self.addEventListener('fetch', (event) => {
  if (keepable(event.request)) event.respondWith(networkFirst(event));
});

self.addEventListener('message', (event) => {
  const msg = event.data || {};
  if (msg.type === 'page-source' && event.ports[0]) {
    // a page asks whether it came from the cache, and from when
    event.ports[0].postMessage({ cachedAt: servedFromCache.get(msg.url) || null });
  } else if (msg.type === 'keep' && Array.isArray(msg.urls)) {
    // a page loaded before this worker controlled it: keep what it used
    event.waitUntil(caches.open(CACHE).then(async (cache) => {
      for (const url of msg.urls.slice(0, 100)) {
        if (new URL(url).origin !== self.location.origin || (await cache.match(url))) continue;
        await keep(cache, url);
      }
    }));
  }
});
