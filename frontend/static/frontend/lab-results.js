// The Backtesting Lab's result tables: the run's settings, the metrics (from the API's metric
// definitions: labels, units, help), the closed trades with their P&L parts, and every fill with
// where its price came from. Coin figures stay in their coin, US dollar figures in dollars.
(function () {
  "use strict";
  const { isBlank, fmtTime, fmtNumber, fmtCoin, fmtUsd, fmtContracts, signClass, h, fill, badge } = window.optionsbotUI;
  const lab = window.optionsbotLab;
  const PAGE = 50;

  // --- Metric rows: a money metric's coin and USD variants share one row ----------------------

  // TradingView's Strategy Tester groups; "Overview" holds the figures read first.
  const OVERVIEW = ["net_profit", "net_profit_pct", "return_pct", "buy_hold_return_pct", "outperformance_pct",
    "max_drawdown", "max_drawdown_pct", "sharpe", "total_trades", "percent_profitable", "profit_factor", "premium_captured_pct"];
  const GROUPS = [
    ["overview", "Overview"],
    ["performance", "Performance"],
    ["trades", "Trades analysis"],
    ["risk", "Risk"],
    ["options", "Options"],
  ];
  const GROUP_OF = { performance: "performance", trades: "trades", drawdown: "risk", margin: "risk", options: "options", attribution: "options" };

  function metricRows(defs) {
    const rows = [];
    const byBase = {};
    for (const d of defs) {
      const money = d.unit === "coin" || d.unit === "usd";
      const base = money ? d.key.replace(/_(coin|usd)$/, "") : d.key;
      let row = byBase[base];
      if (!row) {
        row = { base: base, label: d.label, help: d.help, better: d.higher_is_better, unit: money ? null : d.unit, keys: {},
          group: OVERVIEW.includes(base) ? "overview" : GROUP_OF[d.group] || "performance" };
        byBase[base] = row;
        rows.push(row);
      }
      if (money) row.keys[d.unit] = d.key;
      else row.keys.coin = row.keys.usd = d.key;
    }
    rows.sort((a, b) => (a.group === "overview" && b.group === "overview" ? OVERVIEW.indexOf(a.base) - OVERVIEW.indexOf(b.base) : 0));
    return rows;
  }

  function has(obj, key) {
    return !!obj && key !== undefined && Object.prototype.hasOwnProperty.call(obj, key);
  }

  // Figures that are the same whatever the money unit (counts, days, vol points).
  const UNITLESS = new Set(["count", "bars", "days", "vol_pts"]);

  // The value of `row` in one currency's sections, measured in "coin" or "usd". Options figures
  // come once per coin: money ones by their unit, percentages in coin (they are computed in coin),
  // unitless ones in both columns (`shared`).
  function currencyCell(row, sections, measure) {
    const key = row.keys[measure];
    if (has(sections[measure], key)) return { value: sections[measure][key], unit: row.unit || measure };
    if (!has(sections.options, key)) return null;
    const value = sections.options[key];
    if (!row.unit) return { value: value, unit: measure };
    if (UNITLESS.has(row.unit)) return { value: value, unit: row.unit, shared: true };
    return measure === "coin" ? { value: value, unit: row.unit } : null;
  }

  function totalCell(row, total) {
    const key = row.keys.usd;
    return has(total, key) ? { value: total[key], unit: row.unit || "usd" } : null;
  }

  // Columns of figures a run's metrics offer: each coin in coin and in USD, and the run in USD.
  // With `alwaysTotal`, the whole-run column is there even for a single coin (comparisons).
  function metricBases(metrics, alwaysTotal) {
    const currencies = Object.keys(metrics.currencies || {}).sort();
    const bases = [];
    for (const c of currencies) {
      const sections = metrics.currencies[c];
      bases.push({ id: c + ":coin", label: c + ", in " + c, money: c, cell: (row) => currencyCell(row, sections, "coin") });
      bases.push({ id: c + ":usd", label: c + ", in USD", money: "USD", cell: (row) => currencyCell(row, sections, "usd") });
    }
    if (metrics.total_usd && (alwaysTotal || currencies.length !== 1)) {
      bases.push({ id: "total", label: "All coins, in USD", money: "USD", cell: (row) => totalCell(row, metrics.total_usd) });
    }
    return bases;
  }

  function metricValue(cell, money) {
    if (!cell) return h("span", { class: "muted", title: "not measured in this unit", text: "·" });
    const text = lab.fmtMetric(cell.value, cell.unit, cell.unit === "coin" ? money : "USD");
    if (isBlank(cell.value)) return h("span", { class: "muted", title: "not defined for this backtest (for example no losing trade, or too short for monthly returns)", text: "—" });
    return text;
  }

  function renderMetrics(table, metrics, defs) {
    const bases = metricBases(metrics);
    const rows = metricRows(defs);
    fill(table.tHead, h("tr", {}, [h("th", { scope: "col", text: "Metric" })].concat(
      bases.map((b) => h("th", { scope: "col", class: "num", text: b.label })))));
    const body = [];
    for (const [group, title] of GROUPS) {
      const inGroup = rows.filter((r) => r.group === group && bases.some((b) => b.cell(r)));
      if (!inGroup.length) continue;
      body.push(h("tr", { class: "group" }, h("th", { scope: "colgroup", colspan: bases.length + 1, text: title })));
      for (const row of inGroup) {
        const cells = [h("th", { scope: "row" }, h("span", { class: "has-help", title: row.help, text: row.label }))];
        for (let i = 0; i < bases.length; i++) {
          const base = bases[i];
          const cell = base.cell(row);
          if (cell && cell.shared && base.id.endsWith(":coin")) {
            cells.push(h("td", { class: "num shared", colspan: 2 }, metricValue(cell, base.money)));
            i++;  // the same figure stands for the coin's USD column
            continue;
          }
          cells.push(h("td", { class: "num " + signClassFor(row, cell) }, metricValue(cell, base.money)));
        }
        body.push(h("tr", { "data-metric": row.base }, cells));
      }
    }
    fill(table.tBodies[0], body);
  }

  function signClassFor(row, cell) {
    if (!cell || isBlank(cell.value)) return "";
    return ["net_profit", "outperformance", "avg_trade", "roll_pnl", "open_pnl"].includes(row.base) ? signClass(cell.value) : "";
  }

  // --- Settings of a run ------------------------------------------------------------------------

  function paramField(kind, name) {
    const kinds = kind ? [kind] : Object.keys(lab.config.parameter_fields);
    for (const k of kinds) {
      const field = (lab.config.parameter_fields[k] || []).find((f) => f.name === name);
      if (field) return field;
    }
    return { name: name, label: lab.words(name), unit: "" };
  }

  function fmtParam(field, value) {
    if (value === null || value === undefined) return "— (never)";
    if (typeof value === "boolean") return value ? "yes" : "no";
    if (typeof value === "number") {
      const unit = field.unit === "%" ? " %" : field.unit ? " " + field.unit : "";
      return fmtNumber(value, 0, 6) + unit;
    }
    return String(value);
  }

  function coinsText(balances) {
    const entries = Object.entries(balances || {});
    if (!entries.length) return "1 coin per currency";
    return entries.map(([c, v]) => fmtCoin(v, c)).join(", ");
  }

  // Which calibrated parameters priced a synthetic run (the Calibration tab's sets), per coin.
  function calibrationText(run) {
    if (!run.source || run.source.kind !== "synthetic") return "Recorded prices (not re-priced)";
    const used = Object.entries(run.calibration || {}).sort().map(([coin, entry]) => coin + ": calibrated set #" + entry.set_id);
    return used.length ? used.join(", ") : "The generator's default parameters (no calibrated set in use)";
  }

  function renderSummary(node, run) {
    const took = run.started_at && run.finished_at ? (new Date(run.finished_at) - new Date(run.started_at)) / 1000 : null;
    const fills = lab.fillParts(run.fill);
    const rows = [
      ["Strategy", lab.strategyText(run) + (run.strategy ? " · " + lab.words(run.logic_kind) : "")],
      ["Market data", lab.describeSourceLong(run.source, run.seed)],
      ["Period (UTC)", lab.fmtPeriod(run.source)],
      ["Synthetic prices", calibrationText(run)],
      ["Coins at the start", coinsText(run.initial_balance_coin)],
      ["Fill price", fills.price],
      ["Limit price", fills.limit],
      ["Partial fills", fills.partial],
      ["Risk-free rate", lab.fmtPct((run.risk_free_rate || 0) * 100, 4) + " a year"],
      ["Started by", (run.created_by || "—") + ", " + fmtTime(run.created_at)],
    ];
    if (run.finished_at) rows.push(["Finished", fmtTime(run.finished_at) + (took !== null ? " (took " + window.optionsbotUI.fmtDuration(took * 1000) + ")" : "")]);
    if (run.sweep) {
      rows.push(["Part of", h("button", {
        type: "button", class: "link", text: "sweep #" + run.sweep,
        onclick: () => document.dispatchEvent(new CustomEvent("lab:open-sweep", { detail: { id: run.sweep } })),
      })]);
    }
    const params = Object.entries(run.parameters || {});
    fill(node, [
      h("dl", { class: "summary", "data-testid": "run-summary" }, rows.flatMap(([k, v]) => [h("dt", { text: k }), h("dd", {}, v)])),
      params.length ? h("details", { class: "params-used" }, [
        h("summary", { text: "Parameters used (" + params.length + ")" }),
        h("dl", { class: "kv" }, params.flatMap(([name, value]) => {
          const field = paramField(run.logic_kind, name);
          return [h("dt", { title: field.help || "", text: field.label }), h("dd", { text: fmtParam(field, value) })];
        })),
      ]) : null,
    ]);
  }

  // --- What a sweep varies: a parameter, or a field of the market such as "source.seed" ---------

  function gridField(kind, key) {
    const extra = lab.config.sweep.fields[key];
    if (extra) return extra;
    const name = String(key).replace(/^parameters\./, "");
    return name.includes(".") ? { name: key, label: lab.words(name.split(".").pop()), unit: "" } : paramField(kind, name);
  }

  function fmtGridValue(field, value) {
    if (field.name === "source.seed") return String(value);
    return fmtParam(field, value);
  }

  // "Max delta 0.15 · Seed 1": one run's values of a sweep's grid keys.
  function gridValuesText(run, keys) {
    return keys.map((key) => {
      const field = gridField(run.logic_kind, key);
      return field.label + " " + fmtGridValue(field, gridValueOf(run, key));
    }).join(" · ");
  }

  function gridValueOf(run, key) {
    if (key === "source.seed") return run.source && run.source.seed !== undefined ? run.source.seed : run.seed;
    const path = key.includes(".") ? key.split(".") : ["parameters", key];
    let node = run;
    for (const part of path) node = node && typeof node === "object" ? node[part] : undefined;
    return node;
  }

  // --- Cells of the run tables: status with progress, results per coin and in USD -------------

  function statusCell(run) {
    const p = lab.progressOf(run);
    const text = run.status === "running" && p.total ? lab.statusText(run.status) + " " + Math.round((p.fraction || 0) * 100) + " %" : lab.statusText(run.status);
    return badge(text, lab.statusKind(run.status));
  }

  // One line per coin, in that coin, then the whole run in US dollars (grey).
  function perCoin(metrics, key, format) {
    if (!metrics || !metrics.currencies) return [];
    return Object.keys(metrics.currencies).sort().map((c) => {
      const value = (metrics.currencies[c].coin || {})[key];
      return h("div", { class: key.startsWith("net_profit") ? signClass(value) : "", title: "in " + c, text: format(value, c) });
    });
  }

  function usdLine(metrics, key, format) {
    const total = metrics && metrics.total_usd;
    if (!total || !(key in total)) return null;
    return h("div", { class: "muted", title: "whole run, in US dollars", text: format(total[key]) });
  }

  function figures(run, coinKey, coinFormat, usdKey, usdFormat) {
    if (!run.metrics) return h("span", { class: "muted", text: "—" });
    return [].concat(perCoin(run.metrics, coinKey, coinFormat), [usdLine(run.metrics, usdKey, usdFormat)]);
  }

  // Net profit, Sharpe and max drawdown: the columns of the run tables.
  function resultCells(run) {
    return [
      h("td", { class: "num" }, figures(run, "net_profit_coin", lab.fmtSignedCoin, "net_profit_usd", lab.fmtSignedUsd)),
      h("td", { class: "num" }, figures(run, "sharpe", (v, c) => lab.fmtRatio(v) + " " + c, "sharpe", (v) => lab.fmtRatio(v) + " USD")),
      h("td", { class: "num" }, figures(run, "max_drawdown_pct", (v, c) => lab.fmtPct(v) + " " + c, "max_drawdown_pct", (v) => lab.fmtPct(v) + " USD")),
    ];
  }

  function whenCell(iso) {
    if (!iso) return "—";
    const text = lab.fmtTime(iso);
    return [text.slice(0, 10), h("div", { class: "muted", text: text.slice(11) })];
  }

  // --- Trades and fills -------------------------------------------------------------------------

  function describeOption(t) {
    return (t.direction === "short" ? "sold " : "bought ") + t.option_type + ", strike " + fmtUsd(t.strike_usd).replace(/\.00$/, "");
  }

  // "2025-01-08 14:00": the tables' headers say UTC.
  function minute(iso) {
    return iso ? new Date(iso).toISOString().slice(0, 16).replace("T", " ") : "—";
  }

  function held(t) {
    const days = (new Date(t.closed_at) - new Date(t.opened_at)) / 86400000;
    return days >= 1 ? fmtNumber(days, 1, 1) + " days" : fmtNumber(days * 24, 0, 1) + " h";
  }

  const EXIT = { close: "bought back", roll: "rolled", settle: "held to expiry" };

  function signedUsd(v) {
    return (Number(v) >= 0 ? "+" : "−") + fmtUsd(Math.abs(Number(v)));
  }

  function attribution(parts) {
    const names = { residual: "other" };
    const entries = Object.entries(parts || {});
    if (!entries.length) return "—";
    return h("div", { class: "parts" }, entries.map(([k, v]) => h("span", { class: "part " + signClass(v) }, [
      h("span", { class: "muted", text: (names[k] || k) + " " }), signedUsd(v),
    ])));
  }

  function volCell(t) {
    const iv = isBlank(t.iv_entry) ? "—" : fmtNumber(t.iv_entry * 100, 1, 1) + " %";
    const rv = isBlank(t.rv_hold) ? "—" : fmtNumber(t.rv_hold * 100, 1, 1) + " %";
    return [h("div", { title: "implied volatility (mark) when opened", text: "IV " + iv }), h("div", { class: "muted", title: "realised volatility of the index while held", text: "RV " + rv })];
  }

  function tradeRow(t, several) {
    const exit = EXIT[t.exit] || t.exit;
    const itm = t.itm_at_expiry === true ? " (in the money)" : t.itm_at_expiry === false ? " (out of the money)" : "";
    return h("tr", { "data-trade": t.number }, [
      h("td", { class: "num", text: String(t.number) }),
      several ? h("td", { text: t.strategy }) : null,
      h("td", { class: "nowrap", title: "expires " + fmtTime(t.expiry) }, [h("span", { class: "mono", text: t.instrument_name }), h("div", { class: "muted", text: describeOption(t) })]),
      h("td", { class: "when" }, [minute(t.opened_at), h("div", { class: "muted", text: "→ " + minute(t.closed_at) })]),
      h("td", { class: "nowrap", title: t.bars + " steps" }, [held(t), h("div", { class: "muted", text: exit + itm })]),
      h("td", { class: "num", text: fmtContracts(t.size_contracts) }),
      h("td", { class: "num" }, [fmtCoin(t.entry_price_coin, t.currency), h("div", { class: "muted", text: "→ " + fmtCoin(t.exit_price_coin, t.currency) })]),
      h("td", { class: "num" }, [fmtCoin(t.premium_coin, t.currency), h("div", { class: "muted", text: "fees " + fmtCoin(t.fees_coin, t.currency) })]),
      h("td", { class: "num" }, [
        h("div", { class: signClass(t.pnl_coin), text: lab.fmtSignedCoin(t.pnl_coin, t.currency) }),
        h("div", { class: signClass(t.pnl_usd), text: lab.fmtSignedUsd(t.pnl_usd) }),
      ]),
      h("td", { class: "nowrap" }, volCell(t)),
      h("td", {}, attribution(t.attribution_usd)),
    ]);
  }

  const FILL_WHAT = { "open:sell": "Sold to open", "open:buy": "Bought to open", "close:buy": "Bought back", "close:sell": "Sold to close" };

  function fillRow(f, several) {
    const source = lab.provenance(f.provenance);
    const what = f.kind === "settle" ? "Settled at expiry" : FILL_WHAT[f.kind + ":" + f.side] || f.kind + " " + f.side;
    return h("tr", { "data-provenance": source.label }, [
      h("td", { class: "when", text: minute(f.at) }),
      several ? h("td", { text: f.strategy }) : null,
      h("td", { class: "mono", text: f.instrument_name }),
      h("td", { class: "nowrap", text: what }),
      h("td", { class: "num", text: fmtContracts(f.size_contracts) }),
      h("td", { class: "num", text: fmtCoin(f.price_coin, f.currency) }),
      h("td", { class: "num", text: fmtCoin(f.fee_coin, f.currency) }),
      h("td", { class: "num", text: fmtUsd(f.index_price_usd) }),
      h("td", {}, h("span", { class: "pill pill-" + source.kind, title: source.help, text: source.label })),
    ]);
  }

  function pagedTable(node, id, head, items, makeRow, empty) {
    if (!items.length) {
      fill(node, h("p", { class: "notice empty-state", "data-testid": id + "-empty", text: empty }));
      return;
    }
    let shown = Math.min(PAGE, items.length);
    const body = h("tbody");
    const count = h("span", { class: "muted" });
    const more = h("button", { type: "button", class: "secondary", text: "Show all" });
    function draw() {
      fill(body, items.slice(0, shown).map(makeRow));
      count.textContent = "Showing " + shown + " of " + items.length + ".";
      more.hidden = shown >= items.length;
    }
    more.addEventListener("click", () => { shown = items.length; draw(); });
    fill(node, [
      h("div", { class: "table-wrap" }, h("table", { class: "data compact", id: id, "data-testid": id }, [
        h("thead", {}, h("tr", {}, head.map(([text, cls]) => h("th", { scope: "col", class: cls || null, text: text })))),
        body,
      ])),
      h("p", { class: "table-foot" }, [count, more]),
    ]);
    draw();
  }

  function provenanceSummary(fills) {
    const counts = {};
    for (const f of fills) {
      const label = lab.provenance(f.provenance).label;
      counts[label] = (counts[label] || 0) + 1;
    }
    return Object.entries(counts).map(([k, v]) => v + " " + k.toLowerCase()).join(", ");
  }

  function renderTrades(tradesNode, fillsNode, data) {
    const trips = data.round_trips || [];
    const fills = data.fills || [];
    const noTrades = fills.length
      ? "No closed trades: every position opened was still open at the end. Its value at the last step is in Open P&L (Performance) and in the equity curve."
      : "No trades: the strategy never found an option its filters accepted (days to expiry, delta, premium, yield, IV/RV, spread, open interest), or the risk engine refused every proposal. Try a longer period or looser parameters.";
    // A strategy column only when the run traded more than one strategy (the summary names it).
    const several = new Set(trips.concat(fills).map((x) => x.strategy)).size > 1;
    const columns = (list) => list.filter(([title]) => several || title !== "Strategy");
    pagedTable(tradesNode, "run-trades-table", columns([
      ["#", "num"], ["Strategy"], ["Option"], ["Opened → closed (UTC)"], ["Held · ended"], ["Contracts", "num"],
      ["Entry → exit price", "num"], ["Premium · fees", "num"], ["P&L (coin · USD)", "num"], ["Volatility"], ["P&L parts (USD)"],
    ]), trips, (t) => tradeRow(t, several), noTrades);
    pagedTable(fillsNode, "run-fills-table", columns([
      ["When (UTC)"], ["Strategy"], ["Option"], ["What"], ["Contracts", "num"], ["Price", "num"], ["Fee", "num"], ["Index (USD)", "num"], ["Price from"],
    ]), fills, (f) => fillRow(f, several), "No fills: the strategy never traded in this period.");
    if (fills.length) {
      fillsNode.prepend(h("p", { class: "hint", "data-testid": "provenance-summary", text: "Prices: " + provenanceSummary(fills) + "." }));
    }
  }

  const OUTCOME_LABELS = {
    hold: "Held (nothing to do, or nothing acceptable)",
    "open approved": "Opens approved",
    "open partial": "Opens partly approved",
    "open rejected": "Opens refused by the risk engine",
    "close approved": "Closes approved",
    "close rejected": "Closes refused",
    "roll approved": "Rolls approved",
    "roll partial": "Rolls approved for the closing leg only",
    "roll rejected": "Rolls refused",
    "cancel approved": "Cancels",
  };

  function renderDecisions(node, decisions) {
    const outcomes = Object.entries(decisions.outcomes || {});
    const reasons = decisions.reasons || [];
    if (!outcomes.length) {
      fill(node, h("p", { class: "notice empty-state", text: "No decisions were recorded for this run." }));
      return;
    }
    fill(node, [
      h("div", { class: "table-wrap" }, h("table", { class: "data compact", "data-testid": "run-outcomes" }, [
        h("thead", {}, h("tr", {}, [h("th", { scope: "col", text: "Proposals" }), h("th", { scope: "col", class: "num", text: "Count" })])),
        h("tbody", {}, outcomes.map(([key, count]) => h("tr", {}, [
          h("td", { text: OUTCOME_LABELS[key] || key }),
          h("td", { class: "num", text: fmtNumber(count, 0, 0) }),
        ]))),
      ])),
      reasons.length ? h("div", { class: "table-wrap" }, h("table", { class: "data compact", "data-testid": "run-reasons" }, [
        h("thead", {}, h("tr", {}, [h("th", { scope: "col", text: "Most frequent reasons" }), h("th", { scope: "col", class: "num", text: "Times" })])),
        h("tbody", {}, reasons.map((r) => h("tr", {}, [
          h("td", { text: r.reason }),
          h("td", { class: "num", text: fmtNumber(r.count, 0, 0) }),
        ]))),
      ])) : null,
    ]);
  }

  Object.assign(lab, {
    renderDecisions: renderDecisions,
    metricRows: metricRows,
    metricBases: metricBases,
    metricValue: metricValue,
    GROUPS: GROUPS,
    renderMetrics: renderMetrics,
    renderSummary: renderSummary,
    renderTrades: renderTrades,
    paramField: paramField,
    fmtParam: fmtParam,
    gridField: gridField,
    fmtGridValue: fmtGridValue,
    gridValueOf: gridValueOf,
    gridValuesText: gridValuesText,
    statusCell: statusCell,
    resultCells: resultCells,
    whenCell: whenCell,
  });
})();
