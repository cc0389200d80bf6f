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
