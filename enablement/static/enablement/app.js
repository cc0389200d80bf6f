// Enablement Library: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";
  // Filter selects apply at once when chosen with the mouse or a finger: a change that follows
  // a pointer press on that select submits its form. From the keyboard a change never does
  // (WCAG 3.2.2: arrow keys walk the options without reloading the page); Enter on the select
  // or the "Apply filters" button applies, as it does without JavaScript.
  document.querySelectorAll("select.js-autosubmit").forEach(function (select) {
    var byPointer = false;
    function apply() {
      if (!select.form) { return; }
      if (select.form.requestSubmit) { select.form.requestSubmit(); } else { select.form.submit(); }
    }
    select.addEventListener("pointerdown", function () { byPointer = true; });
    select.addEventListener("keydown", function (event) {
      byPointer = false;
      if (event.key === "Enter" && !event.altKey && !event.ctrlKey && !event.metaKey) {
        event.preventDefault();
        apply();
      }
    });
    select.addEventListener("blur", function () { byPointer = false; });
    select.addEventListener("change", function () {
      if (byPointer) { byPointer = false; apply(); }
    });
  });
})();

// "Copy link" buttons copy the text field they name (data-copy-target). Focus stays on the
// button and a polite live region (made here, once per page) says what happened. The
// clipboard API first; without it, the browser's copy command on the field's selection;
// if neither copies, the field is selected and focused so that the rep can copy it by hand.
(function () {
  "use strict";
  var buttons = document.querySelectorAll("button.js-copy");
  if (!buttons.length) { return; }
  var status = document.createElement("p");
  status.className = "visually-hidden js-copy-status";
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  status.setAttribute("aria-atomic", "true");
  document.body.appendChild(status);
  var timer = null;
  function announce(text) {
    // Emptied first and filled a moment later, so that the same words twice are read twice.
    status.textContent = "";
    window.clearTimeout(timer);
    timer = window.setTimeout(function () { status.textContent = text; }, 100);
  }
  function copyBySelection(field, button) {
    field.select();
    var copied = false;
    try { copied = document.execCommand("copy"); } catch (error) { copied = false; }
    if (copied) {
      field.setSelectionRange(0, 0);
      button.focus();
    }
    return copied;
  }
  buttons.forEach(function (button) {
    var label = button.textContent;
    button.addEventListener("click", function () {
      var field = document.getElementById(button.getAttribute("data-copy-target"));
      if (!field) {
        return;
      }
      var done = function () {
        button.textContent = "Copied";
        announce("Link copied to the clipboard");
        window.setTimeout(function () { button.textContent = label; }, 4000);
      };
      var byHand = function () {
        if (copyBySelection(field, button)) { done(); return; }
        field.focus();
        field.select();
        announce("Link selected: press Ctrl+C to copy it");
      };
      if (navigator.clipboard && navigator.clipboard.writeText && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, byHand);
      } else {
        byHand();
      }
    });
  });
})();

// An image that does not load (its file is missing from the store: a 404) gives way to the
// text it names (data-unavailable), as a span of class data-unavailable-class: a thumbnail
// to the placeholder a thumbnail-less asset shows, a page preview to a sentence saying so.
(function () {
  "use strict";
  function giveWay(img) {
    var span = document.createElement("span");
    span.className = img.getAttribute("data-unavailable-class") || "thumb-placeholder";
    span.textContent = img.getAttribute("data-unavailable");
    img.replaceWith(span);
  }
  document.addEventListener(
    "error",
    function (event) {
      var img = event.target;
      if (img.tagName === "IMG" && img.hasAttribute("data-unavailable")) {
        giveWay(img);
      }
    },
    true
  );
  // Those that failed before this script ran (a lazy image not asked for yet has no currentSrc).
  document.querySelectorAll("img[data-unavailable]").forEach(function (img) {
    if (img.complete && img.currentSrc && img.naturalWidth === 0) {
      giveWay(img);
    }
  });
})();
