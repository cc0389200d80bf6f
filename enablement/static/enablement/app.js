// Enablement Library: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";
  // Filter selects submit their form when changed; the "Apply filters" button stays for
  // keyboard users and for browsers without JavaScript.
  document.querySelectorAll("select.js-autosubmit").forEach(function (select) {
    select.addEventListener("change", function () {
      if (select.form) {
        select.form.submit();
      }
    });
  });
})();

// "Copy link" buttons copy the text field they name (data-copy-target); without the
// clipboard API the field is selected so that the rep can copy it by hand.
(function () {
  "use strict";
  document.querySelectorAll("button.js-copy").forEach(function (button) {
    button.addEventListener("click", function () {
      var field = document.getElementById(button.getAttribute("data-copy-target"));
      if (!field) {
        return;
      }
      field.select();
      var done = function () {
        button.textContent = "Copied";
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, function () {
          button.textContent = "Press Ctrl+C to copy";
        });
      } else {
        button.textContent = "Selected: press Ctrl+C to copy";
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
