// The Calibration tab: the parameters in use and the proposed ones (approve: operators), a new
// run (operators), the open run (live progress over the dashboard feed, or polled every 2 s while
// the feed is down; cancel; results once finished), the error over time and the past runs.
(function () {
  "use strict";
  if (!document.getElementById("cal-run-panel")) return;
  const { fmtClock, fmtNumber, h, fill, byId, tableBody, badge, ApiError, getJson, postJson, errorText } = window.optionsbotUI;
  const cal = window.optionsbotCal;
  const config = cal.config;

  const API = {
    runs: "/api/calibration/runs/",
    run: (id) => "/api/calibration/runs/" + id + "/",
    cancel: (id) => "/api/calibration/runs/" + id + "/cancel/",
    params: "/api/calibration/params/",
    approve: (id) => "/api/calibration/params/" + id + "/approve/",
  };
  const POLL_MS = 2000;
  const QUIET_MS = 10000;
  const RUNS_PAGE = 20;
  const COINS = ["BTC", "ETH"];
  const operator = !!byId("cal-form");

  let current = null;
  let resultsFor = null;
  let lastHeard = 0;
  let runsLimit = RUNS_PAGE;

  function problem(error) {
    if (error instanceof ApiError && error.status === 404) return "The calibration service did not answer (not found).";
    return errorText(error);
  }

  function loadError(error) {
    const box = byId("cal-load-error");
    box.hidden = !error;
    if (error) box.textContent = problem(error);
  }

  function feedOpen() {
    const status = byId("live-status");
    return !!status && status.dataset.state === "open";
  }

  // --- Parameters in use, proposed and earlier ------------------------------------------------

  byId("cal-policy").textContent = config.policy.text;

  function inUseCard(coin, set) {
    const defaults = config.defaults[coin];
    const status = set
      ? [badge("In use", "ok"), " Set #" + set.id + (set.source_run ? ", fitted by calibration #" + set.source_run : "") + ", since " + cal.fmtWhen(set.decided_at) + " UTC."]
      : [badge("Defaults", "plain"), " The generator's default parameters: nothing calibrated has been put in use yet."];
    return h("div", { class: "card", "data-currency": coin, "data-set": set ? set.id : "" }, [
      h("h3", { text: coin }),
      h("p", {}, status),
      set && set.reason ? h("p", { class: "hint", text: set.reason }) : null,
      h("details", {}, [
        h("summary", { text: "The parameters" }),
        cal.paramTable([{ label: "In use", values: set ? set.parameters : defaults }, { label: "Generator default", values: defaults }], coin + " parameters in use"),
      ]),
    ]);
  }

  function approveButton(set, text) {
    if (!operator) return null;
    const button = h("button", { type: "button", class: "primary small", "data-approve": set.id, text: text });
    button.addEventListener("click", async () => {
      button.disabled = true;
      const note = button.parentElement.querySelector(".approve-status");
      try {
        await postJson(API.approve(set.id), {});
        if (note) note.textContent = "";
        refreshParams();
        refreshRuns();
      } catch (error) {
        if (note) note.textContent = error instanceof ApiError && error.status === 409 ? "This set is already in use." : "Could not approve: " + problem(error);
        button.disabled = false;
      }
    });
    return button;
  }

  function proposalCard(set, inUse) {
    const verdict = set.verdict || {};
    return h("div", { class: "card proposal", "data-set": set.id, "data-currency": set.currency }, [
      h("h4", { text: set.currency + " · set #" + set.id + (set.source_run ? " · from calibration #" + set.source_run : "") + " · " + cal.fmtWhen(set.created_at) + " UTC" }),
      h("p", { class: "verdict-summary", text: set.reason || verdict.summary || "" }),
      verdict.checks ? h("ul", { class: "checks" }, verdict.checks.map((c) => h("li", { class: c.passed ? "ok" : "no" }, [h("span", { class: "sr-only", text: c.passed ? "Met: " : "Not met: " }), c.text]))) : null,
      cal.paramTable([
        { label: "Proposed", values: set.parameters },
        { label: inUse ? "In use now (#" + inUse.id + ")" : "In use now (defaults)", values: inUse ? inUse.parameters : config.defaults[set.currency] },
      ], "Proposed set " + set.id),
      h("div", { class: "actions" }, [
        approveButton(set, "Use set #" + set.id + " for " + set.currency + " backtests"),
        h("span", { class: "muted approve-status", role: "status" }),
      ]),
    ]);
  }

  function earlierRow(set) {
    const span = set.decided_at ? cal.fmtWhen(set.decided_at) + " → " + (set.retired_at ? cal.fmtWhen(set.retired_at) : "") : "never";
    return h("tr", { "data-set": set.id }, [
      h("td", { text: "#" + set.id }),
      h("td", { text: set.currency }),
      h("td", { text: set.source_run ? "calibration #" + set.source_run : "—" }),
      h("td", { class: "nowrap", text: span }),
      h("td", { class: "reason" }, [h("div", { text: set.retired_note || "" }), h("div", { class: "muted", text: set.reason || "" })]),
      h("td", {}, approveButton(set, "Use again")),
    ]);
  }

  async function refreshParams() {
    let sets;
    try {
      sets = (await getJson(API.params, { limit: 200 })).results || [];
    } catch (error) {
      loadError(error);
      fill(byId("params-in-use"), h("p", { class: "error", text: "The parameter sets could not be loaded." }));
      return;
    }
    const inUse = {};
    for (const s of sets) if (s.status === "in_use") inUse[s.currency] = s;
    fill(byId("params-in-use"), COINS.map((c) => inUseCard(c, inUse[c])));
    const proposed = sets.filter((s) => s.status === "proposed");
    fill(byId("params-proposed"), proposed.length ? proposed.map((s) => proposalCard(s, inUse[s.currency]))
      : h("p", { class: "muted empty", text: "No proposals waiting. A calibration with a fit window proposes new parameters; they are put in use at once when the policy holds, otherwise they wait here for an operator." }));
    const earlier = sets.filter((s) => s.status === "retired");
    tableBody("params-earlier", earlier.map(earlierRow), "No earlier sets: nothing has been replaced yet.");
    byId("params-earlier-box").hidden = !earlier.length;
  }

  // --- The open run ------------------------------------------------------------------------------

  function renderProgress(run) {
    const box = byId("cal-run-progress");
    const running = !cal.isFinished(run);
    box.hidden = !running;
    if (!running) return;
    const p = run.progress || {};
    const fraction = Math.max(0, Math.min(1, Number(p.fraction) || 0));
    byId("cal-run-progress-bar").setAttribute("aria-valuenow", String(Math.round(fraction * 100)));
    byId("cal-run-progress-bar").dataset.state = run.status;
    byId("cal-run-progress-fill").style.width = (run.status === "queued" ? 0 : fraction * 100) + "%";
    byId("cal-run-progress-text").textContent = run.status === "queued" ? "Waiting for a worker to start it…"
      : (p.note || "Starting") + "… (step " + (Math.min(p.done + 1, p.total) || 1) + " of " + (p.total || "?") + ")";
    box.dataset.fraction = String(fraction);
  }

  function renderHead(run) {
    byId("cal-run-title").textContent = "Calibration " + cal.runTitle(run);
    const status = byId("cal-run-status");
    status.dataset.status = run.status;
    fill(status, badge(cal.statusText(run.status), cal.statusKind(run.status)));
    const cancel = byId("cal-run-cancel");
    if (cancel) cancel.hidden = cal.isFinished(run);
    renderProgress(run);
    const error = byId("cal-run-error");
    error.hidden = run.status !== "failed" && run.status !== "cancelled";
    if (run.status === "failed") error.textContent = "This calibration failed: " + cal.plainError(run.error);
    if (run.status === "cancelled") error.textContent = "This calibration was cancelled before it had results.";
  }

  function renderSummary(run) {
    const rows = [
      ["Prices", cal.describeSource(run) + (run.data_path ? " · " + run.data_path : "")],
      ["Windows (UTC)", cal.windowsText(run)],
      ["Underlying history", run.history_path || (run.source === "live" ? "—" : "the snapshots' index prices")],
      ["Started by", (run.trigger === "schedule" ? "the daily schedule" : run.created_by || "—") + ", " + cal.fmtTime(run.created_at)],
    ];
    if (run.source_description) rows.push(["What was compared", run.source_description]);
    fill(byId("cal-run-summary"), h("dl", { class: "summary" }, rows.flatMap(([k, v]) => [h("dt", { text: k }), h("dd", { text: v })])));
  }

  function apply(run) {
    if (!current || run.id !== current.id) return;
    current = Object.assign({}, current, run);
    lastHeard = Date.now();
    renderHead(current);
    if (cal.isFinished(current) && resultsFor !== current.id) loadResults(current.id);
  }

  async function loadResults(id) {
    resultsFor = id;
    let run;
    try {
      run = await getJson(API.run(id));
    } catch (error) {
      resultsFor = null;
      return;
    }
    if (!current || current.id !== id) return;
    current = run;
    renderSummary(run);
    renderHead(run);
    const box = byId("cal-run-results");
    box.hidden = !run.report;
    if (run.report) cal.report.render(box, run);
  }

  async function showRun(id, options) {
    resultsFor = null;
    cal.charts.destroy(byId("cal-run-results"));
    byId("cal-run-results").hidden = true;
    byId("cal-run-error").hidden = true;
    byId("cal-run-progress").hidden = true;
    fill(byId("cal-run-summary"), h("p", { class: "muted", text: "Loading calibration #" + id + "…" }));
    byId("cal-run-panel").hidden = false;
    setUrl(id);
    let run;
    try {
      run = (options && options.run) || (await getJson(API.run(id)));
    } catch (error) {
      current = null;
      fill(byId("cal-run-summary"), h("p", { class: "error", text: error instanceof ApiError && error.status === 404 ? "There is no calibration #" + id + "." : problem(error) }));
      return;
    }
    current = run;
    lastHeard = Date.now();
    renderSummary(run);
    renderHead(run);
    if (cal.isFinished(run)) loadResults(run.id);
    if (options && options.scroll) byId("cal-run-panel").scrollIntoView({ block: "start", behavior: "smooth" });
  }

  function setUrl(id) {
    const url = new URL(window.location.href);
    if (id) url.searchParams.set("run", String(id));
    else url.searchParams.delete("run");
    window.history.replaceState(null, "", url);
  }

  byId("cal-run-close").addEventListener("click", () => {
    current = null;
    resultsFor = null;
    cal.charts.destroy(byId("cal-run-results"));
    byId("cal-run-panel").hidden = true;
    setUrl(null);
  });

  const cancelButton = byId("cal-run-cancel");
  if (cancelButton) {
    cancelButton.addEventListener("click", async () => {
      if (!current) return;
      cancelButton.disabled = true;
      try {
        apply(await postJson(API.cancel(current.id), {}));
      } catch (error) {
        byId("cal-run-error").textContent = error instanceof ApiError && error.status === 409 ? "This calibration had already finished." : "Could not cancel: " + problem(error);
        byId("cal-run-error").hidden = false;
      } finally {
        cancelButton.disabled = false;
      }
    });
  }

  // --- Live progress, with polling as the fallback ---------------------------------------------

  document.addEventListener("optionsbot:event", (event) => {
    const detail = event.detail || {};
    const data = detail.data || {};
    if (detail.topic === "calibration.params") {
      refreshParams();
      return;
    }
    if (detail.topic !== "calibration.progress" && detail.topic !== "calibration.finished") return;
    if (current && data.id === current.id) {
      const update = { id: data.id, status: data.status, progress: { done: data.done, total: data.total, fraction: data.fraction, note: data.note } };
      if (detail.topic === "calibration.finished") update.error = data.error;
      apply(update);
    }
    if (detail.topic === "calibration.finished") {
      refreshRuns();
      refreshParams();
    }
  });

  document.addEventListener("optionsbot:connected", () => {
    if (current && !cal.isFinished(current)) getJson(API.run(current.id)).then(apply).catch(() => {});
    refreshRuns();
  });

  let polling = false;
  setInterval(async () => {
    if (polling || !current || cal.isFinished(current)) return;
    if (feedOpen() && Date.now() - lastHeard < QUIET_MS) return;
    polling = true;
    try {
      const run = await getJson(API.run(current.id));
      apply(run);
      if (cal.isFinished(run)) {
        refreshRuns();
        refreshParams();
      }
    } catch (error) {
      // the next poll tries again
    } finally {
      polling = false;
    }
  }, POLL_MS);

  // --- Past runs and the error over time ---------------------------------------------------------

  function errorCell(run) {
    const summary = run.summary || {};
    const coins = Object.keys(summary).sort();
    if (!coins.length) return h("span", { class: "muted", text: "—" });
    return coins.map((c) => {
      const s = summary[c];
      const fitted = s.evaluated === "fitted";
      return h("div", { title: fitted ? "newly fitted parameters (in use before: " + cal.fmtVolPts(s.in_use_mae_vol_pts) + ")" : "parameters in use" },
        c + " " + cal.fmtVolPts(s.mae_vol_pts) + (fitted ? " (was " + fmtNumber(s.in_use_mae_vol_pts || 0, 2, 2) + ")" : ""));
    });
  }

  function setsCell(run) {
    const sets = run.param_sets || [];
    if (!sets.length) return h("span", { class: "muted", text: run.fit_start ? "—" : "no fit" });
    return sets.map((s) => {
      const [text, kind] = cal.setStatus(s.status);
      return h("div", {}, [s.currency + " #" + s.id + " ", badge(text, kind)]);
    });
  }

  function runRow(run) {
    const p = run.progress || {};
    const status = run.status === "running" && p.total ? cal.statusText(run.status) + " " + Math.round((p.fraction || 0) * 100) + " %" : cal.statusText(run.status);
    return h("tr", { "data-run": run.id }, [
      h("td", {}, h("button", { type: "button", class: "link", onclick: () => showRun(run.id, { scroll: true }), text: cal.runTitle(run) })),
      h("td", {}, badge(status, cal.statusKind(run.status))),
      h("td", { text: cal.describeSource(run) }),
      h("td", { text: cal.windowsText(run) }),
      h("td", { class: "num" }, errorCell(run)),
      h("td", {}, setsCell(run)),
      h("td", { class: "when", text: cal.fmtTime(run.started_at || run.created_at) }),
    ]);
  }

  function refreshRuns() {
    const list = getJson(API.runs, { limit: runsLimit }).then((page) => {
      loadError(null);
      const runs = page.results || [];
      tableBody("cal-runs", runs.map(runRow), "No calibrations yet." + (operator ? " Start one with the form above." : " An operator can start one."));
      byId("cal-runs-count").textContent = page.count ? "Showing " + runs.length + " of " + page.count + "." : "";
      byId("cal-runs-more").hidden = runs.length >= (page.count || 0);
      byId("cal-updated").textContent = "As of " + fmtClock(new Date()) + ". Progress updates by itself.";
    }).catch((error) => {
      loadError(error);
      tableBody("cal-runs", [], "The list of calibrations could not be loaded.");
    });
    const history = getJson(API.runs, { status: "succeeded", limit: 200 })
      .then((page) => cal.charts.history(byId("cal-history"), page.results || []))
      .catch(() => fill(byId("cal-history"), h("p", { class: "error", text: "The error history could not be loaded." })));
    return Promise.all([list, history]);
  }

  byId("cal-runs-more").addEventListener("click", () => {
    runsLimit += RUNS_PAGE;
    refreshRuns();
  });

  function scheduleText() {
    const s = config.schedule;
    const box = byId("cal-schedule");
    if (!s) {
      box.textContent = "The daily calibration is not set up (run manage.py seed).";
      return;
    }
    const when = s.last_run_at ? " Last ran " + cal.fmtTime(s.last_run_at) + "." : "";
    const text = s.enabled
      ? "The daily calibration is on: once a day it fits the model to the last " + s.fit_days + " days the harvester recorded and checks it on the day after them." + when
      : "The daily calibration is off." + when;
    const parts = [text];
    if (s.admin_url) parts.push(" ", h("a", { href: s.admin_url, text: s.enabled ? "Turn it off" : "Turn it on" }), " in the admin (its Enabled box).");
    fill(box, parts);
  }

  document.addEventListener("cal:run-created", (event) => {
    showRun(event.detail.id, { run: event.detail, scroll: true });
    refreshRuns();
  });

  scheduleText();
  refreshParams();
  refreshRuns();
  const wanted = Number(new URL(window.location.href).searchParams.get("run"));
  if (wanted > 0) showRun(wanted);
})();
