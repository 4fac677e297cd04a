// The device page's Timeline and Developer Tools → Datastreams, kept live (console.md §1.4:
// "every value on the page updates live").
//
// The page's one socket is static/live.js's (opened here for this device); it dispatches every
// message it receives as a DOM event on `document`:
//
//   document.dispatchEvent(new CustomEvent("pinbase:live", {detail: {type, ...message}}))
//
// with the message exactly as docs/console.md describes it ("timeline", "values", …). Here,
// "timeline" entries of this device join the top of the timeline (first page only, newest
// first, each entry once), and "values" update the Value and Updated at cells of the table.

import { openLive } from "./live.js";

const EVENT = "pinbase:live";

const panel = document.querySelector("section.panel[data-device-id]");
const deviceId = panel ? Number(panel.dataset.deviceId) : NaN;

/** `2026-07-21 14:05 UTC`, as the server writes times (pages.moment). */
function moment(ms) {
  return new Date(ms).toISOString().slice(0, 16).replace("T", " ") + " UTC";
}

/** ISO 8601 to the second with `+00:00`, as the server's `iso_moment`. */
function isoMoment(ms) {
  return new Date(ms).toISOString().slice(0, 19) + "+00:00";
}

function timeElement(ms) {
  const time = document.createElement("time");
  time.dateTime = isoMoment(ms);
  time.textContent = moment(ms);
  return time;
}

/** A value as the tables show it: a string as it is, anything else as JSON. */
function shown(value) {
  if (value === null || value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

function entryElement(entry) {
  const item = document.createElement("li");
  const type = String(entry.type || "");
  item.className = `event event-${type.toLowerCase()}`;
  item.dataset.entryId = String(entry.id);
  const kind = document.createElement("span");
  kind.className = "event-type";
  kind.textContent = type.charAt(0) + type.slice(1).toLowerCase();
  const body = document.createElement("span");
  body.className = "event-body";
  const name = document.createElement("strong");
  name.className = "event-name";
  name.textContent = entry.name || entry.code;
  body.append(name);
  if (entry.description) {
    const description = document.createElement("span");
    description.className = "event-description";
    description.textContent = entry.description;
    body.append(description);
  }
  item.append(kind, body, timeElement(entry.createdAt));
  return item;
}

function addTimelineEntries(entries) {
  const list = document.querySelector("ol.timeline[data-live-timeline='on']");
  if (!list) return;
  for (const entry of entries) {
    if (entry.deviceId !== deviceId) continue;
    if (list.querySelector(`li[data-entry-id="${Number(entry.id)}"]`)) continue;
    list.prepend(entryElement(entry));
  }
  const empty = document.querySelector("[data-timeline-empty]");
  if (empty && list.children.length > 0) empty.hidden = true;
}

function updateValues(values) {
  const table = document.querySelector("table[data-live-values]");
  if (!table) return;
  for (const change of values) {
    if (change.deviceId !== deviceId) continue;
    const row = table.querySelector(`tr[data-datastream-id="${Number(change.dataStreamId)}"]`);
    if (!row) continue;
    const cell = row.querySelector("[data-value]");
    const units = cell.dataset.units;
    cell.textContent = shown(change.value) + (units ? ` ${units}` : "");
    const updated = row.querySelector("[data-updated]");
    updated.replaceChildren(timeElement(change.updatedAt));
  }
}

if (panel) {
  document.addEventListener(EVENT, (event) => {
    const message = event.detail || {};
    if (message.type === "timeline") addTimelineEntries(message.entries || []);
    else if (message.type === "values") updateValues(message.values || []);
  });
  openLive([deviceId]);
}
