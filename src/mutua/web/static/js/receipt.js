// Copy and download buttons for a ballot receipt: the secret is shown once and never stored
// readable on the server, so the copy and the file are made here, in the member's browser.
(function () {
  "use strict";
  function text(id) {
    var node = document.getElementById(id);
    return node ? node.textContent.trim() : "";
  }
  function say(button, words) {
    var status = document.getElementById("receipt-status");
    if (status) { status.textContent = words; }
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy], [data-download]");
    if (!button) { return; }
    if (button.hasAttribute("data-copy")) {
      var value = text(button.getAttribute("data-copy"));
      if (navigator.clipboard) {
        navigator.clipboard.writeText(value).then(function () {
          say(button, button.getAttribute("data-done"));
        });
      }
      return;
    }
    var lines = button.getAttribute("data-lines").split(",").map(function (id) {
      var label = document.querySelector("[data-label-for='" + id + "']");
      return (label ? label.textContent.trim() + ": " : "") + text(id);
    });
    var blob = new Blob([lines.join("\n") + "\n"], {type: "text/plain;charset=utf-8"});
    var link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = button.getAttribute("data-download");
    document.body.appendChild(link);
    link.click();
    link.remove();
    say(button, button.getAttribute("data-done"));
  });
  document.querySelectorAll("[data-copy], [data-download]").forEach(function (b) {
    b.hidden = false;  // shown only where the script runs
  });
}());
