// Live progress for a batch job page: polls the JSON endpoint and reloads once the job finishes.
// Without JavaScript the page refreshes itself (a <noscript> meta refresh).
(function () {
  "use strict";
  var box = document.getElementById("batch-progress");
  if (!box || box.dataset.finished === "true") { return; }
  var url = box.dataset.progressUrl;
  var bar = box.querySelector("progress");
  var hint = box.querySelector("[data-hide-when-js]");
  if (hint) { hint.hidden = true; }

  // The same formats as the server-rendered page: 1,234,567 rows, 12.5 %.
  function format(value, kind) {
    if (value === null || value === undefined) { return "–"; }
    if (kind === "int") { return Math.round(value).toLocaleString("en-US"); }
    if (kind === "pct") { return Number(value).toFixed(1); }
    return String(value);
  }

  function show(data) {
    box.querySelectorAll("[data-field]").forEach(function (el) {
      el.textContent = format(data[el.dataset.field], el.dataset.format);
    });
    if (bar) { bar.max = data.row_count; bar.value = data.rows_done; bar.textContent = data.percent + "%"; }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) {
        show(data);
        if (data.finished) { window.location.reload(); } else { window.setTimeout(poll, 1500); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
})();
