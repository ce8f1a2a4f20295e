// Progressive enhancement: a Print button for the decision page (the page prints fine without it).
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("button.js-print").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
});
