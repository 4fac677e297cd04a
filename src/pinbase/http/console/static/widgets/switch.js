// The Switch widget (console.md §2.3 "Switch", §5.2): a button with role="switch" named after
// the widget's title (the datastream's label unless the `label` property says otherwise). Each
// press flips it and writes ON VALUE or OFF VALUE once; any value other than ON VALUE shows off.
// Properties: label, color, isDisabled, isHidden, onLabel, offLabel.

import { card, element, start, textOf } from "./common.js";

export function mount(host, ctx) {
  const datastream = ctx.datastream;
  const frame = card(host, ctx, "switch");
  const isBool = datastream.type === "BOOL";
  const onValue = ctx.settings.onValue ?? (isBool ? true : 1);
  const offValue = ctx.settings.offValue ?? (isBool ? false : 0);
  const labels = { on: ctx.settings.onLabel || "ON", off: ctx.settings.offLabel || "OFF" };
  let checked = false;
  let known = false;

  const button = element("button", { type: "button", role: "switch", class: "switch-control" });
  const knob = element("span", { class: "switch-track", "aria-hidden": "true" });
  const text = element("span", { class: "switch-text" });
  const caption = element("span", { class: "widget-caption" });
  button.append(knob, text);
  frame.body.append(button, caption);

  function same(a, b) {
    return a === b || Number(a) === Number(b);
  }

  function render() {
    button.setAttribute("aria-checked", String(checked));
    button.setAttribute("aria-label", frame.title());
    button.setAttribute("aria-disabled", String(frame.disabled()));
    text.textContent = checked ? labels.on : labels.off;
    caption.textContent = known ? "" : "No data";
  }

  button.addEventListener("click", () => {
    if (frame.disabled()) return;
    checked = !checked;
    known = true;
    render();
    ctx.send(checked ? onValue : offValue);
  });

  function update(value) {
    known = value !== null && value !== undefined;
    checked = known && same(value, onValue);
    render();
  }

  function setProperty(name, value) {
    if (frame.setProperty(name, value)) return;
    if (name === "onLabel") labels.on = textOf(value) || "ON";
    else if (name === "offLabel") labels.off = textOf(value) || "OFF";
    render();
  }

  frame.onChange(render);
  return start(host, ctx, { update, setProperty });
}
