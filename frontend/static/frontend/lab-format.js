// The Backtesting Lab's shared words and numbers: how a run, its market data, its metrics and
// its fills are described to the owner. Coin figures always carry their coin, dollar figures "$".
(function () {
  "use strict";
  const { isBlank, fmtTime, fmtNumber, fmtCoin, fmtUsd } = window.optionsbotUI;

  const { statusText, statusKind, isFinished } = window.optionsbotJobs;

  function words(key) {
    return String(key || "").replace(/_/g, " ");
  }

  function fmtDate(iso) {
    if (!iso) return "—";
    const when = new Date(iso);
    if (isNaN(when.getTime())) return iso;
    const text = when.toISOString();
    return text.slice(11, 19) === "00:00:00" ? text.slice(0, 10) : text.slice(0, 16).replace("T", " ");
  }

  function fmtPeriod(source) {
    if (!source) return "—";
    return fmtDate(source.start) + " → " + fmtDate(source.end);
  }

  const STEP_WORDS = { "15min": "15 minutes", "15m": "15 minutes", "1h": "1 hour", "4h": "4 hours", "8h": "8 hours", "1d": "1 day" };

  function fmtStep(step) {
    return STEP_WORDS[step] || step || "—";
  }

  function describeSource(source) {
    if (!source) return "—";
    const coins = (source.currencies || []).join(", ");
    if (source.kind === "files") return "Recorded chains" + (coins ? " · " + coins : "");
    const history = { generator: "generated", deribit: "on Deribit index history", csv: "on a CSV price history" }[source.history] || "";
    return "Synthetic" + (history ? " (" + history + ")" : "") + (coins ? " · " + coins : "");
  }

  function describeSourceLong(source, seed) {
    if (!source) return "—";
    const parts = [describeSource(source)];
    if (source.kind === "synthetic" && source.history === "generator") {
      parts.push("seed " + (seed ?? source.seed ?? 0));
      if (source.drift_pct) parts.push((source.drift_pct > 0 ? "+" : "") + source.drift_pct + " % a year trend");
      if (source.vol_pct != null) parts.push(source.vol_pct + " % volatility");
    }
    if (source.data_path) parts.push("from " + source.data_path);
    parts.push("one step every " + fmtStep(source.step));
    return parts.join(", ");
  }

  // A run's fill model in three parts: the price, the limit rule, and the partial-fill cap.
  function fillParts(fill) {
    const f = fill || {};
    return {
      price: f.price === "mid" ? "Mid price less " + fmtNumber(f.slippage_pct || 0, 0, 4) + " % slippage" : "Touch (sell at the bid, buy at the ask)",
      limit: f.respect_limit === false ? "Ignored: orders fill at that price whatever their limit" : "Respected: an order fills only at its limit price or better",
      partial: isBlank(f.max_oi_pct) ? "None: whole orders fill" : "At most " + fmtNumber(f.max_oi_pct, 0, 4) + " % of the option's open interest per step",
    };
  }

  function fmtFill(fill) {
    const f = fill || {};
    const parts = fillParts(f);
    return [
      parts.price,
      f.respect_limit === false ? "whatever the limit" : "at the limit or better",
      isBlank(f.max_oi_pct) ? "whole orders" : "at most " + fmtNumber(f.max_oi_pct, 0, 4) + " % of open interest per step",
    ].join(" · ");
  }

  function fmtPct(value, digits) {
    if (isBlank(value)) return "—";
    return fmtNumber(value, 2, digits === undefined ? 2 : digits) + " %";
  }

  function fmtRatio(value) {
    if (isBlank(value)) return "—";
    return fmtNumber(value, 2, 2);
  }

  function fmtSignedUsd(value) {
    if (isBlank(value)) return "—";
    return (Number(value) > 0 ? "+" : "") + fmtUsd(value);
  }

  function fmtSignedCoin(value, currency) {
    if (isBlank(value)) return "—";
    return (Number(value) > 0 ? "+" : "") + fmtCoin(value, currency);
  }

  function fmtEta(seconds, done) {
    // The first steps say little about the pace: no estimate before a few are done.
    if (isBlank(seconds) || (done !== undefined && done < 3)) return "estimating the time left…";
    const s = Number(seconds);
    if (s < 10) return "a few seconds left";
    if (s < 90) return "about " + Math.round(s / 5) * 5 + " s left";
    if (s < 5400) return "about " + Math.round(s / 60) + " min left";
    return "about " + fmtNumber(s / 3600, 1, 1) + " h left";
  }

  // A metric value in its unit; `money` is the coin for coin figures ("BTC") or "USD".
  function fmtMetric(value, unit, money) {
    if (isBlank(value)) return "—";
    switch (unit) {
      case "coin": return fmtCoin(value, money);
      case "usd": return fmtUsd(value);
      case "pct": return fmtPct(value);
      case "ratio": return fmtRatio(value);
      case "count": return fmtNumber(value, 0, 0);
      case "contracts": return fmtNumber(value, 0, 4) + " contracts";
      case "bars": return fmtNumber(value, 0, 1) + " steps";
      case "days": return fmtNumber(value, 0, 1) + " days";
      case "vol_pts": return fmtNumber(value, 1, 2) + " vol pts";
      default: return fmtNumber(value, 0, 4);
    }
  }

  // Where a fill's price came from, in words and a colour.
  function provenance(text) {
    const value = String(text || "");
    if (value === "real quote") return { label: "Real quote", kind: "ok", help: "Priced from a recorded Deribit quote." };
    if (value === "interpolated") return { label: "Interpolated", kind: "warn", help: "Priced between recorded quotes, not at one the exchange showed." };
    if (value === "synthetic price") return { label: "Synthetic price", kind: "synthetic", help: "Priced from a generated option chain, not from the market." };
    if (value.startsWith("settlement")) return { label: "Settlement", kind: "plain", help: value.charAt(0).toUpperCase() + value.slice(1) + "." };
    return { label: value || "unknown", kind: "plain", help: value };
  }

  // A failed run's error in plain words: one line, never a traceback.
  function plainError(text) {
    if (isBlank(text)) return "it stopped without saying why.";
    const lines = String(text).split("\n").map((l) => l.trim()).filter(Boolean);
    let line = /Traceback/.test(text) ? lines[lines.length - 1] : lines[0];
    line = (line || "").replace(/^The backtest failed:\s*/, "");
    const internal = line.match(/^([A-Za-z_.]*(?:Error|Exception)):\s*(.*)$/);
    if (internal) {
      return "an internal error stopped it (" + internal[1].split(".").pop() + (internal[2] ? ": " + internal[2] : "") + "). It has been logged.";
    }
    if (/^[A-Z][a-z]/.test(line)) line = line.charAt(0).toLowerCase() + line.slice(1);
    return line || "it stopped because of an internal error; it has been logged.";
  }

  function progressOf(run) {
    return run.progress || { done: 0, total: 0, fraction: 0, eta_seconds: null };
  }

  // A `backtest.progress` or `backtest.finished` event from the live feed as a partial run, or null.
  function eventUpdate(detail) {
    if (!detail || (detail.topic !== "backtest.progress" && detail.topic !== "backtest.finished")) return null;
    const data = detail.data || {};
    const update = { id: data.id, status: data.status, progress: { done: data.done, total: data.total, fraction: data.fraction, eta_seconds: data.eta_seconds } };
    if (detail.topic === "backtest.finished") update.error = data.error === undefined ? null : data.error;
    return update;
  }

  // A sweep names its runs "<sweep> [delta_max=0.2, source.seed=7]"; shown as
  // "<sweep> (max delta 0.2, seed 7)".
  function runName(run) {
    const name = run.name || "";
    const match = run.sweep && window.optionsbotLab.gridField ? name.match(/^(.*) \[(.+)\]$/) : null;
    if (!match) return name;
    const pairs = match[2].split(/, (?=[\w.]+=)/).map((pair) => {
      const at = pair.indexOf("=");
      if (at < 1) return pair;
      const field = window.optionsbotLab.gridField(run.logic_kind, pair.slice(0, at));
      const value = pair.slice(at + 1);
      return field.label.toLowerCase() + " " + ({ true: "yes", false: "no", null: "never" }[value] || value.replace(/^"(.*)"$/, "$1"));
    });
    return match[1] + " (" + pairs.join(", ") + ")";
  }

  function runTitle(run) {
    const name = runName(run);
    return "#" + run.id + (name ? " " + name : "");
  }

  function strategyText(run) {
    return run.strategy || words(run.logic_kind) + " (own parameters)";
  }

  window.optionsbotLab = Object.assign(window.optionsbotLab || {}, {
    statusText,
    statusKind,
    isFinished,
    words,
    fmtDate,
    fmtPeriod,
    fmtStep,
    fmtFill,
    fillParts,
    progressOf,
    eventUpdate,
    fmtPct,
    fmtRatio,
    fmtSignedUsd,
    fmtSignedCoin,
    fmtEta,
    fmtMetric,
    fmtTime,
    describeSource,
    describeSourceLong,
    provenance,
    plainError,
    runTitle,
    strategyText,
    config: JSON.parse(document.getElementById("lab-config").textContent),
  });
})();
