// Every console page: registers the service worker (the installable app, docs/console.md
// "On a phone") and shows the connection banner of base.html.
//
// The banner says "offline" when the browser has no network, and "reconnecting" when the page's
// live socket says it lost the server: the socket's module announces its state with
//   document.dispatchEvent(new CustomEvent("pinbase:live", { detail: { connected } }))
// The offline page (the worker's answer when a page cannot be fetched) reloads itself when the
// network returns, and every RETRY_MS while the browser believes it is online: the server may be
// the one unreachable, or the network may come back a moment after the "online" event.

const OFFLINE = "You are offline. Values are not updating, and nothing you change is sent.";
const RECONNECTING = "The connection to the server was lost. Reconnecting…";
const RETRY_MS = 5000;

const banner = document.getElementById("connection-banner");
const offlinePage = document.body.hasAttribute("data-offline-page");
let socketConnected = true;

function showConnection() {
  const text = !navigator.onLine ? OFFLINE : socketConnected ? "" : RECONNECTING;
  if (banner) {
    banner.textContent = text;
    banner.hidden = text === "";
  }
  document.documentElement.classList.toggle("is-offline", !navigator.onLine);
}

window.addEventListener("online", () => {
  if (offlinePage) {
    window.location.reload();
    return;
  }
  showConnection();
});
if (offlinePage) {
  window.setInterval(() => {
    if (navigator.onLine) window.location.reload();
  }, RETRY_MS);
}
window.addEventListener("offline", showConnection);
document.addEventListener("pinbase:live", (event) => {
  // static/live.js announces its state as {type: "connection", connected}; other messages pass.
  if (!event.detail || !("connected" in event.detail)) return;
  socketConnected = Boolean(event.detail.connected);
  showConnection();
});
showConnection();

if ("serviceWorker" in navigator) {
  // "/dashboard", not "/dashboard/": the device list at /dashboard is in the app too.
  const scope = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
  navigator.serviceWorker
    .register(new URL("../sw.js", import.meta.url), { scope })
    .catch((error) => console.warn("Pinbase: service worker not registered", error));
}
