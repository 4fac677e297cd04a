// The LED widget (console.md §2.3 "LED", §5.2): a lamp whose brightness scales from the
// datastream's min (off) to its max (fully on); firmware's WidgetLED writes 0…255. role="img"
// with "on"/"off" in its name, never colour alone; an outline and "no data" before any value.
// Properties: label, color, isHidden.

import { card, element, numberOf, start } from "./common.js";

export function mount(host, ctx) {
  const datastream = ctx.datastream;
  const frame = card(host, ctx, "led");
  const low = datastream.min ?? 0;
  const high = datastream.max ?? (datastream.type === "BOOL" ? 1 : 255);
  let level = null;

  const lamp = element("span", { role: "img", class: "led-lamp" });
  const text = element("span", { class: "led-text", "aria-hidden": "true" });
  frame.body.append(lamp, text);

  function render() {
    const state = level === null ? "no data" : level > 0 ? "on" : "off";
    lamp.style.setProperty("--led-level", String(level ?? 0));
    lamp.classList.toggle("led-unknown", level === null);
    lamp.setAttribute("aria-label", `${frame.title()}: ${state}`);
    text.textContent = state;
  }

  function update(value) {
    const number = value === true ? high : value === false ? low : numberOf(value);
    level = number === null ? null : Math.min(1, Math.max(0, (number - low) / (high - low || 1)));
    render();
  }

  frame.onChange(render);
  return start(host, ctx, { update, setProperty: (name, value) => frame.setProperty(name, value) });
}
