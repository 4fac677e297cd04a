// "Copy" buttons: <button data-copy="ID"> copies the text of the element ID.
// navigator.clipboard needs a secure context (https or localhost); elsewhere the text is
// selected so that Ctrl+C / long-press copies it, and the status line says so.

function selectText(element) {
  const range = document.createRange();
  range.selectNodeContents(element);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}

async function copy(button) {
  const source = document.getElementById(button.dataset.copy);
  const status = button.parentElement.querySelector(".copy-status");
  if (!source) return;
  const text = source.textContent;
  try {
    if (!navigator.clipboard || !window.isSecureContext) throw new Error("no clipboard");
    await navigator.clipboard.writeText(text);
    if (status) status.textContent = "Copied.";
  } catch {
    selectText(source);
    source.focus();
    if (status) status.textContent = "Selected: press Ctrl+C (⌘C) to copy.";
  }
}

for (const button of document.querySelectorAll("button[data-copy]")) {
  button.addEventListener("click", () => copy(button));
}
