// Charts: every [data-chart] element names a kind; static/app/charts/<kind>.js registers
// window.vbaCharts[kind] = (element, data) => uPlot. Data comes from a JSON script tag.
// Times are Berlin wall time whatever the browser's zone.
"use strict";
window.vbaCharts = window.vbaCharts || {};
window.vbaBerlin = (seconds) => uPlot.tzDate(new Date(seconds * 1e3), "Europe/Berlin");
// Okabe-Ito, safe for colour-blind readers; series also differ by dash.
window.vbaPalette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"];

(function () {
  function draw(root) {
    root.querySelectorAll("[data-chart]").forEach((el) => {
      const render = window.vbaCharts[el.dataset.chart];
      const source = document.getElementById(el.dataset.chartSource);
      if (!render || !source) return;
      el.replaceChildren();
      const width = Math.max(320, Math.min(el.parentElement.clientWidth || 800, 1100));
      render(el, JSON.parse(source.textContent), width);
    });
  }
  document.addEventListener("DOMContentLoaded", () => draw(document));
})();
