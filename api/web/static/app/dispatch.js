// The schedule editor: a range fill and a count of the timeslots changed (not yet sent).
// The server decides; nothing here checks a rule of the schedule.
"use strict";
(function () {
  function wire() {
    const form = document.querySelector("form[data-schedule]");
    if (!form) return;
    const inputs = Array.from(form.querySelectorAll("input[data-slot]"));
    const counter = document.getElementById("changed-count");
    const status = document.getElementById("fill-status");

    function mark() {
      let n = 0;
      inputs.forEach((input) => {
        const changed = !input.disabled && input.value !== input.dataset.stored;
        input.classList.toggle("changed", changed);
        const kw = Number(input.value);
        input.classList.toggle("discharge", kw > 0);
        input.classList.toggle("charge", kw < 0);
        if (changed) n += 1;
      });
      if (counter) {
        counter.textContent = n === 0
          ? "No timeslot changed yet: only the timeslots you change are sent."
          : `${n} timeslot${n === 1 ? "" : "s"} changed (bold), not yet submitted.`;
      }
    }

    const button = document.getElementById("fill-button");
    if (button) {
      button.addEventListener("click", () => {
        const from = document.getElementById("fill-from");
        const to = document.getElementById("fill-to");
        const raw = document.getElementById("fill-kw").value.trim().replace("\u2212", "-");
        if (!/^[+-]?\d+$/.test(raw)) {
          status.textContent = "Enter a whole number of kW to fill with.";
          return;
        }
        const kw = String(Number(raw));
        let lo = Number(from.value), hi = Number(to.value);
        if (lo > hi) [lo, hi] = [hi, lo];
        let n = 0;
        inputs.forEach((input) => {
          const k = Number(input.dataset.slot);
          if (k >= lo && k <= hi && !input.disabled) {
            input.value = kw;
            n += 1;
          }
        });
        mark();
        const first = form.querySelector(`option[value="${lo}"]`).textContent;
        const last = form.querySelector(`option[value="${hi}"]`).textContent;
        status.textContent = `Filled ${n} timeslot${n === 1 ? "" : "s"}, ${first} to ${last}, with ${kw} kW. Click Submit Schedule to send.`;
      });
    }
    form.addEventListener("input", mark);
    mark();
  }
  document.addEventListener("DOMContentLoaded", wire);
})();
