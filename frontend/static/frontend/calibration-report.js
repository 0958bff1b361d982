// A calibration's results per coin, in words first: the headline errors, the policy's verdict on
// newly fitted parameters, the smiles per expiry, and the errors by bucket (days to expiry,
// |delta|, calls and puts) with each figure's unit and meaning.
(function () {
  "use strict";
  const { isBlank, fmtNumber, h, fill, badge } = window.optionsbotUI;
  const cal = window.optionsbotCal;

  const COLUMNS = [
    ["n", "Options", "How many options were compared.", cal.fmtCount],
    ["mae_usd", "Mean price error", "Average of |synthetic price − market mark price|, in US dollars per option (one contract is one coin).", cal.fmtMoney],
    ["mae_pct", "Mean price error, % of price", "The same error as a percentage of each option's market price, averaged.", (v) => cal.fmtPct(v)],
    ["mae_vol_pts", "Mean IV error", "Average of |synthetic implied volatility − market mark IV|, in volatility points (1 vol pt = 1 % of annualised volatility).", (v) => cal.fmtVolPts(v)],
    ["vega_weighted_mae_pct", "Vega-weighted error, %", "Like the % error, but options whose price moves most with volatility count more: Σ vega·|error %| ÷ Σ vega.", (v) => cal.fmtPct(v)],
    ["bias_vol_pts", "Bias", "Average of synthetic IV − market IV: below zero, synthetic options are too cheap; above, too dear.", (v) => cal.fmtVolPts(v, true)],
    ["inside_bid_ask_pct", "Inside bid–ask", "Of the options with both a bid and an ask, the share whose synthetic price lies between them.", (v) => cal.fmtPct(v, 0)],
  ];

  function bandLabel(b) {
    if (b.band) {
      const m = String(b.band).match(/^([\d.]+)-([\d.]+)d$/);
      if (m) return m[1] + " to " + m[2] + " days";
      const plus = String(b.band).match(/^([\d.]+)d\+$/);
      if (plus) return plus[1] + " days and more";
      return b.band;
    }
    return b.bucket ? String(b.bucket).replace("-", " to ") : "—";
  }

  function row(label, block, extraClass) {
    const empty = !block || !block.n;
    return h("tr", { class: (empty ? "empty-bucket " : "") + (extraClass || ""), "data-bucket": label }, [
      h("th", { scope: "row", text: label }),
    ].concat(COLUMNS.map(([key, , , fmt]) => h("td", { class: "num", text: empty && key !== "n" ? "—" : fmt(block ? block[key] : null) }))));
  }

  function group(title) {
    return h("tr", { class: "group" }, h("th", { scope: "colgroup", colspan: COLUMNS.length + 1, text: title }));
  }

  function errorTable(report) {
    const head = h("tr", {}, [h("th", { scope: "col", text: "Which options" })].concat(COLUMNS.map(([key, label, help]) => (
      h("th", { scope: "col", class: "num", "data-col": key }, h("span", { class: "has-help", title: help, text: label }))
    ))));
    const rows = [row("All options", report.overall, "overall"), group("By days to expiry")]
      .concat((report.by_dte || []).map((b) => row(bandLabel(b), b)))
      .concat([group("By |delta| (near 0: far out of the money; near 1: deep in the money)")])
      .concat((report.by_delta || []).map((b) => row("|delta| " + bandLabel(b), b)))
      .concat([group("Calls and puts"), row("Calls", (report.by_type || {}).call), row("Puts", (report.by_type || {}).put)]);
    return h("div", { class: "table-wrap" }, h("table", { class: "data compact errors", "data-testid": "cal-errors" }, [h("thead", {}, head), h("tbody", {}, rows)]));
  }

  function overall(report, key) {
    return report && report.overall ? report.overall[key] : null;
  }

  function biasWords(bias) {
    if (isBlank(bias) || Math.abs(bias) < 0.05) return "with no systematic lean";
    return bias < 0
      ? "lower than the market's by " + fmtNumber(-bias, 2, 2) + " vol pts on average (synthetic options too cheap)"
      : "higher than the market's by " + fmtNumber(bias, 2, 2) + " vol pts on average (synthetic options too dear)";
  }

  function headline(block) {
    const test = block.test;
    const one = block.data.test_first === block.data.test_last;
    const span = one ? "at " + cal.fmtWhen(block.data.test_first) + " UTC" : cal.fmtWhen(block.data.test_first) + " to " + cal.fmtWhen(block.data.test_last) + " UTC";
    const where = fmtNumber(test.snapshots, 0, 0) + " snapshot" + (test.snapshots === 1 ? "" : "s") + " (" + fmtNumber(test.samples, 0, 0) + " options, " + span + ")";
    const inside = overall(test, "inside_bid_ask_pct");
    const parts = [];
    if (block.evaluated === "fitted") {
      const before = block.test_in_use;
      parts.push("On the test window, " + where + ", which the fit never saw, the newly fitted parameters miss the market's implied volatility by " +
        cal.fmtVolPts(overall(test, "mae_vol_pts")) + " on average; the parameters in use (" + block.in_use.label + ") by " + cal.fmtVolPts(overall(before, "mae_vol_pts")) + ".");
      parts.push("In prices: " + cal.fmtMoney(overall(test, "mae_usd")) + " (" + cal.fmtPct(overall(test, "mae_pct")) + " of the price) against " +
        cal.fmtMoney(overall(before, "mae_usd")) + " (" + cal.fmtPct(overall(before, "mae_pct")) + ").");
      if (!isBlank(inside)) parts.push(cal.fmtPct(inside, 0) + " of the new synthetic prices lie inside the market's bid–ask (" + cal.fmtPct(overall(before, "inside_bid_ask_pct"), 0) + " with the parameters in use).");
    } else {
      parts.push("On " + where + ", the parameters in use (" + block.in_use.label + ") miss the market's implied volatility by " +
        cal.fmtVolPts(overall(test, "mae_vol_pts")) + " on average, " + biasWords(overall(test, "bias_vol_pts")) + ".");
      parts.push("In prices: " + cal.fmtMoney(overall(test, "mae_usd")) + " per option, " + cal.fmtPct(overall(test, "mae_pct")) + " of the price.");
      if (!isBlank(inside)) parts.push(cal.fmtPct(inside, 0) + " of synthetic prices lie inside the market's bid–ask.");
    }
    return h("p", { class: "headline", "data-testid": "cal-headline", text: parts.join(" ") });
  }

  function tiles(block) {
    const test = block.test;
    const items = [
      ["Mean IV error", cal.fmtVolPts(overall(test, "mae_vol_pts"))],
      ["Mean price error", cal.fmtMoney(overall(test, "mae_usd")) + " · " + cal.fmtPct(overall(test, "mae_pct"))],
      ["Inside bid–ask", cal.fmtPct(overall(test, "inside_bid_ask_pct"), 0)],
      ["Options compared", cal.fmtCount(test.samples)],
    ];
    return h("div", { class: "tiles" }, items.map(([k, v]) => h("div", { class: "tile" }, [h("div", { class: "muted", text: k }), h("div", { class: "tile-value", text: v })])));
  }

  function verdict(block, run) {
    const policy = block.policy;
    if (!policy) return null;
    const set = (run.param_sets || []).find((s) => s.currency === block.currency);
    let outcome = null;
    if (set) {
      const [text, kind] = cal.setStatus(set.status);
      const words = set.status === "in_use" ? "Set #" + set.id + " is now what synthetic backtests use for " + block.currency + "."
        : set.status === "proposed" ? "Set #" + set.id + " waits for an operator's approval (see Proposed parameters above)."
          : "Set #" + set.id + " has since been replaced.";
      outcome = h("p", {}, [badge(text, kind), " ", words]);
    }
    return h("div", { class: "verdict " + (policy.passed ? "passed" : "held"), "data-testid": "cal-verdict" }, [
      h("p", { class: "verdict-summary", text: policy.summary }),
      h("ul", { class: "checks" }, (policy.checks || []).map((c) => h("li", { class: c.passed ? "ok" : "no" }, [
        h("span", { class: "sr-only", text: c.passed ? "Met: " : "Not met: " }), c.text,
      ]))),
      outcome,
    ]);
  }

  function dataNotes(block, report) {
    const notes = [];
    const left = (report.exclusions || []).filter((e) => e.n > 0);
    if (left.length) notes.push("Left out of the comparison: " + left.map((e) => fmtNumber(e.n, 0, 0) + " with " + e.rule).join("; ") + ".");
    const anchors = report.anchor_sources || {};
    const words = { dvol: "DVOL", realised_vol: "realised volatility", fallback: "the fallback level (no DVOL, too little history)" };
    const used = Object.entries(anchors).filter(([, n]) => n > 0).map(([k, n]) => words[k] + " in " + fmtNumber(n, 0, 0) + " snapshot" + (n === 1 ? "" : "s"));
    if (used.length) notes.push("The synthetic model's 30-day at-the-money level came from " + used.join(", ") + "; the index history from " + block.data.history + ".");
    for (const n of block.notes || []) notes.push(n);
    return notes.length ? h("ul", { class: "hint notes" }, notes.map((n) => h("li", { text: n }))) : null;
  }

  function currencySection(block, run) {
    const views = [{ id: "test", label: "Test window · " + (block.evaluated === "fitted" ? "newly fitted parameters" : "parameters in use"), report: block.test }];
    if (block.test_in_use) views.push({ id: "test_in_use", label: "Test window · parameters in use (" + block.in_use.label + ")", report: block.test_in_use });
    if (block.train) views.push({ id: "train", label: "Fit window · newly fitted parameters (in sample)", report: block.train });
    const tableBox = h("div", {});
    const select = h("select", { "aria-label": "Errors of", onchange: () => show(select.value) }, views.map((v) => h("option", { value: v.id, text: v.label })));
    function show(id) {
      const view = views.find((v) => v.id === id) || views[0];
      fill(tableBox, [errorTable(view.report), dataNotes(block, view.report)]);
    }
    show("test");
    const chartBox = h("div", { class: "charts smiles", "data-testid": "cal-smiles" });
    const section = h("section", { class: "detail cal-currency", "data-currency": block.currency }, [
      h("h3", { text: block.currency }),
      headline(block),
      tiles(block),
      verdict(block, run),
      h("h4", { text: "Smiles: market against synthetic" }),
      h("p", { class: "hint", text: "Implied volatility by strike at a few expiries of the latest snapshot. Drag across a chart to zoom; double-click to reset." }),
      chartBox,
      h("h4", { text: "Errors by kind of option" }),
      views.length > 1 ? h("div", { class: "filters" }, h("div", { class: "filter" }, [h("label", { text: "Figures for" }), select])) : null,
      tableBox,
    ]);
    return { section: section, draw: () => cal.charts.smiles(chartBox, block.test.smiles, block.test_in_use && block.test_in_use.smiles, block.evaluated === "fitted" ? "Newly fitted" : "Synthetic model") };
  }

  // Draws every coin's results of a finished run into `node`.
  function render(node, run) {
    cal.charts.destroy(node);
    const blocks = Object.values((run.report && run.report.currencies) || {});
    if (!blocks.length) {
      fill(node, h("p", { class: "muted", text: "This calibration has no results." }));
      return;
    }
    const parts = blocks.map((b) => currencySection(b, run));
    fill(node, parts.map((p) => p.section));
    parts.forEach((p) => p.draw());
  }

  cal.report = { render: render };
})();
