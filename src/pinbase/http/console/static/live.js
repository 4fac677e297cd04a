// The page's one live socket (/dashboard/ws, docs/console.md "Live updates"): it subscribes to
// the page's devices, hands the snapshot and then every delta to the page, and reconnects with
// a growing, jittered delay, subscribing again, which brings a fresh snapshot. Writes carry the
// page's CSRF token (<meta name="csrf-token">). A write while the socket is down is dropped, not
// queued (console.md §5.3: a control must not act later, unseen); the banner says why.
//
// `sender()` gives each widget its own throttle: at most one write every 50 ms (Blynk's 20
// commands a second, console.md §4), the latest value kept and always sent last.

const SOCKET_PATH = "/dashboard/ws";
const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 15_000;
const COMMAND_INTERVAL_MS = 50;
const CLOSE_POLICY = 1008; // the session ended (signed out), or a broken message
const NOTICE_MS = 6_000;

/** Tell the page (static/device_tabs.js, static/pwa.js) a message or the socket's state. */
function announce(detail) {
  document.dispatchEvent(new CustomEvent("pinbase:live", { detail }));
}

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

/**
 * Open the page's live socket.
 *
 * handlers: {snapshot(frame), values(list), properties(list), statuses(list), timeline(list),
 * connection(isOpen)}, each optional. Returns {write(deviceId, dataStreamId, value),
 * sender(deviceId, dataStreamId) → send(value), close()}.
 */
export function openLive(deviceIds, handlers = {}) {
  const banner = document.querySelector("[data-live-banner]");
  const csrf = csrfToken();
  let socket = null;
  let attempt = 0;
  let closed = false;
  let noticeTimer = 0;
  let sessionEnded = false;

  function say(text, { transient = false } = {}) {
    if (!banner) return;
    clearTimeout(noticeTimer);
    banner.textContent = text;
    banner.hidden = !text;
    if (transient && text) noticeTimer = setTimeout(() => say(isOpen() ? "" : banner.textContent), NOTICE_MS);
  }

  function isOpen() {
    return socket !== null && socket.readyState === WebSocket.OPEN;
  }

  function connect() {
    const url = new URL(SOCKET_PATH, window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(url);
    socket.addEventListener("open", () => {
      socket.send(JSON.stringify({ type: "subscribe", deviceIds }));
    });
    socket.addEventListener("message", (event) => receive(JSON.parse(event.data)));
    socket.addEventListener("close", (event) => {
      announce({ type: "connection", connected: false });
      handlers.connection?.(false);
      if (closed) return;
      if (event.code === CLOSE_POLICY) sessionEnded = true;
      say(
        sessionEnded
          ? "You are signed out. Reload the page to sign in again."
          : "Offline: live updates stopped. Reconnecting…",
      );
      const delay = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** attempt) * (0.5 + Math.random() / 2);
      attempt += 1;
      setTimeout(connect, delay);
    });
  }

  function receive(frame) {
    // Every message also goes to whoever listens on the page (static/device_tabs.js).
    announce(frame);
    switch (frame.type) {
      case "snapshot":
        attempt = 0;
        sessionEnded = false;
        say("");
        announce({ type: "connection", connected: true });
        handlers.connection?.(true);
        handlers.snapshot?.(frame);
        break;
      case "values":
        handlers.values?.(frame.values);
        break;
      case "property":
        handlers.properties?.(frame.properties);
        break;
      case "status":
        handlers.statuses?.(frame.devices);
        break;
      case "timeline":
        handlers.timeline?.(frame.entries);
        break;
      case "error":
        say(frame.code === "csrf" ? "This page has expired: reload it." : frame.message, { transient: true });
        break;
      default:
        break;
    }
  }

  function write(deviceId, dataStreamId, value) {
    if (!isOpen()) {
      say("Offline: the change was not sent.", { transient: true });
      return false;
    }
    socket.send(JSON.stringify({ type: "write", deviceId, dataStreamId, value, csrf }));
    return true;
  }

  function sender(deviceId, dataStreamId) {
    let last = 0;
    let pending = null;
    let timer = 0;
    const flush = () => {
      timer = 0;
      if (pending === null) return;
      const { value } = pending;
      pending = null;
      last = performance.now();
      write(deviceId, dataStreamId, value);
    };
    return (value) => {
      pending = { value };
      if (timer) return; // the scheduled flush sends the latest value
      const wait = last + COMMAND_INTERVAL_MS - performance.now();
      if (wait <= 0) flush();
      else timer = setTimeout(flush, wait);
    };
  }

  connect();
  return {
    write,
    sender,
    close() {
      closed = true;
      if (socket) socket.close();
    },
  };
}
