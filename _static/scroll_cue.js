/* A visible cue on the boxes that scroll sideways inside the text column (on a phone): wide
   tables and algorithms.  Jupyter Book loads every .js file of _static/ on every page.

   While a box's content is wider than the box, a hint line ("scroll sideways →") shows above
   it; while part of it is hidden on the right, the box has class edm-scroll-more, whose right
   edge fades out (_static/edm.css).  Both follow the box's size (a ResizeObserver, also
   after MathJax typesets) and its scrolling. */
(function () {
  "use strict";
  var BOXES = ".pst-scrollable-table-container, div.proof.algorithm .algorithm-content";

  function update(box, hint) {
    var hidden = box.scrollWidth - box.clientWidth;
    hint.hidden = hidden <= 1;
    box.classList.toggle("edm-scroll-more", box.scrollLeft < hidden - 1);
  }

  function watch(box) {
    var hint = document.createElement("p");
    hint.className = "edm-scroll-hint";
    hint.textContent = "scroll sideways →";
    hint.setAttribute("aria-hidden", "true");
    hint.hidden = true;
    box.parentNode.insertBefore(hint, box);
    var refresh = function () {
      update(box, hint);
    };
    box.addEventListener("scroll", refresh, { passive: true });
    if (window.ResizeObserver) {
      var observer = new ResizeObserver(refresh);
      observer.observe(box);
      if (box.firstElementChild) observer.observe(box.firstElementChild);
    }
    refresh();
    return refresh;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var refreshes = Array.prototype.map.call(document.querySelectorAll(BOXES), watch);
    var typeset = window.MathJax && MathJax.startup && MathJax.startup.promise;
    if (typeset) {
      typeset.then(function () {
        refreshes.forEach(function (refresh) {
          refresh();
        });
      });
    }
  });
})();
