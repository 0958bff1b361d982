// The dashboard's live feed: one WebSocket per page, reconnecting with backoff.
// Pages listen for "optionsbot:event" on document (detail: {topic, data, at}) and for
// "optionsbot:connected", sent on every (re)connection, when events may have been missed.
// The status badge shows the connection state.
(function () {
  "use strict";
  const status = document.getElementById("live-status");
  let delay = 1000;

  function setState(state, text) {
    if (!status) return;
    status.dataset.state = state;
    status.textContent = text;
  }

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(scheme + "://" + window.location.host + "/ws/live/");
    setState("connecting", "connecting…");
    ws.onopen = function () {
      delay = 1000;
      setState("open", "live");
      document.dispatchEvent(new CustomEvent("optionsbot:connected"));
    };
    ws.onmessage = function (msg) {
      let data;
      try { data = JSON.parse(msg.data); } catch (e) { return; }
      if (data.type !== "event") return;
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
