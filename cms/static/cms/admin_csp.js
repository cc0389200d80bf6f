// Wagtail's admin widgets that Wagtail starts with an inline <script>, started here instead,
// because the Content-Security-Policy forbids inline script. The templates under
// templates/wagtailadmin/ leave a hidden <span data-csp-init="..."> where the script was.
(function () {
  "use strict";
  var starters = {
    date: function (el, config) { window.initDateChooser(el.dataset.target, config); },
    time: function (el, config) { window.initTimeChooser(el.dataset.target, config); },
    datetime: function (el, config) { window.initDateTimeChooser(el.dataset.target, config); },
    "inline-panel": function (el, config) { new window.InlinePanel(config); },
    "multiple-chooser-panel": function (el, config) { new window.MultipleChooserPanel(config); },
    // A chooser: window[data-function](...data-args), with "new" when data-new is present.
    call: function (el) {
      var fn = window[el.dataset.function];
      var args = JSON.parse(el.dataset.args || "[]");
      if (typeof fn !== "function") {
        return;
      }
      if (el.hasAttribute("data-new")) {
        new (Function.prototype.bind.apply(fn, [null].concat(args)))();
      } else {
        fn.apply(null, args);
      }
    },
  };

  function start(root) {
    root.querySelectorAll("[data-csp-init]:not([data-csp-started])").forEach(function (el) {
      var starter = starters[el.dataset.cspInit];
      if (!starter) {
        return;
      }
      el.setAttribute("data-csp-started", "");
      starter(el, el.dataset.config ? JSON.parse(el.dataset.config) : {});
    });
  }

  function watch() {
    start(document);
    // Forms added later (an inline panel's "Add", a modal) bring their own markers.
    new MutationObserver(function () { start(document); }).observe(document.body, {
      childList: true,
      subtree: true,
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", watch);
  } else {
    watch();
  }
})();
