// The Backtesting Lab's form (operators only): a registry strategy with its current parameters as
// editable fields, or a strategy kind with a preset; market data, account and fill model. The API
// checks every value; its errors appear next to the field they name ("parameters.delta_max",
// "source.start"), the rest at the top of the form. The sweep section (lab-sweep-form.js) sends
// the same body as its base, through `lab.form`.
(function () {
  "use strict";
  const form = document.getElementById("lab-form");
  if (!form) return;
  const { isBlank, fmtNumber, h, fill, byId, ApiError, getJson, postJson, errorText } = window.optionsbotUI;
  const lab = window.optionsbotLab;
  const config = lab.config;
  const DAY_MS = 86400000;

  let strategies = [];
  let baseline = {}; // the chosen registry strategy's parameters: what a field is "changed" from

  const el = (name) => form.elements[name];

  // --- Dates: the last 365 days, whole UTC days ----------------------------------------------

  function isoDay(ms) {
    return new Date(ms).toISOString().slice(0, 10);
  }

  function setDefaultDates() {
    const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
    el("end").value = isoDay(today);
    el("start").value = isoDay(today - 365 * DAY_MS);
  }

  // --- Parameter fields, from the strategy kind's schema --------------------------------------

  function boundsText(f) {
    const parts = [];
    if (f.minimum !== undefined) parts.push("at least " + f.minimum);
    if (f.exclusiveMinimum !== undefined) parts.push("above " + f.exclusiveMinimum);
    if (f.maximum !== undefined) parts.push("at most " + f.maximum);
    if (f.exclusiveMaximum !== undefined) parts.push("below " + f.exclusiveMaximum);
    if (f.type === "integer") parts.push("a whole number");
    if (f.minimum !== undefined && f.maximum !== undefined) parts.splice(0, 2, "from " + f.minimum + " to " + f.maximum);
    const text = parts.join(", ");
    return text ? text.charAt(0).toUpperCase() + text.slice(1) + "." : "";
  }

  function unitSuffix(f) {
    if (!f.unit) return null;
    return h("span", { class: "muted", text: " (" + f.unit + ")" });
  }

  function shownValue(value) {
    if (value === null || value === undefined) return "";
    return String(value);
  }

  function paramField(f, value) {
    const id = "param-" + f.name;
    const error = h("p", { class: "field-error", hidden: true });
    const was = h("p", { class: "was", hidden: true });
    let control;
    if (f.type === "boolean") {
      control = h("label", { class: "check" }, [
        h("input", { type: "checkbox", id: id, "data-param": f.name, "data-type": f.type, checked: value === true }),
        " " + f.label,
      ]);
    } else {
      control = [
        h("label", { for: id }, [f.label, unitSuffix(f)]),
        h("input", {
          type: "text", id: id, "data-param": f.name, "data-type": f.type, autocomplete: "off",
          inputmode: f.type === "integer" ? "numeric" : "decimal", value: shownValue(value),
          placeholder: f.nullable ? "empty = never" : null,
        }),
      ];
    }
    return h("div", { class: "field param", "data-field": "parameters." + f.name }, [].concat(control, [
      h("p", { class: "hint", text: f.help + (boundsText(f) ? " " + boundsText(f) : "") }),
      was,
      error,
    ]));
  }

  function currentKind() {
    if (mode() === "adhoc") return el("logic_kind").value;
    const s = selectedStrategy();
    return s ? s.logic_kind : null;
  }

  function renderParams(values, compareTo) {
    const kind = currentKind();
    const fields = config.parameter_fields[kind] || [];
    baseline = compareTo || {};
    fill(byId("lab-params"), fields.map((f) => paramField(f, values[f.name])));
    const hint = byId("lab-params-hint");
    if (!kind) hint.textContent = "Choose a strategy to see its parameters.";
    else if (mode() === "registry") {
      hint.textContent = "This strategy's current parameters. Change any of them to test a variant: only this backtest uses the change, the strategy itself stays as it is.";
      hint.append(" ", h("button", { type: "button", class: "link", id: "lab-params-reset", onclick: resetParams, text: "Back to the strategy's values" }));
    } else hint.textContent = "Every parameter of a " + lab.words(kind) + " strategy, starting from the preset above.";
    markChanged();
    form.dispatchEvent(new CustomEvent("lab:params-rendered", { detail: { kind: kind } }));
  }

  function resetParams() {
    const s = selectedStrategy();
    if (s) renderParams(s.parameters, s.parameters);
  }

  function paramValue(input) {
    if (input.dataset.type === "boolean") return input.checked;
    return parseNumber(input.value);
  }

  // A number when the text is one; the text itself otherwise, so the API names what is wrong.
  function parseNumber(text) {
    const value = String(text).trim().replace(/\s/g, "");
    if (value === "") return null;
    const n = Number(value);
    return Number.isFinite(n) ? n : value;
  }

  function markChanged() {
    const registry = mode() === "registry";
    form.querySelectorAll("[data-param]").forEach((input) => {
      const name = input.dataset.param;
      const wrapper = input.closest(".field");
      const was = wrapper.querySelector(".was");
      const changed = registry && name in baseline && paramValue(input) !== baseline[name];
      wrapper.classList.toggle("changed", changed);
      was.hidden = !changed;
      if (changed) {
        const original = baseline[name];
        was.textContent = "Changed for this backtest; the strategy has " + (original === null ? "empty (never)" : typeof original === "boolean" ? (original ? "yes" : "no") : fmtNumber(original, 0, 8)) + ".";
      }
    });
  }

  function collectParams() {
    const params = {};
    form.querySelectorAll("[data-param]").forEach((input) => {
      const name = input.dataset.param;
      const value = paramValue(input);
      // A registry strategy's run sends what differs; an own-parameters run sends them all.
      if (mode() === "adhoc" || !(name in baseline) || value !== baseline[name]) params[name] = value;
    });
    return params;
  }

  // --- Strategy choice ------------------------------------------------------------------------

  function mode() {
    return form.querySelector("input[name=strategy_mode]:checked").value;
  }

  function selectedStrategy() {
    return strategies.find((s) => s.name === el("strategy").value) || null;
  }

  function setCurrencies(list) {
    form.querySelectorAll("input[name=currencies]").forEach((box) => { box.checked = list.includes(box.value); });
    syncCurrencies();
  }

  function onStrategy() {
    const s = selectedStrategy();
    const hint = byId("lab-strategy-hint");
    if (!s) {
      hint.textContent = strategies.length ? "" : "No strategies in the registry yet: add one in admin, or test a strategy kind with your own parameters.";
      renderParams({}, {});
      return;
    }
    hint.textContent = [lab.words(s.logic_kind), s.risk_profile, "trades " + (s.underlyings || []).join(", "), s.enabled ? "enabled live" : "not enabled live"]
      .filter(Boolean).join(" · ") + (s.description ? ". " + s.description : "");
    // Keep the coins chosen when the strategy trades one of them; otherwise take its first coin.
    const trades = s.underlyings || [];
    if (trades.length && !selectedCurrencies().some((c) => trades.includes(c))) setCurrencies([trades[0]]);
    renderParams(s.parameters, s.parameters);
  }

  function onPreset() {
    const presets = config.presets[el("logic_kind").value] || {};
    renderParams(presets[el("preset").value] || {}, {});
  }

  function onMode() {
    const m = mode();
    form.querySelectorAll("[data-mode]").forEach((node) => { node.hidden = node.dataset.mode !== m; });
    if (m === "registry") onStrategy();
    else onPreset();
  }

  async function loadStrategies() {
    const select = el("strategy");
    try {
      const page = await getJson("/api/strategies/", { limit: 500 });
      strategies = page.results || page;
    } catch (error) {
      fill(select, h("option", { value: "", text: "Could not load the strategies" }));
      showTop([errorText(error)]);
      return;
    }
    fill(select, strategies.length
      ? strategies.map((s) => h("option", { value: s.name, text: s.name + " (" + lab.words(s.logic_kind) + ")" }))
      : h("option", { value: "", text: "No strategies yet" }));
    const first = strategies.find((s) => s.enabled) || strategies[0];
    if (first) select.value = first.name;
    if (!strategies.length) {
      form.querySelector("input[name=strategy_mode][value=adhoc]").checked = true;
    }
    onMode();
  }

  // --- Market data, account and fills ---------------------------------------------------------

  const PATH_HINT = {
    files: "A folder of option chains imported with manage.py import_chain (by default the chains folder in the data folder).",
    deribit: "A file written by manage.py fetch_history (Deribit index candles).",
    csv: "A CSV file with a time column and a close column (USD).",
  };

  function syncSource() {
    const kind = el("source_kind").value;
    const history = el("history").value;
    form.querySelectorAll("[data-source]").forEach((node) => { node.hidden = node.dataset.source !== kind; });
    const needsPath = kind === "files" || history !== "generator";
    const pathField = form.querySelector('[data-field="source.data_path"]');
    pathField.hidden = !needsPath;
    byId("lab-data-path-hint").textContent = PATH_HINT[kind === "files" ? "files" : history] || "";
    form.querySelector('[data-field="source.seed"]').hidden = !(kind === "synthetic" && history === "generator");
    form.querySelector("[data-generator-only]").hidden = !(kind === "synthetic" && history === "generator");
    form.dispatchEvent(new CustomEvent("lab:source-changed"));
  }

  // The market's seed matters only for a generated price history.
  function seedApplies() {
    return el("source_kind").value === "synthetic" && el("history").value === "generator";
  }

  function selectedCurrencies() {
    return Array.from(form.querySelectorAll("input[name=currencies]:checked")).map((b) => b.value);
  }

  function syncCurrencies() {
    const chosen = selectedCurrencies();
    form.querySelectorAll("#lab-initial-coins [data-currency]").forEach((node) => { node.hidden = !chosen.includes(node.dataset.currency); });
  }

  function syncFill() {
    form.querySelector('[data-field="fill.slippage_pct"]').hidden = el("fill_price").value !== "mid";
  }

  function percentToDecimal(text) {
    const value = parseNumber(text);
    if (value === null) return 0;
    return typeof value === "number" ? Number((value / 100).toPrecision(12)) : value;
  }

  function dayStart(text) {
    return text ? text + "T00:00:00Z" : null;
  }

  function collect() {
    const adhoc = mode() === "adhoc";
    const kind = el("source_kind").value;
    const currencies = selectedCurrencies();
    const needsPath = kind === "files" || el("history").value !== "generator";
    const source = {
      kind: kind,
      start: dayStart(el("start").value),
      end: dayStart(el("end").value),
      step: el("step").value,
      currencies: currencies,
      seed: parseNumber(el("seed").value) ?? 0,
      data_path: needsPath ? el("data_path").value.trim() || null : null,
    };
    if (kind === "synthetic") source.history = el("history").value;
    if (kind === "synthetic" && source.history === "generator") {
      const drift = el("drift_pct").value.trim();
      const vol = el("vol_pct").value.trim();
      if (drift !== "") source.drift_pct = parseNumber(drift);
      if (vol !== "") source.vol_pct = parseNumber(vol);
    }
    const initial = {};
    for (const c of currencies) initial[c] = parseNumber(el("initial_" + c).value);
    const body = {
      name: el("name").value.trim(),
      strategy: adhoc ? null : el("strategy").value || null,
      parameters: collectParams(),
      source: source,
      initial_balance_coin: initial,
      fill: {
        price: el("fill_price").value,
        slippage_pct: el("fill_price").value === "mid" ? parseNumber(el("slippage_pct").value) ?? 0 : 0,
        respect_limit: el("respect_limit").checked,
        max_oi_pct: parseNumber(el("max_oi_pct").value),
      },
      risk_free_rate: percentToDecimal(el("risk_free_rate_pct").value),
    };
    if (adhoc) {
      body.logic_kind = el("logic_kind").value;
      body.underlyings = currencies;
    }
    return body;
  }

  // --- Errors next to their fields ------------------------------------------------------------

  function flatten(value, prefix, out) {
    if (Array.isArray(value)) {
      value.forEach((item, i) => {
        if (item && typeof item === "object") flatten(item, prefix ? prefix + "." + i : String(i), out);
        else (out[prefix] = out[prefix] || []).push(String(item));
      });
    } else if (value && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) flatten(v, prefix ? prefix + "." + k : k, out);
    } else if (!isBlank(value)) {
      (out[prefix] = out[prefix] || []).push(String(value));
    }
    return out;
  }

  const ALIASES = { underlyings: "source.currencies", seed: "source.seed" };
  // The form asks in percent where the API counts in fractions; its limits then need a word.
  const NOTES = { risk_free_rate: "The limit is a fraction of 1: 1 means 100 % a year." };

  // Field names inside a message read as the form's labels ("delta_max" as "max delta").
  const NAMES = Object.assign(
    {
      data_path: "data path", "source.currencies": "coins", "source.seed": "seed", "source.drift_pct": "trend", "source.vol_pct": "volatility", initial_balance_coin: "coins held at the start", logic_kind: "kind",
      max_oi_pct: "largest fill per step", respect_limit: "fill only at the limit price",
    },
    ...Object.values(config.parameter_fields).flat().map((f) => ({ [f.name]: f.label.toLowerCase() })),
  );
  const NAME_PATTERN = new RegExp("\\b(" + Object.keys(NAMES).map((n) => n.replace(/\./g, "\\.")).join("|") + ")\\b", "g");

  function sentence(message) {
    const text = String(message).trim().replace(NAME_PATTERN, (name) => NAMES[name]);
    return text.charAt(0).toUpperCase() + text.slice(1) + (/[.!?]$/.test(text) ? "" : ".");
  }
  const TOP_KEYS = new Set(["", "non_field_errors", "__all__", "detail"]);

  function fieldFor(key) {
    let parts = key.split(".").filter((p) => p !== "non_field_errors" && p !== "__all__");
    while (parts.length) {
      const name = ALIASES[parts.join(".")] || parts.join(".");
      const node = form.querySelector('[data-field="' + CSS.escape(name) + '"]');
      if (node && node.querySelector(":scope > .field-error") && !node.closest("[hidden]")) return node;
      parts = parts.slice(0, -1);
    }
    return null;
  }

  function clearErrors() {
    form.querySelectorAll(".field-error").forEach((p) => { p.hidden = true; p.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach((n) => n.removeAttribute("aria-invalid"));
    form.querySelectorAll(".invalid").forEach((n) => n.classList.remove("invalid"));
    byId("lab-form-errors").hidden = true;
  }

  function showTop(messages, intro) {
    const box = byId("lab-form-errors");
    fill(box, [
      intro ? h("p", { text: intro }) : null,
      messages.length ? h("ul", {}, messages.map((m) => h("li", { text: m }))) : null,
    ]);
    box.hidden = false;
  }

  function readableKey(key) {
    return key.split(".").filter((p) => !TOP_KEYS.has(p)).map(lab.words).join(" › ");
  }

  // Options: `strip` (a key prefix to drop, "base." for a sweep's base), `rewrite(message)`, and
  // `what` ("backtest" or "sweep", for the sentence at the top).
  function showErrors(body, options) {
    const opts = options || {};
    const errors = {};
    for (const [raw, list] of Object.entries(flatten(body || {}, "", {}))) {
      const key = opts.strip && raw.startsWith(opts.strip) ? raw.slice(opts.strip.length) : raw;
      errors[key] = (errors[key] || []).concat(opts.rewrite ? list.map(opts.rewrite) : list);
    }
    const loose = [];
    for (const [key, messages] of Object.entries(errors)) {
      const node = TOP_KEYS.has(key) ? null : fieldFor(key);
      if (!node) {
        const where = readableKey(key);
        messages.forEach((m) => loose.push((where ? where + ": " : "") + sentence(m)));
        continue;
      }
      const slot = node.querySelector(":scope > .field-error");
      const note = NOTES[node.dataset.field] && /\d/.test(messages.join(" ")) ? " " + NOTES[node.dataset.field] : "";
      slot.textContent = (slot.textContent ? slot.textContent + " " : "") + messages.map(sentence).join(" ") + note;
      slot.hidden = false;
      node.classList.add("invalid");
      const input = node.querySelector("input, select");
      if (input) input.setAttribute("aria-invalid", "true");
    }
    const first = form.querySelector(".invalid");
    const what = "The " + (opts.what || "backtest") + " was not started";
    const intro = first ? what + ": please correct the fields marked in red." : what + ".";
    showTop(loose, intro);
    const target = first ? first.querySelector("input, select") : byId("lab-form-errors");
    (target || byId("lab-form-errors")).focus();
    (first || byId("lab-form-errors")).scrollIntoView({ block: "center" });
  }

  // --- Submit ---------------------------------------------------------------------------------

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    const button = byId("lab-submit");
    const status = byId("lab-submit-status");
    button.disabled = true;
    status.textContent = "Starting…";
    try {
      const run = await postJson("/api/backtests/", collect());
      status.textContent = "Started backtest #" + run.id + ".";
      document.dispatchEvent(new CustomEvent("lab:run-created", { detail: run }));
    } catch (error) {
      status.textContent = "";
      if (error instanceof ApiError && error.status === 400) showErrors(error.body);
      else {
        const message = error instanceof ApiError && error.status === 404
          ? "The backtest service is not available on this server yet."
          : errorText(error);
        showTop([message], "The backtest was not started.");
        byId("lab-form-errors").focus();
      }
    } finally {
      button.disabled = false;
    }
  });

  lab.form = {
    collect: collect,
    clearErrors: clearErrors,
    showErrors: showErrors,
    showTop: showTop,
    currentKind: currentKind,
    seedApplies: seedApplies,
    boundsText: boundsText,
    parseNumber: parseNumber,
  };

  form.addEventListener("input", (event) => {
    if (event.target.dataset && event.target.dataset.param) markChanged();
  });
  form.addEventListener("change", (event) => {
    const name = event.target.name;
    if (event.target.dataset && event.target.dataset.param) markChanged();
    else if (name === "strategy_mode") onMode();
    else if (name === "strategy") onStrategy();
    else if (name === "logic_kind" || name === "preset") onPreset();
    else if (name === "source_kind" || name === "history") syncSource();
    else if (name === "currencies") syncCurrencies();
    else if (name === "fill_price") syncFill();
  });

  setDefaultDates();
  syncSource();
  syncCurrencies();
  syncFill();
  loadStrategies();
})();
