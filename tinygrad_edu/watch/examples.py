"""Small worked examples shared by the demos, the docs and ``tinygrad-edu step``."""

from ..engine import Value, vsum


def article_neuron():
    """The article's first figure: one neuron, o = tanh(x1*w1 + x2*w2 + x3*w3 + b).

    Each product is its own operation (not one ``dot``), so that every
    multiplication can be seen, and stepped through, on its own. Returns
    ``(o, xs, ws, b)`` with every Value labelled.

    >>> o, xs, ws, b = article_neuron()
    >>> round(o.data, 4)
    -0.4621
    """
    xs = [Value(x, f"x{i}") for i, x in enumerate([0.5, -1.0, 2.0], start=1)]
    ws = [Value(w, f"w{i}", parameter=True)
          for i, w in enumerate([0.8, 0.2, -0.4], start=1)]
    b = Value(0.1, "b", parameter=True)
    products = []
    for i, (x, w) in enumerate(zip(xs, ws), start=1):
        products.append(x * w)
        products[-1].label = f"x{i}w{i}"
    n = vsum(products + [b])
    n.label = "n"          # the weighted sum, before the activation
    o = n.tanh()
    o.label = "o"          # the neuron's output
    return o, xs, ws, b


def article_neuron_loss():
    """The same neuron with a loss that asks for an output of 1: (o - 1)^2.

    Returns ``(loss, ws)``.
    """
    o, _, ws, _ = article_neuron()
    error = o - Value(1.0, "target")
    error.label = "error"
    loss = error ** 2
    loss.label = "loss"
    return loss, ws
