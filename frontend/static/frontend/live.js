// The dashboard's live feed: one WebSocket per page, reconnecting with backoff.
// Pages listen for "optionsbot:event" on document; the status badge shows the connection state.
(function () {
  "use strict";
  const status = document.getElementById("live-status");
  let delay = 1000;

  function setState(state, text) {
    if (!status) return;
    status.dataset.state = state;
    status.textContent = text;
  }

  function applyBuiltIn(event) {
    if (event.topic === "agent.tick") {
      const tick = event.data;
      const el = document.getElementById("last-tick");
      if (el) {
        const when = new Date(tick.started_at);
        el.textContent = when.toISOString().replace("T", " ").slice(0, 19) + " UTC · " + tick.status_display;
      }
      const msg = document.getElementById("last-tick-message");
      if (msg) msg.textContent = tick.message || "—";
    }
  }

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(scheme + "://" + window.location.host + "/ws/live/");
    setState("connecting", "connecting…");
    ws.onopen = function () { delay = 1000; setState("open", "live"); };
    ws.onmessage = function (msg) {
      let data;
      try { data = JSON.parse(msg.data); } catch (e) { return; }
      if (data.type !== "event") return;
      applyBuiltIn(data);
      document.dispatchEvent(new CustomEvent("optionsbot:event", { detail: data }));
    };
    ws.onclose = function (evt) {
      if (evt.code === 4401 || evt.code === 4403) {
        setState("refused", evt.code === 4401 ? "not logged in" : "no access");
        return;
      }
      setState("closed", "reconnecting…");
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  connect();
})();
