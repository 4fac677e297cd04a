// What every dashboard widget shares (console.md §2.2, §2.4, §5.2): its card (title, body), the
// universal properties label, color, isDisabled and isHidden, and value formatting with the
// datastream's decimals and units. Widget modules (switch.js, slider.js, …) build on `card`.

export function element(tag, attributes = {}, text = "") {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
}

// Blynk's property booleans: true/false, True/False, 1/0 (console.md §2.2).
export function isTrue(value) {
  const text = Array.isArray(value) ? value[0] : value;
  return text === true || text === 1 || ["true", "1"].includes(String(text).toLowerCase());
}

// A property's number ("12.5"), or null when it holds none.
export function numberOf(value) {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === null || text === undefined || text === "") return null;
  const number = Number(text);
  return Number.isFinite(number) ? number : null;
}

export function textOf(value) {
  return Array.isArray(value) ? value.join(", ") : String(value ?? "");
}

// Digits after the point of a Blynk decimals pattern ("#.##" → 2), or null for none given.
export function digitsOf(pattern) {
  if (!pattern) return null;
  const point = pattern.indexOf(".");
  return point < 0 ? 0 : pattern.length - point - 1;
}

// A number as the datastream shows it: its decimals, then its units ("21.5 °C"); "--" for none.
export function formatNumber(value, datastream, { units = true } = {}) {
  if (value === null || value === undefined || value === "") return "--";
  const number = Number(value);
  if (!Number.isFinite(number)) return String(value);
  const digits = digitsOf(datastream.decimals);
  const text = digits === null ? String(Math.round(number * 1000) / 1000) : number.toFixed(digits);
  return units && datastream.units ? `${text} ${datastream.units}` : text;
}

/**
 * The frame of a widget in `host`: a title and a body, with the universal properties applied.
 *
 * Returns {root, body, title(), disabled(), setProperty(name, value) → whether it was one of
 * label/color/isDisabled/isHidden, onChange(callback)}: `onChange` callbacks run after a title
 * or disabled change, so the widget renews its accessible name and state.
 */
export function card(host, ctx, kind) {
  const datastream = ctx.datastream;
  const root = element("section", { class: `widget widget-${kind}` });
  const heading = element("h3", { class: "widget-title" });
  const body = element("div", { class: "widget-body" });
  root.append(heading, body);
  host.replaceChildren(root);
  const state = {
    title: ctx.settings.title || datastream.label,
    disabled: false,
  };
  const listeners = [];
  const changed = () => listeners.forEach((listener) => listener());

  function render() {
    heading.textContent = state.title;
    root.classList.toggle("widget-disabled", state.disabled);
  }

  function setColor(color) {
    if (color) root.style.setProperty("--widget-color", color);
    else root.style.removeProperty("--widget-color");
  }

  function setProperty(name, value) {
    switch (name) {
      case "label":
        state.title = textOf(value) || ctx.settings.title || datastream.label;
        break;
      case "color":
        setColor(textOf(value));
        break;
      case "isDisabled":
        state.disabled = isTrue(value);
        break;
      case "isHidden":
        // The cell stays, empty: firmware toggling isHidden must not reflow the layout (§2.2).
        host.classList.toggle("widget-hidden", isTrue(value));
        return true;
      default:
        return false;
    }
    render();
    changed();
    return true;
  }

  setColor(ctx.settings.color || datastream.color);
  render();
  return {
    root,
    body,
    title: () => state.title,
    disabled: () => state.disabled,
    setProperty,
    onChange(listener) {
      listeners.push(listener);
    },
  };
}

/**
 * Finish mounting a card widget: apply the properties and show the value it was mounted with,
 * through its own `setProperty` and `update`, and return the handle dashboard.js drives.
 * Cards have nothing to show offline (the dashboard greys the page), and are gone once `host`
 * is emptied.
 */
export function start(host, ctx, { update, setProperty }) {
  for (const [name, value] of Object.entries(ctx.properties || {})) setProperty(name, value);
  update(ctx.value);
  return {
    update,
    setProperty,
    setOnline() {},
    destroy() {
      host.replaceChildren();
    },
  };
}
