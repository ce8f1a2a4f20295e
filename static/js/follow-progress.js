// Follows a running job on its own page (a backtest, a policy simulation): every few seconds it reads the page
// again and puts the new progress in place (the box is aria-live, so a screen reader hears it), then reloads
// the page once the job has finished, to show its report. Without JavaScript a <noscript> meta refresh reloads
// the whole page instead.
(function () {
  "use strict";
  var box = document.querySelector("[data-follow-progress]");
  if (!box) { return; }
  var every = 1000 * (parseInt(box.dataset.followProgress, 10) || 3);

  function poll() {
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("[data-follow-progress]");
        if (!fresh) { window.location.reload(); return; }
        box.innerHTML = fresh.innerHTML;
        window.setTimeout(poll, every);
      })
      .catch(function () { window.setTimeout(poll, every * 3); });
  }
  window.setTimeout(poll, every);
})();
