// Copy the short link to the clipboard. No framework, no inline script (the CSP forbids it).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const button = document.getElementById("copy");
  if (!button) return;
  const input = document.getElementById(button.dataset.copyTarget);
  const status = document.getElementById("copy-status");
  const label = button.querySelector(".label") || button;
  let reset = null;

  const copied = () => {
    status.textContent = "Short link copied to the clipboard.";
    label.textContent = "Copied";
    clearTimeout(reset);
    reset = setTimeout(() => { label.textContent = "Copy"; }, 2000);
  };

  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(input.value);
      copied();
    } catch {
      // Older browsers, or a page not in a secure context: select and copy.
      input.select();
      if (document.execCommand && document.execCommand("copy")) {
        copied();
      } else {
        status.textContent = "Press Ctrl+C (or ⌘C) to copy the selected link.";
      }
    }
  });
});
