// Shared by the dashboard's pages: formatting (UTC times, coins with their unit, dollars), DOM
// building from text only (never HTML from data), and JSON calls to the API with the CSRF token.
(function () {
  "use strict";

  // --- Formatting: UTC times, coins with their unit, dollars ----------------------------------

  function isBlank(value) {
    return value === null || value === undefined || value === "";
  }

  function fmtTime(iso) {
    if (!iso) return "—";
    const when = new Date(iso);
    if (isNaN(when.getTime())) return iso;
    return when.toISOString().replace("T", " ").slice(0, 19) + " UTC";
  }

  function fmtClock(date) {
    return date.toISOString().slice(11, 19) + " UTC";
  }

  function fmtNumber(value, minDigits, maxDigits) {
    return Number(value).toLocaleString("en-US", {
      minimumFractionDigits: minDigits,
      maximumFractionDigits: maxDigits,
    });
  }

  // Coin amounts: 4 decimals from 1 coin up, up to 6 below (0.000123 BTC stays readable).
  function fmtCoin(value, currency) {
    if (isBlank(value)) return "—";
    const n = Number(value);
    return fmtNumber(n, 2, Math.abs(n) >= 1 ? 4 : 6) + " " + (currency || "");
  }

  function fmtUsd(value) {
    if (isBlank(value)) return "—";
    return Number(value).toLocaleString("en-US", { style: "currency", currency: "USD" });
  }

  function fmtContracts(value) {
    if (isBlank(value)) return "—";
    return fmtNumber(Math.abs(Number(value)), 0, 4);
  }

  function fmtDuration(ms) {
    if (ms === null || ms === undefined) return "still running";
    if (ms < 1000) return Math.round(ms) + " ms";
    if (ms < 120000) return fmtNumber(ms / 1000, 1, 1) + " s";
    return fmtNumber(ms / 60000, 1, 1) + " min";
  }

  function fmtEvery(seconds) {
    if (seconds % 3600 === 0) return seconds / 3600 === 1 ? "every hour" : "every " + seconds / 3600 + " hours";
    if (seconds % 60 === 0) return seconds / 60 === 1 ? "every minute" : "every " + seconds / 60 + " minutes";
    return "every " + seconds + " seconds";
  }

  function signClass(value) {
    const n = Number(value);
    if (isBlank(value) || n === 0) return "";
    return n > 0 ? "gain" : "loss";
  }

  // --- DOM helpers: text only, never HTML from data --------------------------------------------

  function h(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of [].concat(children || [])) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function fill(node, children) {
    node.replaceChildren(...[].concat(children).filter((c) => c !== null && c !== undefined && c !== false));
  }

  function byId(id) {
    return document.getElementById(id);
  }

  function tableBody(tableId, rows, emptyText) {
    const table = byId(tableId);
    const cols = table.tHead.rows[0].cells.length;
    const body = table.tBodies[0];
    if (!rows.length) {
      fill(body, h("tr", { class: "empty" }, h("td", { colspan: cols, class: "muted", text: emptyText })));
    } else {
      fill(body, rows);
    }
  }

  function badge(text, kind) {
    return h("span", { class: "pill pill-" + kind, text: text });
  }

  // --- Talking to the API ------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, body) {
      super("HTTP " + status);
      this.status = status;
      this.body = body;
    }
  }

  function csrfToken() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  async function request(url, options) {
    const response = await fetch(url, Object.assign({ credentials: "same-origin" }, options || {}));
    let body = null;
    try {
      body = await response.json();
    } catch (e) {
      body = null;
    }
    if (!response.ok) throw new ApiError(response.status, body);
    return body;
  }

  function getJson(url, params) {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(params || {})) {
      if (!isBlank(value)) query.set(key, value);
    }
    const qs = query.toString();
    return request(qs ? url + "?" + qs : url, { headers: { Accept: "application/json" } });
  }

  function postJson(url, body) {
    return request(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body || {}),
    });
  }

  function errorText(error) {
    if (error instanceof ApiError) {
      if (error.status === 401 || error.status === 403) {
        return "You are no longer logged in, or your account lost its role. Reload the page to log in again.";
      }
      if (error.body && error.body.detail) return error.body.detail;
      return "The server answered with an error (HTTP " + error.status + ").";
    }
    return "Could not reach the server. The page will try again on the next update.";
  }

  window.optionsbotUI = {
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
  };
})();
