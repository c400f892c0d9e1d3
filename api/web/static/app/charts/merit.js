// The merit order of one product: EUR/MW against cumulative MW, best price first, as
// stepped lines. Accepted MW solid blue, rejected MW dashed orange (colour and dash);
// vertical rules at the MW cleared to bids (solid black) and at what the fleet can carry
// of the product (dotted green). Data: {x, accepted, rejected, cleared_mw, capability_mw}.
"use strict";
(function () {
  const palette = window.vbaPalette;

  // The fleet's bound is often far beyond the bids: then the x axis ends after the bids and
  // the bound is named at the right edge with an arrow instead of squeezing the curve.
  const FAR = 1.6;

  function xMax(data) {
    const last = data.x.length ? data.x[data.x.length - 1] : 0;
    const bids = Math.max(last, data.cleared_mw, 1);
    return (data.capability_mw <= bids * FAR ? Math.max(bids, data.capability_mw) : bids) * 1.06;
  }

  // A label on a white ground, so that a rule or a line beneath it does not hide it.
  function label(ctx, text, x, y, align, dpr) {
    const w = ctx.measureText(text).width;
    const x0 = align === "right" ? x - w : x;
    ctx.fillStyle = "rgba(255, 255, 255, 0.9)";
    ctx.fillRect(x0 - 2 * dpr, y - 1 * dpr, w + 4 * dpr, 15 * dpr);
    ctx.textAlign = align;
    ctx.fillStyle = "#1b1f24";
    ctx.fillText(text, x, y);
  }

  function rules(u, data) {
    const ctx = u.ctx;
    const dpr = window.devicePixelRatio || 1;
    const { left, top, width, height } = u.bbox;
    const fleet = "fleet " + data.capability_mw.toFixed(3) + " MW";
    const marks = [
      { at: data.cleared_mw, text: "cleared " + data.cleared_mw.toFixed(3) + " MW", colour: "#000000", dash: [] },
      { at: data.capability_mw, text: fleet, colour: palette[2], dash: [2, 4] },
    ];
    ctx.save();
    ctx.font = 12 * dpr + "px system-ui, sans-serif";
    ctx.textBaseline = "top";
    marks.forEach((mark, i) => {
      const y = top + (4 + 18 * i) * dpr;
      if (mark.at > u.scales.x.max) {
        label(ctx, mark.text + " \u2192", left + width - 4 * dpr, y, "right", dpr);
        return;
      }
      const x = Math.round(u.valToPos(mark.at, "x", true));
      ctx.strokeStyle = mark.colour;
      ctx.lineWidth = 2 * dpr;
      ctx.setLineDash(mark.dash.map((d) => d * dpr));
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, top + height);
      ctx.stroke();
      const right = x > left + width * 0.7;
      label(ctx, mark.text, x + (right ? -4 : 4) * dpr, y, right ? "right" : "left", dpr);
    });
    ctx.restore();
  }

  function stepped() {
    return uPlot.paths.stepped({ align: 1 });
  }

  window.vbaCharts.merit = (el, data, width) => {
    const top = data.accepted.concat(data.rejected).reduce((m, v) => (v === null ? m : Math.max(m, v)), 0);
    const opts = {
      width: width,
      height: 260,
      scales: {
        x: { time: false, range: () => [0, xMax(data)] },
        y: { range: () => [0, Math.max(top, 1) * 1.1] },
      },
      axes: [
        { label: "Cumulative MW", stroke: "#1b1f24" },
        { label: "EUR/MW", stroke: "#1b1f24", size: 60 },
      ],
      legend: { live: false },
      cursor: { drag: { x: false, y: false } },
      series: [
        { label: "MW" },
        { label: "Accepted (solid)", stroke: palette[0], width: 2, paths: stepped(), points: { show: false } },
        { label: "Rejected (dashed)", stroke: palette[1], width: 2, dash: [6, 4], paths: stepped(), points: { show: false } },
      ],
      hooks: { draw: [(u) => rules(u, data)] },
    };
    return new uPlot(opts, [data.x, data.accepted, data.rejected], el);
  };
})();
