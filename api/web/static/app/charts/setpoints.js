// Setpoints: one stepped series per physical asset (kW, + discharge / − charge) over a
// delivery day on a Berlin time axis, 24-hour clock, whatever the browser's zone. Series
// differ by colour (Okabe-Ito), dash and marker (filled or hollow), never by colour alone.
"use strict";
(function () {
  const DASHES = [[], [8, 4], [2, 3], [12, 3, 3, 3]];
  const BERLIN = new Intl.DateTimeFormat("en-GB", {
    timeZone: "Europe/Berlin", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZoneName: "short",
  });

  function berlinLabel(seconds) {
    const p = {};
    BERLIN.formatToParts(new Date(seconds * 1e3)).forEach((part) => { p[part.type] = part.value; });
    return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute} ${p.timeZoneName}`;
  }

  const zone = (seconds) => berlinLabel(seconds).split(" ")[2];

  function hhmm(seconds) {
    const d = window.vbaBerlin(seconds);
    return String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
  }

  const grouped = (n) => Math.round(n).toLocaleString("en-GB").replace(/,/g, "\u2009");
  const kw = (v) => v.toLocaleString("en-GB", { minimumFractionDigits: 1, maximumFractionDigits: 1 })
    .replace(/,/g, "\u2009") + " kW";

  window.vbaCharts = window.vbaCharts || {};
  window.vbaCharts.setpoints = (el, data, width) => {
    const palette = window.vbaPalette;
    // On a DST day both zones occur: then every tick names its own.
    const zones = [...new Set(data.x.map(zone))];
    const tick = zones.length > 1 ? (t) => hhmm(t) + " " + zone(t) : hhmm;
    const series = data.series.map((s, i) => {
      const colour = palette[i % palette.length];
      return {
        label: s.label,
        stroke: colour,
        width: 2,
        dash: DASHES[i % DASHES.length],
        paths: uPlot.paths.stepped({ align: 1 }),
        // A marker where a step starts: where the setpoint changes, and at midnight.
        points: {
          show: true, size: 7, width: 1.5, stroke: colour, fill: i % 2 ? "#ffffff" : colour,
          filter: (u, seriesIdx) => {
            const values = u.data[seriesIdx];
            const starts = [];
            for (let k = 0; k < values.length - 1; k++) {
              if (k === 0 || values[k] !== values[k - 1]) starts.push(k);
            }
            return starts;
          },
        },
        value: (u, v) => (v == null ? "—" : kw(v)),
      };
    });
    const opts = {
      width: width,
      height: 340,
      tzDate: window.vbaBerlin,
      scales: { x: { time: true } },
      series: [
        { label: "MTU start (Berlin)", value: (u, v) => (v == null ? "—" : berlinLabel(v)) },
        ...series,
      ],
      axes: [
        { label: "Berlin time (" + zones.join(" and ") + ")", values: (u, ticks) => ticks.map(tick) },
        { label: "Setpoint (kW, + discharge, − charge)", size: 70, values: (u, ticks) => ticks.map(grouped) },
      ],
      legend: { live: true },
    };
    return new uPlot(opts, [data.x, ...data.series.map((s) => s.values)], el);
  };
})();
