// The Calibration tab's shared words and numbers: a run's status, its market data and windows,
// error figures with their units (vol points, US dollars, % of the price), and parameter values.
(function () {
  "use strict";
  const { isBlank, fmtTime, fmtNumber, fmtUsd, h } = window.optionsbotUI;

  const { statusText, statusKind, isFinished } = window.optionsbotJobs;
  const SET_STATUS = { in_use: ["In use", "ok"], proposed: ["Proposed", "warn"], retired: ["Retired", "plain"] };

  const config = JSON.parse(document.getElementById("calibration-config").textContent);
  const fields = config.param_fields || [];

  function setStatus(status) { return SET_STATUS[status] || [status, "plain"]; }

  // "2026-01-06 12:00" (the headers say UTC); whole days as "2026-01-06".
  function fmtWhen(iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    if (isNaN(d.getTime())) return iso;
    const text = d.toISOString();
    return text.slice(11, 19) === "00:00:00" ? text.slice(0, 10) : text.slice(0, 16).replace("T", " ");
  }

  function fmtWindow(start, end) {
    if (!start && !end) return null;
    return fmtWhen(start) + " → " + fmtWhen(end);
  }

  function fmtVolPts(value, signed) {
    if (isBlank(value)) return "—";
    const n = Number(value);
    return (signed && n > 0 ? "+" : "") + fmtNumber(n, 2, 2) + " vol pts";
  }

  function fmtIv(decimal) {
    if (isBlank(decimal)) return "—";
    return fmtNumber(Number(decimal) * 100, 1, 1) + " %";
  }

  function fmtPct(value, digits) {
    if (isBlank(value)) return "—";
    return fmtNumber(value, digits === undefined ? 2 : digits, digits === undefined ? 2 : digits) + " %";
  }

  function fmtMoney(value) {
    if (isBlank(value)) return "—";
    return fmtUsd(value);
  }

  function fmtCount(value) {
    return isBlank(value) ? "—" : fmtNumber(value, 0, 0);
  }

  const SOURCE_WORDS = { harvest: "Harvested snapshots", files: "Snapshot files", live: "Live snapshot" };

  function describeSource(run) {
    return (SOURCE_WORDS[run.source] || run.source) + " · " + (run.currencies || []).join(", ");
  }

  function windowsText(run) {
    const fit = fmtWindow(run.fit_start, run.fit_end);
    const test = fmtWindow(run.test_start, run.test_end);
    if (run.source === "live") return "One snapshot, now";
    const parts = [];
    parts.push(fit ? "Fit " + fit : "No fit");
    parts.push(test ? "Test " + test : fit ? "Test: after the fit" : "Test: all the data");
    return parts.join(" · ");
  }

  function runTitle(run) {
    return "#" + run.id + (run.name ? " " + run.name : "");
  }

  // A failed run's error in plain words: one line, never a traceback.
  function plainError(text) {
    if (isBlank(text)) return "it stopped without saying why.";
    const lines = String(text).split("\n").map((l) => l.trim()).filter(Boolean);
    let line = /Traceback/.test(text) ? lines[lines.length - 1] : lines[0];
    const internal = line.match(/^The calibration failed:\s*([A-Za-z_.]*(?:Error|Exception)):\s*(.*)$/);
    if (internal) return "an internal error stopped it (" + internal[1].split(".").pop() + (internal[2] ? ": " + internal[2] : "") + "). It has been logged.";
    if (/^[A-Z][a-z]/.test(line)) line = line.charAt(0).toLowerCase() + line.slice(1);
    return line;
  }

  // A parameter value with its unit.
  function fmtParam(field, value) {
    if (value === null || value === undefined) return field.name === "long_run_vol" ? "from realised vol" : "—";
    const n = Number(value);
    if (field.unit === "%") return fmtNumber(n * 100, 1, 1) + " %";
    if (field.unit === "ratio") return fmtNumber(n, 2, 3) + " ×";
    if (field.unit === "days") return fmtNumber(n, 0, 1) + " days";
    if (field.unit === "per year") return fmtNumber(n, 0, 2) + " per year";
    return fmtNumber(n, 2, 3);
  }

  function same(a, b) {
    if (a === null || a === undefined || b === null || b === undefined) return a === b || (isBlank(a) && isBlank(b));
    return Math.abs(Number(a) - Number(b)) < 1e-9;
  }

  // A table of parameters side by side: columns [{label, values}], the first column's changes
  // against the second marked.
  function paramTable(columns, caption) {
    const head = h("tr", {}, [h("th", { scope: "col", text: "Parameter" })].concat(columns.map((c) => h("th", { scope: "col", class: "num", text: c.label }))));
    const rows = fields.map((f) => {
      const values = columns.map((c) => (c.values ? c.values[f.name] : undefined));
      const differs = columns.length > 1 && !same(values[0], values[1]);
      return h("tr", { class: differs ? "differs" : null, "data-param": f.name }, [
        h("th", { scope: "row" }, h("span", { class: f.help ? "has-help" : null, title: f.help || null, text: f.label })),
      ].concat(values.map((v) => h("td", { class: "num", text: fmtParam(f, v) }))));
    });
    return h("div", { class: "table-wrap" }, h("table", { class: "data compact params-table" }, [
      caption ? h("caption", { class: "sr-only", text: caption }) : null,
      h("thead", {}, head),
      h("tbody", {}, rows),
    ]));
  }

  window.optionsbotCal = {
    config,
    statusText,
    statusKind,
    isFinished,
    setStatus,
    fmtWhen,
    fmtWindow,
    fmtTime,
    fmtVolPts,
    fmtIv,
    fmtPct,
    fmtMoney,
    fmtCount,
    describeSource,
    windowsText,
    runTitle,
    plainError,
    fmtParam,
    paramTable,
  };
})();
