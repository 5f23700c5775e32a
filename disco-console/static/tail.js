// The live tail: rows for the events the server sends, newest on top.
// Text goes in through textContent only, so nothing an event holds runs.
(function () {
  "use strict";
  var table = document.getElementById("tail");
  var status = document.getElementById("tail-status");
  var rows = table.querySelector("tbody");
  var params = new URLSearchParams();
  if (table.dataset.type) params.set("type", table.dataset.type);
  if (table.dataset.prefix) params.set("prefix", table.dataset.prefix);
  var feed = new EventSource("/tail/feed?" + params.toString());
  var seen = 0;

  function cell(row, text, href) {
    var td = document.createElement("td");
    if (href) {
      var a = document.createElement("a");
      a.href = href;
      a.textContent = text;
      td.appendChild(a);
    } else {
      td.textContent = text;
    }
    row.appendChild(td);
  }

  feed.addEventListener("ready", function (e) {
    status.textContent = "following the store after position " + e.data;
    status.className = "live";
  });
  feed.addEventListener("appended", function (e) {
    var event = JSON.parse(e.data);
    var row = document.createElement("tr");
    row.className = "tailed";
    cell(row, String(event.position), "/event?position=" + event.position);
    cell(row, event.stream, "/stream?id=" + encodeURIComponent(event.stream));
    cell(row, String(event.version));
    cell(row, event.type);
    cell(row, event.recorded);
    rows.insertBefore(row, rows.firstChild);
    seen += 1;
    while (rows.children.length > 500) rows.removeChild(rows.lastChild);
    status.textContent = seen + " events since the page opened";
  });
  feed.addEventListener("failure", function (e) {
    status.textContent = "the store failed: " + e.data + " (retrying)";
    status.className = "error";
  });
  feed.onerror = function () {
    status.textContent = "disconnected; reconnecting…";
    status.className = "error";
  };
})();
