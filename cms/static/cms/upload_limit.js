// A file larger than the server accepts is refused here, when it is chosen, instead of after
// its upload: the server answers such a request 413 before reading it, which Wagtail's
// chooser modals show as "Server Error 413" and a full page loses the form. The limit comes
// from the <script> tag (cms.admin_governance, from settings.MAX_UPLOAD_MB); the server still
// checks. Inputs that take several files (the multiple upload page) are left to Wagtail's own
// check there, which refuses each file over WAGTAILDOCS_MAX_UPLOAD_SIZE in its upload list.
(function () {
  "use strict";
  var script = document.currentScript;
  var maxBytes = Number(script.dataset.maxBytes);
  var maxMb = script.dataset.maxMb;
  var MESSAGE_CLASS = "upload-too-large";

  // Rounded up to a tenth, so a file over the limit never reads as the limit (50 MB + 1 byte
  // is "50.1 MB"); the server's message (cms.forms.megabytes_shown) follows the same rule.
  function megabytes(bytes) {
    var tenths = Math.ceil((bytes * 10) / (1024 * 1024));
    return tenths % 10 === 0 ? String(tenths / 10) : (tenths / 10).toFixed(1);
  }

  function clear(input) {
    var next = input.nextElementSibling;
    if (next && next.classList.contains(MESSAGE_CLASS)) {
      next.remove();
    }
  }

  document.addEventListener(
    "change",
    function (event) {
      var input = event.target;
      if (!(input instanceof HTMLInputElement) || input.type !== "file" || input.multiple) {
        return;
      }
      clear(input);
      var file = input.files && input.files[0];
      if (!file || !(file.size > maxBytes)) {
        return;
      }
      input.value = "";
      var message = document.createElement("p");
      message.className = "error-message " + MESSAGE_CLASS;
      message.setAttribute("role", "alert");
      message.textContent =
        "“" + file.name + "” is " + megabytes(file.size) + " MB; a file may be at most " +
        maxMb + " MB. Choose a smaller file.";
      input.insertAdjacentElement("afterend", message);
    },
    true
  );
})();
