// The Backtesting Lab: the open run (live progress over the dashboard feed, or polled every 2 s
// while the feed is down; cancel; results once finished), the list of past runs, and the
// side-by-side comparison of the runs ticked there (the table itself is lab-compare.js).
(function () {
  "use strict";
  if (!document.getElementById("run-panel")) return;
  const { fmtClock, fmtNumber, h, fill, byId, tableBody, badge, ApiError, getJson, postJson, errorText } = window.optionsbotUI;
  const lab = window.optionsbotLab;

  const API = {
    runs: "/api/backtests/",
    run: (id) => "/api/backtests/" + id + "/",
    equity: (id) => "/api/backtests/" + id + "/equity/",
    trades: (id) => "/api/backtests/" + id + "/trades/",
    cancel: (id) => "/api/backtests/" + id + "/cancel/",
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

  function feedOpen() {
    const status = byId("live-status");
    return !!status && status.dataset.state === "open";
  }

  // --- The open run: header, progress, cancel ---------------------------------------------------

  const progressOf = lab.progressOf;

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
      [defs, equity, trades] = await Promise.all([lab.metricDefinitions(), getJson(API.equity(run.id)), getJson(API.trades(run.id))]);
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
    const update = lab.eventUpdate(detail);
    if (!update) return;
    const data = detail.data || {};
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

  document.addEventListener("lab:open-run", (event) => {
    showRun(event.detail.id, { scroll: true });
  });

  document.addEventListener("lab:run-created", (event) => {
    const run = event.detail;
    runsById[run.id] = run;
    showRun(run.id, { run: run, scroll: true });
    refreshRuns();
  });

  // --- Past runs -------------------------------------------------------------------------------

  const statusCell = lab.statusCell;

  function runRow(run) {
    const box = h("input", {
      type: "checkbox", "aria-label": "Compare backtest " + run.id, value: String(run.id), checked: ticked.has(run.id),
      onchange: (e) => { if (e.target.checked) ticked.add(run.id); else ticked.delete(run.id); syncCompareButton(); },
    });
    return h("tr", { "data-run": run.id, class: current && current.id === run.id ? "open" : null }, [
      h("td", {}, box),
      h("td", {}, [
        h("button", { type: "button", class: "link", onclick: () => showRun(run.id, { scroll: true }), text: lab.runTitle(run) }),
        run.sweep ? h("div", { class: "muted" }, ["in ", h("button", {
          type: "button", class: "link", text: "sweep #" + run.sweep,
          onclick: () => document.dispatchEvent(new CustomEvent("lab:open-sweep", { detail: { id: run.sweep } })),
        })]) : null,
      ]),
      h("td", { "data-cell": "status" }, statusCell(run)),
      h("td", { text: lab.strategyText(run) }),
      h("td", { text: lab.describeSource(run.source) }),
      h("td", { class: "nowrap" }, [lab.fmtDate(run.source && run.source.start), h("div", { text: "→ " + lab.fmtDate(run.source && run.source.end) })]),
      ...lab.resultCells(run),
      h("td", { class: "when" }, lab.whenCell(run.started_at || run.created_at)),
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

  function renderCompare() {
    lab.renderComparison(byId("compare"), compared, { basis: byId("compare-basis"), problem: apiProblem });
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
    lab.chooseBasis(byId("compare-basis"), compared);
    renderCompare();
    panel.scrollIntoView({ block: "start", behavior: "smooth" });
  });
  byId("compare-basis").addEventListener("change", renderCompare);

  // --- Start -------------------------------------------------------------------------------------

  refreshRuns();
  const wanted = Number(new URL(window.location.href).searchParams.get("run"));
  if (wanted > 0) showRun(wanted, { updateUrl: false });
})();
