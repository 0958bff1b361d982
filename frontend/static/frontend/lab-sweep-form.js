// The Lab form's sweep section (operators only): pick one or two fields to vary (the strategy's
// parameters, or the synthetic market's seed) and the values to try. Each value is checked against
// the same field description the parameter fields use (type, bounds) before anything is sent; the
// API then checks every combination, and its errors ("grid.delta_max", "grid", "base.source.end")
// appear next to the field they are about. The sweep's base is the form's backtest.
(function () {
  "use strict";
  const form = document.getElementById("lab-form");
  const section = document.getElementById("lab-sweep");
  if (!form || !section) return;
  const { fmtNumber, h, fill, byId, ApiError, postJson, errorText } = window.optionsbotUI;
  const lab = window.optionsbotLab;
  const MAX_RUNS = lab.config.sweep.max_runs;
  const SEED = "source.seed";
  const ROWS = [1, 2];

  // --- What may vary ---------------------------------------------------------------------------

  // The current strategy kind's parameters, then the seed when the prices are generated from one.
  function choices() {
    const fields = (lab.config.parameter_fields[lab.form.currentKind()] || []).slice();
    if (lab.form.seedApplies()) fields.push(lab.config.sweep.fields[SEED]);
    return fields;
  }

  function fieldNode(key) {
    return form.querySelector('[data-field="' + CSS.escape(key === SEED ? SEED : "parameters." + key) + '"]');
  }

  // The value the form has now for `key`, as a hint of what to try around it.
  function currentValue(key) {
    const node = fieldNode(key);
    const input = node && node.querySelector("input");
    if (!input) return "";
    return input.type === "checkbox" ? (input.checked ? "yes" : "no") : input.value.trim();
  }

  // --- Values: parsed and checked like the parameter field -----------------------------------

  function parseValue(f, token) {
    const word = token.toLowerCase();
    if (f.type === "boolean") {
      if (["yes", "true", "on"].includes(word)) return { value: true };
      if (["no", "false", "off"].includes(word)) return { value: false };
      return { error: "“" + token + "”: write yes or no." };
    }
    if (f.nullable && ["never", "none", "empty"].includes(word)) return { value: null };
    if (f.type === "text") return { value: token };
    const n = Number(token);
    if (!Number.isFinite(n)) return { error: "“" + token + "” is not a number." };
    if (f.type === "integer" && !Number.isInteger(n)) return { error: token + " is not a whole number." };
    if (f.minimum !== undefined && n < f.minimum) return { error: token + " is too low: the least is " + f.minimum + "." };
    if (f.exclusiveMinimum !== undefined && n <= f.exclusiveMinimum) return { error: token + " is too low: it must be above " + f.exclusiveMinimum + "." };
    if (f.maximum !== undefined && n > f.maximum) return { error: token + " is too high: the most is " + f.maximum + "." };
    if (f.exclusiveMaximum !== undefined && n >= f.exclusiveMaximum) return { error: token + " is too high: it must be below " + f.exclusiveMaximum + "." };
    return { value: n };
  }

  function parseValues(f, text) {
    const tokens = String(text).split(/[,;\s]+/).filter(Boolean);
    const values = [];
    const errors = [];
    const seen = new Set();
    if (!tokens.length) errors.push("Give at least one value to try.");
    for (const token of tokens) {
      const parsed = parseValue(f, token);
      if (parsed.error) {
        errors.push(parsed.error);
      } else if (seen.has(JSON.stringify(parsed.value))) {
        errors.push(token + " is listed twice.");
      } else {
        seen.add(JSON.stringify(parsed.value));
        values.push(parsed.value);
      }
    }
    return { values: values, errors: errors, count: tokens.length };
  }

  // --- The rows: "Vary [field]" and "Values to try" ------------------------------------------

  function rowNode(i) {
    const select = h("select", { id: "lab-sweep-param-" + i, name: "sweep_param_" + i, "data-sweep-param": String(i) });
    const input = h("input", {
      type: "text", id: "lab-sweep-values-" + i, name: "sweep_values_" + i, "data-sweep-values": String(i),
      autocomplete: "off", spellcheck: "false",
    });
    return h("div", { class: "field-row sweep-row", "data-sweep-row": String(i), hidden: i > 1 }, [
      h("div", { class: "field" }, [h("label", { for: select.id, text: i === 1 ? "Vary" : "And vary" }), select]),
      h("div", { class: "field sweep-values", hidden: true }, [
        h("label", { for: input.id }, ["Values to try", h("span", { class: "muted" })]),
        input,
        h("p", { class: "hint" }),
        h("p", { class: "field-error", hidden: true }),
      ]),
    ]);
  }

  const rowsBox = byId("lab-sweep-rows");
  fill(rowsBox, ROWS.map(rowNode));
  const row = (i) => rowsBox.querySelector('[data-sweep-row="' + i + '"]');
  const select = (i) => byId("lab-sweep-param-" + i);
  const input = (i) => byId("lab-sweep-values-" + i);

  function fieldOf(key) {
    return choices().find((f) => f.name === key) || null;
  }

  // The rows in use: their grid key, field, values node and parsed values.
  function chosen() {
    return ROWS.filter((i) => !row(i).hidden && select(i).value).map((i) => {
      const f = fieldOf(select(i).value);
      return { key: select(i).value, field: f, node: row(i).querySelector(".sweep-values"), parsed: parseValues(f, input(i).value) };
    }).filter((r) => r.field);
  }

  function syncRows() {
    const fields = choices();
    let taken = null;
    for (const i of ROWS) {
      const node = row(i);
      const sel = select(i);
      const previous = sel.value;
      const offered = fields.filter((f) => f.name !== taken);
      fill(sel, [h("option", { value: "", text: i === 1 ? "Nothing: one backtest" : "Nothing else" })].concat(
        offered.map((f) => h("option", { value: f.name, text: f.label + (f.unit ? " (" + f.unit + ")" : "") }))));
      sel.value = offered.some((f) => f.name === previous) ? previous : "";
      node.hidden = i > 1 && !taken;
      const key = node.hidden ? "" : sel.value;
      const values = node.querySelector(".sweep-values");
      values.hidden = !key;
      // Errors the API sends as "grid.<key>" land here.
      values.dataset.field = key ? "grid." + key : "";
      if (key) {
        const f = fields.find((x) => x.name === key);
        values.querySelector("label .muted").textContent = " (" + (f.unit ? f.unit + ", " : "") + "separated by commas)";
        values.querySelector(".hint").textContent = [f.help, lab.form.boundsText(f), f.nullable ? "“never” for empty." : "", f.type === "boolean" ? "yes and/or no." : ""].filter(Boolean).join(" ");
        const now = currentValue(key);
        input(i).placeholder = now ? "e.g. " + now + ", …" : "";
      }
      taken = taken || key;
    }
    markSwept();
    syncCount();
  }

  // A parameter the sweep varies says so where it is set above: its value there is replaced.
  function markSwept() {
    const keys = chosen().map((r) => r.key);
    form.querySelectorAll(".sweep-note").forEach((n) => n.remove());
    form.querySelectorAll(".field.swept").forEach((n) => n.classList.remove("swept"));
    for (const key of keys) {
      const node = fieldNode(key);
      if (!node) continue;
      node.classList.add("swept");
      node.append(h("p", { class: "sweep-note", text: "Varied by the sweep below: each backtest of the sweep uses one of its values instead." }));
    }
  }

  function syncCount() {
    const rows = chosen();
    const button = byId("lab-sweep-submit");
    const count = byId("lab-sweep-count");
    button.hidden = !rows.length;
    count.classList.remove("error");
    if (!rows.length) {
      count.textContent = "No sweep: choose a parameter to vary.";
      return;
    }
    const sizes = rows.map((r) => r.parsed.count);
    const total = sizes.reduce((a, b) => a * b, 1);
    const plural = (n, word) => fmtNumber(n, 0, 0) + " " + word + (n === 1 ? "" : "s");
    if (!total) {
      count.textContent = "Type the values to try.";
    } else {
      count.textContent = (rows.length > 1 ? sizes.map((n) => plural(n, "value")).join(" × ") + " = " : "") + plural(total, "backtest") +
        (total > MAX_RUNS ? ": more than " + MAX_RUNS + ", the most one sweep may run." : ".");
      count.classList.toggle("error", total > MAX_RUNS);
    }
    button.textContent = total > 0 ? "Start sweep (" + plural(total, "backtest") + ")" : "Start sweep";
  }

  // --- Start -------------------------------------------------------------------------------------

  // "delta_max=0.6, source.seed=1: parameters: roll_delta …" reads "With max delta 0.6 and seed 1: roll_delta …".
  function rewrite(message) {
    const kind = lab.form.currentKind();
    return String(message).replace(/^((?:[\w.]+=(?:"[^"]*"|[^,:]+)(?:, )?)+): (?:parameters: )?/, (all, combo) => "With " +
      combo.split(/, (?=[\w.]+=)/).map((pair) => {
        const at = pair.indexOf("=");
        return lab.gridField(kind, pair.slice(0, at)).label.toLowerCase() + " " + pair.slice(at + 1);
      }).join(" and ") + ": ");
  }

  let starting = false;

  async function start() {
    if (starting) return;
    lab.form.clearErrors();
    const rows = chosen();
    if (!rows.length) return;
    const status = byId("lab-submit-status");
    const problems = {};
    for (const r of rows) if (r.parsed.errors.length) problems["grid." + r.key] = r.parsed.errors;
    const total = rows.reduce((n, r) => n * r.parsed.values.length, 1);
    if (!Object.keys(problems).length && total > MAX_RUNS) {
      problems.grid = ["These values make " + fmtNumber(total, 0, 0) + " backtests; one sweep may run at most " + MAX_RUNS + ". Try fewer values."];
    }
    if (Object.keys(problems).length) {
      status.textContent = "";
      lab.form.showErrors(problems, { what: "sweep" });
      return;
    }
    const base = lab.form.collect();
    const grid = {};
    for (const r of rows) {
      grid[r.key] = r.parsed.values;
      // The base takes the first value: what is typed above for a varied field cannot fail the sweep.
      if (r.key === SEED) base.source.seed = r.parsed.values[0];
      else base.parameters[r.key] = r.parsed.values[0];
    }
    const name = base.name || rows.map((r) => r.field.label).join(" × ");
    starting = true;
    byId("lab-sweep-submit").disabled = byId("lab-submit").disabled = true;
    status.textContent = "Starting the sweep…";
    try {
      const created = await postJson("/api/backtests/sweeps/", { name: name, base: base, grid: grid });
      status.textContent = "Started sweep #" + created.id + " (" + created.runs.length + " backtests).";
      document.dispatchEvent(new CustomEvent("lab:sweep-created", { detail: created }));
    } catch (error) {
      status.textContent = "";
      if (error instanceof ApiError && error.status === 400) {
        lab.form.showErrors(error.body, { strip: "base.", rewrite: rewrite, what: "sweep" });
      } else {
        const message = error instanceof ApiError && error.status === 404 ? "Sweeps are not available on this server yet." : errorText(error);
        lab.form.showTop([message], "The sweep was not started.");
        byId("lab-form-errors").focus();
      }
    } finally {
      starting = false;
      byId("lab-sweep-submit").disabled = byId("lab-submit").disabled = false;
    }
  }

  byId("lab-sweep-submit").addEventListener("click", start);
  rowsBox.addEventListener("keydown", (event) => {
    // Enter in a sweep field starts the sweep, not a single backtest.
    if (event.key === "Enter" && event.target.dataset.sweepValues) {
      event.preventDefault();
      start();
    }
  });
  rowsBox.addEventListener("change", (event) => {
    if (event.target.dataset.sweepParam) syncRows();
  });
  rowsBox.addEventListener("input", syncCount);
  form.addEventListener("lab:params-rendered", syncRows);
  form.addEventListener("lab:source-changed", syncRows);
  syncRows();
})();
