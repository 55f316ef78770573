// slo-operator UI: theme (system preference, or the reader's choice kept in localStorage) and
// two keys: "/" focuses the search, "t" toggles the theme. Filters apply with the form's button
// (or Enter), not on every change: arrowing through a select must not reload the page.
// Everything but the theme toggle works without this script: the filters form is a GET form.
(function () {
  "use strict";
  var KEY = "slo-operator-theme";
  var root = document.documentElement;
  function stored() {
    try { return window.localStorage.getItem(KEY); } catch (error) { return null; }
  }
  function effective() {
    var chosen = root.getAttribute("data-theme");
    if (chosen) { return chosen; }
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }
  var initial = stored();
  if (initial === "dark" || initial === "light") { root.setAttribute("data-theme", initial); }

  function label(button) {
    var dark = effective() === "dark";
    button.textContent = dark ? "Light theme" : "Dark theme";
    button.setAttribute("aria-pressed", dark ? "true" : "false");
  }
  function toggle(button) {
    var next = effective() === "dark" ? "light" : "dark";
    root.setAttribute("data-theme", next);
    try { window.localStorage.setItem(KEY, next); } catch (error) { /* private mode: not kept */ }
    label(button);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("theme-toggle");
    if (button) {
      label(button);
      button.addEventListener("click", function () { toggle(button); });
    }
    document.addEventListener("keydown", function (event) {
      var target = event.target;
      var typing = target && (target.tagName === "INPUT" || target.tagName === "SELECT" || target.tagName === "TEXTAREA");
      if (typing || event.ctrlKey || event.metaKey || event.altKey) { return; }
      if (event.key === "/") {
        var search = document.getElementById("search");
        if (search) { event.preventDefault(); search.focus(); search.select(); }
      } else if (event.key === "t" && button) {
        toggle(button);
      }
    });
  });
}());
