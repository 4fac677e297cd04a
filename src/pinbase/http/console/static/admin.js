// The administration pages (users, organizations, developer): Copy buttons for a link or
// secret shown once, and a confirmation before a form that deletes something. The pages work
// without this script: the field can be selected and copied by hand, and forms post unasked.

/** Copy the text of the field a button names (data-copy) and say so in the status line. */
async function copy(button) {
  const field = document.getElementById(button.dataset.copy);
  if (!field) return;
  let copied = false;
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(field.value);
      copied = true;
    } catch {
      copied = false;
    }
  }
  if (!copied) {
    // Plain http on another host is no secure context: fall back to the selection.
    field.select();
    copied = document.execCommand("copy");
  }
  const status = [...document.querySelectorAll("[data-copied-for]")].find((element) =>
    element.dataset.copiedFor.split(" ").includes(field.id),
  );
  if (status) {
    const label = document.querySelector(`label[for="${field.id}"]`);
    const what = label ? label.textContent.trim() : "Text";
    status.textContent = copied ? `${what} copied.` : `Select the ${what.toLowerCase()} and copy it.`;
  }
}

for (const button of document.querySelectorAll("button[data-copy]")) {
  button.addEventListener("click", () => copy(button));
}

for (const form of document.querySelectorAll("form[data-confirm]")) {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}
