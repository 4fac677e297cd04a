// The Notifications page's Web Push switch (http/console/notifications_pages.py).
//
// "Enable notifications on this device": ask for permission, subscribe the service worker's
// PushManager with the server's VAPID key (GET data-key-url), and post the subscription
// (POST data-subscriptions-url, with the page's CSRF token). "Turn off" unsubscribes the
// browser and tells the server (DELETE, same URL). Browsers without Web Push are told so.

const section = document.getElementById("push");
const status = document.getElementById("push-status");
const enable = document.getElementById("push-enable");
const disable = document.getElementById("push-disable");

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

function say(text) {
  status.textContent = text;
}

function keyBytes(base64url) {
  const padded = base64url.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((base64url.length + 3) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

async function send(method, body) {
  const answer = await fetch(section.dataset.subscriptionsUrl, {
    method,
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
    body: JSON.stringify(body),
    credentials: "same-origin",
  });
  if (!answer.ok && answer.status !== 404) {
    const problem = await answer.json().catch(() => ({}));
    throw new Error((problem.error && problem.error.message) || `HTTP ${answer.status}`);
  }
}

function show(subscribed) {
  enable.hidden = subscribed;
  disable.hidden = !subscribed;
  say(subscribed ? "Notifications are on for this device." : "Notifications are off for this device.");
}

async function registration() {
  return navigator.serviceWorker.ready;
}

async function turnOn() {
  enable.disabled = true;
  try {
    const permission = await Notification.requestPermission();
    if (permission !== "granted") {
      say("Notifications are blocked for this site: allow them in the browser's site settings.");
      return;
    }
    const keyAnswer = await fetch(section.dataset.keyUrl, { credentials: "same-origin" });
    const { publicKey } = await keyAnswer.json();
    const worker = await registration();
    const subscription = await worker.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: keyBytes(publicKey),
    });
    await send("POST", subscription.toJSON());
    show(true);
  } catch (error) {
    say(`Notifications could not be turned on: ${error.message}`);
  } finally {
    enable.disabled = false;
  }
}

async function turnOff() {
  disable.disabled = true;
  try {
    const worker = await registration();
    const subscription = await worker.pushManager.getSubscription();
    if (subscription) {
      await send("DELETE", { endpoint: subscription.endpoint });
      await subscription.unsubscribe();
    }
    show(false);
  } catch (error) {
    say(`Notifications could not be turned off: ${error.message}`);
  } finally {
    disable.disabled = false;
  }
}

async function start() {
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    say(window.isSecureContext
      ? "This browser cannot receive notifications."
      : "Notifications need the console over https.");
    return;
  }
  enable.addEventListener("click", turnOn);
  disable.addEventListener("click", turnOff);
  enable.hidden = false;
  say("Notifications are off for this device.");
  try {
    const worker = await registration();
    const subscription = await worker.pushManager.getSubscription();
    if (subscription && Notification.permission === "granted") show(true);
  } catch (error) {
    // No worker yet: the switch stays on "Enable".
  }
}

start();
