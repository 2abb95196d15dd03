// Copy the short link to the clipboard. No framework, no inline script (the CSP forbids it).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const button = document.getElementById("copy");
  if (!button) return;
  const input = document.getElementById(button.dataset.copyTarget);
  const status = document.getElementById("copy-status");

  const done = (message) => {
    status.textContent = message;
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = "Copy"; }, 2000);
  };

  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(input.value);
      done("Short link copied to the clipboard.");
    } catch {
      // Older browsers, or a page not in a secure context: select and copy.
      input.select();
      const ok = document.execCommand && document.execCommand("copy");
      status.textContent = ok ? "Short link copied to the clipboard." : "Press Ctrl+C to copy the selected link.";
    }
  });
});
