// A dashboard page that says "refreshing…" asks the server every few seconds whether the new
// numbers are in, then offers them with a link that reloads the page: a lead reading the page
// is never interrupted by a reload. Without this file a reload shows the same.
(function () {
  "use strict";
  var EVERY_MS = 3000;
  var GIVE_UP_AFTER = 200; // ten minutes: the scheduler's next tick will have run by then
  var status = document.getElementById("numbers-as-of");
  var note = document.getElementById("refreshing");
  if (!status || !note) {
    return;
  }
  var url = status.getAttribute("data-status-url");
  var asked = 0;

  function offer(data) {
    var link = document.createElement("a");
    link.href = window.location.href;
    link.id = "new-numbers";
    link.textContent = data.error
      ? "the refresh failed: reload to see why"
      : "new numbers are in: show them";
    note.replaceChildren(link);
  }

  function later() {
    if (asked < GIVE_UP_AFTER) {
      window.setTimeout(ask, EVERY_MS);
    }
  }

  function ask() {
    asked += 1;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (data) {
        if (data && !data.refreshing) {
          offer(data);
        } else {
          later();
        }
      }, later);
  }

  later();
})();
