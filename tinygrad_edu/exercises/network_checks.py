"""Checking the network exercises: an MLP's forward pass, a stable cross-entropy.

These run the learner's ``nn.py`` and ``losses.py`` on the project's own
engine (so an unfinished operation does not fail them too) and compare with
numpy: numpy's forward pass and numpy's backprop for the MLP, numpy's
log-sum-exp and softmax for the cross-entropy.
"""

import random

import numpy as np

from .. import engine as reference
from .verdict import Failed, NotDone, as_number, attempt, close, show, show_list

__all__ = ["check_mlp", "check_cross_entropy"]

# (inputs, layer sizes, hidden activation, output activation) of the networks tried.
NETWORKS = ((2, [3, 1], "tanh", "linear"),
            (3, [4, 2], "relu", "linear"),
            (2, [3, 3, 2], "sigmoid", "tanh"),
            (4, [2], "relu", "sigmoid"))

_NUMPY_ACTIVATIONS = {
    "relu": (lambda z: np.maximum(z, 0.0), lambda z, a: (z > 0).astype(float)),
    "tanh": (np.tanh, lambda z, a: 1.0 - a * a),
    "sigmoid": (lambda z: 1.0 / (1.0 + np.exp(-z)), lambda z, a: a * (1.0 - a)),
    "linear": (lambda z: z, lambda z, a: np.ones_like(z)),
}


# ----------------------------------------------------------------------
# The MLP's forward pass
# ----------------------------------------------------------------------

def _weights(model):
    """[(W, b)] per layer, read from the model's neurons."""
    return [(np.array([[w.data for w in n.w] for n in layer.neurons]),
             np.array([n.b.data for n in layer.neurons]))
            for layer in model.layers]


def numpy_forward(weights, x, activation, output_activation, skip=()):
    """Every layer's (pre-activation, activation), input first as (x, x).

    ``skip`` can leave out parts, to recognise a learner's mistake:
    "bias", "activation", "output_activation".
    """
    layers = [(np.asarray(x, float), np.asarray(x, float))]
    for i, (W, b) in enumerate(weights):
        last = i == len(weights) - 1
        z = W @ layers[-1][1] + (0.0 if "bias" in skip else b)
        name = output_activation if last else activation
        if (last and "output_activation" in skip) or (
                not last and "activation" in skip):
            name = "linear"
        if "swap" in skip:
            name = activation if last else output_activation
        layers.append((z, _NUMPY_ACTIVATIONS[name][0](z)))
    return layers


def numpy_backprop(weights, layers, coefficients, activation, output_activation):
    """d(sum_k c_k out_k)/d(every weight, bias and input), by hand in numpy."""
    grads = []
    upstream = np.asarray(coefficients, float)
    for i in reversed(range(len(weights))):
        W, _ = weights[i]
        z, a = layers[i + 1]
        name = output_activation if i == len(weights) - 1 else activation
        dz = upstream * _NUMPY_ACTIVATIONS[name][1](z, a)
        grads.append((np.outer(dz, layers[i][1]), dz))
        upstream = W.T @ dz
    return list(reversed(grads)), upstream


def check_mlp(nn):
    """The learner's Neuron, Layer and MLP forward passes, on several networks."""
    rng = random.Random("tinygrad-edu exercise mlp")
    for nin, sizes, activation, output_activation in NETWORKS:
        title = (f"MLP({nin}, {sizes}, activation={activation!r}, "
                 f"output_activation={output_activation!r}, seed=1)")
        model = attempt(nn.MLP, nin, sizes, activation=activation,
                        output_activation=output_activation, seed=1,
                        doing=title)
        for layer in model.layers:              # biases start at 0: make them count
            for neuron in layer.neurons:
                neuron.b.data = round(rng.uniform(-1, 1), 2)
        x = [round(rng.uniform(-2, 2), 2) for _ in range(nin)]
        weights = _weights(model)
        expected = numpy_forward(weights, x, activation, output_activation)
        setting = [f"the network {title}", f"inputs x = {show_list(x)}"]
        _check_outputs(model, x, weights, expected, setting,
                       (activation, output_activation))
        _check_forward_all(model, x, expected, setting)
        _check_gradients(model, x, weights, expected, rng, setting,
                         (activation, output_activation))


def _values_list(result, what, size, setting):
    if size == 1 and isinstance(result, reference.Value):
        result = [result]            # one output may come as the Value itself
    try:
        result = list(result)
    except TypeError:
        raise Failed(*setting, f"{what} returned {result!r:.40}, not a list",
                     "hint: a layer (and the network) returns a list, one "
                     "Value per neuron of the last layer") from None
    if len(result) != size:
        raise Failed(*setting, f"{what} returned {len(result)} outputs, "
                     f"expected {size}")
    for item in result:
        if not isinstance(item, reference.Value):
            raise Failed(*setting, f"{what} returned {item!r:.40}, not a Value",
                         "hint: compute with Values (dot, +, the activation "
                         "method) so backprop can reach the weights")
    return result


def _check_outputs(model, x, weights, expected, setting, activations):
    outputs = _values_list(attempt(model, x, doing="the forward pass"),
                           "the forward pass", len(expected[-1][1]), setting)
    want = expected[-1][1]
    for k, (out, target) in enumerate(zip(outputs, want)):
        mine = as_number(out.data, f"output {k}")
        if not close(mine, target):
            raise Failed(*setting, f"your output {k} = {show(mine)}, expected "
                         f"{show(float(target))} (numpy's forward pass)",
                         "hint: " + _forward_hint(weights, x, activations,
                                                  [o.data for o in outputs]))


def _forward_hint(weights, x, activations, mine):
    mistakes = (("bias", "the bias b is missing: w.x + b"),
                ("activation", "the hidden layers need their activation"),
                ("output_activation", "the last layer needs output_activation "
                                      "(the others use activation)"),
                ("swap", "the last layer uses output_activation, the hidden "
                         "layers activation"))
    for skip, hint in mistakes:
        guess = numpy_forward(weights, x, *activations, skip=(skip,))[-1][1]
        if all(close(m, float(g)) for m, g in zip(mine, guess)):
            return hint
    return ("each neuron computes activation(w.x + b), and each layer reads "
            "the outputs of the one before")


def _check_forward_all(model, x, expected, setting):
    layers = attempt(model.forward_all, x, doing="forward_all")
    try:
        layers = list(layers)
    except TypeError:
        raise Failed(*setting, f"forward_all returned {layers!r:.40}, not a "
                     f"list of layers") from None
    if len(layers) != len(expected):
        raise Failed(*setting, f"forward_all returned {len(layers)} lists, "
                     f"expected {len(expected)}: the input, then one per layer")
    for depth, (mine, (_, want)) in enumerate(zip(layers, expected)):
        numbers = [as_number(getattr(v, "data", v), f"forward_all item {depth}")
                   for v in mine]
        if len(numbers) != len(want) or not all(
                close(m, float(w)) for m, w in zip(numbers, want)):
            what = "the input" if depth == 0 else f"layer {depth}"
            raise Failed(*setting, f"forward_all's {what} is "
                         f"{show_list(numbers)}, expected "
                         f"{show_list(want)}")


def _check_gradients(model, x, weights, expected, rng, setting, activations):
    inputs = [reference.Value(v, f"x{i}") for i, v in enumerate(x)]
    outputs = _values_list(attempt(model, inputs, doing="the forward pass"),
                           "the forward pass", len(expected[-1][1]), setting)
    coefficients = [round(rng.uniform(-1, 1), 2) for _ in outputs]
    loss = reference.vsum([c * o for c, o in zip(coefficients, outputs)])
    loss.backward()
    grads, input_grads = numpy_backprop(weights, expected, coefficients, *activations)
    named = [(f"layers.{i}.neurons.{j}.w.{k}", w)
             for i, layer in enumerate(model.layers)
             for j, n in enumerate(layer.neurons) for k, w in enumerate(n.w)]
    wanted = [float(g) for dW, _ in grads for g in dW.ravel()]
    named += [(f"x{i}", v) for i, v in enumerate(inputs)]
    wanted += [float(g) for g in input_grads]
    for (name, value), want in zip(named, wanted):
        if not close(value.grad, want):
            raise Failed(*setting, f"after backward() of sum(c_k * out_k) with "
                         f"c = {show_list(coefficients)}: the gradient "
                         f"of {name} is {show(value.grad)}, expected "
                         f"{show(want)} (numpy backprop)",
                         "hint: build each neuron from Values: dot(self.w, x) "
                         "+ self.b, never from .data numbers, which cut the "
                         "graph")


# ----------------------------------------------------------------------
# The stable cross-entropy
# ----------------------------------------------------------------------

# (logits, target) tried first: small ones, then ones that overflow exp()
# or underflow the sum if the largest logit is not subtracted first.
CROSS_ENTROPY_CASES = (([2.0, 1.0, 0.1], 0), ([0.0, 0.0], 1), ([3.0], 0),
                       ([1000.0, 999.0, -1000.0], 1), ([-1000.0, -1001.0], 0),
                       ([0.0, 800.0], 0))


def _numpy_cross_entropy(logits, target):
    z = np.asarray(logits, float)
    m = z.max()
    lse = m + np.log(np.exp(z - m).sum())
    softmax = np.exp(z - lse)
    return float(lse - z[target]), softmax - np.eye(len(z))[target], float(lse)


def check_cross_entropy(losses):
    """log_sum_exp and cross_entropy, on small logits and huge ones."""
    rng = random.Random("tinygrad-edu exercise cross_entropy")
    cases = list(CROSS_ENTROPY_CASES)
    for _ in range(10):
        size = rng.randint(2, 6)
        cases.append(([round(rng.uniform(-5, 5), 2) for _ in range(size)],
                      rng.randrange(size)))
    for logits, target in cases:
        _check_log_sum_exp(losses, logits)
    for logits, target in cases:
        _check_one_cross_entropy(losses, logits, target)
    _check_refuses_target(losses, [2.0, 1.0, 0.1], -1)


def _check_refuses_target(losses, logits, target):
    """A target that is not a class number must be an error, not a loss:
    Python reads logits[-1] as the last logit, without a word."""
    values = [reference.Value(z) for z in logits]
    try:
        loss = attempt(losses.cross_entropy, values, target, doing="")
    except NotDone:
        raise
    except Failed:
        return                                   # refused, as it should be
    number = getattr(loss, "data", loss)
    shown = show(number) if isinstance(number, float) else repr(number)[:40]
    raise Failed(f"logits z = {show_list(logits)}, target {target}",
                 f"your cross_entropy = {shown}; it should refuse a target "
                 f"that is not 0 to {len(logits) - 1}",
                 "hint: check the target first (_check_label(target, "
                 "len(logits))): z[-1] is the last logit in Python, so a wrong "
                 "label would be trained on silently")


_STABILITY_HINT = ("hint: subtract the largest logit m before exp and add it "
                   "back after the log: log(sum e^(z - m)) + m")


def _run(function, args, setting, doing):
    try:
        return attempt(function, *args, doing=doing)
    except NotDone:
        raise
    except Failed as failure:
        if "log needs" in failure.lines[0]:
            failure.lines.append("hint: a softmax can round to 0 (e^-800), and "
                                 "log(0) is refused: take log-sum-exp minus the "
                                 "target's logit instead of the log of a softmax")
        elif "OverflowError" in failure.lines[0]:
            failure.lines.append(_STABILITY_HINT)
        raise Failed(*setting, *failure.lines) from None


def _check_log_sum_exp(losses, logits):
    values = [reference.Value(z) for z in logits]
    shift = max(logits)
    setting = [f"logits z = {show_list(logits)}"]
    result = _run(losses.log_sum_exp, (values, shift), setting,
                  f"log_sum_exp(z, {show(shift)})")
    _, _, want = _numpy_cross_entropy(logits, 0)
    mine = _value_number(result, "log_sum_exp", setting)
    if not close(mine, want):
        raise Failed(*setting, f"your log_sum_exp(z, {show(shift)}) = "
                     f"{show(mine)}, expected {show(want)}",
                     "hint: " + ("add the shift back after the log"
                                 if close(mine, want - shift) else
                                 "log(sum over j of e^(z_j - shift)) + shift"))


def _value_number(result, what, setting):
    if not isinstance(result, reference.Value):
        raise Failed(*setting, f"your {what} returned {type(result).__name__} "
                     f"{result!r:.40}, not a Value",
                     "hint: compute with Value operations (exp, log, vsum, -) "
                     "so backward() can reach the logits")
    return as_number(result.data, f"the .data of your {what}")


def _check_one_cross_entropy(losses, logits, target):
    values = [reference.Value(z, f"z{i}") for i, z in enumerate(logits)]
    setting = [f"logits z = {show_list(logits)}, target {target}"]
    loss = _run(losses.cross_entropy, (values, target), setting,
                f"cross_entropy(z, {target})")
    want, want_grads, lse = _numpy_cross_entropy(logits, target)
    mine = _value_number(loss, "cross_entropy", setting)
    if not close(mine, want):
        hint = ("it is log-sum-exp minus the target's logit (never negative)"
                if close(mine, -want) else
                "subtract the target's logit z[target]" if close(mine, lse) else
                "-log(softmax(z)[target]) = log-sum-exp of z - z[target]")
        raise Failed(*setting, f"your cross_entropy = {show(mine)}, expected "
                     f"{show(want)}", f"hint: {hint}")
    loss.backward()
    for i, (value, g) in enumerate(zip(values, want_grads)):
        if not close(value.grad, float(g)):
            raise Failed(*setting, f"after backward(), the gradient of z{i} is "
                         f"{show(value.grad)}, expected {show(float(g))} "
                         f"(softmax(z) - one_hot(target), by numpy)",
                         "hint: build the loss from the logit Values "
                         "themselves, never from their .data")
