/* The live training page (web/live.py writes it; common.js comes first).
 *
 * It draws the events the training loop sends (web/live.py says what each
 * carries) and computes nothing of its own: every number comes from Python.
 * Colours and numbers are common.js's (TG.signedColour, TG.fmt), so they
 * match the pictures and the explorer.
 */
"use strict";

// ======================================================================
// Generic helpers (SVG, 8x8 pictures, a line chart). Nothing here knows
// about training: they could move to common.js for other pages.
// ======================================================================

/** The largest |x| of a list of numbers (0 for none). */
function largestSize(numbers) {
  let big = 0;
  for (const x of numbers) big = Math.max(big, Math.abs(x));
  return big;
}

function percent(fraction) {
  return fraction === null || fraction === undefined ? "–" : (100 * fraction).toFixed(1) + "%";
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** A new SVG element with attributes, appended to `parent` if given. */
function svgElement(tag, attributes, parent) {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes || {})) element.setAttribute(name, value);
  if (parent) parent.appendChild(element);
  return element;
}

/** An 8x8 picture on a canvas: `colourOf(i)` gives pixel i's colour ("#rrggbb"). */
function pixelCanvas(colourOf, size = 8) {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = size;
  const context = canvas.getContext("2d");
  const image = context.createImageData(size, size);
  for (let i = 0; i < size * size; i++) {
    const rgb = parseInt(colourOf(i).slice(1), 16);
    image.data.set([rgb >> 16, (rgb >> 8) & 255, rgb & 255, 255], 4 * i);
  }
  context.putImageData(image, 0, 0);
  return canvas;
}

/** An 8x8 picture with a caption under it (`wrong` marks the caption). */
function pixelFigure(colourOf, caption, wrong) {
  return TG.el("figure", wrong ? {class: "wrong"} : {},
               [pixelCanvas(colourOf), TG.el("figcaption", {text: caption})]);
}

/** A digit (ink 0..16 per pixel) as dark ink on white, as the saliency pictures draw it. */
function digitFigure(ink, caption, wrong) {
  return pixelFigure(i => TG.mix([20, 20, 20], ink[i] / 16), caption, wrong);
}

/** Round tick values (steps of 1, 2 or 5 times a power of ten) from y0 to y1. */
function niceTicks(y0, y1, count) {
  const rough = (y1 - y0) / count || 1;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map(k => k * power).find(s => s >= rough);
  const ticks = [];
  for (let y = Math.ceil(y0 / step) * step; y <= y1 + 1e-9; y += step) ticks.push(Number(y.toPrecision(6)));
  return ticks;
}

/** Ticks for a logarithmic axis from y0 to y1 (both above 0): the powers
 * of ten, with 2 and 5 times them when the range is under two decades, or
 * evenly spaced round numbers when that still gives fewer than two. */
function logTicks(y0, y1) {
  const ticks = [];
  const multiples = Math.log10(y1 / y0) < 2 ? [1, 2, 5] : [1];
  for (let power = Math.floor(Math.log10(y0)); power <= Math.ceil(Math.log10(y1)); power++) {
    for (const k of multiples) {
      const y = Number((k * 10 ** power).toPrecision(6));
      if (y >= y0 && y <= y1) ticks.push(y);
    }
  }
  return ticks.length >= 2 ? ticks : niceTicks(y0, y1, 5).filter(y => y > 0);
}

/**
 * A line chart in `svg` (its viewBox gives the size): `series` is a list of
 * {points: [[x, y], ...], colour, dots, width}; axes from xRange and yRange.
 * With `log`, the y axis is logarithmic (numbers below yRange[0] sit on it).
 */
function lineChart(svg, series, {xRange, yRange, xLabel, yFormat = TG.fmt, yTicks = 4, log = false}) {
  svg.replaceChildren();
  const [width, height] = svg.getAttribute("viewBox").split(" ").slice(2).map(Number);
  const left = 44, right = 10, top = 8, bottom = 24;
  const [x0, x1] = xRange, [y0, y1] = yRange;
  const scaled = log ? (y => Math.log10(Math.max(y, y0))) : (y => y);
  const X = x => left + (width - left - right) * (x - x0) / ((x1 - x0) || 1);
  const Y = y => top + (height - top - bottom) *
    (1 - (scaled(y) - scaled(y0)) / ((scaled(y1) - scaled(y0)) || 1));
  const axis = {stroke: "#bbb", "stroke-width": 1};
  svgElement("line", {x1: left, y1: Y(y0), x2: width - right, y2: Y(y0), ...axis}, svg);
  svgElement("line", {x1: left, y1: top, x2: left, y2: Y(y0), ...axis}, svg);
  for (const y of (log ? logTicks(y0, y1) : niceTicks(y0, y1, yTicks))) {
    svgElement("line", {x1: left, y1: Y(y), x2: width - right, y2: Y(y), stroke: "#eee"}, svg);
    svgElement("text", {x: left - 4, y: Y(y) + 3, "text-anchor": "end"}, svg).textContent = yFormat(y);
  }
  const xStep = Math.max(1, Math.ceil((x1 - x0) / 10));
  for (let x = x0; x <= x1; x += xStep) {
    svgElement("text", {x: X(x), y: height - 10, "text-anchor": "middle"}, svg).textContent = x;
  }
  svgElement("text", {x: width - right, y: height - 1, "text-anchor": "end"}, svg).textContent = xLabel;
  const clipId = svg.id + "-clip";
  const clip = svgElement("clipPath", {id: clipId}, svgElement("defs", {}, svg));
  svgElement("rect", {x: left, y: top - 3, width: width - left - right + 3, height: height - top - bottom + 3}, clip);
  for (const {points, colour, dots, width: strokeWidth = 1.5} of series) {
    if (!points.length) continue;
    const path = points.map(([x, y], k) => (k ? "L" : "M") + X(x).toFixed(1) + " " + Y(y).toFixed(1)).join("");
    svgElement("path", {d: path, fill: "none", stroke: colour, "stroke-width": strokeWidth, class: "series",
                        "clip-path": `url(#${clipId})`}, svg);
    if (dots || points.length === 1) for (const [x, y] of points) {   // one point: no line yet
      svgElement("circle", {cx: X(x), cy: Y(y), r: 2.5, fill: colour, class: "dot"}, svg);
    }
  }
}

// ======================================================================
// The live page
// ======================================================================

const TRAIN_COLOUR = "#1b7837", TEST_COLOUR = "#e66101", STEP_COLOUR = "#aaa";

const live = {
  palette: null,      // the pictures' colours (sent with the start event)
  start: null,        // the "start" event
  steps: [],          // every "step" event
  epochs: [],         // every "epoch" event
  batch: null,        // the latest step event carrying a batch
  picture: null,      // the latest event carrying the weights
  tests: null,        // the latest event carrying the confusion matrix and worst digits
  details: new Map(), // test digit index -> {event, detail}: its latest details
  end: null,          // the "end" event (with the steps' texts of every digit to pick)
  stopped: null,      // the "stopped" event: the training diverged or was interrupted
  picked: null,       // the test digit shown inside: {index, label, ink}
  drawnWeightsAt: null,
};

/** Blue for positive, red for negative, as every picture colours numbers. */
function colour(x, largest) {
  return TG.signedColour(x, largest, live.palette);
}

function handle(event) {
  if (event.type === "start") {
    live.start = event;
    live.palette = event.palette;
  }
  else if (event.type === "step") {
    live.steps.push(event);
  } else if (event.type === "epoch") {
    live.epochs.push(event);
  } else if (event.type === "end") {
    live.end = event;
  } else if (event.type === "stopped") {
    live.stopped = event;
  }
  // Steps bring a batch now and then; the end brings the last one again,
  // guessed by the trained network.
  if (event.batch) live.batch = event;
  // Not every epoch brings the pictures' numbers (they cost time to make);
  // the end event brings them for the trained network.
  if (event.type !== "start" && event.weights) live.picture = event;
  if (event.confusion) live.tests = event;
  // An epoch brings the details of a few digits at most (the picks' in
  // turn, then the worst ones'): each digit keeps its latest.
  for (const detail of [...(event.details || []), ...(event.worst_details || [])]) {
    live.details.set(detail.index, {event, detail});
  }
}

/** The latest details of test digit `index` ({event, detail}), or null. */
function detailsOf(index) {
  return live.details.get(index) || null;
}

/** The steps' titles and texts for test digit `index` (they come at the end). */
function explanationsOf(index) {
  if (!live.end) return null;
  const k = live.start.picks.findIndex(p => p.index === index);
  if (k >= 0 && live.end.steps) return live.end.steps[k];
  const w = (live.end.worst || []).findIndex(d => d.index === index);
  return w >= 0 && live.end.worst_steps ? live.end.worst_steps[w] : null;
}

/** Show test digit `digit` ({index, label, ink}) inside. */
function pick(digit) {
  live.picked = {index: digit.index, label: digit.label, ink: digit.ink};
  drawInside(true);
}

/** A clickable digit: clicking it shows it inside. */
function pickableFigure(digit, caption, wrong) {
  const figure = digitFigure(digit.ink, caption, wrong);
  figure.dataset.index = digit.index;
  figure.title = `test #${digit.index}: click to look inside`;
  figure.addEventListener("click", () => pick(digit));
  return figure;
}

// -- what each panel draws ----------------------------------------------

function drawStatus() {
  const status = document.getElementById("status");
  if (!live.start) return;
  const epochs = live.start.epochs;
  const lastStep = live.steps[live.steps.length - 1];
  const lastEpoch = live.epochs[live.epochs.length - 1];
  const parts = [`network ${live.start.sizes.join("-")}`];
  if (lastStep) parts.push(`epoch ${lastStep.epoch}/${epochs}, step ${lastStep.step}/${live.start.steps_per_epoch}`,
                           `batch loss ${TG.fmt(lastStep.loss)}`, `learning rate ${TG.fmt(lastStep.lr)}`);
  if (lastEpoch) parts.push(`test accuracy ${percent(lastEpoch.test_accuracy)} after epoch ${lastEpoch.epoch}`);
  if (live.end) parts.push(`finished in ${TG.fmt(live.end.seconds)} s`);
  if (live.stopped) parts.push(`stopped: ${live.stopped.reason}`);
  status.textContent = parts.join(" · ");
  status.classList.toggle("stopped", Boolean(live.stopped));
}

function drawCurves() {
  if (!live.start) return;
  const spe = live.start.steps_per_epoch;
  const at = event => event.epoch - 1 + event.step / spe;
  const stepPoints = live.steps.map(e => [at(e), e.loss]);
  const trainLoss = live.epochs.map(e => [e.epoch, e.train_loss]);
  const testLoss = live.epochs.filter(e => e.test_loss !== null).map(e => [e.epoch, e.test_loss]);
  // The loss falls by orders of magnitude (2.4 to 0.001 on the default
  // training): a logarithmic scale shows the start and the end alike.
  const losses = [...stepPoints, ...trainLoss, ...testLoss].map(p => p[1])
    .filter(y => y > 0 && Number.isFinite(y));
  const highest = losses.length ? Math.max(...losses) * 1.2 : 1;
  const smallest = losses.length ? Math.max(Math.min(...losses) / 1.2, highest / 1e6) : 0.01;
  const xRange = [0, live.start.epochs];
  lineChart(document.getElementById("loss-chart"), [
    {points: stepPoints, colour: STEP_COLOUR, width: 1},
    {points: trainLoss, colour: TRAIN_COLOUR, dots: true},
    {points: testLoss, colour: TEST_COLOUR, dots: true},
  ], {xRange, yRange: [smallest, highest], xLabel: "epoch", log: true});
  const accuracies = live.epochs.flatMap(e => [e.train_accuracy, e.test_accuracy]).filter(a => a !== null);
  const lowest = Math.min(0.9, ...accuracies);
  lineChart(document.getElementById("accuracy-chart"), [
    {points: live.epochs.map(e => [e.epoch, e.train_accuracy]), colour: TRAIN_COLOUR, dots: true},
    {points: live.epochs.filter(e => e.test_accuracy !== null).map(e => [e.epoch, e.test_accuracy]), colour: TEST_COLOUR, dots: true},
  ], {xRange, yRange: [Math.floor(lowest * 10) / 10, 1], xLabel: "epoch", yFormat: percent});
}

/** The network as the article draws it: columns of neurons, weights as lines.
 * Drawn on a canvas: 6,464 lines for the default network, redrawn a few
 * times a second, cost the browser far less there than as SVG elements. */
function drawNetwork() {
  // Until an epoch brings new ones, the weights the network started with.
  const lastEpoch = live.picture || (live.start && {epoch: 0, weights: live.start.weights});
  if (!lastEpoch || live.drawnWeightsAt === lastEpoch.t) return;
  const canvas = document.getElementById("network");
  const width = Number(canvas.dataset.width), height = Number(canvas.dataset.height);
  // As many pixels as the page shows it with: sharp at any size.
  const scale = (canvas.clientWidth / width || 1) * (window.devicePixelRatio || 1);
  canvas.width = width * scale;
  canvas.height = height * scale;
  const c = canvas.getContext("2d");
  c.setTransform(scale, 0, 0, scale, 0, 0);
  const sizes = live.start.sizes, last = sizes.length - 1;
  const top = 14, bottom = 16;
  const x = L => 30 + (width - 60) * L / last;
  const y = (L, j) => top + (height - top - bottom) * (sizes[L] === 1 ? 0.5 : j / (sizes[L] - 1));
  const radius = L => Math.max(1.5, Math.min(6, (height - top - bottom) / sizes[L] / 2.4));
  // The lines of one colour and opacity make one path, stroked once.
  const paths = new Map();
  lastEpoch.weights.forEach((layer, k) => {
    const L = k + 1, largest = largestSize(layer.flatMap(row => row.slice(0, -1)));
    layer.forEach((row, j) => {
      for (let i = 0; i < row.length - 1; i++) {
        const opacity = (0.15 + 0.85 * Math.min(Math.abs(row[i]) / largest, 1)).toFixed(2);
        const key = colour(row[i], largest) + " " + opacity;
        if (!paths.has(key)) paths.set(key, new Path2D());
        paths.get(key).moveTo(x(L - 1), y(L - 1, i));
        paths.get(key).lineTo(x(L), y(L, j));
      }
    });
  });
  c.lineWidth = 0.6;
  for (const [key, path] of paths) {
    const [stroke, opacity] = key.split(" ");
    c.strokeStyle = stroke;
    c.globalAlpha = Number(opacity);
    c.stroke(path);
  }
  c.globalAlpha = 1;
  c.font = "10px system-ui, sans-serif";
  sizes.forEach((size, L) => {
    // The neurons, filled by their bias (the inputs grey).
    const biases = L ? lastEpoch.weights[L - 1].map(row => row[row.length - 1]) : [];
    const largestBias = largestSize(biases);
    c.lineWidth = 0.4;
    c.strokeStyle = "#555";
    for (let j = 0; j < size; j++) {
      c.beginPath();
      c.arc(x(L), y(L, j), radius(L), 0, 2 * Math.PI);
      c.fillStyle = L ? colour(biases[j], largestBias) : "#888";
      c.fill();
      c.stroke();
    }
    c.fillStyle = "#555";
    c.textAlign = "center";
    c.fillText(L === 0 ? "64 pixels" : L === last ? "outputs" : `hidden ${L}`, x(L), height - 2);
  });
  c.textAlign = "left";
  live.start.classes.forEach((label, j) => c.fillText(String(label), x(last) + 9, y(last, j) + 3));
  canvas.dataset.epoch = lastEpoch.epoch;
  document.getElementById("network-note").textContent =
    `(${whenOf(lastEpoch)}; weights: blue positive, red negative, darker = larger; neurons by their bias)`;
  live.drawnWeightsAt = lastEpoch.t;
}

/** When the numbers of `event` are from, in words. */
function whenOf(event) {
  if (event.type === "end") return "the trained network";
  if (event.type === "step") return `epoch ${event.epoch}, step ${event.step}`;
  return event.epoch ? `after epoch ${event.epoch}` : "at the start";
}

function drawBatch() {
  const box = document.getElementById("batch");
  const key = live.batch && `${live.batch.type} ${live.batch.t}`;
  if (!live.batch || box.dataset.key === key) return;
  const {ink, labels, guesses} = live.batch.batch;
  box.replaceChildren(...ink.map((pixels, k) =>
    digitFigure(pixels, `${labels[k]}→${guesses[k]}`, labels[k] !== guesses[k])));
  box.dataset.key = key;
  document.getElementById("batch-note").textContent = live.batch.type === "end"
    ? "(the last batch, guessed by the trained network; red when wrong)"
    : `(${whenOf(live.batch)}, just after its update: the network's guess under each digit; red when wrong)`;
}

function drawConfusion() {
  const lastEpoch = live.tests;
  const table = document.getElementById("confusion");
  if (!lastEpoch || !lastEpoch.confusion || table.dataset.epoch === String(lastEpoch.epoch)) return;
  const classes = live.start.classes;
  const rows = lastEpoch.confusion.map((row, r) => {
    const total = row.reduce((a, b) => a + b, 0);
    return TG.el("tr", {}, [TG.el("th", {text: String(classes[r])}), ...row.map((count, c) => {
      // The diagonal (right) in blue, shaded by the share of that digit's
      // images; mistakes in red, full colour at a fifth of them.
      const share = (r === c ? 1 : -1) * count / (total || 1);
      const largest = r === c ? 1 : 0.2;
      const cell = TG.el("td", {text: count ? String(count) : "",
                                title: `${count} test images of ${classes[r]} read as ${classes[c]}`});
      cell.style.background = colour(share, largest);
      if (TG.isDark(share, largest)) cell.style.color = "#fff";
      return cell;
    })]);
  });
  table.replaceChildren(TG.el("tr", {}, [TG.el("th"), ...classes.map(label => TG.el("th", {text: String(label)}))]),
                        ...rows);
  table.dataset.epoch = lastEpoch.epoch;
  document.querySelector("#confusion-panel small").textContent =
    `(rows: the right digit; columns: the guess; after epoch ${lastEpoch.epoch})`;
}

function drawWorst() {
  const lastEpoch = live.tests;
  const box = document.getElementById("worst");
  if (!lastEpoch || !lastEpoch.worst || box.dataset.epoch === String(lastEpoch.epoch)) return;
  box.replaceChildren(...lastEpoch.worst.map(d =>
    pickableFigure(d, `${d.label}→${d.guess}`, d.label !== d.guess)));
  box.dataset.epoch = lastEpoch.epoch;
  markPicked();
  document.querySelector("#worst-panel small").textContent =
    `(right digit → guess; after epoch ${lastEpoch.epoch}; click one to look inside)`;
}

function drawPicks() {
  const box = document.getElementById("picks");
  if (!live.start || box.childElementCount) return;
  live.start.picks.forEach(digit => box.appendChild(pickableFigure(digit, `test #${digit.index}`, false)));
  if (!live.picked && live.start.picks.length) live.picked = live.start.picks[0];
}

/** Outline the picked digit wherever it is shown. */
function markPicked() {
  document.querySelectorAll("#picks figure, #worst figure").forEach(f =>
    f.classList.toggle("picked", Boolean(live.picked) && f.dataset.index === String(live.picked.index)));
}

/** Cells coloured blue/red by sign (the number in each one's tooltip). */
function cellRow(numbers, names) {
  const largest = largestSize(numbers);
  return TG.el("div", {class: "cells"}, numbers.map((x, i) => {
    const cell = TG.el("span", {text: names ? String(names[i]) : "",
                                title: `${names ? names[i] : i}: ${TG.fmt(x)}`});
    cell.style.background = colour(x, largest);
    return cell;
  }));
}

/** A saliency map: 64 gradients, one colour scale (the largest gets the full colour). */
function saliencyFigure(gradients, heading, key) {
  const largest = largestSize(gradients);
  const figure = pixelFigure(i => colour(gradients[i], largest), heading, false);
  figure.appendChild(TG.el("div", {class: "map-key", text: `${key}; full colour = ${TG.fmt(largest)}`}));
  return figure;
}

/** The picked test digit: its saliency maps and the backprop steps,
 * each drawn on the network and given as numbers. */
function drawInside(force) {
  const box = document.getElementById("inside");
  if (!live.picked) return;
  const found = detailsOf(live.picked.index);
  const texts = explanationsOf(live.picked.index);
  const drawn = `${live.picked.index} ${found && found.event.epoch} ${Boolean(texts)}`;
  if (!force && box.dataset.drawn === drawn) return;
  markPicked();
  box.dataset.drawn = drawn;
  box.dataset.index = live.picked.index;
  const digit = live.picked;
  if (!found) {
    document.getElementById("inside-note").textContent = "";
    // A worst digit of an earlier epoch may not be among the worst any more.
    box.replaceChildren(TG.el("p", {text: `test #${digit.index}: ` + (live.end
      ? "no longer among the digits it gets most wrong; pick another"
      : "its numbers come with an epoch when the training leaves time to make them, " +
        "and for every digit when training ends")}));
    return;
  }
  const {event, detail} = found;
  const classes = live.start.classes;
  const name = `"${digit.label}"`;
  document.getElementById("inside-note").textContent =
    `(test #${digit.index}; numbers after epoch ${event.epoch}; blue = positive, red = negative)` +
    (texts ? "" : "; the explanations come when training ends");
  const maps = TG.el("div", {class: "maps"}, [
    digitFigure(digit.ink, `a ${digit.label}: probability ${percent(detail.probabilities[classes.indexOf(digit.label)])}, loss ${TG.fmt(detail.loss)}`),
    saliencyFigure(detail.output_saliency, `d(output ${name}) / d(pixel)`, "blue: brighter raises it"),
    saliencyFigure(detail.loss_saliency, "d(loss) / d(pixel)", "red: brighter lowers the loss"),
  ]);
  const layers = live.start.sizes.length - 1;
  const rows = [
    [`the ${name} output must rise`, {layer: layers}, cellRow(detail.changes[layers - 1], classes)],
    [`weights into ${name} change in proportion to the incoming activation`, {weights: true},
     cellRow(detail.weight_changes)],
  ];
  for (let L = layers - 1; L >= 1; L--) {
    rows.push([`hidden layer ${L}: which neurons should go up or down`, {layer: L}, cellRow(detail.changes[L - 1])]);
  }
  const steps = rows.map(([title, focus, cells], k) => TG.el("div", {class: "step"}, [
    TG.el("h3", {text: `Step ${k + 1}: ${texts && texts[k] ? texts[k][0] : title}`}),
    TG.el("div", {class: "step-body"}, [
      stepDiagram(detail, digit, focus),
      TG.el("div", {}, [...(texts && texts[k] ? [TG.el("p", {text: texts[k][1]})] : []), cells])])]));
  const pixelsText = texts && texts[rows.length];          // the last step: back to the pixels
  if (pixelsText) maps.appendChild(TG.el("p", {class: "step", text: `Step ${rows.length + 1}: ${pixelsText[0]}. ${pixelsText[1]}`}));
  box.replaceChildren(maps, TG.el("div", {class: "steps"}, steps));
}

// -- one backprop step on the network, as the article draws it ----------

/** The indices of the largest |numbers|, in order: at most as many as
 * pictures/network.py draws in a column (the start event's max_shown). */
function largestIndices(numbers) {
  return numbers.map((x, i) => [Math.abs(x), i]).sort((a, b) => b[0] - a[0])
    .slice(0, live.start.max_shown).map(([, i]) => i).sort((a, b) => a - b);
}

/** An arrow centred on height y, up for a positive change, at most `longest`
 * long (the rows' spacing: arrows of neighbours never touch), by |change|. */
function changeArrow(svg, x, y, change, largest, colour, longest) {
  const length = Math.max(3, longest * Math.min(Math.abs(change) / (largest || 1), 1));
  const sign = Math.sign(change), tip = y - sign * length / 2, head = sign * Math.min(3, length / 2);
  svgElement("line", {x1: x, y1: y + sign * length / 2, x2: x, y2: tip + head, stroke: colour, "stroke-width": 1.6}, svg);
  svgElement("path", {class: "arrow", d: `M${x - 2.5} ${tip + head}L${x} ${tip}L${x + 2.5} ${tip + head}Z`,
                      fill: colour, stroke: colour, "stroke-width": 0.6}, svg);
}

/**
 * One step on a small network picture: the digit, then each layer's shown
 * neurons. `focus.layer`: that layer's desired changes as arrows, coloured
 * like the article's (purple at the output, then green, orange, ...);
 * `focus.weights`: the changes of the weights into the right output as
 * black lines, thicker = larger change.
 */
function stepDiagram(detail, digit, focus) {
  const sizes = live.start.sizes, last = sizes.length - 1;
  const width = 300, height = 190, top = 12, bottom = 26;
  const svg = svgElement("svg", {class: "step-diagram", viewBox: `0 0 ${width} ${height}`, role: "img",
                                 "aria-label": "this step on the network"});
  const target = live.start.classes.indexOf(digit.label);
  // The digit as the input, 8x8 squares.
  const cell = 4, imageTop = (height - bottom - 8 * cell) / 2;
  digit.ink.forEach((ink, i) => svgElement("rect", {x: 6 + (i % 8) * cell, y: imageTop + Math.floor(i / 8) * cell,
    width: cell, height: cell, fill: TG.mix([20, 20, 20], ink / 16)}, svg));
  svgElement("rect", {x: 6, y: imageTop, width: 8 * cell, height: 8 * cell, fill: "none", stroke: "#bbb"}, svg);
  // Which neurons each column shows: the largest numbers of this step there.
  const ranking = L => focus.weights && L === last - 1 ? detail.weight_changes : detail.changes[L - 1];
  const shown = [null];
  const x = L => 60 + (width - 90) * (L - 1) / Math.max(last - 1, 1);
  const y = (L, k) => top + (height - top - bottom) * (shown[L].length === 1 ? 0.5 : k / (shown[L].length - 1));
  for (let L = 1; L <= last; L++) shown.push(largestIndices(ranking(L)));
  const links = svgElement("g", {stroke: "#e4e4e4", "stroke-width": 0.5}, svg);
  for (let L = 2; L <= last; L++) {
    shown[L].forEach((_, k) => shown[L - 1].forEach((__, i) =>
      svgElement("line", {x1: x(L - 1), y1: y(L - 1, i), x2: x(L), y2: y(L, k)}, links)));
  }
  if (focus.weights) {
    const changes = detail.weight_changes, largest = largestSize(changes);
    const into = shown[last].indexOf(target);
    shown[last - 1].forEach((i, k) => changes[i] && svgElement("line", {class: "weight-change",
      x1: x(last - 1), y1: y(last - 1, k), x2: x(last), y2: y(last, into), stroke: "#000",
      "stroke-width": (0.2 + 3 * Math.abs(changes[i]) / (largest || 1)).toFixed(2)}, svg));
  }
  for (let L = 1; L <= last; L++) {
    const r = 3.2;
    shown[L].forEach((j, k) => {
      const isTarget = L === last && j === target;
      svgElement("circle", {cx: x(L), cy: y(L, k), r, fill: "#fff", stroke: isTarget ? "#000" : "#777",
                            "stroke-width": isTarget ? 1.6 : 0.6}, svg);
      if (L === last) svgElement("text", {x: x(L) + 8, y: y(L, k) + 3}, svg).textContent = live.start.classes[j];
      if (focus.layer === L) {
        const colours = live.start.change_colours;
        const spacing = shown[L].length > 1 ? y(L, 1) - y(L, 0) : 20;
        changeArrow(svg, x(L) + (L === last ? 20 : 7), y(L, k), detail.changes[L - 1][j],
                    largestSize(detail.changes[L - 1]), colours[(last - L) % colours.length],
                    Math.min(20, spacing - 1.5));
      }
    });
    const name = L === last ? "outputs" : `hidden ${L}`;
    const more = sizes[L] - shown[L].length;
    svgElement("text", {x: x(L), y: height - 14, "text-anchor": "middle"}, svg).textContent = name;
    if (more) svgElement("text", {x: x(L), y: height - 3, "text-anchor": "middle"}, svg).textContent = `+ ${more} more`;
  }
  return svg;
}

function drawAll() {
  drawStatus();
  drawCurves();
  drawNetwork();
  drawBatch();
  drawConfusion();
  drawWorst();
  drawPicks();
  drawInside(false);
}

// -- where the events come from -----------------------------------------

let drawPending = false;
// Milliseconds between two redraws at most: a few a second follow the
// training well, and leave the computer (whose cores the training uses) alone.
const REDRAW_PAUSE = 300;

/** Redraw soon, once, however many events arrive meanwhile; in a tab no
 * one is looking at, only when it is shown again (requestAnimationFrame). */
function redrawSoon() {
  if (drawPending) return;
  drawPending = true;
  setTimeout(() => requestAnimationFrame(() => { drawPending = false; drawAll(); }), REDRAW_PAUSE);
}

function setConnection(text, alarming = false) {
  const connection = document.getElementById("connection");
  connection.textContent = text;
  connection.classList.toggle("alarm", alarming);
}

function listen() {
  if (document.getElementById("page-data")) {     // a report file: everything is here
    TG.loadPageData().then(data => {
      data.events.forEach(handle);
      setConnection(live.end ? "report: the finished training"
        : live.stopped ? "report: the training stopped before the end"
        : "report: training still running (reload to update)");
      drawAll();
    });
    return;
  }
  const source = new EventSource("events");
  source.onopen = () => setConnection("live");
  source.onmessage = message => {
    handle(JSON.parse(message.data));
    if (live.end || live.stopped) {
      source.close();
      setConnection(live.end ? "training finished; the model is saved"
                             : "the training stopped; nothing more will come");
    }
    redrawSoon();
  };
  source.onerror = () => {
    if (!live.end && !live.stopped) {
      setConnection("lost the connection to the training: has the command stopped? retrying…", true);
    }
  };
}

listen();
