// The Devices page's bulk action (console.md "Bulk actions"): the "Add to Segment" bar stays
// out of the way until a row is selected, then says how many are; a box in the table's head
// selects every row shown. Without this script the bar is always shown and works the same.

const form = document.getElementById("bulk");
const bar = form && form.querySelector("fieldset.bulk");
const count = form && form.querySelector(".bulk-count");
const all = document.getElementById("select-all");

/** The row boxes: they live in the table, outside the form, tied to it by form="bulk". */
function boxes() {
  return [...document.querySelectorAll('input[type="checkbox"][form="bulk"][name="device"]')];
}

function update() {
  const rows = boxes();
  const chosen = rows.filter((box) => box.checked).length;
  bar.hidden = chosen === 0;
  count.textContent = chosen === 1 ? "1 device selected." : `${chosen} devices selected.`;
  all.checked = chosen > 0 && chosen === rows.length;
  all.indeterminate = chosen > 0 && chosen < rows.length;
}

if (form && bar && count && all) {
  all.hidden = false;
  all.addEventListener("change", () => {
    for (const box of boxes()) box.checked = all.checked;
    update();
  });
  for (const box of boxes()) box.addEventListener("change", update);
  update();
}
