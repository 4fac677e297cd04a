// The Segmented Switch widget (console.md §2.3 "Segmented Switch", §5.2): a radiogroup whose
// radios are named by the option labels; choosing one writes its value.
//
// Widget contract (BRIEF phase B): `mount(element, ctx)` returns
// `{update(value, ts), setProperty(name, value), setOnline(online), destroy()}`.
// Options, at most 10 (console.md §2.3):
//   - an Enum datastream (`ctx.datastream.options`, its enum rows): one option per row, sending
//     the row's incoming integer (console.md's recommendation);
//   - an Integer datastream: the configured labels (`ctx.settings.labels`, or the `labels`
//     property), sending the index 0…n−1 (the app's rule); without labels, one option per
//     integer from `min` (at least 0) to `max`, sending that integer.
// The `labels` property relabels the options in order. A value matching no option selects
// nothing. Arrow keys move between the radios and send, as native radios do.

export const MAX_OPTIONS = 10;

let mounted = 0;

function truthy(value) {
  return value === true || value === 1 || ["true", "True", "1"].includes(String(value));
}

function optionsOf(datastream, labels) {
  const rows = Array.isArray(datastream.options) ? datastream.options : [];
  if (rows.length > 0) {
    return rows.slice(0, MAX_OPTIONS).map((row, index) => ({
      value: Number(row.value),
      label: labels?.[index] ?? String(row.label),
    }));
  }
  if (Array.isArray(labels) && labels.length > 0) {
    return labels.slice(0, MAX_OPTIONS).map((label, index) => ({ value: index, label: String(label) }));
  }
  const low = Math.max(0, Math.ceil(Number(datastream.min ?? 0)));
  const high = Math.min(low + MAX_OPTIONS - 1, Math.floor(Number(datastream.max ?? 1)));
  const options = [];
  for (let value = low; value <= Math.max(high, low + 1); value++) options.push({ value, label: String(value) });
  return options;
}

/**
 * Mount a segmented switch in `element`.
 * @param {HTMLElement} element
 * @param {object} ctx the widget context (see the module comment)
 */
export function mount(element, ctx) {
  const id = `segmented-${++mounted}`;
  const datastream = ctx.datastream || {};
  const settings = ctx.settings || {};
  let labels = Array.isArray(ctx.properties?.labels) ? ctx.properties.labels : settings.labels;
  let options = optionsOf(datastream, labels);
  let current = ctx.value ?? null;
  let disabled = false;

  const root = document.createElement("div");
  root.className = "segmented-widget";
  const title = document.createElement("span");
  title.className = "segmented-title";
  title.id = `${id}-title`;
  const group = document.createElement("div");
  group.className = "segmented-options";
  group.setAttribute("role", "radiogroup");
  group.setAttribute("aria-labelledby", `${id}-title`);
  root.append(title, group);
  element.replaceChildren(root);

  function setLabel(label) {
    title.textContent = label;
    // A blank title hides it (console.md §2.3); the group keeps it as its name (aria-labelledby
    // names from hidden elements too).
    title.hidden = settings.title === "";
  }
  setLabel(settings.title || datastream.label || datastream.name || "Segmented Switch");

  function setColor(color) {
    if (color) root.style.setProperty("--segment-color", color);
  }
  setColor(settings.color || datastream.color);

  function select(value) {
    current = value;
    for (const radio of group.querySelectorAll("input")) {
      radio.checked = value !== null && Number(radio.value) === Number(value);
    }
  }

  function render() {
    group.replaceChildren(
      ...options.map((option) => {
        const segment = document.createElement("label");
        segment.className = "segment";
        const radio = document.createElement("input");
        radio.type = "radio";
        radio.name = id;
        radio.value = String(option.value);
        const name = document.createElement("span");
        name.textContent = option.label;
        segment.append(radio, name);
        return segment;
      }),
    );
    select(current);
  }

  group.addEventListener("change", (event) => {
    const radio = event.target;
    if (disabled) {
      select(current); // refused: the previous choice stays
      return;
    }
    current = Number(radio.value);
    ctx.send(current);
  });

  render();

  const widget = {
    update(value) {
      select(value);
    },
    setProperty(name, value) {
      if (name === "label") setLabel(String(value));
      else if (name === "color") setColor(String(value));
      else if (name === "isHidden") root.hidden = truthy(value);
      else if (name === "labels") {
        labels = Array.isArray(value) ? value.map(String) : [String(value)];
        options = optionsOf(datastream, labels);
        render();
      } else if (name === "isDisabled") {
        disabled = truthy(value);
        // Still focusable, so a person learns why it does not change (console.md §5.2).
        group.setAttribute("aria-disabled", String(disabled));
        root.classList.toggle("widget-disabled", disabled);
      }
    },
    setOnline(online) {
      root.classList.toggle("widget-offline", !online);
    },
    destroy() {
      root.remove();
    },
  };
  for (const [name, value] of Object.entries(ctx.properties || {})) {
    if (name !== "labels") widget.setProperty(name, value);
  }
  return widget;
}
