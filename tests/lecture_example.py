"""Karpathy's lecture example, shared by the tests: L = (a*b + c) * f."""

from tinygrad_edu import Value


def karpathy():
    """The graph and its Values by name; a, b, c and f are inputs (none is marked a parameter)."""
    a, b, c = Value(2.0, "a"), Value(-3.0, "b"), Value(10.0, "c")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    f = Value(-2.0, "f")
    L = d * f
    L.label = "L"
    return L, {"a": a, "b": b, "c": c, "d": d, "e": e, "f": f}
