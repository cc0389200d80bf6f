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
