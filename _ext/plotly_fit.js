/* Fit the book's interactive (plotly) figures to the text column, on a phone too.

   Served by _ext/plotly_static.py into the site's _static/ and loaded, after
   plotly.min.js, on every page that draws a figure.  For each figure it
   watches the width of the figure's <div> (a ResizeObserver) and:

   - redraws the figure at that width whenever the drawn width differs from it
     (plotly.js's own `responsive` option reacts only to window resizes, so a
     figure drawn before the page's layout settled could stay wider than its
     column);
   - below NARROW pixels (a phone), gives it a phone layout: small left and
     right margins (the y axes' `automargin` keeps their labels in view), and
     the legend horizontal, wrapping, under everything else (plot, axis titles,
     slider), the figure growing downwards to make room for it; wider again,
     the figure gets its own layout back.

   When a figure is fitted, its div's `data-fitted-width` holds the width it
   was fitted to (the browser tests wait for it). */
(function () {
  "use strict";
  var NARROW = 560; // px: a figure narrower than this gets the phone layout
  var GAP = 6; // px between the lowest part of the figure and a legend moved under it
  var MARGIN_LEFT = 45; // px: the phone layout's largest left and right margins
  var MARGIN_RIGHT = 10;
  // The parts a legend moved under everything must clear (the legend itself excluded).
  var BELOW = [
    ".draglayer .nsewdrag",
    "g.xaxislayer-above",
    "g.g-xtitle",
    "g.slider-container",
  ];

  function yAxes(layout) {
    return Object.keys(layout).filter(function (key) {
      return /^yaxis\d*$/.test(key);
    });
  }

  function bottom(div, selectors) {
    var top = div.getBoundingClientRect().top;
    var lowest = 0;
    selectors.forEach(function (selector) {
      div.querySelectorAll(selector).forEach(function (el) {
        var r = el.getBoundingClientRect();
        if (r.width > 0 || r.height > 0) lowest = Math.max(lowest, r.bottom - top);
      });
    });
    return lowest;
  }

  function setHeight(div, own, wrapper) {
    div.style.height = own;
    if (div._edmOriginal.wrapperHeight) div.parentElement.style.height = wrapper;
  }

  function remember(div) {
    if (!div._edmOriginal) {
      var layout = div.layout || {};
      div._edmOriginal = {
        margin: JSON.parse(JSON.stringify(layout.margin || {})),
        legend: JSON.parse(JSON.stringify(layout.legend || {})),
        height: layout.height == null ? null : layout.height,
        // plotly.py's HTML sets the height on a wrapper <div> and 100% on the figure's own
        styleHeight: div.style.height,
        wrapperHeight: div.parentElement.style.height,
        automargin: yAxes(div._fullLayout).map(function (key) {
          var axis = layout[key];
          return [key, axis && axis.automargin != null ? axis.automargin : null];
        }),
      };
    }
    return div._edmOriginal;
  }

  async function phoneLayout(div) {
    remember(div); // the figure's own layout, before the first change
    var margin = div._fullLayout.margin;
    var update = {
      "margin.l": Math.min(margin.l, MARGIN_LEFT),
      "margin.r": Math.min(margin.r, MARGIN_RIGHT),
    };
    yAxes(div._fullLayout).forEach(function (key) {
      update[key + ".automargin"] = true;
    });
    var legend = div._fullLayout.showlegend && div.querySelector("g.legend");
    if (legend) {
      update["legend.orientation"] = "h";
      update["legend.x"] = 0;
      update["legend.xanchor"] = "left";
      update["legend.yanchor"] = "top";
    }
    await Plotly.relayout(div, update);
    div._edmPhone = true;
    if (!legend) return;
    // The legend under the lowest other part, placed in pixels of the whole figure
    // (yref "container", which pushes no margin), the figure growing to make room.
    for (var pass = 0; pass < 4; pass++) {
      var floor = bottom(div, BELOW) + GAP;
      var box = div.querySelector("g.legend").getBoundingClientRect();
      var height = div._fullLayout.height;
      var need = Math.ceil(floor + box.height + GAP);
      var change = { "legend.yref": "container" };
      if (need > height) {
        change["margin.b"] = div._fullLayout.margin.b + (need - height);
        change.height = height = need;
        setHeight(div, height + "px", height + "px");
      }
      change["legend.y"] = 1 - floor / height;
      await Plotly.relayout(div, change);
      var top = div.getBoundingClientRect().top;
      var legendTop = div.querySelector("g.legend").getBoundingClientRect().top - top;
      if (Math.abs(bottom(div, BELOW) + GAP - floor) < 1 && legendTop >= floor - 1) return;
    }
  }

  async function ownLayout(div) {
    var original = remember(div);
    var update = { margin: original.margin, legend: original.legend, height: original.height };
    original.automargin.forEach(function (pair) {
      update[pair[0] + ".automargin"] = pair[1];
    });
    setHeight(div, original.styleHeight, original.wrapperHeight);
    await Plotly.relayout(div, update);
    div._edmPhone = false;
  }

  async function fit(div) {
    var width = div.clientWidth;
    if (!width || String(width) === div.dataset.fittedWidth) return;
    if (Math.round(div._fullLayout.width) !== width) await Plotly.Plots.resize(div);
    if (width < NARROW) {
      if (div._edmPhone) await ownLayout(div); // from the figure's own layout, at this width
      await phoneLayout(div);
    } else if (div._edmPhone) {
      await ownLayout(div);
    }
    div.dataset.fittedWidth = String(width);
  }

  function whenDrawn(div, then, tries) {
    if (div._fullLayout && div.querySelector(".main-svg")) return then();
    if (tries > 0) setTimeout(whenDrawn, 50, div, then, tries - 1);
  }

  function watch(div) {
    var queue = Promise.resolve();
    var refit = function () {
      // One fit at a time per figure, in order: each waits for the previous relayouts.
      queue = queue.then(function () {
        return fit(div);
      }).catch(function (error) {
        console.warn("plotly_fit: figure " + div.id + ": " + error);
      });
    };
    whenDrawn(div, function () {
      new ResizeObserver(refit).observe(div); // calls refit once at once, then on each resize
    }, 200);
  }

  window.addEventListener("load", function () {
    if (!window.Plotly || !window.ResizeObserver) return;
    document.querySelectorAll(".plotly-graph-div").forEach(watch);
  });
})();
