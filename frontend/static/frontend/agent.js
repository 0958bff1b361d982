// The Live Agent tab: fills itself from the agent API and re-renders whenever the live feed
// announces a tick ("agent.tick") or a kill-switch change ("agent.kill_switch").
// Every figure comes from the API; where there is nothing yet, the page says so.
(function () {
  "use strict";
  if (!document.getElementById("strategy-status")) return;

  const API = {
    status: "/api/agent/status/",
    strategies: "/api/agent/strategies/",
    positions: "/api/positions/",
    decisions: "/api/decisions/",
    events: "/api/agent/events/",
    engage: "/api/agent/kill-switch/engage/",
    reset: "/api/agent/kill-switch/reset/",
  };
  const DECISIONS_PAGE = 20;
  let decisionsLimit = DECISIONS_PAGE;

  const {
    isBlank,
    fmtTime,
    fmtClock,
    fmtNumber,
    fmtCoin,
    fmtUsd,
    fmtContracts,
    fmtDuration,
    fmtEvery,
    signClass,
    h,
    fill,
    byId,
    tableBody,
    badge,
    ApiError,
    getJson,
    postJson,
    errorText,
  } = window.optionsbotUI;

  const VERDICT_KIND = { approved: "ok", rejected: "bad", error: "bad", not_reviewed: "plain" };
  const TICK_KIND = { ok: "ok", skipped: "plain", failed: "bad", running: "warn" };
  const SEVERITY_KIND = { info: "plain", warning: "warn", error: "bad" };
  const RECONCILIATION_KIND = { ok: "ok", pending: "plain", mismatch: "bad", error: "bad" };

  // --- Agent status ------------------------------------------------------------------------------

  function renderStatus(status) {
    const ex = status.exchange;
    let mode = "Simulated (no real money)";
    if (ex.trading_mode !== "sim") mode = ex.real_money ? "Live on Deribit mainnet " : "Live on Deribit testnet (test money)";
    fill(byId("agent-mode"), [mode, ex.real_money ? badge("REAL MONEY", "bad") : null]);
    fill(byId("agent-exchange"), [ex.name, h("div", { class: "muted mono", text: ex.base_url })]);
    const schedule = status.schedule;
    byId("agent-schedule").textContent = schedule.every_seconds
      ? (schedule.enabled ? "Runs " : "Paused (would run ") + fmtEvery(schedule.every_seconds) + (schedule.enabled ? "" : ")")
      : "Not scheduled: the agent does not run on its own.";

    const tick = status.last_tick;
    const last = byId("last-tick");
    last.dataset.tickId = tick ? String(tick.id) : "";
    if (tick) {
      fill(last, [
        h("time", { datetime: tick.started_at, text: fmtTime(tick.started_at) }),
        " ",
        badge(tick.status_display, TICK_KIND[tick.status] || "plain"),
      ]);
      byId("last-tick-duration").textContent = fmtDuration(tick.duration_ms);
      byId("last-tick-message").textContent = tick.message || "No message.";
    } else {
      last.textContent = "No tick has run yet.";
      byId("last-tick-duration").textContent = "—";
      byId("last-tick-message").textContent = "—";
    }

    const rec = status.reconciliation;
    fill(byId("agent-reconciliation"), [
      badge(rec.outcome_display, RECONCILIATION_KIND[rec.outcome] || "plain"),
      rec.reconciled_at ? h("div", { class: "muted", text: "checked " + fmtTime(rec.reconciled_at) }) : null,
      rec.problems.length ? h("ul", { class: "problems" }, rec.problems.map((p) => h("li", { text: p }))) : null,
    ]);

    renderKillSwitch(status.kill_switch);
    renderAccount(status.account);
  }

  function renderKillSwitch(ks) {
    const state = byId("kill-switch-state");
    state.dataset.engaged = ks.engaged ? "true" : "false";
    state.textContent = ks.engaged ? "ON: trading is stopped" : "Off: the agent may trade";
    const rows = [];
    if (ks.manual) {
      rows.push(["Stopped by", ks.changed_by || "—"], ["Reason", ks.reason || "—"], ["Since", fmtTime(ks.changed_at)]);
    }
    if (ks.tripped_reason) {
      rows.push(["Automatic stop", ks.tripped_reason]);
      if (!ks.manual) rows.push(["Since", fmtTime(ks.changed_at)]);
    }
    if (!ks.engaged && ks.changed_at) {
      rows.push(["Last resumed", fmtTime(ks.changed_at) + (ks.changed_by ? " by " + ks.changed_by : "")]);
    }
    fill(byId("kill-switch-details"), rows.flatMap(([k, v]) => [h("dt", { text: k }), h("dd", { text: v })]));
    const engage = byId("kill-switch-engage");
    const reset = byId("kill-switch-reset");
    if (engage) engage.hidden = ks.manual;
    if (reset) reset.hidden = !ks.engaged;
  }

  const ACCOUNT_ROWS = [
    ["equity_coin", "Equity", "balance plus the value of open options"],
    ["balance_coin", "Balance", "coins held"],
    ["margin_balance_coin", "Margin balance", null],
    ["initial_margin_coin", "Initial margin", "set aside for open positions and orders"],
    ["maintenance_margin_coin", "Maintenance margin", "below this the exchange liquidates"],
    ["available_funds_coin", "Available funds", "free for new positions"],
  ];

  function renderAccount(account) {
    const body = byId("account-body");
    if (!account || !account.currencies.length) {
      fill(body, h("p", { class: "muted", "data-testid": "account-empty" },
        "Not available yet: no tick has recorded the exchange's account summary."));
      return;
    }
    const coins = account.currencies;
    const head = h("tr", {}, [h("th", { scope: "col" }, h("span", { class: "sr-only", text: "Figure" }))].concat(
      coins.map((c) => h("th", { scope: "col", class: "num", text: c.currency }))));
    const rows = ACCOUNT_ROWS.filter(([key]) => coins.some((c) => !isBlank(c[key]))).map(([key, label, hint]) =>
      h("tr", {}, [h("th", { scope: "row", title: hint }, label)].concat(
        coins.map((c) => h("td", { class: "num", title: isBlank(c[key]) ? "not reported" : c[key] + " " + c.currency,
          text: fmtCoin(c[key], c.currency) })))));
    fill(body, [
      h("table", { class: "data compact", "data-testid": "account" }, [h("thead", {}, head), h("tbody", {}, rows)]),
      h("p", { class: "muted" }, [
        "As of " + fmtTime(account.observed_at) + ", in each coin.",
        account.from_latest_tick ? "" : " The latest tick did not record the account; this is from an earlier tick.",
      ]),
    ]);
  }

  // --- Strategies --------------------------------------------------------------------------------

  function coinLines(coins, key, usdTotal) {
    if (!coins.length) return h("span", { class: "muted", text: "no trades yet" });
    return [
      ...coins.map((c) => h("div", { class: signClass(c[key]), title: c[key] + " " + c.currency, text: fmtCoin(c[key], c.currency) })),
      h("div", { class: "muted", title: "all coins together, in US dollars", text: fmtUsd(usdTotal) }),
    ];
  }

  function renderStrategies(rows) {
    tableBody("strategy-status", rows.map((s) => {
      const d = s.last_decision;
      return h("tr", { "data-strategy": s.name }, [
        h("th", { scope: "row" }, [s.name, h("div", { class: "muted", text: s.logic_kind.replace(/_/g, " ") })]),
        h("td", { text: s.decision_mode_display }),
        h("td", {}, s.enabled ? h("span", { class: "yes", text: "yes" }) : h("span", { class: "no", text: "no" })),
        h("td", { class: "num", text: String(s.open_positions) }),
        h("td", { class: "num" }, coinLines(s.coins, "premium_collected_coin", s.premium_collected_usd)),
        h("td", { class: "num" }, coinLines(s.coins, "realized_pnl_coin", s.realized_pnl_usd)),
        h("td", {}, d ? [
          h("div", {}, [d.action_display, " ", badge(d.verdict_display, VERDICT_KIND[d.verdict] || "plain")]),
          h("div", { class: "muted when", title: d.reason, text: fmtTime(d.created_at) }),
        ] : h("span", { class: "muted", text: "no decision yet" })),
      ]);
    }), "No strategies are configured.");
    syncStrategyFilter(rows.map((s) => s.name));
  }

  function syncStrategyFilter(names) {
    const select = byId("decision-filters").elements.strategy;
    const current = select.value;
    const have = Array.from(select.options).slice(1).map((o) => o.value);
    if (have.join("\n") === names.join("\n")) return;
    fill(select, [h("option", { value: "", text: "All strategies" })].concat(
      names.map((n) => h("option", { value: n, text: n }))));
    select.value = names.includes(current) ? current : "";
  }

  // --- Positions ---------------------------------------------------------------------------------

  function describeOption(p) {
    const type = p.option_type === "C" || p.option_type === "call" ? "call" : p.option_type === "P" || p.option_type === "put" ? "put" : p.option_type;
    return p.currency + " " + type + ", strike " + fmtUsd(p.strike_usd).replace(/\.00$/, "");
  }

  function renderPositions(page) {
    tableBody("open-positions", page.results.map((p) => {
      const short = Number(p.size_contracts) < 0;
      return h("tr", {}, [
        h("td", { text: p.strategy }),
        h("td", {}, [h("span", { class: "mono", text: p.instrument_name }), h("div", { class: "muted", text: describeOption(p) })]),
        h("td", { class: "num", title: p.size_contracts + " contracts" }, [fmtContracts(p.size_contracts), " ", h("span", { class: "muted", text: short ? "sold" : "bought" })]),
        h("td", { class: "num", text: fmtCoin(p.average_price_coin, p.currency) }),
        h("td", { class: "num" }, [h("div", { text: fmtCoin(p.premium_collected_coin, p.currency) }), h("div", { class: "muted", text: fmtUsd(p.premium_collected_usd) })]),
        h("td", { class: "when", text: fmtTime(p.expiry) }),
        h("td", { class: "when", text: fmtTime(p.opened_at) }),
      ]);
    }), "No open positions.");
  }

  // --- Decisions ---------------------------------------------------------------------------------

  function decisionFilters() {
    const form = byId("decision-filters");
    return {
      strategy: form.elements.strategy.value,
      action: form.elements.action.value,
      verdict: form.elements.verdict.value,
    };
  }

  function refusedLine(reasons) {
    const text = "Refused: " + reasons.map((r) => (typeof r === "string" ? r : JSON.stringify(r))).join("; ");
    return h("div", { class: "refused clamp", title: text, text: text });
  }

  function renderDecisions(page, filtered) {
    tableBody("decisions", page.results.map((d) => h("tr", { "data-decision": d.id }, [
      h("td", { class: "when", text: fmtTime(d.created_at) }),
      h("td", { text: d.strategy }),
      h("td", {}, [d.action_display, d.currency ? h("span", { class: "muted", text: " " + d.currency }) : null]),
      h("td", {}, badge(d.verdict_display, VERDICT_KIND[d.verdict] || "plain")),
      h("td", { class: "execution", text: d.execution_display }),
      h("td", { class: "reason" }, [
        h("div", { class: "clamp", title: d.reason, text: d.reason || "—" }),
        d.verdict === "rejected" && d.risk_reasons.length ? refusedLine(d.risk_reasons) : null,
      ]),
      h("td", {}, h("button", {
        type: "button", class: "secondary small", "aria-label": "Details of decision " + d.id,
        onclick: () => openDecision(d.id),
      }, "Details")),
    ])), filtered ? "No decisions match these filters." : "No decisions yet: they appear after the agent's first trading tick.");
    const shown = page.results.length;
    byId("decisions-count").textContent = page.count ? "Showing " + shown + " of " + page.count + " decisions." : "";
    byId("decisions-more").hidden = shown >= page.count;
  }

  function keyValues(obj) {
    const entries = Object.entries(obj || {});
    if (!entries.length) return null;
    return h("dl", { class: "kv" }, entries.flatMap(([k, v]) => [
      h("dt", { text: k.replace(/_/g, " ") }),
      h("dd", { text: v === null ? "—" : typeof v === "number" ? fmtNumber(v, 0, 6) : typeof v === "object" ? JSON.stringify(v) : String(v) }),
    ]));
  }

  function legsTable(legs) {
    if (!legs || !legs.length) return h("p", { class: "muted", text: "No legs: nothing to trade." });
    return h("table", { class: "data compact" }, [
      h("thead", {}, h("tr", {}, ["Side", "Purpose", "Contracts", "Option", "Limit price"].map((t) => h("th", { scope: "col", text: t })))),
      h("tbody", {}, legs.map((g) => h("tr", {}, [
        h("td", { text: g.side || "—" }),
        h("td", { text: g.intent === "close" ? "close (reduce only)" : g.intent || "—" }),
        h("td", { class: "num", text: fmtContracts(g.size_contracts) }),
        h("td", { class: "mono", text: g.instrument_name || "—" }),
        h("td", { class: "num", text: fmtCoin(g.limit_price_coin, g.currency) }),
      ]))),
    ]);
  }

  function candidateName(c) {
    return c.instrument_name || (c.leg && c.leg.instrument_name) || c.instrument || c.name || "—";
  }

  function candidatesTable(candidates, currency) {
    if (!candidates || !candidates.length) return h("p", { class: "muted", text: "No candidates were considered." });
    const shown = ["instrument_name", "instrument", "name", "score", "leg", "size_contracts", "limit_price_coin"];
    return h("table", { class: "data compact" }, [
      h("thead", {}, h("tr", {}, ["#", "Option", "Contracts", "Limit price", "Score", "Score parts and facts"].map((t) => h("th", { scope: "col", text: t })))),
      h("tbody", {}, candidates.map((c, i) => {
        const rest = Object.assign({}, c);
        shown.forEach((k) => delete rest[k]);
        const leg = c.leg || {};
        const parts = Object.entries(rest).map(([k, v]) => (v && typeof v === "object" && !Array.isArray(v)
          ? h("div", { class: "kv-group" }, [h("div", { class: "muted", text: k.replace(/_/g, " ") }), keyValues(v)])
          : keyValues({ [k]: v })));
        return h("tr", {}, [
          h("td", { text: String(i + 1) }),
          h("td", { class: "mono", text: candidateName(c) }),
          h("td", { class: "num", text: fmtContracts(c.size_contracts ?? leg.size_contracts) }),
          h("td", { class: "num", text: fmtCoin(c.limit_price_coin ?? leg.limit_price_coin, currency) }),
          h("td", { class: "num", text: typeof c.score === "number" ? fmtNumber(c.score, 0, 4) : "—" }),
          h("td", {}, parts.length ? h("div", { class: "kv-groups" }, parts) : "—"),
        ]);
      })),
    ]);
  }

  function section(title, content) {
    return h("section", { class: "detail" }, [h("h3", { text: title })].concat(content));
  }

  async function openDecision(id) {
    const dialog = byId("decision-dialog");
    const body = byId("decision-body");
    fill(body, h("p", { class: "muted", text: "Loading…" }));
    if (!dialog.open) dialog.showModal();
    let d;
    try {
      d = await getJson(API.decisions + id + "/");
    } catch (error) {
      fill(body, h("p", { class: "error", text: errorText(error) }));
      return;
    }
    byId("decision-title").textContent = "Decision " + d.id + ": " + d.action_display + " (" + d.strategy + ")";
    const usedLlm = d.llm_choice || d.llm_raw || d.fallback_reason || d.mode === "llm" || d.mode === "shadow";
    fill(body, [
      h("dl", {}, [
        ["When", fmtTime(d.created_at)], ["Tick", d.tick ? "#" + d.tick : "—"], ["Strategy", d.strategy],
        ["Action", d.action_display + (d.currency ? " · " + d.currency : "")],
        ["Decided by", (d.decided_by || "—") + (d.mode ? " (mode: " + d.mode + ")" : "")],
        ["Risk verdict", d.verdict_display], ["Execution", d.execution_display],
      ].flatMap(([k, v]) => [h("dt", { text: k }), h("dd", { text: v })])),
      section("Reason", h("p", { text: d.reason || "No reason recorded." })),
      section("Risk engine", d.risk_reasons && d.risk_reasons.length
        ? h("ul", {}, d.risk_reasons.map((r) => h("li", { text: typeof r === "string" ? r : JSON.stringify(r) })))
        : h("p", { class: "muted", text: d.verdict === "not_reviewed" ? "Not reviewed: nothing to trade." : "No objections." })),
      section("Legs", legsTable(d.legs)),
      section("Candidates", candidatesTable(d.candidates, d.currency)),
      section("Scores", keyValues(d.scores) || h("p", { class: "muted", text: "No scores recorded." })),
      usedLlm ? section("LLM", [
        h("dl", {}, [
          h("dt", { text: "Its choice" }), h("dd", { text: d.llm_choice || "—" }),
          h("dt", { text: "Fallback to rules" }), h("dd", { text: d.fallback_reason || "no" }),
        ]),
        d.llm_raw ? h("details", {}, [h("summary", { text: "Raw reply" }), h("pre", { text: d.llm_raw })]) : null,
      ]) : null,
      d.orders && d.orders.length ? section("Orders", h("table", { class: "data compact" }, [
        h("thead", {}, h("tr", {}, ["Label", "Option", "Side", "Contracts", "Limit price", "Filled", "State"].map((t) => h("th", { scope: "col", text: t })))),
        h("tbody", {}, d.orders.map((o) => h("tr", {}, [
          h("td", { class: "mono", text: o.label }), h("td", { class: "mono", text: o.instrument_name }),
          h("td", { text: o.side }), h("td", { class: "num", text: fmtContracts(o.amount_contracts) }),
          h("td", { class: "num", text: fmtCoin(o.limit_price_coin, d.currency) }),
          h("td", { class: "num", text: fmtContracts(o.filled_amount_contracts) }), h("td", { text: o.state_display }),
        ]))),
      ])) : null,
    ]);
  }

  // --- Agent log ---------------------------------------------------------------------------------

  function renderEvents(page) {
    tableBody("agent-log", page.results.map((e) => h("tr", {}, [
      h("td", { class: "when", text: fmtTime(e.at) }),
      h("td", {}, badge(e.severity_display, SEVERITY_KIND[e.severity] || "plain")),
      h("td", {}, [e.message, h("div", { class: "muted mono", text: e.kind })]),
    ])), "Nothing logged yet.");
  }

  // --- Loading and live refresh ------------------------------------------------------------------

  const loaders = {
    status: () => getJson(API.status).then(renderStatus),
    strategies: () => getJson(API.strategies).then(renderStrategies),
    positions: () => getJson(API.positions, { open: "true", limit: 200 }).then(renderPositions),
    decisions: () => {
      const filters = decisionFilters();
      const filtered = Object.values(filters).some((v) => v);
      return getJson(API.decisions, Object.assign({ limit: decisionsLimit }, filters)).then((page) => renderDecisions(page, filtered));
    },
    events: () => getJson(API.events, { limit: 30 }).then(renderEvents),
  };
  const ALL = Object.keys(loaders);
  const pending = new Set();
  let timer = null;
  let running = false;

  function refresh(names) {
    names.forEach((n) => pending.add(n));
    if (timer === null) timer = setTimeout(run, 100);
  }

  async function run() {
    timer = null;
    if (running) {
      timer = setTimeout(run, 100);
      return;
    }
    running = true;
    const names = Array.from(pending);
    pending.clear();
    const results = await Promise.allSettled(names.map((n) => loaders[n]()));
    running = false;
    const failed = results.find((r) => r.status === "rejected");
    const box = byId("agent-load-error");
    if (failed) {
      box.textContent = errorText(failed.reason);
      box.hidden = false;
    } else {
      box.hidden = true;
    }
    const updated = byId("agent-updated");
    updated.textContent = "Figures as of " + fmtClock(new Date()) + ". They update by themselves after every tick.";
  }

  document.addEventListener("optionsbot:event", (event) => {
    const topic = event.detail && event.detail.topic;
    if (topic === "agent.tick") refresh(ALL);
    else if (topic === "agent.kill_switch") {
      if (event.detail.data) renderKillSwitch(event.detail.data);
      refresh(["status", "events"]);
    }
  });
  // After a dropped connection, events may have been missed: read everything again.
  document.addEventListener("optionsbot:connected", () => refresh(ALL));

  byId("decision-filters").addEventListener("change", () => {
    decisionsLimit = DECISIONS_PAGE;
    refresh(["decisions"]);
  });
  byId("decisions-more").addEventListener("click", () => {
    decisionsLimit += DECISIONS_PAGE;
    refresh(["decisions"]);
  });

  document.querySelectorAll("dialog [data-close]").forEach((button) => {
    button.addEventListener("click", () => button.closest("dialog").close());
  });

  // --- Kill switch (operators only: the buttons and dialogs exist only for them) ----------------

  // A field error from the API, our own check's message, or what went wrong on the way.
  function dialogErrorText(problem) {
    if (problem instanceof ApiError) {
      return problem.body && problem.body.reason ? [].concat(problem.body.reason).join(" ") : errorText(problem);
    }
    return problem instanceof TypeError ? errorText(problem) : problem.message;
  }

  function wireDialog(buttonId, dialogId, formId, errorId, submit) {
    const button = byId(buttonId);
    const dialog = byId(dialogId);
    if (!button || !dialog) return;
    const form = byId(formId);
    const error = byId(errorId);
    button.addEventListener("click", () => {
      error.hidden = true;
      form.reset();
      dialog.showModal();
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.hidden = true;
      const confirm = form.querySelector("button[type=submit]");
      confirm.disabled = true;
      try {
        const ks = await submit(form);
        renderKillSwitch(ks);
        dialog.close();
        refresh(["status", "events"]);
      } catch (problem) {
        error.textContent = dialogErrorText(problem);
        error.hidden = false;
      } finally {
        confirm.disabled = false;
      }
    });
  }

  wireDialog("kill-switch-engage", "engage-dialog", "engage-form", "engage-error", (form) => {
    const reason = form.elements.reason.value.trim();
    if (!reason) {
      form.elements.reason.focus();
      return Promise.reject(new Error("Please say why you are stopping the agent."));
    }
    return postJson(API.engage, { reason: reason });
  });
  wireDialog("kill-switch-reset", "reset-dialog", "reset-form", "reset-error", () => postJson(API.reset, {}));

  refresh(ALL);
})();
