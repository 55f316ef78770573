// slo-operator UI: theme (system preference, or the reader's choice kept in localStorage),
// filters that apply as they change, and two keys: "/" focuses the search, "t" toggles the theme.
// Everything works without this script: the filters form is a plain GET form.
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
    var form = document.querySelector("form.filters");
    if (form) {
      var selects = form.querySelectorAll("select");
      for (var i = 0; i < selects.length; i++) {
        selects[i].addEventListener("change", function () { form.submit(); });
      }
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
