// Shared by the tabs whose work runs as background jobs (the Backtesting Lab, Calibration): a
// run's status in words, UTC time-axis labels, and charts that follow the width of their box.
(function () {
  "use strict";

  const STATUS = {
    queued: ["Waiting for a worker", "plain"],
    running: ["Running", "warn"],
    succeeded: ["Finished", "ok"],
    failed: ["Failed", "bad"],
    cancelled: ["Cancelled", "plain"],
  };
  const FINISHED = new Set(["succeeded", "failed", "cancelled"]);
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  function statusText(status) {
    return (STATUS[status] || [status || "unknown"])[0];
  }

  function statusKind(status) {
    return (STATUS[status] || [null, "plain"])[1];
  }

  function isFinished(run) {
    return FINISHED.has(run.status);
  }

  // Time axis labels in UTC, 24-hour: days as "3 Mar", hours as "06:00", a new year as "2026".
  function timeTicks(u, splits, axisIdx, space, incr) {
    return splits.map((ts) => {
      const d = new Date(ts * 1000);
      const midnight = d.getUTCHours() === 0 && d.getUTCMinutes() === 0;
      if (incr >= 86400 || midnight) {
        if (d.getUTCMonth() === 0 && d.getUTCDate() === 1) return String(d.getUTCFullYear());
        return d.getUTCDate() + " " + MONTHS[d.getUTCMonth()];
      }
      return String(d.getUTCHours()).padStart(2, "0") + ":" + String(d.getUTCMinutes()).padStart(2, "0");
    });
  }

  // The charts of one tab, `height` pixels high: each follows its box as the grid reflows and the
  // window changes; `destroy(container)` removes those inside `container` (all without one).
  function chartShelf(height) {
    const charts = [];
    let pending = null;

    function resize() {
      for (const { chart, box } of charts) {
        const width = Math.max(320, box.clientWidth - 20);
        if (Math.abs(width - chart.width) > 2) chart.setSize({ width: width, height: height });
      }
    }

    const observer = new ResizeObserver(() => {
      if (pending) cancelAnimationFrame(pending);
      pending = requestAnimationFrame(resize);
    });

    function track(chart, box) {
      charts.push({ chart: chart, box: box });
      observer.observe(box);
    }

    function destroy(container) {
      for (let i = charts.length - 1; i >= 0; i--) {
        if (!container || container.contains(charts[i].box)) {
          observer.unobserve(charts[i].box);
          charts[i].chart.destroy();
          charts.splice(i, 1);
        }
      }
    }

    return { track: track, destroy: destroy };
  }

  window.optionsbotJobs = { statusText, statusKind, isFinished, timeTicks, MONTHS, chartShelf };
})();
