// The Backtesting Lab's comparison table, for the runs ticked in the list and for every run of a
// sweep: one column per run; first what a sweep varied, then the settings (those that differ
// marked), then every metric in the chosen figures (a coin in that coin or in US dollars, or the
// whole run in US dollars), the best value of each row highlighted where more or less is better.
(function () {
  "use strict";
  const { isBlank, h, fill, getJson } = window.optionsbotUI;
  const lab = window.optionsbotLab;

  let metricDefs = null;

  // What each metric means (label, unit, help, better), loaded once and shared by the page.
  function metricDefinitions() {
    if (!metricDefs) {
      metricDefs = getJson("/api/backtests/metrics/").then((body) => body.metrics).catch((error) => {
        metricDefs = null;
        throw error;
      });
    }
    return metricDefs;
  }

  function compareBases(runs) {
    const currencies = Array.from(new Set(runs.flatMap((r) => Object.keys((r.metrics && r.metrics.currencies) || {})))).sort();
    const bases = [];
    for (const c of currencies) {
      bases.push({ id: c + ":coin", label: c + ", in " + c });
      bases.push({ id: c + ":usd", label: c + ", in USD" });
    }
    bases.push({ id: "total", label: "Whole run, in USD" });
    return bases;
  }

  // Fills a "Figures" select with what these runs offer: the previous choice when it still applies,
  // else the first coin every run has, in that coin, else the whole run in US dollars.
  function chooseBasis(select, runs) {
    const previous = select.value;
    const bases = compareBases(runs);
    fill(select, bases.map((b) => h("option", { value: b.id, text: b.label })));
    const common = bases.find((b) => b.id.endsWith(":coin") && runs.every((r) => r.metrics && r.metrics.currencies && b.id.split(":")[0] in r.metrics.currencies));
    select.value = bases.some((b) => b.id === previous) ? previous : (common || bases[bases.length - 1]).id;
  }

  function baseFor(run, id) {
    if (!run.metrics) return null;
    return lab.metricBases(run.metrics, true).find((b) => b.id === id) || null;
  }

  function settingRow(label, help, values, options) {
    const differs = !(options && options.plain) && new Set(values).size > 1;
    return h("tr", { class: [options && options.varied ? "varied" : "", differs ? "differs" : ""].join(" ").trim() || null }, [
      h("th", { scope: "row" }, [
        h("span", { class: help ? "has-help" : null, title: help || null, text: label }),
        differs ? h("span", { class: "pill pill-warn", text: "differs" }) : null,
      ]),
    ].concat(values.map((v) => h("td", { text: v }))));
  }

  // `skip`: parameter names already shown as varied rows.
  function settingRows(runs, skip) {
    const rows = [
      ["Strategy", (r) => lab.strategyText(r)],
      ["Status", (r) => lab.statusText(r.status)],
      ["Market data", (r) => lab.describeSourceLong(r.source, r.source && r.source.seed)],
      ["Period (UTC)", (r) => lab.fmtPeriod(r.source)],
    ];
    if (runs.every((r) => r.fill)) rows.push(["Fills", (r) => lab.fmtFill(r.fill)]);
    const names = Array.from(new Set(runs.flatMap((r) => Object.keys(r.parameters || {})))).filter((n) => !skip.has(n));
    for (const name of names) {
      const kind = (runs.find((r) => r.parameters && name in r.parameters) || {}).logic_kind;
      const field = lab.paramField(kind, name);
      rows.push([field.label, (r) => (r.parameters && name in r.parameters ? lab.fmtParam(field, r.parameters[name]) : "—"), field.help]);
    }
    return rows.map(([label, value, help]) => settingRow(label, help, runs.map(value)));
  }

  function defaultHead(run) {
    return [lab.runTitle(run), h("div", { class: "muted", text: lab.strategyText(run) })];
  }

  function group(title, span) {
    return h("tr", { class: "group" }, h("th", { scope: "colgroup", colspan: span, text: title }));
  }

  function metricLines(rows, runs, basisId) {
    const lines = [];
    for (const row of rows) {
      const cells = runs.map((r) => {
        const base = baseFor(r, basisId);
        return base ? { cell: base.cell(row), money: base.money } : { cell: null, money: "USD" };
      });
      if (!cells.some((c) => c.cell)) continue;
      const numbers = cells.map((c) => (c.cell && !isBlank(c.cell.value) ? Number(c.cell.value) : null));
      const known = numbers.filter((n) => n !== null);
      let best = null;
      if (row.better !== null && row.better !== undefined && known.length >= 2 && new Set(known).size > 1) {
        best = row.better ? Math.max(...known) : Math.min(...known);
      }
      lines.push(h("tr", { "data-metric": row.base }, [
        h("th", { scope: "row" }, h("span", { class: "has-help", title: row.help + (row.better === null ? "" : row.better ? " Higher is better." : " Lower is better."), text: row.label })),
      ].concat(cells.map((c, i) => {
        const isBest = best !== null && numbers[i] === best;
        return h("td", { class: "num" + (isBest ? " best" : ""), title: isBest ? "best of these backtests" : null }, [
          lab.metricValue(c.cell, c.money),
          isBest ? h("span", { class: "sr-only", text: " (best)" }) : null,
        ]);
      }))));
    }
    return lines;
  }

  // Draws `runs` side by side in `table`. Options: `basis` (the "Figures" select), `varied`
  // ([{key, label, help, value(run) -> text}], shown first), `head(run)` (a column's heading).
  function renderComparison(table, runs, options) {
    const select = options.basis;
    const basisId = select.value;
    const basisLabel = select.selectedOptions[0] ? select.selectedOptions[0].text : "";
    const varied = options.varied || [];
    const span = runs.length + 1;
    fill(table.tHead, h("tr", {}, [h("th", { scope: "col", text: "" })].concat(runs.map((r) => h("th", { scope: "col", class: "num", "data-run": r.id }, (options.head || defaultHead)(r))))));
    const body = [];
    if (varied.length) {
      body.push(group("Values tried", span));
      for (const v of varied) body.push(settingRow(v.label, v.help, runs.map(v.value), { varied: true, plain: true }));
    }
    body.push(group("Settings", span), ...settingRows(runs, new Set(varied.map((v) => v.key))));
    return metricDefinitions().then((defs) => {
      const rows = lab.metricRows(defs);
      for (const [id, title] of lab.GROUPS) {
        const lines = metricLines(rows.filter((r) => r.group === id), runs, basisId);
        if (lines.length) body.push(group(title + " · " + basisLabel, span), ...lines);
      }
      fill(table.tBodies[0], body);
    }).catch((error) => {
      fill(table.tBodies[0], body.concat(h("tr", {}, h("td", { colspan: span, class: "error", text: "The metric definitions could not be loaded: " + (options.problem ? options.problem(error) : String(error)) }))));
    });
  }

  Object.assign(lab, {
    metricDefinitions: metricDefinitions,
    chooseBasis: chooseBasis,
    renderComparison: renderComparison,
  });
})();
