// The Gauge widget (console.md §2.3 "Gauge", §5.2): role="meter" named after the widget's title,
// an arc filled in proportion to the value between the datastream's min and max, the value and
// units printed under it. An empty arc and "--" before any value (§2.4). Properties: label,
// color, isHidden, min, max.

import { card, element, formatNumber, numberOf, start } from "./common.js";

const SVG = "http://www.w3.org/2000/svg";
const ARC = "M 10 60 A 50 50 0 0 1 110 60";

function svg(tag, attributes) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

export function mount(host, ctx) {
  const datastream = ctx.datastream;
  const frame = card(host, ctx, "gauge");
  const range = { min: datastream.min ?? 0, max: datastream.max ?? 100 };
  let value = null;

  const meter = element("div", { role: "meter", class: "gauge-meter" });
  const picture = svg("svg", { viewBox: "0 0 120 70", "aria-hidden": "true", class: "gauge-arc" });
  const track = svg("path", { d: ARC, pathLength: "100", class: "gauge-track" });
  const fill = svg("path", { d: ARC, pathLength: "100", class: "gauge-fill" });
  picture.append(track, fill);
  const text = element("p", { class: "gauge-value" });
  const bounds = element("p", { class: "gauge-bounds", "aria-hidden": "true" });
  meter.append(picture, text, bounds);
  frame.body.append(meter);

  function render() {
    const span = range.max - range.min || 1;
    const share = value === null ? 0 : Math.min(1, Math.max(0, (value - range.min) / span));
    fill.setAttribute("stroke-dasharray", `${share * 100} 100`);
    fill.classList.toggle("gauge-empty", share === 0); // a round cap would draw a dot at zero
    meter.setAttribute("aria-label", frame.title());
    meter.setAttribute("aria-valuemin", String(range.min));
    meter.setAttribute("aria-valuemax", String(range.max));
    meter.setAttribute("aria-valuenow", String(value ?? range.min));
    meter.setAttribute("aria-valuetext", formatNumber(value, datastream));
    text.textContent = formatNumber(value, datastream);
    bounds.textContent = `${formatNumber(range.min, datastream, { units: false })} – ${formatNumber(range.max, datastream, { units: false })}`;
  }

  function update(next) {
    value = numberOf(next);
    render();
  }

  function setProperty(name, next) {
    if (frame.setProperty(name, next)) return;
    const number = numberOf(next);
    if (number !== null && (name === "min" || name === "max")) range[name] = number;
    render();
  }

  frame.onChange(render);
  return start(host, ctx, { update, setProperty });
}
