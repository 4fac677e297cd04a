// The Terminal widget (console.md §2.3 "Terminal", §5.2): the lines a String datastream
// received, and an input that writes a line to it.
//
// Widget contract (BRIEF phase B): `mount(element, ctx)` returns
// `{update(value, ts), setProperty(name, value), setOnline(online), destroy()}`.
// Besides the common `ctx`, the Terminal reads:
//   - `ctx.settings`: `title` (default: the datastream's label), `newLine` (each update starts
//     a new line; default true; false appends to the last line), `autoScroll` (default true),
//     `showInput` (default true), `screenColor`, `textColor`;
//   - `ctx.recentUrl` (optional): the console's recent-values endpoint,
//     `/dashboard/api/devices/{deviceId}/datastreams/{dataStreamId}/recent`, answering
//     `{"values": [{"ts", "value"}, …]}` oldest first (the last 100 stored values), so a reload
//     shows the recent lines. Without it the current value (`ctx.value`) is the one line shown.
// A value `clr` clears the screen (firmware `terminal.clear()`, lib: src/WidgetTerminal.h).
// Typed lines are sent on Enter, at most 255 characters each (Blynk's terminal message limit);
// the device's and the writer's own echo come back through `update`.

export const CLEAR = "clr";
export const MAX_MESSAGE_CHARS = 255;
const MAX_LINES = 1000; // lines kept on screen: a long-running terminal stays light

let mounted = 0;

function truthy(value) {
  return value === true || value === 1 || ["true", "True", "1"].includes(String(value));
}

function text(value) {
  if (value === null || value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/**
 * Mount a terminal in `element`.
 * @param {HTMLElement} element
 * @param {object} ctx the widget context (see the module comment)
 */
export function mount(element, ctx) {
  const id = `terminal-${++mounted}`;
  const datastream = ctx.datastream || {};
  const settings = ctx.settings || {};
  const newLine = settings.newLine !== false;
  const autoScroll = settings.autoScroll !== false;
  let disabled = false;
  let firstLiveTs = null; // live updates newer than the history read at mount

  const root = document.createElement("section");
  root.className = "terminal-widget";
  root.setAttribute("aria-labelledby", `${id}-title`);
  const title = document.createElement("h3");
  title.id = `${id}-title`;
  const screen = document.createElement("div");
  screen.className = "terminal-screen";
  screen.setAttribute("role", "log");
  screen.setAttribute("aria-live", "polite");
  screen.setAttribute("aria-labelledby", `${id}-title`);
  screen.tabIndex = 0; // scrollable by keyboard (console.md §5.2)
  if (settings.screenColor) screen.style.background = settings.screenColor;
  if (settings.textColor) screen.style.color = settings.textColor;

  const form = document.createElement("div");
  form.className = "terminal-input";
  const inputLabel = document.createElement("label");
  inputLabel.htmlFor = `${id}-input`;
  const input = document.createElement("input");
  input.id = `${id}-input`;
  input.type = "text";
  input.maxLength = MAX_MESSAGE_CHARS;
  input.autocomplete = "off";
  input.spellcheck = false;
  form.append(inputLabel, input);
  form.hidden = settings.showInput === false;
  root.append(title, screen, form);
  element.replaceChildren(root);

  function setLabel(label) {
    title.textContent = label;
    inputLabel.textContent = label;
  }
  setLabel(settings.title || datastream.label || datastream.name || "Terminal");

  function scroll() {
    if (autoScroll) screen.scrollTop = screen.scrollHeight;
  }

  function show(value) {
    const line = text(value);
    if (line === CLEAR) {
      screen.replaceChildren();
      return;
    }
    const last = screen.lastElementChild;
    if (!newLine && last) {
      last.textContent += line;
    } else {
      const row = document.createElement("div");
      row.className = "terminal-line";
      row.textContent = line;
      screen.append(row);
      while (screen.childElementCount > MAX_LINES) screen.firstElementChild.remove();
    }
  }

  function showRecent(values) {
    // History goes before whatever arrived live meanwhile: render it apart, then put it first.
    const live = [...screen.children];
    screen.replaceChildren();
    for (const entry of values) {
      if (firstLiveTs !== null && entry.ts >= firstLiveTs) break;
      show(entry.value);
    }
    screen.append(...live);
    scroll();
  }

  input.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    const line = input.value.slice(0, MAX_MESSAGE_CHARS);
    if (disabled || line === "") return;
    ctx.send(line);
    input.value = "";
  });

  if (ctx.recentUrl) {
    fetch(ctx.recentUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((answer) => (answer.ok ? answer.json() : { values: [] }))
      .then((body) => showRecent(Array.isArray(body.values) ? body.values : []))
      .catch(() => {}); // the screen then starts empty, as after `clr`
  } else if (ctx.value !== null && ctx.value !== undefined) {
    show(ctx.value);
  }

  const widget = {
    update(value, ts) {
      if (firstLiveTs === null) firstLiveTs = typeof ts === "number" ? ts : Date.now();
      show(value);
      scroll();
    },
    setProperty(name, value) {
      if (name === "label") setLabel(text(value));
      else if (name === "color") screen.style.color = text(value);
      else if (name === "isHidden") root.hidden = truthy(value);
      else if (name === "isDisabled") {
        disabled = truthy(value);
        // Still focusable, so a person learns why it does not type (console.md §5.2).
        input.readOnly = disabled;
        input.setAttribute("aria-disabled", String(disabled));
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
  for (const [name, value] of Object.entries(ctx.properties || {})) widget.setProperty(name, value);
  return widget;
}
