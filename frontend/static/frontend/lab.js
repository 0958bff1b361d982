// The Backtesting Lab: the open run (live progress over the dashboard feed, or polled every 2 s
// while the feed is down; cancel; results once finished), the list of past runs, and the
// side-by-side comparison of the runs ticked there.
(function () {
  "use strict";
  if (!document.getElementById("run-panel")) return;
  const { isBlank, fmtClock, fmtNumber, h, fill, byId, tableBody, badge, ApiError, getJson, postJson, errorText } = window.optionsbotUI;
  const lab = window.optionsbotLab;

  const API = {
    runs: "/api/backtests/",
    run: (id) => "/api/backtests/" + id + "/",
    equity: (id) => "/api/backtests/" + id + "/equity/",
    trades: (id) => "/api/backtests/" + id + "/trades/",
    cancel: (id) => "/api/backtests/" + id + "/cancel/",
    metrics: "/api/backtests/metrics/",
    compare: "/api/backtests/compare/",
  };
  const POLL_MS = 2000;
  const QUIET_MS = 10000; // with the feed up, poll anyway after this long without news of the run
  const RUNS_PAGE = 20;

  let current = null; // the run shown in the run panel
  let resultsFor = null; // id of the run whose results are on the page
  let lastHeard = 0;
  let runsLimit = RUNS_PAGE;
  let runsById = {};
  const ticked = new Set();
  let metricDefs = null;

  function apiProblem(error) {
    if (error instanceof ApiError && error.status === 404) return "The backtest service did not answer (not found). It may not be installed on this server yet.";
    return errorText(error);
  }

  function loadError(error) {
    const box = byId("lab-load-error");
    if (!error) {
      box.hidden = true;
      return;
    }
    box.textContent = apiProblem(error);
    box.hidden = false;
  }

  function definitions() {
    if (!metricDefs) {
      metricDefs = getJson(API.metrics).then((body) => body.metrics).catch((error) => {
        metricDefs = null;
        throw error;
      });
    }
    return metricDefs;
  }

  function feedOpen() {
    const status = byId("live-status");
    return !!status && status.dataset.state === "open";
  }

  // --- The open run: header, progress, cancel ---------------------------------------------------

  function progressOf(run) {
    return run.progress || { done: 0, total: 0, fraction: 0, eta_seconds: null };
  }

  function renderProgress(run) {
    const box = byId("run-progress");
    const running = run.status === "running" || run.status === "queued";
    box.hidden = !running;
    if (!running) return;
    const p = progressOf(run);
    const fraction = Math.max(0, Math.min(1, Number(p.fraction) || 0));
    const bar = byId("run-progress-bar");
    const percent = Math.round(fraction * 100);
    bar.setAttribute("aria-valuenow", String(percent));
    bar.dataset.state = run.status;
    byId("run-progress-fill").style.width = (run.status === "queued" ? 0 : fraction * 100) + "%";
    byId("run-progress-text").textContent = run.status === "queued"
      ? "Waiting for a worker to start it…"
      : p.total
        ? "Step " + fmtNumber(p.done, 0, 0) + " of " + fmtNumber(p.total, 0, 0) + " (" + percent + " %) · " + lab.fmtEta(p.eta_seconds, p.done)
        : "Preparing the market data…";
    box.dataset.fraction = String(fraction);
  }

  function renderHead(run) {
    byId("run-title").textContent = "Backtest " + lab.runTitle(run) + " · " + lab.strategyText(run);
    const status = byId("run-status");
    status.dataset.status = run.status;
    fill(status, badge(lab.statusText(run.status), lab.statusKind(run.status)));
    const cancel = byId("run-cancel");
    if (cancel) cancel.hidden = lab.isFinished(run);
    renderProgress(run);
    const error = byId("run-error");
    if (run.status === "failed") {
      error.textContent = "This backtest failed: " + lab.plainError(run.error);
      error.hidden = false;
    } else if (run.status === "cancelled") {
      const p = progressOf(run);
      error.textContent = "This backtest was cancelled" + (p.total ? " after " + fmtNumber(p.done, 0, 0) + " of " + fmtNumber(p.total, 0, 0) + " steps" : "") +
        (run.metrics ? ". The results below cover only the steps it ran." : ", before it had results.");
      error.hidden = false;
    } else {
      error.hidden = true;
    }
  }

  function apply(run) {
    if (!current || run.id !== current.id) return;
    const wasFinished = lab.isFinished(current);
    current = Object.assign({}, current, run);
    lastHeard = Date.now();
    renderHead(current);
    if (lab.isFinished(current) && (!wasFinished || resultsFor !== current.id)) loadResults(current);
  }

  async function fetchRun(id) {
    const run = await getJson(API.run(id));
    runsById[run.id] = Object.assign(runsById[run.id] || {}, run);
    return run;
  }

  async function showRun(id, options) {
    const panel = byId("run-panel");
    resultsFor = null;
    lab.charts.destroyAll();
    byId("run-results").hidden = true;
    fill(byId("run-summary"), h("p", { class: "muted", text: "Loading backtest #" + id + "…" }));
    byId("run-progress").hidden = true;
    byId("run-error").hidden = true;
    panel.hidden = false;
    if (!options || options.updateUrl !== false) setUrl(id);
    let run = options && options.run;
    try {
      if (!run) run = await fetchRun(id);
    } catch (error) {
      current = null;
      fill(byId("run-summary"), h("p", { class: "error", text: error instanceof ApiError && error.status === 404 ? "There is no backtest #" + id + "." : apiProblem(error) }));
      return;
    }
    current = run;
    lastHeard = Date.now();
    byId("run-title").textContent = "Backtest " + lab.runTitle(run);
    lab.renderSummary(byId("run-summary"), run);
    renderHead(run);
    markOpenRow();
    if (lab.isFinished(run)) loadResults(run);
    if (options && options.scroll) panel.scrollIntoView({ block: "start", behavior: "smooth" });
  }

  function setUrl(id) {
    const url = new URL(window.location.href);
    if (id) url.searchParams.set("run", String(id));
    else url.searchParams.delete("run");
    window.history.replaceState(null, "", url);
  }

  async function loadResults(run) {
    lab.renderSummary(byId("run-summary"), run);
    const results = byId("run-results");
    if (!run.metrics) {
      results.hidden = true;
      return;
    }
    resultsFor = run.id;
    fill(byId("charts-note"), "Loading the equity curve…");
    let defs, equity, trades;
    try {
      [defs, equity, trades] = await Promise.all([definitions(), getJson(API.equity(run.id)), getJson(API.trades(run.id))]);
    } catch (error) {
      resultsFor = null;
      byId("run-error").textContent = "The results could not be loaded: " + apiProblem(error);
      byId("run-error").hidden = false;
      return;
    }
    if (!current || current.id !== run.id) return;
    results.hidden = false;
    const period = run.metrics.period || {};
    byId("charts-note").textContent = (period.steps ? fmtNumber(period.steps, 0, 0) + " steps" : "") +
      (period.start ? ", " + lab.fmtTime(period.start) + " to " + lab.fmtTime(period.end) : "") +
      ". Buy & hold is keeping the starting coins: flat in coin, moving with the index in US dollars. Drag across a chart to zoom; double-click to reset.";
    lab.charts.render(byId("run-charts"), equity.points || [], run);
    lab.renderMetrics(byId("run-metrics"), run.metrics, defs);
    lab.renderTrades(byId("run-trades"), byId("run-fills"), trades);
    lab.renderDecisions(byId("run-decisions"), run.decisions || {});
  }

  const cancelButton = byId("run-cancel");
  if (cancelButton) {
    cancelButton.addEventListener("click", async () => {
      if (!current) return;
      cancelButton.disabled = true;
      try {
        apply(await postJson(API.cancel(current.id), {}));
      } catch (error) {
        const box = byId("run-error");
        box.textContent = error instanceof ApiError && error.status === 409
          ? "This backtest had already finished; nothing to cancel."
          : "Could not cancel: " + apiProblem(error);
        box.hidden = false;
        if (current) fetchRun(current.id).then(apply).catch(() => {});
      } finally {
        cancelButton.disabled = false;
      }
      refreshRuns();
    });
  }

  byId("run-close").addEventListener("click", () => {
    current = null;
    resultsFor = null;
    lab.charts.destroyAll();
    byId("run-panel").hidden = true;
    setUrl(null);
    markOpenRow();
  });

  // --- Live progress, with polling as the fallback ------------------------------------------

  document.addEventListener("optionsbot:event", (event) => {
    const detail = event.detail || {};
    if (detail.topic !== "backtest.progress" && detail.topic !== "backtest.finished") return;
    const data = detail.data || {};
    const update = { id: data.id, status: data.status, progress: { done: data.done, total: data.total, fraction: data.fraction, eta_seconds: data.eta_seconds } };
    if (detail.topic === "backtest.finished") update.error = data.error === undefined ? null : data.error;
    updateRow(update);
    if (current && data.id === current.id) {
      if (detail.topic === "backtest.finished") {
        lastHeard = Date.now();
        fetchRun(data.id).then(apply).catch(() => {}); // the poll picks it up
      } else {
        apply(update);
      }
    }
    if (detail.topic === "backtest.finished" || !runsById[data.id]) refreshRuns();
  });

  document.addEventListener("optionsbot:connected", () => {
    if (current && !lab.isFinished(current)) fetchRun(current.id).then(apply).catch(() => {});
    refreshRuns();
  });

  let polling = false;
  setInterval(async () => {
    if (polling || !current || lab.isFinished(current)) return;
    if (feedOpen() && Date.now() - lastHeard < QUIET_MS) return;
    polling = true;
    try {
      const run = await fetchRun(current.id);
      apply(run);
      updateRow(run);
      if (lab.isFinished(run)) refreshRuns();
    } catch (error) {
      // The next poll tries again; the status badge in the top bar shows the connection.
    } finally {
      polling = false;
    }
  }, POLL_MS);

  document.addEventListener("lab:run-created", (event) => {
    const run = event.detail;
    runsById[run.id] = run;
    showRun(run.id, { run: run, scroll: true });
    refreshRuns();
  });

  // --- Past runs -------------------------------------------------------------------------------

  // One line per coin, in that coin, then the whole run in US dollars (grey).
  function perCoin(metrics, key, format) {
    if (!metrics || !metrics.currencies) return [];
    return Object.keys(metrics.currencies).sort().map((c) => {
      const value = (metrics.currencies[c].coin || {})[key];
      return h("div", { class: key.startsWith("net_profit") ? window.optionsbotUI.signClass(value) : "", title: "in " + c, text: format(value, c) });
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

  function whenCell(iso) {
    if (!iso) return "—";
    const text = lab.fmtTime(iso);
    return [text.slice(0, 10), h("div", { class: "muted", text: text.slice(11) })];
  }

  function statusCell(run) {
    const p = progressOf(run);
    const text = run.status === "running" && p.total ? lab.statusText(run.status) + " " + Math.round((p.fraction || 0) * 100) + " %" : lab.statusText(run.status);
    return badge(text, lab.statusKind(run.status));
  }

  function runRow(run) {
    const box = h("input", {
      type: "checkbox", "aria-label": "Compare backtest " + run.id, value: String(run.id), checked: ticked.has(run.id),
      onchange: (e) => { if (e.target.checked) ticked.add(run.id); else ticked.delete(run.id); syncCompareButton(); },
    });
    return h("tr", { "data-run": run.id, class: current && current.id === run.id ? "open" : null }, [
      h("td", {}, box),
      h("td", {}, h("button", { type: "button", class: "link", onclick: () => showRun(run.id, { scroll: true }), text: lab.runTitle(run) })),
      h("td", { "data-cell": "status" }, statusCell(run)),
      h("td", { text: lab.strategyText(run) }),
      h("td", { text: lab.describeSource(run.source) }),
      h("td", { class: "nowrap" }, [lab.fmtDate(run.source && run.source.start), h("div", { text: "→ " + lab.fmtDate(run.source && run.source.end) })]),
      h("td", { class: "num" }, figures(run, "net_profit_coin", lab.fmtSignedCoin, "net_profit_usd", lab.fmtSignedUsd)),
      h("td", { class: "num" }, figures(run, "sharpe", (v, c) => lab.fmtRatio(v) + " " + c, "sharpe", (v) => lab.fmtRatio(v) + " USD")),
      h("td", { class: "num" }, figures(run, "max_drawdown_pct", (v, c) => lab.fmtPct(v) + " " + c, "max_drawdown_pct", (v) => lab.fmtPct(v) + " USD")),
      h("td", { class: "when" }, whenCell(run.started_at || run.created_at)),
    ]);
  }

  function updateRow(update) {
    const known = runsById[update.id];
    if (!known) return;
    Object.assign(known, update);
    const cell = document.querySelector('#runs tr[data-run="' + update.id + '"] [data-cell="status"]');
    if (cell) fill(cell, statusCell(known));
  }

  function markOpenRow() {
    document.querySelectorAll("#runs tr[data-run]").forEach((row) => {
      row.classList.toggle("open", !!current && String(current.id) === row.dataset.run);
    });
  }

  let refreshing = null;
  let again = false;
  function refreshRuns() {
    if (refreshing) {
      again = true;
      return refreshing;
    }
    refreshing = getJson(API.runs, { limit: runsLimit }).then((page) => {
      loadError(null);
      const runs = page.results || [];
      runs.forEach((r) => { runsById[r.id] = Object.assign(runsById[r.id] || {}, r); });
      tableBody("runs", runs.map(runRow), "No backtests yet." + (byId("lab-form") ? " Start one with the form above." : " An operator can start one."));
      byId("runs-count").textContent = page.count ? "Showing " + runs.length + " of " + page.count + "." : "";
      byId("runs-more").hidden = runs.length >= (page.count || 0);
      byId("lab-updated").textContent = "Runs as of " + fmtClock(new Date()) + ". Progress updates by itself.";
    }).catch((error) => {
      loadError(error);
      tableBody("runs", [], "The list of backtests could not be loaded.");
    }).finally(() => {
      refreshing = null;
      if (again) {
        again = false;
        refreshRuns();
      }
    });
    return refreshing;
  }

  byId("runs-more").addEventListener("click", () => {
    runsLimit += RUNS_PAGE;
    refreshRuns();
  });

  // --- Comparison --------------------------------------------------------------------------------

  let compared = [];

  function syncCompareButton() {
    const n = ticked.size;
    byId("compare-button").disabled = n < 2 || n > 12;
    byId("compare-count").textContent = n < 2 ? "Tick at least two backtests." : n > 12 ? "At most 12 at once." : n + " ticked.";
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

  function baseFor(run, id) {
    if (!run.metrics) return null;
    return lab.metricBases(run.metrics, true).find((b) => b.id === id) || null;
  }

  function settingRows(runs) {
    const rows = [
      ["Strategy", (r) => lab.strategyText(r)],
      ["Status", (r) => lab.statusText(r.status)],
      ["Market data", (r) => lab.describeSourceLong(r.source, r.source && r.source.seed)],
      ["Period (UTC)", (r) => lab.fmtPeriod(r.source)],
    ];
    const names = Array.from(new Set(runs.flatMap((r) => Object.keys(r.parameters || {}))));
    for (const name of names) {
      const kind = (runs.find((r) => r.parameters && name in r.parameters) || {}).logic_kind;
      const field = lab.paramField(kind, name);
      rows.push([field.label, (r) => (r.parameters && name in r.parameters ? lab.fmtParam(field, r.parameters[name]) : "—"), field.help]);
    }
    return rows.map(([label, value, help]) => {
      const values = runs.map(value);
      const differs = new Set(values).size > 1;
      return h("tr", { class: differs ? "differs" : null }, [
        h("th", { scope: "row" }, [h("span", { class: help ? "has-help" : null, title: help || null, text: label }), differs ? h("span", { class: "pill pill-warn", text: "differs" }) : null]),
      ].concat(values.map((v) => h("td", { text: v }))));
    });
  }

  function renderCompare() {
    const table = byId("compare");
    const runs = compared;
    const basisId = byId("compare-basis").value;
    const basisLabel = byId("compare-basis").selectedOptions[0] ? byId("compare-basis").selectedOptions[0].text : "";
    fill(table.tHead, h("tr", {}, [h("th", { scope: "col", text: "" })].concat(runs.map((r) => h("th", { scope: "col", class: "num", "data-run": r.id }, [
      lab.runTitle(r), h("div", { class: "muted", text: lab.strategyText(r) }),
    ])))));
    const body = [h("tr", { class: "group" }, h("th", { scope: "colgroup", colspan: runs.length + 1, text: "Settings" }))].concat(settingRows(runs));
    definitions().then((defs) => {
      const rows = lab.metricRows(defs);
      for (const [group, title] of lab.GROUPS) {
        const lines = [];
        for (const row of rows.filter((r) => r.group === group)) {
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
        if (lines.length) body.push(h("tr", { class: "group" }, h("th", { scope: "colgroup", colspan: runs.length + 1, text: title + " · " + basisLabel })), ...lines);
      }
      fill(table.tBodies[0], body);
    }).catch((error) => {
      fill(table.tBodies[0], body.concat(h("tr", {}, h("td", { colspan: runs.length + 1, class: "error", text: "The metric definitions could not be loaded: " + apiProblem(error) }))));
    });
  }

  byId("compare-button").addEventListener("click", async () => {
    const ids = Array.from(ticked).sort((a, b) => a - b);
    const panel = byId("compare-panel");
    panel.hidden = false;
    fill(byId("compare").tBodies[0], h("tr", {}, h("td", { class: "muted", text: "Loading…" })));
    try {
      const body = await getJson(API.compare, { ids: ids.join(",") });
      // The list knows more of each run (its kind, dates); the comparison's figures win.
      compared = (body.runs || []).map((r) => Object.assign({}, runsById[r.id] || {}, r));
    } catch (error) {
      const detail = error instanceof ApiError && error.status === 400 && error.body ? Object.values(error.body).flat().join(" ") : apiProblem(error);
      fill(byId("compare").tBodies[0], h("tr", {}, h("td", { class: "error", text: "Could not compare: " + detail })));
      return;
    }
    const select = byId("compare-basis");
    const previous = select.value;
    const bases = compareBases(compared);
    fill(select, bases.map((b) => h("option", { value: b.id, text: b.label })));
    const common = bases.find((b) => b.id.endsWith(":coin") && compared.every((r) => r.metrics && r.metrics.currencies && b.id.split(":")[0] in r.metrics.currencies));
    select.value = bases.some((b) => b.id === previous) ? previous : (common || bases[bases.length - 1]).id;
    renderCompare();
    panel.scrollIntoView({ block: "start", behavior: "smooth" });
  });
  byId("compare-basis").addEventListener("change", renderCompare);

  // --- Start -------------------------------------------------------------------------------------

  refreshRuns();
  const wanted = Number(new URL(window.location.href).searchParams.get("run"));
  if (wanted > 0) showRun(wanted, { updateUrl: false });
})();
