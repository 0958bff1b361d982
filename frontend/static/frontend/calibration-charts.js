// The Calibration tab's charts (uPlot, served by the app itself): per expiry the market's smile
// (mark IV, with the bid-ask band) against the synthetic model's, and the error over time.
(function () {
  "use strict";
  const { h, fill, fmtNumber } = window.optionsbotUI;
  const cal = window.optionsbotCal;
  const { timeTicks, MONTHS } = window.optionsbotJobs;

  const COLORS = { market: "#1c2330", band: "rgba(152, 162, 179, 0.28)", quote: "#98a2b3", model: "#1f5fbf", inUse: "#b54708", BTC: "#1f5fbf", ETH: "#6941c6" };
  const HEIGHT = 240;
  const { track, destroy } = window.optionsbotJobs.chartShelf(HEIGHT);

  function ivPct(v) {
    return v === null || v === undefined ? null : Number(v) * 100;
  }

  function series(label, stroke, format, extra) {
    return Object.assign({
      label: label,
      stroke: stroke,
      width: 1.75,
      spanGaps: true,
      points: { show: false },
      value: (u, v) => (v === null || v === undefined ? "—" : format(v)),
    }, extra || {});
  }

  function compactUsd(v) {
    const n = Math.abs(v);
    if (n >= 1e4) return "$" + fmtNumber(v / 1e3, 0, 1) + "k";
    return "$" + fmtNumber(v, 0, 0);
  }

  function dayLabel(iso) {
    const d = new Date(iso);
    return d.getUTCDate() + " " + MONTHS[d.getUTCMonth()] + " " + d.getUTCFullYear();
  }

  function figure(container, title, note) {
    const box = h("figure", { class: "chart", "data-chart": title }, [h("figcaption", {}, [title, note ? h("div", { class: "muted", text: note }) : null])]);
    container.append(box);
    return box;
  }

  function noLibrary(container) {
    fill(container, h("p", { class: "notice error-box", text: "The chart library did not load, so the charts cannot be drawn. The figures are still in the tables." }));
  }

  // One chart per expiry: out-of-the-money options of the latest snapshot in the test window.
  // `inUse` (optional): the same smiles priced with the parameters in use, when new ones were fitted.
  function smiles(container, list, inUse, modelLabel) {
    destroy(container);
    fill(container, []);
    if (!window.uPlot) return noLibrary(container);
    if (!list || !list.length) {
      fill(container, h("p", { class: "muted", text: "No smile to draw: the latest snapshot had no out-of-the-money option with a market price." }));
      return;
    }
    for (const smile of list) {
      const points = (smile.points || []).slice().sort((a, b) => a.strike - b.strike);
      const other = (inUse || []).find((s) => s.expiry === smile.expiry);
      const byStrike = {};
      for (const p of (other && other.points) || []) byStrike[p.strike] = p.model_iv;
      const xs = points.map((p) => p.strike);
      const data = [xs, points.map((p) => ivPct(p.bid_iv)), points.map((p) => ivPct(p.ask_iv)), points.map((p) => ivPct(p.market_iv)), points.map((p) => ivPct(p.model_iv))];
      const pct = (v) => fmtNumber(v, 1, 1) + " %";
      const list2 = [
        series("Bid IV", COLORS.quote, pct, { width: 1 }),
        series("Ask IV", COLORS.quote, pct, { width: 1 }),
        series("Market (mark IV)", COLORS.market, pct, { points: { show: true, size: 5, fill: COLORS.market } }),
        series(modelLabel || "Synthetic model", COLORS.model, pct, { width: 2.25 }),
      ];
      if (other) {
        data.push(points.map((p) => ivPct(byStrike[p.strike])));
        list2.push(series("Parameters in use", COLORS.inUse, pct, { dash: [6, 4] }));
      }
      const forward = points.length ? points[0].strike / points[0].moneyness : null;
      const title = smile.currency + " · expiry " + dayLabel(smile.expiry) + " · " + fmtNumber(smile.dte, 0, 1) + " days";
      const note = "Snapshot " + cal.fmtWhen(smile.timestamp) + " UTC" + (forward ? ", forward " + compactUsd(forward) : "") + ". Out-of-the-money options; the grey band is the market's bid-ask.";
      const box = figure(container, title, note);
      box.dataset.expiry = smile.expiry;
      const width = Math.max(320, (box.clientWidth || container.clientWidth || 600) - 20);
      const chart = new window.uPlot({
        width: width,
        height: HEIGHT,
        scales: { x: { time: false } },
        cursor: { drag: { x: true, y: false } },
        bands: [{ series: [2, 1], fill: COLORS.band }],
        series: [{ label: "Strike", value: (u, v) => (v === null || v === undefined ? "—" : compactUsd(v)) }].concat(list2),
        axes: [
          { label: "Strike (USD)", stroke: "#667085", grid: { stroke: "#eef0f3" }, values: (u, splits) => splits.map(compactUsd), space: 70 },
          { label: "Implied volatility (%)", stroke: "#667085", grid: { stroke: "#eef0f3" }, size: 60, values: (u, splits) => splits.map((v) => fmtNumber(v, 0, 0) + " %") },
        ],
      }, data, box);
      track(chart, box);
    }
  }

  // The error over time: one point per finished calibration and coin.
  function history(container, runs) {
    destroy(container);
    fill(container, []);
    if (!window.uPlot) return noLibrary(container);
    const done = runs.filter((r) => r.status === "succeeded" && r.finished_at && r.summary && Object.keys(r.summary).length)
      .sort((a, b) => new Date(a.finished_at) - new Date(b.finished_at));
    if (!done.length) {
      fill(container, h("p", { class: "muted empty", text: "No finished calibration yet. Each one adds a point here; the daily calibration adds one a day once the harvester has recorded a few days of prices." }));
      return;
    }
    const currencies = Array.from(new Set(done.flatMap((r) => Object.keys(r.summary)))).sort();
    const xs = done.map((r) => Math.floor(new Date(r.finished_at).getTime() / 1000));
    const vol = (v) => fmtNumber(v, 2, 2) + " vol pts";
    const data = [xs];
    const list = [];
    for (const c of currencies) {
      data.push(done.map((r) => (r.summary[c] ? r.summary[c].in_use_mae_vol_pts : null)));
      list.push(series(c + ": parameters in use", COLORS[c] || COLORS.model, vol, { points: { show: true, size: 6 } }));
      data.push(done.map((r) => (r.summary[c] && r.summary[c].evaluated === "fitted" ? r.summary[c].mae_vol_pts : null)));
      list.push(series(c + ": newly fitted", COLORS[c] || COLORS.model, vol, { dash: [4, 4], width: 1, spanGaps: false, points: { show: true, size: 7, fill: "#fff" } }));
    }
    const box = figure(container, "Mean IV error on each test window", "Lower is closer to the market. Times of the calibrations, UTC.");
    const width = Math.max(320, (box.clientWidth || container.clientWidth || 600) - 20);
    const chart = new window.uPlot({
      width: width,
      height: HEIGHT,
      tzDate: (ts) => window.uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
      scales: {
        // At least a few hours across, so runs minutes apart do not crowd the axis with one label.
        x: { time: true, range: (u, min, max) => (max - min < 6 * 3600 ? [min - 3 * 3600, max + 3 * 3600] : [min, max]) },
        y: { range: (u, min, max) => [0, Math.max(1, (max || 0) * 1.15)] },
      },
      series: [{ label: "Finished (UTC)", value: (u, v) => (v === null || v === undefined ? "—" : new Date(v * 1000).toISOString().slice(0, 16).replace("T", " ")) }].concat(list),
      axes: [
        { stroke: "#667085", grid: { stroke: "#eef0f3" }, space: 70, values: timeTicks },
        { label: "Vol points", stroke: "#667085", grid: { stroke: "#eef0f3" }, size: 60, values: (u, splits) => splits.map((v) => fmtNumber(v, 0, 1)) },
      ],
    }, data, box);
    track(chart, box);
  }

  cal.charts = { smiles: smiles, history: history, destroy: destroy };
})();
