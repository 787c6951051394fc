/* Shared by the pages of tinygrad_edu.web (the backprop explorer, the live
 * training view). Plain JavaScript, no framework; everything hangs off one
 * object, window.TG:
 *
 *   TG.loadPageData()   the numbers Python embedded in the page (a Promise)
 *   TG.fmt(x, digits)   a number as Python's format(x, ".4g") writes it
 *   TG.signedColour     the pictures' colour scale (blue +, red -)
 *   TG.GraphView        rewrites the numbers and colours of a Graphviz SVG
 *   TG.el, TG.table     small helpers to build the side panel
 *   TG.colourKey        the key of the colour scale
 */
(function () {
  "use strict";
  var TG = {};

  // ---------------------------------------------------------------------
  // The page's data: JSON, gzip-compressed and base64-encoded by Python
  // (web/page.py). The browser's own DecompressionStream unpacks it.
  // Numbers that are not finite arrive as the strings "NaN", "Infinity"
  // and "-Infinity"; Number() turns them back.
  // ---------------------------------------------------------------------
  TG.loadPageData = function (id) {
    var packed = document.getElementById(id || "page-data").textContent.trim();
    var binary = atob(packed);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) { bytes[i] = binary.charCodeAt(i); }
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).text().then(JSON.parse);
  };

  TG.numbers = function (list) { return list.map(Number); };

  // ---------------------------------------------------------------------
  // Numbers as Python prints them: format(x, ".4g") drops trailing zeros
  // and writes the exponent with a sign and at least two digits.
  // ---------------------------------------------------------------------
  function dropZeros(text) {
    return text.indexOf(".") < 0 ? text : text.replace(/0+$/, "").replace(/\.$/, "");
  }

  // |x| rounded to `digits` significant digits: {digits: "1235", exponent: -4}.
  // JavaScript rounds a tie (an exact ...5) up, Python to the even digit;
  // 100 digits show the number exactly enough to see a tie.
  function significant(x, digits) {
    var rounded = Math.abs(x).toExponential(digits - 1).split("e");
    var exact = Math.abs(x).toExponential(100).split("e");
    var all = exact[0].replace(".", "");
    if (/^50*$/.test(all.slice(digits)) && Number(all[digits - 1]) % 2 === 0) {
      return {digits: all.slice(0, digits), exponent: Number(exact[1])};
    }
    return {digits: rounded[0].replace(".", ""), exponent: Number(rounded[1])};
  }

  TG.fmt = function (x, digits) {
    digits = digits || 4;
    if (Number.isNaN(x)) { return "nan"; }
    if (!Number.isFinite(x)) { return x > 0 ? "inf" : "-inf"; }
    if (x === 0) { return Object.is(x, -0) ? "-0" : "0"; }
    var sign = x < 0 ? "-" : "", n = significant(x, digits), d = n.digits, e = n.exponent;
    if (e < -4 || e >= digits) {
      var mantissa = dropZeros(d[0] + "." + d.slice(1));
      return sign + mantissa + "e" + (e < 0 ? "-" : "+") + String(Math.abs(e)).padStart(2, "0");
    }
    if (e < 0) { return sign + dropZeros("0." + "0".repeat(-e - 1) + d); }
    return sign + dropZeros(d.slice(0, e + 1) + "." + d.slice(e + 1));
  };

  // ---------------------------------------------------------------------
  // The colour scale of pictures/palette.py: blue for positive, red for
  // negative, mixed with white; the square root keeps small numbers visible.
  // ---------------------------------------------------------------------
  function roundHalfEven(x) {         // Python's round()
    var r = Math.round(x);
    return (Math.abs(x % 1) === 0.5 && r % 2 !== 0) ? r - 1 : r;
  }

  TG.mix = function (rgb, strength) {
    strength = Math.min(Math.max(strength, 0), 1);
    return "#" + rgb.map(function (c) {
      var v = roundHalfEven(255 + (c - 255) * strength);
      return v.toString(16).padStart(2, "0");
    }).join("");
  };

  TG.signedColour = function (x, largest, palette) {
    if (!(largest > 0) || x === 0 || !Number.isFinite(x)) { return TG.mix(palette.blue, 0); }
    var strength = Math.sqrt(Math.min(Math.abs(x) / largest, 1));
    return TG.mix(x > 0 ? palette.blue : palette.red, strength);
  };

  // White text on a dark fill, as palette.text_colour decides.
  TG.isDark = function (x, largest) {
    return largest > 0 && Number.isFinite(x) && Math.abs(x) / largest > 0.45;
  };

  // ---------------------------------------------------------------------
  // GraphView: the numbers and colours of a Graphviz SVG, rewritten in
  // place. `nodes` comes from web/graph_svg.py: for each drawn node its id,
  // the Values whose gradient colours it (`colour`) and its text slots
  // [text number, kind, words before the number, Value indexes]. `show`
  // says what to write: show.data(i) and show.grad(i) give a number, or
  // null for "not known yet"; show.scale is the |gradient| of full colour.
  // Only what changed since the last update touches the page.
  // ---------------------------------------------------------------------
  function GraphView(svg, nodes, palette) {
    this.svg = svg;
    this.palette = palette;
    this.nodes = nodes.map(function (spec) {
      var g = document.getElementById("n-" + spec.id);
      var texts = g ? g.querySelectorAll("text") : [];
      var shape = g ? g.querySelector("path, polygon, ellipse") : null;
      return {spec: spec, g: g, texts: texts, shape: shape, shown: {}, fill: null, dark: null};
    }).filter(function (node) { return node.g; });
    this.byId = {};
    var self = this;
    this.nodes.forEach(function (node) {
      self.byId[node.spec.id] = node;
      if (node.spec.slots.length) { centreTexts(node); }
    });
  }

  // Graphviz writes each line left-aligned at a computed x; a number that
  // changes length would then drift, so centre the lines on the box.
  function centreTexts(node) {
    if (!node.shape) { return; }
    var box = node.shape.getBBox();
    var centre = box.x + box.width / 2;
    Array.prototype.forEach.call(node.texts, function (text) {
      text.setAttribute("text-anchor", "middle");
      text.setAttribute("x", centre);
      text.removeAttribute("fill");
    });
  }

  function slotText(kind, words, values, show) {
    var numbers = values.map(kind.indexOf("grad") === 0 || kind === "maxgrad" ? show.grad : show.data);
    if (numbers.some(function (n) { return n === null; })) {
      return words + (kind === "grad" || kind === "maxgrad" ? "\u2013" : "?");
    }
    if (kind === "data" || kind === "grad") { return words + TG.fmt(numbers[0]); }
    if (kind === "maxgrad") { return words + TG.fmt(Math.max.apply(null, numbers.map(Math.abs))); }
    if (kind === "datarow" || kind === "gradrow") {
      return numbers.map(function (n) { return TG.fmt(n, 3); }).join("  ");
    }
    // "datarange" / "gradrange": "64 values from A to B"
    return words + "from " + TG.fmt(Math.min.apply(null, numbers), 3) + " to " +
      TG.fmt(Math.max.apply(null, numbers), 3);
  }

  // The number of largest size among `values` (what colours a folded box).
  function largestOf(values, number) {
    var best = null;
    values.forEach(function (i) {
      var n = number(i);
      if (n !== null && (best === null || Math.abs(n) > Math.abs(best))) { best = n; }
    });
    return best;
  }

  GraphView.prototype.update = function (show) {
    var palette = this.palette;
    this.nodes.forEach(function (node) {
      var spec = node.spec;
      node.spec.slots.forEach(function (slot) {
        var text = slotText(slot[1], slot[2], slot[3], show);
        if (node.shown[slot[0]] !== text) {
          node.shown[slot[0]] = text;
          node.texts[slot[0]].textContent = text;
        }
      });
      if (!spec.colour.length || !node.shape) { return; }
      var grad = largestOf(spec.colour, show.grad);
      var fill = grad === null ? "#ffffff" : TG.signedColour(grad, show.scale, palette);
      var dark = grad !== null && TG.isDark(grad, show.scale);
      if (fill !== node.fill) { node.fill = fill; node.shape.setAttribute("fill", fill); }
      if (dark !== node.dark) { node.dark = dark; node.g.classList.toggle("dark", dark); }
    });
  };

  // Mark a set of node or edge ids with a class (clearing the last set).
  GraphView.prototype.mark = function (className, ids) {
    var previous = this["marked_" + className] || [];
    previous.forEach(function (el) { el.classList.remove(className); });
    var now = [];
    ids.forEach(function (id) {
      var el = document.getElementById(id);
      if (el) { el.classList.add(className); now.push(el); }
    });
    this["marked_" + className] = now;
  };

  // Scroll `container` so that the element is in view (centred if it was not).
  TG.scrollIntoView = function (el, container, margin) {
    if (!el) { return; }
    margin = margin || 30;
    var r = el.getBoundingClientRect(), c = container.getBoundingClientRect();
    if (r.left < c.left + margin || r.right > c.right - margin) {
      container.scrollLeft += (r.left + r.width / 2) - (c.left + c.width / 2);
    }
    if (r.top < c.top + margin || r.bottom > c.bottom - margin) {
      container.scrollTop += (r.top + r.height / 2) - (c.top + c.height / 2);
    }
  };

  TG.GraphView = GraphView;

  // ---------------------------------------------------------------------
  // The side panel: small builders (text is always set as text, never as
  // HTML, so a Value's name cannot inject anything).
  // ---------------------------------------------------------------------
  TG.el = function (tag, attributes, children) {
    var el = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      if (name === "text") { el.textContent = attributes[name]; }
      else if (name === "onclick") { el.addEventListener("click", attributes[name]); }
      else { el.setAttribute(name, attributes[name]); }
    });
    (children || []).forEach(function (child) {
      el.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return el;
  };

  // A table: `header` is a list of strings; each row a list of cells
  // (strings or elements).
  TG.table = function (header, rows, className) {
    var head = TG.el("tr", {}, header.map(function (h) { return TG.el("th", {text: h}); }));
    var body = rows.map(function (row) {
      return TG.el("tr", {}, row.map(function (cell) {
        return typeof cell === "string" ? TG.el("td", {text: cell}) : TG.el("td", {}, [cell]);
      }));
    });
    return TG.el("table", {"class": className || ""}, [TG.el("thead", {}, [head]),
      TG.el("tbody", {}, body)]);
  };

  // The key of the colour scale: a bar from -scale (red) through 0 (white)
  // to +scale (blue), drawn with the scale itself, and its numbers.
  TG.colourKey = function (scale, palette, what) {
    var stops = [];
    for (var k = -10; k <= 10; k++) {
      stops.push(TG.signedColour(scale * k / 10, scale, palette) + " " + ((k + 10) * 5) + "%");
    }
    var bar = TG.el("div", {"class": "key-bar",
      style: "background: linear-gradient(to right, " + stops.join(", ") + ")"});
    var labels = TG.el("div", {"class": "key-labels"}, [
      TG.el("span", {text: TG.fmt(-scale)}), TG.el("span", {text: "0"}),
      TG.el("span", {text: TG.fmt(scale)})]);
    return TG.el("div", {"class": "key"}, [TG.el("div", {text: what}), bar, labels]);
  };

  window.TG = TG;
})();
