// The Map widget (console.md §2 "Map", §5.2): a device's Location datastream drawn with Leaflet,
// its latest point as a marker and the earlier ones as a track, with a text list of the latest
// points as the alternative to the picture. Tiles come from the server's `map_tile_url` setting;
// empty (the default) draws no tiles, and the marker and track still show on a plain background.
// Points are [ts, longitude, latitude]: longitude first, as Blynk stores locations.

import * as L from "../vendor/leaflet-1.9.4/leaflet-src.esm.js";
import { isTrue, textOf } from "./common.js";

const STYLESHEET = new URL("../vendor/leaflet-1.9.4/leaflet.css", import.meta.url).href;
const LISTED = 10; // points in the text list, newest first
const MAX_TRACK = 1000; // points kept on the track, as a chart series
let mounted = 0;

function stylesheetLoaded(href) {
  let link = document.querySelector(`link[href="${href}"]`);
  if (link && link.sheet) return Promise.resolve();
  if (!link) {
    link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = href;
    document.head.append(link);
  }
  return new Promise((resolve) => {
    link.addEventListener("load", resolve, { once: true });
    link.addEventListener("error", resolve, { once: true });
  });
}

function element(tag, attributes = {}, text = "") {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
}

function describe([ts, lon, lat]) {
  return `${new Date(ts).toLocaleString()}: latitude ${lat.toFixed(5)}, longitude ${lon.toFixed(5)}`;
}

/**
 * Mount a map in `element`.
 *
 * options: {
 *   title: the region's name ("Truck position"),
 *   tileUrl: a Leaflet tile URL template, or "" for none (the server's map_tile_url),
 *   attribution?: the tile provider's attribution HTML (OpenStreetMap requires one),
 *   points: [[ts, lon, lat], …] oldest first,
 *   showTrack?: draw the line through the points (true),
 *   color?: the track's colour,
 * }
 * Returns {appendPoint(ts, lon, lat), ready: Promise, destroy()}.
 */
export function mountMap(host, options) {
  const id = `map-${++mounted}`;
  const points = [...(options.points || [])].slice(-MAX_TRACK);
  const region = element("section", { class: "map-widget", "aria-labelledby": `${id}-title` });
  const title = element("h3", { id: `${id}-title` }, options.title);
  const canvas = element("div", { class: "map-canvas" });
  const listTitle = element("h4", { id: `${id}-list` }, "Latest points");
  const list = element("ol", { class: "map-points", "aria-labelledby": `${id}-list` });
  region.append(title, canvas, listTitle, list);
  if (!options.tileUrl) region.classList.add("map-no-tiles");
  host.replaceChildren(region);

  let map = null;
  let marker = null;
  let track = null;

  function renderList() {
    const latest = points.slice(-LISTED).reverse();
    list.replaceChildren(...latest.map((point) => element("li", {}, describe(point))));
    if (!latest.length) list.replaceChildren(element("li", {}, "No location yet"));
  }

  function latLngs() {
    return points.map(([, lon, lat]) => [lat, lon]);
  }

  function drawPoints(fit) {
    if (!map) return;
    const path = latLngs();
    if (!path.length) return;
    const last = path[path.length - 1];
    const label = `${options.title}: ${describe(points[points.length - 1])}`;
    if (marker === null) {
      marker = L.marker(last, { title: label, alt: label, keyboard: true }).addTo(map);
    } else {
      marker.setLatLng(last);
      marker.options.title = label;
      const icon = marker.getElement();
      if (icon) {
        icon.title = label;
        icon.alt = label;
      }
    }
    if (options.showTrack !== false) {
      if (track === null) track = L.polyline(path, { color: options.color || "#2563eb", weight: 3 }).addTo(map);
      else track.setLatLngs(path);
    }
    if (!fit && !map.getBounds().contains(last)) map.panTo(last); // keep the newest in view
    if (fit) {
      if (path.length > 1) map.fitBounds(L.latLngBounds(path), { padding: [24, 24], maxZoom: 16 });
      else map.setView(last, 14);
    }
  }

  function appendPoint(ts, lon, lat) {
    points.push([ts, lon, lat]);
    if (points.length > MAX_TRACK) points.shift();
    renderList();
    drawPoints(false);
  }

  renderList();
  const ready = stylesheetLoaded(STYLESHEET).then(() => {
    map = L.map(canvas, { attributionControl: Boolean(options.tileUrl), worldCopyJump: true });
    if (options.tileUrl) {
      L.tileLayer(options.tileUrl, { attribution: options.attribution || "", maxZoom: 19 }).addTo(map);
    }
    map.setView([0, 0], 1);
    drawPoints(true);
  });
  return {
    appendPoint,
    ready,
    destroy() {
      if (map) map.remove();
      host.replaceChildren();
    },
  };
}

/**
 * The Map as a dashboard widget (the widget module contract, docs/console.md "Dashboard"): the
 * device's Location datastream, its value ([lon, lat]) appended as a point whenever it changes.
 * Properties: label (the title), isHidden.
 */
export function mount(host, ctx) {
  const datastream = ctx.datastream;
  const first = Array.isArray(ctx.value) ? [[ctx.updatedAt ?? Date.now(), ctx.value[0], ctx.value[1]]] : [];
  const map = mountMap(host, {
    title: ctx.settings.title || datastream.label,
    tileUrl: ctx.device.tileUrl || "",
    points: first,
    color: ctx.settings.color || datastream.color || undefined,
  });
  function setProperty(name, value) {
    if (name === "isHidden") host.classList.toggle("widget-hidden", isTrue(value));
    if (name === "label") {
      const heading = host.querySelector("h3");
      if (heading) heading.textContent = textOf(value) || datastream.label;
    }
  }
  for (const [name, value] of Object.entries(ctx.properties || {})) setProperty(name, value);
  return {
    update(value, ts) {
      if (Array.isArray(value)) map.appendPoint(ts ?? Date.now(), value[0], value[1]);
    },
    setProperty,
    setOnline() {},
    get ready() {
      return map.ready;
    },
    destroy: () => map.destroy(),
  };
}
