"""``tinygrad-edu train``: train an MLP on the handwritten digits.

By default it trains on all 10 digits and the whole training split, and
measures accuracy on the test split (other writers). The main example::

    tinygrad-edu train --classes 0 1 2 3 --per-class 20 --hidden 16 16 \\
        --out out/model.json --metrics out/metrics.json

Invalid arguments (an output path that cannot or must not be written
included) print a usage message and exit with code 2 before any work. A run
that diverges (see ``training.DivergenceWatch``) exits with code 1 and leaves
the old model file alone; ``--save-diverged`` writes the diverged model
beside it. If stdout is closed (``| head``), training goes on quietly and
still saves the model.
"""

import argparse
import ipaddress
import json
import math
import sys
import time

from pathlib import Path

from .arguments import (DefaultPath, check_output_paths, digit, fraction,
                        int_between, positive_float, positive_int,
                        print_while_read, remember_parser, runtime_failure,
                        unnamed_if, usage_error)
from .plot import check_plot_path, draw_curves
from ..learn.digits import load_digits
from ..learn.nn import ACTIVATIONS, MLP
from ..output import OutputError, write_atomically
from ..learn.serialize import (MAX_LAYERS, MAX_WEIGHTS, architecture_problem,
                               save_model)
from ..fast.engines import ENGINES
from ..learn.losses import LOSSES
from ..learn.training import DEFAULT_LR, TrainingDiverged, train
from ..web.live import DEFAULT_PORT, LiveServer, ServeError, TrainingWatcher

NAME = "train"
HELP = "train an MLP on the handwritten digits and save it as JSON"

# Chosen for the full task (all ten digits, 3,823 images): 96.7-96.8% on the
# test split over seeds 0-2, in about 1.6 s of training each with the numpy engine
# (one BLAS thread) on a shared 2-core machine.
DEFAULT_HIDDEN = [64, 32]
DEFAULT_EPOCHS = 20
DEFAULT_BATCH_SIZE = 16


def add_arguments(parser):
    parser.add_argument("--classes", type=digit, nargs="+", metavar="D",
                        help="digits to learn, e.g. --classes 0 1 2 3 "
                             "(default: all ten)")
    parser.add_argument("--per-class", type=positive_int, metavar="N",
                        help="training images of each digit, picked at random "
                             "(default: all of them, about 380)")
    parser.add_argument("--hidden", type=positive_int, nargs="+", metavar="N",
                        default=DEFAULT_HIDDEN,
                        help="sizes of the hidden layers (default: "
                             f"{' '.join(map(str, DEFAULT_HIDDEN))})")
    parser.add_argument("--activation", choices=sorted(ACTIVATIONS), default="relu",
                        help="activation of the hidden layers (default: relu)")
    parser.add_argument("--epochs", type=positive_int, default=DEFAULT_EPOCHS,
                        metavar="N",
                        help=f"passes over the training images (default: {DEFAULT_EPOCHS})")
    parser.add_argument("--batch-size", type=positive_int, default=DEFAULT_BATCH_SIZE,
                        metavar="N",
                        help=f"images per step (default: {DEFAULT_BATCH_SIZE})")
    parser.add_argument("--optimizer", choices=["adam", "sgd"], default="adam",
                        help="adam (default) or sgd with momentum")
    parser.add_argument("--lr", type=positive_float, metavar="RATE",
                        help=f"starting learning rate (default: "
                             f"{DEFAULT_LR['adam']} for adam, {DEFAULT_LR['sgd']} "
                             f"for sgd)")
    parser.add_argument("--schedule", choices=["cosine", "constant"], default="cosine",
                        help="learning rate over time: cosine glides down to 0 "
                             "by the last step (default), constant keeps it")
    parser.add_argument("--momentum", type=fraction, default=0.9, metavar="M",
                        help="momentum for sgd (default: 0.9)")
    parser.add_argument("--weight-decay", type=fraction, default=0.0, metavar="RATE",
                        help="pull weights towards 0 (default: 0)")
    parser.add_argument("--loss", choices=sorted(LOSSES), default="cross_entropy",
                        help="cross_entropy (default) or mse on one-hot targets")
    parser.add_argument("--seed", type=int, default=0, metavar="N",
                        help="seed for the images picked, the initial weights "
                             "and the batch order (default: 0)")
    parser.add_argument("--engine", choices=list(ENGINES), default="numpy",
                        help="how gradients are computed; all three give the "
                             "same weights (to 1e-9): numpy (default, fastest: "
                             "the traced program replayed over each batch), "
                             "tape (the same program in pure Python) or values "
                             "(the readable Value graph, slowest)")
    parser.add_argument("--out", default=DefaultPath("model.json"), metavar="FILE",
                        help="where to save the model as JSON (default: "
                             "model.json, if there is no such file yet)")
    parser.add_argument("--metrics", metavar="FILE",
                        help="also write a JSON summary (accuracies, losses, "
                             "epochs, seconds) for scripts")
    parser.add_argument("--save-diverged", action="store_true",
                        help="if training diverges, save the model anyway, "
                             "beside --out as NAME.diverged.json (the --out "
                             "file is never replaced by a diverged model)")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress bar (the per-epoch lines still print)")
    add_watch_arguments(parser)
    remember_parser(parser)


def add_watch_arguments(parser):
    """--live, --host, --port, --report and --plot: ways to watch the training."""
    parser.add_argument("--live", action="store_true",
                        help="show the training on a page in the browser "
                             "(curves, weights, digits); the page stays "
                             "until Ctrl-C")
    parser.add_argument("--port", type=int_between(0, 65535), default=DEFAULT_PORT,
                        metavar="N",
                        help=f"port of the --live page (default: {DEFAULT_PORT}; "
                             f"0 picks a free one)")
    parser.add_argument("--host", type=host_name, default="127.0.0.1", metavar="HOST",
                        help="address the --live page listens on (default: "
                             "127.0.0.1, this computer only)")
    parser.add_argument("--report", metavar="FILE.html",
                        help="write the page as one self-contained HTML file, "
                             "rewritten as training goes and at the end")
    parser.add_argument("--plot", metavar="FILE",
                        help="draw the loss and accuracy curves to FILE "
                             "(.png or .svg; needs matplotlib)")


def host_name(text):
    """An address to serve on; not empty (that would mean every network)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "the host is empty, which would show the page to every network; "
            "give an address, e.g. 127.0.0.1 (this computer only)")
    return text


def is_loopback(host):
    """True for an address only this computer can reach."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run(args):
    classes = args.classes if args.classes is not None else list(range(10))
    if len(set(classes)) != len(classes):
        usage_error(args, f"argument --classes: a digit is listed twice: {classes}")
    if len(classes) < 2:
        usage_error(args, "argument --classes: give at least two digits to tell apart")
    problem = architecture_problem(64, [*args.hidden, len(classes)])
    if problem:
        usage_error(args, f"argument --hidden: {problem} (limits: {MAX_LAYERS} "
                          f"layers, {MAX_WEIGHTS:,} weights)")
    if args.plot:
        check_plot_path(args, args.plot, "--plot")
    check_output_paths(args, [(args.out, "--out"), (args.metrics, "--metrics"),
                              (diverged_path(args), "--save-diverged"),
                              (args.report, "--report"), (args.plot, "--plot")])
    try:
        train_data = load_digits("train", classes=classes, per_class=args.per_class,
                                 seed=args.seed)
        test_data = load_digits("test", classes=classes)
    except ValueError as error:                  # e.g. --per-class too big
        usage_error(args, str(error))
    model = MLP(64, [*args.hidden, len(classes)], activation=args.activation,
                seed=args.seed, classes=classes)
    lr = args.lr if args.lr is not None else DEFAULT_LR[args.optimizer]
    watcher, server = start_watching(args, model, train_data, test_data, lr)
    step_losses = watcher.step_losses if watcher else []
    print_while_read(f"training {model} on {len(train_data[0])} images of digits "
                     f"{' '.join(map(str, classes))}; testing on "
                     f"{len(test_data[0])} images by other writers")
    started = time.perf_counter()
    try:
        result = train(model, train_data, test_data, epochs=args.epochs,
                       batch_size=args.batch_size, optimizer=args.optimizer,
                       lr=lr, momentum=args.momentum,
                       weight_decay=args.weight_decay, schedule=args.schedule,
                       loss=args.loss, seed=args.seed, engine=ENGINES[args.engine],
                       progress=False if args.quiet else None,
                       log=print_while_read,
                       on_step=(watcher.on_step if watcher else
                                lambda report: step_losses.append(report.loss)),
                       on_epoch=watcher.on_epoch if watcher else None)
    except TrainingDiverged as error:
        code = runtime_failure(args, f"{error} {save_diverged(args, model)}")
        if watcher:
            watcher.stop(str(error))
        if server:                      # the page shows what went wrong
            keep_serving(server)
        return code
    except KeyboardInterrupt:
        if watcher:
            watcher.stop("the training was interrupted (Ctrl-C); nothing was saved")
        if server:
            server.stop()
        raise
    seconds = time.perf_counter() - started

    metrics = result.metrics()
    metrics.update(seconds=round(seconds, 3), classes=classes,
                   per_class=args.per_class, hidden=args.hidden,
                   activation=args.activation, optimizer=args.optimizer, lr=lr,
                   loss=args.loss, batch_size=args.batch_size, seed=args.seed,
                   engine=args.engine, train_images=len(train_data[0]),
                   test_images=len(test_data[0]),
                   steps_per_epoch=math.ceil(len(train_data[0]) / args.batch_size),
                   step_loss=step_losses)
    try:
        save_outputs(model, metrics, args.out, args.metrics)
        if watcher:
            watcher.finish(metrics)
        if args.plot:
            draw_curves(metrics, args.plot)
    except OutputError as error:                 # e.g. the disk filled up
        return runtime_failure(args, str(error))
    print_while_read(f"test accuracy {metrics['test_accuracy']:.1%} "
                     f"(train {metrics['train_accuracy']:.1%}) after "
                     f"{args.epochs} epoch{'s' if args.epochs != 1 else ''} in {seconds:.1f} s; "
                     f"model saved to "
                     f"{args.out}" + (f", metrics to {args.metrics}"
                                      if args.metrics else "")
                     + (f", report to {args.report}" if args.report else "")
                     + (f", curves to {args.plot}" if args.plot else ""))
    if server:
        keep_serving(server)
    return 0


def start_watching(args, model, train_data, test_data, lr):
    """The watcher and the live server that --live and --report ask for.

    The server binds its port before training starts (a port in use is a
    usage error) and its address is printed on a line of its own.
    """
    if not (args.live or args.report):
        return None, None
    settings = {key: getattr(args, key) for key in
                ("hidden", "activation", "epochs", "batch_size", "optimizer",
                 "schedule", "loss", "seed", "engine")}
    settings.update(lr=lr, train_images=len(train_data[0]),
                    test_images=len(test_data[0]))
    watcher = TrainingWatcher(model, train_data, test_data, epochs=args.epochs,
                              batch_size=args.batch_size, loss=args.loss,
                              settings=settings, report=args.report)
    server = None
    if args.live:
        if not is_loopback(args.host):
            print(f"warning: --host {args.host}: the live page is visible to "
                  f"other computers on the network (--host 127.0.0.1 keeps it "
                  f"on this one)", file=sys.stderr)
        try:
            server = LiveServer(watcher.log, args.host, args.port).start()
        except ServeError as error:
            usage_error(args, f"argument --live: {error}")
        print_while_read(f"live: {server.url}")
    watcher.start()
    return watcher, server


def keep_serving(server):
    """Serve the finished training's page until Ctrl-C."""
    try:
        print_while_read(f"the page stays at {server.url} until you press Ctrl-C")
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print_while_read("stopped the live page")
    finally:
        server.stop()


def diverged_path(args):
    """Where ``--save-diverged`` writes: ``model.json`` -> ``model.diverged.json``."""
    if not args.save_diverged:
        return None
    out = Path(args.out)
    return unnamed_if(args.out, out.with_name(f"{out.stem}.diverged{out.suffix or '.json'}"))


def save_diverged(args, model):
    """Save the diverged model if asked; say what happened to the files."""
    kept = (f"{args.out} was left as it was." if Path(args.out).exists()
            else f"{args.out} was not written.")
    if not args.save_diverged:
        return f"Nothing was saved: {kept} (--save-diverged keeps the diverged model.)"
    try:
        path = save_model(model, diverged_path(args), info={"diverged": True})
    except OutputError as error:
        return f"{kept} The diverged model could not be saved: {error}"
    except ValueError:                           # NaN or infinite weights
        return (f"{kept} The diverged model was not saved either: its weights "
                f"are no longer finite numbers.")
    return f"{kept} The diverged model was saved to {path}."


def save_outputs(model, metrics, model_path, metrics_path):
    """Save the model (with the metrics but the history and the step losses
    as its ``info``) and, if asked, the metrics as JSON."""
    info = {key: metrics[key] for key in metrics
            if key not in ("history", "step_loss")}
    save_model(model, model_path, info=info)
    if metrics_path:
        try:
            write_atomically(metrics_path, json.dumps(metrics, indent=1) + "\n")
        except OutputError as error:
            raise OutputError(f"the model was saved to {model_path}, but the "
                              f"metrics were not: {error}") from None
