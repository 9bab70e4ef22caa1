// stance pages: sortable tables and the errors filter. No libraries, nothing fetched.
(function () {
  "use strict";

  // A cell's sort key: its data-sort, else its text; numbers compare as numbers, empty cells go last.
  function key(cell) {
    var text = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent.trim();
    if (text === "") { return null; }
    var number = Number(text);
    return isNaN(number) ? text.toLowerCase() : number;
  }

  function compare(a, b) {
    if (typeof a === typeof b) { return a < b ? -1 : (a > b ? 1 : 0); }
    return typeof a === "number" ? -1 : 1;
  }

  function sortBy(table, index, direction) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var sign = direction === "ascending" ? 1 : -1;
    rows.sort(function (r1, r2) {
      var a = key(r1.cells[index]), b = key(r2.cells[index]);
      if (a === null || b === null) { return (a === null) - (b === null); }
      return sign * compare(a, b);
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    var head = table.tHead.rows[table.tHead.rows.length - 1].cells;
    Array.prototype.forEach.call(head, function (th, index) {
      var button = th.querySelector("button");
      if (!button) { return; }
      button.addEventListener("click", function () {
        var current = th.getAttribute("aria-sort");
        // Scores read best first; names read A to Z.
        var direction = current ? (current === "ascending" ? "descending" : "ascending")
          : (th.classList.contains("num") ? "descending" : "ascending");
        Array.prototype.forEach.call(head, function (other) { other.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", direction);
        sortBy(table, index, direction);
      });
    });
  });

  Array.prototype.forEach.call(document.querySelectorAll("[data-filter-for]"), function (filter) {
    var table = document.getElementById(filter.getAttribute("data-filter-for"));
    var selects = filter.querySelectorAll("select");
    var status = filter.querySelector("output");
    var rows = table.tBodies[0].rows;
    function apply() {
      var shown = 0;
      Array.prototype.forEach.call(rows, function (row) {
        var keep = Array.prototype.every.call(selects, function (select) {
          return !select.value || row.getAttribute("data-" + select.name) === select.value;
        });
        row.hidden = !keep;
        shown += keep ? 1 : 0;
      });
      status.textContent = shown + " of " + rows.length + " errors";
    }
    Array.prototype.forEach.call(selects, function (select) { select.addEventListener("change", apply); });
    apply();
  });
})();
