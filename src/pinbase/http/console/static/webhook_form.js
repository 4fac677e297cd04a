// The webhook editor: shows only the fields of the chosen trigger, content type and
// authorization method. Without this script every field is shown; the server sends only
// those of the chosen options.

const parts = [
  ["w-trigger", "trigger"],
  ["w-content-type", "content"],
  ["w-auth", "auth"],
];

for (const [id, key] of parts) {
  const select = document.getElementById(id);
  if (!select) continue;
  const show = () => {
    for (const part of document.querySelectorAll(`[data-${key}]`)) {
      part.hidden = !part.dataset[key].split(" ").includes(select.value);
    }
  };
  select.addEventListener("change", show);
  show();
}
