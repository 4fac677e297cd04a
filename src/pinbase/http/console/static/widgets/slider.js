// The Slider widget (console.md §2.3 "Slider", §5.2): a native range input named after the
// widget's title, with the value and units beside it. While dragging it sends each new value
// (the dashboard runtime throttles `send` to 20 a second and always sends the last one); with
// the setting sendOnReleaseOnly it sends once, on release. Keys: arrows move one step,
// PageUp/PageDown ten, Home/End to min/max. A value from the device moves the handle unless the
// person is dragging it. Properties: label, color, isDisabled, isHidden, min, max, step.

import { card, element, formatNumber, numberOf, start } from "./common.js";

const PAGE_STEPS = 10;

export function mount(host, ctx) {
  const datastream = ctx.datastream;
  const frame = card(host, ctx, "slider");
  const range = {
    min: datastream.min ?? 0,
    max: datastream.max ?? 100,
    step: ctx.settings.step ?? datastream.step ?? 1,
  };
  const releaseOnly = ctx.settings.sendOnReleaseOnly === true;
  let dragging = false;
  let known = false;
  let handed = null; // the last value given to ctx.send, which always sends it in the end

  const input = element("input", { type: "range", class: "slider-control" });
  const output = element("output", { class: "slider-value", "aria-hidden": "true" });
  frame.body.append(input, output);

  function describe() {
    return known ? formatNumber(input.value, datastream) : "--";
  }

  function render() {
    input.min = String(range.min);
    input.max = String(range.max);
    input.step = String(range.step);
    input.setAttribute("aria-label", frame.title());
    input.setAttribute("aria-valuetext", describe());
    input.setAttribute("aria-disabled", String(frame.disabled()));
    input.disabled = false; // stays focusable for explanation (§5.2); input is refused instead
    output.textContent = describe();
  }

  function current() {
    return Number(input.value);
  }

  function send() {
    if (current() === handed) return; // release after a drag: that value is on its way
    handed = current();
    ctx.send(handed);
  }

  function sendNow() {
    known = true;
    render();
    send();
  }

  input.addEventListener("pointerdown", () => {
    dragging = true;
  });
  window.addEventListener("pointerup", () => {
    dragging = false;
  });
  input.addEventListener("input", () => {
    if (frame.disabled()) return;
    known = true;
    render();
    if (!releaseOnly && dragging) send();
  });
  input.addEventListener("change", () => {
    if (frame.disabled()) return;
    sendNow(); // release, or a key: the final value, always
  });
  input.addEventListener("keydown", (event) => {
    if (event.key !== "PageUp" && event.key !== "PageDown") return;
    event.preventDefault(); // browsers move a tenth of the range; console.md §5.2 asks ten steps
    if (frame.disabled()) return;
    const delta = (event.key === "PageUp" ? 1 : -1) * PAGE_STEPS * range.step;
    input.value = String(Math.min(range.max, Math.max(range.min, current() + delta)));
    sendNow();
  });

  function update(value) {
    if (dragging) return;
    known = numberOf(value) !== null;
    input.value = String(known ? numberOf(value) : range.min);
    handed = null; // the device's value: the next move sends, even back to the last sent one
    render();
  }

  function setProperty(name, value) {
    if (frame.setProperty(name, value)) return;
    const number = numberOf(value);
    if (number !== null && (name === "min" || name === "max" || name === "step")) range[name] = number;
    render();
  }

  // A disabled range input would leave the tab order: keys are refused here, the pointer by
  // the stylesheet (.widget-disabled controls take no pointer events).
  input.addEventListener("keydown", (event) => {
    if (frame.disabled() && event.key !== "Tab") event.preventDefault();
  });
  frame.onChange(render);
  render();
  return start(host, ctx, { update, setProperty });
}
