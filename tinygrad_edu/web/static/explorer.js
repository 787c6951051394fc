/* The backprop explorer (web/explorer.py writes the page; common.js comes first).
 *
 * Python recorded everything: each Value's name, data and parents, the
 * forward pass (one step per operation, in the order they ran) and the
 * backward pass (one record per chain-rule step: the Value visited, its
 * gradient, and each parent's gradient just after). This script computes
 * nothing of its own. The timeline is
 *
 *   position 0          nothing computed yet (inputs and weights known)
 *   positions 1..F      forward step 1..F done
 *   positions F+1..F+B  backward step 1..B done
 *
 * and going to a position sets each gradient to the last value recorded for
 * it up to there, then redraws what changed.
 */
(function () {
  "use strict";
  var TG = window.TG;
  var $ = function (id) { return document.getElementById(id); };

  TG.loadPageData().then(start).catch(function (error) {
    $("sentence").textContent = "This page could not read its data: " + error;
    throw error;
  });

  function start(D) {
    D.data = TG.numbers(D.data);
    D.local = D.local.map(TG.numbers);
    D.backward.grad = TG.numbers(D.backward.grad);
    D.backward.added = D.backward.added.map(TG.numbers);
    D.backward.after = D.backward.after.map(TG.numbers);
    D.scale = Number(D.scale);
    window.explorer = new Explorer(D);
    document.body.setAttribute("data-ready", "yes");
  }

  function Explorer(D) {
    var self = this;
    this.D = D;
    this.F = D.forward.value.length;
    this.B = D.backward.value.length;
    this.last = this.F + this.B;
    this.n = D.names.length;
    this.position = 0;
    this.playing = null;           // the timer while playing
    this.openBox = null;           // {box: k} or {neuron: k}: shown in the panel
    this.found = null;             // index of the Value found by name
    this.matches = [];             // names that contain what was typed, if several
    this.breakpoints = new Set(D.breakpoints);
    this.lastMs = 0;               // how long the last update took
    // Forward and backward step number of each Value (0: none).
    this.forwardStep = new Int32Array(this.n);
    D.forward.value.forEach(function (v, k) { self.forwardStep[v] = k + 1; });
    this.backwardStep = new Int32Array(this.n);
    D.backward.value.forEach(function (v, k) { self.backwardStep[v] = k + 1; });
    this.grads = new Float64Array(this.n);
    this.applied = 0;              // backward records applied to this.grads
    this.graph = $("graph");
    this.svg = this.graph.querySelector("svg");
    this.view = new TG.GraphView(this.svg, D.svgNodes, D.palette);
    this.opNode = {};
    D.svgNodes.forEach(function (spec) {
      if (spec.value !== undefined && spec.id.indexOf("op") === 0) { self.opNode[spec.value] = spec.id; }
    });
    this.show = {
      scale: D.scale,
      data: function (i) { return self.isComputed(i) ? D.data[i] : null; },
      grad: function (i) { return self.position > self.F ? self.grads[i] : null; }
    };
    this.setUpControls();
    this.setUpZoom();
    $("key").appendChild(TG.colourKey(D.scale, D.palette,
      "fill: the gradient, on one scale for the whole pass"));
    $("key").appendChild(TG.el("p", {"class": "key-notes"}, [
      TG.el("span", {"class": "swatch current"}), " the step's Value   ",
      TG.el("span", {"class": "swatch parent"}), " its parents   ",
      TG.el("span", {"class": "swatch breakpoint"}), " breakpoint"]));
    $("leaves").checked = D.stopAtLeaves;
    this.goto(0);
  }

  var P = Explorer.prototype;

  // -- where we are ----------------------------------------------------------

  P.valueAt = function (position) {
    if (position <= 0) { return null; }
    if (position <= this.F) { return this.D.forward.value[position - 1]; }
    return this.D.backward.value[position - this.F - 1];
  };

  P.isComputed = function (i) {
    return this.forwardStep[i] <= Math.min(this.position, this.F);
  };

  P.isLeaf = function (i) { return this.D.parents[i].length === 0; };

  // Set this.grads to the gradients after backward step k.
  P.replayTo = function (k) {
    var D = this.D, grads = this.grads;
    if (k < this.applied) { grads.fill(0); this.applied = 0; }
    for (; this.applied < k; this.applied++) {
      var r = this.applied, v = D.backward.value[r], parents = D.parents[v], after = D.backward.after[r];
      grads[v] = D.backward.grad[r];
      for (var j = 0; j < parents.length; j++) { grads[parents[j]] = after[j]; }
    }
  };

  // -- moving ------------------------------------------------------------------

  P.goto = function (position) {
    var started = performance.now();
    position = Math.max(0, Math.min(this.last, Math.round(position)));
    this.position = position;
    this.replayTo(Math.max(0, position - this.F));
    this.view.update(this.show);
    this.markCurrent();
    this.showStep();
    this.showInside();
    this.showFound();
    $("slider").value = position;
    var v = this.valueAt(position);
    if (v !== null) { TG.scrollIntoView($("n-" + this.D.node[v]), this.graph); }
    this.lastMs = performance.now() - started;
  };

  // Whether the leaf-skipping moves may pass over this position.
  P.skippable = function (position) {
    var v = this.valueAt(position);
    return !$("leaves").checked && position > this.F && v !== null && this.isLeaf(v) &&
      !this.breakpoints.has(v);
  };

  P.next = function () {
    var p = this.position + 1;
    while (p < this.last && this.skippable(p)) { p++; }
    this.goto(p);
  };

  P.prev = function () {
    var p = this.position - 1;
    while (p > this.F && this.skippable(p)) { p--; }
    this.goto(p);
  };

  P.play = function () {
    var self = this;
    if (this.position >= this.last) { this.goto(0); }
    $("play").textContent = "pause";
    var tick = function () {
      self.next();
      var v = self.valueAt(self.position);
      if (self.position >= self.last || (v !== null && self.breakpoints.has(v))) {
        self.pause();
        if (v !== null && self.breakpoints.has(v)) {
          $("where").textContent += " \u2014 stopped at the breakpoint " + self.D.names[v];
        }
        return;
      }
      self.playing = setTimeout(tick, 1000 / Number($("speed").value));
    };
    this.playing = setTimeout(tick, 1000 / Number($("speed").value));
  };

  P.pause = function () {
    clearTimeout(this.playing);
    this.playing = null;
    $("play").textContent = "play";
  };

  P.togglePlay = function () { if (this.playing) { this.pause(); } else { this.play(); } };

  // "10": after backward step 10 ("0": before the first); "f3": after forward step 3.
  P.gotoText = function (text) {
    var m = /^\s*(f?)\s*(\d+)\s*$/i.exec(text);
    if (!m) { return "write a backward step number, e.g. 10, or f and a forward step, e.g. f3"; }
    var number = Number(m[2]), forward = m[1] !== "";
    var most = forward ? this.F : this.B;
    if (number > most) {
      return "there are " + most + (forward ? " forward" : " backward") + " steps";
    }
    this.goto(forward ? number : this.F + number);
    return "";
  };

  // -- the picture ---------------------------------------------------------------

  P.nodeIds = function (values) {
    var D = this.D;
    return values.map(function (i) { return "n-" + D.node[i]; });
  };

  P.markCurrent = function () {
    var D = this.D, v = this.valueAt(this.position);
    var current = [], parents = [], edges = [];
    if (v !== null) {
      current = this.nodeIds([v]);
      if (this.opNode[v]) { current.push("n-" + this.opNode[v]); }
      parents = this.nodeIds(D.parents[v]);
      edges = D.edges[v].slice();
    }
    this.view.mark("current", current);
    this.view.mark("parent", parents.filter(function (id) { return current.indexOf(id) < 0; }));
    this.view.mark("flow", edges);
    this.graph.classList.toggle("backward", this.position > this.F);
    this.view.mark("breakpoint", this.nodeIds(Array.from(this.breakpoints)));
    this.view.mark("found", this.found === null ? [] : this.nodeIds([this.found]));
    var self = this;
    this.view.nodes.forEach(function (node) {
      var made = node.spec.made;
      var pending = made >= 0 && !self.isComputed(made);
      if (node.pending !== pending) { node.pending = pending; node.g.classList.toggle("pending", pending); }
    });
  };

  // -- the panel -------------------------------------------------------------------

  P.where = function () {
    var p = this.position;
    if (p === 0) { return "start"; }
    if (p <= this.F) { return "forward step " + p + " of " + this.F; }
    return "backward step " + (p - this.F) + " of " + this.B;
  };

  P.showStep = function () {
    var D = this.D, p = this.position, text;
    $("where").textContent = this.where();
    $("step-title").textContent = this.where();
    if (p === 0) {
      text = "Nothing is computed yet: only the inputs, weights and constants are known.\n" +
        "Press \u2192 to run the forward pass, one operation at a time.";
    } else if (p <= this.F) {
      text = D.forward.text[p - 1];
      if (p === this.F) { text += "\nThe forward pass is done. Next: the backward pass."; }
    } else {
      text = D.backward.text[p - this.F - 1];
      if (p === this.last) {
        text += "\ndone: every Value holds d(" + D.names[D.root] + ")/d(Value).";
      }
    }
    $("sentence").textContent = text;
    this.showCode();
  };

  // A list of numbers or names, cut short: "a, b, c, ... (64 in all)".
  function shortList(items, shown) {
    shown = shown || 3;
    if (items.length <= shown + 1) { return items.join(", "); }
    return items.slice(0, shown).join(", ") + ", ... (" + items.length + " in all)";
  }

  P.showCode = function () {
    var D = this.D, p = this.position, v = this.valueAt(p), code = $("code");
    code.textContent = "";
    if (v === null) { return; }
    var fmt = TG.fmt, names = D.names;
    var op = D.source.ops[D.ops[v]];
    var parents = D.parents[v];
    var made = {
      def: shortList(parents.map(function (q) { return names[q] + " = " + fmt(D.data[q]); })),
      made: names[v] + ".data = " + fmt(D.data[v]) + ", local_grads = (" +
        shortList(D.local[v].map(function (x) { return fmt(x); })) + ")"
    };
    if (p <= this.F) {
      if (op) { code.appendChild(codeBlock("the engine computes " + names[v], op, made)); }
      return;
    }
    var r = p - this.F - 1, grad = D.backward.grad[r];
    var leaf = parents.length === 0;
    var notes = {
      def: "value = " + names[v],
      grad: "grad = " + fmt(grad),
      zero: grad === 0 ? "True: nothing to pass on" : "False",
      added: leaf ? "a leaf has no parents" : "local_grad * grad = [" +
        shortList(D.backward.added[r].map(function (x) { return fmt(x); })) + "]",
      add: leaf ? "no parents: nothing to do" : shortList(parents.map(function (q, j) {
        return names[q] + ".grad = " + fmt(D.backward.after[r][j]);
      }))
    };
    code.appendChild(codeBlock("the engine's chain-rule step at " + names[v], D.source.chain, notes));
    if (op && !leaf) {
      code.appendChild(codeBlock("where " + names[v] + "'s local derivatives came from", op, made));
    }
  };

  // The engine's lines with the numbers beside them, as comments.
  function codeBlock(title, source, notes) {
    var lines = source.lines.map(function (line, k) {
      var children = [TG.el("span", {"class": "ln", text: String(source.numbers[k])}), line];
      Object.keys(source.marks).forEach(function (mark) {
        if (source.marks[mark] === k && notes[mark]) {
          children.push(TG.el("span", {"class": "note", text: "  # " + notes[mark]}));
        }
      });
      return TG.el("div", {}, children);
    });
    return TG.el("div", {"class": "code"}, [
      TG.el("h3", {}, [title + " ", TG.el("small", {text: "(" + source.name + ", engine.py)"})]),
      TG.el("pre", {}, lines)]);
  }

  // -- inside a folded box, and a Value found by name -------------------------------

  P.numbers = function (i) {
    var data = this.show.data(i), grad = this.show.grad(i);
    return [data === null ? "?" : TG.fmt(data), grad === null ? "\u2013" : TG.fmt(grad)];
  };

  P.link = function (i) {
    var self = this;
    return TG.el("a", {href: "#", "class": "value-link", title: "run to its backward step",
      text: this.D.names[i], onclick: function (event) {
        event.preventDefault();
        self.goto(self.F + self.backwardStep[i]);
      }});
  };

  P.row = function (label, i) {
    var cells = [label, this.link(i)].concat(this.numbers(i));
    return cells;
  };

  P.showInside = function () {
    var inside = $("inside"), D = this.D, self = this;
    inside.hidden = this.openBox === null;
    if (this.openBox === null) { return; }
    inside.textContent = "";
    var close = TG.el("button", {type: "button", "class": "close", text: "close",
      onclick: function () { self.openBox = null; self.showInside(); }});
    var neuronIndex = this.openBox.neuron;
    var box = this.openBox.box !== undefined ? D.boxes[this.openBox.box] : null;
    if (box && box.kind === "neuron") { neuronIndex = box.neurons[0]; }
    if (neuronIndex !== undefined) {
      var n = D.neurons[neuronIndex];
      var act = D.ops[n.out];
      var rows = [];
      if (n.out !== n.z) { rows.push(this.row("activation " + act + "(z)", n.out)); }
      rows.push(this.row("pre-activation z = w\u00b7x + b", n.z));
      rows.push(this.row("w\u00b7x", n.dot));
      rows.push(this.row("bias b", n.bias));
      var pairs = n.inputs.map(function (x, k) {
        var w = n.weights[k];
        return [String(k), self.link(x)].concat(self.numbers(x), [self.link(w)], self.numbers(w));
      });
      inside.append(TG.el("h2", {}, ["inside " + n.name + " ", close]),
        TG.table(["", "Value", "data", "grad"], rows, "values"),
        TG.el("h3", {text: n.inputs.length + " inputs and their weights"}),
        TG.table(["#", "input", "data", "grad", "weight", "data", "grad"], pairs, "values"));
    } else if (box && box.kind === "layer") {
      var neuronRows = box.neurons.map(function (k) {
        var m = D.neurons[k];
        var open = TG.el("a", {href: "#", text: m.name, onclick: function (event) {
          event.preventDefault(); self.openBox = {neuron: k}; self.showInside();
        }});
        return [open].concat(self.numbers(m.z).slice(0, 1), self.numbers(m.out));
      });
      inside.append(TG.el("h2", {}, ["inside " + box.title + " ", close]),
        TG.table(["neuron (click to open)", "z", "output", "grad"], neuronRows, "values"));
    } else if (box) {
      inside.append(TG.el("h2", {}, [box.title + " ", close]),
        TG.table(["", "Value", "data", "grad"], box.members.map(function (i, k) {
          return self.row(String(k), i);
        }), "values"));
    }
    var v = this.valueAt(this.position);
    inside.querySelectorAll("a.value-link").forEach(function (a) {
      a.classList.toggle("current", v !== null && a.textContent === D.names[v]);
    });
  };

  P.find = function (name) {
    var D = this.D, i = D.names.indexOf(name.trim()), matches = [];
    if (i < 0 && name.trim()) {
      matches = D.names.filter(function (n) { return n.indexOf(name.trim()) >= 0; });
      if (matches.length === 1) { i = D.names.indexOf(matches[0]); }
    }
    this.found = i < 0 ? null : i;
    this.notFound = i < 0 ? name : null;
    this.matches = i < 0 ? matches : [];
    if (i >= 0) {
      var spec = this.view.byId[D.node[i]];
      if (spec && spec.spec.box !== undefined) { this.openBox = {box: spec.spec.box}; }
    }
    this.goto(this.position);
    if (i >= 0) { TG.scrollIntoView($("n-" + D.node[i]), this.graph); }
  };

  P.showFound = function () {
    var found = $("found"), D = this.D, i = this.found, self = this;
    found.hidden = i === null && !this.notFound;
    found.textContent = "";
    if (this.notFound && this.matches.length > 1) {
      // Several names contain what was typed: offer them (the first few).
      var shown = this.matches.slice(0, 12);
      found.append(TG.el("p", {text: this.matches.length + " Values have \u201c" +
        this.notFound + "\u201d in their name; pick one" +
        (this.matches.length > shown.length ? " (the first " + shown.length + " shown):" : ":")}));
      found.append(TG.el("p", {}, shown.map(function (n) {
        return TG.el("button", {type: "button", "class": "match", text: n,
          onclick: function () { $("find").value = n; self.find(n); }});
      })));
      return;
    }
    if (this.notFound) {
      found.append(TG.el("p", {text: "No Value is called \u201c" + this.notFound + "\u201d."}));
      return;
    }
    if (i === null) { return; }
    var made = this.forwardStep[i] ? D.forward.text[this.forwardStep[i] - 1]
      : D.names[i] + " = " + TG.fmt(D.data[i]) + " (" + D.exprs[i] + ")";
    var go = TG.el("button", {type: "button", text: "run to backward step " + this.backwardStep[i],
      onclick: function () { self.goto(self.F + self.backwardStep[i]); }});
    found.append(TG.el("h2", {text: "found " + D.names[i]}), TG.el("p", {text: made}),
      TG.table(["", "Value", "data", "grad now"], [this.row("", i)], "values"), go);
  };

  // -- controls --------------------------------------------------------------------

  P.toggleBreakpoint = function (values) {
    var self = this, on = !values.some(function (i) { return self.breakpoints.has(i); });
    values.forEach(function (i) { if (on) { self.breakpoints.add(i); } else { self.breakpoints.delete(i); } });
    this.markCurrent();
  };

  P.clickNode = function (g, shift) {
    var node = this.view.byId[g.id.slice(2)];
    if (!node) { return; }
    var spec = node.spec, D = this.D;
    if (spec.box !== undefined) {
      var box = D.boxes[spec.box];
      if (shift) {
        var outs = box.neurons.map(function (k) { return D.neurons[k].out; });
        this.toggleBreakpoint(outs.length ? outs : box.members);
      } else {
        this.openBox = {box: spec.box};
        this.showInside();
        $("inside").scrollIntoView({block: "nearest"});
      }
    } else if (spec.value !== undefined) {
      if (shift) { this.toggleBreakpoint([spec.value]); }
      else { this.goto(this.F + this.backwardStep[spec.value]); }
    }
  };

  P.setUpControls = function () {
    var self = this;
    $("slider").max = this.last;
    $("slider").addEventListener("input", function () { self.goto(Number(this.value)); });
    $("first").addEventListener("click", function () { self.goto(0); });
    $("prev").addEventListener("click", function () { self.prev(); });
    $("play").addEventListener("click", function () { self.togglePlay(); });
    $("next").addEventListener("click", function () { self.next(); });
    $("last").addEventListener("click", function () { self.goto(self.last); });
    $("goto").addEventListener("keydown", function (event) {
      if (event.key !== "Enter") { return; }
      var problem = self.gotoText(this.value);
      this.setCustomValidity(problem);
      this.title = problem || "";
      if (!problem) { this.blur(); }
    });
    var names = $("names");
    Array.from(new Set(this.D.names)).sort().forEach(function (name) {
      names.appendChild(TG.el("option", {value: name}));
    });
    $("find").addEventListener("change", function () { self.find(this.value); });
    this.graph.addEventListener("click", function (event) {
      var g = event.target.closest("g.node");
      if (g) { self.clickNode(g, event.shiftKey); }
    });
    // A clicked button, slider or tick box keeps the focus, and would then
    // take space and the arrows for itself as well: give the focus back.
    $("bar").addEventListener("change", function (event) { event.target.blur(); });
    $("bar").addEventListener("click", function (event) {
      if (event.target.matches("button, input[type=checkbox]")) { event.target.blur(); }
    });
    document.addEventListener("keydown", function (event) {
      var typing = event.target.matches("input[type=text], input[type=search], select");
      if (typing || event.ctrlKey || event.metaKey || event.altKey) { return; }
      var actions = {
        ArrowRight: function () { self.next(); }, ArrowLeft: function () { self.prev(); },
        " ": function () { self.togglePlay(); }, Home: function () { self.goto(0); },
        End: function () { self.goto(self.last); }
      };
      if (actions[event.key]) { event.preventDefault(); actions[event.key](); }
    });
  };

  P.setUpZoom = function () {
    var self = this, svg = this.svg;
    var width = svg.width.baseVal.value, height = svg.height.baseVal.value;
    var room = this.graph.clientWidth - 20;
    this.zoom = Math.max(0.5, Math.min(1, room / width));
    var apply = function () {
      svg.style.width = (width * self.zoom) + "px";
      svg.style.height = (height * self.zoom) + "px";
    };
    $("zoom-in").addEventListener("click", function () { self.zoom = Math.min(3, self.zoom * 1.25); apply(); });
    $("zoom-out").addEventListener("click", function () { self.zoom = Math.max(0.1, self.zoom / 1.25); apply(); });
    apply();
  };
})();
