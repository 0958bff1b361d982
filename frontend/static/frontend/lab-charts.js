// The Backtesting Lab's charts (uPlot, served by the app itself): equity in each coin and in US
// dollars, each against holding the starting coins, and the drawdown below the running peak.
// Time axes and legends are in UTC.
(function () {
  "use strict";
  const { h, fill, fmtNumber, fmtCoin, fmtUsd } = window.optionsbotUI;
  const lab = window.optionsbotLab;
  const { timeTicks } = window.optionsbotJobs;

  const COLORS = { strategy: "#1f5fbf", hold: "#98a2b3", usd: "#1d7f46", dd: ["#b42318", "#b54708", "#6941c6"] };
  const HEIGHT = 230;
  const shelf = window.optionsbotJobs.chartShelf(HEIGHT);

  function utc(ts) {
    return window.uPlot.tzDate(new Date(ts * 1000), "Etc/UTC");
  }

  function timeLabel(u, ts) {
    if (ts === null || ts === undefined) return "—";
    return new Date(ts * 1000).toISOString().slice(0, 16).replace("T", " ") + " UTC";
  }

  function compact(value, digits) {
    const n = Math.abs(value);
    if (n >= 1e6) return fmtNumber(value / 1e6, 0, 2) + "M";
    if (n >= 1e4) return fmtNumber(value / 1e3, 0, 1) + "k";
    return fmtNumber(value, 0, digits);
  }

  function lineSeries(label, stroke, format, extra) {
    return Object.assign({
      label: label,
      stroke: stroke,
      width: 1.75,
      spanGaps: true,
      points: { show: false },
      value: (u, v) => (v === null || v === undefined ? "—" : format(v)),
    }, extra || {});
  }

  function build(container, title, unitLabel, data, series, axisFormat) {
    const box = h("figure", { class: "chart", "data-chart": title }, [h("figcaption", { text: title })]);
    container.append(box);
    const width = Math.max(320, (box.clientWidth || container.clientWidth || 600) - 20);
    const chart = new window.uPlot({
      width: width,
      height: HEIGHT,
      tzDate: utc,
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: true } },
      series: [{ label: "Time (UTC)", value: timeLabel }].concat(series),
      axes: [
        { stroke: "#667085", grid: { stroke: "#eef0f3" }, values: timeTicks, space: 60 },
        { label: unitLabel, stroke: "#667085", grid: { stroke: "#eef0f3" }, size: 72, values: (u, splits) => splits.map(axisFormat) },
      ],
    }, data, box);
    shelf.track(chart, box);
    return chart;
  }

  function destroyAll() {
    shelf.destroy();
  }

  function column(rows, pick) {
    return rows.map((row) => {
      const v = pick(row);
      return v === null || v === undefined ? null : Number(v);
    });
  }

  // Draws every chart of a run into `container` from the equity rows of the API.
  function render(container, points, run) {
    destroyAll();
    fill(container, []);
    if (!window.uPlot) {
      fill(container, h("p", { class: "notice error-box", text: "The chart library did not load, so the charts cannot be drawn. Every figure is still in the tables below." }));
      return;
    }
    if (!points.length) {
      fill(container, h("p", { class: "muted", text: "No equity to chart: the backtest recorded no step." }));
      return;
    }
    const xs = points.map((p) => Math.floor(new Date(p.at).getTime() / 1000));
    const currencies = Array.from(new Set(points.flatMap((p) => Object.keys(p.currencies || {})))).sort();

    for (const c of currencies) {
      const coin = (v) => fmtCoin(v, c);
      build(container, "Equity in " + c, c, [
        xs,
        column(points, (p) => p.currencies[c] && p.currencies[c].equity_coin),
        column(points, (p) => p.currencies[c] && p.currencies[c].buy_hold_coin),
      ], [
        lineSeries("Strategy (" + c + ")", COLORS.strategy, coin),
        lineSeries("Buy & hold (" + c + ")", COLORS.hold, coin, { dash: [6, 4] }),
      ], (v) => compact(v, 4));
    }

    const whole = currencies.length > 1 ? "all coins" : currencies[0] || "account";
    build(container, "Equity in US dollars (" + whole + ")", "USD", [
      xs,
      column(points, (p) => p.total && p.total.equity_usd),
      column(points, (p) => p.total && p.total.buy_hold_usd),
    ], [
      lineSeries("Strategy (USD)", COLORS.usd, fmtUsd),
      lineSeries("Buy & hold (USD)", COLORS.hold, fmtUsd, { dash: [6, 4] }),
    ], (v) => "$" + compact(v, 0));

    // Drawdowns are plotted below zero, so a deeper fall is lower on the chart.
    const negative = (v) => (v === null ? null : -v);
    const pct = (v) => fmtNumber(-v, 2, 2) + " % below peak";
    const ddData = [xs];
    const ddSeries = [];
    currencies.forEach((c, i) => {
      ddData.push(column(points, (p) => p.currencies[c] && p.currencies[c].drawdown_coin_pct).map(negative));
      ddSeries.push(lineSeries("In " + c, COLORS.dd[i % COLORS.dd.length], pct, { fill: i === 0 ? "rgba(180, 35, 24, 0.08)" : undefined }));
    });
    ddData.push(column(points, (p) => p.total && p.total.drawdown_usd_pct).map(negative));
    ddSeries.push(lineSeries("In USD (" + whole + ")", COLORS.usd, pct));
    build(container, "Drawdown (% below the highest equity so far)", "% below peak", ddData, ddSeries, (v) => fmtNumber(v, 0, 1) + " %");
    if (run) container.dataset.runId = String(run.id);
  }

  lab.charts = { render: render, destroyAll: destroyAll };
})();
