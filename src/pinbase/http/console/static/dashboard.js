// The device page's Dashboard tab: builds each widget of the layout the server rendered
// (<script id="dashboard-layout">, http/console/dashboard_view.py) from its module
// (widgets/<type>.js, the widget module contract in docs/console.md "Dashboard"), opens the
// page's live socket, and hands the widgets the snapshot, then each value, property and status
// change. Placement: the 12-column grid of console.md §3.3 through --col/--row/--w/--h (the
// stylesheet stacks widgets in one column, in (y, x) order, below 768 px).

import { openLive } from "./live.js";

const root = document.querySelector("[data-dashboard]");
const layout = JSON.parse(document.getElementById("dashboard-layout").textContent);
const deviceId = Number(root.dataset.deviceId);
const device = { id: deviceId, chartUrl: root.dataset.chartUrl, tileUrl: root.dataset.tileUrl };
const statusBadge = document.querySelector("[data-device-status]");

const mounted = []; // {widget, handle, ids: Set of dataStreamIds}
const values = new Map(); // dataStreamId → {value, updatedAt}
const properties = new Map(); // dataStreamId → {name: value}
let live = null;
let snapshotArrived;
const firstSnapshot = new Promise((resolve) => {
  snapshotArrived = resolve;
});

function place(cell, widget) {
  cell.style.setProperty("--col", String(widget.x + 1));
  cell.style.setProperty("--row", String(widget.y + 1));
  cell.style.setProperty("--w", String(widget.w));
  cell.style.setProperty("--h", String(widget.h));
}

function unsupported(cell, widget) {
  cell.replaceChildren();
  const note = document.createElement("p");
  note.className = "widget widget-unsupported";
  note.textContent = `${widget.datastreams.map((ds) => ds.label).join(", ")}: this widget type (${widget.type}) is not shown in the web console yet.`;
  cell.append(note);
}

async function mountWidget(cell, widget) {
  place(cell, widget);
  if (!widget.datastreams.length) return;
  let module;
  try {
    module = await import(`./widgets/${widget.type}.js`);
  } catch {
    unsupported(cell, widget);
    return;
  }
  if (typeof module.mount !== "function") {
    unsupported(cell, widget);
    return;
  }
  const datastream = widget.datastreams[0];
  const current = values.get(datastream.id);
  const handle = module.mount(cell, {
    datastream,
    datastreams: widget.datastreams,
    settings: widget.settings,
    value: current ? current.value : null,
    updatedAt: current ? current.updatedAt : null,
    properties: { ...(properties.get(datastream.id) || {}) },
    device,
    // The Terminal's recent lines after a reload (http/console/device_tabs.py).
    recentUrl: `/dashboard/api/devices/${deviceId}/datastreams/${datastream.id}/recent`,
    send: (value) => sendOf(datastream.id)(value),
  });
  const senders = new Map();
  function sendOf(id) {
    if (!senders.has(id)) senders.set(id, live.sender(deviceId, id));
    return senders.get(id);
  }
  mounted.push({ widget, handle, ids: new Set(widget.datastreams.map((ds) => ds.id)) });
}

function widgetsOf(dataStreamId) {
  return mounted.filter((entry) => entry.ids.has(dataStreamId));
}

function applyValue(dataStreamId, value, updatedAt) {
  values.set(dataStreamId, { value, updatedAt });
  for (const entry of widgetsOf(dataStreamId)) entry.handle.update(value, updatedAt, dataStreamId);
}

function applyProperty(dataStreamId, name, value) {
  const known = properties.get(dataStreamId) || {};
  known[name] = value;
  properties.set(dataStreamId, known);
  for (const entry of widgetsOf(dataStreamId)) {
    // A property belongs to the datastream; a multi-series chart takes its first one's.
    if (entry.widget.datastreams[0].id === dataStreamId) entry.handle.setProperty(name, value);
  }
}

function applyStatus(online) {
  root.classList.toggle("device-offline", !online);
  if (statusBadge) {
    statusBadge.textContent = online ? "Online" : "Offline";
    statusBadge.classList.toggle("online", online);
    statusBadge.classList.toggle("offline", !online);
  }
  for (const entry of mounted) entry.handle.setOnline(online);
}

const handlers = {
  snapshot(frame) {
    const state = frame.devices.find((shown) => shown.deviceId === deviceId);
    if (!state) return;
    applyStatus(state.online);
    for (const item of state.properties) applyProperty(item.dataStreamId, item.name, item.value);
    for (const item of state.values) applyValue(item.dataStreamId, item.value, item.updatedAt);
    root.dataset.live = "ready";
    snapshotArrived();
  },
  values(list) {
    for (const item of list) if (item.deviceId === deviceId) applyValue(item.dataStreamId, item.value, item.updatedAt);
  },
  properties(list) {
    for (const item of list) if (item.deviceId === deviceId) applyProperty(item.dataStreamId, item.name, item.value);
  },
  statuses(list) {
    for (const item of list) if (item.deviceId === deviceId) applyStatus(item.online);
  },
};

async function start() {
  const cells = [...root.querySelectorAll("[data-widget-id]")];
  const byId = new Map(layout.tabs.flatMap((tab) => tab.widgets).map((widget) => [widget.id, widget]));
  live = openLive([deviceId], handlers); // its snapshot may come before or after the widgets
  await Promise.all(cells.map((cell) => mountWidget(cell, byId.get(cell.dataset.widgetId))));
  root.dataset.mounted = "true";
  // First render: every widget built, holding the snapshot, charts and maps drawn.
  await firstSnapshot;
  await Promise.all(mounted.map((entry) => entry.handle.ready).filter(Boolean));
  performance.mark("dashboard-rendered");
  root.dataset.rendered = "true";
}

start();
