// The automation editor: shows only the fields of the chosen "When" condition. Without this
// script every condition's fields are shown, and the server reads those of the chosen kind.

const kind = document.querySelector("select[data-condition-kind]");

function showChosen() {
  for (const part of document.querySelectorAll("[data-when]")) {
    part.hidden = part.dataset.when !== kind.value;
  }
}

if (kind) {
  kind.addEventListener("change", showChosen);
  showChosen();
}
