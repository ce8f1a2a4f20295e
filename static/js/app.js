// Small progressive enhancements; every page works without this file.
document.addEventListener("DOMContentLoaded", function () {
  // After a failed submit, move keyboard and screen-reader focus to the list of errors.
  var summary = document.getElementById("error-summary");
  if (summary) {
    summary.focus();
  }
  // A Print button on the decision page (the print layout itself is plain CSS).
  document.querySelectorAll("button.js-print").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      window.print();
    });
  });
});
