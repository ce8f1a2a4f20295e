// Follows a running model load on the admin load page: polls the JSON status endpoint and reloads the
// page (with its result rows) once no load is queued or running. Without JavaScript a <noscript> meta
// refresh does the same.
(function () {
  "use strict";
  var box = document.getElementById("load-progress");
  if (!box) { return; }
  var url = box.dataset.statusUrl;

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) {
        if (!data.running) { window.location.reload(); } else { window.setTimeout(poll, 1500); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
})();
