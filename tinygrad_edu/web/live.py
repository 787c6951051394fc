"""Watch the network learn: training events, a live page and a report file.

Three pieces, each usable alone:

* :class:`TrainingWatcher` listens to the training loop (``train(...,
  on_step=watcher.on_step, on_epoch=watcher.on_epoch)``) and turns what it
  hears into *events*, plain JSON-ready dicts:

  ``start``  the network's sizes, classes and first weights, the settings,
             and the test digits the learner can pick to look inside;
  ``step``   epoch, step, loss and learning rate of a training step (at most
             about 20 a second, however fast the steps are: the last step of
             every epoch is always sent), now and then with the batch's
             digits and the network's guesses;
  ``epoch``  the training loop's measurements after the epoch (train and
             test loss and accuracy); the network's weights (at least three
             times a second of training) and the test confusion matrix and
             the test digits it gets most wrong (at least once a second);
             for a digit to pick (in turn; at least every three seconds)
             the saliency maps and the numbers of the backprop steps
             (``details``); and, while a budget of CPU time allows (see
             :class:`TrainingWatcher`), more of those, then the same for
             some of the worst digits (``worst_details``);
  ``end``    the final figures, all of the above for the trained network,
             the CPU time spent making events during training
             (``cpu_seconds``), and the steps' explanations for the digits
             to pick (``steps``) and the worst digits (``worst_steps``).

  Every number is computed here, in Python, from the training loop's model:
  the page only draws them.
* :class:`EventLog` keeps every event in order; readers wait for new ones.
* :class:`LiveServer` serves the page on ``/`` and the events on ``/events``
  as Server-Sent Events (a browser that connects late first receives the
  history). :func:`page_html` builds the page; with ``events`` it is the
  self-contained report file (the events embedded, no server needed).
"""

import errno
import json
import math
import threading
import time
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import numpy as np

from ..fast.engines import tape_for
from ..learn.losses import predicted_class
from ..output import write_atomically
from ..pictures.explain import explain_steps
from ..pictures.network import CHANGE_COLOURS, MAX_SHOWN, network_state
from ..pictures.saliency import pixel_gradients
from .page import PALETTE, asset, inline_page

__all__ = ["EventLog", "TrainingWatcher", "LiveServer", "ServeError",
           "page_html", "DEFAULT_PORT", "MAX_STEP_EVENTS_PER_SECOND"]

DEFAULT_PORT = 8765
MAX_STEP_EVENTS_PER_SECOND = 20
BATCH_EVENTS_PER_SECOND = 4      # steps that also carry the batch's digits
# Epoch events that carry these whatever the budget, per second of training
# (of the training thread's CPU time):
WEIGHTS_EVENTS_PER_SECOND = 3    # the weights
TESTS_EVENTS_PER_SECOND = 1      # the test results
DETAILS_EVENTS_PER_SECOND = 1 / 3  # a pick's details
REPORT_SHARE = 0.05              # of the training's CPU time, for rewriting the report
STREAM_PAUSE = 0.2               # seconds between two sends of the stream
WORST_SHOWN = 12                 # test digits it gets most wrong, per epoch
DETAIL_BUDGET = 0.03             # share of the training's CPU time for making events


def _round(number, digits=4):
    """``number`` to ``digits`` significant digits (what the page shows)."""
    return float(f"{number:.{digits}g}")


def _rounded(numbers):
    return [_round(x) for x in numbers]


def _ink(pixels):
    """Pixels 0..1 as the whole numbers 0..16 of the data set (compact JSON)."""
    return [round(p * 16) for p in pixels]


# ----------------------------------------------------------------------
# The event log
# ----------------------------------------------------------------------

class EventLog:
    """Every event so far, in order, each kept as its JSON text.

    ``publish`` adds one; ``wait_from(i)`` returns the events from number
    ``i`` on, waiting (up to ``timeout`` seconds) while there are none.
    Safe to use from many threads.
    """

    def __init__(self):
        self._texts = []
        self._changed = threading.Condition()
        self.closed = False

    def publish(self, event):
        text = json.dumps(event, separators=(",", ":"), allow_nan=False)
        with self._changed:
            self._texts.append(text)
            self._changed.notify_all()

    def wait_from(self, index, timeout=None):
        with self._changed:
            self._changed.wait_for(lambda: len(self._texts) > index or self.closed,
                                   timeout)
            return self._texts[index:]

    def close(self):
        """Wake every reader for good (the server is stopping)."""
        with self._changed:
            self.closed = True
            self._changed.notify_all()

    def events(self):
        """A copy of every event so far, as dicts."""
        with self._changed:
            return [json.loads(text) for text in self._texts]

    def __len__(self):
        return len(self._texts)


# ----------------------------------------------------------------------
# From the training loop to events
# ----------------------------------------------------------------------

class TrainingWatcher:
    """Turns the training loop's steps and epochs into events on ``log``.

    ``picks`` is how many test digits the learner can look inside (one of
    each class first). ``report`` is a file path: the self-contained page is
    rewritten there (atomically) after an epoch, as often as ``REPORT_SHARE``
    of the training's CPU time allows, and at the end.
    ``clock`` (seconds, for the step events' throttle) and ``cpu_clock`` (the
    training thread's CPU seconds, for the budget and the epoch events'
    minimum rates) are for tests.

    The work of making events is counted (``cpu_seconds``). An epoch event
    always carries the loop's measurements, and, counting seconds of the
    training thread's CPU time, the weights at least three times a second,
    the test confusion matrix and worst digits at least once a second, and
    a pick's details at least every three seconds. Beyond that it carries,
    in this order, the weights, the test results, the picks' details (one
    digit at a time, going round them) and the worst digits' details, each
    only if all the work so far plus what that piece cost last time stays
    within ``budget`` (a share) of the training thread's CPU time. The end
    event carries them all, for the trained network, made after training.
    """

    def __init__(self, model, train_data, test_data, *, epochs, batch_size,
                 loss="cross_entropy", settings=None, log=None, report=None,
                 picks=10, budget=DETAIL_BUDGET, clock=time.monotonic,
                 cpu_clock=time.thread_time):
        self.model, self.loss = model, loss
        self.test_images, self.test_labels = test_data
        self.epochs = epochs
        self.steps_per_epoch = math.ceil(len(train_data[0]) / batch_size)
        self.log = log if log is not None else EventLog()
        self.report = report
        self.clock, self.cpu_clock = clock, cpu_clock
        self.budget = budget
        self.step_losses = []            # every step's loss, for metrics.json
        self._last_step_event = self._last_batch_event = -math.inf
        self._last_sent = {"weights": -math.inf, "tests": -math.inf,
                           "details": -math.inf, "report": -math.inf}
        self._cost = {}                  # CPU seconds of the last piece of each kind
        self._next_pick = 0              # the pick whose details are due next
        self._last_batch = None          # (images, targets) of the latest step
        self._epoch_began = -math.inf    # CPU clock when this epoch began
        self.cpu_seconds = 0.0           # CPU time spent making events
        self._cpu_started = None         # set by start(), in the training's thread
        index_of = {label: i for i, label in enumerate(model.classes)}
        self.test_targets = [index_of[label] for label in self.test_labels]
        self.picks = _pick_digits(self.test_labels, model.classes, picks)
        self.settings = settings or {}

    # -- the events ---------------------------------------------------------

    def start(self):
        """Publish the ``start`` event (call it before training, in the
        thread that trains: the budget counts that thread's CPU time)."""
        self._cpu_started = self._epoch_began = self.cpu_clock()
        model = self.model
        self.log.publish({
            "type": "start", "sizes": [model.nin] + [len(layer.neurons)
                                                    for layer in model.layers],
            "classes": list(model.classes), "activation": model.activation,
            "epochs": self.epochs, "steps_per_epoch": self.steps_per_epoch,
            "settings": self.settings, "weights": self._weights(),
            "palette": PALETTE, "change_colours": CHANGE_COLOURS, "max_shown": MAX_SHOWN,
            "picks": [{"index": i, "label": self.test_labels[i],
                       "ink": _ink(self.test_images[i])} for i in self.picks]})

    def on_step(self, report):
        """The training loop's ``on_step``: record the loss, maybe publish."""
        now = self.clock()
        self.step_losses.append(report.loss)
        last = report.step == report.steps_per_epoch
        if not last and now - self._last_step_event < 1 / MAX_STEP_EVENTS_PER_SECOND:
            return
        self._last_batch = (report.images, report.targets)
        began = self.cpu_clock()
        self._last_step_event = now
        event = {"type": "step", "epoch": report.epoch, "step": report.step,
                 "t": len(self.step_losses), "loss": report.loss, "lr": report.lr}
        if now - self._last_batch_event >= 1 / BATCH_EVENTS_PER_SECOND:
            self._last_batch_event = now
            if report.sync is not None:
                report.sync()                   # the weights the loop has now
            event["batch"] = self._batch(report.images, report.targets)
        # The weights at their rate within a long epoch too (one of the tape
        # or values engine takes seconds); a short one's end brings them.
        since = max(self._last_sent["weights"], self._epoch_began)
        if began - since >= 1 / WEIGHTS_EVENTS_PER_SECOND:
            if report.sync is not None and "batch" not in event:
                report.sync()
            self._timed("weights", self._add_weights, event)
        self.log.publish(event)
        self.cpu_seconds += self.cpu_clock() - began

    def on_epoch(self, stats):
        """The training loop's ``on_epoch``: publish the epoch's measurements
        and, at their minimum rates and while the budget allows, the
        pictures' numbers."""
        began = self.cpu_clock()
        event = {"type": "epoch", **stats, "t": len(self.step_losses)}
        # No test results or details with the last epoch: the end event
        # brings them all, a moment later.
        last = stats.get("epoch") == self.epochs
        self._add_due(event, began, last)
        for kind, add in self._extras(event, last):
            if not self._affordable(kind, began):
                break
            self._timed(kind, add, event)
        self.log.publish(event)
        self._maybe_write_report()
        self._epoch_began = self.cpu_clock()
        self.cpu_seconds += self._epoch_began - began

    def _add_due(self, event, now, last):
        """Whatever the budget: the weights at least three times a second of
        training, the test results once a second and a pick's details every
        three seconds (the network picture and the confusion matrix change
        as it learns, even on a short run, and no panel is empty after the
        first epoch). Seconds of the training thread's CPU time (``now``):
        on a busy machine, where training takes longer, these cost no more."""
        def due(kind, per_second):
            return now - self._last_sent[kind] >= 1 / per_second

        if due("weights", WEIGHTS_EVENTS_PER_SECOND):
            self._timed("weights", self._add_weights, event)
        if last:
            return
        if due("tests", TESTS_EVENTS_PER_SECOND):
            self._timed("tests", self._add_test_results, event)
        if self.picks and due("details", DETAILS_EVENTS_PER_SECOND):
            self._timed("details", partial(self._add_pick_details,
                                           self.picks[self._next_pick]), event)

    def _maybe_write_report(self):
        """Rewrite the report file after this epoch if rewriting it (what it
        cost last time, spread over the training since) stays within
        ``REPORT_SHARE`` of the training thread's CPU time: after the first
        epoch, then less often as the file grows (every event so far goes in
        it, compressed), and always at the end (``finish``)."""
        if not self.report:
            return
        now = self.cpu_clock()
        if now - self._last_sent["report"] >= self._cost.get("report", 0.0) / REPORT_SHARE:
            self._timed("report", lambda event: self._write_report(), None)
            self._last_sent["report"] = self.cpu_clock()

    def _extras(self, event, last=False):
        """What an epoch event may carry beyond the measurements, cheapest and
        most looked at first: (kind, function adding it to ``event``). The
        picks' details go round, one digit at a time, from the one due next.
        After the ``last`` epoch, only the weights."""
        if "weights" not in event:
            yield "weights", self._add_weights
        if last:
            return
        if "confusion" not in event:
            yield "tests", self._add_test_results
        for k in range(len(self.picks)):
            index = self.picks[(self._next_pick + k) % len(self.picks)]
            yield "details", partial(self._add_pick_details, index)
        for digit in event.get("worst", []):            # the test results' worst digits
            yield "details", partial(self._add_details, "worst_details", digit["index"])

    def _timed(self, kind, add, event):
        """``add(event)``, remembering how much CPU time it took (its next cost)."""
        began = self.cpu_clock()
        add(event)
        self._cost[kind] = self.cpu_clock() - began

    def _affordable(self, kind, began):
        """Would one more piece of ``kind`` (costing what the last one did) keep
        all the work of making events, this epoch's since ``began`` included,
        within ``budget`` of the training thread's CPU time?"""
        now = self.cpu_clock()
        if self._cpu_started is None:
            self._cpu_started = began               # start() was not called
        spent = self.cpu_seconds + (now - began) + self._cost.get(kind, 0.0)
        return spent <= self.budget * (now - self._cpu_started)

    def finish(self, metrics):
        """Publish the ``end`` event: the final figures, the pictures' numbers
        and the picks' and worst digits' details for the trained network, and
        for each of those digits the steps' titles and paragraphs (as ``tinygrad-edu explain`` writes
        them). Made after training, so they do not slow it."""
        keys = ("test_accuracy", "train_accuracy", "test_loss", "train_loss",
                "epochs", "seconds")
        event = {"type": "end", **{k: metrics.get(k) for k in keys},
                 "epoch": metrics.get("epochs"),
                 "cpu_seconds": round(self.cpu_seconds, 3)}
        self._add_weights(event)
        self._add_test_results(event)
        event["details"] = [self.details(i) for i in self.picks]
        event["worst_details"] = [self.details(d["index"]) for d in event.get("worst", [])]
        event["steps"] = self._explanations(self.picks)
        event["worst_steps"] = self._explanations(d["index"] for d in event.get("worst", []))
        if self._last_batch is not None:         # guessed by the trained network
            event["batch"] = self._batch(*self._last_batch)
        self.log.publish(event)
        self._write_report()

    def stop(self, reason):
        """Publish the ``stopped`` event: the training ended without
        finishing (it diverged, or it was interrupted), and ``reason`` says
        how. The report is rewritten with it, so it does not wait for more."""
        self.log.publish({"type": "stopped", "reason": reason,
                          "t": len(self.step_losses)})
        self._write_report()

    def _add_weights(self, event):
        event["weights"] = self._weights()
        self._last_sent["weights"] = self.cpu_clock()

    def _add_test_results(self, event):
        event.update(self._test_results())
        self._last_sent["tests"] = self.cpu_clock()

    def _add_details(self, key, index, event):
        """Add test digit ``index``'s details to the event's list ``key``."""
        event.setdefault(key, []).append(self.details(index))

    def _add_pick_details(self, index, event):
        self._add_details("details", index, event)
        self._last_sent["details"] = self.cpu_clock()
        self._next_pick = (self.picks.index(index) + 1) % len(self.picks)

    # -- what the events carry -----------------------------------------------

    def _outputs(self, images, targets):
        """The network's losses and outputs for ``images`` (numpy replay)."""
        return tape_for(self.model, self.loss, "numpy").losses_and_outputs(images, targets)

    def _batch(self, images, targets):
        _, outputs = self._outputs(images, targets)
        classes = self.model.classes
        return {"ink": [_ink(image) for image in images],
                "labels": [classes[t] for t in targets],
                "guesses": [classes[predicted_class(row)] for row in outputs.tolist()]}

    def _weights(self):
        """Per layer, per neuron: the incoming weights, then the bias.

        Rounded to 4 decimals (enough for the picture's colours) by numpy, a
        whole layer at once: this goes out with many epochs, so it must be cheap.
        """
        return [np.round([[w.data for w in neuron.w] + [neuron.b.data]
                          for neuron in layer.neurons], 4).tolist()
                for layer in self.model.layers]

    def _test_results(self):
        """Confusion matrix and the worst test digits (by loss).

        One numpy replay over the test images, counted and sorted by numpy
        (the guess is the first largest output, as ``predicted_class`` says).
        """
        if not self.test_targets:
            return {}
        losses, outputs = self._outputs(self.test_images, self.test_targets)
        n = len(self.model.classes)
        guesses = outputs.argmax(axis=1)
        confusion = np.bincount(np.asarray(self.test_targets) * n + guesses,
                                minlength=n * n).reshape(n, n)
        worst = np.argsort(-losses, kind="stable")[:WORST_SHOWN].tolist()
        classes = self.model.classes
        return {"confusion": confusion.tolist(),
                "worst": [{"index": i, "label": self.test_labels[i],
                           "guess": classes[guesses[i]], "loss": _round(float(losses[i])),
                           "ink": _ink(self.test_images[i])} for i in worst]}

    def details(self, index):
        """Saliency and the four backprop steps' numbers for test digit ``index``.

        The steps' numbers are those ``tinygrad-edu explain`` draws
        (``network_state``); the saliency maps those of ``draw_saliency``
        (``pixel_gradients``): d(output for the right digit)/d(pixel) and
        d(loss)/d(pixel).
        """
        image, label = self.test_images[index], self.test_labels[index]
        target = self.test_targets[index]
        state = network_state(self.model, image, target, self.loss)
        pixels = pixel_gradients(self.model, image, label, self.loss)
        last = len(self.model.layers)
        return {"index": index, "loss": _round(state.loss),
                "probabilities": _rounded(state.probabilities or state.activations[-1]),
                "output_saliency": _rounded(pixels.output_grads),
                "loss_saliency": _rounded(pixels.loss_grads),
                "changes": [_rounded(layer) for layer in state.changes[1:]],
                "weight_changes": _rounded(state.weight_changes[last][target])}

    def _explanations(self, indices):
        """The steps' titles and paragraphs for each test digit of ``indices``,
        as ``tinygrad-edu explain`` writes them (after training)."""
        texts = []
        for index in indices:
            steps = explain_steps(self.model, self.test_images[index],
                                  self.test_labels[index], draw=False)
            texts.append([[step.title, step.text] for step in steps])
        return texts

    def _write_report(self):
        if self.report:
            write_atomically(self.report, page_html(self.log.events()))


def _pick_digits(labels, classes, count):
    """Test digit indices to look inside: the first of each class, in order."""
    picks = []
    for label in classes:
        if label in labels and len(picks) < count:
            picks.append(labels.index(label))
    return picks


# ----------------------------------------------------------------------
# The page
# ----------------------------------------------------------------------

def page_html(events=None):
    """The live page as one HTML text, its scripts and styles inlined.

    With ``events`` (a list of event dicts) the page is a report: they are
    embedded (packed, see ``page.pack_data``) and it needs no server.
    Without, it reads ``/events`` from the server that serves it.
    """
    page = inline_page("tinygrad-edu: watch the network learn", asset("live.html"),
                       scripts=["common.js", "live.js"],
                       styles=["common.css", "live.css"],
                       data=None if events is None else {"events": events})
    # No favicon: a browser would ask the server for /favicon.ico (a 404).
    return page.replace("</head>", '<link rel="icon" href="data:,"></head>', 1)


# ----------------------------------------------------------------------
# The server
# ----------------------------------------------------------------------

class ServeError(OSError):
    """The page cannot be served where it was asked (port in use, bad host)."""


class _Handler(BaseHTTPRequestHandler):
    """Two routes: ``/`` (the page) and ``/events`` (the stream). Nothing else."""

    server_version = "tinygrad-edu-live"

    def do_GET(self):
        path = urlsplit(self.path).path
        if path == "/":
            self._send(200, "text/html; charset=utf-8", self.server.page)
        elif path == "/events":
            self._stream()
        else:
            self._send(404, "text/plain; charset=utf-8",
                       "not found: this server has only / (the page) and "
                       "/events (the stream)\n")

    def _refuse_method(self):
        self._send(405, "text/plain; charset=utf-8",
                   "method not allowed: this server only answers GET\n",
                   {"Allow": "GET"})

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _refuse_method

    def _send(self, status, content_type, text, headers=None):
        body = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _stream(self):
        """Send every event, history first, then each new one as it comes."""
        log = self.server.log
        index = _resume_from(self.headers.get("Last-Event-ID"))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        try:
            self.wfile.write(b"retry: 2000\n\n")
            while not log.closed:
                texts = log.wait_from(index, timeout=10)
                if not texts:
                    self.wfile.write(b": still here\n\n")     # a comment: keep-alive
                for text in texts:
                    self.wfile.write(f"id: {index}\ndata: {text}\n\n".encode("utf-8"))
                    index += 1
                self.wfile.flush()
                # Let events gather: fewer wake-ups of this thread take fewer
                # turns of the interpreter from the training.
                time.sleep(STREAM_PAUSE)
        except (BrokenPipeError, ConnectionResetError):
            pass                                           # the browser went away

    def log_message(self, format, *args):
        pass                                  # the terminal is the training's


def _resume_from(last_event_id):
    """The first event to send to a browser that reconnects (SSE's Last-Event-ID)."""
    try:
        return max(int(last_event_id) + 1, 0)
    except (TypeError, ValueError):
        return 0


class LiveServer(ThreadingHTTPServer):
    """Serves the live page and its events from a thread of its own.

    ``LiveServer(log, host, port)`` binds at once (raising :class:`ServeError`
    with a clear message if it cannot); ``start()`` serves in the background;
    ``url`` is the page's address; ``stop()`` ends it.
    """

    daemon_threads = True

    def __init__(self, log, host="127.0.0.1", port=DEFAULT_PORT):
        self.log = log
        self.page = page_html()
        try:
            super().__init__((host, port), _Handler)
        except OSError as error:
            raise ServeError(_bind_problem(host, port, error)) from None
        self._thread = None

    @property
    def url(self):
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"

    def start(self):
        self._thread = threading.Thread(target=self.serve_forever,
                                        name="live page", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self.log.close()
        self.shutdown()
        self.server_close()


def _bind_problem(host, port, error):
    if error.errno == errno.EADDRINUSE:
        return (f"port {port} on {host} is in use (another program, or another "
                f"live page?); choose another with --port N, or --port 0 for a "
                f"free one")
    if error.errno == errno.EACCES:
        return (f"not allowed to serve on port {port}; choose a port above "
                f"1023 with --port N, or --port 0 for a free one")
    reason = error.strerror or str(error)
    return f"cannot serve on {host}:{port} ({reason}); check --host and --port"
