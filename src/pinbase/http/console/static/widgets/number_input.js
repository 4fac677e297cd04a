// The Number Input widget (console.md §2.3 "Number Input", §5.2): a spinbutton named after the
// widget's title between a "Decrease" and an "Increase" button. Each press writes value ∓ step
// once (stopping at min/max, or wrapping round with the setting loop); a typed value is clamped
// to min/max and snapped to the step, then written on Enter or when the field is left. Arrow
// keys step. Properties: label, color, isDisabled, isHidden, min, max, step.

import { card, element, formatNumber, numberOf, start } from "./common.js";

export function mount(host, ctx) {
  const datastream = ctx.datastream;
  const frame = card(host, ctx, "number-input");
  const range = {
    min: datastream.min ?? -Infinity,
    max: datastream.max ?? Infinity,
    step: ctx.settings.step ?? datastream.step ?? 1,
  };
  const loop = ctx.settings.loop === true;
  let value = null;

  const decrease = element("button", { type: "button", class: "number-step", "aria-label": "Decrease" }, "−");
  const field = element("input", { type: "text", inputmode: "decimal", role: "spinbutton", class: "number-control" });
  const increase = element("button", { type: "button", class: "number-step", "aria-label": "Increase" }, "+");
  const units = element("span", { class: "number-units" }, datastream.units || "");
  const row = element("div", { class: "number-row" });
  row.append(decrease, field, increase, units);
  frame.body.append(row);

  function digits() {
    const text = String(range.step);
    return text.includes(".") ? text.length - text.indexOf(".") - 1 : 0;
  }

  function fit(number) {
    const base = Number.isFinite(range.min) ? range.min : 0;
    let next = base + Math.round((number - base) / range.step) * range.step;
    next = Number(next.toFixed(digits()));
    return Math.min(range.max, Math.max(range.min, next));
  }

  function render() {
    field.value = value === null ? "" : formatNumber(value, datastream, { units: false });
    field.placeholder = value === null ? "--" : "";
    field.setAttribute("aria-label", frame.title());
    if (value !== null) field.setAttribute("aria-valuenow", String(value));
    else field.removeAttribute("aria-valuenow");
    field.setAttribute("aria-valuetext", formatNumber(value, datastream));
    if (Number.isFinite(range.min)) field.setAttribute("aria-valuemin", String(range.min));
    if (Number.isFinite(range.max)) field.setAttribute("aria-valuemax", String(range.max));
    for (const control of [decrease, field, increase]) {
      control.setAttribute("aria-disabled", String(frame.disabled()));
    }
    field.readOnly = frame.disabled();
  }

  function write(next) {
    if (frame.disabled()) return;
    value = next;
    render();
    ctx.send(value);
  }

  function step(direction) {
    const from = value ?? (Number.isFinite(range.min) ? range.min : 0);
    let next = Number((from + direction * range.step).toFixed(digits()));
    if (loop && next > range.max && Number.isFinite(range.min)) next = range.min;
    else if (loop && next < range.min && Number.isFinite(range.max)) next = range.max;
    next = Math.min(range.max, Math.max(range.min, next));
    if (next !== value) write(next);
  }

  decrease.addEventListener("click", () => step(-1));
  increase.addEventListener("click", () => step(1));
  field.addEventListener("keydown", (event) => {
    if (event.key === "ArrowUp" || event.key === "ArrowDown") {
      event.preventDefault();
      step(event.key === "ArrowUp" ? 1 : -1);
    } else if (event.key === "Enter") {
      commit();
    }
  });
  field.addEventListener("change", commit);

  function commit() {
    const typed = numberOf(field.value.replace(",", "."));
    if (typed === null) {
      render();
      return;
    }
    const next = fit(typed);
    if (next !== value) write(next);
    else render();
  }

  function update(next) {
    if (document.activeElement === field && field.value !== "" && numberOf(field.value) !== value) {
      return; // the person is typing: keep their text
    }
    value = numberOf(next);
    render();
  }

  function setProperty(name, next) {
    if (frame.setProperty(name, next)) return;
    const number = numberOf(next);
    if (number !== null && (name === "min" || name === "max" || name === "step")) range[name] = number;
    render();
  }

  frame.onChange(render);
  return start(host, ctx, { update, setProperty });
}
