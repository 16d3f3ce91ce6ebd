// Refresh the SLA board's rows in place, so overdue requests surface without a reload.
(function () {
  "use strict";
  var body = document.getElementById("board-rows");
  if (!body) return;
  var seconds = parseInt(body.getAttribute("data-refresh-seconds"), 10) || 30;
  var stamp = document.getElementById("board-refreshed");
  function refresh() {
    fetch(body.getAttribute("data-rows-url") + window.location.search, {
      credentials: "same-origin",
      headers: { Accept: "text/html" },
    })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.text();
      })
      .then(function (html) {
        body.innerHTML = html;
        if (stamp) stamp.textContent = new Date().toLocaleTimeString();
        body.setAttribute("data-refresh-state", "ok");
      })
      .catch(function () {
        body.setAttribute("data-refresh-state", "failed");
      });
  }
  window.setInterval(refresh, seconds * 1000);
  body.addEventListener("board:refresh", refresh);
})();
