// The Chart widget (console.md §2, §3.2, §5.2): several datastreams of one device drawn with
// uPlot from the chart endpoint (GET …/api/devices/{id}/chart, docs/console.md "Charts"), a
// radiogroup of ranges, a data table as the text alternative, and live points appended.
//
// Series carry [ts, avg, min, max] points; the plot draws each series' chosen aggregate (Avg
// by default). A line breaks where more than two buckets in a row are missing (null is a gap
// for uPlot; undefined, where another series has a point, is joined across).

import uPlot from "../vendor/uplot-1.6.32/uPlot.esm.js";
import { isTrue, textOf } from "./common.js";

const STYLESHEET = new URL("../vendor/uplot-1.6.32/uPlot.min.css", import.meta.url).href;

export const RANGES = [
  ["live", "Live"],
  ["1h", "1h"],
  ["6h", "6h"],
  ["1d", "1d"],
  ["1w", "1w"],
  ["1mo", "1mo"],
  ["3mo", "3mo"],
];
const LIVE_WINDOW_MS = 15 * 60 * 1000;
const LIVE_GAP_MS = 2 * 60 * 1000; // raw points: a break after two silent minutes
const MAX_POINTS = 1000; // what the server sends at most per series
const AGGREGATES = { avg: 1, min: 2, max: 3 };
const PALETTE = ["#2563eb", "#d97706", "#059669", "#dc2626", "#7c3aed", "#0891b2"];
let mounted = 0;

function linkStylesheet(href) {
  if (!document.querySelector(`link[href="${href}"]`)) {
    const link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = href;
    document.head.append(link);
  }
}

function element(tag, attributes = {}, text = "") {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
}

// Digits after the point of a Blynk decimals pattern ("#.##" → 2), or null for none given.
function digitsOf(pattern) {
  if (!pattern) return null;
  const point = pattern.indexOf(".");
  return point < 0 ? 0 : pattern.length - point - 1;
}

function formatValue(value, spec) {
  if (value === null || value === undefined) return "";
  const digits = digitsOf(spec.decimals);
  const text = digits === null ? String(Math.round(value * 1000) / 1000) : value.toFixed(digits);
  return spec.units ? `${text} ${spec.units}` : text;
}

/**
 * Mount a chart in `element`.
 *
 * options: {
 *   url: the chart endpoint of the device ("/dashboard/api/devices/7/chart"),
 *   title: the caption ("Tank level"),
 *   series: [{dataStreamId, label, color?, units?, decimals?, aggregate? ("avg"|"min"|"max")}],
 *   range?: the first range ("1d"),
 *   height?: plot height in px (240),
 * }
 * Returns {appendLive(dataStreamId, ts, value), setRange(range), ready: Promise, destroy()}.
 */
export function mountChart(host, options) {
  linkStylesheet(STYLESHEET);
  const id = `chart-${++mounted}`;
  const specs = options.series.map((spec, index) => ({
    aggregate: "avg",
    color: PALETTE[index % PALETTE.length],
    ...spec,
  }));
  let range = options.range || "1d";
  let data = { bucketMs: null, to: 0, series: new Map() }; // dataStreamId → [[ts,avg,min,max]]
  let plot = null;
  let pending = null;
  let redrawQueued = false;

  const figure = element("figure", { class: "chart-widget" });
  const caption = element("figcaption", { id: `${id}-caption` }, options.title);
  const ranges = element("div", {
    class: "chart-ranges",
    role: "radiogroup",
    "aria-label": `Time range of ${options.title}`,
  });
  const plotArea = element("div", {
    class: "chart-plot",
    role: "img",
    "aria-label": `${options.title}: ${specs.map((s) => s.label).join(", ")}`,
  });
  const status = element("p", { class: "chart-status", role: "status" });
  const tableButton = element(
    "button",
    { type: "button", class: "chart-table-toggle", "aria-expanded": "false", "aria-controls": `${id}-table` },
    "Show data table",
  );
  const tableBox = element("div", { class: "chart-table", id: `${id}-table`, hidden: "" });
  figure.append(caption, ranges, plotArea, status, tableButton, tableBox);
  host.replaceChildren(figure);

  const radios = RANGES.map(([value, label]) => {
    const radio = element("button", { type: "button", role: "radio", "data-range": value }, label);
    radio.addEventListener("click", () => setRange(value));
    radio.addEventListener("keydown", (event) => {
      const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
      if (step === undefined) return;
      event.preventDefault();
      const next = radios[(radios.indexOf(radio) + step + radios.length) % radios.length];
      next.focus();
      setRange(next.dataset.range);
    });
    ranges.append(radio);
    return radio;
  });

  function markRange() {
    for (const radio of radios) {
      const checked = radio.dataset.range === range;
      radio.setAttribute("aria-checked", String(checked));
      radio.tabIndex = checked ? 0 : -1;
    }
  }

  // uPlot's columns: x in seconds, then one column per series, gaps as null.
  function columns() {
    const gapMs = data.bucketMs ? 2 * data.bucketMs : LIVE_GAP_MS;
    const step = data.bucketMs || LIVE_GAP_MS / 2;
    const perSeries = specs.map((spec) => {
      const values = new Map();
      let previous = null;
      for (const point of data.series.get(spec.dataStreamId) || []) {
        if (previous !== null && point[0] - previous > gapMs) values.set(previous + step, null);
        values.set(point[0], point[AGGREGATES[spec.aggregate]]);
        previous = point[0];
      }
      return values;
    });
    const times = [...new Set(perSeries.flatMap((values) => [...values.keys()]))].sort((a, b) => a - b);
    return [times.map((ts) => ts / 1000), ...perSeries.map((values) => times.map((ts) => values.get(ts)))];
  }

  function hasPoints() {
    return [...data.series.values()].some((points) => points.length > 0);
  }

  function draw() {
    const width = Math.max(200, plotArea.clientWidth || host.clientWidth || 600);
    const height = options.height || 240;
    const aligned = columns();
    if (plot === null) {
      plot = new uPlot(
        {
          width,
          height,
          legend: { show: true },
          cursor: { drag: { x: false, y: false } },
          scales: { x: { time: true } },
          series: [
            {},
            ...specs.map((spec) => ({
              label: spec.label,
              stroke: spec.color,
              width: 2,
              spanGaps: false,
              value: (_, value) => formatValue(value, spec),
            })),
          ],
          axes: [{}, { size: 56 }],
        },
        aligned,
        plotArea,
      );
    } else {
      plot.setData(aligned);
    }
    status.textContent = hasPoints() ? "" : "No data in this range";
    if (!tableBox.hidden) renderTable();
  }

  function queueDraw() {
    if (redrawQueued) return;
    redrawQueued = true;
    requestAnimationFrame(() => {
      redrawQueued = false;
      draw();
    });
  }

  function renderTable() {
    const table = element("table");
    table.append(element("caption", {}, `${options.title}, ${labelOf(range)}`));
    const head = element("tr");
    head.append(element("th", { scope: "col" }, "Time"));
    for (const spec of specs) {
      for (const name of ["Avg", "Min", "Max"]) head.append(element("th", { scope: "col" }, `${spec.label} ${name}`));
    }
    const thead = element("thead");
    thead.append(head);
    table.append(thead);
    const rows = new Map(); // ts → {dataStreamId: point}
    for (const spec of specs) {
      for (const point of data.series.get(spec.dataStreamId) || []) {
        if (!rows.has(point[0])) rows.set(point[0], new Map());
        rows.get(point[0]).set(spec.dataStreamId, point);
      }
    }
    const body = element("tbody");
    for (const ts of [...rows.keys()].sort((a, b) => a - b)) {
      const row = element("tr");
      row.append(element("th", { scope: "row" }, new Date(ts).toLocaleString()));
      for (const spec of specs) {
        const point = rows.get(ts).get(spec.dataStreamId);
        for (const index of [1, 2, 3]) row.append(element("td", {}, point ? formatValue(point[index], spec) : ""));
      }
      body.append(row);
    }
    table.append(body);
    tableBox.replaceChildren(table);
  }

  function labelOf(value) {
    return RANGES.find(([name]) => name === value)[1];
  }

  async function load() {
    const query = new URLSearchParams({ range, dataStreamIds: specs.map((s) => s.dataStreamId).join(",") });
    const asked = range;
    status.textContent = "Loading…";
    try {
      const answer = await fetch(`${options.url}?${query}`, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      const body = await answer.json();
      if (!answer.ok) throw new Error(body.error ? body.error.message : answer.statusText);
      if (asked !== range) return; // a newer range was chosen meanwhile
      data = {
        bucketMs: body.bucketMs,
        to: body.to,
        series: new Map(body.series.map((series) => [series.dataStreamId, series.points])),
      };
      draw();
    } catch (error) {
      status.textContent = `Chart not loaded: ${error.message}`;
    }
  }

  function setRange(value) {
    if (!RANGES.some(([name]) => name === value)) throw new Error(`unknown range ${value}`);
    range = value;
    markRange();
    pending = load();
    return pending;
  }

  function appendLive(dataStreamId, ts, value) {
    if (!data.series.has(dataStreamId) || typeof value !== "number") return;
    if (range !== "live") {
      // Other ranges re-query once the newest bucket is complete (console.md §4).
      if (ts >= data.to) setRange(range);
      return;
    }
    const points = data.series.get(dataStreamId);
    points.push([ts, value, value, value]);
    const oldest = ts - LIVE_WINDOW_MS;
    while (points.length > MAX_POINTS || (points.length && points[0][0] < oldest)) points.shift();
    queueDraw();
  }

  tableButton.addEventListener("click", () => {
    const show = tableBox.hidden;
    tableBox.hidden = !show;
    tableButton.setAttribute("aria-expanded", String(show));
    tableButton.textContent = show ? "Hide data table" : "Show data table";
    if (show) renderTable();
  });

  const resize = new ResizeObserver(() => {
    if (plot) plot.setSize({ width: Math.max(200, plotArea.clientWidth), height: options.height || 240 });
  });
  resize.observe(plotArea);

  markRange();
  pending = load();
  return {
    appendLive,
    setRange,
    get ready() {
      return pending;
    },
    destroy() {
      resize.disconnect();
      if (plot) plot.destroy();
      host.replaceChildren();
    },
  };
}

/**
 * The Chart as a dashboard widget (the widget module contract, docs/console.md "Dashboard"):
 * every datastream of the widget is a series; values pushed live are appended. The range starts
 * at the widget's setting `range`, else 1d. Properties: label (the caption), isHidden.
 */
export function mount(host, ctx) {
  const datastreams = ctx.datastreams || [ctx.datastream];
  const title = () => host.dataset.title || ctx.settings.title || datastreams.map((ds) => ds.label).join(", ");
  const chart = mountChart(host, {
    url: ctx.device.chartUrl,
    title: title(),
    range: ctx.settings.range || "1d",
    series: datastreams.map((ds) => ({
      dataStreamId: ds.id,
      label: ds.label,
      units: ds.units || undefined,
      decimals: ds.decimals || undefined,
      ...(ds.color ? { color: ds.color } : {}),
    })),
  });
  function setProperty(name, value) {
    if (name === "isHidden") host.classList.toggle("widget-hidden", isTrue(value));
    if (name === "label") {
      host.dataset.title = textOf(value);
      const caption = host.querySelector("figcaption");
      if (caption) caption.textContent = title();
    }
  }
  for (const [name, value] of Object.entries(ctx.properties || {})) setProperty(name, value);
  return {
    update(value, ts, dataStreamId = datastreams[0].id) {
      chart.appendLive(dataStreamId, ts ?? Date.now(), value);
    },
    setProperty,
    setOnline() {},
    get ready() {
      return chart.ready;
    },
    destroy: () => chart.destroy(),
  };
}
