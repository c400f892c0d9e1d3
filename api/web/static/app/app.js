// Small behaviours of every page. No inline scripts (the CSP forbids them): everything is
// wired here from data- attributes.
"use strict";
(function () {
  const serverNow = Date.parse(document.body.dataset.serverNow);
  // Countdowns follow the server's clock, not this browser's: the offset is fixed at load.
  const offsetMs = Number.isNaN(serverNow) ? 0 : serverNow - Date.now();

  function countdownText(ms) {
    if (ms <= 0) return "passed";
    const s = Math.floor(ms / 1000);
    const d = Math.floor(s / 86400);
    const hms = [Math.floor(s / 3600) % 24, Math.floor(s / 60) % 60, s % 60]
      .map((n) => String(n).padStart(2, "0")).join(":");
    return (d > 0 ? d + " d " : "") + hms;
  }

  function tickCountdowns() {
    const now = Date.now() + offsetMs;
    document.querySelectorAll("[data-countdown]").forEach((el) => {
      el.textContent = countdownText(Date.parse(el.dataset.countdown) - now);
    });
  }

  function wire(root) {
    // A form's button works once: a double click cannot send it twice.
    root.querySelectorAll("form").forEach((form) => {
      if (form.dataset.wired) return;
      form.dataset.wired = "1";
      form.addEventListener("submit", () => {
        form.querySelectorAll("[data-once]").forEach((b) => {
          setTimeout(() => { b.disabled = true; }, 0);
        });
      });
    });
    root.querySelectorAll("[data-dialog-open]").forEach((button) => {
      button.addEventListener("click", () => {
        const dialog = document.getElementById(button.dataset.dialogOpen);
        dialog.opener = button;
        dialog.showModal();
      });
    });
    root.querySelectorAll("[data-dialog-close]").forEach((button) => {
      button.addEventListener("click", () => button.closest("dialog").close());
    });
    root.querySelectorAll("dialog").forEach((dialog) => {
      dialog.addEventListener("close", () => { if (dialog.opener) dialog.opener.focus(); });
    });
    root.querySelectorAll("[data-copy]").forEach((button) => {
      button.addEventListener("click", async () => {
        const source = document.getElementById(button.dataset.copy);
        const status = document.getElementById(button.dataset.copyStatus);
        try {
          await navigator.clipboard.writeText(source.textContent.trim());
          if (status) status.textContent = "Copied.";
        } catch (e) {
          if (status) status.textContent = "Copy failed: select the text and copy it.";
        }
      });
    });
    const focus = root.querySelector("[data-focus-on-load]");
    if (focus) focus.focus();
  }

  // An invite link carries its token after "#": browsers never send that part to a
  // server, so it stays out of access logs and Referer headers. Move it into the form,
  // hide the field the person would otherwise paste it into, and drop it from the address.
  function takeInviteToken() {
    const input = document.querySelector("[data-invite-form] input[name=token]:not([type=hidden])");
    const match = /^#token=([^&]+)/.exec(window.location.hash);
    if (!input || !match) return;
    input.value = decodeURIComponent(match[1]);
    input.type = "hidden";
    input.closest(".field").hidden = true;
    const filled = document.getElementById("token-filled");
    if (filled) filled.hidden = false;
    history.replaceState(null, "", window.location.pathname);
  }

  document.addEventListener("DOMContentLoaded", () => {
    takeInviteToken();
    wire(document);
    tickCountdowns();
    setInterval(tickCountdowns, 1000);
  });
})();
