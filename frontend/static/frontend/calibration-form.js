// The Calibration tab's form (operators): which market prices, coins, the optional history file,
// the fit and test windows. The API checks every value; its errors are shown next to their field.
(function () {
  "use strict";
  const form = document.getElementById("cal-form");
  if (!form) return;
  const { h, fill, byId, ApiError, postJson, errorText } = window.optionsbotUI;
  const cal = window.optionsbotCal;
  const config = cal.config;

  const HINTS = {
    harvest: ["The harvester records every coin's option chain once an hour while the app runs. Leave the folder empty to use its folder:", config.harvest_dir],
    files: ["A snapshot folder written by manage.py import_chain or the harvester (BTC/2026-01-05.parquet, …), or raw chain files (Tardis options_chain, SVCJ snapshot CSVs). Imported chains go to", config.chains_dir],
    live: ["One snapshot of the whole chain, taken now from the exchange's public data (the simulated exchange in sim mode). One moment can only measure the parameters in use, not fit new ones.", ""],
  };

  function source() {
    return byId("cal-source").value;
  }

  function syncSource() {
    const kind = source();
    const [hint, path] = HINTS[kind];
    byId("cal-source-hint").textContent = hint + (path && kind !== "files" ? " " + path : "");
    byId("cal-data-path-hint").textContent = kind === "files" ? "Required. Default folder of imported chains: " + path : "Optional.";
    byId("cal-data-path").placeholder = kind === "harvest" ? path : kind === "files" ? path : "";
    form.querySelector('[data-field="data_path"]').hidden = kind === "live";
    form.querySelectorAll("[data-stored]").forEach((node) => { node.hidden = kind === "live"; });
  }

  function day(name) {
    const value = form.elements[name].value;
    return value ? value + "T00:00:00Z" : null;
  }

  function text(name) {
    const value = form.elements[name].value.trim();
    return value || null;
  }

  function body() {
    const out = {
      name: form.elements.name.value.trim(),
      source: source(),
      currencies: Array.from(form.querySelectorAll("input[name=currencies]:checked")).map((b) => b.value),
    };
    if (out.source !== "live") {
      Object.assign(out, {
        data_path: text("data_path"),
        history_path: text("history_path"),
        fit_start: day("fit_start"),
        fit_end: day("fit_end"),
        test_start: day("test_start"),
        test_end: day("test_end"),
      });
    }
    return out;
  }

  function clearErrors() {
    form.querySelectorAll(".field-error").forEach((p) => { p.hidden = true; p.textContent = ""; });
    form.querySelectorAll(".invalid").forEach((n) => n.classList.remove("invalid"));
    form.querySelectorAll("[aria-invalid]").forEach((n) => n.removeAttribute("aria-invalid"));
    byId("cal-form-errors").hidden = true;
  }

  function showErrors(errors) {
    const loose = [];
    for (const [field, messages] of Object.entries(errors || {})) {
      const text = [].concat(messages).join(" ");
      const box = form.querySelector('[data-field="' + field.split(".")[0] + '"]');
      const target = box && !box.closest("[hidden]") ? box.querySelector(":scope > .field-error") : null;
      if (target) {
        target.textContent = text;
        target.hidden = false;
        box.classList.add("invalid");
        const input = box.querySelector("input, select");
        if (input) input.setAttribute("aria-invalid", "true");
      } else {
        loose.push(text);
      }
    }
    const top = byId("cal-form-errors");
    fill(top, [h("p", { text: "The calibration was not started: correct the marked fields." })].concat(loose.map((t) => h("p", { text: t }))));
    top.hidden = false;
    top.focus();
  }

  byId("cal-source").addEventListener("change", syncSource);
  syncSource();

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    const submit = byId("cal-submit");
    const status = byId("cal-submit-status");
    submit.disabled = true;
    status.textContent = "Starting…";
    try {
      const run = await postJson("/api/calibration/runs/", body());
      status.textContent = "Calibration #" + run.id + " started.";
      document.dispatchEvent(new CustomEvent("cal:run-created", { detail: run }));
    } catch (error) {
      status.textContent = "";
      if (error instanceof ApiError && error.status === 400) showErrors(error.body);
      else showErrors({ non_field_errors: [errorText(error)] });
    } finally {
      submit.disabled = false;
    }
  });
})();
