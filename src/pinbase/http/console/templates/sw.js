// The console's service worker (http/console/install.py): keeps the app shell, never data.
//
// - Static files: from the cache when stored under this exact URL, else from the network; a
//   file asked for offline under another version is answered from the cache if stored at all.
// - Page navigations: always the network (a page carries one user's devices and is never
//   stored); without a network, the offline page, which holds no data.
// - Everything else (JSON endpoints, the live socket, the manifest, every write): not touched,
//   so it goes to the network or fails; nothing is queued to be sent later.
const CACHE = {{ cache_name|tojson }};
const SHELL = {{ shell|tojson }};
const OFFLINE_PAGE = {{ offline_path|tojson }};
const STATIC_PREFIX = {{ static_prefix|tojson }};

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(
        names.filter((name) => name.startsWith("pinbase-shell-") && name !== CACHE)
          .map((name) => caches.delete(name)),
      ))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith(STATIC_PREFIX)) {
    event.respondWith(staticFile(request));
  } else if (request.mode === "navigate") {
    event.respondWith(page(request));
  }
});

async function staticFile(request) {
  const cache = await caches.open(CACHE);
  const stored = await cache.match(request);
  if (stored) return stored;
  try {
    return await fetch(request);
  } catch (error) {
    const older = await cache.match(request, { ignoreSearch: true });
    if (older) return older;
    throw error;
  }
}

async function page(request) {
  try {
    return await fetch(request);
  } catch (error) {
    const cache = await caches.open(CACHE);
    return (await cache.match(OFFLINE_PAGE)) || Response.error();
  }
}
