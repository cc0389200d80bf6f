// Rep search box: suggestions as you type, keyboard navigation, and "/" to focus.
// Progressive enhancement only: without this file the box is a plain GET form.
(function () {
  "use strict";

  var DEBOUNCE_MS = 120;

  function isTyping(target) {
    var tag = (target && target.tagName) || "";
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  function setup(form) {
    var input = form.querySelector("input[name=q]");
    var list = form.querySelector(".search-suggestions");
    var url = form.getAttribute("data-suggest-url");
    if (!input || !list || !url) { return; }
    var timer = null;
    var active = -1;
    var lastQuery = "";
    var controller = null;

    function options() { return list.querySelectorAll("[role=option]"); }

    function close() {
      list.hidden = true;
      list.textContent = "";
      active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }

    function highlight(index) {
      var items = options();
      if (!items.length) { return; }
      active = (index + items.length) % items.length;
      for (var i = 0; i < items.length; i++) {
        items[i].setAttribute("aria-selected", i === active ? "true" : "false");
      }
      input.setAttribute("aria-activedescendant", items[active].id);
    }

    function render(suggestions) {
      list.textContent = "";
      active = -1;
      if (!suggestions.length) { close(); return; }
      suggestions.forEach(function (item, index) {
        var li = document.createElement("li");
        li.id = "search-suggestion-" + index;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.className = "suggestion suggestion-" + item.kind;
        var link = document.createElement("a");
        link.href = item.url;
        link.tabIndex = -1;
        link.textContent = item.label;  // textContent: never interpreted as HTML
        if (item.kind !== "asset") {
          var kind = document.createElement("span");
          kind.className = "suggestion-kind";
          kind.textContent = item.kind;
          link.appendChild(kind);
        }
        li.appendChild(link);
        list.appendChild(li);
      });
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }

    function fetchSuggestions() {
      var query = input.value.trim();
      if (query.length < 2) { close(); return; }
      if (query === lastQuery && !list.hidden) { return; }
      lastQuery = query;
      if (controller) { controller.abort(); }
      controller = window.AbortController ? new AbortController() : null;
      fetch(url + "?q=" + encodeURIComponent(query), {
        credentials: "same-origin",
        headers: { "Accept": "application/json" },
        signal: controller ? controller.signal : undefined
      }).then(function (response) {
        return response.ok ? response.json() : { suggestions: [] };
      }).then(function (data) {
        if (input.value.trim() === query) { render(data.suggestions || []); }
      }).catch(function () { /* suggestions are optional; the form still submits */ });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(fetchSuggestions, DEBOUNCE_MS);
    });
    input.addEventListener("keydown", function (event) {
      if (list.hidden) { return; }
      if (event.key === "ArrowDown") { event.preventDefault(); highlight(active + 1); }
      else if (event.key === "ArrowUp") { event.preventDefault(); highlight(active - 1); }
      else if (event.key === "Escape") { close(); }
      else if (event.key === "Enter" && active >= 0) {
        event.preventDefault();
        window.location.href = options()[active].querySelector("a").href;
      }
    });
    input.addEventListener("blur", function () { window.setTimeout(close, 200); });
  }

  function facetsForScreen() {
    var panel = document.querySelector("details.facets");
    if (panel && window.matchMedia && window.matchMedia("(max-width: 47.99rem)").matches) {
      panel.open = false;
    }
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (isTyping(event.target)) { return; }
    var input = document.querySelector(".search-box input[name=q]");
    if (input) { event.preventDefault(); input.focus(); input.select(); }
  });

  function start() {
    var forms = document.querySelectorAll("form.search-box");
    for (var i = 0; i < forms.length; i++) { setup(forms[i]); }
    facetsForScreen();
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); }
  else { start(); }
})();
