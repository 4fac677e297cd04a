// The console's service worker (http/console/install.py): keeps the app shell, never data.
//
// - Static files: from the cache when stored under this exact URL, else from the network; a
//   file asked for offline under another version is answered from the cache if stored at all.
// - Page navigations: always the network (a page carries one user's devices and is never
//   stored); without a network, the offline page, which holds no data.
// - Everything else (JSON endpoints, the live socket, the manifest, every write): not touched,
//   so it goes to the network or fails; nothing is queued to be sent later.
// - Web Push (http/console/push_api.py, services/reactions/web_push.py): a push shows its
//   message; a click opens its link, a console page of this origin, else the notification list.
const CACHE = {{ cache_name|tojson }};
const SHELL = {{ shell|tojson }};
const OFFLINE_PAGE = {{ offline_path|tojson }};
const STATIC_PREFIX = {{ static_prefix|tojson }};
const CONSOLE = {{ console_path|tojson }};
const INBOX = {{ inbox_path|tojson }};
const ICON = {{ icon|tojson }};

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

self.addEventListener("push", (event) => {
  let message = {};
  try {
    message = event.data ? event.data.json() : {};
  } catch (error) {
    message = { body: event.data ? event.data.text() : "" };
  }
  event.waitUntil(
    self.registration.showNotification(message.title || "Pinbase", {
      body: message.body || "",
      tag: message.tag || undefined,
      data: { url: consoleUrl(message.url) },
      requireInteraction: message.alert === true,
      icon: ICON,
      timestamp: typeof message.ts === "number" ? message.ts : undefined,
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = (event.notification.data && event.notification.data.url) || consoleUrl("");
  event.waitUntil(openWindow(url));
});

// A message's link as a console URL of this origin: a path outside the console is taken as
// relative to it ("/devices/7" is "/dashboard/devices/7"); another origin is never opened.
function consoleUrl(link) {
  if (typeof link !== "string" || link === "") return new URL(INBOX, self.location.origin).href;
  const url = new URL(link, self.location.origin);
  if (url.origin !== self.location.origin) return new URL(INBOX, self.location.origin).href;
  if (url.pathname !== CONSOLE && !url.pathname.startsWith(CONSOLE + "/")) {
    url.pathname = CONSOLE + url.pathname;
  }
  return url.href;
}

async function openWindow(url) {
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  for (const client of windows) {
    if (client.url === url && "focus" in client) return client.focus();
  }
  return self.clients.openWindow(url);
}
