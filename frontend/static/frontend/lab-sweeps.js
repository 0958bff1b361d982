// The Backtesting Lab's sweeps: the open sweep (its backtests with live status and progress over
// the dashboard feed, polled every 2 s while the feed is down or quiet; once all have finished, one
// comparison of all of them with the values tried first) and the list of past sweeps.
(function () {
  "use strict";
  if (!document.getElementById("sweep-panel")) return;
  const { h, fill, byId, tableBody, badge, ApiError, getJson, postJson, errorText } = window.optionsbotUI;
  const lab = window.optionsbotLab;

  const API = {
    sweeps: "/api/backtests/sweeps/",
    sweep: (id) => "/api/backtests/sweeps/" + id + "/",
    cancel: (id) => "/api/backtests/" + id + "/cancel/",
  };
  const POLL_MS = 2000;
  const QUIET_MS = 10000; // with the feed up, poll anyway after this long without news of the sweep
  const LIST_EVERY_MS = 5000; // the list is refreshed at most this often (its sweeps carry all runs)
  const PAGE = 10;

  let current = null; // the open sweep, as GET /api/backtests/sweeps/{id}/ gives it
  let lastHeard = 0;
  let compareKey = null; // what the comparison on the page shows: ids and statuses
  let sweepsLimit = PAGE;
  const listedRuns = new Set(); // ids of the runs of the sweeps in the list

  function problem(error) {
    if (error instanceof ApiError && error.status === 404) return "The sweep service did not answer (not found). It may not be installed on this server yet.";
    return errorText(error);
  }

  function feedOpen() {
    const status = byId("live-status");
    return !!status && status.dataset.state === "open";
  }

  // --- Words for a sweep -------------------------------------------------------------------------

  function keysOf(sweep) {
    return Object.keys(sweep.grid || {});
  }

  function kindOf(sweep) {
    return ((sweep.runs || [])[0] || {}).logic_kind;
  }

  // "Max delta: 0.15, 0.2 × Seed: 1"
  function describeGrid(sweep) {
    const kind = kindOf(sweep);
    return keysOf(sweep).map((key) => {
      const field = lab.gridField(kind, key);
      const values = [].concat(sweep.grid[key]).map((v) => lab.fmtGridValue(field, v));
      return field.label + ": " + values.join(", ");
    }).join(" × ") || "—";
  }

  function counts(runs) {
    const n = { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 };
    for (const r of runs) n[r.status] = (n[r.status] || 0) + 1;
    return n;
  }

  function allFinished(sweep) {
    return (sweep.runs || []).every(lab.isFinished);
  }

  // "1 of 2 finished, 1 running" / "All 2 finished" / "All 4 finished, 1 failed"
  function runsText(sweep) {
    const runs = sweep.runs || [];
    const n = counts(runs);
    const ended = n.succeeded + n.failed + n.cancelled;
    const extra = [n.failed ? n.failed + " failed" : "", n.cancelled ? n.cancelled + " cancelled" : ""];
    if (ended === runs.length) return ["All " + runs.length + " finished"].concat(extra).filter(Boolean).join(", ");
    return [n.succeeded + " of " + runs.length + " finished", n.running ? n.running + " running" : "", n.queued ? n.queued + " waiting for a worker" : ""]
      .concat(extra).filter(Boolean).join(", ");
  }

  function sweepBadge(sweep) {
    const n = counts(sweep.runs || []);
    if (!allFinished(sweep)) return n.running ? badge("Running", "warn") : badge("Waiting for a worker", "plain");
    if (n.failed || n.cancelled) return badge("Finished, " + (n.failed ? n.failed + " failed" : n.cancelled + " cancelled"), "warn");
    return badge("Finished", "ok");
  }

  // --- The open sweep ----------------------------------------------------------------------------

  function renderSummary(sweep) {
    const first = (sweep.runs || [])[0] || {};
    const rows = [
      ["Values tried", describeGrid(sweep)],
      ["Backtests", runsText(sweep)],
      ["Strategy", first.id ? lab.strategyText(first) : "—"],
      ["Market data", first.id ? lab.describeSourceLong(first.source, keysOf(sweep).includes("source.seed") ? "varied" : first.seed) : "—"],
      ["Period (UTC)", lab.fmtPeriod(first.source)],
      ["Fills", lab.fmtFill(first.fill)],
      ["Started by", (first.created_by || "—") + ", " + lab.fmtTime(sweep.created_at)],
    ];
    fill(byId("sweep-summary"), h("dl", { class: "summary", "data-testid": "sweep-summary" }, rows.flatMap(([k, v]) => [h("dt", { text: k }), h("dd", { text: v })])));
  }

  function runProgress(run) {
    if (run.status !== "running") return null;
    const fraction = Math.max(0, Math.min(1, Number(lab.progressOf(run).fraction) || 0));
    return h("div", { class: "progress mini", role: "progressbar", "aria-label": "Backtest #" + run.id, "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(Math.round(fraction * 100)) },
      h("div", { class: "progress-fill", style: "width: " + fraction * 100 + "%" }));
  }

  function statusCell(run) {
    return [lab.statusCell(run), runProgress(run)];
  }

  function runRow(run, keys, kind) {
    return h("tr", { "data-run": run.id, "data-status": run.status }, [
      h("td", {}, h("button", {
        type: "button", class: "link", text: "#" + run.id,
        onclick: () => document.dispatchEvent(new CustomEvent("lab:open-run", { detail: { id: run.id } })),
      })),
    ].concat(keys.map((key) => h("td", { class: "num", text: lab.fmtGridValue(lab.gridField(kind, key), lab.gridValueOf(run, key)) })), [
      h("td", { "data-cell": "status" }, statusCell(run)),
      ...lab.resultCells(run),
    ]));
  }

  function renderRuns(sweep) {
    const keys = keysOf(sweep);
    const kind = kindOf(sweep);
    const table = byId("sweep-runs");
    fill(table.tHead, h("tr", {}, [h("th", { scope: "col", text: "Backtest" })].concat(
      keys.map((key) => {
        const field = lab.gridField(kind, key);
        return h("th", { scope: "col", class: "num", text: field.label + (field.unit ? " (" + field.unit + ")" : "") });
      }),
      ["Status", "Net profit", "Sharpe", "Max drawdown"].map((t, i) => h("th", { scope: "col", class: i ? "num" : null, text: t })),
    )));
    tableBody("sweep-runs", (sweep.runs || []).map((r) => runRow(r, keys, kind)), "This sweep has no backtests.");
  }

  function renderProgress(sweep) {
    const runs = sweep.runs || [];
    const box = byId("sweep-progress");
    box.hidden = allFinished(sweep);
    const status = byId("sweep-status");
    status.dataset.status = allFinished(sweep) ? "finished" : "running";
    fill(status, sweepBadge(sweep));
    const cancel = byId("sweep-cancel");
    if (cancel) cancel.hidden = allFinished(sweep);
    if (box.hidden) return;
    const done = runs.reduce((sum, r) => sum + (lab.isFinished(r) ? 1 : r.status === "running" ? Number(lab.progressOf(r).fraction) || 0 : 0), 0);
    const fraction = runs.length ? done / runs.length : 0;
    const bar = byId("sweep-progress-bar");
    bar.setAttribute("aria-valuenow", String(Math.round(fraction * 100)));
    byId("sweep-progress-fill").style.width = fraction * 100 + "%";
    byId("sweep-progress-text").textContent = runsText(sweep) + " (" + Math.round(fraction * 100) + " % of the work). Each backtest runs as soon as a worker is free.";
  }

  function renderCompare(sweep) {
    const runs = sweep.runs || [];
    const wrap = byId("sweep-compare-wrap");
    const note = byId("sweep-compare-note");
    if (!runs.length || !allFinished(sweep)) {
      wrap.hidden = true;
      byId("sweep-compare-filters").hidden = true;
      compareKey = null;
      note.textContent = "The comparison of its " + runs.length + " backtests appears here when every one has finished (" + counts(runs).succeeded + " so far).";
      return;
    }
    const key = runs.map((r) => r.id + ":" + r.status).join(",");
    if (key === compareKey) return;
    compareKey = key;
    const keys = keysOf(sweep);
    const kind = kindOf(sweep);
    note.textContent = "One column per backtest, the values tried first. The best value of each row is highlighted (where more or less is clearly better); settings that differ are marked." +
      (runs.length > 6 ? " Scroll sideways for more backtests." : "");
    lab.chooseBasis(byId("sweep-compare-basis"), runs);
    byId("sweep-compare-filters").hidden = false;
    wrap.hidden = false;
    drawCompare(sweep, keys, kind);
  }

  function drawCompare(sweep, keys, kind) {
    lab.renderComparison(byId("sweep-compare"), sweep.runs, {
      basis: byId("sweep-compare-basis"),
      problem: problem,
      varied: keys.map((key) => {
        const field = lab.gridField(kind, key);
        return { key: key, label: field.label + (field.unit ? " (" + field.unit + ")" : ""), help: field.help, value: (r) => lab.fmtGridValue(field, lab.gridValueOf(r, key)) };
      }),
      head: (r) => ["#" + r.id, h("div", { class: "muted", text: lab.gridValuesText(r, keys) })],
    });
  }

  byId("sweep-compare-basis").addEventListener("change", () => {
    if (current) drawCompare(current, keysOf(current), kindOf(current));
  });

  function render(sweep) {
    byId("sweep-title").textContent = "Sweep #" + sweep.id + " " + sweep.name;
    renderSummary(sweep);
    renderProgress(sweep);
    renderRuns(sweep);
    renderCompare(sweep);
  }

  function setUrl(id) {
    const url = new URL(window.location.href);
    if (id) url.searchParams.set("sweep", String(id));
    else url.searchParams.delete("sweep");
    window.history.replaceState(null, "", url);
  }

  async function openSweep(id, options) {
    const panel = byId("sweep-panel");
    current = { id: id, name: "", grid: {}, runs: [] };
    compareKey = null;
    byId("sweep-title").textContent = "Sweep #" + id + (options && options.name ? " " + options.name : "");
    fill(byId("sweep-summary"), h("p", { class: "muted", text: "Loading sweep #" + id + "…" }));
    fill(byId("sweep-status"), []);
    byId("sweep-progress").hidden = true;
    byId("sweep-error").hidden = true;
    byId("sweep-compare-wrap").hidden = true;
    byId("sweep-compare-filters").hidden = true;
    byId("sweep-compare-note").textContent = "";
    tableBody("sweep-runs", [], "Loading…");
    panel.hidden = false;
    if (!options || options.updateUrl !== false) setUrl(id);
    markOpenRow();
    if (options && options.scroll) panel.scrollIntoView({ block: "start", behavior: "smooth" });
    try {
      const sweep = await getJson(API.sweep(id));
      if (!current || current.id !== id) return;
      current = sweep;
      lastHeard = Date.now();
      render(sweep);
    } catch (error) {
      if (!current || current.id !== id) return;
      current = null;
      fill(byId("sweep-summary"), h("p", { class: "error", text: error instanceof ApiError && error.status === 404 ? "There is no sweep #" + id + "." : problem(error) }));
      tableBody("sweep-runs", [], "—");
    }
  }

  // One fetch of the open sweep at a time; asked again meanwhile, one more after it.
  let fetching = null;
  let fetchAgain = false;
  function refreshSweep() {
    if (!current) return Promise.resolve();
    if (fetching) {
      fetchAgain = true;
      return fetching;
    }
    const id = current.id;
    fetching = getJson(API.sweep(id)).then((sweep) => {
      if (!current || current.id !== id) return;
      current = sweep;
      lastHeard = Date.now();
      render(sweep);
    }).catch(() => {
      // The next poll or event tries again; the top bar shows the connection.
    }).finally(() => {
      fetching = null;
      if (fetchAgain) {
        fetchAgain = false;
        refreshSweep();
      }
    });
    return fetching;
  }

  function runOf(id) {
    return current && (current.runs || []).find((r) => r.id === id);
  }

  // A progress event moves the run's row and the sweep's bar at once; a finished one reloads the
  // sweep (for the run's figures).
  document.addEventListener("optionsbot:event", (event) => {
    const detail = event.detail || {};
    const update = lab.eventUpdate(detail);
    if (!update) return;
    const run = runOf(update.id);
    if (run) {
      lastHeard = Date.now();
      if (detail.topic === "backtest.finished") {
        refreshSweep();
      } else {
        Object.assign(run, update);
        renderProgress(current);
        const cell = document.querySelector('#sweep-runs tr[data-run="' + run.id + '"] [data-cell="status"]');
        if (cell) fill(cell, statusCell(run));
      }
    }
    if (detail.topic === "backtest.finished" && (listedRuns.has(update.id) || !runOf(update.id))) refreshSweeps();
  });

  document.addEventListener("optionsbot:connected", () => {
    if (current && !allFinished(current)) refreshSweep();
    refreshSweeps();
  });

  setInterval(() => {
    if (!current || !current.runs || !current.runs.length || allFinished(current)) return;
    if (feedOpen() && Date.now() - lastHeard < QUIET_MS) return;
    refreshSweep();
  }, POLL_MS);

  byId("sweep-close").addEventListener("click", () => {
    current = null;
    compareKey = null;
    byId("sweep-panel").hidden = true;
    setUrl(null);
    markOpenRow();
  });

  const cancelButton = byId("sweep-cancel");
  if (cancelButton) {
    cancelButton.addEventListener("click", async () => {
      if (!current) return;
      cancelButton.disabled = true;
      const box = byId("sweep-error");
      box.hidden = true;
      const waiting = (current.runs || []).filter((r) => !lab.isFinished(r));
      const failed = [];
      for (const run of waiting) {
        try {
          await postJson(API.cancel(run.id), {});
        } catch (error) {
          if (!(error instanceof ApiError && error.status === 409)) failed.push("#" + run.id + ": " + problem(error));
        }
      }
      if (failed.length) {
        box.textContent = "Some backtests could not be cancelled. " + failed.join(" ");
        box.hidden = false;
      }
      cancelButton.disabled = false;
      refreshSweep();
    });
  }

  document.addEventListener("lab:open-sweep", (event) => openSweep(event.detail.id, { scroll: true }));

  document.addEventListener("lab:sweep-created", (event) => {
    openSweep(event.detail.id, { scroll: true, name: event.detail.name });
    refreshSweeps(true);
  });

  // --- Past sweeps ---------------------------------------------------------------------------------

  function sweepRow(sweep) {
    const first = (sweep.runs || [])[0] || {};
    return h("tr", { "data-sweep": sweep.id, class: current && current.id === sweep.id ? "open" : null }, [
      h("td", {}, h("button", { type: "button", class: "link", onclick: () => openSweep(sweep.id, { scroll: true }), text: "#" + sweep.id + " " + sweep.name })),
      h("td", { text: describeGrid(sweep) }),
      h("td", {}, [sweepBadge(sweep), h("div", { class: "muted", text: runsText(sweep) })]),
      h("td", { text: first.id ? lab.strategyText(first) : "—" }),
      h("td", { class: "nowrap" }, [lab.fmtDate(first.source && first.source.start), h("div", { text: "→ " + lab.fmtDate(first.source && first.source.end) })]),
      h("td", { class: "when" }, [].concat(lab.whenCell(sweep.created_at), first.created_by ? h("div", { class: "muted", text: "by " + first.created_by }) : [])),
    ]);
  }

  function markOpenRow() {
    document.querySelectorAll("#sweeps tr[data-sweep]").forEach((row) => {
      row.classList.toggle("open", !!current && String(current.id) === row.dataset.sweep);
    });
  }

  let listing = null;
  let listAgain = false;
  let listedAt = 0;
  let listTimer = null;
  function refreshSweeps(now) {
    if (!now && Date.now() - listedAt < LIST_EVERY_MS) {
      if (!listTimer) listTimer = setTimeout(() => { listTimer = null; refreshSweeps(true); }, LIST_EVERY_MS - (Date.now() - listedAt));
      return;
    }
    if (listing) {
      listAgain = true;
      return;
    }
    listedAt = Date.now();
    listing = getJson(API.sweeps, { limit: sweepsLimit }).then((page) => {
      const sweeps = page.results || [];
      listedRuns.clear();
      sweeps.forEach((s) => (s.runs || []).forEach((r) => listedRuns.add(r.id)));
      tableBody("sweeps", sweeps.map(sweepRow), "No sweeps yet." + (byId("lab-sweep") ? " Choose a parameter to vary in the Sweep part of the form above." : " An operator can start one."));
      byId("sweeps-count").textContent = page.count ? "Showing " + sweeps.length + " of " + page.count + "." : "";
      byId("sweeps-more").hidden = sweeps.length >= (page.count || 0);
    }).catch((error) => {
      tableBody("sweeps", [], "The list of sweeps could not be loaded: " + problem(error));
    }).finally(() => {
      listing = null;
      if (listAgain) {
        listAgain = false;
        refreshSweeps(true);
      }
    });
  }

  byId("sweeps-more").addEventListener("click", () => {
    sweepsLimit += PAGE;
    refreshSweeps(true);
  });

  // --- Start -------------------------------------------------------------------------------------

  refreshSweeps(true);
  const wanted = Number(new URL(window.location.href).searchParams.get("sweep"));
  if (wanted > 0) openSweep(wanted, { updateUrl: false });
})();
