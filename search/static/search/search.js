// Rep search box: suggestions as you type, keyboard navigation, and "/" to focus; on the search
// page, results, counts and facets update in place as the rep types or clicks (live results).
// Progressive enhancement only: without this file the box is a plain GET form and every link a
// full page load.
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
    var pending = false;  // suggestions asked for (or about to be) and not shown yet

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
        // The option is the control (no link inside: an option holds no interactive content);
        // Enter on it or a click opens its URL (openOption()).
        li.setAttribute("data-url", item.url);
        li.textContent = item.label;  // textContent: never interpreted as HTML
        if (item.kind !== "asset") {
          var kind = document.createElement("span");
          kind.className = "suggestion-kind";
          kind.textContent = item.kind;
          li.appendChild(kind);
        }
        list.appendChild(li);
      });
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }

    function openOption(option) {
      var target = option && option.getAttribute("data-url");
      if (!target) { return; }
      var link = new URL(target, window.location.href);
      if (link.origin !== window.location.origin) { return; }  // only this site's pages
      window.location.href = link.href;
    }

    function fetchSuggestions() {
      var query = input.value.trim();
      if (query.length < 2) { pending = false; close(); return; }
      if (query === lastQuery && !list.hidden) { pending = false; return; }
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
        if (input.value.trim() === query) { pending = false; render(data.suggestions || []); }
      }).catch(function (error) {  // suggestions are optional; the form still submits
        if (!error || error.name !== "AbortError") { pending = false; }  // a newer one is due
      });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      pending = true;
      timer = window.setTimeout(fetchSuggestions, DEBOUNCE_MS);
    });
    input.addEventListener("keydown", function (event) {
      // Escape while suggestions are on their way dismisses them, as it does once they show;
      // with none coming it is the browser's own for a search box (clear the query).
      if (event.key === "Escape" && pending && list.hidden) {
        event.preventDefault();
        dismiss();
        return;
      }
      if (list.hidden) {
        // ArrowDown opens the suggestions again (after Escape, say) for the text in the box.
        if (event.key === "ArrowDown" && !event.altKey && input.value.trim().length >= 2) {
          event.preventDefault();
          window.clearTimeout(timer);
          pending = true;
          fetchSuggestions();
        }
        return;
      }
      if (event.key === "ArrowDown") { event.preventDefault(); highlight(active + 1); }
      else if (event.key === "ArrowUp") { event.preventDefault(); highlight(active - 1); }
      else if (event.key === "Escape") { event.preventDefault(); dismiss(); }  // keep the text
      else if (event.key === "Enter" && active >= 0) {
        event.preventDefault();
        openOption(options()[active]);
      }
    });
    // A press on the list keeps the focus in the box (so blur does not close the list under the
    // pointer); the click then opens the option.
    list.addEventListener("mousedown", function (event) { event.preventDefault(); });
    list.addEventListener("click", function (event) {
      var option = event.target.closest && event.target.closest("[role=option]");
      if (option && list.contains(option)) { openOption(option); }
    });
    function dismiss() {  // close, and let no pending answer open the list again
      window.clearTimeout(timer);
      pending = false;
      if (controller) { controller.abort(); }
      lastQuery = "";
      close();
    }

    input.addEventListener("blur", function () { window.setTimeout(close, 200); });
    form.addEventListener("submit", dismiss);
  }

  function facetsForScreen() {
    var panel = document.querySelector("details.facets");
    if (panel && window.matchMedia && window.matchMedia("(max-width: 47.99rem)").matches) {
      panel.open = false;
    }
  }

  // --- Live results (search page only) ---------------------------------------------------
  // The server renders the part of the page a search changes (#search-region) when asked with
  // the header X-Search-Partial; it is fetched for the page's own URLs and swapped in, and the
  // address bar follows (back, forward and reload show the same search). Typing sends at once
  // when nothing is in flight; keystrokes made meanwhile are coalesced into one follow-up
  // request, so a rep has at most one search running. A response older than the newest
  // request is dropped (sequence numbers), and a click or Back aborts what is in flight.
  function liveResults(form) {
    var region = document.getElementById("search-region");
    var input = form.querySelector("input[name=q]");
    var status = document.getElementById("search-status");
    if (!region || !input || !window.fetch || !window.history.pushState) { return; }
    var path = form.getAttribute("action");
    var sent = 0;        // number of the newest request
    var shown = 0;       // number of the request whose results are on the page
    var controller = null;
    var typingInFlight = false;
    var typingAgain = false;
    var typedEntry = false;  // typing is making the current history entry
    var typedOnPage = false; // the results on the page (and their history entry) came from typing
    var current = here();    // the URL whose results are on the page
    var addressChanges = []; // history entries to make or replace once the results are painted
    window.history.replaceState({ search: true }, "");

    function here() { return window.location.pathname + window.location.search; }

    // The address bar follows the results a frame later, after they are painted: a history
    // call can take the browser milliseconds (now and then over 10 ms in Chromium), which the
    // rep would otherwise wait for. Back or Forward before then cancels what is not done yet.
    function address(how, url) {
      if (how !== "push" && how !== "replace") { return; }
      addressChanges.push([how, url]);
      if (addressChanges.length > 1) { return; }  // already due after this frame
      window.requestAnimationFrame(function () {
        window.setTimeout(function () {
          addressChanges.splice(0).forEach(function (change) {
            if (change[0] === "push") { window.history.pushState({ search: true }, "", change[1]); }
            else { window.history.replaceState({ search: true }, "", change[1]); }
          });
        }, 0);
      });
    }

    function addressShown() {  // what the address bar shows, or is about to
      var last = addressChanges[addressChanges.length - 1];
      return last ? last[1] : here();
    }

    function urlFor(changes) {
      var params = new URL(addressShown(), window.location.href).searchParams;
      params.delete("page");
      params.delete("sid");
      Object.keys(changes).forEach(function (key) {
        if (changes[key]) { params.set(key, changes[key]); } else { params.delete(key); }
      });
      var query = params.toString();
      return path + (query ? "?" + query : "");
    }

    function fresh(text) { return path + (text ? "?q=" + encodeURIComponent(text) : ""); }

    function swap(html, url, how, focusResults) {
      var panel = region.querySelector("details.facets");
      var wasOpen = panel ? panel.open : null;
      var holder = document.createElement("div");
      holder.innerHTML = html;  // the server's own escaped HTML for this site's URL
      var fresh = holder.querySelector("#search-region");
      if (!fresh) { window.location.href = url; return; }
      var focusWasInside = region.contains(document.activeElement);
      region.replaceWith(fresh);
      region = fresh;
      panel = region.querySelector("details.facets");
      if (panel && wasOpen !== null) { panel.open = wasOpen; }
      document.title = region.getAttribute("data-title") || document.title;
      address(how, url);
      var count = region.querySelector(".result-count, [role=alert] p");
      if (status && count) { status.textContent = count.textContent.trim(); }
      // Focus inside the old region would fall to the page's body when it goes (Back or Forward
      // after a facet click, say): it moves to the new results heading, as after a click. Focus
      // in the search box (typing) stays there.
      if (focusResults || focusWasInside) {
        var heading = region.querySelector("#results-heading, [role=alert]");
        if (heading) {
          if (!heading.hasAttribute("tabindex")) { heading.setAttribute("tabindex", "-1"); }
          heading.focus();
        }
      }
      region.dispatchEvent(new CustomEvent("search:updated", { bubbles: true }));
    }

    function load(url, how, focusResults, refines, typing) {
      var number = ++sent;
      var headers = { "X-Search-Partial": "1" };
      // Typing on from typed results: that search was a step on the way (search gaps skip it).
      if (refines) { headers["X-Search-Refines"] = refines; }
      if (controller) { controller.abort(); }
      controller = window.AbortController ? new AbortController() : null;
      region.setAttribute("aria-busy", "true");
      return fetch(url, {
        credentials: "same-origin",
        headers: headers,
        signal: controller ? controller.signal : undefined
      }).then(function (response) {
        if (!response.ok && response.status !== 400 && response.status !== 503) {
          throw new Error("search answered " + response.status);
        }
        return response.text();
      }).then(function (html) {
        if (number < shown) { return; }  // a newer search is already on the page
        shown = number;
        current = url;
        typedOnPage = !!typing;
        swap(html, url, how, focusResults);
      }, function (error) {
        if (error && error.name === "AbortError") { return; }
        window.location.href = url;  // let the server render the page the ordinary way
      });
    }

    function typed() {
      if (typingInFlight) { typingAgain = true; return; }
      // After a parameter the server refused (the region shows its error), start afresh.
      var url = region.querySelector("[role=alert]") ? fresh(input.value.trim())
        : urlFor({ q: input.value.trim() });
      if (url === current) { return; }
      typingInFlight = true;
      var how = typedEntry ? "replace" : "push";
      var refines = typedEntry ? region.getAttribute("data-sid") : "";
      typedEntry = true;
      load(url, how, false, refines, true).then(function () {
        typingInFlight = false;
        if (typingAgain) { typingAgain = false; typed(); }
      });
    }

    function chosen(url, how, focusResults) {  // a click, a form, Back: typing yields to it
      typedEntry = false;
      typingAgain = false;
      load(url, how, focusResults);
    }

    input.addEventListener("input", typed);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var url = urlFor({ q: input.value.trim() });
      if (url === current && !typingInFlight) { typedEntry = false; return; }  // on the page
      // Enter keeps typed results' entry; before any is shown it is a new entry.
      chosen(url, typedOnPage ? "replace" : "push", false);
    });
    document.addEventListener("click", function (event) {
      var link = event.target.closest && event.target.closest("#search-region a[href]");
      if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey ||
          event.ctrlKey || event.shiftKey || event.altKey) { return; }
      var target = new URL(link.href, window.location.href);
      if (target.origin !== window.location.origin || target.pathname !== path) { return; }
      event.preventDefault();
      // Links were drawn for the results shown; text typed since (its search perhaps still on
      // its way) goes with the click rather than being lost.
      var text = input.value.trim();
      if (text !== (region.getAttribute("data-q") || "").trim()) {
        var params = new URLSearchParams(text ? { q: text } : {});
        target.searchParams.forEach(function (value, key) {
          if (key !== "q" && key !== "page" && key !== "sid") { params.append(key, value); }
        });
        target.search = params.toString();
      } else {
        // The box shows the words of the results the link leads to: a link may leave them
        // out (a stage or pillar a search that found nothing named offers its filter alone).
        input.value = target.searchParams.get("q") || "";
      }
      chosen(target.pathname + target.search, "push", true);
    });
    document.addEventListener("submit", function (event) {
      var deal = event.target.closest && event.target.closest("#search-region form.deal-form");
      if (!deal) { return; }
      event.preventDefault();
      var params = new URLSearchParams();
      new FormData(deal).forEach(function (value, key) { if (value) { params.append(key, value); } });
      var query = params.toString();
      chosen(path + (query ? "?" + query : ""), "push", true);
    });
    window.addEventListener("popstate", function (event) {
      if (!event.state || !event.state.search || here() === current) { return; }  // e.g. #main
      addressChanges.length = 0;
      input.value = new URLSearchParams(window.location.search).get("q") || "";
      chosen(here(), "none", false);
    });
  }

  // Results fetched as the rep types hold a card action's form (e.g. "Used in a deal?" with
  // the rep's open deals) once, in <template id="action-NAME">; a card gets its copy, posting
  // to its own address, when the rep opens it.
  function cardForm(event) {
    var details = event.target;
    if (!details.hasAttribute || !details.hasAttribute("data-action") || details.querySelector("form")) { return; }
    var name = details.getAttribute("data-action");
    var template = document.getElementById("action-" + name);
    if (!template) { return; }
    var form = template.content.querySelector("form").cloneNode(true);
    var id = name + "-" + details.getAttribute("data-asset");
    form.setAttribute("action", details.getAttribute("data-url"));
    form.querySelector("select").id = id;
    form.querySelector("label").htmlFor = id;
    details.appendChild(form);
  }
  document.addEventListener("toggle", cardForm, true);  // toggle does not bubble

  // "/" alone focuses the box; the rep can turn that off (a speech-input user saying a word
  // with "slash" in it, say), and the choice is kept in this browser.
  var SHORTCUT_OFF = "enablement.searchShortcut";

  function shortcutOn() {
    try { return window.localStorage.getItem(SHORTCUT_OFF) !== "off"; } catch (error) { return true; }
  }

  function shortcutShow() {
    var on = shortcutOn();
    var lines = document.querySelectorAll(".search-shortcut");
    for (var i = 0; i < lines.length; i++) {
      var button = lines[i].querySelector("button");
      button.setAttribute("aria-pressed", on ? "true" : "false");
      button.querySelector(".search-shortcut-state").textContent = on ? ": on" : ": off";
      lines[i].hidden = false;
    }
    var boxes = document.querySelectorAll(".search-box input[name=q]");
    for (var j = 0; j < boxes.length; j++) {
      var hint = boxes[j].getAttribute("placeholder") || "";
      boxes[j].setAttribute("placeholder", hint.replace(/ \(press \/\)$/, "") + (on ? " (press /)" : ""));
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".search-shortcut button");
    if (!button) { return; }
    try {
      if (shortcutOn()) { window.localStorage.setItem(SHORTCUT_OFF, "off"); }
      else { window.localStorage.removeItem(SHORTCUT_OFF); }
    } catch (error) { return; }  // storage refused: the shortcut stays as it was
    shortcutShow();
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (isTyping(event.target) || !shortcutOn()) { return; }
    var input = document.querySelector(".search-box input[name=q]");
    if (input) { event.preventDefault(); input.focus(); input.select(); }
  });

  function start() {
    var forms = document.querySelectorAll("form.search-box");
    for (var i = 0; i < forms.length; i++) { setup(forms[i]); }
    if (forms.length) { liveResults(forms[0]); }
    facetsForScreen();
    shortcutShow();
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); }
  else { start(); }
})();
