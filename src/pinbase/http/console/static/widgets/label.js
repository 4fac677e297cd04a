// The Label widget (console.md §2.3 "Label"): the current value of any datastream type, with
// its decimals and units; an Enum value by its option's label and colour, a Location as
// latitude, longitude. "--" before any value (§2.4). Properties: label, color, isHidden.

import { card, element, formatNumber, start } from "./common.js";

export function mount(host, ctx) {
  const datastream = ctx.datastream;
  const frame = card(host, ctx, "label");
  const text = element("p", { class: "label-value" });
  frame.body.append(text);
  if (ctx.settings.alignment === "right") text.classList.add("align-right");

  function describe(value) {
    if (value === null || value === undefined) return { text: "--", color: null };
    switch (datastream.type) {
      case "ENUM": {
        const option = datastream.options.find((item) => item.value === Number(value));
        return option ? { text: option.label, color: option.color } : { text: String(value), color: null };
      }
      case "LOCATION":
        return Array.isArray(value) ? { text: `${value[1]}, ${value[0]}`, color: null } : { text: String(value), color: null };
      case "STRING":
        return { text: String(value), color: null };
      default:
        return { text: formatNumber(value, datastream), color: null };
    }
  }

  function update(value) {
    const shown = describe(value);
    text.textContent = shown.text;
    if (shown.color) text.style.setProperty("--value-color", shown.color);
    else text.style.removeProperty("--value-color");
  }

  return start(host, ctx, { update, setProperty: (name, value) => frame.setProperty(name, value) });
}
