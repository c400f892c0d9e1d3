// Clearing prices per product (kind "prices"): the volume-weighted accepted price as a bar,
// the lowest accepted price as a downward triangle and the highest as an upward one, so
// that shape tells them apart as well as colour. Data: {products, lowest, average, highest}
// in EUR/MW (null where a product accepted nothing). The table beside it has the numbers.
"use strict";
(function () {
  window.vbaCharts = window.vbaCharts || {};

  function euro(u, value) {
    return value == null ? "—" : value.toFixed(2) + " EUR/MW";
  }

  function triangle(ctx, x, y, r, up) {
    const h = up ? -r : r;
    ctx.beginPath();
    ctx.moveTo(x - r, y - h / 2);
    ctx.lineTo(x + r, y - h / 2);
    ctx.lineTo(x, y + h);
    ctx.closePath();
  }

  window.vbaCharts.prices = (el, data, width) => {
    const palette = window.vbaPalette;
    const n = data.products.length;
    const xs = data.products.map((_, i) => i);
    const ys = [...data.lowest, ...data.average, ...data.highest].filter((v) => v != null);
    const top = ys.length ? Math.max(...ys) : 1;
    // [series index, colour, points up?]
    const markers = [[2, palette[1], false], [3, palette[2], true]];

    function drawMarkers(u) {
      const ctx = u.ctx;
      const r = 7 * uPlot.pxRatio;
      ctx.save();
      ctx.lineWidth = 1.5 * uPlot.pxRatio;
      markers.forEach(([s, colour, up]) => {
        if (!u.series[s].show) return;
        u.data[s].forEach((value, i) => {
          if (value == null) return;
          const x = u.valToPos(i, "x", true);
          const y = u.valToPos(value, "y", true);
          triangle(ctx, x, y, r, up);
          ctx.fillStyle = colour;
          ctx.strokeStyle = "#000000";
          ctx.fill();
          ctx.stroke();
        });
      });
      ctx.restore();
    }

    const opts = {
      width: width,
      height: 340,
      scales: {
        x: { time: false, range: [-0.5, n - 0.5] },
        y: { range: () => [0, top * 1.12] },
      },
      axes: [
        {
          splits: () => xs,
          values: (u, splits) => splits.map((i) => data.products[i] ?? ""),
          rotate: -35,
          size: 100,
          gap: 4,
        },
        { label: "EUR/MW", size: 70, values: (u, splits) => splits.map((v) => v.toFixed(0)) },
      ],
      series: [
        { label: "Product", value: (u, i) => (i == null ? "—" : data.products[i]) },
        {
          label: "Volume-weighted (bar)",
          stroke: palette[0],
          fill: palette[0] + "80",
          width: 1,
          paths: uPlot.paths.bars({ size: [0.55, 70] }),
          points: { show: false },
          value: euro,
        },
        {
          label: "Lowest accepted (▼)",
          stroke: palette[1],
          paths: () => null,
          points: { show: false },
          value: euro,
        },
        {
          label: "Highest accepted (▲)",
          stroke: palette[2],
          paths: () => null,
          points: { show: false },
          value: euro,
        },
      ],
      hooks: { draw: [drawMarkers] },
    };
    return new uPlot(opts, [xs, data.average, data.lowest, data.highest], el);
  };
})();
