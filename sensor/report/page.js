// picket report: sortable and filterable tables. No network, no eval, no innerHTML: rows are
// moved and hidden, never rebuilt from text.
(function () {
  "use strict";
  function key(cell) {
    if (!cell) return "";
    var v = cell.getAttribute("data-v");
    if (v !== null && v !== "" && !isNaN(Number(v))) return Number(v);
    return (v !== null ? v : cell.textContent).toLowerCase();
  }
  function sortBy(table, col, th) {
    var body = table.tBodies[0];
    if (!body) return;
    var desc = th.getAttribute("aria-sort") !== "descending";
    var heads = table.tHead.rows[0].cells;
    for (var i = 0; i < heads.length; i++) heads[i].removeAttribute("aria-sort");
    th.setAttribute("aria-sort", desc ? "descending" : "ascending");
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a.cells[col]), y = key(b.cells[col]);
      if (typeof x !== typeof y) { x = String(x); y = String(y); }
      var c = x < y ? -1 : x > y ? 1 : 0;
      return desc ? -c : c;
    });
    for (var j = 0; j < rows.length; j++) body.appendChild(rows[j]);
  }
  function filter(input) {
    var table = document.getElementById(input.getAttribute("data-table"));
    if (!table || !table.tBodies[0]) return;
    var q = input.value.toLowerCase();
    var rows = table.tBodies[0].rows, shown = 0;
    for (var i = 0; i < rows.length; i++) {
      var hit = q === "" || rows[i].textContent.toLowerCase().indexOf(q) >= 0;
      rows[i].hidden = !hit;
      if (hit) shown++;
    }
    var count = document.getElementById(input.getAttribute("data-table") + "-count");
    if (count) count.textContent = shown + " of " + rows.length + " rows";
  }
  var tables = document.querySelectorAll("table.sortable");
  Array.prototype.forEach.call(tables, function (table) {
    if (!table.tHead) return;
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      th.tabIndex = 0;
      th.title = "Sort";
      th.addEventListener("click", function () { sortBy(table, col, th); });
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(table, col, th); }
      });
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll("input.filter"), function (input) {
    input.addEventListener("input", function () { filter(input); });
  });
  document.documentElement.setAttribute("data-ready", "1");
})();
