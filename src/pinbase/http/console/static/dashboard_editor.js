// The Web Dashboard tab's preview grid (templates_pages.py, dashboard_form.html).
// Places each widget on the 12-column grid from its row of the layout form, follows the form's
// x / y / w / h inputs, and lets the keyboard move (arrows) and resize (Shift + arrows) the
// focused widget by changing those inputs. The form stays the editor: Save layout stores it.

const COLUMNS = 12;
const preview = document.getElementById("grid-preview");

function input(row, name) {
  return document.querySelector(`fieldset.widget-row[data-row="${row}"] [data-coord="${name}"]`);
}

function read(row) {
  const value = (name) => Number.parseInt(input(row, name)?.value ?? "", 10);
  return { x: value("x"), y: value("y"), w: value("w"), h: value("h") };
}

function place(tile) {
  const { x, y, w, h } = read(tile.dataset.row);
  if ([x, y, w, h].some((n) => Number.isNaN(n))) return;
  tile.style.gridColumn = `${Math.min(x, COLUMNS - 1) + 1} / span ${Math.max(1, Math.min(w, COLUMNS - x))}`;
  tile.style.gridRow = `${y + 1} / span ${Math.max(1, h)}`;
  tile.dataset.place = `x ${x}, y ${y}, ${w} by ${h}`;
  tile.setAttribute("title", tile.dataset.place);
}

function nudge(tile, key, resize) {
  const row = tile.dataset.row;
  const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
  const [dx, dy] = moves[key];
  const names = resize ? ["w", "h"] : ["x", "y"];
  const now = read(row);
  const next = { ...now };
  next[names[0]] += dx;
  next[names[1]] += dy;
  if (next.x < 0 || next.y < 0 || next.w < 1 || next.h < 1 || next.x + next.w > COLUMNS) return;
  for (const name of names) input(row, name).value = String(next[name]);
  place(tile);
  const status = document.getElementById("grid-status");
  if (status) status.textContent = `${tile.getAttribute("aria-label").trim()}: ${tile.dataset.place}`;
}

if (preview) {
  const tiles = [...preview.querySelectorAll(".grid-widget")];
  tiles.forEach(place);
  const status = document.createElement("p");
  status.id = "grid-status";
  status.className = "visually-hidden";
  status.setAttribute("role", "status");
  preview.after(status);
  preview.addEventListener("keydown", (event) => {
    const tile = event.target.closest(".grid-widget");
    if (!tile || !input(tile.dataset.row, "x")) return;
    if (!["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown"].includes(event.key)) return;
    event.preventDefault();
    nudge(tile, event.key, event.shiftKey);
  });
  document.addEventListener("input", (event) => {
    const fieldset = event.target.closest?.("fieldset.widget-row");
    if (!fieldset) return;
    const tile = preview.querySelector(`.grid-widget[data-row="${fieldset.dataset.row}"]`);
    if (tile) place(tile);
  });
}
