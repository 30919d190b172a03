/* refnova trace html: collapsible subtrees and a search over span names and attributes.
   Everything it reads comes from the page's text (textContent), never parsed as markup. */
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.remove("no-js");
  var header = document.querySelector("header");
  function fitHeader() {
    root.style.setProperty("--header-height", header.offsetHeight + "px");
  }
  fitHeader();
  window.addEventListener("resize", fitHeader);

  var search = document.getElementById("search");
  var counter = document.getElementById("match-count");
  var spans = Array.prototype.map.call(document.querySelectorAll(".span"), function (el) {
    var summary = el.querySelector(":scope > details > summary");
    var texts = [summary.querySelector(".label").textContent];
    var cells = el.querySelectorAll(":scope > details > .detail > .attrs tr.attr > *");
    Array.prototype.forEach.call(cells, function (cell) {
      texts.push(cell.textContent);
    });
    return { el: el, text: texts.join("\n").toLowerCase() };
  });

  function ownToggle(span) {
    return span.querySelector(":scope > details > summary .toggle");
  }

  function setCollapsed(span, collapsed) {
    var toggle = ownToggle(span);
    if (!toggle) {
      return;
    }
    span.classList.toggle("collapsed", collapsed);
    toggle.setAttribute("aria-expanded", String(!collapsed));
    toggle.textContent = collapsed ? "\u25B8" : "\u25BE";
  }

  function markHiddenMatches() {
    Array.prototype.forEach.call(document.querySelectorAll(".span.hides-match"), function (el) {
      el.classList.remove("hides-match");
    });
    Array.prototype.forEach.call(document.querySelectorAll(".span.match"), function (el) {
      var up = el.parentElement.closest(".span");
      for (; up; up = up.parentElement.closest(".span")) {
        if (up.classList.contains("collapsed")) {
          up.classList.add("hides-match");
        }
      }
    });
  }

  function runSearch() {
    var query = search.value.trim().toLowerCase();
    var count = 0;
    spans.forEach(function (span) {
      var hit = query !== "" && span.text.indexOf(query) !== -1;
      span.el.classList.toggle("match", hit);
      count += hit ? 1 : 0;
    });
    markHiddenMatches();
    counter.textContent = query === "" ? "" :
      count + " of " + spans.length + " span" + (spans.length === 1 ? "" : "s") + " match";
  }

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("button.toggle");
    if (!toggle) {
      return;
    }
    event.preventDefault(); /* the button sits in a summary: do not unfold the details */
    var span = toggle.closest(".span");
    setCollapsed(span, !span.classList.contains("collapsed"));
    markHiddenMatches();
  });

  function setAll(collapsed) {
    spans.forEach(function (span) {
      setCollapsed(span.el, collapsed);
    });
    markHiddenMatches();
  }
  document.getElementById("collapse-all").addEventListener("click", function () {
    setAll(true);
  });
  document.getElementById("expand-all").addEventListener("click", function () {
    setAll(false);
  });
  search.addEventListener("input", runSearch);
  runSearch();
})();
