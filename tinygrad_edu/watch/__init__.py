"""Layer 2, watching the engine work: the forward trace, backprop one
chain-rule step at a time, formulas typed as text, worked examples, and
``gradcheck`` (backward() against central differences).
Built on the engine (and the networks of ``learn`` for the examples).
"""

from .expression import ExpressionError, parse_expression
from .gradcheck import GradcheckError, gradcheck
from .tracing import BackwardStep, backward_steps, format_trace, trace

__all__ = ["trace", "format_trace", "backward_steps", "BackwardStep",
           "parse_expression", "ExpressionError", "gradcheck", "GradcheckError"]
