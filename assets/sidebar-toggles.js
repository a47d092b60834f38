// The chapter menu and "On this page" on narrow screens. sphinx-book-theme 1.3 shows the
// sidebar toggles of the article header and hides those of the navbar (display: none), but
// pydata-sphinx-theme 0.17 and the book theme bind their click handlers to the first
// `.primary-toggle` / `.secondary-toggle` of the page, the hidden ones: a tap on the visible
// button did nothing (pydata-sphinx-theme#2451, sphinx-book-theme#935). Pass it on.
document.addEventListener("DOMContentLoaded", function () {
  ["primary-toggle", "secondary-toggle"].forEach(function (kind) {
    var buttons = document.querySelectorAll("button." + kind);
    for (var i = 1; i < buttons.length; i++) {
      buttons[i].addEventListener("click", function (event) {
        event.preventDefault();
        buttons[0].click(); // the themes' handlers: open the dialog, or fold the sidebar
      });
    }
  });
});
