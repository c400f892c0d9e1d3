// The state of charge of a wholesale block's schedule: SoC (kWh, solid line) inside its
// band [0, energy] (shaded, dashed edges), the final-SoC target (a diamond at the end),
// the scheduled power (kW, dashed steps, right axis), and "now" and the dispatch gate
// closure as vertical rules when they fall inside the window (the locked timeslots before
// the gate shaded grey). Berlin time on the x axis.
"use strict";
window.vbaCharts = window.vbaCharts || {};
window.vbaCharts.soc = (el, d, width) => {
  const [blue, vermilion, , , orange, , black] = window.vbaPalette;
  const n = d.x.length;
  const target = d.x.map((_, i) => (i === n - 1 ? d.target : null));
  const pad = Math.max(d.energy * 0.06, 1);
  const kwMax = Math.max(d.power_max, 1) * 1.1;

  function band(u) {
    const { ctx } = u;
    const { left, width: w } = u.bbox;
    const top = u.valToPos(d.energy, "kwh", true);
    const bottom = u.valToPos(0, "kwh", true);
    ctx.save();
    ctx.fillStyle = "rgba(0, 114, 178, 0.08)";
    ctx.fillRect(left, top, w, bottom - top);
    ctx.strokeStyle = blue;
    ctx.lineWidth = 1;
    ctx.setLineDash([4, 4]);
    [top, bottom].forEach((y) => {
      ctx.beginPath();
      ctx.moveTo(left, y);
      ctx.lineTo(left + w, y);
      ctx.stroke();
    });
    ctx.restore();
  }

  // The timeslots before the gate closure are locked: shaded grey up to it.
  function locked(u) {
    const [lo, hi] = [u.scales.x.min, u.scales.x.max];
    if (d.gate <= lo) return;
    const { ctx } = u;
    const { left, top, height } = u.bbox;
    const x = u.valToPos(Math.min(d.gate, hi), "x", true);
    ctx.save();
    ctx.fillStyle = "rgba(60, 64, 70, 0.10)";
    ctx.fillRect(left, top, x - left, height);
    ctx.restore();
  }

  function rule(u, seconds, colour, dash, text, row, before) {
    const [lo, hi] = [u.scales.x.min, u.scales.x.max];
    if (seconds < lo || seconds > hi) return;
    const { ctx } = u;
    const x = u.valToPos(seconds, "x", true);
    const { top, height } = u.bbox;
    const px = window.devicePixelRatio || 1;
    ctx.save();
    ctx.strokeStyle = colour;
    ctx.lineWidth = 2 * px;
    ctx.setLineDash(dash.map((v) => v * px));
    ctx.beginPath();
    ctx.moveTo(x, top);
    ctx.lineTo(x, top + height);
    ctx.stroke();
    ctx.fillStyle = colour;
    ctx.font = `${12 * px}px system-ui, sans-serif`;
    ctx.textAlign = before ? "right" : "left";
    ctx.fillText(text, x + (before ? -5 : 5) * px, top + (14 + 16 * row) * px);
    ctx.restore();
  }

  function diamond(u) {
    const x = u.valToPos(d.x[n - 1], "x", true);
    const y = u.valToPos(d.target, "kwh", true);
    const r = 8 * (window.devicePixelRatio || 1);
    const { ctx } = u;
    ctx.save();
    ctx.beginPath();
    ctx.moveTo(x, y - r);
    ctx.lineTo(x + r, y);
    ctx.lineTo(x, y + r);
    ctx.lineTo(x - r, y);
    ctx.closePath();
    ctx.fillStyle = orange;
    ctx.fill();
    ctx.lineWidth = 2;
    ctx.strokeStyle = black;
    ctx.stroke();
    ctx.restore();
  }

  const pad2 = (v) => String(v).padStart(2, "0");
  // 24-hour Berlin wall time, whatever the browser's zone and locale.
  const hhmm = (seconds) => {
    const t = window.vbaBerlin(seconds);
    return `${pad2(t.getHours())}:${pad2(t.getMinutes())}`;
  };
  // The page's number format: a thin space between thousands.
  const num = (v) => {
    const [int, dec] = Math.abs(v).toFixed(v % 1 ? 1 : 0).split(".");
    const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, "\u2009");
    return (v < 0 ? "\u2212" : "") + grouped + (dec ? "." + dec : "");
  };
  const ticks = (u, splits) => splits.map(num);

  const opts = {
    width,
    height: 340,
    tzDate: window.vbaBerlin,
    scales: {
      x: { time: true },
      kwh: { range: [-pad, d.energy + pad] },
      kw: { range: [-kwMax, kwMax] },
    },
    axes: [
      { label: `Berlin time (${d.zone})`, values: (u, splits) => splits.map(hhmm) },
      { scale: "kwh", label: "SoC (kWh)", size: 70, values: ticks },
      { scale: "kw", side: 1, label: "Power (kW)", size: 70, values: ticks, grid: { show: false } },
    ],
    series: [
      { label: "Time (Berlin)" },
      { label: "SoC (kWh)", scale: "kwh", stroke: blue, width: 2.5, points: { show: false } },
      {
        label: "Scheduled power (kW, + discharge, − charge)",
        scale: "kw",
        stroke: vermilion,
        width: 1.5,
        dash: [6, 4],
        paths: uPlot.paths.stepped({ align: 1 }),
        points: { show: false },
      },
      {
        label: "Final SoC target (kWh)",
        scale: "kwh",
        stroke: black,
        width: 2,
        fill: orange,
        paths: () => null,
        points: { show: false },
      },
    ],
    legend: { live: false },
    cursor: { drag: { x: false, y: false } },
    hooks: {
      drawClear: [band, locked],
      draw: [
        diamond,
        (u) => rule(u, d.now, black, [2, 3], "now", 0, true),
        (u) => rule(u, d.gate, vermilion, [8, 4], "gate closure", 1, false),
      ],
    },
  };
  return new uPlot(opts, [d.x, d.soc, d.power, target], el);
};
